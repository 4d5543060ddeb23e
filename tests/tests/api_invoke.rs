//! `invoke` between real processes, ported from Electron's spec/api-ipc-spec.ts
//! (`ipcRenderer.invoke` / `ipcMain.handle`), plus Electrode's additions: structured errors,
//! deferred replies, and main invoking a renderer's handler.
//!
//! Each test is main; the renderer `api_renderer <role>` runs the calls and checks the answers
//! (see that binary's doc for each role), and its exit status is the verdict.

use electrode::{args, CallError, Main, RegisterError, RemoteError, Value};
use electrode_tests::api_kit::{self, spawn, typed_error, ReadyGate, HANG_GUARD};
use electrode_tests::watchdog;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_api_renderer");
const LIMIT: Duration = Duration::from_secs(120);

/// Wants its argument to be 123 (as Electron's test does) and answers 3.
fn want_123(a: &electrode::ArgsView<'_>) -> Result<Value, RemoteError> {
    match a.get(0).and_then(|v| v.as_i64()) {
        Some(123) => Ok(Value::from(3)),
        other => Err(RemoteError::new(format!("want 123, got {other:?}"))),
    }
}

#[test]
fn handle_once_answers_once_with_the_sync_handlers_value() {
    let _dog = watchdog(
        LIMIT,
        "handle_once_answers_once_with_the_sync_handlers_value",
    );
    let main = Main::new().unwrap();
    main.ipc().handle_once("once", |_, a| want_123(a)).unwrap();
    main.ipc()
        .handle_once("once-future", |_, a| want_123(a))
        .unwrap();
    spawn(&main, RENDERER, "handle-once", &[]).expect_success();
    // The once handlers removed themselves: registering again works.
    main.ipc().handle("once", |_, _| Ok(Value::Null)).unwrap();
    main.ipc()
        .handle("once-future", |_, _| Ok(Value::Null))
        .unwrap();
}

#[test]
fn async_handler_answers_with_its_futures_output() {
    let _dog = watchdog(LIMIT, "async_handler_answers_with_its_futures_output");
    let main = Main::new().unwrap();
    main.ipc()
        .handle_async("async", |_, _| async move {
            // Really wait: the value comes from another thread.
            let (tx, rx) = futures::channel::oneshot::channel();
            std::thread::spawn(move || {
                let _ = tx.send(3);
            });
            let v = rx.await.map_err(|_| RemoteError::new("canceled"))?;
            Ok(Value::from(v))
        })
        .unwrap();
    spawn(&main, RENDERER, "async-handler", &[]).expect_success();
}

#[test]
fn failing_missing_removed_and_dropped_handlers_reject() {
    let _dog = watchdog(LIMIT, "failing_missing_removed_and_dropped_handlers_reject");
    let main = Main::new().unwrap();
    let ipc = main.ipc();
    ipc.handle("throw", |_, _| Err(RemoteError::new("some error")))
        .unwrap();
    ipc.handle_async("async-throw", |_, _| async move {
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let _ = tx.send(());
        });
        let _ = rx.await;
        Err(RemoteError::new("async failure"))
    })
    .unwrap();
    ipc.handle("removed", |_, _| Ok(Value::from("here")))
        .unwrap();
    let scope = ipc.clone();
    ipc.on("remove-handler", move |e, a| {
        let ch = a.get(0).and_then(|v| v.as_str()).unwrap_or_default();
        scope.remove_handler(ch);
        e.set_return_value(true);
    });
    ipc.handle_deferred("deferred-drop", |_, _, reply| drop(reply))
        .unwrap();
    ipc.handle_deferred("deferred-drop-later", |_, _, reply| {
        std::thread::spawn(move || drop(reply));
    })
    .unwrap();
    ipc.handle_deferred("deferred-later", |_, a, reply| {
        let x = a.get(0).and_then(|v| v.as_i64()).unwrap_or(-100);
        std::thread::spawn(move || reply.resolve(x + 1));
    })
    .unwrap();
    ipc.handle("typed", |_, _| Err(typed_error())).unwrap();
    ipc.handle_async("typed-async", |_, _| async move { Err(typed_error()) })
        .unwrap();
    ipc.handle_deferred("typed-deferred", |_, _, reply| reply.reject(typed_error()))
        .unwrap();
    ipc.handle("panics", |_, _| panic!("a handler panicking on purpose"))
        .unwrap();
    ipc.handle("alive", |_, _| Ok(Value::from("yes"))).unwrap();

    spawn(&main, RENDERER, "errors", &[]).expect_success();
    // remove_handler really removed it: a new handler may take the channel.
    ipc.handle("removed", |_, _| Ok(Value::Null)).unwrap();
}

