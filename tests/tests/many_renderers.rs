//! 256 real renderer processes connected to one `Main`: each answers main's invoke, main's
//! thread count stays flat (one pidfd watcher for all of them, a couple of parked helpers for
//! the dispatcher's wait past 128 futex words), and killing 16 of them reports exactly those 16
//! gone while the others keep answering.

use electrode::{args, GoneReason, Main, Value};
use electrode_tests::api_kit::{spawn, ReadyGate, Spawned, HANG_GUARD};
use electrode_tests::async_kit::{answer, batch, RENDERER_ANSWER};
use electrode_tests::watchdog;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_async_renderer");
const LIMIT: Duration = Duration::from_secs(600);
const RENDERERS: usize = 256;
const KILLED: usize = 16;
/// The bound on main's threads with 256 renderers connected.
const MAX_THREADS: usize = 8;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn ask(r: &Spawned, i: usize, round: i64) {
    let b = batch::SEQUENTIAL + round;
    let v =
        r.wc.invoke_blocking(RENDERER_ANSWER, &args![b, i as i64], Some(HANG_GUARD))
            .unwrap_or_else(|e| panic!("renderer {i} (pid {}): invoke: {e}", r.wc.pid()));
    assert_eq!(v, Value::from(answer(b, i as i64)), "renderer {i}");
}

#[test]
fn many_renderers_each_answered_thread_count_flat() {
    let _dog = watchdog(LIMIT, "many_renderers_each_answered_thread_count_flat");
    // An ordinary user may start with a soft limit of 1024 fds: take what the hard limit allows.
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    }
    let threads_before = threads();
    let fds_before = fds();
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let mut renderers = Vec::with_capacity(RENDERERS);
    for _ in 0..RENDERERS {
        renderers.push(spawn(&main, RENDERER, "serve", &[]));
    }
    for _ in 0..RENDERERS {
        let (ready, _) = gate.wait();
        ready.set_return_value(true);
    }
    for (i, r) in renderers.iter().enumerate() {
        ask(r, i, 0);
    }
    let in_main = threads();
    let per_renderer = (fds() - fds_before) as f64 / RENDERERS as f64;
    eprintln!(
        "many_renderers: {RENDERERS} renderers: {in_main} threads in this process \
         ({threads_before} before Main: the test harness and the watchdog), \
         {per_renderer:.1} fds per renderer"
    );
    assert!(
        in_main <= MAX_THREADS,
        "{in_main} threads with {RENDERERS} renderers connected (want <= {MAX_THREADS})"
    );

    // Kill every 16th: exactly those are reported gone, killed.
    let victims: Vec<usize> = (0..RENDERERS).step_by(RENDERERS / KILLED).collect();
    assert_eq!(victims.len(), KILLED);
    for &i in &victims {
        kill(Pid::from_raw(renderers[i].wc.pid() as i32), Signal::SIGKILL).unwrap();
    }
    for &i in &victims {
        let d = renderers[i].wait_gone();
        assert_eq!(d.reason, GoneReason::Killed, "renderer {i}");
    }
    // The others are all still answered, and none of them was reported gone.
    for (i, r) in renderers.iter().enumerate() {
        if !victims.contains(&i) {
            ask(r, i, 1);
            assert!(
                r.another_gone_within(Duration::ZERO).is_none(),
                "renderer {i} reported gone, but it was not killed"
            );
        }
    }
    assert!(threads() <= MAX_THREADS);
    for (i, r) in renderers.iter().enumerate() {
        if !victims.contains(&i) {
            r.wc.send("bye", &args![]).unwrap();
        }
    }
    for (i, r) in renderers.iter().enumerate() {
        if !victims.contains(&i) {
            r.expect_success();
        }
    }
    drop(main);
}
