//! Errors of the IPC API.

use crate::value::Value;
use std::fmt;

/// An error raised by a handler (or listener) on the other side, kept whole: Electron turns it
/// into text; Electrode keeps its name, message and optional data.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteError {
    /// The error's name (`"Error"`, `"TypeError"`, anything). Empty for Electron's bare-string
    /// errors such as `reply was never sent`.
    pub name: String,
    /// The error's message.
    pub message: String,
    /// Structured data the handler attached, if any.
    pub data: Option<Value>,
}

impl RemoteError {
    /// An error named `"Error"` with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        RemoteError {
            name: "Error".into(),
            message: message.into(),
            data: None,
        }
    }

    /// An error with a custom `name`.
    pub fn named(name: impl Into<String>, message: impl Into<String>) -> Self {
        RemoteError {
            name: name.into(),
            message: message.into(),
            data: None,
        }
    }

    /// Attach structured data.
    pub fn with_data(mut self, data: impl Into<Value>) -> Self {
        self.data = Some(data.into());
        self
    }

    pub(crate) fn bare(message: impl Into<String>) -> Self {
        RemoteError {
            name: String::new(),
            message: message.into(),
            data: None,
        }
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.name, self.message)
        }
    }
}

impl std::error::Error for RemoteError {}

impl From<&str> for RemoteError {
    fn from(m: &str) -> Self {
        RemoteError::new(m)
    }
}

impl From<String> for RemoteError {
    fn from(m: String) -> Self {
        RemoteError::new(m)
    }
}

/// What went wrong with an IPC call.
#[derive(Clone, Debug, PartialEq)]
pub enum IpcError {
    /// `invoke` was rejected: no handler, the handler failed, or it dropped its reply.
    /// Displays as Electron does: `Error invoking remote method '<channel>': <error>`.
    Invoke {
        /// The channel invoked.
        channel: String,
        /// The error, whole.
        error: RemoteError,
    },
    /// `sendSync` failed: no listener on any level, or the event was dropped unanswered.
    SendSync {
        /// The channel.
        channel: String,
        /// What happened.
        error: RemoteError,
    },
    /// The other process is gone (exited, crashed, killed or disconnected).
    Disconnected,
    /// The deadline passed before an answer came.
    TimedOut,
    /// The ring and its overflow queue are full (the peer does not keep up).
    Full,
    /// A message larger than the configured limit.
    TooLarge {
        /// Its size in bytes.
        size: usize,
    },
    /// A second `handle` on one channel.
    SecondHandler {
        /// The channel.
        channel: String,
    },
    /// A blocking call made on the dispatcher thread, which would wait for itself.
    WouldDeadlock,
    /// The peer broke the protocol; the connection was closed.
    Protocol(String),
}

impl fmt::Display for IpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpcError::Invoke { channel, error } => {
                write!(f, "Error invoking remote method '{channel}': {error}")
            }
            IpcError::SendSync { channel, error } => {
                write!(f, "Error sending sync message '{channel}': {error}")
            }
            IpcError::Disconnected => f.write_str("the other process is gone (disconnected)"),
            IpcError::TimedOut => f.write_str("timed out waiting for a reply"),
            IpcError::Full => f.write_str("the channel is full: the receiver does not keep up"),
            IpcError::TooLarge { size } => write!(f, "message of {size} bytes is too large"),
            IpcError::SecondHandler { channel } => {
                write!(f, "Attempted to register a second handler for '{channel}'")
            }
            IpcError::WouldDeadlock => f.write_str(
                "a blocking call on the dispatcher thread would wait for itself; use the async form",
            ),
            IpcError::Protocol(why) => write!(f, "protocol violation: {why}"),
        }
    }
}

impl std::error::Error for IpcError {}

impl IpcError {
    /// The remote error, for `Invoke` and `SendSync` failures.
    pub fn remote(&self) -> Option<&RemoteError> {
        match self {
            IpcError::Invoke { error, .. } | IpcError::SendSync { error, .. } => Some(error),
            _ => None,
        }
    }
}
