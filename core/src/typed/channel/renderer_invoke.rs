//! [`RendererInvokeChannel`] over rkyv: a renderer handler reads main's request in place;
//! main awaits (or blocks for) the reply.

use super::RendererInvokeChannel;
use crate::error::{CallError, RegisterError, RemoteError};
use crate::main::web_contents::WebContents;
use crate::message::body::{Body, Payload};
use crate::renderer::IpcRenderer;
use crate::typed::call::{answer_of, TypedInvoke};
use crate::typed::codec::{self, Archivable, Archived, Rkyv};
use std::sync::Arc;
use std::time::Duration;

impl<Req: Archivable, Rep: Archivable> RendererInvokeChannel<Req, Rep, Rkyv> {
    /// Register the renderer's one handler for this channel. It runs on the receive thread,
    /// reads main's request in place and returns the reply or an error.
    pub fn handle<F>(&self, renderer: &IpcRenderer, f: F) -> Result<(), RegisterError>
    where
        F: Fn(&Archived<Req>) -> Result<Rep, RemoteError> + Send + Sync + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        renderer.set_handler(
            name,
            Arc::new(move |payload: &Payload<'_>| {
                Ok(answer_of(f(codec::access::<Req>(name, fp, payload)?)))
            }),
        )
    }

    /// Invoke the renderer's handler; the future resolves with the reply, owned.
    pub fn invoke(&self, web_contents: &WebContents, request: &Req) -> TypedInvoke<Rep> {
        let started = codec::with_archive(request, |bytes| {
            Ok(web_contents.start_invoke(self.name(), self.fingerprint(), Body::Archive(bytes)))
        });
        match started {
            Ok(call) => TypedInvoke::pending(call),
            Err(e) => TypedInvoke::failed(e),
        }
    }

    /// Blocking form of [`invoke`](Self::invoke), with an optional timeout. Fails with
    /// [`CallError::WouldDeadlock`] on the dispatcher thread (the reply arrives through it).
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
