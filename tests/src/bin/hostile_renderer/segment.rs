//! Scribbles on shared memory main reads: the segment header and ring event words, and
//! published frames rewritten while main reads them (a double fetch).

use crate::hostile::Hostile;
use crate::report::{fail, ok};
use electrode::Value;
use electrode_shm::SegmentHeader;
use electrode_tests::hostile_kit::{self as kit, kind, ring, Rng};
use std::mem::offset_of;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Role `seg-header`: rewrite the segment header page and every ring event word, then check
/// that main still serves slot and ring invokes.
pub(crate) fn seg_header() -> i32 {
    let mut h = Hostile::connect();
    if let Err(e) = h.echo(&[Value::from("before")]) {
        return fail(&e);
    }
    let mut rng = Rng::new(3);
    // The header page: magic, version, sizes, pids, everything.
    let junk = rng.bytes(4096);
    h.raw.write(0, &junk);
    h.raw
        .u64_at(offset_of!(SegmentHeader, total_size))
        .store(1 << 40, Ordering::Relaxed);
    h.raw
        .u64_at(offset_of!(SegmentHeader, r2m_capacity))
        .store(16, Ordering::Relaxed);
    h.raw
        .u32_at(offset_of!(SegmentHeader, slot_count))
        .store(u32::MAX, Ordering::Relaxed);
    // Ring events: sequence numbers and sleeping flags of both rings.
    for r in [h.raw.layout.r2m, h.raw.layout.m2r] {
        for ev in [ring::DATA_EVENT, ring::SPACE_EVENT] {
            h.raw
                .u32_at(r + ev)
                .store(rng.next_u64() as u32, Ordering::Relaxed);
            h.raw.u32_at(r + ev + 4).store(0, Ordering::Relaxed);
        }
    }
    ok("segment-header-rewritten");
    for i in 0..200i64 {
        let values = [Value::from(i), Value::from(format!("after-{i}"))];
        let r = if i % 4 == 0 {
            h.echo_async(&values, i as u64 + 1)
        } else {
            h.echo(&values)
        };
        if let Err(e) = r {
            return fail(&format!("call {i} after the rewrite: {e}"));
        }
    }
    ok("served-after-header-rewrite");
    kit::EXIT_OK
}

/// Channel of the double-fetch messages: `[64-char string of 'A'/'B', sequence number]`.
const DBL: &str = "dbl";

/// Role `double-fetch N`: send `N` messages while a thread rewrites the published frames main
/// has not consumed yet (main must read each message once, into its own copy).
pub(crate) fn double_fetch(n: u64) -> i32 {
    let mut h = Hostile::connect();
    let marker = 0x1122_3344_5566_7788i64;
    let text = "A".repeat(64);
    let template = kit::valid_message(DBL, &[Value::from(text.as_str()), Value::from(marker)]);
    let find = |needle: &[u8]| template.windows(needle.len()).position(|w| w == needle);
    let (Some(str_off), Some(int_off)) = (find(text.as_bytes()), find(&marker.to_le_bytes()))
    else {
        return fail("template layout");
    };
    let frame = ring::frame_size(template.len()) as u64;
    let cap = h.raw.cap();
    let stop = Arc::new(AtomicBool::new(false));
    let raw = h.raw.clone();
    let flipper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut rng = Rng::new(5);
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (head, tail) = (raw.head(), raw.tail());
                if tail <= head || tail - head > cap {
                    std::hint::spin_loop();
                    continue;
                }
                // A published frame main has not consumed yet; frames of one size sit at
                // multiples of their size from the start of the ring (padding fills the end).
                let pos = head + rng.index((tail - head) as usize) as u64;
                let off = pos % cap;
                let start = off - off % frame;
                if start + frame > cap {
                    continue;
                }
                let at = raw.layout.r2m + ring::DATA + start as usize + 16;
                let b = [b'A', b'B', 0xff][rng.index(3)];
                raw.u8_at(at + str_off + rng.index(64))
                    .store(b, Ordering::Relaxed);
                flips += 1;
            }
            flips
        })
    };
    let mut m = template.clone();
    for i in 0..n {
        m[int_off..int_off + 8].copy_from_slice(&(i as i64).to_le_bytes());
        h.send(kind::SEND, &m);
    }
    stop.store(true, Ordering::Relaxed);
    let flips = flipper.join().unwrap_or(0);
    h.send(
        kind::SEND,
        &kit::valid_message("dbl-done", &[Value::from(n as i64)]),
    );
    ok(&format!("double-fetch sent={n} flips={flips}"));
    // Stay until main has seen `dbl-done` (it answers this echo after it).
    if let Err(e) = h.echo(&[Value::from("done")]) {
        return fail(&e);
    }
    kit::EXIT_OK
}
