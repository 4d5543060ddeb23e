//! [`RoleChild`]: a peer process (this executable in a hidden role), whose stdout carries its
//! handshake lines; killed and reaped on drop.

use super::PeerError;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct RoleChild {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl RoleChild {
    /// Start `exe` with `args` (the role first).
    pub(crate) fn spawn(exe: &Path, args: &[String]) -> Result<RoleChild, PeerError> {
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(PeerError::io("spawning the peer"))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PeerError::PeerGone);
        };
        Ok(RoleChild {
            child,
            stdout: BufReader::new(stdout),
        })
    }

    /// The next line the peer prints (without the newline). End of file (the peer exited
    /// before saying it) is [`PeerError::PeerGone`].
    pub(crate) fn read_line(&mut self) -> Result<String, PeerError> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err(PeerError::PeerGone),
            Ok(_) => Ok(line.trim_end().to_string()),
            Err(e) => Err(PeerError::Io {
                what: "reading the peer's handshake",
                err: e,
            }),
        }
    }

    /// Whether the peer is still running.
    pub(crate) fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Wait up to `limit` for the peer to exit by itself.
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
