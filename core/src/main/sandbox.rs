//! Spawn options: [`SpawnOptions`] for [`Main::spawn_renderer_with`], and the [`Sandbox`] a
//! renderer can run in, so that it cannot signal (or even see) main and its siblings.
//!
//! The pre-exec code itself is in `electrode-shm` (`electrode_shm::sandbox`); this module only
//! describes what to set up. What holds with and without a sandbox, per privilege level, is in
//! docs/SECURITY.md ("Signals and sandboxed renderers").
//!
//! [`Main::spawn_renderer_with`]: crate::Main::spawn_renderer_with

use electrode_shm::sandbox::Plan;
pub use electrode_shm::sandbox::{Mode, SandboxError, SandboxReport, Setup, Step};

/// How to run a sandboxed renderer: another uid/gid, a new user namespace, a new PID
/// namespace (with a fresh `/proc`); `PR_SET_NO_NEW_PRIVS` is always set.
///
/// [`Sandbox::new`] asks for both namespaces [`Mode::IfPermitted`] and keeps the ids. Where
/// the kernel refuses a namespace (a container without user namespaces, `EPERM`), an
/// `IfPermitted` part is left out and [`WebContents::sandbox`] says so; a
/// [`Mode::Required`] part, or an id change, that cannot be set up fails the spawn with
/// [`ConnectError::Sandbox`] naming the system call and its errno.
///
/// - **As root**, give each renderer its own unused uid and gid ([`uid`](Self::uid),
///   [`gid`](Self::gid)): without a PID namespace, distinct uids are what keeps renderers
///   from signalling each other (two renderers under one uid can), and a renderer left as
///   root keeps every capability. The renderer's binary must be executable by that uid.
/// - **Unprivileged**, the namespaces come from an unprivileged user namespace (no id mapped
///   inside, so no capability after `exec`); ids cannot be changed.
///
/// ```no_run
/// use electrode::{Main, Sandbox, SandboxMode, SpawnOptions};
/// use std::process::Command;
///
/// let main = Main::new()?;
/// let sandbox = Sandbox::new().uid(62_001).gid(62_001).pid_namespace(SandboxMode::Required);
/// let renderer = main.spawn_renderer_with(
///     Command::new("/opt/app/renderer"),
///     SpawnOptions::new().sandbox(sandbox),
/// )?;
/// let report = renderer.sandbox().expect("spawned in a sandbox");
/// assert!(report.pid_namespace.is_done() && report.no_new_privs);
/// println!("sandbox: {report}; not set up: {:?}", report.not_set_up());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`WebContents::sandbox`]: crate::WebContents::sandbox
/// [`ConnectError::Sandbox`]: crate::ConnectError::Sandbox
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sandbox {
    plan: Plan,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

impl Sandbox {
    /// Both namespaces [`Mode::IfPermitted`], ids unchanged, `no_new_privs`.
    pub fn new() -> Sandbox {
        Sandbox {
            plan: Plan {
                uid: None,
                gid: None,
                user_ns: Mode::IfPermitted,
                pid_ns: Mode::IfPermitted,
            },
        }
    }

    /// Run as `uid` (as root; `setuid` failing fails the spawn). Unless [`gid`](Self::gid)
    /// is given too, the gid becomes the same number.
    pub fn uid(mut self, uid: u32) -> Sandbox {
        self.plan.uid = Some(uid);
        self.plan.gid.get_or_insert(uid);
        self
    }

    /// Run as `gid` (supplementary groups are dropped when main is root).
    pub fn gid(mut self, gid: u32) -> Sandbox {
        self.plan.gid = Some(gid);
        self
    }

    /// `uid(base + n)` and `gid(base + n)`: distinct ids for the `n`th of several renderers,
    /// so that none can signal another even without a PID namespace.
    pub fn uid_range(self, base: u32, n: u32) -> Sandbox {
        let id = base.saturating_add(n);
        self.uid(id).gid(id)
    }

    /// A new PID namespace, in which the renderer is PID 1 and sees no other process (with a
    /// mount namespace and a fresh `/proc`, so `/proc` lists only the namespace too).
    pub fn pid_namespace(mut self, mode: Mode) -> Sandbox {
        self.plan.pid_ns = mode;
        self
    }

    /// A new user namespace (how an unprivileged main gets a PID namespace).
    pub fn user_namespace(mut self, mode: Mode) -> Sandbox {
        self.plan.user_ns = mode;
        self
    }

    pub(crate) fn plan(&self) -> &Plan {
        &self.plan
    }
}

/// Options for [`Main::spawn_renderer_with`](crate::Main::spawn_renderer_with).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SpawnOptions {
    pub(crate) sandbox: Option<Sandbox>,
}

impl SpawnOptions {
    /// No options: what [`Main::spawn_renderer`](crate::Main::spawn_renderer) does.
    pub fn new() -> SpawnOptions {
        SpawnOptions::default()
    }

    /// Run the renderer in `sandbox`.
    pub fn sandbox(mut self, sandbox: Sandbox) -> SpawnOptions {
        self.sandbox = Some(sandbox);
        self
    }
}
