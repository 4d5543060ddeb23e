//! Fair dispatch under a flood: renderer A floods main with one-way sends whose listener works
//! about a microsecond on each (the kind of load that used to keep every other renderer waiting
//! behind 64 of A's messages per round), while renderer B makes a few thousand `invoke` and
//! `send_sync` calls. Every one of B's calls is answered correctly while the flood runs, every
//! flood message arrives in order (none lost, none repeated), and main's dispatcher did cut A's
//! turns short (its budget-yield count moved). No timing is asserted: the figures are the
//! report's (`report --only flood`).

use electrode::{Main, Value};
use electrode_tests::api_kit::{spawn, ReadyGate};
use electrode_tests::watchdog;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const RENDERER: &str = env!("CARGO_BIN_EXE_fair_renderer");

/// B's calls (half invoke, half send_sync).
const CALLS: i64 = 4_000;

/// Flood messages main handles before B starts.
const LEAD: i64 = 1_000;

/// What main's flood listener spends on each message.
const WORK: Duration = Duration::from_micros(1);

/// The flood as main saw it.
#[derive(Default)]
struct Flood {
    next: i64,
    broken: Option<String>,
}

fn int(a: &electrode::ArgsView<'_>, i: usize) -> i64 {
    a.get(i).and_then(|v| v.as_i64()).unwrap_or(-1)
}

#[test]
fn a_flooding_renderer_does_not_keep_another_from_being_answered() {
    let _dog = watchdog(
        Duration::from_secs(180),
        "a_flooding_renderer_does_not_keep_another_from_being_answered",
    );
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let flood: Arc<Mutex<Flood>> = Arc::default();
    let f = flood.clone();
    let (under_way, flood_started) = mpsc::channel();
    let under_way = Mutex::new(under_way);
    main.ipc().on("flood", move |_e, a| {
        {
            let mut f = f.lock().unwrap();
            let seq = int(a, 0);
            if seq != f.next && f.broken.is_none() {
                f.broken = Some(format!(
                    "flood message {seq} arrived when {} was due",
                    f.next
                ));
            }
            f.next = seq + 1;
            if f.next == LEAD {
                let _ = under_way.lock().unwrap().send(());
            }
        }
        // The listener's work (a spin on the clock): what makes a flood costly for main.
        let start = Instant::now();
        while start.elapsed() < WORK {
            std::hint::spin_loop();
        }
    });
    let f = flood.clone();
    main.ipc()
        .handle("flood-done", move |_e, _a| {
            Ok(Value::from(f.lock().unwrap().next))
        })
        .unwrap();
    main.ipc()
        .handle("fair-invoke", |_e, a| Ok(Value::from(2 * int(a, 0) + 1)))
        .unwrap();
    main.ipc().on("fair-sync", |e, a| {
        e.set_return_value(int(a, 0) + 7);
    });

    let a = spawn(&main, RENDERER, "flood", &[]);
    let (a_ready, _) = gate.wait();
    a_ready.set_return_value(Value::Null);
    let b = spawn(&main, RENDERER, "caller", &[&CALLS.to_string()]);
    let (b_ready, _) = gate.wait();
    // B starts once the flood is well under way (a hang guard, not a timing bound).
    flood_started
        .recv_timeout(Duration::from_secs(60))
        .expect("the flood never got under way");
    let yields_before = main.dispatcher_budget_yields();
    b_ready.set_return_value(Value::Null);
    // Every one of B's calls answered and checked (the renderer exits 0 only then).
    b.expect_success();
    let during_b = flood.lock().unwrap().next;
    let yields = main.dispatcher_budget_yields() - yields_before;
    a.wc.send("flood-stop", &[]).unwrap();
    a.expect_success();

    let f = flood.lock().unwrap();
    assert_eq!(f.broken, None, "the flood arrived out of order");
    assert!(
        f.next > during_b,
        "the flood stopped before B finished ({} messages)",
        f.next
    );
    assert!(
        yields > 0,
        "the dispatcher never cut the flooding renderer's turn short while B was served"
    );
}
