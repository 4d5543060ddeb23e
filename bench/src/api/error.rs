//! [`ApiError`]: why an API benchmark could not run or was aborted.

use electrode::GoneDetails;
use std::fmt;
use std::io;

/// Why an API measurement failed. A wrong answer anywhere is an error, never a figure.
#[derive(Debug)]
pub enum ApiError {
    /// A system call failed while doing `what`.
    Io {
        /// What the benchmark was doing.
        what: &'static str,
        /// The error.
        err: io::Error,
    },
    /// An Electrode call made by main failed.
    Ipc {
        /// The call.
        what: &'static str,
        /// The error (boxed: it is large).
        err: Box<dyn std::error::Error + Send + Sync>,
    },
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
    /// Main got a wrong answer (lost, reordered or damaged message, wrong echo).
    WrongAnswer(String),
    /// Nothing happened for too long.
    Timeout(&'static str),
    /// Pinning to a CPU failed.
    Pin(crate::pingpong::BenchError),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Io { what, err } => write!(f, "{what}: {err}"),
            ApiError::Ipc { what, err } => write!(f, "{what}: {err}"),
            ApiError::Renderer { pid, message } => write!(f, "renderer {pid}: {message}"),
            ApiError::RendererGone { pid, details } => write!(
                f,
                "renderer {pid} went away during a measurement ({}, code {})",
                details.reason, details.exit_code
            ),
            ApiError::WrongAnswer(why) => write!(f, "wrong answer: {why}"),
            ApiError::Timeout(what) => write!(f, "timed out waiting for {what}"),
            ApiError::Pin(e) => write!(f, "pinning: {e}"),
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiError::Io { err, .. } => Some(err),
            ApiError::Ipc { err, .. } => Some(&**err),
            ApiError::Pin(e) => Some(e),
            _ => None,
        }
    }
}

impl ApiError {
    pub(crate) fn ipc<E: std::error::Error + Send + Sync + 'static>(
        what: &'static str,
    ) -> impl Fn(E) -> ApiError {
        move |err| ApiError::Ipc {
            what,
            err: Box::new(err),
        }
    }
}
