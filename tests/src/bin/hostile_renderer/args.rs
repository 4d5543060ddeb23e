//! Forged arguments: bytes no archive validation accepts, and archives that are well formed
//! on the surface but lie inside (a root outside the message, child ranges out of bounds or
//! pointing backwards, shared children, orphans, too many roots, non-string keys, too deep).

use crate::hostile::Hostile;
use crate::report::{fail, ok, until_disconnected};
use electrode::wire::{WireArgs, WireNode};
use electrode::Value;
use electrode_tests::hostile_kit::{self as kit, kind, Envelope, Rng};

/// Argument bytes no archive validation accepts.
pub(crate) fn bad_args() -> Vec<u8> {
    vec![0xff; 48]
}

/// The message (channel `echo`) of argument lie `variant`, if it is one.
pub(crate) fn forged_args(variant: &str) -> Option<Vec<u8>> {
    let wire = |roots: u32, nodes: Vec<WireNode>| -> Vec<u8> {
        WireArgs { roots, nodes }
            .to_bytes()
            .expect("archive a table")
            .to_vec()
    };
    let msg = |channel: &[u8], args: &[u8]| kit::message(&Envelope::default(), channel, args);
    Some(match variant {
        "args-empty" => msg(b"echo", &[]),
        "args-garbage" => msg(b"echo", &bad_args()),
        "args-root" => {
            // The archive's root sits at its end: point its node vector outside the message.
            let mut a = kit::args(&[Value::from("a longer string that is out of line")]);
            let n = a.len();
            a[n - 8..n - 4].copy_from_slice(&0x7fff_0000i32.to_le_bytes());
            msg(b"echo", &a)
        }
        "args-child-range" => msg(
            b"echo",
            &wire(1, vec![WireNode::Array { first: 1, len: 5 }]),
        ),
        "args-child-before" => msg(
            b"echo",
            &wire(1, vec![WireNode::Array { first: 0, len: 1 }]),
        ),
        "args-shared" => msg(
            b"echo",
            &wire(
                2,
                vec![
                    WireNode::Array { first: 2, len: 1 },
                    WireNode::Array { first: 2, len: 1 },
                    WireNode::Null,
                ],
            ),
        ),
        "args-orphan" => msg(b"echo", &wire(1, vec![WireNode::Null, WireNode::Null])),
        "args-roots" => msg(b"echo", &wire(5, vec![WireNode::Null])),
        "args-key" => msg(
            b"echo",
            &wire(
                1,
                vec![
                    WireNode::Map { first: 1, len: 1 },
                    WireNode::Int(1),
                    WireNode::Int(2),
                ],
            ),
        ),
        "args-deep" => {
            let nodes: Vec<WireNode> = (0..200u32)
                .map(|i| WireNode::Array {
                    first: i + 1,
                    len: 1,
                })
                .chain([WireNode::Null])
                .collect();
            msg(b"echo", &wire(1, nodes))
        }
        _ => return None,
    })
}

/// Role `garbage SEED`: requests with bad arguments (each must be answered with an error),
/// then random payloads under random renderer kinds until main disconnects us.
pub(crate) fn garbage(seed: u64) -> i32 {
    let mut h = Hostile::connect();
    // Violation 1: a blocking invoke whose arguments fail validation still gets an answer.
    match h.request(kind::INVOKE, kit::ECHO, &bad_args()) {
        Ok((aux, buf)) => match kit::decode_reply(aux, buf.as_slice()) {
            Ok(Err((name, msg)))
                if name == "ProtocolError" && msg.starts_with("main rejected the message") =>
            {
                ok("bad-invoke-answered-with-error")
            }
            other => return fail(&format!("bad invoke answered {other:?}")),
        },
        Err(e) => return fail(&e),
    }
    // Violation 2: the same for an async invoke, answered through the ring.
    let env = Envelope {
        flags: kit::FLAG_REPLY_VIA_RING,
        request_id: 7,
        ..Envelope::default()
    };
    h.send(
        kind::INVOKE,
        &kit::message(&env, kit::ECHO.as_bytes(), &bad_args()),
    );
    match h.recv_from_main(kind::REPLY) {
        Ok((env, args)) if env.request_id == 7 && env.flags & kit::FLAG_ERROR != 0 => {
            match kit::decode_reply(kit::AUX_ERROR, args.as_slice()) {
                Ok(Err((name, _))) if name == "ProtocolError" => {
                    ok("bad-async-invoke-answered-with-error")
                }
                other => return fail(&format!("bad async invoke answered {other:?}")),
            }
        }
        other => return fail(&format!("bad async invoke: {:?}", other.map(|r| r.0))),
    }
    // Then random payloads under random renderer kinds until main has had enough.
    let mut rng = Rng::new(seed);
    until_disconnected("garbage payloads", |_| {
        let n = rng.index(600);
        let payload = rng.bytes(n);
        let tag = kind::RENDERER_TO_MAIN[rng.index(5)];
        h.send(tag, &payload);
    })
}
