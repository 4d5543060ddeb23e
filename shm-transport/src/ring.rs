//! The single-producer single-consumer byte ring: variable-length, 16-byte aligned frames,
//! reserve/commit on the producer side and peek/release on the consumer side.
//!
//! ```text
//!            head (consumer)                 tail (producer)
//!              v                               v
//!  +-----+-----+-------+-------+-------+-------+---------------+-----+
//!  | pad | ... | frame | frame | frame | frame |     free      | ... |   capacity bytes
//!  +-----+-----+-------+-------+-------+-------+---------------+-----+
//! ```
//!
//! `head` and `tail` are byte positions that only grow (offset = position % capacity). Each side
//! keeps its own position privately and only *publishes* it; it reads the other side's position
//! only when the ring looks full (producer) or empty (consumer), and validates what it reads,
//! because the other side may be a hostile process. A frame that does not fit before the end of
//! the ring is preceded by a padding frame and placed at offset 0, so a frame is always
//! contiguous. A frame is at most half the capacity, which guarantees that it fits once the
//! ring drains; larger messages are sent as chunks (see [`Producer::send`] and
//! [`Receiver`](crate::Receiver)).

use crate::bytes::{Bytes, InPlace, Lease};
use crate::event::Event;
use crate::frame::{frame_size, FrameHeader, FrameKind, FRAME_HEADER_LEN};
use crate::liveness::Liveness;
use crate::sync::{AtomicU64, Ordering};
use crate::wait::{Park, WaitError, WaitMode};
use crossbeam_utils::CachePadded;
use std::any::Any;
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Instant;

/// The control block of a ring, in shared memory. `#[repr(C)]`, 512 bytes (four 128-byte
/// lines); each field on its own cache line so producer and consumer do not false-share.
///
/// It has no magic or version of its own: it lives inside a segment, whose
/// [`SegmentHeader`](crate::SegmentHeader) carries the magic and the
/// [`LAYOUT_VERSION`](crate::LAYOUT_VERSION) that covers this layout too.
#[repr(C)]
#[derive(Debug, Default)]
pub struct RingHeader {
    /// Consumer position: everything before it may be overwritten. Written by the consumer only.
    pub(crate) head: CachePadded<AtomicU64>,
    /// Producer position: everything before it is published. Written by the producer only.
    pub(crate) tail: CachePadded<AtomicU64>,
    /// The consumer sleeps here; the producer notifies after publishing.
    pub(crate) data: CachePadded<Event>,
    /// The producer sleeps here when the ring is full; the consumer notifies after releasing.
    pub(crate) space: CachePadded<Event>,
}

// The layout in shared memory (loom's atomics are larger; their layout never reaches it).
const _: () = assert!(
    !crate::sync::SHARED_LAYOUT
        || (std::mem::size_of::<RingHeader>() == 512
            && std::mem::align_of::<RingHeader>() == 128
            && std::mem::offset_of!(RingHeader, tail) == 128
            && std::mem::offset_of!(RingHeader, data) == 256
            && std::mem::offset_of!(RingHeader, space) == 384)
);

/// The largest ring position an endpoint resumes from: positions only grow, from 0, by the
/// bytes that went through the ring (2^62 bytes are decades at memory speed), so the
/// arithmetic on them can never overflow; a larger published position is a lie.
#[cfg_attr(loom, allow(dead_code))]
const MAX_POSITION: u64 = 1 << 62;

/// Where a ring lives: its header, its data bytes, its bulk area (if any; see
/// `crate::bulk`) and what keeps them mapped.
#[derive(Clone)]
pub(crate) struct RingRef {
    header: NonNull<RingHeader>,
    pub(crate) data: Bytes,
    capacity: u64,
    /// Where messages larger than a frame go whole (`FrameKind::Bulk`), and its size.
    pub(crate) bulk: Option<(Bytes, usize)>,
    _owner: Arc<dyn Any + Send + Sync>,
}

// SAFETY: the header is only accessed through atomics; the data only through the protocol.
unsafe impl Send for RingRef {}
// SAFETY: as above.
unsafe impl Sync for RingRef {}

