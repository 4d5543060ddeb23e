//! [`IpcRendererEvent`]: what a renderer-side listener receives with a message from main.

use super::ipc_renderer::IpcRenderer;
use std::sync::Arc;

/// What a renderer-side listener receives with a message from main.
#[derive(Clone, Debug)]
pub struct IpcRendererEvent {
    pub(crate) frame_id: u32,
    pub(crate) channel: Arc<str>,
    pub(crate) sender: IpcRenderer,
}

impl IpcRendererEvent {
    /// The frame the message was sent to.
    pub fn frame_id(&self) -> u32 {
        self.frame_id
    }

    /// The channel.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The receiving frame's `IpcRenderer` (to answer with `send`).
    pub fn sender(&self) -> &IpcRenderer {
        &self.sender
    }
}
