//! One renderer cannot reach another renderer's segment, nor main's.
//!
//! Renderer A (`victim`) and renderer B (`snoop <A> <bait>`) run under one unprivileged uid
//! (65534 when the test runs as root, which would bypass every permission check; otherwise
//! the test's own uid). B tries every route to A's region and to main's:
//!
//! - a name: `/dev/shm` holds nothing of Electrode's (segments are anonymous memfds);
//! - A's or main's fds: `/proc/<pid>/fd/*` (listing and opening), `pidfd_getfd(2)`;
//! - A's or main's memory: `/proc/<pid>/map_files/*`, `/proc/<pid>/maps`, `/proc/<pid>/mem`,
//!   `process_vm_readv(2)`, `ptrace(2)`;
//! - what it inherited: exactly its own segment fd and main's pidfd besides stdio.
//!
//! Every route fails because Electrode makes main and each renderer non-dumpable
//! (`electrode_shm::harden_process`). The control shows that the routes are real: a
//! same-user process that is not hardened (`bait`, holding a memfd with a secret) is read by
//! B through `/proc/<bait>/fd`.
//!
//! As root, the renderer binary is first staged where uid 65534 can execute it ([`StagedExe`]):
//! the checkout may lie where that user cannot go.
//!
//! Signals (the second half, role binary `sandbox_renderer`): a renderer spawned in a
//! `Sandbox` (as root with its own uid, `61000 + n`) probes main and a sandboxed sibling:
//! `kill(pid, 0)`, `kill(sibling, SIGSTOP)`, `kill(-1, SIGSTOP)`, `pidfd_send_signal` on the
//! pidfd on main it inherited, `getppid()`, `/proc/<pid>`; what it finds is checked against
//! what `WebContents::sandbox()` says was set up (PID namespace: `ESRCH` everywhere, PID 1, an
//! empty `/proc`; distinct uids alone: `EPERM`; nothing: signals reach, and the test says so
//! loudly). The same renderer unsandboxed is the control (signals do reach). Every IPC path
//! runs from inside; a required part that cannot be set up fails the spawn naming the step;
//! killing the intermediate or the renderer, a crash, and main's drop leave no process.

use electrode::{
    ConnectError, GoneReason, Main, Sandbox, SandboxError, SandboxMode, SandboxReport,
    SandboxSetup, SandboxStep, SpawnOptions, Value,
};
use electrode_tests::child::ChildGuard;
use electrode_tests::hostile_kit::{self as kit, Scratch, Spawned};
use electrode_tests::{procfs, watchdog};
use std::collections::HashMap;
use std::fs::{self, File};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_hostile_renderer");
const NOBODY: u32 = 65534;

/// The routes `snoop` tries against each target.
const ROUTES: [&str; 8] = [
    "fd-dir",
    "fd-open",
    "map-files",
    "maps",
    "mem",
    "process_vm_readv",
    "pidfd_getfd",
    "ptrace",
];

/// This process's effective uid (`/proc/self/status`).
fn euid() -> u32 {
    fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("Uid:")?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .expect("Uid line")
}

fn is_root() -> bool {
    euid() == 0
}

/// The uid the renderers run as.
fn renderer_uid() -> u32 {
    if is_root() {
        NOBODY
    } else {
        euid()
    }
}

/// The renderer binary, where the renderers' user can execute it.
///
/// Run as root, the test runs its renderers as uid 65534, which cannot execute cargo's
/// `hostile_renderer` when the checkout (and so its target dir) lies under a directory that
/// user cannot enter: a `mktemp -d` folder, `/root`. So as root the binary is copied into a
/// fresh 0755 directory (file mode 0755) under the first of the system temp dir, `/tmp` and
/// `/var/tmp` from which uid 65534 really runs it (a probe run checks), and removed on drop.
/// If none works the test fails, saying why; it never runs a weaker check instead.
struct StagedExe {
    /// The staging directory (`None`: not root, cargo's binary is used where it is).
    dir: Option<PathBuf>,
    exe: PathBuf,
}

impl StagedExe {
    fn new() -> StagedExe {
        StagedExe::of(EXE)
    }

