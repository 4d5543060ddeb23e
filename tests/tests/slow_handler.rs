//! A slow handler registered with `handle_blocking` holds only its own caller: while renderer
//! A's invoke is held in it, renderer B's invokes (of a `handle` handler, on the dispatcher)
//! are all answered, and A's is answered after them. The order is checked by what happened,
//! not by time: the slow handler is released only once B's invokes are all answered, and it
//! reports whether it was released (were it run on the dispatcher, B could not be answered and
//! the handler would report that it gave up waiting).
//!
//! In-process renderers: each has its own rings and threads, served by the one dispatcher.

use electrode::{args, Main, Value};
use electrode_tests::watchdog;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);
/// How long the slow handler waits to be released before it gives up (a failure, reported as
/// its answer rather than a hang).
const GIVE_UP: Duration = Duration::from_secs(30);

#[test]
fn the_worker_pool_handler_holds_only_its_caller() {
    let _dog = watchdog(LIMIT, "the_worker_pool_handler_holds_only_its_caller");
    let main = Main::builder().blocking_threads(2).build().unwrap();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();

    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let started_tx = Mutex::new(started_tx);
    let release_rx = Mutex::new(release_rx);
    let l = log.clone();
    main.ipc()
        .handle_blocking("slow", move |event, args| {
            assert_eq!(event.channel(), "slow");
            assert_eq!(args, vec![Value::from(7)]);
            assert!(
                std::thread::current()
                    .name()
                    .is_some_and(|n| n.starts_with("electrode-blocking-")),
                "a blocking handler runs on the pool"
            );
            l.lock().unwrap().push("slow started".into());
            started_tx.lock().unwrap().send(()).unwrap();
            let released = release_rx.lock().unwrap().recv_timeout(GIVE_UP).is_ok();
            l.lock().unwrap().push("slow returns".into());
            Ok(Value::from(if released { "released" } else { "gave up" }))
        })
        .unwrap();
    main.ipc()
        .handle("quick", |event, args| {
            assert_eq!(
                std::thread::current().name(),
                Some("electrode-dispatcher"),
                "the default `handle` stays on the dispatcher (Electron's)"
            );
            let _ = event;
            Ok(Value::from(args.get(0).unwrap().as_i64().unwrap() * 2))
        })
        .unwrap();

    let (_wa, a) = main.connect_in_process().unwrap();
    let (_wb, b) = main.connect_in_process().unwrap();

    let la = log.clone();
    let a_thread = std::thread::spawn(move || {
        let answer = a.invoke_blocking("slow", &args![7]).unwrap();
        la.lock().unwrap().push("A answered".into());
        answer
    });
    // A's invoke is now held in the slow handler.
    started_rx
        .recv_timeout(GIVE_UP)
        .expect("the slow handler started");

    for i in 0..200i64 {
        assert_eq!(
            b.invoke_blocking("quick", &args![i]).unwrap(),
            Value::from(i * 2)
        );
    }
    log.lock().unwrap().push("B answered 200".into());
    release_tx.send(()).unwrap();

    let answer = a_thread.join().unwrap();
    assert_eq!(
        answer,
        Value::from("released"),
        "B was served while A's handler ran"
    );
    assert_eq!(
        *log.lock().unwrap(),
        [
            "slow started",
            "B answered 200",
            "slow returns",
            "A answered"
        ],
    );
}

#[test]
fn a_full_queue_rejects_at_once() {
    let _dog = watchdog(LIMIT, "a_full_queue_rejects_at_once");
    let main = Main::builder()
        .blocking_threads(1)
        .blocking_queue(1)
        .build()
        .unwrap();
    let (started_tx, started_rx) = mpsc::channel::<i64>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let started_tx = Mutex::new(started_tx);
    let release_rx = Mutex::new(release_rx);
    main.ipc()
        .handle_blocking("hold", move |_event, args| {
            let n = args[0].as_i64().unwrap();
            started_tx.lock().unwrap().send(n).unwrap();
            if n == 0 {
                release_rx.lock().unwrap().recv_timeout(GIVE_UP).unwrap();
            }
            Ok(Value::from(n))
        })
        .unwrap();
    main.ipc()
        .handle_blocking("boom", |_event, _args| {
            panic!("a panicking blocking handler")
        })
        .unwrap();
    let (_w, r) = main.connect_in_process().unwrap();

    // The one thread is held by invoke 0; of invokes 1 and 2, one takes the queue's one
    // place and the other is refused at once, by the dispatcher, while both others wait.
    let r0 = r.clone();
    let first = std::thread::spawn(move || r0.invoke_blocking("hold", &args![0]));
    assert_eq!(started_rx.recv_timeout(GIVE_UP).unwrap(), 0);
    let (tx, rx) = mpsc::channel();
    for n in [1i64, 2] {
        let (r, tx) = (r.clone(), tx.clone());
        std::thread::spawn(move || tx.send((n, r.invoke_blocking("hold", &args![n]))).unwrap());
    }
    let (refused_n, refused) = rx.recv_timeout(GIVE_UP).expect("one invoke is refused");
    let refused = refused.expect_err("the first answer is the refusal");
    assert!(
        refused
            .to_string()
            .contains("the blocking handlers' queue is full"),
        "{refused}"
    );
    release_tx.send(()).unwrap();
    assert_eq!(first.join().unwrap().unwrap(), Value::from(0));
    let (queued_n, queued) = rx
        .recv_timeout(GIVE_UP)
        .expect("the queued invoke is answered");
    assert_eq!(queued_n, 3 - refused_n);
    assert_eq!(queued.unwrap(), Value::from(queued_n));
    assert_eq!(started_rx.recv_timeout(GIVE_UP).unwrap(), queued_n);

    let e = r.invoke_blocking("boom", &args![]).unwrap_err();
    assert!(e.to_string().contains("the handler panicked"), "{e}");
}

#[test]
fn a_typed_blocking_handler_runs_on_the_pool() {
    use electrode::typed::InvokeChannel;
    static TRIPLE: InvokeChannel<u32, u32> = InvokeChannel::new("triple");
    let _dog = watchdog(LIMIT, "a_typed_blocking_handler_runs_on_the_pool");
    let main = Main::new().unwrap();
    TRIPLE
        .handle_blocking(main.ipc(), |event, n| {
            assert_eq!(event.channel(), "triple");
            assert!(std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("electrode-blocking-")));
            Ok(n * 3)
        })
        .unwrap();
    let (_w, r) = main.connect_in_process().unwrap();
    assert_eq!(TRIPLE.invoke_blocking(&r, &14).unwrap(), 42);
}
