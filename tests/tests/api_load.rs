//! Eight renderer processes invoke main 100,000 times each, all at once (32 invokes in flight
//! per renderer, one in 64 blocking): every answer is checked by the renderer (it is a function
//! of the renderer's index and the call's number), and main checks that each renderer's calls
//! come in order and from the same WebContents. Prints the throughput (not asserted).

use electrode::{Main, RemoteError, Value};
use electrode_tests::api_kit::{load_answer, spawn, ReadyGate};
use electrode_tests::watchdog;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RENDERER: &str = env!("CARGO_BIN_EXE_api_renderer");
const RENDERERS: usize = 8;
const INVOKES: i64 = 100_000;

struct Books {
    /// The next call number expected from each renderer.
    next: Vec<AtomicI64>,
    /// The WebContents id each renderer's calls come from (0 until the first call).
    sender: Vec<AtomicU32>,
}

fn work(books: &Books, sender: u32, a: &electrode::ArgsView<'_>) -> Result<Value, RemoteError> {
    let (Some(idx), Some(i)) = (
        a.get(0).and_then(|v| v.as_i64()),
        a.get(1).and_then(|v| v.as_i64()),
    ) else {
        return Err(RemoteError::new(format!("bad arguments {a:?}")));
    };
    let k = usize::try_from(idx)
        .ok()
        .filter(|&k| k < RENDERERS)
        .ok_or_else(|| RemoteError::new(format!("bad renderer index {idx}")))?;
    match books.sender[k].compare_exchange(0, sender, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => {}
        Err(s) if s == sender => {}
        Err(s) => {
            return Err(RemoteError::new(format!(
                "renderer {idx}'s call came from WebContents {sender}, earlier ones from {s}"
            )))
        }
    }
    let want = books.next[k].load(Ordering::Relaxed);
    if i != want {
        return Err(RemoteError::new(format!(
            "renderer {idx}: call {i} arrived when {want} was due"
        )));
    }
    books.next[k].store(i + 1, Ordering::Relaxed);
    Ok(Value::from(load_answer(idx, i)))
}

#[test]
fn eight_renderers_invoke_a_hundred_thousand_times_each() {
    let _dog = watchdog(
        Duration::from_secs(300),
        "eight_renderers_invoke_a_hundred_thousand_times_each",
    );
    let main = Main::new().unwrap();
    let books = Arc::new(Books {
        next: (0..RENDERERS).map(|_| AtomicI64::new(0)).collect(),
        sender: (0..RENDERERS).map(|_| AtomicU32::new(0)).collect(),
    });
    let b = books.clone();
    main.ipc()
        .handle("work", move |e, a| work(&b, e.sender().id(), a))
        .unwrap();
    let b = books.clone();
    main.ipc().on("load-done", move |e, a| {
        let idx = a.get(0).and_then(|v| v.as_i64()).unwrap_or(-1);
        let n = usize::try_from(idx)
            .ok()
            .and_then(|k| b.next.get(k))
            .map_or(-1, |n| n.load(Ordering::Relaxed));
        e.set_return_value(n);
    });
    let gate = ReadyGate::install(main.ipc());
    let count = INVOKES.to_string();
    let children: Vec<_> = (0..RENDERERS)
        .map(|k| spawn(&main, RENDERER, "load", &[&k.to_string(), &count]))
        .collect();
    // Hold every renderer at the gate, then release them together.
    let ready: Vec<_> = (0..RENDERERS).map(|_| gate.wait().0).collect();
    let start = Instant::now();
    for r in &ready {
        r.set_return_value(true);
    }
    drop(ready);
    for c in &children {
        c.expect_success_within(Duration::from_secs(240));
    }
    let took = start.elapsed();
    let total = RENDERERS as f64 * INVOKES as f64;
    eprintln!(
        "{RENDERERS} renderers x {INVOKES} invokes: {took:.2?}, {:.0} invokes/s",
        total / took.as_secs_f64()
    );
    for (k, n) in books.next.iter().enumerate() {
        assert_eq!(
            n.load(Ordering::Relaxed),
            INVOKES,
            "calls main answered for renderer {k}"
        );
    }
}
