//! `sandbox_renderer <role> [args]`: a renderer for the sandbox tests (`tests/tests/isolation.rs`).
//!
//! | role | does |
//! | --- | --- |
//! | `idle` | connect, `send_sync("idle-ready")`, live until main says `stop` |
//! | `probe MAIN SIBLING... [--kill-all-as UID]` | try to signal and see main and the siblings (pids as main sees them), report every result, then use every IPC path and live until `stop` |
//! | `crash` | connect, then die of a real fault (SIGSEGV) |
//! | `main-host` | be a main: spawn this binary's `idle` in a default `Sandbox`, print `pid <its pid> <the renderer's pid>` once it is ready, then sleep until killed |
//!
//! The probe reports `key value` lines through `send_sync("probe-report", [text])` (and on
//! stdout): `self-pid`, `ppid`, `proc-count` (processes its `/proc` lists), for each target
//! `kill0 <name> <result>` (`kill(pid, 0)`), `proc <name> present|absent`, for siblings `stop
//! <name> <result>` (`kill(pid, SIGSTOP)`, answered by `SIGCONT` when it reached), `pidfd-signal
//! main <result>` (signal 0 through the pidfd on main it inherited), and with `--kill-all-as UID`
//! `kill-all <result>` (`kill(-1, SIGSTOP)`), done only where it cannot reach outside: as PID 1
//! of a namespace, or running as `UID` (the test's dedicated sandbox uid). A
//! result is `ok` or the errno's name (`ESRCH`, `EPERM`, `EINVAL`).
//!
//! Exit codes: 0 all IPC checks held, 1 a check failed (`FAIL` line), 2 usage, 3 main gone.

use electrode::{IpcRenderer, Value};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The big message's length (larger than a frame: the bulk path).
const BIG: usize = 3 << 20;

fn say(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
}

fn fail(what: &str) -> i32 {
    say(&format!("FAIL {what}"));
    1
}

/// Connect, with the `stop` listener registered before anything is sent (main may say
/// `stop` as soon as it hears from us); the flag it sets.
fn connect() -> (IpcRenderer, Arc<AtomicBool>) {
    let ipc = match IpcRenderer::connect() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sandbox_renderer: connect: {e}");
            std::process::exit(2);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ipc.on("stop", move |_, _| s.store(true, Ordering::SeqCst));
    (ipc, stop)
}

/// `ok`, or the errno's name.
fn result(r: nix::Result<()>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!("{e:?}"),
    }
}

fn kill(pid: i32, sig: Option<nix::sys::signal::Signal>) -> nix::Result<()> {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig)
}

/// The pidfd on main this process inherited (found by its `/proc/self/fd` link, whatever the
/// handoff calls it).
fn main_pidfd() -> Option<i32> {
    std::fs::read_dir("/proc/self/fd")
        .ok()?
        .flatten()
        .find_map(|e| {
            let fd: i32 = e.file_name().to_str()?.parse().ok()?;
            let link = std::fs::read_link(e.path()).ok()?;
            (link.to_str()? == "anon_inode:[pidfd]").then_some(fd)
        })
}

/// `pidfd_send_signal(fd, 0, NULL, 0)`.
fn pidfd_signal(fd: i32) -> nix::Result<()> {
    // SAFETY: pidfd_send_signal takes an fd, a signal number, a null siginfo and flags.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd, 0, 0usize, 0u32) };
    if r < 0 {
        Err(nix::errno::Errno::last())
    } else {
        Ok(())
    }
}

