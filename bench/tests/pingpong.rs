//! The round-trip harness itself: every system and placement echoes correctly across two real
//! processes, and a peer that dies mid-session turns into an error instead of a hang.
//!
//! No timing is asserted here (that is what the benches are for). A watchdog aborts the test
//! process if anything hangs; the peers then exit by themselves (they watch main's pidfd).

use electrode_bench::pingpong::{allowed_cpus, Placement, Session, System};
use electrode_bench::BenchError;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

const PEER: &str = env!("CARGO_BIN_EXE_bench_peer");

/// Abort the whole test binary if `f` does not finish within `limit`.
fn with_watchdog<T>(name: &str, limit: Duration, f: impl FnOnce() -> T) -> T {
    let (done, wait) = mpsc::channel::<()>();
    let name = name.to_string();
    let dog = std::thread::spawn(move || {
        if wait.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
            eprintln!("watchdog: {name} hung for {limit:?}; aborting");
            std::process::abort();
        }
    });
    let out = f();
    drop(done);
    dog.join().unwrap();
    out
}

fn placements() -> Vec<Placement> {
    let cpus = allowed_cpus().unwrap();
    let mut v = vec![Placement::Unpinned];
    if cpus.contains(&0) {
        v.push(Placement::SameCore);
    }
    if cpus.contains(&0) && cpus.contains(&1) {
        v.push(Placement::CrossCore);
    }
    v
}

fn systems() -> [System; 7] {
    [
        System::shm_default(),
        System::shm_park_only(),
        System::shm_budget(0, 20_000),
        System::RawFutex,
        System::BusySpin,
        System::UnixSocket,
        System::PortRings,
    ]
}

#[test]
fn every_system_echoes_on_every_placement() {
    with_watchdog("echo", Duration::from_secs(120), || {
        for placement in placements() {
            for system in systems() {
                for payload in [0, 64, 1000] {
                    let r = Session::start_with(Path::new(PEER), system, placement, payload);
                    let mut s = match r {
                        Err(BenchError::Unsupported(_))
                            if (system == System::BusySpin && placement == Placement::SameCore)
                                || (system == System::UnixSocket && payload == 0) =>
                        {
                            continue
                        }
                        r => r.unwrap_or_else(|e| panic!("{placement}/{system}/{payload}: {e}")),
                    };
                    let samples = s.measure(300).unwrap();
                    assert_eq!(samples.len(), 300);
                    let sum = samples.summary();
                    assert!(sum.min <= sum.p50 && sum.p50 <= sum.p99 && sum.p99 <= sum.max);
                    // Sequence numbers keep counting across calls; the peer must follow.
                    s.time(300).unwrap();
                    assert_eq!(s.measure(10).unwrap().len(), 10);
                }
            }
        }
    });
}

#[test]
fn a_dead_peer_is_an_error_not_a_hang() {
    with_watchdog("dead peer", Duration::from_secs(60), || {
        for system in systems() {
            let mut s = Session::start_with(Path::new(PEER), system, Placement::Unpinned, 64)
                .unwrap_or_else(|e| panic!("{system}: {e}"));
            s.time(100).unwrap();
            let pid = nix::unistd::Pid::from_raw(s.peer_pid() as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
            // The next round trips find the peer gone (through its pidfd, or end-of-file).
            let e = s.time(1_000_000).unwrap_err();
            assert!(matches!(e, BenchError::PeerGone), "{system}: {e}");
        }
    });
}

#[test]
fn oversized_and_impossible_requests_are_refused() {
    let too_big = electrode_bench::pingpong::MAX_PAYLOAD + 1;
    let e = Session::start_with(
        Path::new(PEER),
        System::RawFutex,
        Placement::Unpinned,
        too_big,
    )
    .unwrap_err();
    assert!(matches!(e, BenchError::Unsupported(_)));
    let e = Session::start_with(Path::new(PEER), System::BusySpin, Placement::SameCore, 64)
        .unwrap_err();
    assert!(matches!(e, BenchError::Unsupported(_)));
}
