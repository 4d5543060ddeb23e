//! Lifecycles between real processes (and in process): `WebContents::close` fails the calls
//! pending on both sides at once, `destroy` kills, `destroyed` fires once, sends after a close
//! fail, and `render-process-gone` still fires when the process exits; a renderer that closes
//! its side (`IpcRenderer::close`, or its last handle dropped) while it lives tells main at once,
//! so main's invoke to it fails instead of hanging.
//!
//! No call here has a timeout: a call that did not fail at once would wait until the test's
//! watchdog (or the child's self-watchdog) fired, failing the test. The renderers that must
//! outlive their connection exit when their stdin (a pipe this test holds) closes.

use electrode::typed::InvokeChannel;
use electrode::{
    args, CallError, DeferredReply, GoneDetails, GoneReason, IpcMainEvent, Main, SendError, Value,
    WebContents,
};
use electrode_tests::api_kit::{ReadyGate, HANG_GUARD};
use electrode_tests::watchdog;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_life_renderer");
const LIMIT: Duration = Duration::from_secs(120);

/// The same name and types as the renderer's (`life_renderer`).
static TYPED_HOLD: InvokeChannel<u32, u32> = InvokeChannel::new("typed-hold");

/// A renderer of this file: its WebContents, its `render-process-gone` and `destroyed`
/// reports, and the write end of its stdin (dropping it lets a living renderer exit).
struct Renderer {
    wc: WebContents,
    gone: Receiver<GoneDetails>,
    destroyed: Arc<AtomicUsize>,
    destroyed_rx: Receiver<()>,
    stdin: Option<OwnedFd>,
}

fn spawn(main: &Main, role: &str) -> Renderer {
    let (read, write) = nix::unistd::pipe().expect("pipe");
    let mut cmd = Command::new(RENDERER);
    cmd.arg(role).stdin(Stdio::from(read));
    let wc = main
        .spawn_renderer(cmd)
        .unwrap_or_else(|e| panic!("spawn {role}: {e}"));
    let (tx, gone) = mpsc::channel();
    let tx = Mutex::new(tx);
    wc.on_render_process_gone(move |d| {
        let _ = tx.lock().unwrap().send(*d);
    });
    let destroyed = Arc::new(AtomicUsize::new(0));
    let (dtx, destroyed_rx) = mpsc::channel();
    let (d, dtx) = (destroyed.clone(), Mutex::new(dtx));
    wc.on_destroyed(move || {
        d.fetch_add(1, Ordering::SeqCst);
        let _ = dtx.lock().unwrap().send(());
    });
    Renderer {
        wc,
        gone,
        destroyed,
        destroyed_rx,
        stdin: Some(write),
    }
}

impl Renderer {
    fn wait_destroyed(&self) {
        self.destroyed_rx
            .recv_timeout(HANG_GUARD)
            .expect("`destroyed` within the hang guard");
    }

    fn wait_gone(&self) -> GoneDetails {
        self.gone
            .recv_timeout(HANG_GUARD)
            .expect("render-process-gone within the hang guard")
    }

    /// Let a renderer that lives on after its connection exit (its stdin closes).
    fn release(&mut self) {
        if let Some(fd) = self.stdin.take() {
            let mut f = std::fs::File::from(fd);
            let _ = f.write_all(b"bye\n");
        }
    }

