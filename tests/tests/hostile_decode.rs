//! Main's decode-and-validation path on hostile bytes, without the fuzzer: CI's stand-in for
//! `fuzz/fuzz_targets/decode.rs`.
//!
//! `electrode::fuzzing::decode_message(tag, bytes)` runs what the dispatcher runs on each
//! frame a renderer writes (private aligned copy, kind, envelope, argument archive and tree
//! checks, conversion to owned values). These tests feed it valid messages of every kind (all
//! accepted), a table of crafted lies (each rejected), and 200 000 deterministic random and
//! mutated-valid inputs (none may panic; both outcomes must occur).

use electrode::fuzzing::decode_message;
use electrode::wire::{WireArgs, WireNode, MAX_DEPTH};
use electrode::Value;
use electrode_tests::hostile_kit::{self as kit, kind, Envelope, Rng};
use electrode_tests::watchdog;
use std::time::Duration;

fn nested(depth: usize) -> Value {
    let mut v = Value::from("leaf");
    for _ in 1..depth {
        v = Value::Array(vec![v]);
    }
    v
}

/// Argument lists of many shapes.
fn arg_sets() -> Vec<Vec<Value>> {
    vec![
        vec![],
        vec![Value::Null],
        vec![Value::from(true), Value::from(-1), Value::from(2.5)],
        vec![
            Value::from(""),
            Value::from("é✓ unicode"),
            Value::from("x".repeat(300)),
        ],
        vec![Value::Bytes(vec![]), Value::Bytes((0..=255).collect())],
        vec![Value::map([
            ("a", Value::from(1)),
            ("b", Value::Array(vec![Value::Null, Value::from("c")])),
            ("m", Value::map([("deep", Value::Bytes(vec![1, 2, 3]))])),
        ])],
        vec![Value::Array((0..100).map(Value::from).collect())],
        vec![nested(MAX_DEPTH)],
    ]
}

/// Valid messages of every renderer-to-main kind.
fn corpus() -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, a) in arg_sets().iter().enumerate() {
        let args = kit::args(a);
        let env = Envelope {
            frame_id: i as u32,
            slot_index: i as u32,
            slot_gen: 7,
            request_id: 99,
            ..Envelope::default()
        };
        for tag in [kind::SEND, kind::SEND_SYNC, kind::INVOKE] {
            out.push((tag, kit::message(&env, b"some-channel", &args)));
        }
        let ring = Envelope {
            flags: kit::FLAG_REPLY_VIA_RING,
            ..env
        };
        out.push((kind::INVOKE, kit::message(&ring, "ünï".as_bytes(), &args)));
        if !a.is_empty() {
            out.push((kind::HANDLER_REPLY, kit::message(&env, b"", &args)));
        }
    }
    let error_reply = kit::args(&[
        Value::from("TypeError"),
        Value::from("bad"),
        Value::from(true),
        Value::from(1),
    ]);
    let env = Envelope {
        flags: kit::FLAG_ERROR,
        ..Envelope::default()
    };
    out.push((kind::HANDLER_REPLY, kit::message(&env, b"", &error_reply)));
    out.push((
        kind::FRAME_OPEN,
        kit::message(&Envelope::default(), b"", &[]),
    ));
    let long = "c".repeat(electrode::MAX_CHANNEL_LEN);
    out.push((kind::SEND, kit::valid_message(&long, &[Value::from(1)])));
    out
}

#[test]
fn valid_messages_are_accepted() {
    for (i, (tag, m)) in corpus().iter().enumerate() {
        assert!(
            decode_message(*tag, m),
            "corpus entry {i} (kind {tag}) rejected"
        );
    }
}

fn wire(roots: u32, nodes: Vec<WireNode>) -> Vec<u8> {
    WireArgs { roots, nodes }.to_bytes().unwrap().to_vec()
}

