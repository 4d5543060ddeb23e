//! Closing one renderer's `WebContents` while its process may live on: from main
//! ([`WebContents::close`], Electron's `webContents.close()`) or from the renderer
//! (`IpcRenderer::close`, or its last handle dropped), and the `destroyed` event.
//!
//! Closing is a state of the [`Conn`], apart from the renderer's death: its shared-memory link
//! stays mapped and its pidfd watch stays alive, so the process's exit is still reaped and
//! reported (`render-process-gone`), however long after the close it comes. What closing does:
//!
//! - sends nothing more to the renderer (every send fails with `Disconnected`) but one
//!   [`Kind::Close`] message when main closes (the renderer then fails its own pending calls
//!   at once and counts as disconnected);
//! - fails main's pending [`WebContents::invoke`]s to it with `Disconnected` (and any started
//!   later, at once);
//! - drops whatever the renderer still sends (the dispatcher keeps draining its ring, so the
//!   renderer never blocks on it);
//! - fires `destroyed`, once. A renderer that goes away without being closed is destroyed
//!   too: `destroyed` then fires right after `render-process-gone`.
//!
//! [`WebContents::close`]: crate::WebContents::close
//! [`WebContents::invoke`]: crate::WebContents::invoke

use super::link::Conn;
use crate::guard::guard;
use crate::message::body::Body;
use crate::message::encode;
use crate::message::envelope::Envelope;
use crate::message::kind::Kind;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Callback for `destroyed`.
pub(crate) type DestroyedHook = dyn Fn() + Send + Sync;

/// Who closed the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Closer {
    /// `WebContents::close` / `destroy`: the renderer is told ([`Kind::Close`]).
    Main,
    /// The renderer's [`Kind::Closing`]: it already knows.
    Renderer,
}

/// One renderer's lifecycle state beyond its process: closed or not, and the `destroyed`
/// hooks.
pub(crate) struct Lifecycle {
    closed: AtomicBool,
    /// `None` once `destroyed` has fired.
    hooks: Mutex<Option<Vec<Arc<DestroyedHook>>>>,
}

impl Lifecycle {
    pub(crate) fn new() -> Self {
        Lifecycle {
            closed: AtomicBool::new(false),
            hooks: Mutex::new(Some(Vec::new())),
        }
    }

    /// Whether the connection was closed (by either side).
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Run `f` when `destroyed` fires; at once if it already has.
    pub(crate) fn on_destroyed(&self, f: Arc<DestroyedHook>) {
        let mut hooks = self.hooks.lock();
        match hooks.as_mut() {
            Some(list) => list.push(f),
            None => {
                drop(hooks);
                guard("destroyed hook", "", || f());
            }
        }
    }

    /// Fire `destroyed` unless it already fired.
    pub(crate) fn fire_destroyed(&self) {
        let hooks = self.hooks.lock().take();
        for h in hooks.into_iter().flatten() {
            guard("destroyed hook", "", || h());
        }
    }
}

impl Conn {
    /// Close the connection, once: no more sends, main's pending invokes fail, `destroyed`
    /// fires. Returns whether this call closed it (false: it was already closed).
    pub(crate) fn close(&self, by: Closer) -> bool {
        if self.life.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        tracing::debug!(renderer = self.id, pid = self.pid, ?by, "renderer closed");
        if by == Closer::Main {
            self.send_close();
        }
        // After `closed` is set: a call started from now on fails at its send, one started
        // before is in the table and fails here.
        self.pending.fail_all();
        self.life.fire_destroyed();
        self.kick();
        true
    }

    /// The last message to the renderer: it fails its own calls on it. Output still queued
    /// for it is dropped (Electron drops what a closed page has not received), and `Close`
    /// is never refused for the outbox's limit. A renderer already gone needs no telling.
    fn send_close(&self) {
        if self.live.is_gone() {
            return;
        }
        let Ok(bytes) = encode::to_vec(&Envelope::default(), "", Body::Values(&[])) else {
            return; // an empty message always encodes
        };
        let mut link = self.link.lock();
        let Some(l) = link.as_mut() else { return };
        let r = l.out.close_with(Kind::Close as u16, 0, bytes);
        self.out_queued
            .store(l.out.has_pending(), Ordering::Release);
        drop(link);
        if let Err(c) = r {
            // The renderer lied about how far it has read our ring: it goes.
            self.violation(&c.to_string(), 1);
            self.corrupt.store(true, Ordering::SeqCst);
        }
    }
}
