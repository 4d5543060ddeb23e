//! A peer that is SIGKILLed wakes every wait on the other side with `PeerGone` within a second,
//! in both directions: main blocked in `rx.recv` when its renderer dies, and a renderer blocked
//! in `slots.wait_reply` and `rx.recv` (two threads) when its main dies.
//!
//! "Blocked" is checked, not assumed: the kill happens only once the waiting threads are asleep
//! in `futex(2)` (per `/proc/<pid>/task/<tid>/syscall`). The 1 s bound is the transport's
//! promise about peer death (a correctness bound); it is measured from just before the kill, so
//! it over-counts.

use electrode_shm::{RecvError, SegmentConfig, WaitMode};
use electrode_tests::protocol::TAG_READY;
use electrode_tests::{
    procfs, spawn_renderer, spawn_sleeping_main, watchdog, ChildGuard, SleepingMain,
};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const PEER: &str = env!("CARGO_BIN_EXE_shm_peer");
const BOUND: Duration = Duration::from_secs(1);

fn main_sees_renderer_sigkill(mode: WaitMode, label: &str) {
    let _dog = watchdog(Duration::from_secs(60), label);
    let mut r = spawn_renderer(
        Path::new(PEER),
        "ready-then-block",
        &[],
        SegmentConfig::default(),
        Stdio::inherit(),
    )
    .expect("spawn the renderer");
    let ready = r
        .end
        .rx
        .recv(WaitMode::default(), None)
        .expect("the renderer's READY");
    assert_eq!(ready.tag(), TAG_READY);
    ready.release();

    let (me, tid) = (std::process::id(), nix::unistd::gettid().as_raw());
    let returned = AtomicBool::new(false);
    let (result, returned_at, killed_at) = std::thread::scope(|s| {
        let (child, returned) = (&r.child, &returned);
        let killer = s.spawn(move || {
            // Kill only once this test's thread is parked in recv (or never, if recv
            // returned on its own: that is a failure reported below).
            loop {
                if returned.load(Ordering::SeqCst) {
                    return None;
                }
                if procfs::parked_in_futex(me, tid).expect("read /proc") {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            let at = Instant::now();
            child.kill().expect("SIGKILL the renderer");
            Some(at)
        });
        let result = r.end.rx.recv(mode, None).map(|m| (m.tag(), m.meta()));
        let at = Instant::now();
        returned.store(true, Ordering::SeqCst);
        (result, at, killer.join().unwrap())
    });

    let killed_at = killed_at
        .unwrap_or_else(|| panic!("recv returned {result:?} before the renderer was killed"));
    assert_eq!(result, Err(RecvError::PeerGone));
    let elapsed = returned_at.saturating_duration_since(killed_at);
    println!("{label}: recv returned PeerGone {elapsed:?} after the SIGKILL");
    assert!(
        elapsed < BOUND,
        "recv returned PeerGone {elapsed:?} after the renderer's SIGKILL (bound {BOUND:?})"
    );
    let status = r.child.wait().expect("reap the renderer");
    assert_eq!(status.signal(), Some(libc::SIGKILL), "renderer: {status}");
}

#[test]
fn main_blocked_in_recv_gets_peer_gone_when_renderer_is_sigkilled() {
    main_sees_renderer_sigkill(
        WaitMode::default(),
        "main_blocked_in_recv_gets_peer_gone_when_renderer_is_sigkilled",
    );
}

#[test]
fn main_parked_in_recv_gets_peer_gone_when_renderer_is_sigkilled() {
    main_sees_renderer_sigkill(
        WaitMode::ParkOnly,
        "main_parked_in_recv_gets_peer_gone_when_renderer_is_sigkilled",
    );
}

/// Parse `"<word> <value>"`.
fn field<'a>(line: &'a str, word: &str) -> Option<&'a str> {
    line.strip_prefix(word)?.strip_prefix(' ')
}

#[test]
fn renderer_blocked_in_wait_reply_and_recv_gets_peer_gone_when_main_is_sigkilled() {
    let _dog = watchdog(
        Duration::from_secs(60),
        "renderer_blocked_in_wait_reply_and_recv_gets_peer_gone_when_main_is_sigkilled",
    );
    // Main prints `ready` once its renderer's two waits are parked. The renderer is our
    // grandchild; once its main is dead and reaped it becomes our child (we are a subreaper).
    let SleepingMain {
        child: mut main,
        renderers,
        lines,
    } = spawn_sleeping_main(Path::new(PEER), "wait-for-main-death", 1)
        .expect("start an intermediate main");
    let [renderer] = renderers[..] else {
        panic!("expected one renderer, got {renderers:?}")
    };

    let killed_at = Instant::now();
    main.kill().expect("SIGKILL the intermediate main");
    // The renderer reports how its waits ended on the pipe it shares with main; EOF means
    // both have exited.
    let mut reports = Vec::new();
    for line in lines {
        let line = line.expect("read the renderer's report");
        reports.push((line, killed_at.elapsed()));
    }
    let status = main.wait().expect("reap the intermediate main");
    assert_eq!(status.signal(), Some(libc::SIGKILL), "main: {status}");
    let status = ChildGuard::adopt(renderer)
        .wait()
        .expect("reap the renderer");

    println!("renderer reports after main's SIGKILL: {reports:?}");
    for wait in ["recv", "wait_reply"] {
        let (outcome, elapsed) = reports
            .iter()
            .find_map(|(l, t)| field(l, wait).map(|o| (o, *t)))
            .unwrap_or_else(|| panic!("the renderer did not report its {wait}: {reports:?}"));
        assert_eq!(outcome, "PeerGone", "the renderer's {wait}");
        assert!(
            elapsed < BOUND,
            "the renderer's {wait} returned PeerGone {elapsed:?} after main's SIGKILL (bound {BOUND:?})"
        );
    }
    assert!(status.success(), "renderer: {status}");
}