impl RingRef {
    /// # Safety
    /// `header` must point to a `RingHeader` and `data` to `capacity` bytes, both kept mapped by
    /// `owner`. `capacity` must be a power of two, at least 64.
    pub(crate) unsafe fn new(
        header: NonNull<RingHeader>,
        data: Bytes,
        capacity: u64,
        owner: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        debug_assert!(capacity.is_power_of_two() && capacity >= 64);
        RingRef {
            header,
            data,
            capacity,
            bulk: None,
            _owner: owner,
        }
    }

    /// The same ring with a bulk area of `len` bytes.
    ///
    /// # Safety
    /// `bulk` must be `len` bytes kept mapped by this ring's owner, used by no other ring or
    /// table.
    pub(crate) unsafe fn with_bulk(mut self, bulk: Bytes, len: usize) -> Self {
        self.bulk = Some((bulk, len));
        self
    }

    #[inline]
    pub(crate) fn header(&self) -> &RingHeader {
        // SAFETY: kept mapped by `_owner` (constructor contract); atomics only.
        unsafe { self.header.as_ref() }
    }

    /// A ring on the heap (loom models, in-process pairs). `capacity` must be a power of two,
    /// at least 64.
    pub(crate) fn new_heap(capacity: u64) -> Self {
        Self::new_heap_owning(capacity, Arc::new(()))
    }

    /// As [`new_heap`](Self::new_heap), also keeping `extra` alive (a bulk area's bytes).
    pub(crate) fn new_heap_owning(capacity: u64, extra: Arc<dyn Any + Send + Sync>) -> Self {
        assert!(
            capacity.is_power_of_two() && capacity >= 64,
            "ring capacity"
        );
        let header = Arc::new(RingHeader::default());
        let (data, bytes_owner) = Bytes::heap(capacity as usize);
        let ptr = NonNull::from(&*header);
        // SAFETY: `header` and the heap bytes are kept alive by the owner, which holds both.
        unsafe { RingRef::new(ptr, data, capacity, Arc::new((header, bytes_owner, extra))) }
    }
}

/// The ring is corrupt: the peer published a position or a frame that breaks the protocol.
/// Only a buggy or hostile peer causes this; the endpoint should be closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corrupt(pub &'static str);

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ring integrity violation: {}", self.0)
    }
}
impl std::error::Error for Corrupt {}

/// Why [`Producer::try_reserve`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TryReserveError {
    /// Not enough free space now.
    Full,
    /// Larger than any single frame may be ([`Producer::max_frame_payload`]).
    TooLarge,
    /// The consumer published an impossible position.
    Corrupt(Corrupt),
}

/// Why a blocking send or reserve failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// No room before the deadline.
    TimedOut,
    /// The consumer's process is gone.
    PeerGone,
    /// Larger than allowed (a single frame for reserve, the message limit for send).
    TooLarge,
    /// The consumer published an impossible position.
    Corrupt(Corrupt),
}

impl fmt::Display for TryReserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryReserveError::Full => f.write_str("ring is full"),
            TryReserveError::TooLarge => f.write_str("frame larger than the ring allows"),
            TryReserveError::Corrupt(c) => c.fmt(f),
        }
    }
}
impl std::error::Error for TryReserveError {}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::TimedOut => f.write_str("timed out waiting for room in the ring"),
            SendError::PeerGone => f.write_str("the peer process is gone"),
            SendError::TooLarge => f.write_str("message larger than allowed"),
            SendError::Corrupt(c) => c.fmt(f),
        }
    }
}
impl std::error::Error for SendError {}

impl From<WaitError> for SendError {
    fn from(e: WaitError) -> Self {
        match e {
            WaitError::TimedOut => SendError::TimedOut,
            WaitError::PeerGone => SendError::PeerGone,
        }
    }
}

/// Why a blocking receive failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// Nothing arrived before the deadline.
    TimedOut,
    /// The producer's process is gone and everything it sent has been received.
    PeerGone,
    /// The producer broke the protocol.
    Corrupt(Corrupt),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::TimedOut => f.write_str("timed out waiting for a message"),
            RecvError::PeerGone => f.write_str("the peer process is gone"),
            RecvError::Corrupt(c) => c.fmt(f),
        }
    }
}
impl std::error::Error for RecvError {}

