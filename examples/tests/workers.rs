//! Runs the `workers` example as a user would and checks its verdict: exit status 0 and a
//! summary saying every job completed and the crashed worker was respawned.
//!
//! Cargo builds a package's examples before its tests, so the binary lies next to this test's:
//! `target/<profile>/deps/workers-<hash>` → `target/<profile>/examples/workers`.

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
    let exe = profile_dir.join("examples").join("workers");
    assert!(
        exe.is_file(),
        "example binary not found at {}: run through `cargo test -p electrode-examples`, which \
         builds the examples first (or `cargo build --example workers` with the same profile)",
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
        .expect("spawn the workers example");
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
            "watchdog: the workers example ran longer than {WATCHDOG:?}; killed"
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

#[test]
fn workers_example_completes_every_job_and_respawns_the_crashed_worker() {
    let (status, out) = run_example();
    assert!(
        status.success(),
        "the example failed ({status}); stdout:\n{out}"
    );
    let summary = out
        .lines()
        .find(|l| l.starts_with("summary:"))
        .unwrap_or_else(|| panic!("no summary line; stdout:\n{out}"));
    assert!(
        summary.contains("24/24 jobs completed exactly once, all sums right"),
        "{summary}"
    );
    assert!(
        summary.contains("1 worker crashed, 1 respawned"),
        "{summary}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("gone: crashed (code 6)") && l.contains("job 5 re-queued")),
        "the crash of the worker holding job 5 is reported; stdout:\n{out}"
    );
}
