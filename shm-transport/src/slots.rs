//! Response slots: where `sendSync` / `invoke` replies land, one slot per request in flight.
//!
//! Each slot is a 128-byte [`SlotHeader`] (in the header table) and `slot_size` payload bytes,
//! in the renderer's segment. The header has two words, each `generation << 8 | state` with a
//! 24-bit generation, on two cache lines:
//!
//! - the **claim** word decides who owns the slot. The requester arms it (`PENDING`), the
//!   responder claims it with a compare-and-swap (`PENDING -> WRITING`), and the requester can
//!   give up on it (`PENDING -> ABANDONED`, or `GONE` from its watcher when the responder's
//!   process died). Exactly one of those wins.
//! - the **ready** word tells the requester the outcome. It is what the requester polls and
//!   parks on (with the `SLEEPING` bit), next to the reply's length and aux word.
//!
//! ```text
//!   claim:  (free) ---arm---> PENDING ---CAS (responder)---> WRITING
//!                                  |
//!                        deadline: CAS -> ABANDONED; responder's death: CAS -> GONE
//!
//!   ready:  ---arm---> WAITING (+SLEEPING while parked) ---swap (responder)---> READY
//!                         \---(watcher, responder died)---> GONE
//! ```
//!
//! The split keeps the claim off the line the requester is polling: the responder takes the
//! claim line over while it handles the request ([`SlotTable::prepare_reply`]) and its
//! compare-and-swap then costs no transfer, and the requester never sees a half-written state.
//!
//! A request carries `(index, generation)`. The responder writes only after winning the claim
//! for exactly that generation, so a slot whose requester gave up, or that has since been
//! reused for a newer request (a newer generation), is never written into. The responder wakes
//! the requester only when `SLEEPING` was set. The loom model `loom_slots` checks the
//! reply-versus-timeout race, stale generations and the responder's death.

use crate::bytes::Bytes;
use crate::liveness::Liveness;
use crate::sync::{AtomicU32, Condvar, Mutex, Ordering};
use crate::wait::{spin_phase, Park, WaitError, WaitMode};
use std::any::Any;
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Instant;

/// Header of one response slot in shared memory: `#[repr(C)]`, 128 bytes, the claim word on
/// its first cache line and the ready word (with the reply's length and aux) on its second.
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub struct SlotHeader {
    /// Claim word, `generation << 8 | state` (see the module docs).
    claim: AtomicU32,
    _claim_line: [u32; 15],
    /// Ready word, `generation << 8 | state`, plus `SLEEPING` while the requester is parked.
    ready: AtomicU32,
    /// Reply length in bytes (written by the responder before READY).
    len: AtomicU32,
    /// A word for the layer above (e.g. "is an error", "came by the ring").
    aux: AtomicU32,
    _ready_line: [u32; 13],
}

// Loom's atomics are larger than the real ones; the layout only matters in shared memory.
#[cfg(not(loom))]
const _: () = {
    assert!(std::mem::size_of::<SlotHeader>() == 128);
    assert!(std::mem::offset_of!(SlotHeader, ready) == 64);
};

// Claim states.
const PENDING: u32 = 1;
const WRITING: u32 = 2;
const ABANDONED: u32 = 4;
const GONE: u32 = 5;
// Ready states (`GONE` too).
const WAITING: u32 = 1;
const READY: u32 = 3;
/// Set on a WAITING ready word while the requester is parked.
const SLEEPING: u32 = 0x80;
const STATE_MASK: u32 = 0x7f;
const GEN_MASK: u32 = 0x00ff_ffff;

#[inline]
fn pack(generation: u32, state: u32) -> u32 {
    (generation & GEN_MASK) << 8 | state
}
#[inline]
fn gen_of(word: u32) -> u32 {
    word >> 8
}
#[inline]
fn state_of(word: u32) -> u32 {
    word & STATE_MASK
}

/// Identifies one request's slot: the index and the generation it was acquired with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket {
    /// Slot index.
    pub index: u32,
    /// Generation (24 bits).
    pub generation: u32,
}

/// What [`SlotTable::reply`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// The reply is in the slot and the requester was woken if it slept.
    Written,
    /// The slot no longer waits for this request (timed out, reused, or never existed); the
    /// reply was dropped without touching the slot's payload.
    Stale,
    /// The reply is larger than a slot; nothing was written (send it another way).
    TooLarge,
}

/// The slot table of one segment, seen from either side.
pub struct SlotTable<P: Park> {
    headers: NonNull<SlotHeader>,
    payload: Bytes,
    count: u32,
    slot_size: u32,
    stride: usize,
    park: P,
    live: Liveness,
    free: Mutex<FreeList>,
    freed: Condvar,
    _owner: Arc<dyn Any + Send + Sync>,
}

