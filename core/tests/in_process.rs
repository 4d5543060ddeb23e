//! The API with an in-process renderer (threads, same semantics as a child process).

use electrode::{args, CallError, Main, RemoteError, Value};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn invoke_send_sync_send_and_reply() {
    let main = Main::new().unwrap();
    main.ipc()
        .handle("add", |_e, a| {
            Ok(Value::from(
                a.get(0).unwrap().as_i64().unwrap() + a.get(1).unwrap().as_i64().unwrap(),
            ))
        })
        .unwrap();
    main.ipc().on("sync", |e, a| {
        e.set_return_value(format!("got {}", a.get(0).unwrap().as_str().unwrap()));
    });
    main.ipc().on("ping", |e, a| {
        e.reply("pong", &a.to_values()).unwrap();
    });
    let (_wc, r) = main.connect_in_process().unwrap();
    assert_eq!(
        r.invoke_blocking("add", &args![1, 2]).unwrap(),
        Value::from(3)
    );
    assert_eq!(
        r.send_sync("sync", &args!["x"]).unwrap(),
        Value::from("got x")
    );
    let (tx, rx) = mpsc::channel();
    r.on("pong", move |_e, a| tx.send(a.to_values()).unwrap());
    r.send("ping", &args![7, "seven"]).unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        args![7, "seven"]
    );
    let e = r.invoke_blocking("nope", &args![]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Error invoking remote method 'nope': Error: No handler registered for 'nope'"
    );
    let fut = r.invoke("add", &args![40, 2]);
    assert_eq!(futures::executor::block_on(fut).unwrap(), Value::from(42));
    let big = Value::Bytes(vec![7u8; 3 * 1024 * 1024 + 1]);
    main.ipc()
        .handle("echo", |_e, a| Ok(a.get(0).unwrap().to_value()))
        .unwrap();
    assert_eq!(
        r.invoke_blocking("echo", std::slice::from_ref(&big))
            .unwrap(),
        big
    );
    let _ = (CallError::TimedOut, RemoteError::new("x"));
}

/// The dispatcher remembers resolved handlers per renderer: every change to either table must
/// show on the very next call (replace, remove, a scope handler over a remembered global one,
/// `handle_once` over a remembered handler, and back).
#[test]
fn handler_changes_show_on_the_next_call() {
    let main = Main::new().unwrap();
    let (wc, r) = main.connect_in_process().unwrap();
    let call = || match r.invoke_blocking("who", &args![]) {
        Ok(v) => v.as_str().unwrap_or("?").to_string(),
        Err(e) => e.to_string(),
    };
    let none = "Error invoking remote method 'who': Error: No handler registered for 'who'";
    assert_eq!(call(), none);
    main.ipc()
        .handle("who", |_, _| Ok(Value::from("global a")))
        .unwrap();
    assert_eq!(call(), "global a");
    assert_eq!(call(), "global a");
    main.ipc().remove_handler("who");
    assert_eq!(call(), none);
    main.ipc()
        .handle("who", |_, _| Ok(Value::from("global b")))
        .unwrap();
    assert_eq!(call(), "global b");
    wc.ipc()
        .handle_once("who", |_, _| Ok(Value::from("scope once")))
        .unwrap();
    assert_eq!(call(), "scope once");
    assert_eq!(call(), "global b");
    wc.ipc()
        .handle("who", |_, _| Ok(Value::from("scope")))
        .unwrap();
    assert_eq!(call(), "scope");
    main.ipc().remove_handler("who");
    assert_eq!(call(), "scope");
    wc.ipc().remove_handler("who");
    assert_eq!(call(), none);
    main.ipc()
        .handle_once("who", |_, _| Ok(Value::from("global once")))
        .unwrap();
    assert_eq!(call(), "global once");
    assert_eq!(call(), none);
}