    /// The same for another helper binary (it must exit with the usage code without a role).
    fn of(src: &str) -> StagedExe {
        if !is_root() {
            return StagedExe {
                dir: None,
                exe: PathBuf::from(src),
            };
        }
        let mut tried = Vec::new();
        for base in [std::env::temp_dir(), "/tmp".into(), "/var/tmp".into()] {
            match StagedExe::stage_in(&base, src) {
                Ok(staged) => return staged,
                Err(e) => tried.push(format!("  {}: {e}", base.display())),
            }
        }
        panic!(
            "cannot stage {src} where uid {NOBODY} can execute it: as root this test runs its \
             renderers as uid {NOBODY}, and no candidate directory works for that user:\n{}",
            tried.join("\n")
        );
    }

    /// Copy the binary into a fresh 0755 directory under `base` and check that uid 65534 runs
    /// it (without a role it exits with the usage code).
    fn stage_in(base: &Path, src: &str) -> Result<StagedExe, String> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("electrode-isolation-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let name = Path::new(src).file_name().expect("a binary's file name");
        let staged = StagedExe {
            exe: dir.join(name),
            dir: Some(dir.clone()),
        };
        let mode = |path: &Path| {
            fs::set_permissions(path, fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("chmod 0755 {}: {e}", path.display()))
        };
        mode(&dir)?;
        fs::copy(src, &staged.exe).map_err(|e| format!("copy {src}: {e}"))?;
        mode(&staged.exe)?;
        let mut probe = Command::new(&staged.exe);
        probe
            .current_dir(&dir)
            .uid(NOBODY)
            .gid(NOBODY)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = ChildGuard::spawn(&mut probe)
            .map_err(|e| format!("uid {NOBODY} cannot run {}: {e}", staged.exe.display()))?;
        let status = child
            .wait()
            .map_err(|e| format!("wait for the probe: {e}"))?;
        if status.code() != Some(kit::EXIT_USAGE) {
            return Err(format!(
                "uid {NOBODY} ran {} but it ended with {status:?}, not the usage exit {}",
                staged.exe.display(),
                kit::EXIT_USAGE
            ));
        }
        Ok(staged)
    }

    /// A command running role `args` under the caller's own uid (a sandbox changes it), from
    /// the staging directory.
    fn plain(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(args);
        if let Some(dir) = &self.dir {
            c.current_dir(dir);
        }
        c
    }

    /// A command running role `args` as the renderers' user.
    fn role(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(args);
        if let Some(dir) = &self.dir {
            // Root bypasses permission checks: run the renderers as an unprivileged user, in
            // a directory it can enter.
            c.current_dir(dir).uid(NOBODY).gid(NOBODY);
        }
        c
    }
}

impl Drop for StagedExe {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// Mark every fd this process inherited from whoever started it (cargo's jobserver pipe, for
/// one) close-on-exec: a renderer should hold only what Electrode hands it, and Electrode
/// cannot know what else a host application leaves inheritable.
fn stop_leaking_inherited_fds() {
    for (fd, _) in fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .parse::<i32>()
                .ok()
                .map(|fd| (fd, ()))
        })
    {
        if fd > 2 {
            // A number closed meanwhile (the directory's own fd) just fails.
            let _ = nix::fcntl::fcntl(
                fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            );
        }
    }
}

