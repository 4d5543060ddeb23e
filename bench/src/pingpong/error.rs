//! [`BenchError`]: why a session could not start or a round trip failed.

use std::fmt;
use std::io;

/// Why a ping-pong session failed.
#[derive(Debug)]
pub enum BenchError {
    /// A system call failed while doing `what`.
    Io {
        /// What the harness was doing.
        what: &'static str,
        /// The error.
        err: io::Error,
    },
    /// Electrode's segment could not be created or opened.
    Shm(electrode_shm::OpenError),
    /// The placement names a CPU this thread may not run on.
    CpuUnavailable(usize),
    /// The peer process exited (or never reported ready).
    PeerGone,
    /// The peer answered something other than the echo of what was sent.
    Protocol(&'static str),
    /// The combination asked for is not measured.
    Unsupported(&'static str),
}

impl BenchError {
    pub(crate) fn io(what: &'static str, err: io::Error) -> Self {
        BenchError::Io { what, err }
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Io { what, err } => write!(f, "{what}: {err}"),
            BenchError::Shm(e) => write!(f, "electrode segment: {e}"),
            BenchError::CpuUnavailable(cpu) => {
                write!(f, "CPU {cpu} is not in this thread's affinity mask")
            }
            BenchError::PeerGone => f.write_str("the peer process exited"),
            BenchError::Protocol(why) => write!(f, "bad echo from the peer: {why}"),
            BenchError::Unsupported(why) => write!(f, "not measured: {why}"),
        }
    }
}

impl std::error::Error for BenchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BenchError::Io { err, .. } => Some(err),
            BenchError::Shm(e) => Some(e),
            _ => None,
        }
    }
}

impl From<electrode_shm::OpenError> for BenchError {
    fn from(e: electrode_shm::OpenError) -> Self {
        BenchError::Shm(e)
    }
}
