//! A renderer SIGKILLed in the middle of something cannot hurt main.
//!
//! Killed mid-write (main holds part of an 80 MiB chunked message, larger than the bulk area),
//! mid-`sendSync` and mid-`invoke` (main's listener or handler is still running when the
//! renderer dies, and answers afterwards), each test checks that main:
//!
//! - emits `render-process-gone` exactly once, reason `killed` (SIGKILL);
//! - frees the region: the renderer's segment (the mapping that appeared when it was spawned,
//!   a `memfd:electrode-segment` inode) is no longer mapped in this process, and the set of
//!   open fds is back to what it was before the spawn (no pidfd, pipe or memfd left);
//! - keeps serving: a new renderer then gets every `echo` answered right.
//!
//! The tests compare this process's fds and mappings, so they run one at a time
//! (`hostile_kit::serial`).

use electrode::{GoneReason, Main, Value};
use electrode_tests::hostile_kit::{self as kit, EchoStats, Good, Spawned, HANG_GUARD};
use electrode_tests::{procfs, watchdog};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_hostile_renderer");
const DOG: Duration = Duration::from_secs(120);
const BIG: usize = 16 << 20;

fn role(args: &[&str]) -> Command {
    let mut c = Command::new(EXE);
    c.args(args);
    c
}

fn segments() -> BTreeSet<u64> {
    procfs::mapped_segments(std::process::id()).expect("read /proc/self/maps")
}

/// Main, its echo service, and this process's fds before any renderer exists.
struct Setup {
    main: Main,
    stats: Arc<EchoStats>,
    fds: Vec<String>,
}

fn setup(main: Main) -> Setup {
    let stats = kit::install_echo(&main);
    Setup {
        main,
        stats,
        fds: kit::own_fd_targets(),
    }
}

impl Setup {
    /// Spawn the renderer to be killed; returns it and the inode of its segment (the one
    /// mapping that appeared).
    fn spawn(&self, args: &[&str]) -> (Spawned, u64) {
        let before = segments();
        let r = Spawned::spawn(&self.main, role(args));
        let new: Vec<u64> = segments().difference(&before).copied().collect();
        assert_eq!(new.len(), 1, "segments mapped by the spawn: {new:?}");
        (r, new[0])
    }

    /// The renderer is gone once, killed; its region and fds are released; main serves a new
    /// renderer.
    fn expect_cleaned_up(&self, r: &Spawned, inode: u64) {
        let d = r.expect_gone(GoneReason::Killed);
        assert_eq!(d.exit_code, 9, "{d:?}");
        assert_eq!(r.gone_calls(), 1);
        assert!(
            !segments().contains(&inode),
            "the dead renderer's segment (inode {inode}) is still mapped"
        );
        assert_eq!(kit::own_fd_targets(), self.fds, "fds left behind");
        let good = Good::start(&self.main, &self.stats, role(&["good"]));
        good.wait_more(100);
        good.stop();
        assert_eq!(r.gone_calls(), 1, "render-process-gone emitted again");
        r.expect_no_failures();
    }
}

fn sigkill(pid: u32) {
    // The renderer is main's unreaped child until main sees it die: its pid is still its own.
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).expect("SIGKILL the renderer");
}

#[test]
fn killed_while_main_holds_a_partial_chunked_message() {
    let _serial = kit::serial();
    let _dog = watchdog(DOG, "killed_while_main_holds_a_partial_chunked_message");
    let s = setup(Main::new().unwrap());
    // `hold` keeps the dispatcher busy, so the renderer's 80 MiB send (chunked: past the bulk
    // area) fills the ring and blocks part-way; the kill comes then, and main reads the chunks
    // after the renderer is dead.
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let (entered_tx, release_rx) = (Mutex::new(entered_tx), Mutex::new(release_rx));
    s.main.ipc().on("hold", move |_, _| {
        let _ = entered_tx.lock().unwrap().send(());
        let _ = release_rx.lock().unwrap().recv_timeout(HANG_GUARD);
    });
    let bigs = kit::counter();
    let b = bigs.clone();
    s.main.ipc().on("big", move |_, _| {
        b.fetch_add(1, Ordering::SeqCst);
    });
    let (r, inode) = s.spawn(&["big-hold"]);
    kit::recv(&entered, "main entered the hold listener");
    kit::wait_for("the renderer starts its large send", || {
        r.output().contains("ok big-sending")
    });
    // Its main thread sleeps only once the ring is full (the spin phase yields, it does not
    // sleep): some chunks are published, the rest never will be.
    kit::wait_until_sleeping(r.pid(), r.pid());
    sigkill(r.pid());
    release.send(()).unwrap();
    s.expect_cleaned_up(&r, inode);
    assert_eq!(
        bigs.load(Ordering::SeqCst),
        0,
        "a partial message was delivered"
    );
}