// SAFETY: headers are accessed through atomics only; payload bytes through the protocol.
unsafe impl<P: Park> Send for SlotTable<P> {}
// SAFETY: as above.
unsafe impl<P: Park> Sync for SlotTable<P> {}

impl<P: Park> fmt::Debug for SlotTable<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlotTable")
            .field("count", &self.count)
            .field("slot_size", &self.slot_size)
            .finish()
    }
}

/// The requester's free slot indices, and how many threads wait for one (so a release only
/// signals the condition variable, a syscall, when someone waits).
struct FreeList {
    indices: Vec<u32>,
    waiters: u32,
}

/// A reply read from a slot; the slot is freed when this is dropped.
pub struct Reply<'a, P: Park> {
    table: &'a SlotTable<P>,
    ticket: Ticket,
    len: usize,
    aux: u32,
}

impl<P: Park> SlotTable<P> {
    /// # Safety
    /// `headers` must point to `count` slot headers, and `payload` cover `count * stride`
    /// bytes (slot `i`'s payload at `i * stride`), all kept mapped by `owner`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn new(
        headers: NonNull<SlotHeader>,
        payload: Bytes,
        count: u32,
        slot_size: u32,
        stride: usize,
        park: P,
        live: Liveness,
        owner: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        SlotTable {
            headers,
            payload,
            count,
            slot_size,
            stride,
            park,
            live,
            free: Mutex::new(FreeList {
                indices: (0..count).rev().collect(),
                waiters: 0,
            }),
            freed: Condvar::new(),
            _owner: owner,
        }
    }

    /// A table on the heap, for loom models.
    #[cfg(loom)]
    pub fn new_heap(count: u32, slot_size: u32, park: P, live: Liveness) -> Self {
        let headers: Arc<[SlotHeader]> = (0..count).map(|_| SlotHeader::default()).collect();
        let ptr = NonNull::from(&headers[0]);
        // SAFETY: `headers` holds `count` headers and is kept alive by the owner Arc.
        unsafe {
            Self::new(
                ptr,
                Bytes::new_loom((count * slot_size) as usize),
                count,
                slot_size,
                slot_size as usize,
                park,
                live,
                Arc::new(headers),
            )
        }
    }

    /// Number of slots.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Payload bytes per slot: larger replies must go another way.
    pub fn slot_size(&self) -> usize {
        self.slot_size as usize
    }

    #[inline]
    fn header(&self, index: u32) -> &SlotHeader {
        assert!(index < self.count);
        // SAFETY: index checked against the private count; the table is kept mapped by
        // `_owner`; atomics only.
        unsafe { &*self.headers.as_ptr().add(index as usize) }
    }

    // ----- requester side -----

    /// Take a free slot for a new request, if one is free now.
    pub fn try_acquire(&self) -> Option<Ticket> {
        let index = self.free.lock().unwrap().indices.pop()?;
        Some(self.arm(index))
    }

    /// Take a free slot, waiting until `deadline` for one to be freed.
    pub fn acquire(&self, deadline: Option<Instant>) -> Result<Ticket, WaitError> {
        let mut free = self.free.lock().unwrap();
        loop {
            if let Some(index) = free.indices.pop() {
                drop(free);
                return Ok(self.arm(index));
            }
            if self.live.is_gone() {
                return Err(WaitError::PeerGone);
            }
            free.waiters += 1;
            free = match deadline {
                None => self.freed.wait(free).unwrap(),
                #[cfg(not(loom))]
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        free.waiters -= 1;
                        return Err(WaitError::TimedOut);
                    }
                    self.freed.wait_timeout(free, d - now).unwrap().0
                }
                #[cfg(loom)]
                Some(_) => {
                    free.waiters -= 1;
                    return Err(WaitError::TimedOut);
                }
            };
            free.waiters -= 1;
        }
    }

    fn arm(&self, index: u32) -> Ticket {
        let h = self.header(index);
        let generation = (gen_of(h.claim.load(Ordering::Relaxed)) + 1) & GEN_MASK;
        h.ready.store(pack(generation, WAITING), Ordering::Relaxed);
        // SYNC POINT: publishes the armed slot (both words); the request frame that names it
        // is published later by the ring's Release, which the responder acquires before its
        // compare-and-swap.
        h.claim.store(pack(generation, PENDING), Ordering::Release);
        Ticket { index, generation }
    }

    fn release_index(&self, index: u32) {
        let mut free = self.free.lock().unwrap();
        free.indices.push(index);
        if free.waiters > 0 {
            drop(free);
            self.freed.notify_one();
        }
    }

    /// Give a slot back without waiting for its reply (e.g. the request could not be sent).
    pub fn cancel(&self, ticket: Ticket) {
        let h = self.header(ticket.index);
        let abandoned = h.claim.compare_exchange(
            pack(ticket.generation, PENDING),
            pack(ticket.generation, ABANDONED),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if abandoned == Err(pack(ticket.generation, WRITING)) {
            // A responder claimed it first: the slot is free again once its reply is in (or
            // once the responder's process is known to be gone).
            while state_of(h.ready.load(Ordering::Acquire)) == WAITING && !self.live.is_gone() {
                crate::sync::spin_hint();
                #[cfg(not(loom))]
                std::thread::yield_now();
            }
        }
        self.release_index(ticket.index);
    }

    /// Wait for the reply to `ticket`: spin then park per `mode`, give up at `deadline`.
    ///
    /// On [`WaitError::TimedOut`] or [`WaitError::PeerGone`] the slot is abandoned: a reply
    /// that arrives later is dropped by the responder, and the slot is reused safely.
    pub fn wait_reply(
        &self,
        ticket: Ticket,
        mode: WaitMode,
        deadline: Option<Instant>,
    ) -> Result<Reply<'_, P>, WaitError> {
        let h = self.header(ticket.index);
        let generation = ticket.generation & GEN_MASK;
        let ready = || (h.ready.load(Ordering::Acquire) == pack(generation, READY)).then_some(());
        if spin_phase(mode, ready).is_some() {
            return Ok(self.take(ticket));
        }
        loop {
            let cur = h.ready.load(Ordering::Acquire);
            if gen_of(cur) != generation {
                // Only this requester changes the generation: a responder never does.
                self.release_index(ticket.index);
                return Err(WaitError::PeerGone);
            }
            match state_of(cur) {
                READY => return Ok(self.take(ticket)),
                WAITING => {
                    let give_up = if self.live.is_gone() {
                        Some(WaitError::PeerGone)
                    } else if deadline.is_some_and(|d| Instant::now() >= d) {
                        Some(WaitError::TimedOut)
                    } else {
                        None
                    };
                    if let Some(err) = give_up {
                        match h.claim.compare_exchange(
                            pack(generation, PENDING),
                            pack(generation, ABANDONED),
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        ) {
                            Ok(_) => {
                                self.release_index(ticket.index);
                                return Err(err);
                            }
                            // The responder won the claim: its reply is being written, and
                            // comes without waiting on us (unless its process died meanwhile).
                            Err(now) if now == pack(generation, WRITING) => {
                                if !self.live.is_gone() {
                                    crate::sync::spin_hint();
                                    #[cfg(not(loom))]
                                    std::thread::yield_now();
                                    continue;
                                }
                            }
                            // GONE (the watcher), or a state we never left it in.
                            Err(_) => {}
                        }
                        self.release_index(ticket.index);
                        return Err(WaitError::PeerGone);
                    }
                    let sleeping = cur | SLEEPING;
                    if cur & SLEEPING == 0
                        && h.ready
                            .compare_exchange(cur, sleeping, Ordering::AcqRel, Ordering::Acquire)
                            .is_err()
                    {
                        continue;
                    }
                    self.park.wait(&h.ready, sleeping, deadline);
                }
                _ => {
                    // GONE (the watcher), or a state nobody writes.
                    self.release_index(ticket.index);
                    return Err(WaitError::PeerGone);
                }
            }
        }
    }

    fn take(&self, ticket: Ticket) -> Reply<'_, P> {
        let h = self.header(ticket.index);
        let len = (h.len.load(Ordering::Relaxed) as usize).min(self.slot_size as usize);
        // The reply is about to be read through dependent loads (an archive is read from its
        // root at the end): fetch its first lines at once.
        self.payload
            .prefetch_read(ticket.index as usize * self.stride, len.min(512));
        Reply {
            table: self,
            ticket,
            len,
            aux: h.aux.load(Ordering::Relaxed),
        }
    }

    /// Requester's watcher, after the responder's process died: fail every request still in
    /// flight (unclaimed: its claim becomes GONE; claimed but not READY: the responder died
    /// writing) and wake its waiter.
    pub fn fail_all_pending(&self) {
        for i in 0..self.count {
            let h = self.header(i);
            let mut cur = h.claim.load(Ordering::Acquire);
            loop {
                match state_of(cur) {
                    PENDING => match h.claim.compare_exchange(
                        cur,
                        pack(gen_of(cur), GONE),
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => break self.fail_ready(h, gen_of(cur)),
                        Err(now) => cur = now,
                    },
                    WRITING => break self.fail_ready(h, gen_of(cur)),
                    _ => break,
                }
            }
        }
    }

    /// Turn a WAITING ready word of `generation` into GONE and wake its waiter. A reply that
    /// is already READY, and a slot already armed for a newer request, are left alone.
    fn fail_ready(&self, h: &SlotHeader, generation: u32) {
        let mut cur = h.ready.load(Ordering::Acquire);
        while gen_of(cur) == generation && state_of(cur) == WAITING {
            match h.ready.compare_exchange(
                cur,
                pack(generation, GONE),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    self.park.wake(&h.ready, u32::MAX);
                    return;
                }
                Err(now) => cur = now,
            }
        }
    }

    // ----- responder side -----

    /// Start taking over the cache lines of slot `index`'s claim word and payload (its first
    /// `len` bytes) for writing, so the reply written there later does not wait for them: call
    /// it as soon as a request is seen, before handling it. A hint only; any index is harmless.
    pub fn prepare_reply(&self, index: u32, len: usize) {
        if index < self.count {
            #[cfg(not(loom))]
            crate::prefetch::for_write(std::ptr::from_ref(&self.header(index).claim).cast());
            self.payload.prefetch_write(
                index as usize * self.stride,
                len.min(self.slot_size as usize),
            );
        }
    }

    /// Claim slot `index` for `generation` as [`reply`](Self::reply) does, and stop there: a
    /// responder that dies while writing its reply (loom models only).
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn claim_only(&self, index: u32, generation: u32) -> bool {
        self.header(index)
            .claim
            .compare_exchange(
                pack(generation, PENDING),
                pack(generation, WRITING),
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Write a reply of `len` bytes for `(index, generation)`: `fill` gets the slot's payload
    /// (exactly `len` bytes) and returns the aux word.
    ///
    /// Safe against anything the requester does to its slots: the index is checked against the
    /// table's private count, and the reply is written only after winning the
    /// `PENDING -> WRITING` compare-and-swap for that generation.
    pub fn reply(
        &self,
        index: u32,
        generation: u32,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> u32,
    ) -> ReplyOutcome {
        if index >= self.count {
            return ReplyOutcome::Stale;
        }
        if len > self.slot_size as usize {
            return ReplyOutcome::TooLarge;
        }
        let h = self.header(index);
        // Exactly `(generation, PENDING)` or nothing: a requester that gave up, reused the
        // slot, or scribbled on the word gets no reply (and cannot make us retry).
        if h.claim
            .compare_exchange(
                pack(generation, PENDING),
                pack(generation, WRITING),
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return ReplyOutcome::Stale;
        }
        let mut buf = vec![0u8; 0];
        let aux;
        #[cfg(not(loom))]
        {
            let _ = &mut buf;
            // SAFETY: winning the CAS gives the responder this slot's payload until READY.
            let dst = unsafe { self.payload.slice_mut(index as usize * self.stride, len) };
            aux = fill(dst);
        }
        #[cfg(loom)]
        {
            buf.resize(len, 0);
            aux = fill(&mut buf);
            // SAFETY: winning the CAS gives the responder this slot's payload until READY.
            unsafe { self.payload.write(index as usize * self.stride, &buf) };
        }
        h.len.store(len as u32, Ordering::Relaxed);
        h.aux.store(aux, Ordering::Relaxed);
        // SYNC POINT: publishes the reply bytes, len and aux to the requester.
        let was = h.ready.swap(pack(generation, READY), Ordering::Release);
        if was & SLEEPING != 0 {
            self.park.wake(&h.ready, u32::MAX);
        }
        ReplyOutcome::Written
    }
}

impl<P: Park> Reply<'_, P> {
    /// The ticket this reply answers.
    pub fn ticket(&self) -> Ticket {
        self.ticket
    }

    /// The aux word the responder set.
    pub fn aux(&self) -> u32 {
        self.aux
    }

    /// Reply length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the reply is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copy the reply out.
    pub fn copy_to(&self, dst: &mut [u8]) {
        assert_eq!(dst.len(), self.len);
        // SAFETY: READY hands the payload to the requester until it frees the slot.
        unsafe {
            self.table
                .payload
                .read(self.ticket.index as usize * self.table.stride, dst)
        }
    }

    /// The reply in place (16-byte aligned when the slot stride is).
    #[cfg(not(loom))]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: READY hands the payload to the requester until it frees the slot; the
        // responder (main, trusted by the renderer) does not write it again for this
        // generation.
        unsafe {
            self.table
                .payload
                .slice(self.ticket.index as usize * self.table.stride, self.len)
        }
    }
}

impl<P: Park> Drop for Reply<'_, P> {
    fn drop(&mut self) {
        // The claim word keeps WRITING until the slot is armed again, and no reply can claim
        // that; the free list's lock orders our reads of the payload before the next request.
        self.table.release_index(self.ticket.index);
    }
}
