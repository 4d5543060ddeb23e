//! The edges an outside test found, between real processes: every input the API refuses is
//! refused at the call with a clear error, on every path, and a well-behaved renderer is never
//! disconnected for input its own API accepted.
//!
//! - `renderer_refuses_what_main_would_reject`: the `edge_renderer edges` script (long channel
//!   names on every renderer path, `"ping"` + 64 KiB not landing on `ping`, arguments nested too
//!   deep, a 200 MiB message refused before it is encoded, frames past the limit,
//!   `Invoke::wait` keeping its channel name); main checks it exits cleanly (never
//!   `integrity-failure`) and that no refused message reached a listener or handler.
//! - `main_refuses_long_channel_names_on_every_path`: `WebContents::send`, `send_to_frame`,
//!   `WebContents::invoke` (blocking and future) and `event.reply` refuse names over
//!   `MAX_CHANNEL_LEN` and nested-too-deep arguments at once, and the renderer stays served.

use electrode::{
    args, CallError, GoneReason, IpcMainEvent, Main, SendError, Value, MAX_CHANNEL_LEN,
};
use electrode_tests::api_kit::{spawn, ReadyGate};
use electrode_tests::watchdog;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_edge_renderer");

#[test]
fn renderer_refuses_what_main_would_reject() {
    let _dog = watchdog(
        Duration::from_secs(180),
        "renderer_refuses_what_main_would_reject",
    );
    let main = Main::new().unwrap();
    let ipc = main.ipc();
    let pings = Arc::new(AtomicI64::new(0));
    ipc.handle("echo", |_e, a| {
        Ok(a.get(0).map_or(Value::Null, |v| v.to_value()))
    })
    .unwrap();
    ipc.handle(&"y".repeat(MAX_CHANNEL_LEN), |_e, a| {
        Ok(a.get(0).map_or(Value::Null, |v| v.to_value()))
    })
    .unwrap();
    // `ping` counts whatever reaches it, by any path.
    let p = pings.clone();
    ipc.on("ping", move |_e, _a| {
        p.fetch_add(1, Ordering::SeqCst);
    });
    let p = pings.clone();
    ipc.handle("ping", move |_e, _a| {
        p.fetch_add(1, Ordering::SeqCst);
        Ok(Value::Null)
    })
    .unwrap();
    let p = pings.clone();
    ipc.on("ping-count", move |e, _a| {
        e.set_return_value(p.load(Ordering::SeqCst));
    });
    let r = spawn(&main, RENDERER, "edges", &[]);
    let gone = r.wait_gone_for(Duration::from_secs(150));
    assert_eq!(
        (gone.reason, gone.exit_code),
        (GoneReason::CleanExit, 0),
        "the edges script failed (its stderr above says why), or main disconnected it"
    );
    assert_eq!(
        pings.load(Ordering::SeqCst),
        0,
        "a refused message reached `ping`"
    );
}

#[test]
fn main_refuses_long_channel_names_on_every_path() {
    let _dog = watchdog(
        Duration::from_secs(120),
        "main_refuses_long_channel_names_on_every_path",
    );
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let long = "x".repeat(MAX_CHANNEL_LEN + 1);
    let want = SendError::ChannelTooLong {
        len: long.len(),
        limit: MAX_CHANNEL_LEN,
    };
    let r = spawn(&main, RENDERER, "idle", &[]);
    let (event, _): (IpcMainEvent, _) = gate.wait();
    let wc = &r.wc;
    assert_eq!(wc.send(&long, &args![1]), Err(want.clone()));
    assert!(!wc.send_to_frame(0, &long, &args![1]));
    assert_eq!(event.reply(&long, &args![1]), Err(want.clone()));
    assert_eq!(
        wc.invoke_blocking(&long, &args![1], Some(Duration::from_secs(60))),
        Err(CallError::Send(want.clone()))
    );
    let fut = futures::executor::block_on(wc.invoke(&long, &args![1]));
    assert_eq!(fut, Err(CallError::Send(want)));
    let mut deep = Value::Null;
    for _ in 0..=electrode::wire::MAX_DEPTH {
        deep = Value::Array(vec![deep]);
    }
    match wc.send("deep", &args![deep.clone()]) {
        Err(SendError::Unencodable(e)) => assert!(e.to_string().contains("args[0][0]"), "{e}"),
        other => panic!("send(too deep): {other:?}"),
    }
    assert!(matches!(
        event.reply("deep", &args![deep]),
        Err(SendError::Unencodable(_))
    ));
    // None of it cost the renderer its connection.
    let answered: Arc<Mutex<Option<bool>>> = Arc::default();
    let a = answered.clone();
    event.set_return_value(Value::Null);
    assert_eq!(wc.send("bye", &args![]), Ok(()));
    let gone = r.wait_gone();
    *a.lock().unwrap() = Some(true);
    assert_eq!((gone.reason, gone.exit_code), (GoneReason::CleanExit, 0));
    assert_eq!(*answered.lock().unwrap(), Some(true));
}
