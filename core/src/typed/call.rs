//! [`TypedInvoke`]: the future of a typed invoke, either direction (the renderer's
//! [`InvokeChannel::invoke`](super::InvokeChannel::invoke), main's
//! [`RendererInvokeChannel::invoke`](super::RendererInvokeChannel::invoke)).

use super::codec::{self, Archivable, Archived, Rkyv};
use crate::call::{self, CallKind, Outcome, PendingCall};
use crate::error::{CallError, RemoteError, ReplyError, SendError};
use crate::message::body::Body;
use crate::message::reply::{Answer, AnswerRef, Returned};
use crate::renderer::invoke::AsyncCall;
use crate::renderer::request::{request_with, Call};
use crate::renderer::IpcRenderer;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The future of a typed invoke: resolves with the reply, owned (deserialized from its
/// validated archive), or the call's error. Works on any executor; [`wait`](Self::wait) blocks
/// for it instead. Dropping it forgets the call: a late answer goes nowhere.
pub struct TypedInvoke<Rep, C = Rkyv> {
    state: State,
    _types: PhantomData<fn() -> (Rep, C)>,
}

enum State {
    /// Main's invoke of a renderer handler.
    Pending(PendingCall),
    /// A renderer's invoke of main's handler.
    Renderer(AsyncCall),
    /// Refused before it was sent (the request could not be encoded).
    Failed(Option<CallError>),
}

impl<Rep, C> fmt::Debug for TypedInvoke<Rep, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let channel = match &self.state {
            State::Pending(p) => p.channel(),
            State::Renderer(c) => c.channel(),
            State::Failed(_) => "(failed)",
        };
        f.debug_struct("TypedInvoke")
            .field("channel", &channel)
            .finish()
    }
}

impl<Rep, C> TypedInvoke<Rep, C> {
    pub(crate) fn pending(call: PendingCall) -> Self {
        TypedInvoke {
            state: State::Pending(call),
            _types: PhantomData,
        }
    }

    pub(crate) fn renderer(call: AsyncCall) -> Self {
        TypedInvoke {
            state: State::Renderer(call),
            _types: PhantomData,
        }
    }

    pub(crate) fn failed(e: SendError) -> Self {
        TypedInvoke {
            state: State::Failed(Some(CallError::Send(e))),
            _types: PhantomData,
        }
    }

    pub(crate) fn wait_returned(self, timeout: Option<Duration>) -> Result<Returned, CallError> {
        match self.state {
            State::Pending(p) => {
                let channel = p.channel().to_string();
                call::settle_returned(CallKind::Invoke, &channel, p.wait_outcome(timeout))
            }
            State::Renderer(c) => c.wait_returned(timeout),
            State::Failed(e) => Err(e.unwrap_or(CallError::Disconnected)),
        }
    }

    pub(crate) fn poll_returned(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Returned, CallError>> {
        match &mut self.state {
            State::Pending(p) => p.poll_outcome(cx).map(|outcome: Outcome| {
                call::settle_returned(CallKind::Invoke, p.channel(), outcome)
            }),
            State::Renderer(c) => c.poll_returned(cx),
            State::Failed(e) => Poll::Ready(Err(e.take().unwrap_or(CallError::Disconnected))),
        }
    }
}

impl<Rep: Archivable> TypedInvoke<Rep, Rkyv> {
    /// Block until the answer (or `timeout`: then the call is forgotten).
    pub fn wait(self, timeout: Option<Duration>) -> Result<Rep, CallError> {
        owned_reply::<Rep>(self.wait_returned(timeout)?)
    }
}

impl<Rep: Archivable> Future for TypedInvoke<Rep, Rkyv> {
    type Output = Result<Rep, CallError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_returned(cx).map(|r| owned_reply::<Rep>(r?))
    }
}

/// An archived reply, validated and deserialized.
pub(crate) fn owned_reply<Rep: Archivable>(returned: Returned) -> Result<Rep, CallError> {
    let answer = match &returned {
        Returned::Archive(a) => AnswerRef::Archive(a.as_slice()),
        Returned::Value(_) => return Err(CallError::BrokenReply(ReplyError::WrongShape)),
    };
    codec::read_reply::<Rep, _>(answer, codec::to_owned::<Rep>)?
}

/// A typed handler's result as the answer main or a renderer sends: its reply archived, or
/// the error (also when the reply cannot be archived).
pub(crate) fn answer_of<Rep: Archivable>(result: Result<Rep, RemoteError>) -> Answer {
    encode_reply(&result?)
}

/// A typed reply as an answer (an error when it cannot be archived).
pub(crate) fn encode_reply<Rep: Archivable>(value: &Rep) -> Answer {
    codec::returned(value)
        .map_err(|e| RemoteError::new(format!("the reply could not be sent: {e}")))
}

/// A blocking typed call from a renderer (invoke or `sendSync`): archive the request, post it
/// naming a response slot, and read the validated reply where it lies with `read`.
pub(crate) fn blocking<Req: Archivable, Rep: Archivable, R>(
    renderer: &IpcRenderer,
    call: &Call<'_>,
    request: &Req,
    read: impl FnOnce(&Archived<Rep>) -> R,
) -> Result<R, CallError> {
    codec::with_archive(request, |bytes| {
        Ok(request_with(
            &renderer.shared,
            call,
            Body::Archive(bytes),
            |answer| codec::read_reply::<Rep, R>(answer, read),
        ))
    })?
}
