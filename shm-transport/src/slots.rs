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
//! for a newer request, or that is free is never written into: [`SlotTable::start_reply`]
//! wins the claim and returns a [`ReplyGrant`], the proof of it and the only way to the
//! payload; [`ReplyGrant::publish`] swaps in READY (a grant dropped unpublished publishes an
//! empty reply marked [`RESPONDER_DROPPED`]). It wakes the requester only when `SLEEPING` was
//! set. Both words are a [`SlotWord`], whose states say who may write the slot while each is
//! set. The loom model `loom_slots` checks the reply-versus-timeout race,
//! stale generations and the responder's death.

use crate::bytes::{Bytes, InPlace, Lease};
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
///
/// It has no magic or version of its own: it lives inside a segment, whose
/// [`SegmentHeader`](crate::SegmentHeader) carries the magic and the
/// [`LAYOUT_VERSION`](crate::LAYOUT_VERSION) that covers this layout too.
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub struct SlotHeader {
    /// Claim word ([`SlotWord`]): the last decided generation and how (see the module docs).
    claim: AtomicU32,
    _claim_line: [u32; 15],
    /// Ready word ([`SlotWord`]), plus [`SlotWord::SLEEPING`] while the requester is parked.
    ready: AtomicU32,
    /// Reply length in bytes (written by the responder before READY).
    len: AtomicU32,
    /// A word for the layer above (e.g. "is an error", "came by the ring"); the top bit is the
    /// transport's ([`RESPONDER_DROPPED`]).
    aux: AtomicU32,
    _ready_line: [u32; 13],
}

// The layout in shared memory (loom's atomics are larger; their layout never reaches it).
const _: () = assert!(
    !crate::sync::SHARED_LAYOUT
        || (std::mem::size_of::<SlotHeader>() == 128
            && std::mem::align_of::<SlotHeader>() == 64
            && std::mem::offset_of!(SlotHeader, claim) == 0
            && std::mem::offset_of!(SlotHeader, ready) == 64
            && std::mem::offset_of!(SlotHeader, len) == 68
            && std::mem::offset_of!(SlotHeader, aux) == 72)
);

impl SlotHeader {
    #[inline]
    fn load_ready(&self, order: Ordering) -> SlotWord {
        SlotWord(self.ready.load(order))
    }

    #[inline]
    fn load_claim(&self, order: Ordering) -> SlotWord {
        SlotWord(self.claim.load(order))
    }

    #[inline]
    fn cas_ready(&self, cur: SlotWord, new: SlotWord) -> Result<SlotWord, SlotWord> {
        self.ready
            .compare_exchange(cur.0, new.0, Ordering::AcqRel, Ordering::Acquire)
            .map(SlotWord)
            .map_err(SlotWord)
    }
}

/// A slot word, claim or ready: `generation << 8 | state`, and on a ready word the
/// [`SLEEPING`](Self::SLEEPING) bit. Generations are 24 bits and wrap.
///
/// The state says who may write the slot (its payload, `len` and `aux`) while it is set:
///
/// | state | word | set by | who may write the slot |
/// | --- | --- | --- | --- |
/// | `0` | claim | nobody (fresh) | nobody: generation 0 is never requested |
/// | [`WAITING`](Self::WAITING) | ready | requester (arming) | nobody yet: the responder first wins the claim |
/// | [`WRITING`](Self::WRITING) | claim | responder (claim CAS) | the responder alone, until it sets READY |
/// | [`READY`](Self::READY) | ready | responder (publish) | nobody: the bytes are the requester's until it frees the slot |
/// | [`ABANDONED`](Self::ABANDONED) | claim | requester (give-up CAS) | nobody, for this generation |
/// | [`GONE`](Self::GONE) | claim and ready | requester's watcher | nobody, for this generation |
#[derive(Clone, Copy, PartialEq, Eq)]
struct SlotWord(u32);

impl SlotWord {
    /// Ready: request `g` is armed and waits for its reply.
    const WAITING: u32 = 1;
    /// Claim: the responder won request `g` and is writing its reply.
    const WRITING: u32 = 2;
    /// Ready: the reply to `g` is published.
    const READY: u32 = 3;
    /// Claim: the requester gave `g` up (deadline, peer gone, cancel).
    const ABANDONED: u32 = 4;
    /// Claim and ready: the requester's watcher failed `g` because the responder died.
    const GONE: u32 = 5;
    /// Ready, with WAITING: the requester is parked (or about to be) on the ready word, so the
    /// responder must wake it after publishing.
    const SLEEPING: u32 = 0x80;
    const STATE_MASK: u32 = 0x7f;
    const GEN_MASK: u32 = 0x00ff_ffff;

