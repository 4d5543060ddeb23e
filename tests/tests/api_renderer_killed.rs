//! A renderer SIGKILLed while it waits in an invoke (and while main waits in an invoke of the
//! renderer's handler): `render-process-gone` fires once, with reason `killed` (and the signal
//! as exit code); main's pending invoke fails with `Disconnected`; answering the dead
//! renderer's held invoke is harmless; two other renderers keep invoking successfully.

use electrode::{args, CallError, DeferredReply, GoneReason, Main, Value};
use electrode_tests::api_kit::{spawn, ReadyGate, HANG_GUARD};
use electrode_tests::watchdog;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_api_renderer");
const WORKERS: usize = 2;
/// Calls each worker must make after the kill before main tells it to stop.
const AFTER_KILL: i64 = 2000;

#[test]
fn sigkilled_renderer_is_reported_killed_once_and_others_go_on() {
    let _dog = watchdog(
        Duration::from_secs(120),
        "sigkilled_renderer_is_reported_killed_once_and_others_go_on",
    );
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());

    // The victim's invoke is held here, unanswered, until after it died.
    let (held_tx, held_rx) = mpsc::channel::<DeferredReply>();
    let held_tx = Mutex::new(held_tx);
    main.ipc()
        .handle_deferred("hold", move |_, _, reply| {
            let _ = held_tx.lock().unwrap().send(reply);
        })
        .unwrap();

    // Workers tick until they made AFTER_KILL calls after the victim was reported gone.
    let victim_gone = Arc::new(AtomicBool::new(false));
    let ticks: Arc<Vec<AtomicI64>> = Arc::new((0..WORKERS).map(|_| AtomicI64::new(0)).collect());
    let at_kill: Arc<Vec<AtomicI64>> = Arc::new((0..WORKERS).map(|_| AtomicI64::new(-1)).collect());
    let (warm_tx, warm_rx) = mpsc::channel::<usize>();
    let warm_tx = Mutex::new(warm_tx);
    {
        let (gone, ticks, at_kill) = (victim_gone.clone(), ticks.clone(), at_kill.clone());
        main.ipc()
            .handle("tick", move |_, a| {
                let k = a.get(0).and_then(|v| v.as_i64()).unwrap_or(-1) as usize;
                let i = a.get(1).and_then(|v| v.as_i64()).unwrap_or(-1);
                let n = ticks[k].fetch_add(1, Ordering::SeqCst) + 1;
                if n == 100 {
                    let _ = warm_tx.lock().unwrap().send(k);
                }
                let mut verdict = "go";
                if gone.load(Ordering::SeqCst) {
                    let base = at_kill[k].load(Ordering::SeqCst);
                    if base >= 0 && n - base >= AFTER_KILL {
                        verdict = "stop";
                    }
                }
                Ok(Value::array([Value::from(i), Value::from(verdict)]))
            })
            .unwrap();
    }

    let victim = spawn(&main, RENDERER, "victim", &[]);
    let workers: Vec<_> = (0..WORKERS)
        .map(|k| spawn(&main, RENDERER, "worker", &[&k.to_string()]))
        .collect();
    for _ in 0..=WORKERS {
        gate.wait().0.set_return_value(true);
    }
    let gone_count = Arc::new(AtomicUsize::new(0));
    {
        let (count, gone, ticks, at_kill) = (
            gone_count.clone(),
            victim_gone.clone(),
            ticks.clone(),
            at_kill.clone(),
        );
        victim.wc.on_render_process_gone(move |d| {
            count.fetch_add(1, Ordering::SeqCst);
            if d.reason == GoneReason::Killed {
                for (t, base) in ticks.iter().zip(at_kill.iter()) {
                    base.store(t.load(Ordering::SeqCst), Ordering::SeqCst);
                }
                gone.store(true, Ordering::SeqCst);
            }
        });
    }
    // Kill once the victim waits in its invoke and both workers are busy.
    let reply = held_rx
        .recv_timeout(HANG_GUARD)
        .expect("the victim's invoke never reached main");
    for _ in 0..WORKERS {
        warm_rx
            .recv_timeout(HANG_GUARD)
            .expect("a worker never got going");
    }
    // Main invokes the victim's handler, which starts and never answers.
    let (started_tx, started) = mpsc::channel();
    let started_tx = Mutex::new(started_tx);
    victim.wc.ipc().on("in-handler", move |_, _| {
        let _ = started_tx.lock().unwrap().send(());
    });
    let pending = victim.wc.invoke("never", &args![]);
    started
        .recv_timeout(HANG_GUARD)
        .expect("the victim's handler never started");
    let (outcome_tx, outcome) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = outcome_tx.send(futures::executor::block_on(pending));
    });
    // Sound: main has not reaped the victim (it is alive), so its pid still names it.
    kill(Pid::from_raw(victim.wc.pid() as i32), Signal::SIGKILL).unwrap();

    let d = victim.wait_gone();
    assert_eq!(d.reason, GoneReason::Killed);
    assert_eq!(d.reason.as_str(), "killed");
    assert_eq!(d.exit_code, Signal::SIGKILL as i32);
    assert!(victim.wc.is_destroyed());
    assert_eq!(victim.wc.gone_details(), Some(d));
    assert!(victim.wc.send("x", &args![]).is_err());
    assert_eq!(
        outcome
            .recv_timeout(HANG_GUARD)
            .expect("main's invoke of the dead renderer still pending"),
        Err(CallError::Disconnected)
    );
    // Answering the dead renderer's invoke is harmless.
    reply.resolve("too late");

    for w in &workers {
        w.expect_success();
    }
    for (k, (t, base)) in ticks.iter().zip(at_kill.iter()).enumerate() {
        let (t, base) = (t.load(Ordering::SeqCst), base.load(Ordering::SeqCst));
        assert!(base >= 0, "worker {k}: the kill was not noticed");
        assert!(
            t - base >= AFTER_KILL,
            "worker {k}: only {} calls after the kill",
            t - base
        );
    }
    // Fired once: by now (the workers ran AFTER_KILL calls each since) a second report
    // would have come; a hook added late is called at once with the same details.
    assert_eq!(gone_count.load(Ordering::SeqCst), 1);
    assert!(victim.another_gone_within(Duration::ZERO).is_none());
    let (tx, rx) = mpsc::channel();
    victim
        .wc
        .on_render_process_gone(move |d| tx.send(*d).unwrap());
    assert_eq!(rx.try_recv(), Ok(d));
}
