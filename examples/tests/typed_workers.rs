//! Runs the `typed_workers` example as a user would and checks its transcript: exit status 0,
//! every job ended once (15 finished, job 7 cancelled), and the wedged worker holding job 5
//! was found by a status call, killed with SIGKILL, reported gone by `render-process-gone`,
//! replaced, and its job handed out again.
//!
//! Cargo builds a package's examples before its tests, so the binary lies next to this test's:
//! `target/<profile>/deps/typed_workers-<hash>` → `target/<profile>/examples/typed_workers`.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Longest the example may run before the watchdog kills it.
const WATCHDOG: Duration = Duration::from_secs(120);

/// The example's binary, built by cargo next to this test.
fn example_binary() -> PathBuf {
    let me = std::env::current_exe().expect("the test binary's path");
    let profile_dir = me
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let exe = profile_dir.join("examples").join("typed_workers");
    assert!(
        exe.is_file(),
        "example binary not found at {}: run through `cargo test -p electrode-examples`, which \
         builds the examples first (or `cargo build --example typed_workers` with the same \
         profile)",
        exe.display()
    );
    exe
}

/// Kills the child if the test ends early (a failed assertion, the watchdog).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run the example; its status and stdout, or a panic if the watchdog fires.
fn run_example() -> (ExitStatus, String) {
    let child = Command::new(example_binary())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the typed_workers example");
    let mut child = KillOnDrop(child);
    let mut stdout = child.0.stdout.take().expect("piped stdout");
    // Drain stdout on its own thread so a full pipe cannot stall the example.
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut out = String::new();
        let _ = tx.send(stdout.read_to_string(&mut out).map(|_| out));
    });
    let deadline = Instant::now() + WATCHDOG;
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait for the example") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "watchdog: the typed_workers example ran longer than {WATCHDOG:?}; killed"
        );
        thread::sleep(Duration::from_millis(50));
    };
    // The example has exited and dropped its Main, which killed any worker it still had, so
    // the pipe's last writer is gone and the reader finishes; a worker that outlived main
    // would hold the pipe open, which the watchdog reports too.
    let out = rx
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .expect("watchdog: the example exited but its stdout stayed open (a worker outlived it?)")
        .expect("read stdout");
    (status, out)
}

/// The index of the first line of `out` that contains every one of `parts`.
fn line_with(out: &str, parts: &[&str]) -> usize {
    out.lines()
        .position(|l| parts.iter().all(|p| l.contains(p)))
        .unwrap_or_else(|| panic!("no line with {parts:?}; stdout:\n{out}"))
}

#[test]
fn typed_workers_example_ends_every_job_cancels_one_and_replaces_the_killed_worker() {
    let (status, out) = run_example();
    assert!(
        status.success(),
        "the example failed ({status}); stdout:\n{out}"
    );
    let summary = &out.lines().collect::<Vec<_>>()[line_with(&out, &["summary:"])];
    assert!(
        summary.contains(
            "16/16 jobs ended exactly once, all sums right: 15 finished, 1 cancelled (job 7); \
             1 worker killed (SIGKILL), 1 replaced"
        ),
        "{summary}"
    );

    // The open-ended job: cancelled by main (an event), then reported cancelled (an invoke).
    let cancel = line_with(&out, &["job 7 is open-ended: main cancels it"]);
    let cancelled = line_with(&out, &["job 7 cancelled after"]);
    assert!(
        cancel < cancelled,
        "cancel before its report; stdout:\n{out}"
    );

    // The wedge: found by a status call, killed, seen gone with SIGKILL's code, replaced,
    // its job handed out again; in that order, and all about the same worker.
    let lines: Vec<&str> = out.lines().collect();
    let blocked = line_with(
        &out,
        &["is blocked in job 5 at 10000/20000: killing it (SIGKILL"],
    );
    let worker = lines[blocked]
        .strip_prefix("worker ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no worker number in {:?}", lines[blocked]));
    let gone = line_with(
        &out,
        &[
            &format!("worker {worker} gone: killed (code 9) holding job 5"),
            "job 5 back in the queue",
        ],
    );
    let replacement = line_with(&out, &[&format!("in place of worker {worker}")]);
    let redispatched = line_with(&out, &["job 5 re-dispatched to worker"]);
    assert!(
        blocked < gone && gone < replacement && gone < redispatched,
        "kill, gone, respawn and re-dispatch out of order; stdout:\n{out}"
    );
    assert!(
        !lines[redispatched].ends_with(&format!("worker {worker}")),
        "job 5 went back to the dead worker; stdout:\n{out}"
    );
}