    #[inline]
    const fn new(generation: u32, state: u32) -> Self {
        SlotWord((generation & Self::GEN_MASK) << 8 | state)
    }

    #[inline]
    fn generation(self) -> u32 {
        self.0 >> 8
    }

    #[inline]
    fn state(self) -> u32 {
        self.0 & Self::STATE_MASK
    }

    #[inline]
    fn is_sleeping(self) -> bool {
        self.0 & Self::SLEEPING != 0
    }

    #[inline]
    fn with_sleeping(self) -> Self {
        SlotWord(self.0 | Self::SLEEPING)
    }

    #[inline]
    fn without_sleeping(self) -> Self {
        SlotWord(self.0 & !Self::SLEEPING)
    }

    /// Whether this claim word leaves request `generation` undecided (it names `g - 1`).
    #[inline]
    fn leaves_undecided(self, generation: u32) -> bool {
        self.generation() == generation.wrapping_sub(1) & Self::GEN_MASK
    }

    /// The generation after `generation` (24 bits, wrapping).
    #[inline]
    fn next_generation(generation: u32) -> u32 {
        generation.wrapping_add(1) & Self::GEN_MASK
    }
}

impl fmt::Debug for SlotWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state() {
            0 => "none",
            Self::WAITING => "WAITING",
            Self::WRITING => "WRITING",
            Self::READY => "READY",
            Self::ABANDONED => "ABANDONED",
            Self::GONE => "GONE",
            _ => "invalid",
        };
        write!(f, "{state}({})", self.generation())?;
        if self.is_sleeping() {
            f.write_str("+SLEEPING")?;
        }
        Ok(())
    }
}

/// The `aux` bit the transport reserves: set on the empty reply that a [`ReplyGrant`] dropped
/// without [`publish`](ReplyGrant::publish) leaves (see [`Reply::responder_dropped`]). A
/// responder may not set it itself.
pub const RESPONDER_DROPPED: u32 = 1 << 31;

/// Identifies one request's slot: the index and the generation it was acquired with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket {
    /// Slot index.
    pub index: u32,
    /// Generation (24 bits).
    pub generation: u32,
}

/// Why [`SlotTable::start_reply`] gave no grant. Nothing was written in either case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// The slot no longer waits for this request (timed out, cancelled, reused, failed, or
    /// never existed); the reply is dropped without touching the slot.
    Stale,
    /// The reply is larger than a slot ([`SlotTable::slot_size`]): send it another way.
    TooLarge,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Stale => f.write_str("the slot no longer waits for this reply"),
            ReplyError::TooLarge => f.write_str("reply larger than a response slot"),
        }
    }
}

impl std::error::Error for ReplyError {}

/// What one look at a request's slot found ([`SlotTable::poll_reply`]).
#[derive(Debug)]
pub enum SlotPoll<R> {
    /// The reply is published; the slot is freed when it is dropped.
    Ready(R),
    /// Still waiting, and announced as sleeping: the responder's publish reports it.
    Sleeping,
    /// The request ended without a reply (given up, or the responder gone); the slot is free.
    Failed(WaitError),
}

/// A slot kept taken after its reply was read ([`SlotTable::hold`]); freed when dropped.
pub struct HeldSlot<P: Park> {
    table: Arc<SlotTable<P>>,
    ticket: Ticket,
}

impl<P: Park> HeldSlot<P> {
    /// The request whose slot this is.
    pub fn ticket(&self) -> Ticket {
        self.ticket
    }
}

impl<P: Park> fmt::Debug for HeldSlot<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HeldSlot").field(&self.ticket).finish()
    }
}

impl<P: Park> Drop for HeldSlot<P> {
    fn drop(&mut self) {
        self.table.release_index(self.ticket.index);
    }
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
///
/// Its bytes are copied out with [`copy_to`](Self::copy_to). Reading them in place is offered
/// only by [`TrustedReply`](crate::TrustedReply), from a requester that trusts its responder.
pub struct Reply<'a, P: Park> {
    table: &'a SlotTable<P>,
    ticket: Ticket,
    len: usize,
    aux: u32,
}

