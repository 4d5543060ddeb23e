//! Sandboxing a child before it `exec`s: another uid/gid, `PR_SET_NO_NEW_PRIVS`, a new user
//! namespace, a new PID namespace with its own `/proc` ([`Plan`], [`install`]), and what was
//! really set up ([`SandboxReport`]) or why it could not be ([`SandboxError`]).
//!
//! [`install`] registers a `pre_exec` hook on a [`Command`] (after any hook registered before
//! it, such as [`Handoff::prepare`](crate::Handoff::prepare)'s) and returns a [`Receipt`];
//! after `Command::spawn` returned, [`Receipt::collect`] reads the child's report. The hook's
//! code is in `sys/sandbox.rs`; the order of its steps:
//!
//! 1. user namespace (if asked), unless root changes ids and makes a PID namespace (below):
//!    the uid/gid change first (a new user namespace maps none of the old ids), then
//!    `unshare(CLONE_NEWUSER)`; no id is mapped, so after `exec` the renderer has no
//!    capability, in the namespace or outside it;
//! 2. PID namespace (if asked): `unshare(CLONE_NEWPID | CLONE_NEWNS)` (root who was refused,
//!    e.g. without `CAP_SYS_ADMIN` in a container, falls back to step 1 first and tries again),
//!    then one more `fork`: the child is PID 1 of the new namespace and becomes the renderer;
//!    the parent (the *intermediate*, which main's `Child` and pidfd name) closes every fd,
//!    waits for it and ends as it ended (exit code, or the same signal re-raised);
//! 3. in the renderer: the mount namespace made private, a fresh `/proc` mounted on `/proc`
//!    (it lists the namespace's processes only);
//! 4. the uid/gid change, if not done in step 1 (`setgroups(0)` when root, `setgid`, `setuid`);
//! 5. the user namespace, if asked and not made in step 1: root with ids makes it last, as the
//!    new uid (root needs none for the PID namespace, and once it has dropped to another uid a
//!    kernel restricting unprivileged user namespaces could refuse both);
//! 6. `PR_SET_NO_NEW_PRIVS`, always;
//! 7. with a PID namespace: `PR_SET_PDEATHSIG(SIGKILL)` (after the id change, which clears it),
//!    so killing the intermediate (what main does to a renderer) kills the renderer.

use crate::sys::sandbox as sys;
use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Whether to set up one part of a sandbox.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Do not.
    Off,
    /// Set it up if the kernel permits; otherwise go on without it (the report says why).
    #[default]
    IfPermitted,
    /// Set it up, or fail the spawn (with the system call and its errno).
    Required,
}

/// What to set up in a child before `exec` (see the [module docs](self) for the order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Plan {
    /// Run as this uid (always required: failing to set it fails the spawn).
    pub uid: Option<u32>,
    /// Run as this gid (always required). Supplementary groups are dropped when main is root.
    pub gid: Option<u32>,
    /// A new user namespace (unprivileged; no id mapped inside).
    pub user_ns: Mode,
    /// A new PID namespace, with a mount namespace and a fresh `/proc`.
    pub pid_ns: Mode,
}

/// One step of the sandbox's setup, as a [`SandboxError`] names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// `setgroups(0, NULL)`: dropping supplementary groups (as root).
    SetGroups,
    /// `setgid`.
    SetGid,
    /// `setuid`.
    SetUid,
    /// `unshare(CLONE_NEWUSER)`.
    UserNamespace,
    /// `unshare(CLONE_NEWPID | CLONE_NEWNS)`.
    PidNamespace,
    /// Making the new mount namespace private and mounting a fresh `/proc`.
    MountProc,
    /// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
    NoNewPrivs,
    /// The `fork` (or its `pipe2`) into the new PID namespace.
    Fork,
    /// `prctl(PR_SET_PDEATHSIG, SIGKILL)`.
    DeathSignal,
}

