//! [`PortError`]: why a port operation failed. A bad transfer list fails with Electron's (and
//! Blink's) text.

use crate::error::SendError;
use std::fmt;

/// Why a [`MessagePort`](crate::MessagePort) operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PortError {
    /// A port of the transfer list cannot be moved (its rings broke, or it could not be
    /// delivered to this process).
    NotAValidPort {
        /// Its index in the transfer list.
        index: usize,
    },
    /// The transfer list holds the sending port's own channel (its peer end): a port cannot
    /// travel through itself.
    ContainsSource {
        /// Its index in the transfer list.
        index: usize,
    },
    /// A port appears twice (only a received message can say so: a `Vec<MessagePort>` cannot).
    Duplicate {
        /// The index of the second occurrence.
        index: usize,
    },
    /// A port of the transfer list was closed.
    Neutered {
        /// Its index in the transfer list.
        index: usize,
    },
    /// The other end closed (or its process died): beyond Electron, which drops the message
    /// silently, Electrode says so.
    PeerClosed,
    /// This end was closed ([`recv`](crate::MessagePort::recv), also one blocked while
    /// another thread closed the port; and a `post_message` blocked on a full ring when that
    /// happened. A `post_message` on a port already closed is a no-op, as in Electron).
    Closed,
    /// [`recv`](crate::MessagePort::recv) on a started port (its messages go to its
    /// listeners).
    Started,
    /// No message arrived in time.
    TimedOut,
    /// The message cannot be sent (too large, nested too deep).
    Send(SendError),
    /// The peer broke the port's rings or sent a malformed message: the port is closed.
    Broken(String),
    /// The channel could not be created (memfd or mapping failed).
    Create(String),
    /// A port cannot travel this way (the reason says why).
    Transfer(String),
    /// A typed receive took a message that is not of its channel's type (a `Value`, or
    /// another schema fingerprint): the message is consumed, the port stays open.
    Type(String),
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortError::NotAValidPort { index } => {
                write!(f, "Port at index {index} is not a valid port.")
            }
            PortError::ContainsSource { index } => {
                write!(f, "Port at index {index} contains the source port.")
            }
            PortError::Duplicate { index } => write!(
                f,
                "Message port at index {index} is a duplicate of an earlier port."
            ),
            PortError::Neutered { index } => {
                write!(f, "Port at index {index} is already neutered.")
            }
            PortError::PeerClosed => f.write_str("the other end of the port is closed"),
            PortError::Closed => f.write_str("the port is closed"),
            PortError::Started => {
                f.write_str("the port is started: its messages go to its listeners")
            }
            PortError::TimedOut => f.write_str("no message arrived in time"),
            PortError::Send(e) => write!(f, "the message cannot be sent: {e}"),
            PortError::Broken(why) => write!(f, "the port is broken: {why}"),
            PortError::Create(why) => write!(f, "the channel cannot be created: {why}"),
            PortError::Transfer(why) => write!(f, "the port cannot be transferred: {why}"),
            PortError::Type(why) => write!(f, "the message is not of the channel's type: {why}"),
        }
    }
}

impl std::error::Error for PortError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PortError::Send(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SendError> for PortError {
    fn from(e: SendError) -> Self {
        PortError::Send(e)
    }
}