impl From<WaitError> for RecvError {
    fn from(e: WaitError) -> Self {
        match e {
            WaitError::TimedOut => RecvError::TimedOut,
            WaitError::PeerGone => RecvError::PeerGone,
        }
    }
}

impl From<Corrupt> for RecvError {
    fn from(c: Corrupt) -> Self {
        RecvError::Corrupt(c)
    }
}

/// The writing end of a ring.
pub struct Producer<P: Park> {
    pub(crate) ring: RingRef,
    /// Our position; the shared `tail` is only ever a copy of it.
    pub(crate) tail: u64,
    /// Last validated consumer position.
    pub(crate) head: u64,
    /// Ring position just past the last bulk frame: the bulk area is ours again once the
    /// consumer's `head` reaches it (it releases a bulk frame only after reading the area).
    pub(crate) bulk_until: u64,
    pub(crate) park: P,
    pub(crate) live: Liveness,
}

impl<P: Park> fmt::Debug for Producer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.ring.capacity)
            .field("tail", &self.tail)
            .field("head", &self.head)
            .finish()
    }
}

/// Space reserved by [`Producer::try_reserve`]: write the payload, then [`commit`](Self::commit).
/// Dropping it without committing publishes nothing.
pub struct WriteGrant<'a, P: Park> {
    producer: &'a mut Producer<P>,
    /// Ring position where the frame header goes.
    start: u64,
    /// The reserved payload bytes, ours until commit.
    payload: Lease,
    /// Payload bytes reserved.
    len: usize,
}

impl<P: Park> Producer<P> {
    /// A producer at the start of a fresh ring. Positions are never taken from shared memory:
    /// the peer may have written anything there before this endpoint exists.
    pub(crate) fn new(ring: RingRef, park: P, live: Liveness) -> Self {
        Producer {
            ring,
            tail: 0,
            head: 0,
            bulk_until: 0,
            park,
            live,
        }
    }

    /// A producer that continues where an earlier holder of this ring's producing end stopped
    /// (a port end that moved to another process): its positions are the published `tail`
    /// and `head`, validated (they may be a hostile earlier holder's). The bulk area counts as
    /// the consumer's until everything published so far is released (the earlier holder's
    /// last bulk frame may be among it).
    #[cfg_attr(loom, allow(dead_code))] // only port segments resume, and they are not under loom
    pub(crate) fn resume(ring: RingRef, park: P, live: Liveness) -> Result<Self, Corrupt> {
        // SYNC POINT: acquires the earlier holder's publication of `tail` (and with it the
        // frames before it) and the consumer's release of the bytes before `head`.
        let tail = ring.header().tail.load(Ordering::Acquire);
        let head = ring.header().head.load(Ordering::Acquire);
        if tail > MAX_POSITION || head > tail || tail - head > ring.capacity {
            return Err(Corrupt("published positions to resume from are impossible"));
        }
        let mut p = Producer::new(ring, park, live);
        (p.tail, p.head, p.bulk_until) = (tail, head, tail);
        Ok(p)
    }

