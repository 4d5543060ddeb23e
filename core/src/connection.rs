//! [`Conn`]: main's state for one connected renderer (shared by its [`WebContents`] handles,
//! the dispatcher and pending replies).
//!
//! [`WebContents`]: crate::WebContents

use crate::codec;
use crate::completion::Completion;
use crate::error::{IpcError, RemoteError};
use crate::outbox::Outbox;
use crate::protocol::{Envelope, Kind, AUX_ERROR, AUX_UNENCODABLE, FLAG_ERROR};
use crate::registry::{IpcMain, Listener};
use crate::value::Value;
use crate::web_contents::GoneDetails;
use electrode_shm::{AlignedBuf, Event, Futex, Liveness, SlotTable, Waker, Watch};
use parking_lot::{Mutex, RwLock};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
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
    pub pending: Mutex<HashMap<u64, Completion<Result<Value, IpcError>>>>,
    pub next_request: AtomicU64,
    pub child: Mutex<Option<Child>>,
    pub watch: Mutex<Option<Watch>>,
    pub violations: AtomicU32,
    /// Set when the renderer broke the protocol outside the dispatcher (e.g. its ring position
    /// is impossible): the dispatcher disconnects it.
    pub corrupt: AtomicBool,
    /// Whether the outbox holds queued output (written under the `link` lock after every
    /// outbox operation), so the dispatcher's polling reads one word instead of the lock.
    pub out_queued: AtomicBool,
    /// The dispatcher's own wake-up word.
    pub dispatcher: Arc<Event>,
}

impl Conn {
    /// Wake the dispatcher (new queued output, shutdown, death).
    pub(crate) fn kick(&self) {
        self.dispatcher.notify_all(&Futex);
    }

    /// Send one message to the renderer (queued if its ring is full).
    pub(crate) fn send(
        &self,
        kind: Kind,
        env: &Envelope,
        channel: &str,
        args: &[Value],
    ) -> Result<(), IpcError> {
        if self.live.is_gone() {
            return Err(IpcError::Disconnected);
        }
        let plan = codec::plan_message(channel, args);
        let queued = {
            let mut link = self.link.lock();
            let link = link.as_mut().ok_or(IpcError::Disconnected)?;
            let r = link
                .out
                .send(kind as u16, env.request_id, plan.hint, |buf| {
                    codec::write_message_planned(env, channel, args, &plan, buf)
                });
            self.out_queued
                .store(link.out.has_pending(), Ordering::Release);
            if let Err(IpcError::Protocol(why)) = &r {
                // The renderer lied about how far it has read our ring: it goes.
                self.violation(why, 1);
                self.corrupt.store(true, Ordering::SeqCst);
                self.kick();
            }
            r?
        };
        if queued {
            self.kick();
        }
        Ok(())
    }

    /// Write a reply into the requester's slot, or send it through the ring when too large.
    pub(crate) fn reply_slot(
        &self,
        index: u32,
        generation: u32,
        result: &Result<Value, RemoteError>,
    ) {
        let slots = match self.link.lock().as_ref() {
            Some(l) => l.slots.clone(),
            None => return,
        };
        self.reply_slot_in(&slots, index, generation, result);
    }

    /// [`reply_slot`](Self::reply_slot) with the slot table at hand (the dispatcher keeps
    /// one per renderer, so the common reply takes no lock).
    pub(crate) fn reply_slot_in(
        &self,
        slots: &SlotTable<Futex>,
        index: u32,
        generation: u32,
        result: &Result<Value, RemoteError>,
    ) {
        let err_values;
        let values: &[Value] = match result {
            Ok(v) => std::slice::from_ref(v),
            Err(_) => {
                err_values = codec::result_values(result);
                &err_values
            }
        };
        let aux = if result.is_err() { AUX_ERROR } else { 0 };
        let plan = match crate::wire::plan(values) {
            Ok(plan) => plan,
            Err(e) => {
                // The value cannot be encoded (nested too deep): answer with the reason.
                let why = Err(RemoteError::new(e.to_string()));
                return self.reply_slot_in(slots, index, generation, &why);
            }
        };
        let hint = plan.len();
        if hint > slots.slot_size() {
            // Cannot fit the slot: go straight to the ring, encoding once.
            let env = Envelope {
                flags: if result.is_err() { FLAG_ERROR } else { 0 },
                slot_index: index,
                slot_gen: generation,
                ..Envelope::default()
            };
            let _ = self.send(Kind::LargeReply, &env, "", values);
            return;
        }
        // Encoded first into a private scratch buffer, then copied into the slot: the slot
        // is claimed (a compare-and-swap that takes its header's cache line over from the
        // requester, who is polling it) only for the few nanoseconds of a copy. Encoding in
        // place would hold the claim longer, and a poll by the requester in between sends the
        // line back, so the final READY store would have to take it over a second time.
        thread_local! {
            static SCRATCH: RefCell<AlignedBuf> = RefCell::new(AlignedBuf::new());
        }
        SCRATCH.with(|scratch| {
            let mut buf = scratch.borrow_mut();
            buf.resize(hint);
            // The plan ruled out every encoding failure but a bug, which the requester then
            // reports as a broken reply.
            match crate::wire::encode_planned(values, plan, buf.as_mut_slice()) {
                Ok(n) => slots.reply(index, generation, n, |dst| {
                    dst.copy_from_slice(&buf.as_slice()[..n]);
                    aux
                }),
                Err(_) => slots.reply(index, generation, 0, |_| AUX_UNENCODABLE),
            };
        });
    }

    /// Send the reply to an async invoke through the ring.
    pub(crate) fn reply_ring(&self, request_id: u64, result: &Result<Value, RemoteError>) {
        let values = codec::result_values(result);
        let env = Envelope {
            flags: if result.is_err() { FLAG_ERROR } else { 0 },
            request_id,
            ..Envelope::default()
        };
        let _ = self.send(Kind::Reply, &env, "", &values);
    }

    /// Record a protocol violation; returns whether the renderer must now be disconnected.
    pub(crate) fn violation(&self, why: &str, max: u32) -> bool {
        let n = self.violations.fetch_add(1, Ordering::Relaxed) + 1;
        eprintln!(
            "[electrode] renderer {} (pid {}): rejected message: {why} (violation {n} of {max})",
            self.id, self.pid
        );
        n >= max
    }

    /// Fail every pending main-to-renderer invoke.
    pub(crate) fn fail_pending(&self) {
        let pending: Vec<_> = self.pending.lock().drain().collect();
        for (_, c) in pending {
            c.complete(Err(IpcError::Disconnected));
        }
    }
}
