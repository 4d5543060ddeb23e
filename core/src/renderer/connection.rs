//! The renderer's connection state ([`Shared`]), shared by every [`IpcRenderer`] handle and
//! the receive thread, and its [`Lifetime`], which stops the receive thread (and, in-process,
//! tells main) when the last handle goes.

use super::event::IpcRendererEvent;
use super::ipc_renderer::IpcRenderer;
use super::options::RendererOptions;
use crate::call::{PendingCalls, SlotMailbox, SlotWakers};
use crate::listeners::ListenerTable;
use crate::message::body::{Payload, Refusal};
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

    /// A handle for `frame_id`, for the receive thread to give listeners; `None` once the user
    /// has dropped every handle (the connection is closing).
    pub(crate) fn handle_for(self: &Arc<Self>, frame_id: u32) -> Option<IpcRenderer> {
        let lifetime = self.lifetime.get()?.upgrade()?;
        Some(IpcRenderer {
            shared: self.clone(),
            lifetime,
            frame_id,
        })
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
