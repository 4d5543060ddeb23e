//! The event objects main's listeners and handlers receive, and the answers they owe.

use super::frame::WebFrameMain;
use super::respond::Responder;
use super::web_contents::WebContents;
use crate::error::{RemoteError, SendError};
use crate::message::reply::Answer;
use crate::value::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The `sendSync` answer shared by every clone of one event: the first value set wins; if none
/// is set by the time the last clone is dropped, the caller gets `reply was never sent`.
pub(crate) struct SyncReturn {
    target: parking_lot::Mutex<Option<Responder>>,
    answered: AtomicBool,
}

impl SyncReturn {
    pub(crate) fn new(target: Responder) -> Self {
        SyncReturn {
            target: parking_lot::Mutex::new(Some(target)),
            answered: AtomicBool::new(false),
        }
    }

    pub(crate) fn answer(&self, result: Answer) -> bool {
        if self.answered.swap(true, Ordering::AcqRel) {
            return false;
        }
        if let Some(t) = self.target.lock().take() {
            t.send(result);
        }
        true
    }
}

impl Drop for SyncReturn {
    fn drop(&mut self) {
        if let Some(t) = self.target.get_mut().take() {
            t.send(Err(RemoteError::bare("reply was never sent")));
        }
    }
}

/// What a `send` / `sendSync` listener receives (Electron's `IpcMainEvent`). Cheap to clone;
/// a clone may outlive the listener (e.g. to set the return value later, from another thread).
#[derive(Clone)]
pub struct IpcMainEvent {
    pub(crate) sender: WebContents,
    pub(crate) frame_id: u32,
    pub(crate) channel: Arc<str>,
    pub(crate) sync: Option<Arc<SyncReturn>>,
    /// The ports a `postMessage` carried (taken by the first [`ports`](Self::ports) call).
    pub(crate) ports: Option<Arc<parking_lot::Mutex<Vec<crate::MessagePort>>>>,
}

impl std::fmt::Debug for IpcMainEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpcMainEvent")
            .field("sender", &self.sender.id())
            .field("frame_id", &self.frame_id)
            .field("channel", &self.channel)
            .field("sync", &self.sync.is_some())
            .finish()
    }
}

impl IpcMainEvent {
    /// The WebContents (renderer) that sent the message.
    pub fn sender(&self) -> &WebContents {
        &self.sender
    }

    /// The frame that sent it (0 is the renderer's main frame).
    pub fn frame_id(&self) -> u32 {
        self.frame_id
    }

    /// The frame that sent it, with its own `ipc` scope (Electron's `event.senderFrame`);
    /// `None` for a frame the renderer never announced.
    pub fn sender_frame(&self) -> Option<WebFrameMain> {
        self.sender.frame(self.frame_id)
    }

    /// The sending renderer's OS process id.
    pub fn process_id(&self) -> u32 {
        self.sender.pid()
    }

    /// The channel the message came on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The ports an `ipcRenderer.postMessage` transferred (Electron's `event.ports`). The
    /// first call takes them; later calls (and clones of the event) get none. Ports nobody
    /// takes are closed when the last clone of the event goes.
    pub fn ports(&self) -> Vec<crate::MessagePort> {
        self.ports
            .as_ref()
            .map(|p| std::mem::take(&mut *p.lock()))
            .unwrap_or_default()
    }

    /// Whether this is a `sendSync` (which waits for [`set_return_value`](Self::set_return_value)).
    pub fn is_sync(&self) -> bool {
        self.sync.is_some()
    }

    /// Send a message back to the frame that sent this one (Electron's `event.reply`).
    pub fn reply(&self, channel: &str, args: &[Value]) -> Result<(), SendError> {
        self.sender
            .send_to_frame_checked(self.frame_id, channel, args)
    }

    /// Answer a `sendSync`. The first value set is the reply; later calls return `false`
    /// and change nothing. May be called after the listener returned, from any thread.
    /// Returns `false` for a plain `send`, too.
    pub fn set_return_value(&self, value: impl Into<Value>) -> bool {
        match &self.sync {
            Some(s) => s.answer(Ok(value.into().into())),
            None => false,
        }
    }

    /// Answer a `sendSync` with any answer (typed replies); the first answer wins.
    pub(crate) fn answer(&self, answer: Answer) -> bool {
        match &self.sync {
            Some(s) => s.answer(answer),
            None => false,
        }
    }

    /// Fail a `sendSync` with an error (beyond Electron: the renderer gets it whole).
    pub fn set_error(&self, error: RemoteError) -> bool {
        match &self.sync {
            Some(s) => s.answer(Err(error)),
            None => false,
        }
    }
}

/// What an `invoke` handler receives (Electron's `IpcMainInvokeEvent`).
#[derive(Clone)]
pub struct IpcMainInvokeEvent {
    pub(crate) sender: WebContents,
    pub(crate) frame_id: u32,
    pub(crate) channel: Arc<str>,
}

impl std::fmt::Debug for IpcMainInvokeEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpcMainInvokeEvent")
            .field("sender", &self.sender.id())
            .field("frame_id", &self.frame_id)
            .field("channel", &self.channel)
            .finish()
    }
}

impl IpcMainInvokeEvent {
    /// The WebContents (renderer) that invoked.
    pub fn sender(&self) -> &WebContents {
        &self.sender
    }

    /// The invoking frame.
    pub fn frame_id(&self) -> u32 {
        self.frame_id
    }

    /// The invoking frame, with its own `ipc` scope (Electron's `event.senderFrame`); `None`
    /// for a frame the renderer never announced.
    pub fn sender_frame(&self) -> Option<WebFrameMain> {
        self.sender.frame(self.frame_id)
    }

    /// The invoking renderer's OS process id.
    pub fn process_id(&self) -> u32 {
        self.sender.pid()
    }

    /// The channel invoked.
    pub fn channel(&self) -> &str {
        &self.channel
    }
}

/// The answer to one `invoke`, to give later from any thread ([`IpcMain::handle_deferred`]).
/// Dropping it unanswered rejects the invoke with `reply was never sent`.
///
/// [`IpcMain::handle_deferred`]: crate::IpcMain::handle_deferred
pub struct DeferredReply {
    target: Option<Responder>,
}

impl std::fmt::Debug for DeferredReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeferredReply")
            .field("answered", &self.target.is_none())
            .finish()
    }
}

impl DeferredReply {
    pub(crate) fn new(target: Responder) -> Self {
        DeferredReply {
            target: Some(target),
        }
    }

    /// Resolve the invoke with `value`.
    pub fn resolve(mut self, value: impl Into<Value>) {
        if let Some(t) = self.target.take() {
            t.send(Ok(value.into().into()));
        }
    }

    /// Give an answer of any encoding (typed replies).
    pub(crate) fn send(mut self, answer: Answer) {
        if let Some(t) = self.target.take() {
            t.send(answer);
        }
    }

    /// Reject the invoke with `error`.
    pub fn reject(mut self, error: impl Into<RemoteError>) {
        if let Some(t) = self.target.take() {
            t.send(Err(error.into()));
        }
    }

    /// Resolve or reject from a `Result`.
    pub fn complete(self, result: Result<Value, RemoteError>) {
        match result {
            Ok(v) => self.resolve(v),
            Err(e) => self.reject(e),
        }
    }
}

impl Drop for DeferredReply {
    fn drop(&mut self) {
        if let Some(t) = self.target.take() {
            t.send(Err(RemoteError::bare("reply was never sent")));
        }
    }
}