/// Owner of `/proc/<pid>/environ`: the process's user, or root for a non-dumpable process
/// (the kernel's `task_dump_owner`).
fn proc_owner(pid: u32) -> u32 {
    fs::metadata(format!("/proc/{pid}/environ"))
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

#[test]
fn renderers_cannot_reach_each_other_or_main() {
    let _dog = watchdog(
        Duration::from_secs(120),
        "renderers_cannot_reach_each_other",
    );
    stop_leaking_inherited_fds();
    let exe = StagedExe::new();
    let main = Main::new().unwrap();
    assert!(
        !electrode_shm::is_dumpable().unwrap(),
        "main made itself non-dumpable when it started"
    );
    let (tx, ready) = mpsc::channel();
    let tx = Mutex::new(tx);
    main.ipc().on("victim-ready", move |e, args| {
        let ino = args.get(0).and_then(|v| v.as_i64()).unwrap_or(-1);
        let _ = tx.lock().unwrap().send(ino as u64);
        e.set_return_value(electrode::Value::Null);
    });

    let victim = Spawned::spawn(&main, exe.role(&["victim"]));
    let victim_ino = kit::recv(&ready, "the victim's ready");

    // The control: same user, not hardened, holds a memfd with a secret.
    let scratch = Scratch::new("isolation");
    let bait_out = scratch.path("bait");
    let mut cmd = exe.role(&["bait"]);
    cmd.stdout(Stdio::from(File::create(&bait_out).unwrap()));
    let bait = ChildGuard::spawn(&mut cmd).expect("spawn the bait");
    kit::wait_for("the bait's memfd", || {
        fs::read_to_string(&bait_out).is_ok_and(|s| s.contains("ready"))
    });

    // Seen from outside: a hardened process's /proc files belong to root; the bait's to its
    // own user.
    assert_eq!(proc_owner(victim.pid()), 0, "the victim is non-dumpable");
    assert_eq!(
        proc_owner(bait.pid()),
        renderer_uid(),
        "the bait is dumpable"
    );

    let snoop = Spawned::spawn(
        &main,
        exe.role(&["snoop", &victim.pid().to_string(), &bait.pid().to_string()]),
    );
    snoop.expect_clean_exit();
    let out = snoop.output();
    eprintln!("snoop (uid {}):\n{out}", renderer_uid());
    snoop.expect_ok("inherited-fds-exact");
    // The segment's memfd enters the renderer's fd table only after it made itself
    // non-dumpable (docs/SECURITY.md): dumpable at exec, holding no segment (the line above);
    // then hardened by `connect`, which receives the segment (mapped: `own-segment` below).
    snoop.expect_ok("dumpable-until-connect-hardens");
    snoop.expect_ok("dev-shm-has-no-segment");
    for target in ["victim", "main"] {
        for route in ROUTES {
            let want = format!("ok {target} denied {route} (");
            assert!(
                out.lines().any(|l| l.starts_with(&want)),
                "no `{want}...` line"
            );
        }
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with("ok control bait fd ") && l.ends_with(" readable")),
        "the control failed: the routes are closed for another reason"
    );

    // Each renderer mapped its own segment, and only that; both are main's.
    let snoop_ino: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("own-segment ")?.parse().ok())
        .expect("the snoop's segment");
    assert_ne!(snoop_ino, victim_ino);
    let mains = procfs::mapped_segments(std::process::id()).unwrap();
    assert!(mains.contains(&victim_ino), "{victim_ino} not in {mains:?}");

    victim.wc.send(kit::STOP, &[]).unwrap();
    victim.expect_clean_exit();
    drop(bait);
}

// ---------------------------------------------------------------------------------------------
// Signals: sandboxed renderers (`electrode::Sandbox`) against the same renderers unsandboxed.
// ---------------------------------------------------------------------------------------------

const SANDBOX_EXE: &str = env!("CARGO_BIN_EXE_sandbox_renderer");
/// As root, sandboxed renderer `n` runs as uid and gid `SANDBOX_UID_BASE + n` (ids no account
/// uses: distinct per renderer, so that even without a PID namespace none can signal another).
const SANDBOX_UID_BASE: u32 = 61_000;
/// The large message each way (larger than a ring frame).
const BIG: usize = 3 << 20;

/// Sandbox `s` for renderer `n`: as root with its own ids.
fn sandbox_with(n: u32, s: Sandbox) -> SpawnOptions {
    let s = if is_root() {
        s.uid_range(SANDBOX_UID_BASE, n)
    } else {
        s
    };
    SpawnOptions::new().sandbox(s)
}

/// Main's side of the sandbox roles: echo, add, and what the roles report.
struct Services {
    /// Pids the `idle` and `crash` roles announce (as they see themselves).
    ready: mpsc::Receiver<i64>,
    /// The probe's report.
    reports: mpsc::Receiver<String>,
    /// `hello` messages received.
    hellos: Arc<AtomicUsize>,
}

fn services(main: &Main) -> Services {
    main.ipc().on("echo-sync", |e, args| {
        e.set_return_value(Value::Array(args.to_values()));
    });
    main.ipc()
        .handle("add", |_, args| {
            let n = |i| args.get(i).and_then(|v| v.as_i64()).unwrap_or(0);
            Ok(Value::from(n(0) + n(1)))
        })
        .unwrap();
    let (tx, ready) = mpsc::channel();
    let tx = Mutex::new(tx);
    main.ipc().on("idle-ready", move |e, args| {
        let pid = args.get(0).and_then(|v| v.as_i64()).unwrap_or(-1);
        let _ = tx.lock().unwrap().send(pid);
        e.set_return_value(Value::Null);
    });
    let (tx, reports) = mpsc::channel();
    let tx = Mutex::new(tx);
    main.ipc().on("probe-report", move |e, args| {
        let text = args.get(0).and_then(|v| v.as_str()).unwrap_or("");
        let _ = tx.lock().unwrap().send(text.to_string());
        e.set_return_value(Value::Null);
    });
    let hellos = Arc::new(AtomicUsize::new(0));
    let h = hellos.clone();
    main.ipc().on("hello", move |_, args| {
        if args.get(0).and_then(|v| v.as_str()) == Some("from the sandbox") {
            h.fetch_add(1, Ordering::SeqCst);
        }
    });
    Services {
        ready,
        reports,
        hellos,
    }
}