const STEPS: [Step; 9] = [
    Step::SetGroups,
    Step::SetGid,
    Step::SetUid,
    Step::UserNamespace,
    Step::PidNamespace,
    Step::MountProc,
    Step::NoNewPrivs,
    Step::Fork,
    Step::DeathSignal,
];

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::SetGroups => "dropping supplementary groups (setgroups)",
            Step::SetGid => "changing the gid (setgid)",
            Step::SetUid => "changing the uid (setuid)",
            Step::UserNamespace => "a new user namespace (unshare(CLONE_NEWUSER))",
            Step::PidNamespace => "a new PID namespace (unshare(CLONE_NEWPID | CLONE_NEWNS))",
            Step::MountProc => "a fresh /proc in the new mount namespace (mount)",
            Step::NoNewPrivs => "no_new_privs (prctl(PR_SET_NO_NEW_PRIVS))",
            Step::Fork => "forking into the new PID namespace (fork)",
            Step::DeathSignal => "the parent-death signal (prctl(PR_SET_PDEATHSIG))",
        })
    }
}

/// How one optional part of a sandbox turned out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Setup {
    /// Not asked for ([`Mode::Off`]).
    Off,
    /// Set up.
    Done,
    /// Asked for with [`Mode::IfPermitted`], refused by the kernel with this errno.
    Skipped {
        /// The system call's errno (`EPERM`: not permitted here, e.g. a container without
        /// user namespaces; `EINVAL`, `ENOSPC`, ...).
        errno: i32,
    },
}

impl Setup {
    /// Whether it was set up.
    pub fn is_done(self) -> bool {
        self == Setup::Done
    }

    fn of(state: u32, errno: u32) -> Option<Setup> {
        match state {
            sys::STATE_OFF => Some(Setup::Off),
            sys::STATE_DONE => Some(Setup::Done),
            sys::STATE_SKIPPED => Some(Setup::Skipped {
                errno: errno as i32,
            }),
            _ => None,
        }
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Setup::Off => f.write_str("off"),
            Setup::Done => f.write_str("set up"),
            Setup::Skipped { errno } => {
                write!(f, "not set up: {}", io::Error::from_raw_os_error(*errno))
            }
        }
    }
}

/// What a sandboxed child really got (written by the child itself just before `exec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SandboxReport {
    /// The uid it runs as, when it was changed.
    pub uid: Option<u32>,
    /// The gid it runs as, when it was changed (supplementary groups dropped as root).
    pub gid: Option<u32>,
    /// A new user namespace.
    pub user_namespace: Setup,
    /// A new PID namespace (the renderer is its PID 1, under a waiting intermediate).
    pub pid_namespace: Setup,
    /// A fresh `/proc` showing only the namespace's processes (with the PID namespace).
    pub fresh_proc: Setup,
    /// `PR_SET_NO_NEW_PRIVS` (always set when a sandbox is used).
    pub no_new_privs: bool,
    /// With a PID namespace: the renderer's own pid, as the spawning process sees it (the
    /// child `Command::spawn` returned is the intermediate).
    pub renderer_pid: Option<u32>,
}

impl SandboxReport {
    /// What was asked for `IfPermitted` and not set up, one line each with the errno's text
    /// (empty when everything asked for is in place).
    pub fn not_set_up(&self) -> Vec<String> {
        [
            ("user namespace", self.user_namespace),
            ("PID namespace", self.pid_namespace),
            ("fresh /proc", self.fresh_proc),
        ]
        .into_iter()
        .filter(|(_, s)| matches!(s, Setup::Skipped { .. }))
        .map(|(what, s)| format!("{what}: {s}"))
        .collect()
    }
}

impl fmt::Display for SandboxReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = |v: Option<u32>| v.map_or("unchanged".to_string(), |v| v.to_string());
        write!(
            f,
            "uid {}, gid {}, user namespace {}, PID namespace {}, fresh /proc {}, no_new_privs {}",
            id(self.uid),
            id(self.gid),
            self.user_namespace,
            self.pid_namespace,
            self.fresh_proc,
            if self.no_new_privs { "set" } else { "not set" },
        )
    }
}

/// A sandbox that could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum SandboxError {
    /// A required step failed in the child: which, and the system call's error.
    Step {
        /// The step.
        step: Step,
        /// Its error (the errno).
        error: io::Error,
    },
    /// The child wrote no (or a malformed) report: it died before it finished, or the report
    /// pipe could not be made or read.
    NoReport(io::Error),
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SandboxError::Step { step, error } => write!(f, "{step} failed: {error}"),
            SandboxError::NoReport(e) => write!(f, "the child sent no sandbox report: {e}"),
        }
    }
}

impl std::error::Error for SandboxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SandboxError::Step { error, .. } | SandboxError::NoReport(error) => Some(error),
        }
    }
}

