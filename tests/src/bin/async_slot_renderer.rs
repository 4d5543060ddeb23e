//! Renderer helper for `tests/tests/async_invoke.rs`: async invokes answered in response slots,
//! across processes. `async_slot_renderer <role>`; the exit status is the verdict.
//!
//! - `quick-slow`: 1,000 quick invokes (values checked); 50 slow ones, each polled once by
//!   hand (main holds its answer until the renderer sends `release`, so the future must park)
//!   then awaited, which main's `SlotReady` wakes; 20 answers too large for a slot.
//! - `drop-many` (main gives it 4 slots): 10,000 futures dropped unanswered (4 at a time, 2
//!   in slots and 2 through the ring, half of the batches parked first), then `release-all` (main answers them all, late),
//!   then 10,000 invokes that must all be right, then 4 blocking invokes in flight at once
//!   (main answers when all 4 are in): a leaked slot would leave one timing out.

use electrode::{args, Invoke, IpcRenderer, Value};
use electrode_tests::api_kit::{ensure, expect_eq, run_role, Check};
use electrode_tests::protocol::EXIT_USAGE;
use futures::executor::block_on;
use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::Duration;

fn connect() -> Result<IpcRenderer, String> {
    IpcRenderer::connect().map_err(|e| format!("connect: {e}"))
}

fn poll_once(fut: &mut Invoke) -> bool {
    let waker = futures::task::noop_waker();
    Pin::new(fut)
        .poll(&mut Context::from_waker(&waker))
        .is_pending()
}

fn add(r: &IpcRenderer, i: i64) -> Check {
    let got = block_on(r.invoke("add", &args![i, 1])).map_err(|e| format!("add {i}: {e}"))?;
    expect_eq("add", got, Value::from(i + 1))
}

fn quick_slow() -> Check {
    let r = connect()?;
    for i in 0..1000 {
        add(&r, i)?;
    }
    for k in 0..50i64 {
        let mut fut = r.invoke("later", &args![k]);
        ensure(poll_once(&mut fut), || {
            format!("slow call {k} ready before its answer")
        })?;
        r.send("release", &[])
            .map_err(|e| format!("release: {e}"))?;
        let got = block_on(fut).map_err(|e| format!("slow call {k}: {e}"))?;
        expect_eq("slow answer", got, Value::from(k * 10))?;
    }
    for n in 0..20usize {
        let got = block_on(r.invoke("big", &args![n as i64])).map_err(|e| format!("big: {e}"))?;
        expect_eq("big answer", got, Value::Bytes(vec![n as u8; 100_000 + n]))?;
    }
    Ok(())
}

fn drop_many() -> Check {
    const SLOTS: usize = 4;
    let r = connect()?;
    for batch in 0..10_000 / SLOTS {
        let mut futs: Vec<Invoke> = (0..SLOTS)
            .map(|i| r.invoke("later", &args![(batch * SLOTS + i) as i64]))
            .collect();
        if batch % 2 == 0 {
            for f in &mut futs {
                ensure(poll_once(f), || "a held call was answered".into())?;
            }
        }
    }
    r.send("release-all", &[])
        .map_err(|e| format!("release-all: {e}"))?;
    for i in 0..10_000 {
        add(&r, i)?;
    }
    std::thread::scope(|s| {
        let calls: Vec<_> = (0..SLOTS)
            .map(|_| s.spawn(|| r.invoke_timeout("gather", &args![], Duration::from_secs(20))))
            .collect();
        for c in calls {
            c.join()
                .map_err(|_| "a gather call panicked".to_string())?
                .map_err(|e| format!("gather (a slot leaked?): {e}"))?;
        }
        Ok(())
    })
}

fn main() {
    let role = std::env::args().nth(1).unwrap_or_default();
    let script: fn() -> Check = match role.as_str() {
        "quick-slow" => quick_slow,
        "drop-many" => drop_many,
        other => {
            eprintln!("async_slot_renderer: unknown role `{other}`");
            std::process::exit(EXIT_USAGE);
        }
    };
    run_role(&role, script)
}
