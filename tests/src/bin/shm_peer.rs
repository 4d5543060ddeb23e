//! `shm_peer <role> [args]`: the other process of the transport tests.
//!
//! Renderer roles (started by a main through `Handoff::prepare`; they pick the segment up with
//! `Handoff::receive` and watch main's pidfd):
//!
//! - `stream-send <count>`: send `count` data frames of the [`pattern`] schedule to main, then
//!   wait for main's `DONE`. Exit 0.
//! - `stream-recv <count>`: receive and check `count` data frames from main, then its `DONE`
//!   (meta = `count`). Exit 0 only if every frame matched the schedule, in order.
//! - `ready-then-block`: send `READY`, then block in `rx.recv` (it only returns when main dies).
//!   Exit 0 if that recv returned `PeerGone`.
//! - `wait-for-main-death`: take a response slot and send a `REQUEST` naming it (main never
//!   answers), then block one thread in `slots.wait_reply` and one in `rx.recv`; once both are
//!   parked in the kernel, send `READY`. When the waits return it prints `recv <outcome>` and
//!   `wait_reply <outcome>` on stdout. Exit 0 only if both returned `PeerGone`.
//!
//! Main role:
//!
//! - `main-then-sleep <renderer role> <n>`: create `n` segments and spawn `shm_peer <renderer
//!   role>` on each (children inherit stdout), print `renderer <pid>` for each, wait for every
//!   renderer's `READY`, print `ready`, then sleep until killed. Dies with its parent (the test).
//!
//! Other:
//!
//! - `open-from-env`: call `Handoff::receive` and print `ok` or `error <Variant>: <message>`.
//!
//! Every role runs under a self-watchdog (`SHM_PEER_WATCHDOG_SECS`, default 900 s) so a helper
//! can never outlive a crashed test by long. Exit codes: see `electrode_tests::protocol`.

use electrode_shm::{
    AlignedBuf, Handoff, Liveness, OpenError, RecvError, RendererEnd, SegmentConfig, WaitMode,
    Watch,
};
use electrode_tests::peer::PARENT_ENV;
use electrode_tests::protocol::*;
use electrode_tests::{pattern, procfs, spawn_renderer, Renderer};
use std::io::Write;
use std::process::{exit, Stdio};
use std::time::Duration;

/// Environment variable overriding the self-watchdog, in seconds.
const WATCHDOG_ENV: &str = "SHM_PEER_WATCHDOG_SECS";

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("shm_peer[{}]: {msg}", std::process::id());
    exit(EXIT_FAILED)
}

fn usage() -> ! {
    eprintln!(
        "usage: shm_peer <role> [args]\n\
         roles: stream-send <count> | stream-recv <count> | ready-then-block |\n\
         \x20      wait-for-main-death | main-then-sleep <renderer role> <n> | open-from-env"
    );
    exit(EXIT_USAGE)
}

fn self_watchdog() {
    let secs = std::env::var(WATCHDOG_ENV)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(900);
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(secs));
        eprintln!(
            "shm_peer[{}]: self-watchdog: still running after {secs} s; exiting",
            std::process::id()
        );
        exit(EXIT_WATCHDOG);
    });
}

/// The renderer side of the segment handed to us, with a watcher on main.
fn connect() -> (RendererEnd, Watch) {
    let (seg, _fds, main) =
        Handoff::receive(Some(std::time::Instant::now() + Duration::from_secs(30)))
            .unwrap_or_else(|e| fail(format!("handoff: {e}")));
    let live = Liveness::new();
    let end = seg.into_renderer(live.clone());
    let waker = end.waker.clone();
    let watch = main
        .watch(live, move || waker.wake_all())
        .unwrap_or_else(|e| fail(format!("watch main: {e}")));
    (end, watch)
}

fn count_arg(args: &[String]) -> u64 {
    match args {
        [n] => n.parse().unwrap_or_else(|_| usage()),
        _ => usage(),
    }
}

fn stream_send(count: u64) {
    let (mut end, _watch) = connect();
    let ring = end.segment.layout().config.r2m_capacity;
    let mut buf = vec![0u8; ring * 2 + 4096];
    for seq in 0..count {
        let len = pattern::frame_len(seq, ring);
        let payload = &mut buf[..len];
        pattern::fill(seq, payload);
        if let Err(e) = end
            .tx
            .send(TAG_DATA, seq, payload, WaitMode::default(), None)
        {
            fail(format!("send frame {seq}: {e}"));
        }
    }
    match end.rx.recv(WaitMode::default(), None) {
        Ok(m) if m.tag() == TAG_DONE && m.meta() == count => m.release(),
        Ok(m) => fail(format!(
            "expected DONE, got tag {} meta {}",
            m.tag(),
            m.meta()
        )),
        Err(e) => fail(format!("waiting for DONE: {e}")),
    }
}

fn stream_recv(count: u64) {
    let (mut end, _watch) = connect();
    let ring = end.segment.layout().config.m2r_capacity;
    let mut buf = AlignedBuf::new();
    for seq in 0..count {
        let msg = end
            .rx
            .recv(WaitMode::default(), None)
            .unwrap_or_else(|e| fail(format!("recv frame {seq}: {e}")));
        let (tag, meta) = (msg.tag(), msg.meta());
        msg.copy_into(&mut buf);
        if (tag, meta) != (TAG_DATA, seq) {
            fail(format!(
                "expected data frame {seq}, got tag {tag} meta {meta} (lost, duplicated or reordered)"
            ));
        }
        if let Err(e) = pattern::check(seq, ring, buf.as_slice()) {
            fail(e);
        }
    }
    match end.rx.recv(WaitMode::default(), None) {
        Ok(m) if m.tag() == TAG_DONE && m.meta() == count => m.release(),
        Ok(m) => fail(format!(
            "expected DONE after {count} frames, got tag {} meta {}",
            m.tag(),
            m.meta()
        )),
        Err(e) => fail(format!("waiting for DONE: {e}")),
    }
}

