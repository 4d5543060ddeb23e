//! [`RoleChild`]: a helper process this process started and owns. Its stdout carries the
//! handshake lines, read by a thread so that every wait for one has a deadline; the process is
//! killed and reaped when the handle is dropped.

use super::{command, Role, HANDSHAKE_TIMEOUT};
use crate::BenchError;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A running helper process; killed and reaped on drop.
pub(crate) struct RoleChild {
    child: Child,
    lines: mpsc::Receiver<io::Result<String>>,
    role: &'static str,
}

impl RoleChild {
    /// Start `exe` in `role`, pinned to `cpu`, after `configure` has added what the role needs
    /// (inherited fds, variables).
    pub(crate) fn spawn(
        exe: &Path,
        cpu: Option<usize>,
        role: Role,
        configure: impl FnOnce(&mut Command),
    ) -> Result<RoleChild, BenchError> {
        let name = role.name();
        let mut cmd = command(exe, cpu, role)?;
        cmd.stdout(Stdio::piped());
        configure(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(BenchError::io("spawning a helper process"))?;
        let stdout = child.stdout.take();
        let (tx, lines) = mpsc::channel();
        // From here on, dropping `me` kills the child.
        let me = RoleChild {
            child,
            lines,
            role: name,
        };
        let Some(stdout) = stdout else {
            return Err(BenchError::wrong("a helper process without stdout"));
        };
        // Ends at end of file (the helper exited or was killed); meanwhile it keeps the pipe
        // open, so the helper never sees a broken pipe.
        std::thread::Builder::new()
            .name(format!("{name} stdout"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
            .map_err(BenchError::io("starting a helper's stdout reader"))?;
        Ok(me)
    }

    /// The next line the helper prints (without the newline), waiting at most
    /// [`HANDSHAKE_TIMEOUT`]. End of file (the helper exited before saying it) is
    /// [`BenchError::PeerGone`].
    pub(crate) fn read_line(&mut self) -> Result<String, BenchError> {
        match self.lines.recv_timeout(HANDSHAKE_TIMEOUT) {
            Ok(Ok(line)) => Ok(line.trim_end().to_string()),
            Ok(Err(e)) => Err(BenchError::io("reading a helper's handshake")(e)),
            Err(RecvTimeoutError::Timeout) => Err(BenchError::Timeout("a helper's handshake")),
            Err(RecvTimeoutError::Disconnected) => Err(BenchError::PeerGone),
        }
    }

    /// Read the next line and check that it is `expected`.
    pub(crate) fn expect(&mut self, expected: &str) -> Result<(), BenchError> {
        let got = self.read_line()?;
        if got != expected {
            return Err(BenchError::wrong(format!(
                "the {} said {got:?}, not {expected:?}",
                self.role
            )));
        }
        Ok(())
    }

    /// The helper's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the helper is still running.
    pub(crate) fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Wait up to `limit` for the helper to exit by itself; whether it did.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if !self.is_alive() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }
}

impl Drop for RoleChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