/// The probe's `key value` lines, by key (everything before the last word).
fn parse_probe(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Whether `pid` is gone: no `/proc/<pid>`, or a zombie (dead, waiting for its reaper).
fn is_dead(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Whether `pid` is stopped (state `T` in `/proc/<pid>/stat`).
fn is_stopped(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('T'))
    })
}

/// The probe's report, checked against what the sandbox says it set up. `siblings` are the
/// sibling's pids the probe was given (intermediate and renderer, as main sees them).
fn check_sandboxed_probe(report: &SandboxReport, got: &HashMap<String, String>, siblings: usize) {
    let key = |k: &str| {
        got.get(k)
            .unwrap_or_else(|| panic!("the probe reported no `{k}` ({got:?})"))
            .as_str()
    };
    let targets: Vec<String> = std::iter::once("main".to_string())
        .chain((0..siblings).map(|i| format!("sibling{i}")))
        .collect();
    if report.pid_namespace.is_done() {
        // Nothing outside the namespace exists for it: every signal is ESRCH.
        assert_eq!(key("self-pid"), "1", "PID 1 of its own namespace");
        assert_eq!(key("ppid"), "0", "its parent lies outside the namespace");
        for t in &targets {
            assert_eq!(key(&format!("kill0 {t}")), "ESRCH", "kill({t}, 0)");
        }
        for i in 0..siblings {
            assert_eq!(
                key(&format!("stop sibling{i}")),
                "ESRCH",
                "SIGSTOP sibling{i}"
            );
        }
        // The pidfd on main it inherited (and watches main through) cannot signal it either.
        assert_eq!(key("pidfd-signal main"), "EINVAL");
        assert_eq!(key("kill-all"), "ESRCH", "kill(-1, SIGSTOP) reaches nobody");
        if report.fresh_proc.is_done() {
            for t in &targets {
                assert_eq!(key(&format!("proc {t}")), "absent", "/proc/<{t}>");
            }
            assert_eq!(key("proc-count"), "1", "its /proc lists itself only");
        } else {
            eprintln!(
                "NOTE: no fresh /proc ({}): the renderer cannot signal main or its siblings, \
                 but their /proc entries stay visible",
                report.fresh_proc
            );
            assert!(!report.not_set_up().is_empty());
            assert_eq!(key("proc main"), "present");
        }
    } else if report.uid.is_some() {
        eprintln!(
            "NOTE: no PID namespace ({}): only the distinct uid keeps signals out",
            report.pid_namespace
        );
        assert!(
            report.pid_namespace == SandboxSetup::Off || !report.not_set_up().is_empty(),
            "a PID namespace asked for and missing is in the report: {report}"
        );
        for t in &targets {
            assert_eq!(key(&format!("kill0 {t}")), "EPERM", "kill({t}, 0)");
        }
        for i in 0..siblings {
            assert_eq!(
                key(&format!("stop sibling{i}")),
                "EPERM",
                "SIGSTOP sibling{i}"
            );
        }
        assert_eq!(key("pidfd-signal main"), "EPERM");
        // kill(-1, SIGSTOP) returns 0 here: the kernel reports success when it found
        // processes, even if every one refused (EPERM). That it stopped nobody outside is
        // checked by the caller (main runs on; the sibling is not stopped).
        assert!(
            got.contains_key("kill-all"),
            "the probe tried kill(-1, SIGSTOP)"
        );
        assert_eq!(
            key("proc main"),
            "present",
            "no PID namespace: /proc shows main"
        );
    } else {
        // Unprivileged, and the kernel refused the namespaces (or none was asked for):
        // nothing stops signals. Say so loudly, check the report says why, and that the
        // documented weakness is real.
        let missing = report.not_set_up();
        eprintln!(
            "SANDBOX NOT SET UP: neither a PID namespace nor another uid here; the renderer \
             CAN signal main and its siblings. Missing: {missing:?}"
        );
        let asked =
            report.pid_namespace != SandboxSetup::Off || report.user_namespace != SandboxSetup::Off;
        assert!(
            !asked || !missing.is_empty(),
            "the report names what is missing: {report}"
        );
        assert_eq!(key("kill0 main"), "ok");
        assert_eq!(key("stop sibling0"), "ok");
    }
}

