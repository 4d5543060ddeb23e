//! Async `invoke` answered in a response slot, between real processes: main here, the
//! renderer `async_slot_renderer <role>` (see that binary's doc), whose exit status is the verdict.
//! Main holds the `later` answers until the renderer asks for them, so its futures must park
//! and be woken by main's `SlotReady`, or be dropped unanswered.

use electrode::{DeferredReply, Main, Value};
use electrode_tests::api_kit::spawn;
use electrode_tests::watchdog;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_async_slot_renderer");
const LIMIT: Duration = Duration::from_secs(120);

type Held = Arc<Mutex<Vec<(i64, DeferredReply)>>>;

/// `add` answers `a + b`; `later` is held until `release` (one, times 10) or `release-all`
/// (every one held, late); `gather` answers once `slots` calls are in.
fn handlers(main: &Main, slots: usize) {
    let ipc = main.ipc();
    ipc.handle("add", |_e, a| {
        Ok(Value::from(
            a.get(0).unwrap().as_i64().unwrap() + a.get(1).unwrap().as_i64().unwrap(),
        ))
    })
    .unwrap();
    ipc.handle("big", |_e, a| {
        let n = a.get(0).unwrap().as_i64().unwrap() as usize;
        Ok(Value::Bytes(vec![n as u8; 100_000 + n]))
    })
    .unwrap();
    let held: Held = Arc::default();
    let h = held.clone();
    ipc.handle_deferred("later", move |_e, a, reply| {
        h.lock()
            .unwrap()
            .push((a.get(0).unwrap().as_i64().unwrap(), reply));
    })
    .unwrap();
    let h = held.clone();
    ipc.on("release", move |_e, _a| {
        if let Some((n, reply)) = h.lock().unwrap().pop() {
            reply.resolve(n * 10);
        }
    });
    ipc.on("release-all", move |_e, _a| {
        for (n, reply) in held.lock().unwrap().drain(..) {
            reply.resolve(n);
        }
    });
    let gathered: Arc<Mutex<Vec<DeferredReply>>> = Arc::default();
    ipc.handle_deferred("gather", move |_e, _a, reply| {
        let mut g = gathered.lock().unwrap();
        g.push(reply);
        if g.len() == slots {
            for reply in g.drain(..) {
                reply.resolve(Value::Null);
            }
        }
    })
    .unwrap();
}

#[test]
fn quick_slow_and_large_async_invokes() {
    let _dog = watchdog(LIMIT, "quick_slow_and_large_async_invokes");
    let main = Main::builder().slot_size(4096).build().unwrap();
    handlers(&main, 256);
    spawn(&main, RENDERER, "quick-slow", &[]).expect_success_within(LIMIT);
}

#[test]
fn ten_thousand_dropped_futures_leak_no_slot() {
    let _dog = watchdog(LIMIT, "ten_thousand_dropped_futures_leak_no_slot");
    let main = Main::builder().slot_count(4).build().unwrap();
    handlers(&main, 4);
    spawn(&main, RENDERER, "drop-many", &[]).expect_success_within(LIMIT);
}
