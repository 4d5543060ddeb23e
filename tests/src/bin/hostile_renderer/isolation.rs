//! Isolation: who can reach whose segment. A victim, an unhardened bait, and a snoop that
//! tries every route into the others.

use crate::good::connect;
use crate::report::{fail, ok, say};
use electrode::Value;
use electrode_tests::hostile_kit as kit;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Inodes of the Electrode segments this process has mapped.
fn own_segment_inodes() -> Vec<u64> {
    let mut v: Vec<u64> = electrode_tests::procfs::mapped_segments(std::process::id())
        .map(|s| s.into_iter().collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Role `victim`: connect, report its segment's inode, live until main says `stop`.
pub(crate) fn victim() -> i32 {
    let ipc = connect();
    let inodes = own_segment_inodes();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ipc.on(kit::STOP, move |_, _| s.store(true, Ordering::SeqCst));
    let ino = inodes.first().copied().unwrap_or(0) as i64;
    if let Err(e) = ipc.send_sync("victim-ready", &[Value::from(ino)]) {
        return fail(&format!("ready: {e}"));
    }
    while !stop.load(Ordering::SeqCst) {
        if ipc.is_disconnected() {
            return kit::EXIT_MAIN_GONE;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    kit::EXIT_OK
}

/// Role `bait`: an unhardened process holding a memfd with a secret (the control).
pub(crate) fn bait() -> i32 {
    let fd = match nix::sys::memfd::memfd_create(c"bait", nix::sys::memfd::MemFdCreateFlag::empty())
    {
        Ok(fd) => fd,
        Err(e) => return fail(&format!("memfd: {e}")),
    };
    let mut f = File::from(fd);
    let _ = f.write_all(b"bait-secret");
    say(&format!("ready {}", f.as_raw_fd()));
    // Live until the test kills us (or goes away: we are then reparented).
    let parent = nix::unistd::getppid();
    let start = Instant::now();
    while start.elapsed() < kit::CHILD_WATCHDOG && nix::unistd::getppid() == parent {
        std::thread::sleep(Duration::from_millis(10));
    }
    kit::EXIT_OK
}

/// The error's kind, for a report line.
fn errno_of(e: &std::io::Error) -> String {
    format!("{:?}", e.kind())
}

/// `pidfd_open(pid, 0)`, if allowed.
fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags; it returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0u32) };
    // SAFETY: a non-negative return is a fresh fd that only we own.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `pidfd_getfd(pidfd, target, 0)`: a duplicate of another process's fd, if allowed.
fn pidfd_getfd(pidfd: &OwnedFd, target: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_getfd takes two fds and flags; it returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), target, 0u32) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a non-negative return is a fresh fd that only we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Try every route to `pid`'s memory and fds; each that opens is a `FAIL` line.
fn probe_denied(label: &str, pid: u32) -> bool {
    let mut all_denied = true;
    let mut denied = |route: &str, r: Result<String, String>| match r {
        Ok(what) => {
            fail(&format!("{label}: {route} is open: {what}"));
            all_denied = false;
        }
        Err(why) => ok(&format!("{label} denied {route} ({why})")),
    };
    let base = format!("/proc/{pid}");
    denied(
        "fd-dir",
        fs::read_dir(format!("{base}/fd"))
            .map(|d| format!("{} entries", d.count()))
            .map_err(|e| errno_of(&e)),
    );
    let opened: Vec<i32> = (0..64)
        .filter(|n| {
            fs::OpenOptions::new()
                .read(true)
                .open(format!("{base}/fd/{n}"))
                .is_ok()
        })
        .collect();
    denied(
        "fd-open",
        if opened.is_empty() {
            Err("no fd 0..64 opens".into())
        } else {
            Ok(format!("fds {opened:?}"))
        },
    );
    denied(
        "map-files",
        fs::read_dir(format!("{base}/map_files"))
            .map(|d| format!("{} entries", d.count()))
            .map_err(|e| errno_of(&e)),
    );
    denied(
        "maps",
        fs::read_to_string(format!("{base}/maps"))
            .map(|s| format!("{} bytes", s.len()))
            .map_err(|e| errno_of(&e)),
    );
    denied(
        "mem",
        File::open(format!("{base}/mem"))
            .map(|_| "opened".to_string())
            .map_err(|e| errno_of(&e)),
    );
    let mut buf = [0u8; 8];
    let remote = [nix::sys::uio::RemoteIoVec {
        base: 0x10000,
        len: 8,
    }];
    let vm = nix::sys::uio::process_vm_readv(
        nix::unistd::Pid::from_raw(pid as i32),
        &mut [std::io::IoSliceMut::new(&mut buf)],
        &remote,
    );
    denied(
        "process_vm_readv",
        match vm {
            Ok(n) => Ok(format!("read {n} bytes")),
            Err(nix::errno::Errno::EPERM) => Err("EPERM".into()),
            // Any other error means the permission check passed.
            Err(e) => Ok(format!("permitted (then {e})")),
        },
    );
    denied(
        "pidfd_getfd",
        match pidfd_open(pid) {
            None => Err("pidfd_open failed".into()),
            Some(pf) => {
                let got: Vec<i32> = (0..64).filter(|&n| pidfd_getfd(&pf, n).is_ok()).collect();
                if got.is_empty() {
                    Err(format!(
                        "every fd 0..64 refused ({})",
                        pidfd_getfd(&pf, 0)
                            .err()
                            .map(|e| errno_of(&e))
                            .unwrap_or_default()
                    ))
                } else {
                    Ok(format!("took fds {got:?}"))
                }
            }
        },
    );
    // SAFETY: PTRACE_SEIZE takes a pid and no pointers; it does not stop the target.
    let r = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid as libc::pid_t, 0usize, 0usize) };
    denied(
        "ptrace",
        if r == 0 {
            // SAFETY: detach the tracee we just seized.
            unsafe { libc::ptrace(libc::PTRACE_DETACH, pid as libc::pid_t, 0usize, 0usize) };
            Ok("seized".into())
        } else {
            Err(errno_of(&std::io::Error::last_os_error()))
        },
    );
    all_denied
}

