//! The sandbox's pre-exec code: what a renderer's forked child does to itself before `exec`
//! (credentials, namespaces, a fresh `/proc`, `no_new_privs`), and the waiting intermediate
//! a PID namespace needs.
//!
//! Everything here after `fork` is async-signal-safe: plain system calls on values prepared
//! before the fork (the plan is `Copy`, the strings are static C literals, the report is a
//! fixed array on the stack). Nothing allocates and nothing takes a lock.
//!
//! What happened is written, as fixed-size [`Record`]s, into a pipe main created
//! (`O_CLOEXEC`, so `exec` closes it): a [`MAGIC_PID`] record from the intermediate (the
//! renderer's pid as main sees it) and one [`MAGIC_FINAL`] record from whichever process
//! finished (the renderer just before `exec`) or failed (naming the step and its errno).

use crate::sandbox::{Mode, Plan, Step};
use std::io;
use std::os::fd::RawFd;

/// Words in one record.
pub(crate) const WORDS: usize = 16;
/// One record, as written into the report pipe.
pub(crate) type Record = [u32; WORDS];
/// A record of the outcome (word 0).
pub(crate) const MAGIC_FINAL: u32 = 0x5342_5846;
/// A record of the renderer's outer pid (word 0; word 1 the pid).
pub(crate) const MAGIC_PID: u32 = 0x5342_5850;

/// The report's state slots (word `W_STATE + slot`, its errno at `W_ERRNO + slot`).
pub(crate) const SLOT_CREDS: usize = 0;
pub(crate) const SLOT_USER: usize = 1;
pub(crate) const SLOT_PID: usize = 2;
pub(crate) const SLOT_PROC: usize = 3;
pub(crate) const SLOT_NNP: usize = 4;
pub(crate) const SLOTS: usize = 5;
pub(crate) const W_STATE: usize = 1;
pub(crate) const W_ERRNO: usize = W_STATE + SLOTS;
/// The failed step's code plus one (0: nothing failed), and its errno.
pub(crate) const W_FAILED: usize = W_ERRNO + SLOTS;
pub(crate) const W_FAILED_ERRNO: usize = W_FAILED + 1;
pub(crate) const W_UID: usize = W_FAILED_ERRNO + 1;
pub(crate) const W_GID: usize = W_UID + 1;
const _: () = assert!(W_GID < WORDS);
const _: () = assert!(
    WORDS * 4 <= libc::PIPE_BUF,
    "a record is written atomically"
);

/// A state word: not asked for.
pub(crate) const STATE_OFF: u32 = 0;
/// A state word: set up.
pub(crate) const STATE_DONE: u32 = 1;
/// A state word: asked for `IfPermitted`, refused by the kernel (errno beside it).
pub(crate) const STATE_SKIPPED: u32 = 2;

