//! A sandboxed renderer learns of main's death through the pidfd it inherited, even from inside
//! its own PID namespace (where main's pid means nothing), and nothing is left behind.
//!
//! The test process T starts a main M (`sandbox_renderer main-host`), which spawns the
//! renderer R in a default `Sandbox` (with a PID namespace, under its intermediate I) and
//! prints I's and R's pids. T SIGKILLs M. R sees main gone and exits with its "main gone"
//! code (3); I ends the same way, and T, I's subreaper once M is gone, reaps it and reads that
//! code. Without a PID namespace here (no privileges), I is R itself: the same holds.

use electrode_tests::child::become_subreaper;
use electrode_tests::{watchdog, ChildGuard};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_sandbox_renderer");
/// `sandbox_renderer`'s exit code when main went away.
const EXIT_MAIN_GONE: i32 = 3;

#[test]
fn a_sandboxed_renderer_sees_main_die_and_leaves_nothing_behind() {
    let _dog = watchdog(
        Duration::from_secs(120),
        "a_sandboxed_renderer_sees_main_die",
    );
    become_subreaper().expect("become a child subreaper");
    let mut cmd = Command::new(EXE);
    cmd.arg("main-host").stdout(Stdio::piped());
    let mut host = ChildGuard::spawn(&mut cmd).expect("spawn the main host");
    let out = host.take_stdout().expect("its stdout");
    let mut lines = BufReader::new(out).lines();
    let first = lines
        .next()
        .expect("the main host printed nothing")
        .expect("read its stdout");
    let pids: Vec<u32> = first
        .strip_prefix("pid ")
        .map(|p| p.split(' ').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    let [intermediate, renderer] = pids[..] else {
        panic!("unexpected first line {first:?}");
    };
    // Sound: M never reaps I before it dies, and then I is ours.
    let mut intermediate = ChildGuard::adopt(intermediate);

    host.kill().unwrap();
    host.wait().unwrap();

    let status = intermediate
        .wait()
        .expect("reap the renderer's intermediate");
    assert_eq!(
        status.code(),
        Some(EXIT_MAIN_GONE),
        "the renderer saw main die and its intermediate passed its exit code on ({status:?})"
    );
    let dead = || {
        std::fs::read_to_string(format!("/proc/{renderer}/stat")).map_or(true, |s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
    };
    assert!(
        dead(),
        "the renderer {renderer} is gone with its intermediate"
    );
}
