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

use electrode::Main;
use electrode_tests::child::ChildGuard;
use electrode_tests::hostile_kit::{self as kit, Scratch, Spawned};
use electrode_tests::{procfs, watchdog};
use std::fs::{self, File};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
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
        if !is_root() {
            return StagedExe {
                dir: None,
                exe: PathBuf::from(EXE),
            };
        }
        let mut tried = Vec::new();
        for base in [std::env::temp_dir(), "/tmp".into(), "/var/tmp".into()] {
            match StagedExe::stage_in(&base) {
                Ok(staged) => return staged,
                Err(e) => tried.push(format!("  {}: {e}", base.display())),
            }
        }
        panic!(
            "cannot stage {EXE} where uid {NOBODY} can execute it: as root this test runs its \
             renderers as uid {NOBODY}, and no candidate directory works for that user:\n{}",
            tried.join("\n")
        );
    }

    /// Copy the binary into a fresh 0755 directory under `base` and check that uid 65534 runs
    /// it (without a role it exits with the usage code).
    fn stage_in(base: &Path) -> Result<StagedExe, String> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("electrode-isolation-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let staged = StagedExe {
            exe: dir.join("hostile_renderer"),
            dir: Some(dir.clone()),
        };
        let mode = |path: &Path| {
            fs::set_permissions(path, fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("chmod 0755 {}: {e}", path.display()))
        };
        mode(&dir)?;
        fs::copy(EXE, &staged.exe).map_err(|e| format!("copy {EXE}: {e}"))?;
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