/// Role `snoop VICTIM BAIT`: check what it inherited, then try every route into the victim's
/// and main's memory and fds (each must be denied) and into the bait's (which must work).
pub(crate) fn snoop(victim: u32, bait: u32) -> i32 {
    let mut failed = false;
    // 1. What we inherited: stdio, our end of the fd socket and main's pidfd, nothing else:
    //    no segment (it is still in the socket's queue) while we are still dumpable.
    let handoff = std::env::var(electrode_shm::HANDOFF_ENV).unwrap_or_default();
    let parts: Vec<i64> = handoff.split(',').filter_map(|p| p.parse().ok()).collect();
    let (sock_fd, main_fd, main_pid) = match parts[..] {
        [s, m, p] => (s as i32, m as i32, p as u32),
        _ => return fail("no handoff"),
    };
    let dumpable_before = electrode_shm::is_dumpable().ok();
    let mut extra = Vec::new();
    let mut seen_sock = false;
    let mut seen_main = false;
    for entry in fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
    {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let target = fs::read_link(entry.path())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if fd == sock_fd && target.starts_with("socket:") {
            seen_sock = true;
        } else if fd == main_fd && target == "anon_inode:[pidfd]" {
            seen_main = true;
        } else if fd > 2 && !target.starts_with("/proc/") {
            extra.push(format!("{fd} -> {target}"));
        }
    }
    if seen_sock && seen_main && extra.is_empty() {
        ok("inherited-fds-exact");
    } else {
        failed = true;
        fail(&format!(
            "inherited fds: fd socket {seen_sock}, main pidfd {seen_main}, extra {extra:?}"
        ));
    }
    // 2. Connect as usual: the segment arrives only after `connect` made us non-dumpable
    //    (before it we were dumpable and held no segment: step 1); then it is mapped, and it
    //    is the only one, our own.
    let ipc = connect();
    match (dumpable_before, electrode_shm::is_dumpable().ok()) {
        (Some(true), Some(false)) => ok("dumpable-until-connect-hardens"),
        (before, after) => {
            failed = true;
            fail(&format!(
                "dumpable before connect {before:?}, after {after:?} (expected true, false)"
            ));
        }
    }
    let inodes = own_segment_inodes();
    if inodes.len() == 1 {
        say(&format!("own-segment {}", inodes[0]));
    } else {
        failed = true;
        fail(&format!("segments mapped: {inodes:?}"));
    }
    // 3. Nothing named in /dev/shm.
    let named: Vec<String> = fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("electrode"))
        .collect();
    if named.is_empty() {
        ok("dev-shm-has-no-segment");
    } else {
        failed = true;
        fail(&format!("/dev/shm holds {named:?}"));
    }
    // 4. Every route into the victim and into main.
    failed |= !probe_denied("victim", victim);
    failed |= !probe_denied("main", main_pid);
    // 5. The control: the same routes into a same-user process that is not hardened work, so
    //    the denials above are the hardening's doing, not the environment's.
    if bait != 0 {
        let secret = (0..64).find_map(|n| {
            let mut f = File::open(format!("/proc/{bait}/fd/{n}")).ok()?;
            let mut s = String::new();
            f.read_to_string(&mut s).ok()?;
            (s == "bait-secret").then_some(n)
        });
        match secret {
            Some(n) => ok(&format!("control bait fd {n} readable")),
            None => {
                failed = true;
                fail("control: the unhardened bait's memfd is not readable through /proc");
            }
        }
        match pidfd_open(bait).map(|pf| (0..64).any(|n| pidfd_getfd(&pf, n).is_ok())) {
            Some(true) => ok("control bait pidfd_getfd works"),
            _ => say("info: pidfd_getfd on the bait is refused here too"),
        }
    }
    drop(ipc);
    if failed {
        kit::EXIT_FAILED
    } else {
        kit::EXIT_OK
    }
}
