//! [`EventChannel`] over rkyv: main sends (`webContents.send`, `send_to_frame`, `event.reply`),
//! the renderer's listeners read the message in place.

use super::EventChannel;
use crate::error::SendError;
use crate::listeners::ListenerId;
use crate::main::events::IpcMainEvent;
use crate::main::web_contents::WebContents;
use crate::message::body::{Body, Payload};
use crate::renderer::{IpcRenderer, IpcRendererEvent};
use crate::typed::codec::{self, Archivable, Archived, Rkyv};
use std::sync::Arc;

impl<T: Archivable> EventChannel<T, Rkyv> {
    /// Send `message` to the renderer's main frame (queued if its ring is full).
    pub fn send(&self, web_contents: &WebContents, message: &T) -> Result<(), SendError> {
        self.send_frame(web_contents, 0, message)
    }

    /// Send to one frame. Returns `false` when the frame is unknown, the renderer is gone or
    /// the message cannot be sent.
    pub fn send_to_frame(&self, web_contents: &WebContents, frame_id: u32, message: &T) -> bool {
        web_contents.has_frame(frame_id) && self.send_frame(web_contents, frame_id, message).is_ok()
    }

    /// Send to the frame an event came from (Electron's `event.reply`).
    pub fn reply(&self, event: &IpcMainEvent, message: &T) -> Result<(), SendError> {
        self.send_frame(event.sender(), event.frame_id(), message)
    }

    fn send_frame(
        &self,
        web_contents: &WebContents,
        frame_id: u32,
        message: &T,
    ) -> Result<(), SendError> {
        codec::with_archive(message, |bytes| {
            web_contents.send_body(
                frame_id,
                self.name(),
                self.fingerprint(),
                Body::Archive(bytes),
            )
        })
    }

    /// Listen in the renderer's frame. The listener reads the message in place; listeners run
    /// in order on the renderer's receive thread.
    pub fn on<F>(&self, renderer: &IpcRenderer, f: F) -> ListenerId
    where
        F: Fn(&IpcRendererEvent, &Archived<T>) + Send + Sync + 'static,
    {
        renderer
            .listeners()
            .add(self.name(), self.listener(f), false)
    }

    /// As [`on`](Self::on), but fires at most once.
    pub fn once<F>(&self, renderer: &IpcRenderer, f: F) -> ListenerId
    where
        F: Fn(&IpcRendererEvent, &Archived<T>) + Send + Sync + 'static,
    {
        renderer
            .listeners()
            .add(self.name(), self.listener(f), true)
    }

    fn listener<F>(&self, f: F) -> Arc<crate::renderer::connection::RListener>
    where
        F: Fn(&IpcRendererEvent, &Archived<T>) + Send + Sync + 'static,
    {
        let (name, fp) = (self.name(), self.fingerprint());
        Arc::new(move |event: &IpcRendererEvent, payload: &Payload<'_>| {
            f(event, codec::access::<T>(name, fp, payload)?);
            Ok(())
        })
    }
}
