//! The five channel kinds over the [`Serde`] codec (feature `serde`): values travel as one
//! [`Value`] argument (converted with `electrode::serde`), receivers get them owned. The
//! fingerprint is checked as for rkyv channels; a value that does not deserialize into the
//! channel's type is refused with a `TypeError`.

use super::call::TypedInvoke;
use super::channel::{
    EventChannel, InvokeChannel, RendererInvokeChannel, SendChannel, SendSyncChannel,
};
use super::codec::{mismatch, Codec as _, Serde};
use crate::call::CallKind;
use crate::error::{CallError, RegisterError, RemoteError, ReplyError, SendError};
use crate::listeners::ListenerId;
use crate::main::events::{IpcMainEvent, IpcMainInvokeEvent};
use crate::main::registry::{AnswerFuture, Handler, IpcMain};
use crate::main::web_contents::WebContents;
use crate::message::body::{Body, Data, Payload, Refusal};
use crate::message::reply::{Answer, AnswerRef, Returned};
use crate::renderer::invoke::start_body;
use crate::renderer::request::{request_with, Call};
use crate::renderer::{IpcRenderer, IpcRendererEvent};
use crate::value::Value;
use crate::wire::EncodeError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use type_hash::TypeHash;

/// A serde channel's value as the one argument it travels as.
fn encode<T: Serialize>(value: &T) -> Result<Value, SendError> {
    crate::serde::to_value(value)
        .map_err(|e| SendError::Unencodable(EncodeError::Serialize(e.to_string())))
}

/// The channel's value in a received payload, owned.
fn read<T: DeserializeOwned>(channel: &str, fp: u64, payload: &Payload<'_>) -> Result<T, Refusal> {
    match &payload.data {
        Data::Values(args) if payload.fingerprint == fp => args
            .deserialize::<(T,)>()
            .map(|(v,)| v)
            .map_err(|e| Refusal::Type(format!("channel '{channel}': {e}"))),
        _ => Err(Refusal::Type(mismatch(channel, Serde::ID, fp, payload))),
    }
}

/// A handler's result as an answer.
fn answer<T: Serialize>(result: Result<T, RemoteError>) -> Answer {
    let value = encode(&result?)
        .map_err(|e| RemoteError::new(format!("the reply could not be sent: {e}")))?;
    Ok(Returned::Value(value))
}

/// A reply's value, owned.
fn reply<T: DeserializeOwned>(answer: AnswerRef<'_>) -> Result<T, CallError> {
    match answer {
        AnswerRef::Value(v) => crate::serde::from_value(v)
            .map_err(|e| CallError::BrokenReply(ReplyError::InvalidArchive(e.to_string()))),
        AnswerRef::Archive(_) => Err(CallError::BrokenReply(ReplyError::WrongShape)),
    }
}

/// A blocking call from a renderer.
fn call<Req: Serialize, Rep: DeserializeOwned>(
    renderer: &IpcRenderer,
    call: Call<'_>,
    request: &Req,
) -> Result<Rep, CallError> {
    let value = encode(request)?;
    request_with(
        &renderer.shared,
        &call,
        Body::Values(std::slice::from_ref(&value)),
        reply::<Rep>,
    )
}

impl<T: Serialize + DeserializeOwned + TypeHash> SendChannel<T, Serde> {
    /// Send `message` to main.
    pub fn send(&self, renderer: &IpcRenderer, message: &T) -> Result<(), SendError> {
        let value = encode(message)?;
        renderer.post_body(
            self.name(),
            self.fingerprint(),
            Body::Values(std::slice::from_ref(&value)),
        )
    }

    /// Listen in `ipc`; the listener gets the message owned.
    pub fn on<F>(&self, ipc: &IpcMain, f: F) -> ListenerId
    where
        F: Fn(&IpcMainEvent, T) + Send + Sync + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        ipc.add_listener(
            name,
            Arc::new(move |event: &IpcMainEvent, payload: &Payload<'_>| {
                f(event, read::<T>(name, fp, payload)?);
                Ok(())
            }),
            false,
        )
    }
}

