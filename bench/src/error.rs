//! [`BenchError`]: why a measurement could not run or was aborted. One type for every
//! benchmark of this crate (the transport ping-pongs, the API, the peer libraries, the report):
//! they fail in the same ways (a system call, a process gone, a wrong answer, a time-out), and
//! the report wraps any of them with the name of the measurement ([`BenchError::During`]).
//!
//! A wrong answer anywhere is an error, never a figure.

use electrode::GoneDetails;
use std::borrow::Cow;
use std::fmt;
use std::io;

/// Why a benchmark failed.
#[derive(Debug)]
pub enum BenchError {
    /// A system call failed while doing `what`.
    Io {
        /// What the benchmark was doing.
        what: Cow<'static, str>,
        /// The error.
        err: io::Error,
    },
    /// Electrode's segment could not be created or opened (the transport ping-pong).
    Shm(electrode_shm::OpenError),
    /// An Electrode call made by main failed.
    Ipc {
        /// The call.
        what: &'static str,
        /// The error (boxed: it is large).
        err: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A peer library reported an error while doing `what`.
    Library {
        /// What the benchmark was doing.
        what: &'static str,
        /// The library's error, as it prints it.
        message: String,
    },
    /// A placement names a CPU this thread may not run on.
    CpuUnavailable(usize),
    /// The peer process exited (or never reported ready).
    PeerGone,
    /// A renderer reported an error (a failed call or a wrong answer) and stopped.
    Renderer {
        /// The renderer's process id.
        pid: u32,
        /// What it said.
        message: String,
    },
    /// A renderer went away in the middle of a measurement.
    RendererGone {
        /// The renderer's process id.
        pid: u32,
        /// How it went.
        details: GoneDetails,
    },
    /// The other side answered something other than what it should have (a lost, reordered
    /// or damaged message, a wrong echo, a broken handshake).
    WrongAnswer(Cow<'static, str>),
    /// Nothing happened for too long while waiting for `what`.
    Timeout(&'static str),
    /// The combination asked for is not measured.
    Unsupported(&'static str),
    /// Measurement `what` (a report row) failed.
    During {
        /// The measurement.
        what: String,
        /// Why.
        err: Box<BenchError>,
    },
}

impl BenchError {
    /// `map_err` adapter: a failed system call while doing `what`.
    pub(crate) fn io(what: impl Into<Cow<'static, str>>) -> impl FnOnce(io::Error) -> BenchError {
        move |err| BenchError::Io {
            what: what.into(),
            err,
        }
    }

    /// `map_err` adapter: a failed Electrode call `what`.
    pub(crate) fn ipc<E: std::error::Error + Send + Sync + 'static>(
        what: &'static str,
    ) -> impl FnOnce(E) -> BenchError {
        move |err| BenchError::Ipc {
            what,
            err: Box::new(err),
        }
    }

    /// `map_err` adapter: a peer library's error while doing `what`.
    pub(crate) fn lib<E: fmt::Debug>(what: &'static str) -> impl FnOnce(E) -> BenchError {
        move |e| BenchError::Library {
            what,
            message: format!("{e:?}"),
        }
    }

    /// A wrong answer, `why`.
    pub(crate) fn wrong(why: impl Into<Cow<'static, str>>) -> BenchError {
        BenchError::WrongAnswer(why.into())
    }

    /// `map_err` adapter: wrap an error with the name of the measurement it ended.
    pub(crate) fn during(what: impl Into<String>) -> impl FnOnce(BenchError) -> BenchError {
        move |err| BenchError::During {
            what: what.into(),
            err: Box::new(err),
        }
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Io { what, err } => write!(f, "{what}: {err}"),
            BenchError::Shm(e) => write!(f, "electrode segment: {e}"),
            BenchError::Ipc { what, err } => write!(f, "{what}: {err}"),
            BenchError::Library { what, message } => write!(f, "{what}: {message}"),
            BenchError::CpuUnavailable(cpu) => {
                write!(f, "CPU {cpu} is not in this thread's affinity mask")
            }
            BenchError::PeerGone => f.write_str("the peer process exited"),
            BenchError::Renderer { pid, message } => write!(f, "renderer {pid}: {message}"),
            BenchError::RendererGone { pid, details } => write!(
                f,
                "renderer {pid} went away during a measurement ({}, code {})",
                details.reason, details.exit_code
            ),
            BenchError::WrongAnswer(why) => write!(f, "wrong answer: {why}"),
            BenchError::Timeout(what) => write!(f, "timed out waiting for {what}"),
            BenchError::Unsupported(why) => write!(f, "not measured: {why}"),
            BenchError::During { what, err } => write!(f, "{what}: {err}"),
        }
    }
}

impl std::error::Error for BenchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BenchError::Io { err, .. } => Some(err),
            BenchError::Shm(e) => Some(e),
            BenchError::Ipc { err, .. } => Some(&**err),
            BenchError::During { err, .. } => Some(&**err),
            _ => None,
        }
    }
}

impl From<electrode_shm::OpenError> for BenchError {
    fn from(e: electrode_shm::OpenError) -> Self {
        BenchError::Shm(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn context_and_sources_chain() {
        let e = BenchError::during("cross / unix socket")(BenchError::io("socketpair")(
            io::Error::from_raw_os_error(libc::EMFILE),
        ));
        assert!(e
            .to_string()
            .starts_with("cross / unix socket: socketpair: "));
        let inner = e.source().expect("During has a source");
        assert!(inner.source().is_some(), "Io has a source");
        assert_eq!(
            BenchError::wrong("echo differs").to_string(),
            "wrong answer: echo differs"
        );
        assert!(BenchError::PeerGone.source().is_none());
    }
}
