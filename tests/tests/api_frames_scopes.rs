//! Frames and scopes between real processes: `event.reply` goes to the sending frame,
//! `event.sender().send` to frame 0, `send_to_frame` to the named frame; a WebContents' hooks
//! and `ipc` scope run before the global listeners and its handler overrides the global one;
//! `remove_all_listeners` / `event_names` bookkeeping (in-process).

use electrode::{args, ListenerId, Main, Value};
use electrode_tests::api_kit::{spawn, ReadyGate};
use electrode_tests::watchdog;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_api_renderer");
const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn event_reply_goes_to_the_sending_frame() {
    let _dog = watchdog(LIMIT, "event_reply_goes_to_the_sending_frame");
    let main = Main::new().unwrap();
    // (frame id, process id, sender's pid, the pid the renderer says it has, token)
    type Seen = (u32, u32, u32, i64, String);
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let s = seen.clone();
    main.ipc().on("ping", move |e, a| {
        let token = a.get(0).and_then(|v| v.as_str()).unwrap_or("?").to_owned();
        let pid = a.get(1).and_then(|v| v.as_i64()).unwrap_or(-1);
        s.lock().unwrap().push((
            e.frame_id(),
            e.process_id(),
            e.sender().pid(),
            pid,
            token.clone(),
        ));
        e.reply("pong", &args![e.frame_id(), token]).unwrap();
        e.sender().send("main-frame", &args![e.frame_id()]).unwrap();
    });
    main.ipc().on("to-frame", |e, a| {
        let frame = a.get(0).and_then(|v| v.as_i64()).unwrap_or(-1) as u32;
        let ok = e.sender().send_to_frame(frame, "direct", &args![frame]);
        let unknown = e.sender().send_to_frame(99, "direct", &args![99]);
        e.set_return_value(Value::array([ok, unknown]));
    });
    let child = spawn(&main, RENDERER, "frames", &[]);
    child.expect_success();
    let pid = child.wc.pid();
    let seen = seen.lock().unwrap();
    let tokens: Vec<(u32, &str)> = seen.iter().map(|s| (s.0, s.4.as_str())).collect();
    assert_eq!(tokens, vec![(1, "from-1"), (0, "from-0"), (0, "again")]);
    for s in seen.iter() {
        assert_eq!(
            (s.1, s.2, s.3),
            (pid, pid, i64::from(pid)),
            "process ids of {s:?}"
        );
    }
}

#[test]
fn webcontents_scope_runs_first_and_its_handler_wins() {
    let _dog = watchdog(LIMIT, "webcontents_scope_runs_first_and_its_handler_wins");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let l = log.clone();
    main.ipc().on("order", move |_, _| {
        l.lock().unwrap().push("global:order".into())
    });
    let l = log.clone();
    main.ipc().on("order-sync", move |e, _| {
        let took = e.set_return_value("global");
        l.lock()
            .unwrap()
            .push(format!("global:order-sync (value taken: {took})"));
    });
    main.ipc()
        .handle("who", |_, _| Ok(Value::from("global")))
        .unwrap();
    main.ipc().on("drop-scoped-handler", |e, _| {
        e.sender().ipc().remove_handler("who");
        e.set_return_value(true);
    });

    let scoped = spawn(&main, RENDERER, "scopes", &[]);
    let (ready, _) = gate.wait();
    let wc = ready.sender().clone();
    assert_eq!(wc, scoped.wc);
    let l = log.clone();
    wc.on_ipc_message(move |e, _| l.lock().unwrap().push(format!("hook:{}", e.channel())));
    let l = log.clone();
    wc.on_ipc_message_sync(move |e, _| {
        l.lock().unwrap().push(format!("hook-sync:{}", e.channel()))
    });
    let l = log.clone();
    wc.ipc().on("order", move |_, _| {
        l.lock().unwrap().push("wc:order".into())
    });
    let l = log.clone();
    wc.ipc().on("order-sync", move |e, _| {
        let took = e.set_return_value("wc");
        l.lock()
            .unwrap()
            .push(format!("wc:order-sync (value taken: {took})"));
    });
    wc.ipc()
        .handle("who", |_, _| Ok(Value::from("wc")))
        .unwrap();
    // Another renderer, meanwhile, still gets the global handler.
    let other = spawn(&main, RENDERER, "invoke-expect", &["who", "global"]);
    other.expect_success();
    ready.set_return_value(true);
    scoped.expect_success();

    assert_eq!(
        *log.lock().unwrap(),
        [
            "hook:order",
            "wc:order",
            "global:order",
            "hook-sync:order-sync",
            "wc:order-sync (value taken: true)",
            "global:order-sync (value taken: false)",
            "hook-sync:who",
            "hook-sync:drop-scoped-handler",
        ]
    );
}

#[test]
fn remove_all_listeners_and_event_names() {
    let _dog = watchdog(LIMIT, "remove_all_listeners_and_event_names");
    let main = Main::new().unwrap();
    let (wc, r) = main.connect_in_process().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    for ipc in [main.ipc(), wc.ipc()] {
        let counted = |c: &Arc<AtomicUsize>| {
            let c = c.clone();
            move |_: &electrode::IpcMainEvent, _: &electrode::ArgsView<'_>| {
                c.fetch_add(1, Ordering::SeqCst);
            }
        };
        let a1: ListenerId = ipc.on("a", counted(&calls));
        ipc.on("a", counted(&calls));
        ipc.once("a", counted(&calls));
        ipc.on("b", counted(&calls));
        assert_eq!(ipc.listener_count("a"), 3);
        assert_eq!(ipc.event_names(), ["a", "b"]);
        assert!(ipc.remove_listener("a", a1));
        assert!(!ipc.remove_listener("a", a1));
        assert_eq!(ipc.listener_count("a"), 2);
        ipc.remove_all_listeners(Some("a"));
        assert_eq!(ipc.event_names(), ["b"]);
        assert_eq!(ipc.listener_count("a"), 0);
        ipc.remove_all_listeners(None);
        assert!(ipc.event_names().is_empty());
    }
    // Nothing removed runs any more.
    main.ipc().on("flush", |e, _| {
        e.set_return_value(true);
    });
    r.send("a", &args![]).unwrap();
    r.send("b", &args![]).unwrap();
    assert_eq!(r.send_sync("flush", &args![]), Ok(Value::from(true)));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // The renderer side keeps the same books.
    let x = r.on("a", |_, _| {});
    r.on("a", |_, _| {});
    r.on("b", |_, _| {});
    assert_eq!(r.event_names(), ["a", "b"]);
    assert!(r.remove_listener("a", x));
    r.remove_all_listeners(Some("a"));
    assert_eq!(r.event_names(), ["b"]);
    r.remove_all_listeners(None);
    assert!(r.event_names().is_empty());
}
