//! [`ReportError`]: why the report stopped. Any wrong answer from any path ends the report.

use crate::api::ApiError;
use crate::peers::PeerError;
use crate::pingpong::BenchError;
use std::fmt;
use std::io;

/// Why the report could not be completed; `what` names the measurement.
#[derive(Debug)]
pub enum ReportError {
    /// An Electrode API measurement failed.
    Api {
        /// The measurement.
        what: String,
        /// Why.
        err: ApiError,
    },
    /// A peer-library measurement failed.
    Peer {
        /// The measurement.
        what: String,
        /// Why.
        err: PeerError,
    },
    /// A transport ping-pong failed.
    Transport {
        /// The measurement.
        what: String,
        /// Why.
        err: BenchError,
    },
    /// Reading the machine's state or writing the output failed.
    Io {
        /// What the report was doing.
        what: String,
        /// Why.
        err: io::Error,
    },
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Api { what, err } => write!(f, "{what}: {err}"),
            ReportError::Peer { what, err } => write!(f, "{what}: {err}"),
            ReportError::Transport { what, err } => write!(f, "{what}: {err}"),
            ReportError::Io { what, err } => write!(f, "{what}: {err}"),
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::Api { err, .. } => Some(err),
            ReportError::Peer { err, .. } => Some(err),
            ReportError::Transport { err, .. } => Some(err),
            ReportError::Io { err, .. } => Some(err),
        }
    }
}

pub(crate) fn api(what: impl Into<String>) -> impl FnOnce(ApiError) -> ReportError {
    move |err| ReportError::Api {
        what: what.into(),
        err,
    }
}

pub(crate) fn peer(what: impl Into<String>) -> impl FnOnce(PeerError) -> ReportError {
    move |err| ReportError::Peer {
        what: what.into(),
        err,
    }
}

pub(crate) fn transport(what: impl Into<String>) -> impl FnOnce(BenchError) -> ReportError {
    move |err| ReportError::Transport {
        what: what.into(),
        err,
    }
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> ReportError {
    move |err| ReportError::Io {
        what: what.into(),
        err,
    }
}
