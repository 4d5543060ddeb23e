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

use electrode::Main;
use electrode_tests::child::ChildGuard;
use electrode_tests::hostile_kit::{self as kit, Scratch, Spawned};
use electrode_tests::{procfs, watchdog};
use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
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

fn role(args: &[&str]) -> Command {
    let mut c = Command::new(EXE);
    c.args(args);
    if is_root() {
        // Root bypasses permission checks: run the renderers as an unprivileged user.
        c.uid(NOBODY).gid(NOBODY);
    }
    c
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

    let victim = Spawned::spawn(&main, role(&["victim"]));
    let victim_ino = kit::recv(&ready, "the victim's ready");

    // The control: same user, not hardened, holds a memfd with a secret.
    let scratch = Scratch::new("isolation");
    let bait_out = scratch.path("bait");
    let mut cmd = role(&["bait"]);
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
        role(&["snoop", &victim.pid().to_string(), &bait.pid().to_string()]),
    );
    snoop.expect_clean_exit();
    let out = snoop.output();
    eprintln!("snoop (uid {}):\n{out}", renderer_uid());
    snoop.expect_ok("inherited-fds-exact");
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
