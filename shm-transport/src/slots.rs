//! Response slots: where `sendSync` / `invoke` replies land, one slot per request in flight.
//!
//! Each slot is a 128-byte [`SlotHeader`] (in the header table) and `slot_size` payload bytes,
//! in the renderer's segment. A request names its slot by `(index, generation)`; generations
//! are 24 bits and the requester keeps each slot's current one privately. The header has two
//! words, each `generation << 8 | state`, on two cache lines:
//!
//! - the **ready** word is the requester's: it arms it (`WAITING(g)`) when it sends request
//!   `g`, polls it, and parks on it (with the `SLEEPING` bit). The responder publishes the
//!   reply by swapping in `READY(g)`.
//! - the **claim** word records the last generation that was *decided*: claimed by the
//!   responder (`WRITING(g)`), given up by the requester (`ABANDONED(g)`), or failed by the
//!   requester's watcher because the responder died (`GONE(g)`). Request `g` can be decided
//!   only while the word still names `g - 1`, by one compare-and-swap, so exactly one of those
//!   wins.
//!
//! ```text
//!   ready:  WAITING(g) --(requester parks: +SLEEPING)--> ... --swap (responder)--> READY(g)
//!                                      \--(watcher: the responder died)--> GONE(g)
//!   claim:  *(g-1) --CAS (responder)--> WRITING(g)
//!                  --CAS (requester: deadline, peer gone, cancel)--> ABANDONED(g)
//!                  --CAS (watcher: the responder died)--> GONE(g)
//! ```
//!
//! In the common case only the ready word's line moves between the two processes (armed by
//! one, published by the other). The claim word is read and written by the responder alone
//! and stays in its cache; the requester touches it only to give up.
//!
//! The responder writes only after checking that the slot is armed for exactly that
//! generation and winning the claim, so a slot whose requester gave up, that has been reused
//! for a newer request, or that is free is never written into. It wakes the requester only
//! when `SLEEPING` was set. The loom model `loom_slots` checks the reply-versus-timeout race,
//! stale generations and the responder's death.

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
    /// Claim word: the last decided generation and how (see the module docs).
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

