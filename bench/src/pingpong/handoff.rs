//! Starting the peer process: what it is told (environment variables), which fds it inherits,
//! the "ready" handshake, and killing it on drop.
//!
//! Everything the peer needs travels in `ELECTRODE_BENCH_*` variables rather than arguments,
//! so any binary can serve as the peer without its own argument parser being involved.

use super::{BenchError, System};
use std::io::{self, Read};
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// Set to `peer` in the peer's environment.
pub(crate) const ROLE_ENV: &str = "ELECTRODE_BENCH_ROLE";
/// The system to echo for ([`System::to_arg`]).
pub(crate) const SYSTEM_ENV: &str = "ELECTRODE_BENCH_SYSTEM";
/// The CPU to pin to, or `-`.
pub(crate) const CPU_ENV: &str = "ELECTRODE_BENCH_CPU";
/// Payload bytes per message.
pub(crate) const PAYLOAD_ENV: &str = "ELECTRODE_BENCH_PAYLOAD";
/// The main process's pid: the peer exits once its parent is no longer this process.
pub(crate) const PARENT_ENV: &str = "ELECTRODE_BENCH_PARENT";
/// An inherited fd (shared page or socket), for the systems that need one.
pub(crate) const FD_ENV: &str = "ELECTRODE_BENCH_FD";
/// What the peer writes on stdout once it is pinned and connected.
pub(crate) const READY: &[u8] = b"ready\n";

/// What the peer is asked to do.
pub(crate) struct PeerSpec<'a> {
    pub exe: &'a Path,
    pub system: System,
    pub peer_cpu: Option<usize>,
    pub payload: usize,
}

/// Let the child inherit `fd` (clear close-on-exec in the child only) and name it in
/// [`FD_ENV`].
pub(crate) fn inherit_fd(cmd: &mut Command, fd: RawFd) {
    cmd.env(FD_ENV, fd.to_string());
    // SAFETY: runs in the forked child before exec and only calls fcntl, which is
    // async-signal-safe; it allocates nothing and takes no locks.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// A running peer process; killed and reaped on drop.
pub(crate) struct PeerChild {
    child: Child,
    _stdout: Option<ChildStdout>,
}

impl PeerChild {
    /// Spawn the peer described by `spec` (after `configure` adds fds and variables) and wait
    /// until it reports ready.
    pub(crate) fn spawn(
        spec: &PeerSpec<'_>,
        configure: impl FnOnce(&mut Command),
    ) -> Result<PeerChild, BenchError> {
        let mut cmd = Command::new(spec.exe);
        cmd.env(ROLE_ENV, "peer")
            .env(SYSTEM_ENV, spec.system.to_arg())
            .env(
                CPU_ENV,
                spec.peer_cpu
                    .map_or_else(|| "-".to_string(), |c| c.to_string()),
            )
            .env(PAYLOAD_ENV, spec.payload.to_string())
            .env(PARENT_ENV, std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        configure(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(|e| BenchError::io("spawning the peer", e))?;
        // From here on, dropping `peer` kills the child.
        let mut peer = PeerChild {
            child,
            _stdout: None,
        };
        let Some(mut stdout) = peer.child.stdout.take() else {
            return Err(BenchError::Protocol("peer has no stdout"));
        };
        let mut line = [0u8; READY.len()];
        // A peer that fails before it is ready exits, which ends the read with EOF.
        match stdout.read_exact(&mut line) {
            Ok(()) if line == READY => {}
            Ok(()) => return Err(BenchError::Protocol("peer did not say ready")),
            Err(_) => return Err(BenchError::PeerGone),
        }
        // Kept open so the peer never sees a broken pipe.
        peer._stdout = Some(stdout);
        Ok(peer)
    }

    /// The peer's pid.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PeerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