    /// Ring capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.ring.capacity as usize
    }

    /// Largest payload a single frame may carry (half the ring, less the header).
    pub fn max_frame_payload(&self) -> usize {
        (self.ring.capacity / 2) as usize - FRAME_HEADER_LEN
    }

    /// The event the consumer sleeps on (for waits over several rings).
    pub fn data_event(&self) -> &Event {
        &self.ring.header().data
    }

    /// The event this producer sleeps on when the ring is full.
    pub fn space_event(&self) -> &Event {
        &self.ring.header().space
    }

    /// Where a frame of `len` payload bytes goes and how much free space that takes.
    pub(crate) fn placement(&self, len: usize) -> Option<(u64, u64)> {
        if len > self.max_frame_payload() {
            return None;
        }
        let need = frame_size(len as u64);
        let cap = self.ring.capacity;
        let contiguous = cap - (self.tail & (cap - 1));
        Some(if need <= contiguous {
            (self.tail, need)
        } else {
            (self.tail + contiguous, contiguous + need)
        })
    }

    /// Re-read the consumer's position and validate it.
    pub(crate) fn refresh_head(&mut self) -> Result<(), Corrupt> {
        // SYNC POINT: acquires the consumer's release of the bytes before `head`.
        let h = self.ring.header().head.load(Ordering::Acquire);
        if h < self.head || h > self.tail {
            return Err(Corrupt("consumer head outside [old head, tail]"));
        }
        self.head = h;
        Ok(())
    }

    pub(crate) fn fits(&mut self, total: u64) -> Result<bool, Corrupt> {
        let cap = self.ring.capacity;
        if cap - (self.tail - self.head) >= total {
            return Ok(true);
        }
        self.refresh_head()?;
        Ok(cap - (self.tail - self.head) >= total)
    }

    /// Reserve room for a `len`-byte payload without blocking.
    pub fn try_reserve(&mut self, len: usize) -> Result<WriteGrant<'_, P>, TryReserveError> {
        let (start, total) = self.placement(len).ok_or(TryReserveError::TooLarge)?;
        if !self.fits(total).map_err(TryReserveError::Corrupt)? {
            return Err(TryReserveError::Full);
        }
        let at = ((start & (self.ring.capacity - 1)) as usize) + FRAME_HEADER_LEN;
        // SAFETY: the frame fits in free space (checked above), which only this producer may
        // touch until it publishes `tail` past it; the grant borrows the producer mutably, so
        // this is the only lease over it, and the ring (held by the producer) keeps it mapped.
        let payload = unsafe { self.ring.data.lease(at, len) };
        Ok(WriteGrant {
            producer: self,
            start,
            payload,
            len,
        })
    }

    /// Reserve room for a `len`-byte payload, waiting per `mode` until `deadline` for the consumer
    /// to make room.
    pub fn reserve(
        &mut self,
        len: usize,
        mode: WaitMode,
        deadline: Option<Instant>,
    ) -> Result<WriteGrant<'_, P>, SendError> {
        let (_, total) = self.placement(len).ok_or(SendError::TooLarge)?;
        self.wait_for_room(total, mode, deadline)?;
        match self.try_reserve(len) {
            Ok(g) => Ok(g),
            Err(TryReserveError::Corrupt(c)) => Err(SendError::Corrupt(c)),
            Err(TryReserveError::TooLarge) => Err(SendError::TooLarge),
            Err(TryReserveError::Full) => unreachable!("room was just observed by this producer"),
        }
    }

    fn wait_for_room(
        &mut self,
        total: u64,
        mode: WaitMode,
        deadline: Option<Instant>,
    ) -> Result<(), SendError> {
        self.wait_for_space(mode, deadline, |p| p.fits(total))
    }

    /// Wait per `mode` until `deadline` for the consumer to release enough that `ready` holds
    /// (it is re-checked after every release the consumer announces).
    pub(crate) fn wait_for_space(
        &mut self,
        mode: WaitMode,
        deadline: Option<Instant>,
        mut ready: impl FnMut(&mut Self) -> Result<bool, Corrupt>,
    ) -> Result<(), SendError> {
        if ready(self).map_err(SendError::Corrupt)? {
            return Ok(());
        }
        if self.live.is_gone() {
            return Err(SendError::PeerGone);
        }
        let ring = self.ring.clone();
        let park = self.park.clone();
        let live = self.live.clone();
        let mut corrupt = None;
        let r = ring
            .header()
            .space
            .wait_until(&park, mode, deadline, &live, || match ready(self) {
                Ok(true) => Some(()),
                Ok(false) => None,
                Err(c) => {
                    corrupt = Some(c);
                    Some(())
                }
            });
        if let Some(c) = corrupt {
            return Err(SendError::Corrupt(c));
        }
        Ok(r?)
    }

    /// Write one frame of `kind` carrying `payload` without blocking.
    fn try_frame(
        &mut self,
        kind: FrameKind,
        tag: u16,
        meta: u64,
        payload: &[u8],
    ) -> Result<(), TryReserveError> {
        let mut g = self.try_reserve(payload.len())?;
        g.write(0, payload);
        g.commit_kind(payload.len(), kind, tag, meta);
        Ok(())
    }

    /// Chunk payload size for messages larger than one frame (a quarter of the ring, so the
    /// producer can fill one chunk while the consumer copies another).
    pub fn chunk_payload(&self) -> usize {
        (self.ring.capacity / 4) as usize - FRAME_HEADER_LEN
    }

    /// Send a whole message without blocking: one frame if it fits in one, chunks otherwise.
    ///
    /// `progress` is how many payload bytes earlier calls already sent (start with 0); it is
    /// advanced as chunks go out. Returns `Ok(true)` when the message is complete, `Ok(false)`
    /// when the ring filled up part-way (call again with the same `progress` once there is
    /// room; nothing is lost or duplicated in between, but the ring must not carry other
    /// messages from this producer until this one completes).
    pub fn try_send_partial(
        &mut self,
        tag: u16,
        meta: u64,
        payload: &[u8],
        progress: &mut usize,
    ) -> Result<bool, Corrupt> {
        if *progress == 0 && payload.len() > self.max_frame_payload() {
            // Whole, in the bulk area, if it is free now; otherwise in chunks as below.
            match self.try_reserve_bulk(payload.len()) {
                Ok(mut g) => {
                    g.as_mut_slice()[..payload.len()].copy_from_slice(payload);
                    g.commit(payload.len(), tag, meta);
                    *progress = payload.len();
                    return Ok(true);
                }
                Err(TryReserveError::Corrupt(c)) => return Err(c),
                Err(TryReserveError::Full | TryReserveError::TooLarge) => {}
            }
        }
        if *progress == 0 && payload.len() <= self.max_frame_payload() {
            return match self.try_frame(FrameKind::Whole, tag, meta, payload) {
                Ok(()) => {
                    *progress = payload.len();
                    Ok(true)
                }
                Err(TryReserveError::Full) => Ok(false),
                Err(TryReserveError::Corrupt(c)) => Err(c),
                Err(TryReserveError::TooLarge) => unreachable!("checked against max frame"),
            };
        }
        let chunk = self.chunk_payload();
        while *progress < payload.len() || payload.is_empty() {
            let end = (*progress + chunk).min(payload.len());
            let kind = if *progress == 0 {
                FrameKind::First
            } else if end == payload.len() {
                FrameKind::Last
            } else {
                FrameKind::Middle
            };
            match self.try_frame(kind, tag, meta, &payload[*progress..end]) {
                Ok(()) => *progress = end,
                Err(TryReserveError::Full) => return Ok(false),
                Err(TryReserveError::Corrupt(c)) => return Err(c),
                Err(TryReserveError::TooLarge) => unreachable!("chunks fit a frame"),
            }
            if kind == FrameKind::Last {
                return Ok(true);
            }
        }
        Ok(true)
    }

    /// Send a whole message of any size, waiting per `mode` until `deadline` for room.
    ///
    /// A message that fits in one frame is one frame; a larger one is streamed as chunks that
    /// the consumer's [`Receiver`](crate::Receiver) reassembles. On a timeout part-way through
    /// a chunked message, the chunks already sent cannot be taken back: the producer is then
    /// left mid-message and returns [`SendError::TimedOut`]; the caller should treat the channel
    /// as broken. (Use no deadline, or [`Producer::try_send_partial`], to avoid that.)
    pub fn send(
        &mut self,
        tag: u16,
        meta: u64,
        payload: &[u8],
        mode: WaitMode,
        deadline: Option<Instant>,
    ) -> Result<(), SendError> {
        let mut progress = 0;
        loop {
            if self
                .try_send_partial(tag, meta, payload, &mut progress)
                .map_err(SendError::Corrupt)?
            {
                return Ok(());
            }
            let next = if progress == 0 && payload.len() <= self.max_frame_payload() {
                payload.len()
            } else {
                self.chunk_payload().min(payload.len() - progress)
            };
            let (_, total) = self.placement(next).ok_or(SendError::TooLarge)?;
            self.wait_for_room(total, mode, deadline)?;
        }
    }

    /// Start taking over the cache lines the next frame will most likely be written to, so that
    /// writing it does not wait for the consumer's core to give them up (it read them a lap
    /// ago). Only whole lines of free space past the current position are touched: the line
    /// holding `tail` may still hold the end of the frame just published, which the consumer
    /// is about to read.
    fn prepare_next(&self) {
        const LINE: u64 = 64;
        const AHEAD: u64 = 2 * LINE;
        let cap = self.ring.capacity;
        let from = (self.tail + LINE - 1) & !(LINE - 1);
        let off = from & (cap - 1);
        if from + AHEAD <= self.head + cap && off + AHEAD <= cap {
            self.ring.data.prefetch_write(off as usize, AHEAD as usize);
        }
    }

    /// Wake the consumer if it sleeps (commit does this already).
    pub fn notify(&self) {
        self.ring.header().data.notify(&self.park);
    }
}