/// The reading end of a child's sandbox report (see [`install`]).
#[derive(Debug)]
pub struct Receipt {
    read: std::io::PipeReader,
    /// Main's copy of the write end, closed once the child is spawned.
    write: Option<OwnedFd>,
}

/// Register `plan`'s pre-exec hook on `cmd` (after the hooks registered before it) and return
/// the [`Receipt`] to read the outcome from once `cmd` is spawned.
///
/// ```no_run
/// use electrode_shm::sandbox::{install, Mode, Plan};
/// let mut cmd = std::process::Command::new("/bin/true");
/// let plan = Plan { pid_ns: Mode::IfPermitted, user_ns: Mode::IfPermitted, ..Plan::default() };
/// let receipt = install(&mut cmd, &plan)?;
/// let spawned = cmd.spawn();
/// let report = receipt.collect(spawned.is_ok())?;
/// println!("{report}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn install(cmd: &mut Command, plan: &Plan) -> io::Result<Receipt> {
    let (read, write) = std::io::pipe()?;
    sys::set_nonblocking(read.as_raw_fd())?;
    let write: OwnedFd = write.into();
    let fd: RawFd = write.as_raw_fd();
    let plan = *plan;
    // SAFETY: the hook runs in the forked child before exec; `sys::enter` makes only
    // async-signal-safe calls on the copied plan and the report fd (kept open by the
    // Receipt until after spawn), allocating nothing and taking no locks.
    unsafe {
        cmd.pre_exec(move || sys::enter(&plan, fd));
    }
    Ok(Receipt {
        read,
        write: Some(write),
    })
}

impl Receipt {
    /// After `Command::spawn` returned (`spawned`: whether it succeeded): the child's report,
    /// or the step that failed. Never blocks: the child wrote everything before `spawn`
    /// returned.
    pub fn collect(mut self, spawned: bool) -> Result<SandboxReport, SandboxError> {
        drop(self.write.take());
        let mut buf = [0u8; sys::WORDS * 4 * 4];
        let mut len = 0;
        while len < buf.len() {
            match self.read.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(SandboxError::NoReport(e)),
            }
        }
        let mut outcome = None;
        let mut renderer_pid = None;
        for chunk in buf[..len - len % (sys::WORDS * 4)].chunks_exact(sys::WORDS * 4) {
            let mut rec: sys::Record = [0; sys::WORDS];
            for (w, b) in rec.iter_mut().zip(chunk.chunks_exact(4)) {
                *w = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
            }
            match rec[0] {
                sys::MAGIC_PID => renderer_pid = Some(rec[1]),
                sys::MAGIC_FINAL => outcome = Some(rec),
                _ => {}
            }
        }
        let malformed = |what: &str| {
            SandboxError::NoReport(io::Error::new(io::ErrorKind::InvalidData, what.to_string()))
        };
        let Some(rec) = outcome else {
            let why = if spawned {
                "the child exec'd without writing its report"
            } else {
                "the child failed before the sandbox hook ran"
            };
            return Err(malformed(why));
        };
        let failed = rec[sys::W_FAILED];
        if failed != 0 {
            let step = *STEPS
                .get(failed as usize - 1)
                .ok_or_else(|| malformed("unknown step in the sandbox report"))?;
            return Err(SandboxError::Step {
                step,
                error: io::Error::from_raw_os_error(rec[sys::W_FAILED_ERRNO] as i32),
            });
        }
        let setup = |slot: usize| {
            Setup::of(rec[sys::W_STATE + slot], rec[sys::W_ERRNO + slot])
                .ok_or_else(|| malformed("unknown state in the sandbox report"))
        };
        let ids = setup(sys::SLOT_CREDS)?.is_done();
        let id = |w: u32| (ids && w != u32::MAX).then_some(w);
        Ok(SandboxReport {
            uid: id(rec[sys::W_UID]),
            gid: id(rec[sys::W_GID]),
            user_namespace: setup(sys::SLOT_USER)?,
            pid_namespace: setup(sys::SLOT_PID)?,
            fresh_proc: setup(sys::SLOT_PROC)?,
            no_new_privs: setup(sys::SLOT_NNP)?.is_done(),
            renderer_pid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_codes_match_the_table() {
        for (i, step) in STEPS.iter().enumerate() {
            assert_eq!(*step as usize, i);
        }
    }
}
