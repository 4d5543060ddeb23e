//! Ring-level lies: frame headers and ring positions a well-behaved producer never writes, in
//! the renderer-to-main ring, and a lie about our consumer position in main's ring.

use crate::hostile::{Hostile, REPLY_DEADLINE};
use crate::report::{fail, not_disconnected, ok, HOSTILE_BUDGET};
use electrode::Value;
use electrode_tests::hostile_kit::{self as kit, kind, ring, Envelope};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Role `ring VARIANT`: tell one ring-level lie (frame lengths past the tail, the ring end or
/// half the ring, padding mid-ring, an unknown frame kind, a tail short, past the end, huge or
/// backwards, orphan, interleaved or retagged chunks, a message over main's limit), then wait
/// to be disconnected.
pub(crate) fn ring_lie(variant: &str) -> i32 {
    let mut h = Hostile::connect();
    let cap = h.raw.cap();
    let valid = kit::valid_message("log", &[Value::from(1)]);
    let whole = |len: u32| ring::frame_header(len, ring::WHOLE, kind::SEND, 0);
    // Everything main has been sent so far is consumed (head caught up with tail).
    let drained = |h: &Hostile| {
        let start = Instant::now();
        while h.raw.head() != h.raw.tail() {
            if start.elapsed() > REPLY_DEADLINE {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    };
    match variant {
        "len-past-tail" => h.raw.push(whole(1000), &valid, 32),
        "len-huge" => h.raw.push(whole(0xffff_fff0), &valid, 32),
        "len-past-end" => {
            // Two frames of half the ring less 16 bring the tail to 32 bytes before the end.
            let fill = kit::message(&Envelope::default(), b"", &vec![0u8; cap as usize / 2 - 64]);
            h.send(kind::FRAME_OPEN, &fill);
            h.send(kind::FRAME_OPEN, &fill);
            if !drained(&h) {
                return fail("main did not consume the filler frames");
            }
            if h.raw.tail() % cap != cap - 32 {
                return fail(&format!("filler left the tail at {}", h.raw.tail() % cap));
            }
            h.raw.push(whole(64), &valid, 96);
        }
        "half-ring" => {
            let len = cap as u32 / 2 + 16;
            h.raw
                .push(whole(len), &valid, ring::frame_size(len as usize) as u64)
        }
        "pad-mid" => h.raw.push(ring::frame_header(16, ring::PAD, 0, 0), &[], 32),
        "bad-kind" => h
            .raw
            .push(ring::frame_header(16, 9, kind::SEND, 0), &valid, 32),
        "short" => {
            let t = h.raw.tail();
            h.raw.set_tail(t + 8);
        }
        "tail-past-end" => {
            let t = h.raw.tail();
            h.raw.set_tail(t + cap + 16);
        }
        "tail-huge" => h.raw.set_tail(u64::MAX),
        "tail-back" => {
            h.send(kind::SEND, &valid);
            if !drained(&h) {
                return fail("main did not consume the first frame");
            }
            let t = h.raw.tail();
            h.raw.set_tail(t - 16);
        }
        "chunk-orphan" => {
            let len = valid.len() as u32;
            h.raw.push(
                ring::frame_header(len, ring::MIDDLE, kind::SEND, 0),
                &valid,
                ring::frame_size(valid.len()) as u64,
            )
        }
        "chunk-interleave" | "chunk-retag" => {
            let len = valid.len() as u32;
            let size = ring::frame_size(valid.len()) as u64;
            h.raw.push(
                ring::frame_header(len, ring::FIRST, kind::SEND, 5),
                &valid,
                size,
            );
            let second = if variant == "chunk-interleave" {
                ring::frame_header(len, ring::WHOLE, kind::SEND, 0)
            } else {
                ring::frame_header(len, ring::LAST, kind::INVOKE, 5)
            };
            h.raw.push(second, &valid, size);
        }
        "too-big" => {
            // One byte more than main's message limit, in chunks.
            let big = vec![0u8; electrode_shm::DEFAULT_MAX_MESSAGE + 1];
            h.send(kind::SEND, &big);
        }
        other => {
            eprintln!("ring: unknown variant {other}");
            return kit::EXIT_USAGE;
        }
    }
    h.tx.notify();
    ok(&format!("lied {variant}"));
    // Main disconnects (kills) us; keep the process alive until then.
    let start = Instant::now();
    while start.elapsed() < HOSTILE_BUDGET {
        std::thread::sleep(Duration::from_millis(5));
        h.tx.notify();
    }
    not_disconnected(variant)
}

/// Role `m2r-head`: lie about our consumer position of main's ring, then make main send more than it holds.
pub(crate) fn m2r_head() -> i32 {
    let mut h = Hostile::connect();
    let m2r = h.raw.layout.m2r;
    h.raw
        .u64_at(m2r + ring::HEAD)
        .store(u64::MAX / 2, Ordering::Release);
    let blob = Value::Bytes(vec![7u8; 8192]);
    let n = 2 * h.raw.layout.config.m2r_capacity / 8192 + 8;
    for i in 0..n as u64 {
        let env = Envelope {
            flags: kit::FLAG_REPLY_VIA_RING,
            request_id: i + 1,
            ..Envelope::default()
        };
        let m = kit::message(
            &env,
            kit::ECHO.as_bytes(),
            &kit::args(std::slice::from_ref(&blob)),
        );
        h.send(kind::INVOKE, &m);
    }
    ok("m2r-head-lied-and-flooded");
    // Main still serves our slot requests (or has disconnected us, which is fine too).
    match h.echo(&[Value::from("after")]) {
        Ok(()) => ok("slot-echo-after-m2r-lie"),
        Err(e) => return fail(&e),
    }
    kit::EXIT_OK
}
