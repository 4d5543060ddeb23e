//! Forged envelopes and kinds: well-framed messages whose envelope lies (too short, a channel
//! length past the end or over the limit, a channel that is not UTF-8), valid messages under
//! kinds only main may send, more frame announcements than main keeps, and forged handler
//! replies.

use crate::args::{bad_args, forged_args};
use crate::hostile::Hostile;
use crate::report::{ok, say, until_disconnected};
use electrode::Value;
use electrode_tests::hostile_kit::{self as kit, kind, Envelope};

/// Role `envelope VARIANT`: send one forged message (an envelope lie here, an argument lie
/// from [`forged_args`]) under `Send` until main disconnects us.
pub(crate) fn envelope_lie(variant: &str) -> i32 {
    let Some(payload) = forged_envelope(variant).or_else(|| forged_args(variant)) else {
        eprintln!("envelope: unknown variant {variant}");
        return kit::EXIT_USAGE;
    };
    let mut h = Hostile::connect();
    until_disconnected(variant, |_| h.send(kind::SEND, &payload))
}

/// The message of envelope lie `variant`, if it is one.
fn forged_envelope(variant: &str) -> Option<Vec<u8>> {
    let valid = kit::args(&[Value::from(1)]);
    let msg = |channel: &[u8], args: &[u8]| kit::message(&Envelope::default(), channel, args);
    Some(match variant {
        "short" => vec![0u8; 10],
        "chan-past-end" => kit::message(
            &Envelope {
                channel_len: Some(100),
                ..Envelope::default()
            },
            b"echo",
            &[],
        ),
        "chan-too-long" => kit::message(
            &Envelope {
                channel_len: Some(5000),
                ..Envelope::default()
            },
            b"echo",
            &valid,
        ),
        "chan-utf8" => msg(&[0xff, 0xfe, b'a'], &valid),
        _ => return None,
    })
}

/// Role `rejected-requests`: blocking `invoke` and `send_sync` requests naming a real slot whose
/// envelope main must reject (channel length over the limit or past the message, a channel
/// that is not UTF-8, garbage arguments): each is answered in its slot at once with main's
/// `ProtocolError`, never left to wait. Exits 0 when all were (main tolerates the violations).
pub(crate) fn rejected_requests() -> i32 {
    let valid = kit::args(&[Value::from(1)]);
    let lying = |len: u16| Envelope {
        channel_len: Some(len),
        ..Envelope::default()
    };
    // (what, kind, envelope, channel bytes, argument bytes)
    type Case<'a> = (&'a str, u16, Envelope, &'a [u8], Vec<u8>);
    let cases: [Case; 5] = [
        (
            "invoke-chan-too-long",
            kind::INVOKE,
            lying(5000),
            b"echo",
            valid.clone(),
        ),
        (
            "sync-chan-too-long",
            kind::SEND_SYNC,
            lying(4097),
            b"echo",
            valid.clone(),
        ),
        (
            "sync-chan-past-end",
            kind::SEND_SYNC,
            lying(100),
            b"echo",
            Vec::new(),
        ),
        (
            "invoke-chan-utf8",
            kind::INVOKE,
            Envelope::default(),
            &[0xff, 0xfe, b'a'],
            valid,
        ),
        (
            "sync-bad-args",
            kind::SEND_SYNC,
            Envelope::default(),
            b"echo",
            bad_args(),
        ),
    ];
    let mut h = Hostile::connect();
    for (what, tag, env, channel, args) in cases {
        match h.request_forged(tag, env, channel, &args) {
            Ok((aux, buf)) => match kit::decode_reply(aux, buf.as_slice()) {
                Ok(Err((name, msg)))
                    if name == "ProtocolError" && msg.starts_with("main rejected the message") =>
                {
                    ok(&format!("{what}-answered"))
                }
                other => return crate::report::fail(&format!("{what}: answered {other:?}")),
            },
            Err(e) => return crate::report::fail(&format!("{what}: {e}")),
        }
    }
    kit::EXIT_OK
}

/// Role `kinds TAG..`: a valid message under each given kind, then the last one until main
/// disconnects us.
pub(crate) fn kinds(tags: &[String]) -> i32 {
    let tags: Vec<u16> = tags.iter().filter_map(|t| t.parse().ok()).collect();
    let Some(&last) = tags.last() else {
        return kit::EXIT_USAGE;
    };
    let m = kit::valid_message(kit::ECHO, &[Value::from(1)]);
    let mut h = Hostile::connect();
    for &t in &tags {
        h.send(t, &m);
    }
    until_disconnected("forbidden kinds", |_| h.send(last, &m))
}

/// Role `frames`: announce frame after frame (more than main keeps).
pub(crate) fn frames() -> i32 {
    let mut h = Hostile::connect();
    until_disconnected("frame announcements", |i| {
        let env = Envelope {
            frame_id: 1 + i as u32,
            ..Envelope::default()
        };
        h.send(kind::FRAME_OPEN, &kit::message(&env, b"", &[]));
    })
}

/// Role `handler-reply VARIANT`: answer every invoke main makes with a forged reply
/// (`bad-args`, `wrong-shape`, `bad-error`; anything else answers properly).
pub(crate) fn handler_reply(variant: &str) -> i32 {
    let mut h = Hostile::connect();
    ok("handler-reply-ready");
    loop {
        let (env, _) = match h.recv_from_main_until(kind::INVOKE_RENDERER, None) {
            Ok(v) => v,
            Err(e) => {
                say(&format!("receive ended: {e}"));
                return kit::EXIT_OK;
            }
        };
        let reply_env = Envelope {
            request_id: env.request_id,
            ..Envelope::default()
        };
        let args = match variant {
            "bad-args" => bad_args(),
            "wrong-shape" => kit::args(&[]),
            "bad-error" => {
                // An error reply whose name is not a string.
                let m = kit::message(
                    &Envelope {
                        flags: kit::FLAG_ERROR,
                        ..reply_env
                    },
                    b"",
                    &kit::args(&[Value::from(1), Value::from(2)]),
                );
                h.send(kind::HANDLER_REPLY, &m);
                continue;
            }
            _ => kit::args(&[Value::from("fine")]),
        };
        h.send(kind::HANDLER_REPLY, &kit::message(&reply_env, b"", &args));
    }
}