// Ready states.
const WAITING: u32 = 1;
const READY: u32 = 3;
// Claim states (`GONE` is a ready state too).
const WRITING: u32 = 2;
const ABANDONED: u32 = 4;
const GONE: u32 = 5;
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
/// The generation before `generation` (the one the claim word names while `generation` is
/// undecided).
#[inline]
fn prev(generation: u32) -> u32 {
    generation.wrapping_sub(1) & GEN_MASK
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

/// The requester's private slot bookkeeping: free indices, each slot's current generation and
/// whether it is in flight (for the watcher), and how many threads wait for a free slot (so a
/// release only signals the condition variable, a syscall, when someone waits).
struct FreeList {
    indices: Vec<u32>,
    generation: Vec<u32>,
    busy: Vec<bool>,
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
                generation: vec![0; count as usize],
                busy: vec![false; count as usize],
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
        let mut free = self.free.lock().unwrap();
        let index = free.indices.pop()?;
        Some(self.arm(&mut free, index))
    }

    /// Take a free slot, waiting until `deadline` for one to be freed.
    pub fn acquire(&self, deadline: Option<Instant>) -> Result<Ticket, WaitError> {
        let mut free = self.free.lock().unwrap();
        loop {
            if let Some(index) = free.indices.pop() {
                return Ok(self.arm(&mut free, index));
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

    /// Arm slot `index` for its next request (under the free-list lock, so the watcher sees
    /// the slot busy only once it is armed).
    fn arm(&self, free: &mut FreeList, index: u32) -> Ticket {
        let generation = (free.generation[index as usize] + 1) & GEN_MASK;
        free.generation[index as usize] = generation;
        free.busy[index as usize] = true;
        // SYNC POINT: the request frame that names the slot is published later by the ring's
        // Release, which the responder acquires before it checks this word.
        self.header(index)
            .ready
            .store(pack(generation, WAITING), Ordering::Relaxed);
        Ticket { index, generation }
    }

    fn release_index(&self, index: u32) {
        let mut free = self.free.lock().unwrap();
        free.busy[index as usize] = false;
        free.indices.push(index);
        if free.waiters > 0 {
            drop(free);
            self.freed.notify_one();
        }
    }

    /// Decide request `generation` of slot `h` as given up (`ABANDONED`, or `GONE` by the
    /// watcher) unless the responder claimed it first. Returns the claim word that decided it
    /// (ours on success).
    fn decide(h: &SlotHeader, generation: u32, state: u32) -> Result<u32, u32> {
        let ours = pack(generation, state);
        let mut cur = h.claim.load(Ordering::Acquire);
        // Only a hostile process changes the word under us without deciding: bound the retries.
        for _ in 0..64 {
            if gen_of(cur) != prev(generation) {
                return Err(cur);
            }
            match h
                .claim
                .compare_exchange(cur, ours, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(ours),
                Err(now) => cur = now,
            }
        }
        Err(cur)
    }

    /// Give a slot back without waiting for its reply (e.g. the request could not be sent).
    pub fn cancel(&self, ticket: Ticket) {
        let h = self.header(ticket.index);
        if Self::decide(h, ticket.generation, ABANDONED) == Err(pack(ticket.generation, WRITING)) {
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
                        match Self::decide(h, generation, ABANDONED) {
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
                            // GONE (the watcher), or a word nobody should have written.
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
    /// flight (undecided: the claim becomes GONE; claimed but not READY: the responder died
    /// writing) and wake its waiter.
    pub fn fail_all_pending(&self) {
        let free = self.free.lock().unwrap();
        for i in 0..self.count {
            if !free.busy[i as usize] {
                continue;
            }
            let generation = free.generation[i as usize];
            let h = self.header(i);
            match Self::decide(h, generation, GONE) {
                Ok(_) => self.fail_ready(h, generation),
                Err(now) if now == pack(generation, WRITING) => self.fail_ready(h, generation),
                Err(_) => {}
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

    /// Start fetching what a reply to slot `index` touches: its claim word and its payload's
    /// first `len` bytes for writing, its ready word for reading; call it as soon as a request
    /// is seen, before handling it, so the reply written later does not wait for them. A hint
    /// only; any index is harmless.
    pub fn prepare_reply(&self, index: u32, len: usize) {
        if index < self.count {
            #[cfg(not(loom))]
            {
                let h = self.header(index);
                crate::prefetch::for_write(std::ptr::from_ref(&h.claim).cast());
                crate::prefetch::for_read(std::ptr::from_ref(&h.ready).cast());
            }
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
        self.claim(self.header(index), generation)
    }

    /// The responder's claim on request `generation` of slot `h`: the slot must be armed for
    /// exactly that generation and the request still undecided.
    #[inline]
    fn claim(&self, h: &SlotHeader, generation: u32) -> bool {
        let generation = generation & GEN_MASK;
        let armed = h.ready.load(Ordering::Relaxed) & !SLEEPING == pack(generation, WAITING);
        // (The claim word is ours alone in the common case: this load is a cache hit.)
        armed && {
            let cur = h.claim.load(Ordering::Relaxed);
            gen_of(cur) == prev(generation)
                && h.claim
                    .compare_exchange(
                        cur,
                        pack(generation, WRITING),
                        Ordering::Acquire,
                        Ordering::Relaxed,
                    )
                    .is_ok()
        }
    }

    /// Write a reply of `len` bytes for `(index, generation)`: `fill` gets the slot's payload
    /// (exactly `len` bytes) and returns the aux word.
    ///
    /// Safe against anything the requester does to its slots: the index is checked against the
    /// table's private count, and the reply is written only into a slot armed for exactly
    /// that generation, after winning the claim (`(g - 1) -> WRITING(g)`) for it.
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
        // Exactly request `generation`, armed and undecided, or nothing: a requester that gave
        // up, reused the slot, or scribbled on its words gets no reply (and cannot make us
        // retry).
        if !self.claim(h, generation) {
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
        // The free list's lock orders our reads of the payload before the next request on
        // this slot (and so before the responder's writes for it).
        self.table.release_index(self.ticket.index);
    }
}