/// Main's invoke of the renderer's handler, with a large argument, from outside the sandbox.
fn check_main_to_renderer(wc: &electrode::WebContents) {
    let big = "y".repeat(BIG);
    assert_eq!(
        wc.invoke_blocking("renderer-len", &[Value::from(big.as_str())], None)
            .unwrap(),
        Value::from(BIG as i64)
    );
}

#[test]
fn sandboxed_renderers_cannot_signal_or_see_main_or_each_other() {
    let _dog = watchdog(
        Duration::from_secs(120),
        "sandboxed_renderers_cannot_signal",
    );
    stop_leaking_inherited_fds();
    sandboxed_probe(Sandbox::new());
}

#[test]
fn a_pid_namespace_without_a_user_namespace_as_root() {
    // As root, the PID namespace needs no user namespace (the privileged path: the uid is
    // changed after /proc is mounted). Unprivileged, the kernel refuses it: the report says so.
    let _dog = watchdog(
        Duration::from_secs(120),
        "a_pid_namespace_without_a_user_namespace",
    );
    stop_leaking_inherited_fds();
    sandboxed_probe(Sandbox::new().user_namespace(SandboxMode::Off));
}

#[test]
fn distinct_uids_alone_keep_signals_out_as_root() {
    // No namespace at all: as root the distinct uids alone make every signal EPERM.
    let _dog = watchdog(Duration::from_secs(120), "distinct_uids_alone");
    stop_leaking_inherited_fds();
    sandboxed_probe(
        Sandbox::new()
            .user_namespace(SandboxMode::Off)
            .pid_namespace(SandboxMode::Off),
    );
}

