//! MessagePort lifecycles between real processes: a renderer killed with ports open (to another
//! renderer and to main) closes their other ends within 1 s, and 1,000 channels created, used
//! and closed between two renderers leave no fds, mappings or memfds behind in main or in
//! either renderer. The renderers are `port_peer` roles.

use electrode::{IpcMainEvent, Main, MessageChannel, PortError, Value};
use electrode_tests::api_kit::{spawn, ReadyGate, Spawned, HANG_GUARD};
use electrode_tests::hostile_kit::serial;
use electrode_tests::watchdog;
use std::collections::HashMap;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

const PEER: &str = env!("CARGO_BIN_EXE_port_peer");

/// The bound on `close` after the death of the other end's process.
const CLOSE_BOUND: Duration = Duration::from_secs(1);

/// Channels of the leak test.
const CHANNELS: usize = 1_000;

/// What the counts may grow by (allocator arenas, a cached thread stack): far below
/// anything proportional to [`CHANNELS`].
const FD_SLACK: i64 = 4;
const MAP_SLACK: i64 = 16;
const MEMFD_SLACK: i64 = 1;

/// Listen for `channel` in main's global scope: (sender id, args) of each message.
fn listen(main: &Main, channel: &str) -> mpsc::Receiver<(u32, Vec<Value>)> {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    main.ipc().on(channel, move |e: &IpcMainEvent, a| {
        let _ = tx.lock().unwrap().send((e.sender().id(), a.to_values()));
    });
    rx
}

fn spawn_ready(main: &Main, gate: &ReadyGate, role: &str, args: &[&str]) -> Spawned {
    let r = spawn(main, PEER, role, args);
    gate.wait();
    r
}

fn bye(r: &Spawned) {
    let _ = r.wc.send("bye", &[]);
    r.expect_success();
}

#[test]
fn a_killed_renderer_closes_its_ports_other_ends_within_one_second() {
    let _one_at_a_time = serial(); // the leak test counts this whole process's fds
    let _dog = watchdog(Duration::from_secs(120), "killed_renderer_closes_ports");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let held = listen(&main, "held");
    let closed = listen(&main, "peer-closed");
    let a = spawn_ready(&main, &gate, "hold", &[]);
    let b = spawn_ready(&main, &gate, "hold", &[]);
    // A holds one end to B and one to main.
    let (x1, x2) = MessageChannel::new().unwrap();
    a.wc.post_message("port", &Value::from("to-b"), vec![x1])
        .unwrap();
    b.wc.post_message("port", &Value::from("to-a"), vec![x2])
        .unwrap();
    let (y1, y2) = MessageChannel::new().unwrap();
    a.wc.post_message("port", &Value::from("to-main"), vec![y1])
        .unwrap();
    for _ in 0..3 {
        held.recv_timeout(HANG_GUARD).expect("a port held");
    }
    let (tx, main_closed) = mpsc::channel();
    let tx = Mutex::new(tx);
    y2.on_close(move || {
        let _ = tx.lock().unwrap().send(Instant::now());
    });
    y2.start();
    // Nothing closed so far.
    assert!(closed.try_recv().is_err());

    // SAFETY: kill(2) on the renderer's pid (not yet reaped: its gone report has not come).
    let killed = unsafe { libc::kill(a.wc.pid() as libc::pid_t, libc::SIGKILL) };
    assert_eq!(killed, 0, "kill the renderer");
    let t0 = Instant::now();

    let left = |t0: Instant| CLOSE_BOUND.saturating_sub(t0.elapsed());
    let (from, label) = closed
        .recv_timeout(left(t0))
        .unwrap_or_else(|_| panic!("B's end not closed within {CLOSE_BOUND:?} of the kill"));
    assert_eq!((from, label), (b.wc.id(), vec![Value::from("to-a")]));
    let at = main_closed
        .recv_timeout(left(t0))
        .unwrap_or_else(|_| panic!("main's end not closed within {CLOSE_BOUND:?} of the kill"));
    eprintln!(
        "close after the kill: B's end {:?}, main's end {:?}",
        t0.elapsed(),
        at - t0
    );
    assert!(matches!(
        y2.post_message(&Value::Null, vec![]),
        Err(PortError::PeerClosed)
    ));
    a.wait_gone();
    bye(&b);
}

/// `(fds, map lines, memfds)` of this process.
fn own_counts() -> (i64, i64, i64) {
    let fds: Vec<_> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    let memfds = fds
        .iter()
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().starts_with("/memfd:"))
        })
        .count();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    (fds.len() as i64, maps.lines().count() as i64, memfds as i64)
}

fn grew(before: (i64, i64, i64), after: (i64, i64, i64)) -> Option<String> {
    let (f, m, d) = (after.0 - before.0, after.1 - before.1, after.2 - before.2);
    (f > FD_SLACK || m > MAP_SLACK || d > MEMFD_SLACK).then(|| {
        format!("fds {f:+}, map lines {m:+}, memfds {d:+} (before {before:?}, after {after:?})")
    })
}

#[test]
fn a_thousand_channels_between_two_renderers_leak_nothing() {
    // Main's counts are this whole process's: no other test may run meanwhile.
    let _one_at_a_time = serial();
    let _dog = watchdog(Duration::from_secs(300), "port_churn_leaks");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let counts = listen(&main, "counts");
    let n = CHANNELS.to_string();
    let a = spawn_ready(&main, &gate, "churn-a", &[&n]);
    let b = spawn_ready(&main, &gate, "churn-b", &[&n]);
    let (c1, c2) = MessageChannel::new().unwrap();
    a.wc.post_message("port", &Value::from("carrier"), vec![c1])
        .unwrap();
    b.wc.post_message("port", &Value::from("carrier"), vec![c2])
        .unwrap();
    let mut got: HashMap<String, (i64, i64, i64)> = HashMap::new();
    let mut main_before = None;
    while got.len() < 4 {
        let (_, v) = counts
            .recv_timeout(HANG_GUARD)
            .expect("a renderer's counts");
        let phase = v[0].as_str().unwrap().to_string();
        let num = |i: usize| v[i].as_i64().unwrap();
        if phase.ends_with("before") && main_before.is_none() {
            main_before = Some(own_counts());
        }
        got.insert(phase, (num(1), num(2), num(3)));
    }
    for side in ["a", "b"] {
        let before = got[&format!("{side}-before")];
        let after = got[&format!("{side}-after")];
        eprintln!("renderer {side}: before {before:?}, after {after:?}");
        if let Some(why) = grew(before, after) {
            panic!("renderer {side} grew over {CHANNELS} channels: {why}");
        }
    }
    // Main frees its records of the channels as the renderers' closes reach it: allow it to
    // catch up (bounded), then judge.
    let before = main_before.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut after = own_counts();
    while grew(before, after).is_some() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        after = own_counts();
    }
    eprintln!("main: before {before:?}, after {after:?}");
    if let Some(why) = grew(before, after) {
        panic!("main grew over {CHANNELS} channels: {why}");
    }
    bye(&a);
    bye(&b);
}