/// The dispatcher remembers listener lists per renderer: every change (on, once, a `once`
/// listener running, remove_listener, remove_all_listeners, either level) must show on the
/// very next message.
#[test]
fn listener_changes_show_on_the_next_message() {
    let main = Main::new().unwrap();
    let (wc, r) = main.connect_in_process().unwrap();
    let call = || match r.send_sync("what", &args![]) {
        Ok(v) => v.as_str().unwrap_or("?").to_string(),
        Err(e) => e.to_string(),
    };
    let none = call();
    assert!(none.contains("No listener registered for 'what'"), "{none}");
    let a = main.ipc().on("what", |e, _| {
        e.set_return_value("global a");
    });
    assert_eq!(call(), "global a");
    assert_eq!(call(), "global a");
    assert!(main.ipc().remove_listener("what", a));
    assert_eq!(call(), none);
    main.ipc().once("what", |e, _| {
        e.set_return_value("global once");
    });
    assert_eq!(call(), "global once");
    assert_eq!(call(), none);
    main.ipc().on("what", |e, _| {
        e.set_return_value("global b");
    });
    assert_eq!(call(), "global b");
    // The scope runs first, so its value wins.
    let s = wc.ipc().on("what", |e, _| {
        e.set_return_value("scope");
    });
    assert_eq!(call(), "scope");
    assert!(wc.ipc().remove_listener("what", s));
    assert_eq!(call(), "global b");
    main.ipc().remove_all_listeners(None);
    assert_eq!(call(), none);
    wc.ipc().on("what", |e, _| {
        e.set_return_value("scope again");
    });
    assert_eq!(call(), "scope again");
    wc.ipc().remove_all_listeners(Some("what"));
    assert_eq!(call(), none);
}

/// An in-process renderer's blocking call made on main's dispatcher thread (from a listener)
/// would wait for the thread that must answer it: it fails at once instead, `Value` and typed.
#[test]
fn a_blocking_call_on_the_dispatcher_thread_fails_instead_of_hanging() {
    use electrode::typed::{InvokeChannel, SendSyncChannel};
    use std::sync::{Arc, Mutex};
    static TYPED: InvokeChannel<u32, u32> = InvokeChannel::new("typed-double");
    static TYPED_SYNC: SendSyncChannel<u32, u32> = SendSyncChannel::new("typed-sync");
    let main = Main::new().unwrap();
    main.ipc()
        .handle("double", |_e, a| {
            Ok(Value::from(
                a.get(0).and_then(|v| v.as_i64()).unwrap_or(0) * 2,
            ))
        })
        .unwrap();
    TYPED
        .handle(main.ipc(), |_e, n| Ok(n.to_native() * 2))
        .unwrap();
    let (_wc, renderer) = main.connect_in_process().unwrap();
    let shared = Arc::new(Mutex::new(Some(renderer.clone())));
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let r = shared.clone();
    main.ipc().on("nested", move |e, _| {
        let r = r.lock().unwrap().clone().unwrap();
        let outcomes = [
            matches!(
                r.invoke_blocking("double", &args![2]),
                Err(CallError::WouldDeadlock)
            ),
            matches!(
                r.send_sync("nested", &args![]),
                Err(CallError::WouldDeadlock)
            ),
            matches!(TYPED.invoke_blocking(&r, &2), Err(CallError::WouldDeadlock)),
            matches!(TYPED_SYNC.send_sync(&r, &2), Err(CallError::WouldDeadlock)),
        ];
        tx.lock().unwrap().send(outcomes).unwrap();
        e.set_return_value(true);
    });
    assert_eq!(
        renderer.send_sync("nested", &args![]).unwrap(),
        Value::from(true)
    );
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)).unwrap(), [true; 4]);
    // Off the dispatcher thread, the same calls work.
    assert_eq!(
        renderer.invoke_blocking("double", &args![2]).unwrap(),
        Value::from(4)
    );
    assert_eq!(TYPED.invoke_blocking(&renderer, &2).unwrap(), 4);
    shared.lock().unwrap().take();
}
