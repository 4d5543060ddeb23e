//! An async call ([`IpcRenderer::invoke`](crate::IpcRenderer::invoke)): registered in the
//! pending-call table, posted with "answer through the ring", completed by the receive thread
//! when main's `Reply` comes. [`Invoke`] is its future; dropping it forgets the call.

use super::connection::Shared;
use super::post::post;
use crate::call::PendingCall;
use crate::error::CallError;
use crate::message::body::Body;
use crate::message::envelope::Envelope;
use crate::message::kind::{Kind, FLAG_REPLY_VIA_RING};
use crate::value::Value;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The future of [`IpcRenderer::invoke`](crate::IpcRenderer::invoke). Works on any executor;
/// [`wait`](Invoke::wait) blocks for it instead.
pub struct Invoke(PendingCall);

impl fmt::Debug for Invoke {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invoke")
            .field("channel", &self.0.channel())
            .finish()
    }
}

/// Start an async invoke of `channel` from `frame_id`.
pub(crate) fn start(shared: &Shared, frame_id: u32, channel: &str, args: &[Value]) -> Invoke {
    Invoke(start_body(shared, frame_id, channel, 0, Body::Values(args)))
}

/// Start an async invoke with any body (typed channels give their fingerprint).
pub(crate) fn start_body(
    shared: &Shared,
    frame_id: u32,
    channel: &str,
    fingerprint: u64,
    body: Body<'_>,
) -> PendingCall {
    PendingCall::start(&shared.pending, channel, |id| {
        let env = Envelope {
            frame_id,
            flags: FLAG_REPLY_VIA_RING,
            request_id: id,
            fingerprint,
            ..Envelope::default()
        };
        post(shared, Kind::Invoke, &env, channel, body)
    })
}

impl Invoke {
    /// Block until the answer (or `timeout`: then the call is forgotten).
    pub fn wait(self, timeout: Option<Duration>) -> Result<Value, CallError> {
        self.0.wait(timeout)
    }
}

impl Future for Invoke {
    type Output = Result<Value, CallError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}
