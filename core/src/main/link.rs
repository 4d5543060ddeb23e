//! [`Conn`]: main's state for one connected renderer, shared by its [`WebContents`] handles,
//! the dispatcher and answers given later; and [`Link`], what ties it to the renderer's
//! shared-memory segment while the renderer is connected.
//!
//! [`WebContents`]: crate::WebContents

use super::close::Lifecycle;
use super::frame::FrameScopes;
use super::gone::GoneDetails;
use super::outbox::{Outbox, OutboxError};
use super::registry::{IpcMain, Listener};
use crate::call::PendingCalls;
use crate::error::SendError;
use crate::message::body::Body;
use crate::message::encode;
use crate::message::envelope::Envelope;
use crate::message::kind::Kind;
use electrode_shm::{Event, FdSocket, Futex, Liveness, SlotTable, Waker, Watch};
use parking_lot::{Mutex, RwLock};
use std::collections::HashSet;
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// Callback for `render-process-gone`.
pub(crate) type GoneHook = dyn Fn(&GoneDetails) + Send + Sync;

/// What ties a connection to its shared-memory segment.
pub(crate) struct Link {
    pub out: Outbox,
    pub slots: Arc<SlotTable<Futex>>,
    pub waker: Waker,
}

/// Main-side state of one renderer.
pub(crate) struct Conn {
    pub id: u32,
    pub pid: u32,
    /// The shared-memory side: taken (and the region unmapped) when the renderer is gone.
    pub link: Mutex<Option<Link>>,
    pub live: Liveness,
    pub scope: IpcMain,
    pub on_message: RwLock<Vec<Arc<Listener>>>,
    pub on_message_sync: RwLock<Vec<Arc<Listener>>>,
    pub on_gone: Mutex<Vec<Arc<GoneHook>>>,
    pub gone: Mutex<Option<GoneDetails>>,
    pub frames: Mutex<HashSet<u32>>,
    /// Frames 0-63 of `frames` as bits (set under its lock; frames are never removed), so
    /// `send_to_frame` to one of them checks a word instead of taking the lock.
    pub frame_bits: AtomicU64,
    /// Closed (by either side) and `destroyed` (`main/close.rs`).
    pub life: Lifecycle,
    /// Per-frame scopes (`WebFrameMain::ipc`), made on first use (`main/frame.rs`).
    pub frame_scopes: FrameScopes,
    /// Main's `WebContents::invoke` calls waiting for the renderer's handler.
    pub pending: Arc<PendingCalls>,
    pub child: Mutex<Option<Child>>,
    pub watch: Mutex<Option<Watch>>,
    pub violations: AtomicU32,
    /// Messages refused for their type (not violations: their log lines are rate-limited).
    pub mismatches: AtomicU64,
    /// Set when the renderer broke the protocol outside the dispatcher (e.g. its ring position
    /// is impossible): the dispatcher disconnects it.
    pub corrupt: AtomicBool,
    /// Whether the outbox holds queued output (written under the `link` lock after every
    /// outbox operation), so the dispatcher's polling reads one word instead of the lock.
    pub out_queued: AtomicBool,
    /// The dispatcher's own wake-up word.
    pub dispatcher: Arc<Event>,
    /// Ports: this `Main`'s broker, fd records read ahead of their messages.
    pub ports: super::ports::ConnPorts,
    /// Main's end of the renderer's fd socket (docs/PROTOCOL.md, "Passing file
    /// descriptors"): file descriptors sent after spawn (the segment, port segments) travel
    /// on it. Taken (and closed) with `link` when the renderer is gone.
    pub fds: Mutex<Option<FdSocket>>,
    /// What a sandboxed renderer's setup reported (set once, right after spawn).
    pub sandbox: std::sync::OnceLock<electrode_shm::sandbox::SandboxReport>,
}

impl Conn {
    /// Wake the dispatcher (new queued output, shutdown, death).
    pub(crate) fn kick(&self) {
        self.dispatcher.notify_all(&Futex);
    }

    /// Send one message to the renderer (queued if its ring is full). Checked before anything
    /// is encoded: a message the renderer would reject is refused here. Nothing is sent once
    /// the connection is closed.
    pub(crate) fn send(
        &self,
        kind: Kind,
        env: &Envelope,
        channel: &str,
        body: Body<'_>,
    ) -> Result<(), SendError> {
        if self.life.is_closed() || self.live.is_gone() {
            return Err(SendError::Disconnected);
        }
        let planned = encode::plan(channel, body)?;
        let queued = {
            let mut link = self.link.lock();
            let link = link.as_mut().ok_or(SendError::Disconnected)?;
            // Only the queue's first message wakes the dispatcher: while output waits, the
            // dispatcher's idle check sees `out_queued` (or watches the ring's space).
            let was_pending = link.out.has_pending();
            let r = link
                .out
                .send(kind as u16, env.request_id, planned.len(), |buf| {
                    planned.write(env, channel, body, buf)
                });
            self.out_queued
                .store(link.out.has_pending(), Ordering::Release);
            match r {
                Ok(queued) => queued && !was_pending,
                Err(OutboxError::Send(e)) => return Err(e),
                Err(OutboxError::Corrupt(c)) => {
                    // The renderer lied about how far it has read our ring: it goes.
                    self.violation(&c.to_string(), 1);
                    self.corrupt.store(true, Ordering::SeqCst);
                    self.kick();
                    return Err(SendError::Disconnected);
                }
            }
        };
        if queued {
            // Only a parked dispatcher needs the wake (its idle check sees `out_queued`).
            self.dispatcher.notify(&Futex);
        }
        Ok(())
    }

    /// Whether the renderer announced `frame_id` (frame 0 always exists).
    pub(crate) fn has_frame(&self, frame_id: u32) -> bool {
        match 1u64.checked_shl(frame_id) {
            Some(bit) => self.frame_bits.load(Ordering::Acquire) & bit != 0,
            None => self.frames.lock().contains(&frame_id),
        }
    }

    /// Record a frame the renderer announced.
    pub(crate) fn add_frame(&self, frame_id: u32, max: usize) -> Result<(), String> {
        let mut frames = self.frames.lock();
        if frames.len() >= max && !frames.contains(&frame_id) {
            return Err(format!("more than {max} frames"));
        }
        frames.insert(frame_id);
        if let Some(bit) = 1u64.checked_shl(frame_id) {
            self.frame_bits.fetch_or(bit, Ordering::Release);
        }
        Ok(())
    }

    /// Record a protocol violation; returns whether the renderer must now be disconnected.
    pub(crate) fn violation(&self, why: &str, max: u32) -> bool {
        let n = self.violations.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(
            renderer = self.id,
            pid = self.pid,
            "rejected message: {why} (violation {n} of {max})"
        );
        n >= max
    }

    /// Memory main holds in output queued for this renderer.
    pub(crate) fn queued_memory(&self) -> usize {
        self.link.lock().as_ref().map_or(0, |l| l.out.held())
    }
}