impl<'a, P: Park> WriteGrant<'a, P> {
    /// Payload bytes reserved.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether zero bytes were reserved.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copy `src` into the payload at `offset`.
    ///
    /// # Panics
    /// If `offset + src.len()` exceeds the reservation.
    pub fn write(&mut self, offset: usize, src: &[u8]) {
        assert!(offset + src.len() <= self.len, "write past the reservation");
        self.payload.write(offset, src);
    }

    /// The reserved payload, 16-byte aligned, to serialize into in place.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.payload.as_mut_slice()
    }

    /// Publish the first `len` bytes of the reservation as one whole message.
    ///
    /// # Panics
    /// If `len` exceeds the reservation.
    pub fn commit(self, len: usize, tag: u16, meta: u64) {
        self.commit_kind(len, FrameKind::Whole, tag, meta);
    }

    /// Publish the first `len` bytes as one frame of `kind`; the producer is handed back.
    pub(crate) fn commit_kind(
        self,
        len: usize,
        kind: FrameKind,
        tag: u16,
        meta: u64,
    ) -> &'a mut Producer<P> {
        assert!(len <= self.len, "commit longer than the reservation");
        self.payload.finish(len);
        let p = self.producer;
        let cap = p.ring.capacity;
        if self.start != p.tail {
            let pad = self.start - p.tail;
            let h = FrameHeader {
                len: (pad as usize - FRAME_HEADER_LEN) as u32,
                kind: FrameKind::Pad,
                tag: 0,
                meta: 0,
            };
            // SAFETY: the padding lies in free space this producer reserved.
            unsafe {
                p.ring
                    .data
                    .write((p.tail & (cap - 1)) as usize, &h.encode())
            };
        }
        let h = FrameHeader {
            len: len as u32,
            kind,
            tag,
            meta,
        };
        // SAFETY: the header slot is the start of this reservation.
        unsafe {
            p.ring
                .data
                .write((self.start & (cap - 1)) as usize, &h.encode())
        };
        p.tail = self.start + frame_size(len as u64);
        // SYNC POINT: publishes the frame bytes (header and payload) to the consumer.
        p.ring.header().tail.store(p.tail, Ordering::Release);
        p.ring.header().data.notify(&p.park);
        p.prepare_next();
        p
    }
}