/// Exit status of a renderer that found its intermediate already dead before it could be
/// tied to it (nothing would kill it later): it exits instead of running unwatched.
const EXIT_ORPHANED: i32 = 126;

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Write `rec` into the report pipe (one `write` of at most `PIPE_BUF` bytes: atomic).
fn write_record(fd: RawFd, rec: &Record) {
    let mut bytes = [0u8; WORDS * 4];
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(rec.iter()) {
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    // SAFETY: `bytes` is a live stack buffer of exactly the length passed; write(2) is
    // async-signal-safe. A failed write leaves main without the record, which it reports.
    let _ = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
}

/// Record that `step` failed with `errno`, and return the error the hook returns.
fn fail(rec: &mut Record, report: RawFd, step: Step, errno: i32) -> io::Error {
    rec[W_FAILED] = step as u32 + 1;
    rec[W_FAILED_ERRNO] = errno as u32;
    write_record(report, rec);
    io::Error::from_raw_os_error(errno)
}

/// A system call's return code as a result: `Err(errno)` when it failed. Call it right after
/// the call, before anything else can change `errno`.
fn checked(rc: libc::c_int) -> Result<(), i32> {
    if rc == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// The outcome of one optional step: done, skipped (when `IfPermitted`), or the hook's error
/// (when `Required`).
fn attempt(
    rec: &mut Record,
    report: RawFd,
    slot: usize,
    mode: Mode,
    step: Step,
    outcome: Result<(), i32>,
) -> io::Result<bool> {
    let Err(e) = outcome else {
        rec[W_STATE + slot] = STATE_DONE;
        return Ok(true);
    };
    if mode == Mode::Required {
        return Err(fail(rec, report, step, e));
    }
    rec[W_STATE + slot] = STATE_SKIPPED;
    rec[W_ERRNO + slot] = e as u32;
    Ok(false)
}

/// Drop to the plan's gid and uid (supplementary groups cleared first when we are root).
fn change_ids(plan: &Plan, rec: &mut Record, report: RawFd) -> io::Result<()> {
    if plan.uid.is_none() && plan.gid.is_none() {
        return Ok(());
    }
    // SAFETY: geteuid, setgroups with a null list of length 0, setgid and setuid take plain
    // integers; all are async-signal-safe.
    unsafe {
        if libc::geteuid() == 0 && libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(fail(rec, report, Step::SetGroups, errno()));
        }
        if let Some(gid) = plan.gid {
            if libc::setgid(gid) != 0 {
                return Err(fail(rec, report, Step::SetGid, errno()));
            }
        }
        if let Some(uid) = plan.uid {
            if libc::setuid(uid) != 0 {
                return Err(fail(rec, report, Step::SetUid, errno()));
            }
        }
    }
    rec[W_STATE + SLOT_CREDS] = STATE_DONE;
    rec[W_UID] = plan.uid.unwrap_or(u32::MAX);
    rec[W_GID] = plan.gid.unwrap_or(u32::MAX);
    Ok(())
}

/// `unshare(CLONE_NEWUSER)`, as the plan's mode says: whether it was set up.
fn new_user_ns(plan: &Plan, rec: &mut Record, report: RawFd) -> io::Result<bool> {
    // SAFETY: unshare takes flags; async-signal-safe.
    let outcome = checked(unsafe { libc::unshare(libc::CLONE_NEWUSER) });
    attempt(
        rec,
        report,
        SLOT_USER,
        plan.user_ns,
        Step::UserNamespace,
        outcome,
    )
}

/// The pre-exec hook: set up the sandbox `plan` describes in this (forked) child, writing the
/// outcome into `report`. With a PID namespace this forks once more: the calling process
/// becomes the waiting intermediate (it never returns), the new child (PID 1 of the
/// namespace) returns and goes on to `exec` the renderer.
///
/// # Safety
///
/// Only in a child forked by `Command::spawn`, before `exec` (a `pre_exec` hook): it may fork,
/// change the process's credentials and namespaces, and `_exit`. `report` must be the write
/// end of the report pipe.
pub(crate) unsafe fn enter(plan: &Plan, report: RawFd) -> io::Result<()> {
    let mut rec: Record = [0; WORDS];
    rec[0] = MAGIC_FINAL;
    let mut ids_pending = plan.uid.is_some() || plan.gid.is_some();
    let mut user_tried = false;
    // A new user namespace maps none of our ids: change them first, while they still mean
    // something, then do the rest with the namespace's capabilities. Except as root with ids
    // to change and a PID namespace to make: root needs no user namespace for that, and after
    // dropping to another uid it may not get one (a kernel that restricts unprivileged user
    // namespaces), so the PID namespace comes first, the ids in the renderer, the user
    // namespace (if asked) last, as the new uid.
    // SAFETY: geteuid takes nothing and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let user_first =
        plan.user_ns != Mode::Off && !(root && ids_pending && plan.pid_ns != Mode::Off);
    if user_first {
        change_ids(plan, &mut rec, report)?;
        ids_pending = false;
        user_tried = true;
        new_user_ns(plan, &mut rec, report)?;
    }
    let mut in_pid_ns = false;
    if plan.pid_ns != Mode::Off {
        // SAFETY: unshare takes flags; async-signal-safe.
        let mut outcome = checked(unsafe { libc::unshare(libc::CLONE_NEWPID | libc::CLONE_NEWNS) });
        if outcome.is_err() && !user_tried && plan.user_ns != Mode::Off {
            // Root without CAP_SYS_ADMIN (a container): the unprivileged way after all. If the
            // user namespace is refused too, the PID namespace's own refusal is reported.
            change_ids(plan, &mut rec, report)?;
            ids_pending = false;
            user_tried = true;
            if new_user_ns(plan, &mut rec, report)? {
                // SAFETY: as above.
                outcome = checked(unsafe { libc::unshare(libc::CLONE_NEWPID | libc::CLONE_NEWNS) });
            }
        }
        in_pid_ns = attempt(
            &mut rec,
            report,
            SLOT_PID,
            plan.pid_ns,
            Step::PidNamespace,
            outcome,
        )?;
    }
    let mut alive: [RawFd; 2] = [-1, -1];
    if in_pid_ns {
        // `unshare(CLONE_NEWPID)` moves only our children into the namespace: fork once more.
        // `alive` tells the new child whether we were still there once it is tied to us.
        // SAFETY: pipe2 writes two fds into the live two-element array; async-signal-safe.
        if unsafe { libc::pipe2(alive.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(fail(&mut rec, report, Step::Fork, errno()));
        }
        // SAFETY: fork in a single-threaded child (a `pre_exec` hook); both sides only make
        // async-signal-safe calls afterwards.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(fail(&mut rec, report, Step::Fork, errno()));
        }
        if pid > 0 {
            let mut p: Record = [0; WORDS];
            p[0] = MAGIC_PID;
            p[1] = pid as u32;
            write_record(report, &p);
            // SAFETY: we are the intermediate, `pid` our only child, `alive[1]` our end.
            unsafe { intermediate(pid, alive[1]) }
        }
        // SAFETY: our copy of the intermediate's end; closing an fd we own.
        unsafe { libc::close(alive[1]) };
        // PID 1 of the new namespace: give it a /proc that shows only the namespace, in its
        // own mount namespace (made private first, so nothing propagates back to the host).
        // SAFETY: mount with static NUL-terminated strings and null data; async-signal-safe.
        let rc = unsafe {
            let private = libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            );
            if private != 0 {
                private
            } else {
                libc::mount(
                    c"proc".as_ptr(),
                    c"/proc".as_ptr(),
                    c"proc".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    std::ptr::null(),
                )
            }
        };
        attempt(
            &mut rec,
            report,
            SLOT_PROC,
            plan.pid_ns,
            Step::MountProc,
            checked(rc),
        )?;
    }
    if ids_pending {
        change_ids(plan, &mut rec, report)?;
    }
    if plan.user_ns != Mode::Off && !user_tried {
        new_user_ns(plan, &mut rec, report)?;
    }
    // SAFETY: prctl with integer arguments; async-signal-safe.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(fail(&mut rec, report, Step::NoNewPrivs, errno()));
    }
    rec[W_STATE + SLOT_NNP] = STATE_DONE;
    if in_pid_ns {
        // After the id change (which clears it): the intermediate's death kills us.
        // SAFETY: prctl with integer arguments; async-signal-safe.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } != 0 {
            return Err(fail(&mut rec, report, Step::DeathSignal, errno()));
        }
        let mut pfd = libc::pollfd {
            fd: alive[0],
            events: 0,
            revents: 0,
        };
        // SAFETY: poll on one live pollfd, no wait; close of our own fd; _exit never returns.
        unsafe {
            if libc::poll(&mut pfd, 1, 0) > 0 && pfd.revents & libc::POLLHUP != 0 {
                // The intermediate died before the death signal was armed.
                libc::_exit(EXIT_ORPHANED);
            }
            libc::close(alive[0]);
        }
    }
    write_record(report, &rec);
    Ok(())
}

