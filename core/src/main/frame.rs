//! [`WebFrameMain`]: main's handle on one frame of a renderer (Electron's `WebFrameMain`), and
//! the per-frame `ipc` scopes ([`FrameScopes`]) the dispatcher consults first.
//!
//! The cascade for a message from frame `f` of a renderer is: the WebContents' `ipc-message`
//! hooks, frame `f`'s scope, the WebContents' scope, the global `IpcMain`. For `send` and
//! `sendSync` every level runs, in that order; for `invoke` the first level with a handler
//! answers. Typed channels register on an `&IpcMain`, so they use a frame's scope as they use
//! any other: `channel.on(frame.ipc(), ..)`, `channel.handle(frame.ipc(), ..)`.
//!
//! A frame scope exists only for a frame main knows: frame 0 always, another once the renderer
//! announced it ([`IpcRenderer::frame`]). [`WebContents::frame`] returns `None` for any other
//! id, so no scope can be made for it; a message naming such a frame (only a renderer that
//! bypassed `IpcRenderer::frame` sends one) goes through the WebContents and global scopes.
//!
//! [`IpcRenderer::frame`]: crate::IpcRenderer::frame

use super::registry::IpcMain;
use super::web_contents::WebContents;
use crate::error::SendError;
use crate::value::Value;
use parking_lot::RwLock;
use rustc_hash::FxHashMap as HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// One renderer's frame scopes, made on first use.
#[derive(Default)]
pub(crate) struct FrameScopes {
    /// Whether any scope was made (the dispatcher's one-word fast path when none was).
    any: AtomicBool,
    map: RwLock<HashMap<u32, IpcMain>>,
}

impl FrameScopes {
    /// The scope of `frame_id`, made now if it is new.
    fn get_or_make(&self, frame_id: u32) -> IpcMain {
        if let Some(s) = self.map.read().get(&frame_id) {
            return s.clone();
        }
        let mut map = self.map.write();
        let scope = map.entry(frame_id).or_default().clone();
        self.any.store(true, Ordering::Release);
        scope
    }

    /// The scope of `frame_id`, if one was made.
    #[inline]
    pub(crate) fn get(&self, frame_id: u32) -> Option<IpcMain> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        self.map.read().get(&frame_id).cloned()
    }
}

/// Main's handle on one frame of a renderer (Electron's `WebFrameMain`), from
/// [`WebContents::frame`] or [`WebContents::main_frame`]. Cheap to clone; every handle on the
/// same frame shares its [`ipc`](Self::ipc) scope.
///
/// ```
/// use electrode::{args, Main, Value};
///
/// let main = Main::new()?;
/// main.ipc().handle("who", |_, _| Ok(Value::from("global")))?;
/// main.ipc().on("ready", |e, _| { e.set_return_value(true); });
/// let (wc, renderer) = main.connect_in_process()?;
/// let sidebar = renderer.frame(7)?;
/// // The announcement comes before this call in the ring: main knows frame 7 once it returns.
/// sidebar.send_sync("ready", &args![])?;
/// let frame = wc.frame(7).expect("frame 7 was announced");
/// frame.ipc().handle("who", |_, _| Ok(Value::from("frame 7")))?;
///
/// assert_eq!(sidebar.invoke_blocking("who", &args![])?, Value::from("frame 7"));
/// assert_eq!(renderer.invoke_blocking("who", &args![])?, Value::from("global"));
/// assert!(wc.frame(8).is_none(), "never announced");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct WebFrameMain {
    web_contents: WebContents,
    frame_id: u32,
    ipc: IpcMain,
}

impl fmt::Debug for WebFrameMain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebFrameMain")
            .field("web_contents", &self.web_contents.id())
            .field("frame_id", &self.frame_id)
            .finish()
    }
}

impl WebFrameMain {
    pub(crate) fn new(web_contents: &WebContents, frame_id: u32) -> WebFrameMain {
        WebFrameMain {
            ipc: web_contents.conn.frame_scopes.get_or_make(frame_id),
            web_contents: web_contents.clone(),
            frame_id,
        }
    }

    /// The frame's id within its renderer (0 is the main frame).
    pub fn frame_id(&self) -> u32 {
        self.frame_id
    }

    /// This frame's own IPC scope (Electron's `WebFrameMain.ipc`): its listeners run before
    /// the WebContents scope's and the global ones for messages from this frame only, and its
    /// handler, if any, answers this frame's invokes instead of theirs.
    pub fn ipc(&self) -> &IpcMain {
        &self.ipc
    }

    /// Send to this frame (Electron's `frame.send`).
    pub fn send(&self, channel: &str, args: &[Value]) -> Result<(), SendError> {
        self.web_contents
            .send_to_frame_checked(self.frame_id, channel, args)
    }

    /// The renderer this frame belongs to.
    pub fn web_contents(&self) -> &WebContents {
        &self.web_contents
    }
}
