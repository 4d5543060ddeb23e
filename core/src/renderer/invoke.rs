//! An async call ([`IpcRenderer::invoke`](crate::IpcRenderer::invoke)): registered in the
//! pending-call table, posted with "answer through the ring", completed by the receive thread
//! when main's `Reply` comes. [`Invoke`] is its future; dropping it forgets the call.

use super::connection::Shared;
use super::post::post;
use crate::call::{self, CallKind, CompletionFuture, Outcome};
use crate::error::CallError;
use crate::message::envelope::Envelope;
use crate::message::kind::{Kind, FLAG_REPLY_VIA_RING};
use crate::value::Value;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The future of [`IpcRenderer::invoke`](crate::IpcRenderer::invoke). Works on any executor;
/// [`wait`](Invoke::wait) blocks for it instead.
pub struct Invoke {
    shared: Arc<Shared>,
    id: u64,
    channel: String,
    fut: CompletionFuture<Outcome>,
}

impl fmt::Debug for Invoke {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invoke")
            .field("channel", &self.channel)
            .finish()
    }
}

/// Start an async invoke of `channel` from `frame_id`.
pub(crate) fn start(shared: &Arc<Shared>, frame_id: u32, channel: &str, args: &[Value]) -> Invoke {
    let (id, c) = shared.pending.register();
    let env = Envelope {
        frame_id,
        flags: FLAG_REPLY_VIA_RING,
        request_id: id,
        ..Envelope::default()
    };
    if let Err(e) = post(shared, Kind::Invoke, &env, channel, args) {
        shared.pending.complete(id, Err(e.into()));
    }
    Invoke {
        shared: shared.clone(),
        id,
        channel: channel.to_string(),
        fut: CompletionFuture(c),
    }
}

impl Invoke {
    /// Block until the answer (or `timeout`: then the call is forgotten).
    pub fn wait(self, timeout: Option<Duration>) -> Result<Value, CallError> {
        let outcome = self
            .fut
            .0
            .wait(timeout.map(|t| Instant::now() + t))
            .unwrap_or(Err(CallError::TimedOut));
        call::settle(CallKind::Invoke, &self.channel, outcome)
    }
}

impl Future for Invoke {
    type Output = Result<Value, CallError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        Pin::new(&mut this.fut)
            .poll(cx)
            .map(|outcome| call::settle(CallKind::Invoke, &this.channel, outcome))
    }
}

impl Drop for Invoke {
    fn drop(&mut self) {
        self.shared.pending.forget(self.id);
    }
}
