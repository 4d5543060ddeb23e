//! [`SendSyncChannel`] over rkyv: the renderer blocks; main's listeners read the request in
//! place, and the first that returns a reply answers.

use super::SendSyncChannel;
use crate::call::CallKind;
use crate::error::CallError;
use crate::listeners::ListenerId;
use crate::main::events::IpcMainEvent;
use crate::main::registry::IpcMain;
use crate::message::body::Payload;
use crate::renderer::request::Call;
use crate::renderer::IpcRenderer;
use crate::typed::call::{blocking, encode_reply};
use crate::typed::codec::{self, Archivable, Archived, Rkyv};
use std::sync::Arc;
use std::time::{Duration, Instant};

impl<Req: Archivable, Rep: Archivable> SendSyncChannel<Req, Rep, Rkyv> {
    /// Listen in `ipc`. The listener reads the request in place and returns `Some(reply)` to
    /// answer (the first answer wins, as with `set_return_value`) or `None` to leave it to
    /// another listener. Unanswered by every listener, the `sendSync` fails with
    /// `reply was never sent`.
    pub fn on<F>(&self, ipc: &IpcMain, f: F) -> ListenerId
    where
        F: Fn(&IpcMainEvent, &Archived<Req>) -> Option<Rep> + Send + Sync + 'static,
    {
        ipc.add_listener(self.name(), self.listener(f), false)
    }

    /// As [`on`](Self::on), but fires at most once.
    pub fn once<F>(&self, ipc: &IpcMain, f: F) -> ListenerId
    where
        F: Fn(&IpcMainEvent, &Archived<Req>) -> Option<Rep> + Send + Sync + 'static,
    {
        ipc.add_listener(self.name(), self.listener(f), true)
    }

    fn listener<F>(&self, f: F) -> Arc<crate::main::registry::Listener>
    where
        F: Fn(&IpcMainEvent, &Archived<Req>) -> Option<Rep> + Send + Sync + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        Arc::new(move |event: &IpcMainEvent, payload: &Payload<'_>| {
            if let Some(reply) = f(event, codec::access::<Req>(name, fp, payload)?) {
                event.answer(encode_reply(&reply));
            }
            Ok(())
        })
    }

    /// Send `request` and block for the reply, owned.
    pub fn send_sync(&self, renderer: &IpcRenderer, request: &Req) -> Result<Rep, CallError> {
        self.call(renderer, request, None, codec::to_owned::<Rep>)?
    }

    /// As [`send_sync`](Self::send_sync), giving up after `timeout`.
    pub fn send_sync_timeout(
        &self,
        renderer: &IpcRenderer,
        request: &Req,
        timeout: Duration,
    ) -> Result<Rep, CallError> {
        let deadline = Some(Instant::now() + timeout);
        self.call(renderer, request, deadline, codec::to_owned::<Rep>)?
    }

    /// Send `request`, block, and read the reply in place with `read`.
    pub fn send_sync_with<R>(
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
            kind: CallKind::SendSync,
            channel: self.name(),
            fingerprint: self.fingerprint(),
            deadline,
        };
        blocking::<Req, Rep, R>(renderer, &call, request, read)
    }
}
