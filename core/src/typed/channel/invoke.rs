//! [`InvokeChannel`] over rkyv: main's handlers read the request in place; the renderer calls
//! blocking (reading the reply in place, in its response slot, or owned) or async.

use super::InvokeChannel;
use crate::call::CallKind;
use crate::error::{CallError, RegisterError, RemoteError};
use crate::main::events::{DeferredReply, IpcMainInvokeEvent};
use crate::main::registry::{refuse_deferred, AnswerFuture, Handler, IpcMain};
use crate::message::body::{Body, Payload};
use crate::renderer::invoke::start_body;
use crate::renderer::request::Call;
use crate::renderer::IpcRenderer;
use crate::typed::call::{answer_of, blocking, encode_reply, TypedInvoke};
use crate::typed::codec::{self, Archivable, Archived, Rkyv};
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl<Req: Archivable, Rep: Archivable> InvokeChannel<Req, Rep, Rkyv> {
    /// Register the one handler for this channel in `ipc` (the global `ipcMain` or a
    /// WebContents' scope). It reads the request in place — `&Archived<Req>`, validated, in
    /// main's private copy of the message, nothing deserialized — and returns the reply or an
    /// error. A second handler fails as `IpcMain::handle` does.
    pub fn handle<F>(&self, ipc: &IpcMain, f: F) -> Result<(), RegisterError>
    where
        F: Fn(&IpcMainInvokeEvent, &Archived<Req>) -> Result<Rep, RemoteError>
            + Send
            + Sync
            + 'static,
    {
        self.set(ipc, f, false)
    }

    /// As [`handle`](Self::handle), removed before it first runs.
    pub fn handle_once<F>(&self, ipc: &IpcMain, f: F) -> Result<(), RegisterError>
    where
        F: Fn(&IpcMainInvokeEvent, &Archived<Req>) -> Result<Rep, RemoteError>
            + Send
            + Sync
            + 'static,
    {
        self.set(ipc, f, true)
    }

    fn set<F>(&self, ipc: &IpcMain, f: F, once: bool) -> Result<(), RegisterError>
    where
        F: Fn(&IpcMainInvokeEvent, &Archived<Req>) -> Result<Rep, RemoteError>
            + Send
            + Sync
            + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        let handler = move |event: &IpcMainInvokeEvent, payload: &Payload<'_>| {
            let request = codec::access::<Req>(name, fp, payload)?;
            Ok(answer_of(f(event, request)))
        };
        ipc.set_handler(name, Handler::Sync(Arc::new(handler)), once)
    }

    /// Register a handler that answers later, from any thread, through the [`TypedReply`] it
    /// is given. Dropping the reply unanswered rejects the invoke with `reply was never sent`.
    pub fn handle_deferred<F>(&self, ipc: &IpcMain, f: F) -> Result<(), RegisterError>
    where
        F: Fn(&IpcMainInvokeEvent, &Archived<Req>, TypedReply<Rep>) + Send + Sync + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        let handler = move |event: &IpcMainInvokeEvent, payload: &Payload<'_>, reply| {
            match codec::access::<Req>(name, fp, payload) {
                Ok(request) => {
                    f(event, request, TypedReply::new(reply));
                    Ok(())
                }
                Err(why) => refuse_deferred(reply, why),
            }
        };
        ipc.set_handler(name, Handler::Deferred(Arc::new(handler)), false)
    }

    /// Register an async handler: it gets the request owned (deserialized from its validated
    /// archive: a future outlives the message) and returns a future, which runs on main's
    /// executor; its output is the reply.
    pub fn handle_async<F, Fut>(&self, ipc: &IpcMain, f: F) -> Result<(), RegisterError>
    where
        F: Fn(IpcMainInvokeEvent, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Rep, RemoteError>> + Send + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        let handler = move |event: IpcMainInvokeEvent, payload: &Payload<'_>| {
            let request = codec::access::<Req>(name, fp, payload)?;
            let request = codec::request_to_owned::<Req>(name, request)?;
            let fut = f(event, request);
            Ok(Box::pin(async move { answer_of(fut.await) }) as AnswerFuture)
        };
        ipc.set_handler(name, Handler::Async(Arc::new(handler)), false)
    }

    /// Register a handler that runs on main's pool of blocking threads, as
    /// [`IpcMain::handle_blocking`]'s do (only its own caller waits while it works). It gets
    /// the request owned (deserialized from its validated archive).
    pub fn handle_blocking<F>(&self, ipc: &IpcMain, f: F) -> Result<(), RegisterError>
    where
        F: Fn(&IpcMainInvokeEvent, Req) -> Result<Rep, RemoteError> + Send + Sync + 'static,
        Req: Send + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        let f = Arc::new(f);
        let handler = move |event: IpcMainInvokeEvent, payload: &Payload<'_>| {
            let request = codec::access::<Req>(name, fp, payload)?;
            let request = codec::request_to_owned::<Req>(name, request)?;
            let f = f.clone();
            Ok(Box::new(move || answer_of(f(&event, request)))
                as crate::main::blocking::BlockingJob)
        };
        ipc.set_handler(name, Handler::Blocking(Arc::new(handler)), false)
    }

    /// Invoke main's handler and wait for the reply, owned.
    pub fn invoke_blocking(&self, renderer: &IpcRenderer, request: &Req) -> Result<Rep, CallError> {
        self.call(renderer, request, None, codec::to_owned::<Rep>)?
    }

    /// As [`invoke_blocking`](Self::invoke_blocking), giving up after `timeout`.
    pub fn invoke_timeout(
        &self,
        renderer: &IpcRenderer,
        request: &Req,
        timeout: Duration,
    ) -> Result<Rep, CallError> {
        let deadline = Some(Instant::now() + timeout);
        self.call(renderer, request, deadline, codec::to_owned::<Rep>)?
    }

    /// Invoke main's handler, wait, and read the reply in place with `read` (validated, where
    /// it lies: in the call's response slot, or the mailbox entry of a large reply): nothing
    /// is deserialized or copied.
    pub fn invoke_with<R>(
        &self,
        renderer: &IpcRenderer,
        request: &Req,
        read: impl FnOnce(&Archived<Rep>) -> R,
    ) -> Result<R, CallError> {
        self.call(renderer, request, None, read)
    }

    fn call<R>(
        &self,
        renderer: &IpcRenderer,
        request: &Req,
        deadline: Option<Instant>,
        read: impl FnOnce(&Archived<Rep>) -> R,
    ) -> Result<R, CallError> {
        let call = Call {
            frame_id: renderer.frame_id,
            kind: CallKind::Invoke,
            channel: self.name(),
            fingerprint: self.fingerprint(),
            deadline,
        };
        blocking::<Req, Rep, R>(renderer, &call, request, read)
    }

    /// Invoke main's handler; the future resolves with the reply, owned.
    pub fn invoke(&self, renderer: &IpcRenderer, request: &Req) -> TypedInvoke<Rep> {
        let (name, fp) = (self.name(), self.fingerprint());
        let started = codec::with_archive(request, |bytes| {
            Ok(start_body(
                &renderer.shared,
                renderer.frame_id,
                name,
                fp,
                Body::Archive(bytes),
            ))
        });
        match started {
            Ok(call) => TypedInvoke::renderer(call),
            Err(e) => TypedInvoke::failed(e),
        }
    }
}

/// The answer a [`handle_deferred`](InvokeChannel::handle_deferred) handler owes: give it
/// once, from any thread. Dropped unanswered, it rejects the invoke with `reply was never
/// sent`.
pub struct TypedReply<Rep> {
    reply: DeferredReply,
    _types: PhantomData<fn(Rep)>,
}

impl<Rep> std::fmt::Debug for TypedReply<Rep> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedReply").finish_non_exhaustive()
    }
}

impl<Rep: Archivable> TypedReply<Rep> {
    fn new(reply: DeferredReply) -> Self {
        TypedReply {
            reply,
            _types: PhantomData,
        }
    }

    /// Answer with `value`.
    pub fn resolve(self, value: &Rep) {
        self.reply.send(encode_reply(value))
    }

    /// Reject the invoke.
    pub fn reject(self, error: impl Into<RemoteError>) {
        self.reply.send(Err(error.into()))
    }

    /// Answer with a handler-style result.
    pub fn complete(self, result: Result<Rep, RemoteError>) {
        self.reply.send(answer_of(result))
    }
}