#[test]
fn a_second_handler_on_a_channel_is_refused() {
    let _dog = watchdog(LIMIT, "a_second_handler_on_a_channel_is_refused");
    let main = Main::new().unwrap();
    let (wc, _r) = main.connect_in_process().unwrap();
    for ipc in [main.ipc(), wc.ipc()] {
        ipc.handle("ch", |_, _| Ok(Value::Null)).unwrap();
        let refusals = [
            ipc.handle("ch", |_, _| Ok(Value::Null)),
            ipc.handle_once("ch", |_, _| Ok(Value::Null)),
            ipc.handle_deferred("ch", |_, _, _| {}),
            ipc.handle_async("ch", |_, _| async { Ok(Value::Null) }),
        ];
        for e in refusals {
            let e = e.unwrap_err();
            assert_eq!(
                e,
                RegisterError::SecondHandler {
                    channel: "ch".into()
                }
            );
            assert_eq!(
                e.to_string(),
                "Attempted to register a second handler for 'ch'"
            );
            assert!(e.to_string().contains("second handler"));
        }
        ipc.remove_handler("ch");
        ipc.remove_handler("ch"); // no error when there is none
        ipc.handle_once("ch", |_, _| Ok(Value::Null)).unwrap();
        assert!(ipc.handle("ch", |_, _| Ok(Value::Null)).is_err());
        ipc.remove_handler("ch");
    }
}

#[test]
fn main_invokes_a_renderers_handler() {
    let _dog = watchdog(LIMIT, "main_invokes_a_renderers_handler");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    // From a listener, on the dispatcher thread, a blocking invoke would wait for itself.
    let (tx, deadlock) = mpsc::channel();
    let tx = Mutex::new(tx);
    main.ipc().on("try-deadlock", move |e, _| {
        let r = e
            .sender()
            .invoke_blocking("double", &args![1], Some(HANG_GUARD));
        e.set_return_value(r == Err(CallError::WouldDeadlock));
        let _ = tx.lock().unwrap().send(r);
    });
    let child = spawn(&main, RENDERER, "main-invoke", &[]);
    let (ready, _) = gate.wait();
    let wc = ready.sender().clone();
    assert_eq!(wc, child.wc);
    ready.set_return_value(true);

    assert_eq!(
        wc.invoke_blocking("double", &args![21], Some(HANG_GUARD)),
        Ok(Value::from(42))
    );
    assert_eq!(
        futures::executor::block_on(wc.invoke("double", &args![5])),
        Ok(Value::from(10))
    );
    let e = wc
        .invoke_blocking("missing", &args![], Some(HANG_GUARD))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Error invoking remote method 'missing': Error: No handler registered for 'missing'"
    );
    assert!(matches!(&e, CallError::Invoke { channel, .. } if channel == "missing"));
    let e = futures::executor::block_on(wc.invoke("missing", &args![])).unwrap_err();
    assert!(e.to_string().contains("No handler registered"), "{e}");
    assert_eq!(
        wc.invoke_blocking("fail", &args![], Some(HANG_GUARD)),
        Err(CallError::Invoke {
            channel: "fail".into(),
            error: typed_error()
        })
    );
    // Larger than the ring: main's outbox must keep flushing it from this (non-dispatcher)
    // thread's send (see api_large_output.rs).
    let big = api_kit::payload(3 * 1024 * 1024 + 1, api_kit::PayloadForm::NestedMap);
    match wc.invoke_blocking("echo", std::slice::from_ref(&big), Some(HANG_GUARD)) {
        Ok(v) => assert!(
            v == Value::Array(vec![big]),
            "a 3 MiB payload came back changed from the renderer's handler"
        ),
        Err(e) => panic!("invoking the renderer's echo with 3 MiB failed: {e:?}"),
    }
    assert_eq!(
        deadlock.recv_timeout(HANG_GUARD).unwrap(),
        Err(CallError::WouldDeadlock)
    );
    wc.send("bye", &args![]).unwrap();
    child.expect_success();
    // The renderer is gone: invoking it fails at once.
    assert_eq!(
        wc.invoke_blocking("double", &args![1], Some(HANG_GUARD)),
        Err(CallError::Disconnected)
    );
}
