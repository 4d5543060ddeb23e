//! [`SendChannel`] over rkyv: the renderer sends, main's listeners read the message in place.

use super::SendChannel;
use crate::error::SendError;
use crate::listeners::ListenerId;
use crate::main::events::IpcMainEvent;
use crate::main::registry::IpcMain;
use crate::main::web_contents::WebContents;
use crate::message::body::{Body, Payload};
use crate::renderer::IpcRenderer;
use crate::typed::codec::{self, Archivable, Archived, Rkyv};
use std::sync::Arc;

impl<T: Archivable> SendChannel<T, Rkyv> {
    /// Send `message` to main (blocking while the ring is full, per the renderer's options).
    pub fn send(&self, renderer: &IpcRenderer, message: &T) -> Result<(), SendError> {
        codec::with_archive(message, |bytes| {
            renderer.post_body(self.name(), self.fingerprint(), Body::Archive(bytes))
        })
    }

    /// Listen in `ipc` (the global `ipcMain` or a WebContents' scope). The listener reads the
    /// message in place (`&Archived<T>`, validated, nothing deserialized); listeners of a
    /// channel run in registration order on the dispatcher thread, `Value` and typed alike.
    pub fn on<F>(&self, ipc: &IpcMain, f: F) -> ListenerId
    where
        F: Fn(&IpcMainEvent, &Archived<T>) + Send + Sync + 'static,
    {
        ipc.add_listener(self.name(), self.listener(f), false)
    }

    /// As [`on`](Self::on), but fires at most once.
    pub fn once<F>(&self, ipc: &IpcMain, f: F) -> ListenerId
    where
        F: Fn(&IpcMainEvent, &Archived<T>) + Send + Sync + 'static,
    {
        ipc.add_listener(self.name(), self.listener(f), true)
    }

    /// A hook on one renderer, run before its scope's and the global listeners (Electron's
    /// `ipc-message`, for this channel only).
    pub fn on_ipc_message<F>(&self, web_contents: &WebContents, f: F)
    where
        F: Fn(&IpcMainEvent, &Archived<T>) + Send + Sync + 'static,
    {
        let name = self.name();
        let listener = self.listener(f);
        web_contents.add_hook(
            false,
            Arc::new(move |event: &IpcMainEvent, payload: &Payload<'_>| {
                if event.channel() != name {
                    return Ok(());
                }
                listener(event, payload)
            }),
        );
    }

    fn listener<F>(&self, f: F) -> Arc<crate::main::registry::Listener>
    where
        F: Fn(&IpcMainEvent, &Archived<T>) + Send + Sync + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        Arc::new(move |event: &IpcMainEvent, payload: &Payload<'_>| {
            f(event, codec::access::<T>(name, fp, payload)?);
            Ok(())
        })
    }
}