fn ready_then_block() {
    let (mut end, _watch) = connect();
    if let Err(e) = end.tx.send(TAG_READY, 0, &[], WaitMode::default(), None) {
        fail(format!("send READY: {e}"));
    }
    match end.rx.recv(WaitMode::ParkOnly, None) {
        Err(RecvError::PeerGone) => {}
        Err(e) => fail(format!("recv returned {e}, expected PeerGone")),
        Ok(m) => fail(format!(
            "unexpected frame tag {} meta {}",
            m.tag(),
            m.meta()
        )),
    }
}

fn outcome<T, E: std::fmt::Debug>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "Ok".to_owned(),
        Err(e) => format!("{e:?}"),
    }
}

fn wait_for_main_death() {
    let (end, _watch) = connect();
    let RendererEnd {
        mut tx,
        mut rx,
        slots,
        ..
    } = end;
    let ticket = slots
        .try_acquire()
        .unwrap_or_else(|| fail("no free response slot"));
    let naming = u64::from(ticket.index) << 32 | u64::from(ticket.generation);
    if let Err(e) = tx.send(TAG_REQUEST, naming, &[], WaitMode::default(), None) {
        fail(format!("send REQUEST: {e}"));
    }
    let (done_tx, done_rx) = std::sync::mpsc::channel::<(&str, String)>();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel::<i32>();
    std::thread::scope(|s| {
        let (done, tid) = (done_tx.clone(), tid_tx.clone());
        s.spawn(move || {
            tid.send(nix::unistd::gettid().as_raw()).unwrap();
            let r = rx.recv(WaitMode::default(), None).map(|m| m.release());
            done.send(("recv", outcome(r))).unwrap();
        });
        let (done, tid, slots) = (done_tx, tid_tx, &slots);
        s.spawn(move || {
            tid.send(nix::unistd::gettid().as_raw()).unwrap();
            let r = slots.wait_reply(ticket, WaitMode::default(), None);
            done.send(("wait_reply", outcome(r))).unwrap();
        });
        let tids = [tid_rx.recv().unwrap(), tid_rx.recv().unwrap()];
        procfs::wait_until_parked(std::process::id(), &tids)
            .unwrap_or_else(|e| fail(format!("read /proc: {e}")));
        if let Err(e) = tx.send(TAG_READY, 0, &[], WaitMode::default(), None) {
            fail(format!("send READY: {e}"));
        }
        let mut all_gone = true;
        for _ in 0..2 {
            let (what, result) = done_rx.recv().unwrap();
            all_gone &= result == "PeerGone";
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{what} {result}");
            let _ = out.flush();
        }
        if !all_gone {
            fail("a wait did not return PeerGone");
        }
    });
}

fn main_then_sleep(args: &[String]) {
    let [role, n] = args else { usage() };
    let n: usize = n.parse().unwrap_or_else(|_| usage());
    // Die with the test that spawned us (checked against a parent that died before this call).
    if let Err(e) = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL) {
        fail(format!("prctl: {e}"));
    }
    if let Ok(parent) = std::env::var(PARENT_ENV) {
        if parent != nix::unistd::getppid().to_string() {
            fail("parent already gone");
        }
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(format!("current_exe: {e}")));
    let mut renderers: Vec<Renderer> = Vec::new();
    for _ in 0..n {
        let r = spawn_renderer(&exe, role, &[], SegmentConfig::default(), Stdio::inherit())
            .unwrap_or_else(|e| fail(format!("spawn renderer: {e}")));
        println!("renderer {}", r.child.pid());
        renderers.push(r);
    }
    for r in &mut renderers {
        loop {
            match r.end.rx.recv(WaitMode::default(), None) {
                Ok(m) if m.tag() == TAG_READY => {
                    m.release();
                    break;
                }
                Ok(m) => m.release(), // e.g. a REQUEST: never answered
                Err(e) => fail(format!("waiting for READY: {e}")),
            }
        }
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn open_from_env() {
    match Handoff::receive(Some(std::time::Instant::now() + Duration::from_secs(30))) {
        Ok(_) => println!("ok"),
        Err(e) => {
            let variant = match e {
                OpenError::Io(_) => "Io",
                OpenError::BadMagic(_) => "BadMagic",
                OpenError::BadVersion { .. } => "BadVersion",
                OpenError::BadLayout(_) => "BadLayout",
                OpenError::NotSealed => "NotSealed",
                OpenError::NoHandoff(_) => "NoHandoff",
            };
            println!("error {variant}: {e}");
        }
    }
}

fn main() {
    self_watchdog();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((role, rest)) = args.split_first() else {
        usage()
    };
    match role.as_str() {
        "stream-send" => stream_send(count_arg(rest)),
        "stream-recv" => stream_recv(count_arg(rest)),
        "ready-then-block" => ready_then_block(),
        "wait-for-main-death" => wait_for_main_death(),
        "main-then-sleep" => main_then_sleep(rest),
        "open-from-env" => open_from_env(),
        _ => usage(),
    }
    exit(EXIT_OK);
}
