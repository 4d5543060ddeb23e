//! What main holds for a renderer is bounded, measured by the allocator (this test binary
//! counts every heap byte through `cap`), not by main's own bookkeeping:
//!
//! - a 200 MiB `WebContents::send` is refused before it is encoded: neither the heap nor the
//!   peak resident memory grows by anything like its size;
//! - with the renderer's receive thread stalled, small messages queue in main's outbox until
//!   `send` fails with `Full`, and the heap main holds for them stays within `outbox_limit`
//!   (per-message overhead included), as does `WebContents::queued_memory`.
//!
//! One test in this binary, so nothing else allocates while it measures.

use cap::Cap;
use electrode::{args, Main, SendError, Value, MAX_MESSAGE_LEN};
use electrode_tests::api_kit::{spawn, ReadyGate};
use electrode_tests::watchdog;
use std::alloc::System;
use std::time::Duration;

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

const RENDERER: &str = env!("CARGO_BIN_EXE_edge_renderer");
const OUTBOX_LIMIT: usize = 1 << 20;

fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kb * 1024
}

#[test]
fn main_holds_at_most_its_limits() {
    let _dog = watchdog(Duration::from_secs(120), "main_holds_at_most_its_limits");
    let main = Main::builder()
        .ring_capacity(64 << 10)
        .outbox_limit(OUTBOX_LIMIT)
        .build()
        .unwrap();
    let gate = ReadyGate::install(main.ipc());
    let r = spawn(&main, RENDERER, "stall", &[]);
    let (ready, _) = gate.wait();
    ready.set_return_value(Value::Null);
    drop(ready);
    let wc = &r.wc;

    // 1. Too large: refused before a byte of it is encoded.
    const BIG: usize = 200 << 20;
    let big = args![Value::Bytes(vec![1u8; BIG])];
    let (heap, peak) = (HEAP.allocated(), peak_rss());
    match wc.send("big", &big) {
        Err(SendError::TooLarge { size, limit }) => {
            assert!(size > BIG, "{size}");
            assert_eq!(limit, MAX_MESSAGE_LEN);
        }
        other => panic!("send(200 MiB): {other:?}"),
    }
    let heap_grew = HEAP.allocated().saturating_sub(heap);
    let peak_grew = peak_rss().saturating_sub(peak);
    assert!(
        heap_grew < 1 << 20,
        "refusing it allocated {heap_grew} bytes"
    );
    assert!(
        peak_grew < 32 << 20,
        "refusing it raised the peak by {peak_grew} bytes"
    );
    drop(big);

    // 2. A stalled renderer: its receive thread blocks in the `block` listener.
    wc.send("block", &args![]).unwrap();
    let before = HEAP.allocated();
    let mut accepted = 0u64;
    let mut largest = 0usize;
    loop {
        match wc.send("m", &args![accepted as i64]) {
            Ok(()) => accepted += 1,
            Err(SendError::Full) => break,
            Err(e) => panic!("send {accepted}: {e}"),
        }
        largest = largest.max(HEAP.allocated().saturating_sub(before));
        assert!(accepted < 10_000_000, "the outbox never filled");
    }
    let held = HEAP.allocated().saturating_sub(before);
    // The outbox, not only the ring, took messages, and filled up to near its limit.
    assert!(accepted > 1_000, "only {accepted} messages were accepted");
    assert!(
        wc.queued_memory() > OUTBOX_LIMIT / 2,
        "the outbox held only {} bytes when it refused",
        wc.queued_memory()
    );
    assert!(
        wc.queued_memory() <= OUTBOX_LIMIT,
        "queued_memory {} > limit",
        wc.queued_memory()
    );
    // The dispatcher's own few allocations get 64 KiB of slack.
    let bound = OUTBOX_LIMIT + (64 << 10);
    assert!(
        largest <= bound && held <= bound,
        "main held up to {largest} heap bytes ({held} at the end) for a stalled renderer, \
         limit {OUTBOX_LIMIT}"
    );
    drop(main);
}