/// The responder's claim on one request's slot: write the reply into
/// [`as_mut_slice`](Self::as_mut_slice), then [`publish`](Self::publish) it.
///
/// Only [`SlotTable::start_reply`] makes one, after winning the slot's claim: holding it is the
/// proof that the slot's payload is this responder's to write, and nobody else's.
///
/// **Dropped without publishing** (an early return, a panic while encoding), it publishes an
/// empty reply whose aux is [`RESPONDER_DROPPED`]: the requester is woken and sees
/// [`Reply::responder_dropped`], instead of waiting until its deadline (or for ever). Only a
/// responder whose *process* dies while holding a grant publishes nothing; the requester's
/// watcher then fails the request ([`SlotTable::fail_all_pending`]).
pub struct ReplyGrant<'a, P: Park> {
    table: &'a SlotTable<P>,
    index: u32,
    generation: u32,
    /// The slot's payload, ours until READY; `None` once published.
    payload: Option<Lease>,
    len: usize,
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

    /// A table of `count` slots of `slot_size` bytes on the heap, for requester and responder
    /// threads in one process (and loom models).
    ///
    /// # Panics
    /// If `count` is zero.
    pub fn new_heap(count: u32, slot_size: u32, park: P, live: Liveness) -> Self {
        assert!(count > 0, "a slot table needs a slot");
        let headers: Arc<[SlotHeader]> = (0..count).map(|_| SlotHeader::default()).collect();
        let ptr = NonNull::new(headers.as_ptr().cast_mut()).expect("an Arc is never null");
        let (payload, bytes_owner) = Bytes::heap(count as usize * slot_size as usize);
        // SAFETY: `headers` holds `count` headers (accessed through atomics only) and the heap
        // bytes cover `count * slot_size`; the owner keeps both alive.
        unsafe {
            Self::new(
                ptr,
                payload,
                count,
                slot_size,
                slot_size as usize,
                park,
                live,
                Arc::new((headers, bytes_owner)),
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

    /// Take a free slot if more than `keep` are free now (so `keep` stay free for others: a
    /// requester that may hold its slot for long leaves room for those that wait in theirs).
    pub fn try_acquire_leaving(&self, keep: usize) -> Option<Ticket> {
        let mut free = self.free.lock().unwrap();
        if free.indices.len() <= keep {
            return None;
        }
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
            free = match crate::sync::wait_timeout(&self.freed, free, deadline) {
                Ok(free) => free,
                Err(mut free) => {
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
        let generation = SlotWord::next_generation(free.generation[index as usize]);
        free.generation[index as usize] = generation;
        free.busy[index as usize] = true;
        // SYNC POINT: the request frame that names the slot is published later by the ring's
        // Release, which the responder acquires before it checks this word.
        self.header(index).ready.store(
            SlotWord::new(generation, SlotWord::WAITING).0,
            Ordering::Relaxed,
        );
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
    fn decide(h: &SlotHeader, generation: u32, state: u32) -> Result<SlotWord, SlotWord> {
        let ours = SlotWord::new(generation, state);
        let mut cur = h.load_claim(Ordering::Acquire);
        // Only a hostile process changes the word under us without deciding: bound the retries.
        for _ in 0..64 {
            if !cur.leaves_undecided(generation) {
                return Err(cur);
            }
            match h
                .claim
                .compare_exchange(cur.0, ours.0, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(ours),
                Err(now) => cur = SlotWord(now),
            }
        }
        Err(cur)
    }

    /// Give a slot back without waiting for its reply (e.g. the request could not be sent).
    pub fn cancel(&self, ticket: Ticket) {
        let h = self.header(ticket.index);
        let writing = SlotWord::new(ticket.generation, SlotWord::WRITING);
        if Self::decide(h, ticket.generation, SlotWord::ABANDONED) == Err(writing) {
            // A responder claimed it first: the slot is free again once its reply is in (or
            // once the responder's process is known to be gone).
            while h.load_ready(Ordering::Acquire).state() == SlotWord::WAITING
                && !self.live.is_gone()
            {
                crate::sync::backoff();
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
        if let Some(reply) = self.spin_reply(ticket, mode) {
            return Ok(reply);
        }
        let h = self.header(ticket.index);
        let sleeping = SlotWord::new(ticket.generation, SlotWord::WAITING).with_sleeping();
        loop {
            let give_up = deadline
                .is_some_and(|d| Instant::now() >= d)
                .then_some(WaitError::TimedOut);
            match self.poll_reply(ticket, give_up) {
                SlotPoll::Ready(reply) => return Ok(reply),
                SlotPoll::Failed(e) => return Err(e),
                SlotPoll::Sleeping => self.park.wait(&h.ready, sleeping.0, deadline),
            }
        }
    }

    /// The spin phase of a wait for the reply to `ticket` (per `mode`): the reply if it is
    /// published within the budget. `None` leaves the request waiting, as it was.
    pub fn spin_reply(&self, ticket: Ticket, mode: WaitMode) -> Option<Reply<'_, P>> {
        let h = self.header(ticket.index);
        let published = SlotWord::new(ticket.generation, SlotWord::READY);
        let ready = || (h.load_ready(Ordering::Acquire) == published).then_some(());
        spin_phase(mode, ready).map(|()| self.take(ticket))
    }

    /// One look at the slot of `ticket`, without blocking: the reply if it is published, or
    /// the end of the request (`give_up`, or the responder gone: the slot is abandoned and
    /// freed, as [`wait_reply`](Self::wait_reply) does), or else [`SlotPoll::Sleeping`]: the
    /// requester is now announced as sleeping (the slot word's SLEEPING bit), so the responder's
    /// [`ReplyGrant::publish`] reports `true` and the requester must be woken by whoever
    /// learns of that (a futex wake, or a message: the caller's choice).
    ///
    /// No lost wake-up: the SLEEPING bit is set by a compare-and-swap from `WAITING(g)` and
    /// the responder publishes by one swap of the same word, so either the swap comes first
    /// (the CAS fails, the next look here sees READY and returns the reply) or the CAS does
    /// (the swap returns the word with SLEEPING, and `publish` reports it). Whatever the
    /// requester did before this call (registering its waker) is visible to the responder
    /// after its swap (AcqRel on both sides), and so to whoever it tells.
    pub fn poll_reply(&self, ticket: Ticket, give_up: Option<WaitError>) -> SlotPoll<Reply<'_, P>> {
        let h = self.header(ticket.index);
        let generation = ticket.generation & SlotWord::GEN_MASK;
        loop {
            let cur = h.load_ready(Ordering::Acquire);
            if cur.generation() != generation {
                // Only this requester changes the generation: a responder never does.
                self.release_index(ticket.index);
                return SlotPoll::Failed(WaitError::PeerGone);
            }
            match cur.state() {
                SlotWord::READY => return SlotPoll::Ready(self.take(ticket)),
                SlotWord::WAITING => {
                    let give_up = if self.live.is_gone() {
                        Some(WaitError::PeerGone)
                    } else {
                        give_up
                    };
                    if let Some(err) = give_up {
                        match Self::decide(h, generation, SlotWord::ABANDONED) {
                            Ok(_) => {
                                self.release_index(ticket.index);
                                return SlotPoll::Failed(err);
                            }
                            // The responder won the claim: its reply is being written, and
                            // comes without waiting on us (unless its process died meanwhile).
                            Err(now) if now == SlotWord::new(generation, SlotWord::WRITING) => {
                                if !self.live.is_gone() {
                                    crate::sync::backoff();
                                    continue;
                                }
                            }
                            // GONE (the watcher), or a word nobody should have written.
                            Err(_) => {}
                        }
                        self.release_index(ticket.index);
                        return SlotPoll::Failed(WaitError::PeerGone);
                    }
                    if cur.is_sleeping() || h.cas_ready(cur, cur.with_sleeping()).is_ok() {
                        return SlotPoll::Sleeping;
                    }
                }
                _ => {
                    // GONE (the watcher), or a state nobody writes.
                    self.release_index(ticket.index);
                    return SlotPoll::Failed(WaitError::PeerGone);
                }
            }
        }
    }

    /// Keep `reply`'s slot taken without borrowing the table (after its bytes are read, while
    /// the requester waits for something else the reply named): the slot is freed when the
    /// [`HeldSlot`] is dropped.
    ///
    /// # Panics
    /// If `reply` is not from this table.
    pub fn hold(self: &Arc<Self>, reply: Reply<'_, P>) -> HeldSlot<P> {
        assert!(
            std::ptr::eq(reply.table, &**self),
            "a reply is held by its own table"
        );
        let ticket = reply.ticket;
        // The slot stays taken: the held slot frees it instead of the reply.
        std::mem::forget(reply);
        HeldSlot {
            table: self.clone(),
            ticket,
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
            match Self::decide(h, generation, SlotWord::GONE) {
                Ok(_) => self.fail_ready(h, generation),
                Err(now) if now == SlotWord::new(generation, SlotWord::WRITING) => {
                    self.fail_ready(h, generation)
                }
                Err(_) => {}
            }
        }
    }

    /// Turn a WAITING ready word of `generation` into GONE and wake its waiter. A reply that
    /// is already READY, and a slot already armed for a newer request, are left alone.
    fn fail_ready(&self, h: &SlotHeader, generation: u32) {
        let mut cur = h.load_ready(Ordering::Acquire);
        while cur.generation() == generation && cur.state() == SlotWord::WAITING {
            match h.cas_ready(cur, SlotWord::new(generation, SlotWord::GONE)) {
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
            let h = self.header(index);
            crate::prefetch::for_write(std::ptr::from_ref(&h.claim).cast());
            crate::prefetch::for_read(std::ptr::from_ref(&h.ready).cast());
            self.payload.prefetch_write(
                index as usize * self.stride,
                len.min(self.slot_size as usize),
            );
        }
    }

    /// The responder's claim on request `generation` of slot `h`: the slot must be armed for
    /// exactly that generation and the request still undecided.
    #[inline]
    fn claim(&self, h: &SlotHeader, generation: u32) -> bool {
        let armed = h.load_ready(Ordering::Relaxed).without_sleeping()
            == SlotWord::new(generation, SlotWord::WAITING);
        // (The claim word is ours alone in the common case: this load is a cache hit.)
        armed && {
            let cur = h.load_claim(Ordering::Relaxed);
            cur.leaves_undecided(generation)
                && h.claim
                    .compare_exchange(
                        cur.0,
                        SlotWord::new(generation, SlotWord::WRITING).0,
                        Ordering::Acquire,
                        Ordering::Relaxed,
                    )
                    .is_ok()
        }
    }

    /// Claim the slot of request `(index, generation)` for a reply of up to `len` bytes: the
    /// grant's [`as_mut_slice`](ReplyGrant::as_mut_slice) is the slot's payload (`len`
    /// bytes), and [`publish`](ReplyGrant::publish) hands it to the requester.
    ///
    /// Safe against anything the requester does to its slots: the index is checked against the
    /// table's private count, and a grant is given only for a slot armed for exactly that
    /// generation, after winning the claim (`(g - 1) -> WRITING(g)`) for it. Otherwise
    /// [`ReplyError::Stale`], and nothing is touched; a reply longer than a slot is
    /// [`ReplyError::TooLarge`] (checked first, so the request stays undecided and can still
    /// be answered another way).
    pub fn start_reply(
        &self,
        index: u32,
        generation: u32,
        len: usize,
    ) -> Result<ReplyGrant<'_, P>, ReplyError> {
        if index >= self.count {
            return Err(ReplyError::Stale);
        }
        if len > self.slot_size as usize {
            return Err(ReplyError::TooLarge);
        }
        let generation = generation & SlotWord::GEN_MASK;
        let h = self.header(index);
        // Exactly request `generation`, armed and undecided, or nothing: a requester that gave
        // up, reused the slot, or scribbled on its words gets no reply (and cannot make us
        // retry).
        if !self.claim(h, generation) {
            return Err(ReplyError::Stale);
        }
        // SAFETY: winning the claim gives this responder the slot's payload until it publishes
        // READY; the grant is the only lease over it, and it borrows the table, which keeps
        // the payload mapped.
        let payload = unsafe { self.payload.lease(index as usize * self.stride, len) };
        Ok(ReplyGrant {
            table: self,
            index,
            generation,
            payload: Some(payload),
            len,
        })
    }
}

impl<P: Park> ReplyGrant<'_, P> {
    /// The request this grant answers.
    pub fn ticket(&self) -> Ticket {
        Ticket {
            index: self.index,
            generation: self.generation,
        }
    }

    /// Payload bytes reserved.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether zero bytes were reserved.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The reserved payload (16-byte aligned when the slot stride is), to write the reply into.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.payload
            .as_mut()
            .expect("a grant holds its payload until it is published")
            .as_mut_slice()
    }

    /// Publish the first `len` bytes as the reply, with `aux` for the layer above, and wake the
    /// requester if it sleeps. Returns whether it had announced that it sleeps (the SLEEPING
    /// bit, set by [`SlotTable::poll_reply`] or a parked [`SlotTable::wait_reply`]): a requester
    /// that waits some other way than the futex must then be told by the responder.
    ///
    /// # Panics
    /// If `len` exceeds the reservation or `aux` has the [`RESPONDER_DROPPED`] bit set (the
    /// grant is then dropped, which publishes an empty reply with that bit).
    pub fn publish(mut self, len: usize, aux: u32) -> bool {
        assert!(len <= self.len, "reply longer than the reservation");
        assert!(
            aux & RESPONDER_DROPPED == 0,
            "aux bit {RESPONDER_DROPPED:#x} is the transport's"
        );
        self.finish(len, aux)
    }

    fn finish(&mut self, len: usize, aux: u32) -> bool {
        let Some(payload) = self.payload.take() else {
            return false;
        };
        payload.finish(len);
        let h = self.table.header(self.index);
        h.len.store(len as u32, Ordering::Relaxed);
        h.aux.store(aux, Ordering::Relaxed);
        // SYNC POINT: publishes the reply bytes, len and aux to the requester (Release), and
        // acquires what the requester did before it announced SLEEPING (its waker, registered
        // before its CAS; see `SlotTable::poll_reply`), for whoever this responder tells next.
        let was = SlotWord(h.ready.swap(
            SlotWord::new(self.generation, SlotWord::READY).0,
            Ordering::AcqRel,
        ));
        if was.is_sleeping() {
            self.table.park.wake(&h.ready, u32::MAX);
        }
        was.is_sleeping()
    }
}

impl<P: Park> Drop for ReplyGrant<'_, P> {
    fn drop(&mut self) {
        // Unpublished: an empty reply that says so, so the requester never waits for ever. (A
        // requester that sleeps some other way than the futex is told by the layer above,
        // which drops grants only in `publish`'s place; see `ReplyGrant::publish`.)
        self.finish(0, RESPONDER_DROPPED);
    }
}

impl<P: Park> fmt::Debug for ReplyGrant<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyGrant")
            .field("ticket", &self.ticket())
            .field("len", &self.len)
            .finish()
    }
}

