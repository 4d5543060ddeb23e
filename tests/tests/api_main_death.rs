//! When main dies, a renderer's pending calls fail with `CallError::Disconnected` within a
//! second, and later calls fail at once.
//!
//! The test process T starts an intermediate main I (`api_renderer main-host`), which spawns
//! the renderer G (`api_renderer pending-calls`). G blocks in `invoke_blocking`, `send_sync`
//! and an invoke future at once; I holds all three unanswered and, once it has them, prints
//! G's pid. T SIGKILLs I. G prints a line as each call returns (T times the line's arrival
//! from just before the kill, which over-counts) and exits 0 only if every call failed with
//! `Disconnected`. T is G's subreaper, so it reaps G and reads that status. The 1 s bound is
//! the requirement (a main that dies must never leave a renderer hanging), not a benchmark.

use electrode_tests::child::become_subreaper;
use electrode_tests::{watchdog, ChildGuard};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const RENDERER: &str = env!("CARGO_BIN_EXE_api_renderer");
const BOUND: Duration = Duration::from_secs(1);
const GUARD: Duration = Duration::from_secs(60);

#[test]
fn pending_calls_fail_with_disconnected_when_main_dies() {
    let _dog = watchdog(
        Duration::from_secs(120),
        "pending_calls_fail_with_disconnected_when_main_dies",
    );
    become_subreaper().expect("become a child subreaper");
    let mut cmd = Command::new(RENDERER);
    cmd.arg("main-host").stdout(Stdio::piped());
    let mut host = ChildGuard::spawn(&mut cmd).expect("spawn the intermediate main");
    let out = host.take_stdout().expect("its stdout");
    // The pipe is shared by I and G: read it on a thread, timing each line's arrival.
    let (tx, lines) = mpsc::channel::<(String, Instant)>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send((line, Instant::now())).is_err() {
                break;
            }
        }
    });
    let (first, _) = lines
        .recv_timeout(GUARD)
        .expect("the intermediate main never printed the renderer's pid");
    let pid: u32 = first
        .strip_prefix("pid ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    // G's parent will not reap it once dead; we adopt the orphan.
    let mut renderer = ChildGuard::adopt(pid);

    let killed_at = Instant::now();
    host.kill().unwrap();
    host.wait().unwrap();

    let mut calls = Vec::new();
    while calls.len() < 3 {
        let (line, at) = lines
            .recv_timeout(GUARD)
            .unwrap_or_else(|_| panic!("pending calls still blocked after {GUARD:?}: {calls:?}"));
        calls.push((line, at.duration_since(killed_at)));
    }
    let status = renderer.wait().unwrap();
    eprintln!("after main's death: {calls:?}");
    calls.sort();
    let names: Vec<&str> = calls.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        names,
        [
            "call invoke_blocking disconnected",
            "call invoke_future disconnected",
            "call send_sync disconnected",
        ]
    );
    for (line, after) in &calls {
        assert!(*after < BOUND, "`{line}` came {after:?} after the kill");
    }
    assert!(
        status.success(),
        "the renderer reports a failure ({status}); its stderr above says which"
    );
}
