//! Errors, one type per operation (as crossbeam-channel's `err.rs` and tokio's
//! `mpsc/error.rs` do): [`SendError`] for one-way messages, [`CallError`] for calls that wait for
//! an answer, [`ConnectError`] for making a connection, [`RegisterError`] for `handle`. Each
//! implements [`std::error::Error`] with [`source`](std::error::Error::source) where another
//! error lies underneath, and displays Electron's text where Electron has one.
//!
//! [`RemoteError`] is not a failure of the IPC itself: it is what a handler on the other side
//! returned, kept whole.

use crate::value::Value;
use crate::wire::{EncodeError, WireError};
use std::error::Error;
use std::fmt;
use std::io;

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

impl Error for RemoteError {}

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

/// Why a one-way message (`send`, `WebContents::send`, `event.reply`) was not sent. Nothing
/// was written when a send fails: the message is either whole in the ring (or main's queue for
/// the renderer) or not there at all.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The other process is gone (exited, crashed, killed or disconnected).
    Disconnected,
    /// The ring (and, in main, the renderer's queue) is full: the receiver does not keep up.
    Full,
    /// The message is larger than the receiver accepts.
    TooLarge {
        /// The message's size in bytes (envelope, channel and arguments).
        size: usize,
        /// The largest message the receiver accepts.
        limit: usize,
    },
    /// The channel name is longer than [`MAX_CHANNEL_LEN`](crate::MAX_CHANNEL_LEN).
    ChannelTooLong {
        /// The name's length in bytes.
        len: usize,
        /// The longest name accepted.
        limit: usize,
    },
    /// The arguments cannot be encoded (nested too deep); the source says where.
    Unencodable(EncodeError),
    /// A renderer announced more frames than main accepts
    /// ([`MAX_FRAMES`](crate::MAX_FRAMES)).
    TooManyFrames {
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Disconnected => f.write_str("the other process is gone (disconnected)"),
            SendError::Full => f.write_str("the channel is full: the receiver does not keep up"),
            SendError::TooLarge { size, limit } => write!(
                f,
                "message of {size} bytes is too large (the limit is {limit} bytes)"
            ),
            SendError::ChannelTooLong { len, limit } => write!(
                f,
                "channel name of {len} bytes is longer than the limit of {limit} bytes"
            ),
            SendError::Unencodable(e) => write!(f, "the arguments cannot be sent: {e}"),
            SendError::TooManyFrames { limit } => {
                write!(f, "a renderer may have at most {limit} frames")
            }
        }
    }
}

impl Error for SendError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SendError::Unencodable(e) => Some(e),
            _ => None,
        }
    }
}

/// Why an answer (a reply to `invoke` / `sendSync`) could not be read. Main's replies come
/// from a trusted process, so for a renderer this means a bug in main; main reading a
/// renderer's reply treats it as a protocol violation as well.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyError {
    /// The reply's bytes are not a valid argument list.
    Invalid(WireError),
    /// The reply is valid but not of a reply's shape (`[value]` or `[name, message, has_data,
    /// data]`).
    WrongShape,
    /// The answering side could not encode its reply.
    Unencodable,
    /// A typed reply's archive failed validation (or could not be deserialized); the text
    /// says why.
    InvalidArchive(String),
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Invalid(e) => write!(f, "the reply is not valid: {e}"),
            ReplyError::WrongShape => f.write_str("the reply has the wrong shape"),
            ReplyError::Unencodable => f.write_str("the other side could not encode its reply"),
            ReplyError::InvalidArchive(why) => write!(f, "the typed reply is not valid: {why}"),
        }
    }
}

impl Error for ReplyError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ReplyError::Invalid(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a call that waits for an answer (`invoke`, `sendSync`, `WebContents::invoke`) failed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CallError {
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
    /// The request could not be sent (the source says why); nothing reached the other side.
    Send(SendError),
    /// The other process is gone (exited, crashed, killed or disconnected) before it answered.
    Disconnected,
    /// The deadline passed before an answer came.
    TimedOut,
    /// The answer came but could not be read (the source says why).
    BrokenReply(ReplyError),
    /// A blocking call made on main's dispatcher thread, which would wait for itself.
    WouldDeadlock,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Invoke { channel, error } => {
                write!(f, "Error invoking remote method '{channel}': {error}")
            }
            CallError::SendSync { channel, error } => {
                write!(f, "Error sending sync message '{channel}': {error}")
            }
            CallError::Send(e) => write!(f, "the request was not sent: {e}"),
            CallError::Disconnected => f.write_str("the other process is gone (disconnected)"),
            CallError::TimedOut => f.write_str("timed out waiting for a reply"),
            CallError::BrokenReply(e) => write!(f, "broken reply: {e}"),
            CallError::WouldDeadlock => f.write_str(
                "a blocking call on the dispatcher thread would wait for itself; use the async form",
            ),
        }
    }
}