fn wait_for_stop(ipc: &IpcRenderer, stop: &AtomicBool) -> i32 {
    while !stop.load(Ordering::SeqCst) {
        if ipc.is_disconnected() {
            return 3;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    0
}

fn idle() -> i32 {
    let (ipc, stop) = connect();
    let code = match ipc.send_sync("idle-ready", &[Value::from(std::process::id() as i64)]) {
        Ok(_) => 0,
        // Main may be killed while it answers (the main-death test does just that).
        Err(_) if ipc.is_disconnected() => return 3,
        Err(e) => return fail(&format!("ready: {e}")),
    };
    code.max(wait_for_stop(&ipc, &stop))
}

fn probe(args: &[String]) -> i32 {
    let (ipc, stop) = connect();
    // `kill(-1, SIGSTOP)` would stop every process this one may signal: only inside a PID
    // namespace (PID 1), or as the sandbox uid the test named.
    let (pids, kill_all_as) = match args.iter().position(|a| a == "--kill-all-as") {
        Some(i) => (
            &args[..i],
            args.get(i + 1).and_then(|u| u.parse::<u32>().ok()),
        ),
        None => (args, None),
    };
    // SAFETY: getuid takes nothing and cannot fail.
    let my_uid = unsafe { libc::getuid() };
    let kill_all = kill_all_as.is_some_and(|uid| std::process::id() == 1 || my_uid == uid);
    let pids: Vec<i32> = pids.iter().filter_map(|a| a.parse().ok()).collect();
    let Some((&main_pid, siblings)) = pids.split_first() else {
        return 2;
    };
    let mut lines = vec![
        format!("self-pid {}", std::process::id()),
        format!("ppid {}", nix::unistd::getppid()),
    ];
    let procs = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.parse::<u32>().is_ok())
                })
                .count()
        })
        .unwrap_or(0);
    lines.push(format!("proc-count {procs}"));
    let mut targets = vec![("main".to_string(), main_pid)];
    targets.extend(
        siblings
            .iter()
            .enumerate()
            .map(|(i, &p)| (format!("sibling{i}"), p)),
    );
    for (name, pid) in &targets {
        lines.push(format!("kill0 {name} {}", result(kill(*pid, None))));
        let present = std::path::Path::new(&format!("/proc/{pid}")).exists();
        lines.push(format!(
            "proc {name} {}",
            if present { "present" } else { "absent" }
        ));
        if name != "main" {
            let r = kill(*pid, Some(nix::sys::signal::Signal::SIGSTOP));
            if r.is_ok() {
                let _ = kill(*pid, Some(nix::sys::signal::Signal::SIGCONT));
            }
            lines.push(format!("stop {name} {}", result(r)));
        }
    }
    match main_pidfd() {
        Some(fd) => lines.push(format!("pidfd-signal main {}", result(pidfd_signal(fd)))),
        None => lines.push("pidfd-signal main no-pidfd".into()),
    }
    if kill_all {
        lines.push(format!(
            "kill-all {}",
            result(kill(-1, Some(nix::sys::signal::Signal::SIGSTOP)))
        ));
    }
    let report = lines.join("\n");
    say(&report);

    // Every IPC path, from inside.
    let big = "x".repeat(BIG);
    let echoed = ipc.send_sync("echo-sync", &[Value::from(big.as_str())]);
    if echoed != Ok(Value::Array(vec![Value::from(big.as_str())])) {
        return fail("send_sync of a large message: wrong answer");
    }
    match ipc.invoke_blocking("add", &[Value::from(2), Value::from(3)]) {
        Ok(v) if v == Value::from(5) => {}
        other => return fail(&format!("invoke add: {other:?}")),
    }
    match futures::executor::block_on(ipc.invoke("add", &[Value::from(4), Value::from(5)])) {
        Ok(v) if v == Value::from(9) => {}
        other => return fail(&format!("async invoke add: {other:?}")),
    }
    if let Err(e) = ipc.handle("renderer-len", |args| {
        Ok(Value::from(
            args.get(0)
                .and_then(|v| v.as_str())
                .map_or(-1, |s| s.len() as i64),
        ))
    }) {
        return fail(&format!("handle: {e}"));
    }
    if let Err(e) = ipc.send("hello", &[Value::from("from the sandbox")]) {
        return fail(&format!("send: {e}"));
    }
    say("ok ipc");
    if let Err(e) = ipc.send_sync("probe-report", &[Value::from(report)]) {
        return fail(&format!("report: {e}"));
    }
    wait_for_stop(&ipc, &stop)
}

fn crash() -> i32 {
    let (ipc, _) = connect();
    let _ = ipc.send_sync("idle-ready", &[Value::from(std::process::id() as i64)]);
    // A real fault (the kernel's SIGSEGV): PID 1 of a namespace ignores a SIGSEGV it raises
    // itself, but not a fault.
    let unmapped = 16usize as *mut u8;
    // SAFETY: none, on purpose: the page at address 16 is never mapped, so this write faults.
    unsafe { unmapped.write_volatile(1) };
    1
}

fn main_host() -> i32 {
    let main = match electrode::Main::new() {
        Ok(m) => m,
        Err(e) => return fail(&format!("main: {e}")),
    };
    let (tx, ready) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    main.ipc().on("idle-ready", move |e, _| {
        let _ = tx.lock().map(|t| t.send(()));
        e.set_return_value(Value::Null);
    });
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return fail(&format!("current_exe: {e}")),
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("idle");
    let options = electrode::SpawnOptions::new().sandbox(electrode::Sandbox::new());
    let wc = match main.spawn_renderer_with(cmd, options) {
        Ok(wc) => wc,
        Err(e) => return fail(&format!("spawn: {e}")),
    };
    if ready.recv_timeout(Duration::from_secs(60)).is_err() {
        return fail("the renderer never said it was ready");
    }
    let inner = wc
        .sandbox()
        .and_then(|r| r.renderer_pid)
        .unwrap_or(wc.pid());
    say(&format!("pid {} {inner}", wc.pid()));
    std::thread::sleep(Duration::from_secs(300));
    1
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("idle") => idle(),
        Some("probe") => probe(&args[1..]),
        Some("crash") => crash(),
        Some("main-host") => main_host(),
        _ => {
            eprintln!(
                "usage: sandbox_renderer idle | probe MAIN SIBLING... [--kill-all-as UID] | crash"
            );
            2
        }
    };
    std::process::exit(code);
}
