//! Frames and scopes between real processes: `event.reply` goes to the sending frame,
//! `event.sender().send` to frame 0, `send_to_frame` to the named frame; a WebContents' hooks
//! and `ipc` scope run before the global listeners and its handler overrides the global one;
//! per-frame scopes (`WebFrameMain::ipc`) run first for their own frame only, and their handler
//! wins (`Value` and typed); `remove_all_listeners` / `event_names` bookkeeping (in-process).

use electrode::{args, ListenerId, Main, Value};
use electrode_tests::api_kit::{spawn, ReadyGate};
use electrode_tests::watchdog;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_api_renderer");
const LIFE_RENDERER: &str = env!("CARGO_BIN_EXE_life_renderer");
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

#[test]
fn frame_scope_runs_first_for_its_frame_and_its_handler_wins() {
    let _dog = watchdog(
        LIMIT,
        "frame_scope_runs_first_for_its_frame_and_its_handler_wins",
    );
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let logger = |level: &'static str| {
        let l = log.clone();
        move |e: &electrode::IpcMainEvent, a: &electrode::ArgsView<'_>| {
            let from = a.get(0).and_then(|v| v.as_str()).unwrap_or("?").to_owned();
            let took = e.is_sync() && e.set_return_value(level);
            l.lock().unwrap().push(format!(
                "{level}:{}:{from} (frame {}{})",
                e.channel(),
                e.frame_id(),
                if took { ", value taken" } else { "" }
            ));
        }
    };
    main.ipc().on("order", logger("global"));
    main.ipc().on("order-sync", logger("global"));
    main.ipc()
        .handle("who", |_, _| Ok(Value::from("global")))
        .unwrap();
    main.ipc()
        .handle("only-global", |_, _| Ok(Value::from("global")))
        .unwrap();
    let (done_tx, done) = std::sync::mpsc::channel::<()>();
    let done_tx = Mutex::new(done_tx);
    main.ipc().on("done", move |e, _| {
        e.set_return_value(true);
        let _ = done_tx.lock().unwrap().send(());
    });

    let child = spawn(&main, LIFE_RENDERER, "frame-scopes", &[]);
    let (ready, _) = gate.wait();
    let wc = ready.sender().clone();
    // Announced before `ready`: known now. Frame 5 never was.
    let f1 = wc.frame(1).expect("frame 1 announced");
    let f2 = wc.frame(2).expect("frame 2 announced");
    assert!(wc.frame(5).is_none());
    assert_eq!((f1.frame_id(), f1.web_contents()), (1, &wc));
    assert_eq!(wc.main_frame().frame_id(), 0);
    // Every handle on a frame shares its scope.
    wc.frame(1)
        .unwrap()
        .ipc()
        .handle("who", |e, _| {
            let frame = e.sender_frame().map_or(99, |f| f.frame_id());
            Ok(Value::from(format!("frame-{frame}")))
        })
        .unwrap();
    f2.ipc()
        .handle("mine", |_, _| Ok(Value::from("frame-2")))
        .unwrap();
    wc.ipc()
        .handle("who", |_, _| Ok(Value::from("webcontents")))
        .unwrap();
    f1.ipc().on("order", logger("frame-1"));
    f1.ipc().on("order-sync", logger("frame-1"));
    wc.ipc().on("order", logger("wc"));
    wc.ipc().on("order-sync", logger("wc"));
    let l = log.clone();
    wc.on_ipc_message(move |e, _| {
        l.lock()
            .unwrap()
            .push(format!("hook:{} (frame {})", e.channel(), e.frame_id()))
    });
    // Frame 2's scope exists (it has `mine`) but no `order` listener: its messages skip it.
    assert_eq!(f2.ipc().listener_count("order"), 0);
    assert_eq!(f1.ipc().listener_count("order"), 1);
    ready.set_return_value(true);
    done.recv_timeout(electrode_tests::api_kit::HANG_GUARD)
        .expect("the renderer's script finishes");
    child.expect_success();
    assert_eq!(
        *log.lock().unwrap(),
        [
            "hook:order (frame 1)",
            "frame-1:order:f1 (frame 1)",
            "wc:order:f1 (frame 1)",
            "global:order:f1 (frame 1)",
            // Frame 2's message: frame 1's scope does not see it.
            "hook:order (frame 2)",
            "wc:order:f2 (frame 2)",
            "global:order:f2 (frame 2)",
            "frame-1:order-sync:f1 (frame 1, value taken)",
            "wc:order-sync:f1 (frame 1)",
            "global:order-sync:f1 (frame 1)",
        ]
    );
}