/// Close every fd but `keep`.
fn close_all_but(keep: RawFd) {
    let keep = keep as u32;
    // SAFETY: close_range on fds this process owns (all of them but `keep`); async-signal-safe.
    let rc = unsafe {
        let low = if keep > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, keep - 1, 0u32)
        } else {
            0
        };
        if low == 0 {
            libc::syscall(libc::SYS_close_range, keep + 1, u32::MAX, 0u32)
        } else {
            low
        }
    };
    if rc != 0 {
        // Kernels before 5.9: one by one.
        for fd in 0..65536 {
            if fd != keep as i32 {
                // SAFETY: closing fds this process owns (EBADF for the rest).
                unsafe { libc::close(fd) };
            }
        }
    }
}

/// The intermediate: close every fd (so `Command::spawn`'s exec-error pipe reaches EOF when
/// the renderer execs, and no fd of main's lingers here), wait for the renderer, and end the
/// way it ended: its exit code, or the same signal with the default disposition.
///
/// # Safety
///
/// In the intermediate only: `child` is its one child, `keep` the pipe end the child watches.
unsafe fn intermediate(child: libc::pid_t, keep: RawFd) -> ! {
    // SAFETY: a zeroed sigaction is SIG_DFL with an empty mask; sigaction and sigprocmask on
    // live stack values; all async-signal-safe. Errors (SIGKILL, SIGSTOP) are ignored.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        for sig in 1..65 {
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
    close_all_but(keep);
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: waitpid on our child with a live status word.
        let r = unsafe { libc::waitpid(child, &mut status, 0) };
        if r == child {
            break;
        }
        if r < 0 && errno() != libc::EINTR {
            // SAFETY: _exit never returns.
            unsafe { libc::_exit(127) };
        }
    }
    // SAFETY: the W* macros read the status word; kill of ourselves with a signal whose
    // disposition is the default; _exit never returns.
    unsafe {
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            libc::kill(libc::getpid(), sig);
            libc::_exit(128 + sig);
        }
        libc::_exit(libc::WEXITSTATUS(status))
    }
}

/// Make `fd` non-blocking (main's read end of the report pipe).
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL / F_SETFL on an fd the caller owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