impl Error for CallError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            CallError::Invoke { error, .. } | CallError::SendSync { error, .. } => Some(error),
            CallError::Send(e) => Some(e),
            CallError::BrokenReply(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SendError> for CallError {
    /// A request that could not be sent; a gone peer is [`CallError::Disconnected`].
    fn from(e: SendError) -> Self {
        match e {
            SendError::Disconnected => CallError::Disconnected,
            e => CallError::Send(e),
        }
    }
}

impl From<ReplyError> for CallError {
    fn from(e: ReplyError) -> Self {
        CallError::BrokenReply(e)
    }
}

impl CallError {
    /// The remote error, for `Invoke` and `SendSync` failures.
    pub fn remote(&self) -> Option<&RemoteError> {
        match self {
            CallError::Invoke { error, .. } | CallError::SendSync { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Why a renderer connection could not be made ([`IpcRenderer::connect`],
/// [`Main::spawn_renderer`], [`Main::connect_in_process`]).
///
/// [`IpcRenderer::connect`]: crate::IpcRenderer::connect
/// [`Main::spawn_renderer`]: crate::Main::spawn_renderer
/// [`Main::connect_in_process`]: crate::Main::connect_in_process
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The process could not make itself non-dumpable (docs/SECURITY.md).
    Harden(io::Error),
    /// The shared-memory segment could not be created, handed over or mapped.
    Segment(electrode_shm::OpenError),
    /// The renderer process could not be started.
    Spawn(io::Error),
    /// Another system call failed (a thread, a process handle).
    Io(io::Error),
    /// A [`Sandbox`](crate::Sandbox) part that is required could not be set up (the step and
    /// its errno), or the child did not report its sandbox.
    Sandbox(crate::SandboxError),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Harden(e) => write!(f, "cannot harden the process: {e}"),
            ConnectError::Segment(e) => write!(f, "cannot set up the shared memory: {e}"),
            ConnectError::Spawn(e) => write!(f, "cannot start the renderer: {e}"),
            ConnectError::Io(e) => write!(f, "cannot connect: {e}"),
            ConnectError::Sandbox(e) => write!(f, "cannot sandbox the renderer: {e}"),
        }
    }
}

impl Error for ConnectError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ConnectError::Harden(e) | ConnectError::Spawn(e) | ConnectError::Io(e) => Some(e),
            ConnectError::Segment(e) => Some(e),
            ConnectError::Sandbox(e) => Some(e),
        }
    }
}

impl From<electrode_shm::OpenError> for ConnectError {
    fn from(e: electrode_shm::OpenError) -> Self {
        ConnectError::Segment(e)
    }
}

/// Why a handler could not be registered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterError {
    /// The channel has a handler already (Electron's text:
    /// `Attempted to register a second handler for '<channel>'`).
    SecondHandler {
        /// The channel.
        channel: String,
    },
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::SecondHandler { channel } => {
                write!(f, "Attempted to register a second handler for '{channel}'")
            }
        }
    }
}

impl Error for RegisterError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn electron_texts_and_sources() {
        let e = CallError::Invoke {
            channel: "open".into(),
            error: RemoteError::named("NotFound", "no such file"),
        };
        assert_eq!(
            e.to_string(),
            "Error invoking remote method 'open': NotFound: no such file"
        );
        assert_eq!(e.source().unwrap().to_string(), "NotFound: no such file");
        let e = RegisterError::SecondHandler {
            channel: "x".into(),
        };
        assert_eq!(
            e.to_string(),
            "Attempted to register a second handler for 'x'"
        );
        let deep = EncodeError::TooDeep {
            path: "args[0][0]".into(),
        };
        let e = CallError::from(SendError::Unencodable(deep.clone()));
        let send = e.source().unwrap();
        assert_eq!(send.source().unwrap().to_string(), deep.to_string());
        assert_eq!(
            CallError::from(SendError::Disconnected),
            CallError::Disconnected
        );
    }
}