impl<Req, Rep> SendSyncChannel<Req, Rep, Serde>
where
    Req: Serialize + DeserializeOwned + TypeHash,
    Rep: Serialize + DeserializeOwned + TypeHash,
{
    /// Listen in `ipc`; `Some(reply)` answers (the first answer wins).
    pub fn on<F>(&self, ipc: &IpcMain, f: F) -> ListenerId
    where
        F: Fn(&IpcMainEvent, Req) -> Option<Rep> + Send + Sync + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        ipc.add_listener(
            name,
            Arc::new(move |event: &IpcMainEvent, payload: &Payload<'_>| {
                if let Some(rep) = f(event, read::<Req>(name, fp, payload)?) {
                    event.answer(answer(Ok(rep)));
                }
                Ok(())
            }),
            false,
        )
    }

    /// Send `request` and block for the reply.
    pub fn send_sync(&self, renderer: &IpcRenderer, request: &Req) -> Result<Rep, CallError> {
        let c = Call {
            frame_id: renderer.frame_id,
            kind: CallKind::SendSync,
            channel: self.name(),
            fingerprint: self.fingerprint(),
            deadline: None,
        };
        call(renderer, c, request)
    }
}

impl<Req, Rep> InvokeChannel<Req, Rep, Serde>
where
    Req: Serialize + DeserializeOwned + TypeHash,
    Rep: Serialize + DeserializeOwned + TypeHash,
{
    /// Register the one handler for this channel in `ipc`; it gets the request owned.
    pub fn handle<F>(&self, ipc: &IpcMain, f: F) -> Result<(), RegisterError>
    where
        F: Fn(&IpcMainInvokeEvent, Req) -> Result<Rep, RemoteError> + Send + Sync + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        let handler = move |event: &IpcMainInvokeEvent, payload: &Payload<'_>| {
            Ok(answer(f(event, read::<Req>(name, fp, payload)?)))
        };
        ipc.set_handler(name, Handler::Sync(Arc::new(handler)), false)
    }

    /// Register an async handler.
    pub fn handle_async<F, Fut>(&self, ipc: &IpcMain, f: F) -> Result<(), RegisterError>
    where
        F: Fn(IpcMainInvokeEvent, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Rep, RemoteError>> + Send + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        let handler = move |event: IpcMainInvokeEvent, payload: &Payload<'_>| {
            let fut = f(event, read::<Req>(name, fp, payload)?);
            Ok(Box::pin(async move { answer(fut.await) }) as AnswerFuture)
        };
        ipc.set_handler(name, Handler::Async(Arc::new(handler)), false)
    }

    /// Invoke main's handler and block for the reply.
    pub fn invoke_blocking(&self, renderer: &IpcRenderer, request: &Req) -> Result<Rep, CallError> {
        self.invoke_deadline(renderer, request, None)
    }

    /// As [`invoke_blocking`](Self::invoke_blocking), giving up after `timeout`.
    pub fn invoke_timeout(
        &self,
        renderer: &IpcRenderer,
        request: &Req,
        timeout: Duration,
    ) -> Result<Rep, CallError> {
        self.invoke_deadline(renderer, request, Some(Instant::now() + timeout))
    }

    fn invoke_deadline(
        &self,
        renderer: &IpcRenderer,
        request: &Req,
        deadline: Option<Instant>,
    ) -> Result<Rep, CallError> {
        let c = Call {
            frame_id: renderer.frame_id,
            kind: CallKind::Invoke,
            channel: self.name(),
            fingerprint: self.fingerprint(),
            deadline,
        };
        call(renderer, c, request)
    }

    /// Invoke main's handler; the future resolves with the reply.
    pub fn invoke(&self, renderer: &IpcRenderer, request: &Req) -> TypedInvoke<Rep, Serde> {
        match encode(request) {
            Ok(value) => TypedInvoke::renderer(start_body(
                &renderer.shared,
                renderer.frame_id,
                self.name(),
                self.fingerprint(),
                Body::Values(std::slice::from_ref(&value)),
            )),
            Err(e) => TypedInvoke::failed(e),
        }
    }
}

