//! The renderer's connection state ([`Shared`]), shared by every [`IpcRenderer`] handle and
//! the receive thread, and its [`Lifetime`], which tells main (`Kind::Closing`) and stops the
//! receive thread when the last handle goes; closing either way (`Shared::close`, main's
//! `Close`: `Shared::disconnect`).

use super::event::IpcRendererEvent;
use super::ipc_renderer::{Hold, IpcRenderer};
use super::options::RendererOptions;
use super::post::{post, try_post};
use crate::call::{PendingCalls, SlotMailbox, SlotWakers};
use crate::listeners::ListenerTable;
use crate::message::body::{Body, Payload, Refusal};
use crate::message::envelope::Envelope;
use crate::message::kind::Kind;
use crate::message::reply::Answer;
use electrode_shm::{FdSocket, Futex, Liveness, Producer, TrustingRequester, Watch};
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, Weak};

pub(crate) type RListener =
    dyn Fn(&IpcRendererEvent, &Payload<'_>) -> Result<(), Refusal> + Send + Sync;
pub(crate) type RHandler = dyn Fn(&Payload<'_>) -> Result<Answer, Refusal> + Send + Sync;
pub(crate) type FrameListeners = ListenerTable<RListener>;

/// What every handle and the receive thread share.
pub(crate) struct Shared {
    /// Whether main is this very process (an in-process renderer: ports move as they are).
    pub in_process: bool,
    pub tx: Mutex<Producer<Futex>>,
    /// Response slots; main, which answers in them, is trusted (replies are read in place).
    pub slots: TrustingRequester<Futex>,
    pub live: Liveness,
    pub options: RendererOptions,
    pub frames: RwLock<HashMap<u32, Arc<FrameListeners>>>,
    /// Frames announced to main (bounded by `MAX_FRAMES`).
    pub announced: Mutex<HashSet<u32>>,
    pub handlers: RwLock<HashMap<String, Arc<RHandler>>>,
    /// Answers too large for their slot, left by the receive thread for their requester.
    pub large: SlotMailbox,
    /// Async invokes waiting for a `Reply` message (those that found no free slot).
    pub pending: Arc<PendingCalls>,
    /// Async invokes parked on their response slots, woken by `SlotReady` messages.
    pub slot_wakers: SlotWakers,
    /// The user-held lifetime, weakly (so the receive thread does not keep it alive).
    pub lifetime: OnceLock<Weak<Lifetime>>,
    /// The renderer's end of its fd socket with main (docs/PROTOCOL.md, "Passing file
    /// descriptors"): file descriptors main sends after the segment arrive on it.
    pub fds: FdSocket,
    /// Wakes every local wait on the segment (ring words, and fails pending slots).
    pub waker: electrode_shm::Waker,
}

impl Shared {
    /// Main is gone (or the connection closes): fail every call that waits for it.
    ///
    /// Called after the slots were failed (the watcher's `Waker::wake_all`) or the receive
    /// thread stopped: a parked async invoke, woken here, finds its slot GONE or its peer gone
    /// (and one that registers later is refused, and does not park).
    pub(crate) fn fail_all(&self) {
        self.pending.fail_all();
        self.large.close();
        self.slot_wakers.close();
    }

    /// The connection is over (main sent `Close`, or this side closed): count main as gone,
    /// so every call fails with `Disconnected`, wake every wait (a blocked `invoke_blocking` or
    /// `send_sync` returns at once, its slot failed) and fail every pending call.
    pub(crate) fn disconnect(&self) {
        self.live.mark_gone();
        self.waker.wake_all();
        self.fail_all();
    }

    /// Close this side while main lives: tell main ([`Kind::Closing`]: its pending invokes to
    /// us fail and the WebContents is destroyed), then [`disconnect`](Self::disconnect).
    /// Nothing is said when main is already gone. On main's dispatcher thread (an in-process
    /// renderer closed from one of main's listeners) the message goes only if it can go at
    /// once: waiting there would wait for that very thread (a dropped in-process renderer
    /// also tells main directly, `Lifetime::on_drop`).
    pub(crate) fn close(&self) {
        if !self.live.is_gone() {
            let env = Envelope::default();
            let body = Body::Values(&[]);
            let told = if crate::guard::on_dispatcher_thread() {
                try_post(self, Kind::Closing, &env, "", body)
            } else {
                post(self, Kind::Closing, &env, "", body)
            };
            if let Err(e) = told {
                tracing::debug!("renderer: telling main of the close failed: {e}");
            }
        }
        self.disconnect();
    }

    /// A handle for frame `frame_id` that does not keep the connection open (an event's
    /// `sender`, lent to listeners; see [`Hold::Lent`]).
    pub(crate) fn lent_handle(self: &Arc<Self>, frame_id: u32) -> IpcRenderer {
        IpcRenderer {
            shared: self.clone(),
            lifetime: Hold::Lent,
            frame_id,
        }
    }

    /// Whether a user still holds a handle (plain loads: no reference count changes).
    pub(crate) fn is_held(&self) -> bool {
        self.lifetime.get().is_some_and(|w| w.strong_count() > 0)
    }
}

/// Stops the receive thread and (in-process) tells main, when the last handle goes.
pub(crate) struct Lifetime {
    pub shared: Arc<Shared>,
    pub waker: electrode_shm::Waker,
    pub on_drop: Option<Box<dyn FnOnce() + Send + Sync>>,
    pub _watch: Option<Watch>,
    pub thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Lifetime {
    fn drop(&mut self) {
        // The last handle went while main may live: say so (Kind::Closing), so main's invokes
        // to us fail instead of waiting for ever.
        self.shared.close();
        if let Some(f) = self.on_drop.take() {
            f();
        }
        // Stop our own receive thread: it exits on PeerGone.
        self.shared.live.mark_gone();
        self.waker.wake_all();
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}