/// A sandboxed sibling (`idle`) and a sandboxed probe, both in `base` (as root each with its
/// own ids): the probe's findings checked against what its report says was set up.
fn sandboxed_probe(base: Sandbox) {
    let exe = StagedExe::of(SANDBOX_EXE);
    let main = Main::new().unwrap();
    let svc = services(&main);

    let sibling = Spawned::spawn_with(&main, exe.plain(&["idle"]), sandbox_with(0, base));
    let sibling_inside = kit::recv(&svc.ready, "the sibling's ready");
    let sib = sibling
        .wc
        .sandbox()
        .expect("a sandboxed renderer has a report");
    eprintln!("sibling sandbox: {sib} (its own pid inside: {sibling_inside})");
    let mut sibling_pids = vec![sibling.pid()];
    if let Some(p) = sib.renderer_pid {
        assert!(
            sib.pid_namespace.is_done(),
            "an intermediate only for a PID namespace"
        );
        assert_eq!(sibling_inside, 1, "the renderer is PID 1 of its namespace");
        sibling_pids.push(p);
    }
    let mut args: Vec<String> = vec!["probe".into(), std::process::id().to_string()];
    args.extend(sibling_pids.iter().map(|p| p.to_string()));
    args.push("--kill-all-as".into());
    args.push(
        if is_root() {
            SANDBOX_UID_BASE + 1
        } else {
            u32::MAX
        }
        .to_string(),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let probe = Spawned::spawn_with(&main, exe.plain(&args), sandbox_with(1, base));
    let text = kit::recv(&svc.reports, "the probe's report");
    let report = probe
        .wc
        .sandbox()
        .expect("a sandboxed renderer has a report");
    eprintln!("probe sandbox: {report}\nprobe report:\n{text}");
    assert!(report.no_new_privs);
    if is_root() {
        assert_eq!(report.uid, Some(SANDBOX_UID_BASE + 1));
        assert_eq!(report.gid, Some(SANDBOX_UID_BASE + 1));
        assert_eq!(sib.uid, Some(SANDBOX_UID_BASE));
    }
    check_sandboxed_probe(&report, &parse_probe(&text), sibling_pids.len());
    for pid in &sibling_pids {
        assert!(
            !is_stopped(*pid),
            "the sibling {pid} was stopped by the probe"
        );
    }
    if let (false, true, Some(inner)) = (
        is_root(),
        report.user_namespace.is_done(),
        report.renderer_pid,
    ) {
        // The documented caveat of the unprivileged path: main's user owns the renderer's
        // user namespace (so holds CAP_SYS_PTRACE in it), and a process of that user outside
        // (this test) passes the ptrace check on the connected, non-dumpable renderer: its
        // /proc/<pid>/maps opens (files the kernel gives to root, 0400, such as `environ`,
        // stay closed).
        assert!(
            fs::read(format!("/proc/{inner}/maps")).is_ok(),
            "docs/SECURITY.md says main's user can read a user-namespace renderer's maps"
        );
    }

    // Every IPC path works from inside: the probe used send, send_sync (a large message) and
    // invoke both ways before it reported; now main invokes it, with a large argument.
    check_main_to_renderer(&probe.wc);
    assert_eq!(svc.hellos.load(Ordering::SeqCst), 1);
    probe.expect_ok("ipc");

    let mut renderers = vec![sibling.pid(), probe.pid()];
    renderers.extend(sib.renderer_pid);
    renderers.extend(report.renderer_pid);
    for r in [&sibling, &probe] {
        r.wc.send("stop", &[]).unwrap();
        r.expect_clean_exit();
    }
    for pid in renderers {
        kit::wait_for("the sandboxed processes' end", || is_dead(pid));
    }
}

#[test]
fn unsandboxed_renderers_can_signal_main_and_each_other() {
    // The control: what docs/SECURITY.md says holds without a sandbox. Same roles, spawned
    // plainly (as main's own user).
    let _dog = watchdog(Duration::from_secs(120), "unsandboxed_renderers_can_signal");
    stop_leaking_inherited_fds();
    let main = Main::new().unwrap();
    let svc = services(&main);
    let sibling = Spawned::spawn(&main, {
        let mut c = Command::new(SANDBOX_EXE);
        c.arg("idle");
        c
    });
    kit::recv(&svc.ready, "the sibling's ready");
    assert!(sibling.wc.sandbox().is_none());
    let probe = Spawned::spawn(&main, {
        let mut c = Command::new(SANDBOX_EXE);
        c.args([
            "probe",
            &std::process::id().to_string(),
            &sibling.pid().to_string(),
        ]);
        c
    });
    let text = kit::recv(&svc.reports, "the probe's report");
    eprintln!("unsandboxed probe report:\n{text}");
    let got = parse_probe(&text);
    let key = |k: &str| got.get(k).map(String::as_str).unwrap_or("(none)");
    assert_eq!(
        key("ppid"),
        std::process::id().to_string(),
        "it sees main as its parent"
    );
    assert_eq!(key("kill0 main"), "ok", "it can signal main");
    assert_eq!(key("kill0 sibling0"), "ok", "it can signal its sibling");
    assert_eq!(
        key("stop sibling0"),
        "ok",
        "it can stop its sibling (then continues it)"
    );
    assert_eq!(
        key("pidfd-signal main"),
        "ok",
        "its pidfd on main can signal main"
    );
    assert_eq!(key("proc main"), "present");
    assert_eq!(key("proc sibling0"), "present");
    check_main_to_renderer(&probe.wc);
    for r in [&sibling, &probe] {
        r.wc.send("stop", &[]).unwrap();
        r.expect_clean_exit();
    }
}

#[test]
fn a_sandbox_that_cannot_be_set_up_fails_the_spawn_saying_why() {
    let _dog = watchdog(Duration::from_secs(60), "a_sandbox_that_cannot_be_set_up");
    let main = Main::new().unwrap();
    let spawn = |s: Sandbox| {
        main.spawn_renderer_with(
            {
                let mut c = Command::new(SANDBOX_EXE);
                c.arg("idle");
                c
            },
            SpawnOptions::new().sandbox(s),
        )
    };
    // No such gid (-1): setgid refuses it, as root or not.
    let err = spawn(Sandbox::new().uid(u32::MAX)).expect_err("gid -1 cannot be set");
    let text = err.to_string();
    eprintln!("{text}");
    match &err {
        ConnectError::Sandbox(SandboxError::Step { step, error }) => {
            assert_eq!(*step, SandboxStep::SetGid);
            assert_eq!(error.raw_os_error(), Some(libc::EINVAL));
        }
        other => panic!("not a sandbox error: {other:?}"),
    }
    assert!(
        text.contains("setgid") && text.contains("Invalid argument"),
        "{text}"
    );
    if !is_root() {
        // Unprivileged, a PID namespace needs a user namespace: required without one, EPERM.
        let err = spawn(
            Sandbox::new()
                .user_namespace(SandboxMode::Off)
                .pid_namespace(SandboxMode::Required),
        )
        .expect_err("no PID namespace without privileges");
        eprintln!("{err}");
        match &err {
            ConnectError::Sandbox(SandboxError::Step { step, error }) => {
                assert_eq!(*step, SandboxStep::PidNamespace);
                assert_eq!(error.raw_os_error(), Some(libc::EPERM));
            }
            other => panic!("not a sandbox error: {other:?}"),
        }
        // ... and IfPermitted goes on without it, saying so.
        let wc = spawn(
            Sandbox::new()
                .user_namespace(SandboxMode::Off)
                .pid_namespace(SandboxMode::IfPermitted),
        )
        .expect("IfPermitted spawns anyway");
        let report = wc.sandbox().unwrap();
        assert_eq!(
            report.pid_namespace,
            SandboxSetup::Skipped { errno: libc::EPERM }
        );
        assert_eq!(report.not_set_up().len(), 1, "{:?}", report.not_set_up());
        assert!(report.no_new_privs);
        wc.send("stop", &[]).unwrap();
    }
    assert!(main.web_contents().iter().all(|w| w.sandbox().is_some()));
}

#[test]
fn a_sandboxed_renderer_dies_with_its_intermediate_and_reports_how_it_died() {
    let _dog = watchdog(Duration::from_secs(120), "a_sandboxed_renderer_dies");
    stop_leaking_inherited_fds();
    // With and without a user namespace (as root, the latter is the privileged path).
    dies_with(Sandbox::new());
    dies_with(Sandbox::new().user_namespace(SandboxMode::Off));
}

fn dies_with(base: Sandbox) {
    let exe = StagedExe::of(SANDBOX_EXE);
    let main = Main::new().unwrap();
    let svc = services(&main);
    let spawn = |role: &str, n: u32| {
        let r = Spawned::spawn_with(&main, exe.plain(&[role]), sandbox_with(n, base));
        kit::recv(&svc.ready, "the renderer's ready");
        let report = r.wc.sandbox().unwrap();
        (r, report.renderer_pid)
    };
    let (probe, inner) = spawn("idle", 0);
    if inner.is_none() {
        eprintln!(
            "NOTE: no PID namespace here ({}): no intermediate to test",
            probe.wc.sandbox().unwrap()
        );
        assert!(!probe.wc.sandbox().unwrap().not_set_up().is_empty());
        return;
    }
    probe.wc.send("stop", &[]).unwrap();
    probe.expect_clean_exit();

    // Main (or anyone) kills the intermediate: the renderer goes too (PR_SET_PDEATHSIG).
    let (r, inner) = spawn("idle", 1);
    let inner = inner.unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(r.pid() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    r.expect_gone(GoneReason::Killed);
    kit::wait_for("the renderer after its intermediate", || is_dead(inner));

    // The renderer itself is killed: the intermediate ends with the same signal.
    let (r, inner) = spawn("idle", 2);
    let inner = inner.unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(inner as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let d = r.expect_gone(GoneReason::Killed);
    assert_eq!(d.exit_code, libc::SIGKILL);
    assert!(is_dead(r.pid()) || !Path::new(&format!("/proc/{}", r.pid())).exists());

    // A real crash (SIGSEGV) is reported as one.
    let (r, inner) = spawn("crash", 3);
    let d = r.expect_gone(GoneReason::Crashed);
    assert_eq!(d.exit_code, libc::SIGSEGV);
    kit::wait_for("the crashed renderer", || is_dead(inner.unwrap()));

    // Dropping main kills every renderer, intermediates and renderers alike.
    let live: Vec<(Spawned, Option<u32>)> = (4..6).map(|n| spawn("idle", n)).collect();
    let pids: Vec<u32> = live
        .iter()
        .flat_map(|(r, inner)| std::iter::once(r.pid()).chain(*inner))
        .collect();
    drop(live);
    drop(main);
    for pid in pids {
        kit::wait_for("every sandboxed process after main's drop", || is_dead(pid));
    }
}