    /// After a close: destroyed once, sends fail, the process alive until released, then
    /// reaped and reported with `reason`.
    fn closed_then_exits(mut self, reason: GoneReason) {
        assert!(self.wc.is_destroyed());
        assert_eq!(
            self.wc.send("after-close", &args![1]),
            Err(SendError::Disconnected)
        );
        assert!(!self.wc.send_to_frame(0, "after-close", &args![1]));
        assert!(matches!(
            self.wc.invoke("after-close", &args![]).wait(None),
            Err(CallError::Disconnected)
        ));
        self.release();
        let d = self.wait_gone();
        assert_eq!(d.reason, reason, "{d:?}");
        assert_eq!(
            self.destroyed.load(Ordering::SeqCst),
            1,
            "destroyed fires once"
        );
        // Registered after the fact: runs at once.
        let late = Arc::new(AtomicUsize::new(0));
        let l = late.clone();
        self.wc.on_destroyed(move || {
            l.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(late.load(Ordering::SeqCst), 1);
        assert_eq!(self.wc.gone_details(), Some(d));
    }
}

#[test]
fn close_fails_the_renderers_blocked_calls_at_once() {
    let _dog = watchdog(LIMIT, "close_fails_the_renderers_blocked_calls_at_once");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    // Main holds every call: nothing but the close can end them.
    let (arrived_tx, arrived) = mpsc::channel::<&'static str>();
    let held_replies: Arc<Mutex<Vec<DeferredReply>>> = Arc::default();
    let held_events: Arc<Mutex<Vec<IpcMainEvent>>> = Arc::default();
    let tx = Mutex::new(arrived_tx.clone());
    let h = held_replies.clone();
    main.ipc()
        .handle_deferred("hold", move |_, _, reply| {
            h.lock().unwrap().push(reply);
            let _ = tx.lock().unwrap().send("hold");
        })
        .unwrap();
    let tx = Mutex::new(arrived_tx.clone());
    let h = held_events.clone();
    main.ipc().on("hold-sync", move |e, _| {
        h.lock().unwrap().push(e.clone());
        let _ = tx.lock().unwrap().send("hold-sync");
    });
    let tx = Mutex::new(arrived_tx);
    let typed_held: Arc<Mutex<Vec<electrode::typed::TypedReply<u32>>>> = Arc::default();
    let h = typed_held.clone();
    TYPED_HOLD
        .handle_deferred(main.ipc(), move |_, _, reply| {
            h.lock().unwrap().push(reply);
            let _ = tx.lock().unwrap().send("typed-hold");
        })
        .unwrap();
    let r = spawn(&main, "blocked-calls");
    let (ready, _) = gate.wait();
    ready.set_return_value(true);
    let mut seen: Vec<&str> = (0..4)
        .map(|_| {
            arrived
                .recv_timeout(HANG_GUARD)
                .expect("the four calls reach main")
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, ["hold", "hold", "hold-sync", "typed-hold"]);
    assert_eq!(r.destroyed.load(Ordering::SeqCst), 0);
    assert!(!r.wc.is_destroyed());
    r.wc.close();
    // `destroyed` fires within the close.
    assert_eq!(r.destroyed.load(Ordering::SeqCst), 1);
    r.wc.close(); // twice: nothing more
                  // Answers given after the close go nowhere (the renderer's calls already failed).
    for reply in held_replies.lock().unwrap().drain(..) {
        reply.resolve("too late");
    }
    held_events.lock().unwrap().clear();
    typed_held.lock().unwrap().clear();
    // The renderer checks that all four calls failed with `Disconnected`, and exits 0.
    r.closed_then_exits(GoneReason::CleanExit);
}

#[test]
fn close_fails_mains_pending_invoke_and_destroy_kills() {
    let _dog = watchdog(LIMIT, "close_fails_mains_pending_invoke_and_destroy_kills");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let r = spawn(&main, "stall-handler");
    let (ready, _) = gate.wait();
    // The renderer's handler never answers: only the close can end this call.
    let pending = r.wc.invoke("stall", &args![]);
    ready.set_return_value(true);
    r.wc.close();
    assert!(matches!(pending.wait(None), Err(CallError::Disconnected)));
    // The process lives on (it waits for stdin): the close did not need it to go.
    assert_eq!(r.wc.gone_details(), None);
    assert_eq!(r.destroyed.load(Ordering::SeqCst), 1);
    r.wc.destroy();
    let d = r.wait_gone();
    assert_eq!(d.reason, GoneReason::Killed, "{d:?}");
    assert_eq!(
        r.destroyed.load(Ordering::SeqCst),
        1,
        "destroyed fires once"
    );
}

#[test]
fn renderer_dropping_its_handle_fails_mains_pending_invoke() {
    let _dog = watchdog(
        LIMIT,
        "renderer_dropping_its_handle_fails_mains_pending_invoke",
    );
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let r = spawn(&main, "drop-handle");
    let (ready, _) = gate.wait();
    // Reaches the renderer's `stall`, which never answers; the renderer then drops its handle.
    // Before Kind::Closing this waited for ever (the process lives on).
    let pending = r.wc.invoke("stall", &args![]);
    ready.set_return_value(true);
    assert!(matches!(pending.wait(None), Err(CallError::Disconnected)));
    r.wait_destroyed();
    assert_eq!(r.wc.gone_details(), None, "the process still lives");
    r.closed_then_exits(GoneReason::CleanExit);
}

#[test]
fn renderer_close_tells_main_at_once() {
    let _dog = watchdog(LIMIT, "renderer_close_tells_main_at_once");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let r = spawn(&main, "close-then-live");
    let (ready, _) = gate.wait();
    ready.set_return_value(true);
    r.wait_destroyed();
    assert_eq!(r.wc.gone_details(), None, "the process still lives");
    r.closed_then_exits(GoneReason::CleanExit);
}

/// An in-process renderer's handler that blocks until `release` says so, telling `entered`
/// when it started.
fn blocking_handler(renderer: &electrode::IpcRenderer) -> (Receiver<()>, mpsc::Sender<()>) {
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let entered_tx = Mutex::new(entered_tx);
    let release_rx = Mutex::new(release_rx);
    renderer
        .handle("stall", move |_| {
            let _ = entered_tx.lock().unwrap().send(());
            let _ = release_rx.lock().unwrap().recv_timeout(HANG_GUARD);
            Ok(Value::Null)
        })
        .unwrap();
    (entered, release)
}

#[test]
fn in_process_close_and_drop_fail_mains_pending_invoke() {
    let _dog = watchdog(LIMIT, "in_process_close_and_drop_fail_mains_pending_invoke");
    let main = Main::new().unwrap();
    for how in ["close", "drop"] {
        let (wc, renderer) = main.connect_in_process().unwrap();
        let destroyed = Arc::new(AtomicUsize::new(0));
        let (d, (destroyed_tx, destroyed_rx)) = (destroyed.clone(), mpsc::channel());
        let destroyed_tx = Mutex::new(destroyed_tx);
        wc.on_destroyed(move || {
            d.fetch_add(1, Ordering::SeqCst);
            let _ = destroyed_tx.lock().unwrap().send(());
        });
        let (gone_tx, gone) = mpsc::channel();
        let gone_tx = Mutex::new(gone_tx);
        wc.on_render_process_gone(move |d| {
            let _ = gone_tx.lock().unwrap().send(*d);
        });
        let (entered, release) = blocking_handler(&renderer);
        let pending = wc.invoke("stall", &args![]);
        entered.recv_timeout(HANG_GUARD).expect("the handler runs");
        let frame = renderer.frame(3).unwrap();
        let handles = (renderer, frame);
        let (kept, dropper) = match how {
            "close" => {
                handles.1.close();
                assert!(handles.0.is_disconnected(), "every handle is closed");
                (Some(handles), None)
            }
            // Dropping the last handles (two frames) waits for the receive thread, which the
            // handler holds: on another thread.
            _ => (None, Some(std::thread::spawn(move || drop(handles)))),
        };
        assert!(
            matches!(pending.wait(None), Err(CallError::Disconnected)),
            "{how}"
        );
        assert!(wc.is_destroyed(), "{how}");
        // Fired by the dispatcher as it handles `Closing` (after failing the calls).
        destroyed_rx
            .recv_timeout(HANG_GUARD)
            .expect("`destroyed` fires");
        assert_eq!(
            wc.send("x", &args![]),
            Err(SendError::Disconnected),
            "{how}"
        );
        release.send(()).unwrap();
        if let Some(t) = dropper {
            t.join().unwrap();
        }
        // A closed in-process renderer is gone once its handles are.
        drop(kept);
        let d = gone.recv_timeout(HANG_GUARD).expect("render-process-gone");
        assert_eq!(d.reason, GoneReason::Disconnected, "{how}");
        assert_eq!(destroyed.load(Ordering::SeqCst), 1, "{how}: once");
    }
}

#[test]
fn in_process_close_from_main_fails_blocked_calls() {
    let _dog = watchdog(LIMIT, "in_process_close_from_main_fails_blocked_calls");
    let main = Main::new().unwrap();
    let (arrived_tx, arrived) = mpsc::channel::<()>();
    let held: Arc<Mutex<Vec<DeferredReply>>> = Arc::default();
    let h = held.clone();
    let tx = Mutex::new(arrived_tx.clone());
    main.ipc()
        .handle_deferred("hold", move |_, _, reply| {
            h.lock().unwrap().push(reply);
            let _ = tx.lock().unwrap().send(());
        })
        .unwrap();
    let events: Arc<Mutex<Vec<IpcMainEvent>>> = Arc::default();
    let e = events.clone();
    let tx = Mutex::new(arrived_tx);
    main.ipc().on("hold-sync", move |ev, _| {
        e.lock().unwrap().push(ev.clone());
        let _ = tx.lock().unwrap().send(());
    });
    let (wc, renderer) = main.connect_in_process().unwrap();
    let calls: Vec<std::thread::JoinHandle<Result<Value, CallError>>> = vec![
        {
            let r = renderer.clone();
            std::thread::spawn(move || r.invoke_blocking("hold", &args![]))
        },
        {
            let r = renderer.clone();
            std::thread::spawn(move || r.send_sync("hold-sync", &args![]))
        },
        {
            let r = renderer.clone();
            std::thread::spawn(move || futures::executor::block_on(r.invoke("hold", &args![])))
        },
    ];
    for _ in 0..3 {
        arrived
            .recv_timeout(HANG_GUARD)
            .expect("the calls reach main");
    }
    wc.close();
    for c in calls {
        assert!(matches!(c.join().unwrap(), Err(CallError::Disconnected)));
    }
    assert!(renderer.is_disconnected());
    assert_eq!(renderer.send("x", &args![]), Err(SendError::Disconnected));
    held.lock().unwrap().clear();
    events.lock().unwrap().clear();
}

#[test]
fn close_from_a_listener_fails_the_sync_call_that_asked() {
    let _dog = watchdog(
        LIMIT,
        "close_from_a_listener_fails_the_sync_call_that_asked",
    );
    let main = Main::new().unwrap();
    // On main's dispatcher thread: the event, dropped unanswered, would say "reply was never
    // sent"; after the close nothing more is written, and the renderer fails on `Close`.
    main.ipc().on("close-me", |e, _| e.sender().close());
    main.ipc().on("destroy-me", |e, _| e.sender().destroy());
    for channel in ["close-me", "destroy-me"] {
        let (wc, renderer) = main.connect_in_process().unwrap();
        let destroyed = Arc::new(AtomicUsize::new(0));
        let (d, (destroyed_tx, destroyed_rx)) = (destroyed.clone(), mpsc::channel());
        let destroyed_tx = Mutex::new(destroyed_tx);
        wc.on_destroyed(move || {
            d.fetch_add(1, Ordering::SeqCst);
            let _ = destroyed_tx.lock().unwrap().send(());
        });
        assert!(
            matches!(
                renderer.send_sync(channel, &args![]),
                Err(CallError::Disconnected)
            ),
            "{channel}"
        );
        assert!(wc.is_destroyed() && renderer.is_disconnected(), "{channel}");
        destroyed_rx
            .recv_timeout(HANG_GUARD)
            .expect("`destroyed` fires");
        drop(renderer);
        assert_eq!(destroyed.load(Ordering::SeqCst), 1, "{channel}: once");
    }
}

#[test]
fn in_process_renderer_closed_on_mains_dispatcher_thread_tells_main() {
    let _dog = watchdog(
        LIMIT,
        "in_process_renderer_closed_on_mains_dispatcher_thread_tells_main",
    );
    let main = Main::new().unwrap();
    let (wc, renderer) = main.connect_in_process().unwrap();
    let (destroyed_tx, destroyed) = mpsc::channel();
    let destroyed_tx = Mutex::new(destroyed_tx);
    wc.on_destroyed(move || {
        let _ = destroyed_tx.lock().unwrap().send(());
    });
    // The renderer's own handle, closed from one of main's listeners (the dispatcher thread,
    // which must not wait for itself): main still learns of it at once.
    let held = Mutex::new(Some(renderer.clone()));
    main.ipc().on("close-yourself", move |_, _| {
        if let Some(r) = held.lock().unwrap().as_ref() {
            r.close();
        }
    });
    assert_eq!(main.web_contents(), std::slice::from_ref(&wc));
    renderer.send("close-yourself", &args![]).unwrap();
    destroyed
        .recv_timeout(HANG_GUARD)
        .expect("`destroyed` fires");
    assert!(wc.is_destroyed() && renderer.is_disconnected());
    assert!(matches!(
        wc.invoke("x", &args![]).wait(None),
        Err(CallError::Disconnected)
    ));
    // A destroyed WebContents is no longer listed (Electron's getAllWebContents).
    assert!(main.web_contents().is_empty());
}

#[test]
fn close_reaches_a_renderer_whose_outbox_is_full() {
    let _dog = watchdog(LIMIT, "close_reaches_a_renderer_whose_outbox_is_full");
    let main = Main::builder().outbox_limit(256 * 1024).build().unwrap();
    let (arrived_tx, arrived) = mpsc::channel::<()>();
    let arrived_tx = Mutex::new(arrived_tx);
    let held: Arc<Mutex<Vec<DeferredReply>>> = Arc::default();
    let h = held.clone();
    main.ipc()
        .handle_deferred("hold", move |_, _, reply| {
            h.lock().unwrap().push(reply);
            let _ = arrived_tx.lock().unwrap().send(());
        })
        .unwrap();
    let (wc, renderer) = main.connect_in_process().unwrap();
    // The renderer's receive thread is held in its first `flood` listener: main's output to
    // it fills the ring, then the outbox, up to its limit.
    let (entered_tx, entered) = mpsc::channel::<()>();
    let (release, release_rx) = mpsc::channel::<()>();
    let (entered_tx, release_rx) = (Mutex::new(Some(entered_tx)), Mutex::new(release_rx));
    let received = Arc::new(AtomicUsize::new(0));
    let n = received.clone();
    renderer.on("flood", move |_, _| {
        n.fetch_add(1, Ordering::SeqCst);
        if let Some(tx) = entered_tx.lock().unwrap().take() {
            let _ = tx.send(());
            let _ = release_rx.lock().unwrap().recv_timeout(HANG_GUARD);
        }
    });
    let r = renderer.clone();
    let call = std::thread::spawn(move || r.invoke_blocking("hold", &args![]));
    arrived
        .recv_timeout(HANG_GUARD)
        .expect("the invoke reaches main");
    let chunk = Value::from(vec![7u8; 16 * 1024]);
    wc.send("flood", std::slice::from_ref(&chunk)).unwrap();
    entered.recv_timeout(HANG_GUARD).expect("the listener runs");
    let mut sent = 1usize;
    loop {
        match wc.send("flood", std::slice::from_ref(&chunk)) {
            Ok(()) => sent += 1,
            Err(SendError::Full) => break,
            Err(e) => panic!("send {sent}: {e}"),
        }
        assert!(sent < 100_000, "the outbox never filled");
    }
    // Then to the last byte, with messages no larger than `Close` itself.
    loop {
        match wc.send("flood", &[]) {
            Ok(()) => sent += 1,
            Err(SendError::Full) => break,
            Err(e) => panic!("send {sent}: {e}"),
        }
        assert!(sent < 1_000_000, "the outbox never filled");
    }
    let before = wc.queued_memory();
    assert!(before > 128 * 1024, "{before} bytes queued");
    // Close is queued whatever the limit, and what still waited is dropped (the queue's own
    // entries and `Close` remain: less than one of the 16 KiB messages).
    wc.close();
    let after = wc.queued_memory();
    assert!(
        after < 16 * 1024,
        "{after} bytes still queued (of {before})"
    );
    release.send(()).unwrap();
    assert!(matches!(call.join().unwrap(), Err(CallError::Disconnected)));
    let got = received.load(Ordering::SeqCst);
    assert!(
        got < sent,
        "the renderer got {got} of {sent}: the queue was not dropped"
    );
    held.lock().unwrap().clear();
}