#[test]
fn typed_channels_honour_frame_scopes() {
    use electrode::typed::{InvokeChannel, SendChannel};
    static DOUBLE: InvokeChannel<u32, u32> = InvokeChannel::new("double");
    static NOTE: SendChannel<u32> = SendChannel::new("note");
    let _dog = watchdog(LIMIT, "typed_channels_honour_frame_scopes");
    let main = Main::new().unwrap();
    main.ipc().on("sync", |e, _| {
        e.set_return_value(true);
    });
    DOUBLE
        .handle(main.ipc(), |_, n| Ok(n.to_native() * 2))
        .unwrap();
    let (wc, r) = main.connect_in_process().unwrap();
    let f4 = r.frame(4).unwrap();
    // The announcement is ordered before this call's request.
    f4.send_sync("sync", &args![]).unwrap();
    let frame = wc.frame(4).expect("frame 4 announced");
    DOUBLE
        .handle(frame.ipc(), |_, n| Ok(n.to_native() * 100))
        .unwrap();
    let log: Arc<Mutex<Vec<(&str, u32)>>> = Arc::default();
    let l = log.clone();
    NOTE.on(frame.ipc(), move |_, n| {
        l.lock().unwrap().push(("frame", n.to_native()))
    });
    let l = log.clone();
    NOTE.on(main.ipc(), move |_, n| {
        l.lock().unwrap().push(("global", n.to_native()))
    });
    assert_eq!(DOUBLE.invoke_blocking(&f4, &3).unwrap(), 300);
    assert_eq!(DOUBLE.invoke_blocking(&r, &3).unwrap(), 6);
    NOTE.send(&f4, &1).unwrap();
    NOTE.send(&r, &2).unwrap();
    r.send_sync("sync", &args![]).unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        [("frame", 1), ("global", 1), ("global", 2)]
    );
    // `frame.send` reaches that frame's listeners only.
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = Mutex::new(tx);
    f4.on("to-frame", move |e, _| {
        let _ = tx.lock().unwrap().send(e.frame_id());
    });
    frame.send("to-frame", &args![]).unwrap();
    assert_eq!(
        rx.recv_timeout(electrode_tests::api_kit::HANG_GUARD)
            .unwrap(),
        4
    );
}

/// The renderer's receive thread remembers listener snapshots per channel
/// (`renderer/listener_cache.rs`): listeners added, removed or run once between two messages on
/// a hot channel are seen by the next message, exactly.
#[test]
fn renderer_listeners_changed_between_messages_on_a_hot_channel() {
    let _dog = watchdog(
        LIMIT,
        "renderer_listeners_changed_between_messages_on_a_hot_channel",
    );
    let main = Main::new().unwrap();
    let (wc, r) = main.connect_in_process().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let logger = |name: &'static str| {
        let tx = Mutex::new(tx.clone());
        move |_: &electrode::IpcRendererEvent, a: &electrode::ArgsView<'_>| {
            let n = a.get(0).and_then(|v| v.as_i64()).unwrap_or(-1);
            let _ = tx.lock().unwrap().send(format!("{name}:{n}"));
        }
    };
    r.on("end", logger("end"));
    // Everything delivered up to the `end` marker (messages arrive in order).
    let round = |n: i64| -> Vec<String> {
        wc.send("hot", &[Value::from(n)]).unwrap();
        wc.send("end", &[Value::from(n)]).unwrap();
        let mut got = Vec::new();
        loop {
            let line = rx.recv_timeout(Duration::from_secs(30)).expect("delivered");
            if line.starts_with("end:") {
                assert_eq!(line, format!("end:{n}"));
                return got;
            }
            got.push(line);
        }
    };
    assert!(round(0).is_empty(), "no listener yet");
    let first = r.on("hot", logger("first"));
    for n in 1..=3 {
        assert_eq!(round(n), [format!("first:{n}")]);
    }
    r.on("hot", logger("second"));
    assert_eq!(round(4), ["first:4", "second:4"]);
    assert!(r.remove_listener("hot", first));
    assert_eq!(round(5), ["second:5"]);
    r.once("hot", logger("once"));
    assert_eq!(round(6), ["second:6", "once:6"]);
    assert_eq!(round(7), ["second:7"]);
    r.remove_all_listeners(Some("hot"));
    assert!(round(8).is_empty());
}
