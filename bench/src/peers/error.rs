//! [`PeerError`]: why a peer library's round trip could not run or was aborted.

use std::fmt;
use std::io;

/// Why a peer-library session failed.
#[derive(Debug)]
pub enum PeerError {
    /// A system call failed while doing `what`.
    Io {
        /// What the benchmark was doing.
        what: &'static str,
        /// The error.
        err: io::Error,
    },
    /// The library reported an error while doing `what`.
    Library {
        /// What the benchmark was doing.
        what: &'static str,
        /// The library's error, as it prints it.
        message: String,
    },
    /// The peer process exited (or never reported ready).
    PeerGone,
    /// The echo differs from what was sent.
    WrongAnswer(String),
    /// Nothing happened for too long.
    Timeout(&'static str),
    /// Pinning to a CPU failed.
    Pin(crate::pingpong::BenchError),
}

impl PeerError {
    pub(crate) fn io(what: &'static str) -> impl Fn(io::Error) -> PeerError {
        move |err| PeerError::Io { what, err }
    }

    pub(crate) fn lib<E: fmt::Debug>(what: &'static str) -> impl Fn(E) -> PeerError {
        move |e| PeerError::Library {
            what,
            message: format!("{e:?}"),
        }
    }
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Io { what, err } => write!(f, "{what}: {err}"),
            PeerError::Library { what, message } => write!(f, "{what}: {message}"),
            PeerError::PeerGone => f.write_str("the peer process exited"),
            PeerError::WrongAnswer(why) => write!(f, "wrong answer: {why}"),
            PeerError::Timeout(what) => write!(f, "timed out waiting for {what}"),
            PeerError::Pin(e) => write!(f, "pinning: {e}"),
        }
    }
}

impl std::error::Error for PeerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PeerError::Io { err, .. } => Some(err),
            PeerError::Pin(e) => Some(e),
            _ => None,
        }
    }
}