#[test]
fn crafted_lies_are_rejected() {
    let valid = kit::args(&[Value::from(1)]);
    let msg = |channel: &[u8], args: &[u8]| kit::message(&Envelope::default(), channel, args);
    let lying_len = |n: u16, args: &[u8]| {
        kit::message(
            &Envelope {
                channel_len: Some(n),
                ..Envelope::default()
            },
            b"echo",
            args,
        )
    };
    let mut root_out = kit::args(&[Value::from("a longer string that is out of line")]);
    let n = root_out.len();
    root_out[n - 8..n - 4].copy_from_slice(&0x7fff_0000i32.to_le_bytes());
    let mut bad_utf8 = kit::args(&[Value::from("a string long enough to be out of line")]);
    let at = bad_utf8.windows(4).position(|w| w == b"long").unwrap();
    bad_utf8[at] = 0xff;
    let deep: Vec<WireNode> = (0..MAX_DEPTH as u32 + 1)
        .map(|i| WireNode::Array {
            first: i + 1,
            len: 1,
        })
        .chain([WireNode::Null])
        .collect();
    let cases: Vec<(&str, u16, Vec<u8>)> = vec![
        ("empty", kind::SEND, vec![]),
        ("shorter than an envelope", kind::SEND, vec![0; 31]),
        ("channel past the end", kind::SEND, lying_len(100, &[])),
        ("channel too long", kind::SEND, lying_len(5000, &valid)),
        ("channel not UTF-8", kind::SEND, msg(&[0xff, 0xfe], &valid)),
        ("no arguments", kind::INVOKE, msg(b"echo", &[])),
        (
            "garbage arguments",
            kind::SEND_SYNC,
            msg(b"echo", &[0xff; 48]),
        ),
        ("root points outside", kind::SEND, msg(b"echo", &root_out)),
        ("string not UTF-8", kind::SEND, msg(b"echo", &bad_utf8)),
        (
            "truncated archive",
            kind::SEND,
            msg(b"echo", &valid[..valid.len() - 4]),
        ),
        (
            "children out of range",
            kind::SEND,
            msg(b"e", &wire(1, vec![WireNode::Array { first: 1, len: 5 }])),
        ),
        (
            "child before parent",
            kind::SEND,
            msg(b"e", &wire(1, vec![WireNode::Array { first: 0, len: 1 }])),
        ),
        (
            "shared child",
            kind::SEND,
            msg(
                b"e",
                &wire(
                    2,
                    vec![
                        WireNode::Array { first: 2, len: 1 },
                        WireNode::Array { first: 2, len: 1 },
                        WireNode::Null,
                    ],
                ),
            ),
        ),
        (
            "orphan",
            kind::SEND,
            msg(b"e", &wire(1, vec![WireNode::Null, WireNode::Null])),
        ),
        (
            "too many roots",
            kind::SEND,
            msg(b"e", &wire(5, vec![WireNode::Null])),
        ),
        (
            "key not a string",
            kind::SEND,
            msg(
                b"e",
                &wire(
                    1,
                    vec![
                        WireNode::Map { first: 1, len: 1 },
                        WireNode::Int(1),
                        WireNode::Int(2),
                    ],
                ),
            ),
        ),
        ("too deep", kind::SEND, msg(b"e", &wire(1, deep))),
        (
            "reply of the wrong shape",
            kind::HANDLER_REPLY,
            msg(b"", &kit::args(&[])),
        ),
        (
            "error reply without a name",
            kind::HANDLER_REPLY,
            kit::message(
                &Envelope {
                    flags: kit::FLAG_ERROR,
                    ..Envelope::default()
                },
                b"",
                &valid,
            ),
        ),
    ];
    for (what, tag, bytes) in &cases {
        assert!(!decode_message(*tag, bytes), "accepted: {what}");
    }
    let good = kit::valid_message("echo", &[Value::from(1)]);
    for tag in kind::MAIN_TO_RENDERER
        .into_iter()
        .chain([0, 6, 15, 20, u16::MAX])
    {
        assert!(!decode_message(tag, &good), "accepted kind {tag}");
    }
}

#[test]
fn random_and_mutated_inputs_never_panic() {
    let _dog = watchdog(
        Duration::from_secs(120),
        "random_and_mutated_inputs_never_panic",
    );
    let corpus = corpus();
    let mut rng = Rng::new(0x00de_c0de);
    let mut random_accepted = 0u64;
    const RANDOM: usize = 50_000;
    const MUTATED: usize = 150_000;
    for _ in 0..RANDOM {
        let tag = rng.index(24) as u16;
        let n = rng.index(256);
        let mut bytes = rng.bytes(n);
        // A plausible channel length now and then, so random bytes get past the envelope.
        if bytes.len() >= 4 && rng.chance(1, 2) {
            let l = rng.index(bytes.len()) as u16;
            bytes[2..4].copy_from_slice(&l.to_le_bytes());
        }
        random_accepted += u64::from(decode_message(tag, &bytes));
    }
    let (mutated_accepted, mutated_rejected) = kit::mutation_rounds(
        &mut rng,
        &corpus,
        MUTATED,
        |rng| rng.index(24) as u16,
        decode_message,
    );
    eprintln!(
        "random: {random_accepted} of {RANDOM} accepted; mutated: {mutated_accepted} accepted, \
         {mutated_rejected} rejected"
    );
    // Both outcomes occur, so the inputs reach past the first checks.
    assert!(mutated_accepted > 0 && mutated_rejected > 0);
}