#[test]
fn killed_while_streaming_large_messages() {
    let _serial = kit::serial();
    let _dog = watchdog(DOG, "killed_while_streaming_large_messages");
    let s = setup(Main::new().unwrap());
    let (tx, first) = mpsc::channel();
    let tx = Mutex::new(tx);
    let bad = kit::counter();
    let bd = bad.clone();
    s.main.ipc().on("big", move |_, args| {
        if args.get(0).and_then(|v| v.as_bytes()).map(<[u8]>::len) != Some(BIG) {
            bd.fetch_add(1, Ordering::SeqCst);
        }
        let _ = tx.lock().unwrap().send(());
    });
    let (r, inode) = s.spawn(&["big-loop"]);
    // Kill as soon as one message went through: the next one is on its way in chunks.
    kit::recv(&first, "the first large message");
    sigkill(r.pid());
    s.expect_cleaned_up(&r, inode);
    assert_eq!(
        bad.load(Ordering::SeqCst),
        0,
        "a large message arrived damaged"
    );
}

/// Kill the renderer while main's listener or handler for its request runs (it then sleeps
/// 200 ms and answers into a dead renderer's slot or ring).
fn killed_mid_request(how: &str, channel: &str, s: &Setup, entered: &mpsc::Receiver<()>) {
    let (r, inode) = s.spawn(&["call", how, channel]);
    kit::recv(entered, "main got the request");
    sigkill(r.pid());
    s.expect_cleaned_up(&r, inode);
}

/// Listener / handler bodies: say "entered", sleep, answer.
fn slow(tx: &Mutex<mpsc::Sender<()>>) {
    let _ = tx.lock().unwrap().send(());
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn killed_mid_send_sync() {
    let _serial = kit::serial();
    let _dog = watchdog(DOG, "killed_mid_send_sync");
    let s = setup(Main::new().unwrap());
    let (tx, entered) = mpsc::channel();
    let tx = Mutex::new(tx);
    s.main.ipc().on("slow-sync", move |e, _| {
        slow(&tx);
        e.set_return_value("late");
    });
    killed_mid_request("sync", "slow-sync", &s, &entered);
}

#[test]
fn killed_mid_invoke() {
    let _serial = kit::serial();
    let _dog = watchdog(DOG, "killed_mid_invoke");
    let s = setup(Main::new().unwrap());
    let (tx, entered) = mpsc::channel();
    let tx = Mutex::new(tx);
    s.main
        .ipc()
        .handle("slow-invoke", move |_, _| {
            slow(&tx);
            Ok(Value::from("late"))
        })
        .unwrap();
    killed_mid_request("invoke", "slow-invoke", &s, &entered);
}

#[test]
fn killed_mid_async_invoke_answered_later() {
    let _serial = kit::serial();
    let _dog = watchdog(DOG, "killed_mid_async_invoke_answered_later");
    let s = setup(Main::new().unwrap());
    let (tx, entered) = mpsc::channel();
    let tx = Arc::new(Mutex::new(tx));
    let (answered_tx, answered) = mpsc::channel();
    let answered_tx = Arc::new(Mutex::new(answered_tx));
    // A deferred handler answers from another thread, after the renderer is gone.
    s.main
        .ipc()
        .handle_deferred("slow-deferred", move |_, _, reply| {
            let (tx, done) = (tx.clone(), answered_tx.clone());
            std::thread::spawn(move || {
                slow(&tx);
                std::thread::sleep(Duration::from_millis(200));
                reply.resolve("late");
                let _ = done.lock().unwrap().send(());
            });
        })
        .unwrap();
    killed_mid_request("async", "slow-deferred", &s, &entered);
    kit::recv(&answered, "the late answer");
    // The late answer went nowhere and changed nothing.
    assert_eq!(kit::own_fd_targets(), s.fds);
}