/// The reading end of a ring.
pub struct Consumer<P: Park> {
    pub(crate) ring: RingRef,
    /// Our position; the shared `head` is only ever a copy of it.
    head: u64,
    /// Last validated producer position.
    tail: u64,
    /// The validated header of the frame at `head`, until it is released.
    peeked: Option<FrameHeader>,
    pub(crate) park: P,
    pub(crate) live: Liveness,
}

impl<P: Park> fmt::Debug for Consumer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &self.ring.capacity)
            .field("head", &self.head)
            .field("tail", &self.tail)
            .finish()
    }
}

/// A frame at the head of the ring, readable in place until [`release`](Self::release)d.
/// Dropping it without releasing leaves the frame in the ring (a later peek sees it again).
pub struct ReadGrant<'a, P: Park> {
    pub(crate) consumer: &'a mut Consumer<P>,
    /// Data offset of the payload.
    pub(crate) at: usize,
    header: FrameHeader,
    /// Where [`as_slice`](Self::as_slice) keeps its view.
    in_place: InPlace,
}

impl<P: Park> Consumer<P> {
    /// A consumer at the start of a fresh ring (positions are never taken from shared memory,
    /// as for [`Producer`]).
    pub(crate) fn new(ring: RingRef, park: P, live: Liveness) -> Self {
        Consumer {
            ring,
            head: 0,
            tail: 0,
            peeked: None,
            park,
            live,
        }
    }