impl<T: Serialize + DeserializeOwned + TypeHash> EventChannel<T, Serde> {
    /// Send `message` to the renderer's main frame.
    pub fn send(&self, web_contents: &WebContents, message: &T) -> Result<(), SendError> {
        self.send_frame(web_contents, 0, message)
    }

    /// Send to the frame an event came from (Electron's `event.reply`).
    pub fn reply(&self, event: &IpcMainEvent, message: &T) -> Result<(), SendError> {
        self.send_frame(event.sender(), event.frame_id(), message)
    }

    fn send_frame(&self, wc: &WebContents, frame_id: u32, message: &T) -> Result<(), SendError> {
        let value = encode(message)?;
        wc.send_body(
            frame_id,
            self.name(),
            self.fingerprint(),
            Body::Values(std::slice::from_ref(&value)),
        )
    }

    /// Listen in the renderer's frame; the listener gets the message owned.
    pub fn on<F>(&self, renderer: &IpcRenderer, f: F) -> ListenerId
    where
        F: Fn(&IpcRendererEvent, T) + Send + Sync + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        renderer.listeners().add(
            name,
            Arc::new(move |event: &IpcRendererEvent, payload: &Payload<'_>| {
                f(event, read::<T>(name, fp, payload)?);
                Ok(())
            }),
            false,
        )
    }
}

impl<Req, Rep> RendererInvokeChannel<Req, Rep, Serde>
where
    Req: Serialize + DeserializeOwned + TypeHash,
    Rep: Serialize + DeserializeOwned + TypeHash,
{
    /// Register the renderer's one handler for this channel.
    pub fn handle<F>(&self, renderer: &IpcRenderer, f: F) -> Result<(), RegisterError>
    where
        F: Fn(Req) -> Result<Rep, RemoteError> + Send + Sync + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        renderer.set_handler(
            name,
            Arc::new(move |payload: &Payload<'_>| Ok(answer(f(read::<Req>(name, fp, payload)?)))),
        )
    }

    /// Invoke the renderer's handler; the future resolves with the reply.
    pub fn invoke(&self, web_contents: &WebContents, request: &Req) -> TypedInvoke<Rep, Serde> {
        match encode(request) {
            Ok(value) => TypedInvoke::pending(web_contents.start_invoke(
                self.name(),
                self.fingerprint(),
                Body::Values(std::slice::from_ref(&value)),
            )),
            Err(e) => TypedInvoke::failed(e),
        }
    }

    /// Blocking form of [`invoke`](Self::invoke), with an optional timeout.
    pub fn invoke_blocking(
        &self,
        web_contents: &WebContents,
        request: &Req,
        timeout: Option<Duration>,
    ) -> Result<Rep, CallError> {
        if crate::guard::on_dispatcher_thread() {
            return Err(CallError::WouldDeadlock);
        }
        self.invoke(web_contents, request).wait(timeout)
    }
}

impl<Rep: DeserializeOwned> TypedInvoke<Rep, Serde> {
    /// Block until the answer (or `timeout`: then the call is forgotten).
    pub fn wait(self, timeout: Option<Duration>) -> Result<Rep, CallError> {
        owned(self.wait_returned(timeout)?)
    }
}

impl<Rep: DeserializeOwned> Future for TypedInvoke<Rep, Serde> {
    type Output = Result<Rep, CallError>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        self.poll_returned(cx).map(|r| owned(r?))
    }
}

fn owned<Rep: DeserializeOwned>(returned: Returned) -> Result<Rep, CallError> {
    match returned {
        Returned::Value(v) => reply(AnswerRef::Value(v)),
        Returned::Archive(_) => Err(CallError::BrokenReply(ReplyError::WrongShape)),
    }
}
