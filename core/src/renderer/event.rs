//! [`IpcRendererEvent`]: what a renderer-side listener receives with a message from main.

use super::ipc_renderer::IpcRenderer;
use std::sync::Arc;

/// What a renderer-side listener receives with a message from main.
#[derive(Clone, Debug)]
pub struct IpcRendererEvent {
    pub(crate) frame_id: u32,
    pub(crate) channel: Arc<str>,
    pub(crate) sender: IpcRenderer,
    /// The ports a `postMessage` carried (taken by the first [`ports`](Self::ports) call).
    pub(crate) ports: Option<Arc<parking_lot::Mutex<Vec<crate::MessagePort>>>>,
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

    /// The ports main's `webContents.postMessage` transferred (Electron's `event.ports`). The
    /// first call takes them; later calls (and clones) get none; ports nobody takes close.
    pub fn ports(&self) -> Vec<crate::MessagePort> {
        self.ports
            .as_ref()
            .map(|p| std::mem::take(&mut *p.lock()))
            .unwrap_or_default()
    }

    /// The receiving frame's `IpcRenderer` (to answer with `send`).
    pub fn sender(&self) -> &IpcRenderer {
        &self.sender
    }
}