    /// A consumer that continues where an earlier holder of this ring's consuming end stopped
    /// (a port end that moved to another process): from the published `head`, validated.
    /// Frames the earlier holder peeked at but did not release are read again; a chunked
    /// message it was part-way through reads as chunks out of sequence ([`Corrupt`]).
    #[cfg_attr(loom, allow(dead_code))] // only port segments resume, and they are not under loom
    pub(crate) fn resume(ring: RingRef, park: P, live: Liveness) -> Result<Self, Corrupt> {
        // SYNC POINT: acquires the earlier holder's publication of `head` (nothing else: the
        // producer's bytes are acquired through `tail`, as always).
        let head = ring.header().head.load(Ordering::Acquire);
        if head > MAX_POSITION {
            return Err(Corrupt("published position to resume from is impossible"));
        }
        let mut c = Consumer::new(ring, park, live);
        (c.head, c.tail) = (head, head);
        Ok(c)
    }

    /// Ring capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.ring.capacity as usize
    }

    /// The event this consumer sleeps on.
    pub fn data_event(&self) -> &Event {
        &self.ring.header().data
    }

    /// The event the producer sleeps on when the ring is full.
    pub fn space_event(&self) -> &Event {
        &self.ring.header().space
    }

    /// The liveness of the producer's process.
    pub fn liveness(&self) -> &Liveness {
        &self.live
    }

    fn refresh_tail(&mut self) -> Result<(), Corrupt> {
        // SYNC POINT: acquires the frame bytes the producer published before `tail`.
        let t = self.ring.header().tail.load(Ordering::Acquire);
        if t < self.tail || t - self.head > self.ring.capacity {
            return Err(Corrupt("producer tail outside [old tail, head + capacity]"));
        }
        if t != self.tail {
            // Newly published bytes: fetch their first lines all at once, instead of the frame
            // header first and the payload after it was read.
            const AHEAD: u64 = 256;
            let cap = self.ring.capacity;
            let pos = self.tail & (cap - 1);
            let n = (t - self.tail).min(AHEAD).min(cap - pos);
            self.ring.data.prefetch_read(pos as usize, n as usize);
        }
        self.tail = t;
        Ok(())
    }

    /// Whether the producer has published past our position (a hint for readiness checks that
    /// only hold `&self`; nothing is validated or cached).
    pub fn may_have_data(&self) -> bool {
        self.ring.header().tail.load(Ordering::Acquire) != self.head
    }

    /// Whether a frame (possibly padding) is published, re-reading the producer's position.
    pub fn has_data(&mut self) -> Result<bool, Corrupt> {
        if self.head != self.tail {
            return Ok(true);
        }
        self.refresh_tail()?;
        Ok(self.head != self.tail)
    }

    /// The frame at the head, if any, without blocking. Padding is skipped.
    ///
    /// Every byte of the header is copied out once and validated against the ring's bounds;
    /// the payload range it names is guaranteed to lie inside the published part of the ring.
    pub fn try_peek(&mut self) -> Result<Option<ReadGrant<'_, P>>, Corrupt> {
        Ok(self.peek_header()?.map(|header| ReadGrant {
            at: (self.head & (self.ring.capacity - 1)) as usize + FRAME_HEADER_LEN,
            header,
            consumer: self,
            in_place: InPlace::new(),
        }))
    }

    /// The validated header of the frame at the head, if any, without borrowing the frame.
    ///
    /// The header is read from shared memory once per frame and cached until the frame is
    /// released, so later peeks see exactly what was validated, whatever the producer does.
    pub fn peek_header(&mut self) -> Result<Option<FrameHeader>, Corrupt> {
        if let Some(h) = self.peeked {
            return Ok(Some(h));
        }
        loop {
            if !self.has_data()? {
                return Ok(None);
            }
            let cap = self.ring.capacity;
            let avail = self.tail - self.head;
            let pos = (self.head & (cap - 1)) as usize;
            let contiguous = cap - pos as u64;
            if avail < FRAME_HEADER_LEN as u64 {
                return Err(Corrupt("published bytes shorter than a frame header"));
            }
            let mut raw = [0u8; FRAME_HEADER_LEN];
            // SAFETY: published by the producer (head < tail); copied once, then validated.
            unsafe { self.ring.data.read(pos, &mut raw) };
            let header = FrameHeader::decode(&raw).ok_or(Corrupt("unknown frame kind"))?;
            let size = frame_size(u64::from(header.len));
            if size > avail || size > contiguous {
                return Err(Corrupt(
                    "frame length past the published bytes or the ring end",
                ));
            }
            if header.kind == FrameKind::Pad {
                if size != contiguous {
                    return Err(Corrupt("padding that does not end at the ring end"));
                }
                self.head += size;
                self.publish_head();
                continue;
            }
            if size > cap / 2 {
                return Err(Corrupt("frame larger than half the ring"));
            }
            self.peeked = Some(header);
            return Ok(Some(header));
        }
    }

    /// Wait per `mode` until `deadline` for a frame to be published.
    pub fn wait_for_data(
        &mut self,
        mode: WaitMode,
        deadline: Option<Instant>,
    ) -> Result<(), RecvError> {
        let ring = self.ring.clone();
        let mut corrupt = None;
        let live = self.live.clone();
        let park = self.park.clone();
        let r = ring
            .header()
            .data
            .wait_until(&park, mode, deadline, &live, || match self.has_data() {
                Ok(true) => Some(()),
                Ok(false) => None,
                Err(c) => {
                    corrupt = Some(c);
                    Some(())
                }
            });
        if let Some(c) = corrupt {
            return Err(RecvError::Corrupt(c));
        }
        Ok(r?)
    }

    /// The frame at the head, waiting per `mode` until `deadline`.
    pub fn peek(
        &mut self,
        mode: WaitMode,
        deadline: Option<Instant>,
    ) -> Result<ReadGrant<'_, P>, RecvError> {
        loop {
            self.wait_for_data(mode, deadline)?;
            // Re-checked without borrowing across the loop: a published run may be all padding.
            if self.try_peek()?.is_some() {
                break;
            }
        }
        Ok(self
            .try_peek()?
            .expect("a frame was just observed by this consumer"))
    }

    /// Publish the consumer position (after skipping or releasing) and wake a full producer.
    fn publish_head(&mut self) {
        // SYNC POINT: hands the bytes before `head` back to the producer.
        self.ring.header().head.store(self.head, Ordering::Release);
        self.ring.header().space.notify(&self.park);
    }
}