impl<'a, P: Park> Reply<'a, P> {
    /// The ticket this reply answers.
    pub fn ticket(&self) -> Ticket {
        self.ticket
    }

    /// The aux word the responder set (including [`RESPONDER_DROPPED`]).
    pub fn aux(&self) -> u32 {
        self.aux
    }

    /// Whether the responder dropped its [`ReplyGrant`] without publishing: the reply is empty
    /// and carries no answer.
    pub fn responder_dropped(&self) -> bool {
        self.aux & RESPONDER_DROPPED != 0
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
    ///
    /// # Panics
    /// If `dst.len() != self.len()`.
    pub fn copy_to(&self, dst: &mut [u8]) {
        assert_eq!(dst.len(), self.len);
        // SAFETY: READY hands the payload to the requester until it frees the slot.
        unsafe {
            self.table
                .payload
                .read(self.ticket.index as usize * self.table.stride, dst)
        }
    }

    /// The reply in place, viewed through `keep`.
    ///
    /// # Safety
    /// The responder must not write the slot's payload while the slice lives (see
    /// [`TrustedReply`](crate::TrustedReply)).
    pub(crate) unsafe fn in_place<'s>(&'s self, keep: &'s InPlace) -> &'s [u8] {
        // SAFETY: READY hands the payload to the requester until it frees the slot; the caller
        // guarantees that the responder keeps to that.
        unsafe {
            self.table.payload.slice(
                self.ticket.index as usize * self.table.stride,
                self.len,
                keep,
            )
        }
    }
}

impl<P: Park> fmt::Debug for Reply<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("ticket", &self.ticket)
            .field("len", &self.len)
            .field("aux", &self.aux)
            .finish()
    }
}

impl<P: Park> Drop for Reply<'_, P> {
    fn drop(&mut self) {
        // The free list's lock orders our reads of the payload before the next request on
        // this slot (and so before the responder's writes for it).
        self.table.release_index(self.ticket.index);
    }
}