impl<P: Park> ReadGrant<'_, P> {
    /// The validated frame header.
    pub fn header(&self) -> FrameHeader {
        self.header
    }

    /// Payload length.
    pub fn len(&self) -> usize {
        self.header.len as usize
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.header.len == 0
    }

    /// Copy the payload into `dst` (which must be exactly [`len`](Self::len) bytes).
    ///
    /// # Panics
    /// If `dst.len() != self.len()`.
    pub fn copy_to(&self, dst: &mut [u8]) {
        assert_eq!(dst.len(), self.len(), "destination length");
        // SAFETY: the range was validated to lie in the published part of the ring.
        unsafe { self.consumer.ring.data.read(self.at, dst) }
    }

    /// The payload in place (16-byte aligned), without copying it.
    ///
    /// Main copies (see [`copy_to`](Self::copy_to)) instead: its producers are untrusted.
    ///
    /// # Safety
    /// The producer must be trusted not to write the frame's bytes while the slice lives. The
    /// protocol forbids it (published bytes belong to the consumer until it releases them), but
    /// only an honest producer keeps to it: a hostile or buggy process sharing the segment could
    /// rewrite them under the slice, which is a data race (undefined behaviour). See
    /// `docs/SAFETY.md`.
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the range was validated to lie in the published part of the ring; the caller
        // guarantees that the producer does not write it while the slice lives.
        unsafe {
            self.consumer
                .ring
                .data
                .slice(self.at, self.len(), &self.in_place)
        }
    }

    /// Consume the frame: its bytes go back to the producer.
    pub fn release(self) {
        let c = self.consumer;
        c.head += frame_size(u64::from(self.header.len));
        c.peeked = None;
        c.publish_head();
    }
}
