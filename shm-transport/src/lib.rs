//! # electrode-shm: the shared-memory transport under Electrode
//!
//! Main and each renderer share one [`Segment`]: a sealed `memfd` holding two single-producer
//! single-consumer byte rings (renderer to main, main to renderer) and a table of response
//! slots where replies to the renderer's requests land. Waits spin briefly, then park on futex
//! words; a pidfd watcher turns the peer's death into [`WaitError::PeerGone`] instead of a
//! hang. All of the workspace's `unsafe` lives in this crate.
//!
//! ## A segment and its two ends
//!
//! Main creates the segment and, for a real renderer, hands it to the child process: the
//! child inherits one end of an [`FdSocket`] pair ([`Handoff::prepare`]), and receives the
//! segment's memfd on it after it made itself non-dumpable ([`Handoff::send_segment`],
//! [`harden_process`], [`Handoff::recv_segment`]). In one process, a second mapping of the
//! same file stands in for the renderer:
//!
//! ```
//! use electrode_shm::{Liveness, Segment, SegmentConfig};
//!
//! let seg = Segment::create(SegmentConfig::default())?;
//! assert_eq!(seg.layout().config.slot_count, 256);
//! let renderer = seg.reopen()?.into_renderer(Liveness::new());
//! let main = seg.into_main(Liveness::new());
//! assert_eq!(renderer.segment.layout(), main.segment.layout());
//! # Ok::<(), electrode_shm::OpenError>(())
//! ```
//!
//! ## A ring round trip
//!
//! A [`Producer`] reserves room for a frame, writes it in place and commits it; the
//! [`Consumer`] peeks at it, copies it out (or reads it in place, if it trusts the producer:
//! [`ReadGrant::as_slice`] is `unsafe`) and releases it. [`Producer::send`] and
//! [`Receiver::recv`] do the same for whole messages of any size: one larger than a frame goes
//! whole through the ring's bulk area when that is free, in chunks otherwise.
//!
//! ```
//! use electrode_shm::{Liveness, Segment, SegmentConfig, WaitMode};
//!
//! let seg = Segment::create(SegmentConfig::default())?;
//! let mut renderer = seg.reopen()?.into_renderer(Liveness::new());
//! let mut main = seg.into_main(Liveness::new());
//!
//! // Renderer to main, in place: reserve, write, commit (tag 7, meta 42).
//! let mut grant = renderer.tx.try_reserve(5).expect("an empty ring has room");
//! grant.as_mut_slice().copy_from_slice(b"hello");
//! grant.commit(5, 7, 42);
//!
//! // Main copies it out: the renderer is untrusted, so main never reads in place.
//! let frame = main.rx.consumer().try_peek()?.expect("a frame was committed");
//! assert_eq!((frame.header().tag, frame.header().meta), (7, 42));
//! let mut bytes = [0u8; 5];
//! frame.copy_to(&mut bytes);
//! frame.release();
//! assert_eq!(&bytes, b"hello");
//!
//! // Main to renderer, a whole message of any size (the renderer reads it in place).
//! let big = vec![9u8; 3 << 20]; // larger than a frame: sent whole, in the bulk area
//! let sender = std::thread::spawn(move || {
//!     main.tx.send(1, 0, &big, WaitMode::default(), None).unwrap();
//! });
//! let msg = renderer.rx.recv(WaitMode::default(), None).unwrap();
//! let mut out = electrode_shm::AlignedBuf::new();
//! msg.copy_into(&mut out);
//! assert!(out.len() == 3 << 20 && out.as_slice().iter().all(|b| *b == 9));
//! sender.join().unwrap();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## A request and its reply in a slot
//!
//! The renderer (the requester) acquires a slot and names it, by its [`Ticket`], in the request
//! it sends through the ring. Main (the responder) claims the slot with
//! [`SlotTable::start_reply`], writes the reply into the [`ReplyGrant`] and publishes it; the
//! renderer's [`SlotTable::wait_reply`] returns it. A late reply to a request that timed out or
//! was cancelled is [`ReplyError::Stale`] and never touches the slot. A grant dropped without
//! publishing publishes an empty reply marked [`Reply::responder_dropped`].
//!
//! ```
//! use electrode_shm::{Liveness, ReplyError, Segment, SegmentConfig, WaitMode};
//!
//! let seg = Segment::create(SegmentConfig::default())?;
//! let renderer = seg.reopen()?.into_renderer(Liveness::new());
//! let main = seg.into_main(Liveness::new());
//!
//! // Renderer: take a slot (its ticket travels in the request).
//! let ticket = renderer.slots.try_acquire().expect("a free slot");
//!
//! // Main: claim the slot, write the reply in place, publish it with an aux word.
//! let mut grant = main.slots.start_reply(ticket.index, ticket.generation, 4)?;
//! grant.as_mut_slice().copy_from_slice(b"pong");
//! grant.publish(4, 1);
//!
//! // Renderer: main is trusted, so the reply can be read in place.
//! let slots = renderer.slots_trusting_main();
//! let reply = slots.wait_reply(ticket, WaitMode::default(), None)?;
//! assert_eq!((reply.as_slice(), reply.aux()), (&b"pong"[..], 1));
//! drop(reply); // frees the slot
//!
//! // The same request cannot be answered twice.
//! assert_eq!(
//!     main.slots.start_reply(ticket.index, ticket.generation, 4).err(),
//!     Some(ReplyError::Stale)
//! );
//!
//! // A responder that gives up without publishing still wakes the requester.
//! let ticket = renderer.slots.try_acquire().expect("a free slot");
//! drop(main.slots.start_reply(ticket.index, ticket.generation, 16)?);
//! let reply = renderer.slots.wait_reply(ticket, WaitMode::default(), None)?;
//! assert!(reply.responder_dropped() && reply.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Wait modes
//!
//! Every blocking call takes a [`WaitMode`] and an optional deadline. The default,
//! [`WaitMode::SpinThenPark`], spins for a [`SpinBudget`] (catching a peer that answers at
//! once without a syscall), then parks on a futex; [`WaitMode::ParkOnly`] parks at once. A
//! parked waiter wakes when the peer publishes, at its deadline ([`WaitError::TimedOut`]), or
//! when the peer is known to be gone ([`WaitError::PeerGone`], after [`Liveness::mark_gone`]
//! and [`Waker::wake_all`], which the pidfd watcher of [`PeerProcess::watch`] or a shared
//! [`Watcher`] does).
//!
//! ```
//! use electrode_shm::{Liveness, RecvError, Segment, SegmentConfig, SpinBudget, WaitMode};
//! use std::time::{Duration, Instant};
//!
//! let seg = Segment::create(SegmentConfig::default())?;
//! let main_seen_by_renderer = Liveness::new();
//! let mut renderer = seg.reopen()?.into_renderer(main_seen_by_renderer.clone());
//! let _main = seg.into_main(Liveness::new());
//!
//! // Nothing was sent: a deadline ends the wait.
//! let soon = Some(Instant::now() + Duration::from_millis(10));
//! assert_eq!(renderer.rx.recv(WaitMode::ParkOnly, soon).err(), Some(RecvError::TimedOut));
//!
//! // A custom spin budget: 2 us of spinning, then 20 us of yielding, then park.
//! let mode = WaitMode::SpinThenPark(SpinBudget {
//!     spin: Duration::from_micros(2),
//!     yield_for: Duration::from_micros(20),
//! });
//!
//! // Main "dies": the watcher marks it gone and wakes every waiter.
//! let waker = renderer.waker.clone();
//! let watcher = std::thread::spawn(move || {
//!     main_seen_by_renderer.mark_gone();
//!     waker.wake_all();
//! });
//! assert_eq!(renderer.rx.recv(mode, None).err(), Some(RecvError::PeerGone));
//! watcher.join().unwrap();
//! # Ok::<(), electrode_shm::OpenError>(())
//! ```
//!
//! ## A port between two processes
//!
//! A [`PortSegment`] holds two rings (A to B, B to A) shared by exactly the two ends of a
//! port, which trust each other in nothing: each copies out and validates what it reads.
//! Its file travels to the other process on an [`FdSocket`]; closing either end wakes every
//! waiter of both, which then receive what was sent before the close, then
//! [`RecvError::PeerGone`].
//!
//! ```
//! use electrode_shm::{AlignedBuf, FdSocket, PortConfig, PortSegment, RecvError, Side, WaitMode};
//! use std::fs::File;
//!
//! let (here, there) = FdSocket::pair()?;
//! let seg = PortSegment::create(PortConfig::default())?;
//! let mut a = seg.end(Side::A)?;
//! use std::os::fd::AsFd;
//! here.send(2, &[seg.file().as_fd()])?;
//!
//! // In the other process: receive the file, open it (checked), take side B.
//! let (tag, fds) = there.recv(None)?;
//! assert_eq!((tag, fds.len()), (2, 1));
//! let other = PortSegment::open(File::from(fds.into_iter().next().unwrap()))?;
//! let mut b = other.end(Side::B)?;
//!
//! a.tx.send(1, 0, b"hello, B", WaitMode::default(), None)?;
//! a.close();
//! let mut out = AlignedBuf::new();
//! b.rx.recv(WaitMode::default(), None)?.copy_into(&mut out);
//! assert_eq!(out.as_slice(), b"hello, B");
//! assert_eq!(b.rx.recv(WaitMode::default(), None).err(), Some(RecvError::PeerGone));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## In one process
//!
//! [`heap::ring_pair`] and [`SlotTable::new_heap`] build rings and slot tables on the heap,
//! for threads of one process (and for the loom models in `tests/loom_*.rs`).
//!
//! ## Where to read on
//!
//! docs/PROTOCOL.md (the ring, wait and slot protocols), docs/MEMORY_LAYOUT.md (every shared
//! structure, byte by byte) and docs/SAFETY.md (why each `unsafe` holds, and what a hostile
//! peer can and cannot do).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod aligned;
mod bulk;
mod bytes;
mod closing;
mod event;
mod frame;
mod liveness;
mod prefetch;
mod receiver;
mod ring;
mod slots;
mod sync;
mod trusted;
mod wait;

// These talk to the kernel (memfd and mmap, futex syscalls, pidfds, fd inheritance, the real
// clock), which loom cannot model: they do not exist under `--cfg loom`. Loom models build
// rings and slot tables on the heap (`heap`) and bring their own `Park`; every protocol module
// above is the same code in both builds.
#[cfg(not(loom))]
mod fdpass;
#[cfg(not(loom))]
mod futex;
#[cfg(not(loom))]
mod handoff;
#[cfg(not(loom))]
mod mapping;
#[cfg(not(loom))]
mod peer;
#[cfg(not(loom))]
mod port;
#[cfg(not(loom))]
pub mod sandbox;
#[cfg(not(loom))]
mod segment;
#[cfg(not(loom))]
mod spin;
#[cfg(not(loom))]
mod sys;
#[cfg(not(loom))]
mod watcher;
#[cfg(not(loom))]
mod wide_wait;

pub use aligned::AlignedBuf;
pub use bulk::BulkGrant;
pub use closing::{ClosedState, Side};
pub use event::Event;
pub use frame::{
    frame_size, FrameHeader, FrameKind, BULK_FRAME_PAYLOAD, FRAME_ALIGN, FRAME_HEADER_LEN,
};
pub use liveness::Liveness;
pub use receiver::{Message, Receiver, DEFAULT_MAX_MESSAGE};
pub use ring::{
    Consumer, Corrupt, Producer, ReadGrant, RecvError, RingHeader, SendError, TryReserveError,
    WriteGrant,
};
pub use slots::{
    HeldSlot, Reply, ReplyError, ReplyGrant, SlotHeader, SlotPoll, SlotTable, Ticket,
    RESPONDER_DROPPED,
};
pub use trusted::{TrustedReply, TrustingRequester};
pub use wait::{spin_phase, Park, SpinBudget, WaitError, WaitMode};

#[cfg(not(loom))]
pub use fdpass::{FdSocket, MAX_FDS};
#[cfg(not(loom))]
pub use futex::{wait_any, Futex};
#[cfg(not(loom))]
pub use handoff::{Handoff, HANDOFF_ENV, TAG_SEGMENT};
#[cfg(not(loom))]
pub use peer::{PeerProcess, Watch};
#[cfg(not(loom))]
pub use port::{
    PortConfig, PortEnd, PortHeader, PortSegment, PORT_BULK_CAPACITY, PORT_LAYOUT_VERSION,
    PORT_MAGIC,
};
#[cfg(not(loom))]
pub use segment::{
    Layout, MainEnd, OpenError, RendererEnd, Segment, SegmentConfig, SegmentHeader, Waker,
    BULK_CAPACITY, LAYOUT_VERSION, MAGIC,
};
#[cfg(not(loom))]
pub use sys::hardening::{harden_process, is_dumpable};
#[cfg(not(loom))]
pub use watcher::Watcher;

/// Rings on the heap instead of in a segment: for threads of one process, and loom models.
pub mod heap {
    use crate::closing::ClosedWords;
    use crate::{ring, Consumer, Event, Liveness, Park, Producer, Receiver, Side};

    /// A producer/consumer pair over a heap ring of `capacity` bytes (a power of two, at least
    /// 64; at least 128 for chunked messages).
    ///
    /// ```
    /// use electrode_shm::{heap, Futex, Liveness, WaitMode};
    ///
    /// let (mut tx, mut rx) = heap::ring_pair(4096, Futex, Liveness::new());
    /// tx.send(3, 0, b"over the heap", WaitMode::default(), None)?;
    /// let frame = rx.try_peek()?.expect("sent");
    /// assert_eq!((frame.header().tag, frame.len()), (3, 13));
    /// frame.release();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    /// If `capacity` is not a power of two of at least 64.
    pub fn ring_pair<P: Park>(
        capacity: u64,
        park: P,
        live: Liveness,
    ) -> (Producer<P>, Consumer<P>) {
        let r = ring::RingRef::new_heap(capacity);
        (
            Producer::new(r.clone(), park.clone(), live.clone()),
            Consumer::new(r, park, live),
        )
    }

    /// As [`ring_pair`], with a bulk area of `bulk` bytes: messages larger than a frame (up
    /// to `bulk` bytes) then travel whole ([`Producer::try_reserve_bulk`]).
    ///
    /// ```
    /// use electrode_shm::{heap, Futex, Liveness, Receiver, WaitMode};
    ///
    /// let (mut tx, rx) = heap::ring_pair_with_bulk(4096, 1 << 16, Futex, Liveness::new());
    /// let big = vec![7u8; 10_000]; // more than a frame of a 4 KiB ring
    /// tx.send(3, 9, &big, WaitMode::default(), None)?;
    /// let mut rx = Receiver::new(rx, 1 << 20);
    /// let msg = rx.try_recv()?.expect("sent whole");
    /// assert_eq!((msg.tag(), msg.meta()), (3, 9));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    /// As [`ring_pair`].
    pub fn ring_pair_with_bulk<P: Park>(
        capacity: u64,
        bulk: usize,
        park: P,
        live: Liveness,
    ) -> (Producer<P>, Consumer<P>) {
        let (bytes, owner) = crate::bytes::Bytes::heap(bulk);
        // SAFETY: `bytes` is `bulk` heap bytes used by this ring alone; the ring keeps their
        // owner alive (a clone of it travels with each end).
        let r = unsafe { ring::RingRef::new_heap_owning(capacity, owner).with_bulk(bytes, bulk) };
        (
            Producer::new(r.clone(), park.clone(), live.clone()),
            Consumer::new(r, park, live),
        )
    }

    /// The two ends of a port on the heap: two rings of `capacity` bytes (as [`ring_pair`])
    /// and two closed words, with the close protocol of a
    /// [`PortSegment`](crate::PortSegment) (for threads of one process, and loom models).
    ///
    /// ```
    /// use electrode_shm::{heap, Futex, RecvError, WaitMode};
    ///
    /// let (mut a, mut b) = heap::port_pair(4096, Futex);
    /// a.tx.send(1, 0, b"last words", WaitMode::default(), None)?;
    /// a.close();
    /// // What was sent before the close is still delivered, then the wait ends.
    /// let msg = b.rx.recv(WaitMode::default(), None)?;
    /// assert_eq!(msg.tag(), 1);
    /// msg.release();
    /// assert_eq!(b.rx.recv(WaitMode::default(), None).err(), Some(RecvError::PeerGone));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    /// As [`ring_pair`].
    pub fn port_pair<P: Park>(capacity: u64, park: P) -> (Port<P>, Port<P>) {
        let rings = [
            ring::RingRef::new_heap(capacity),
            ring::RingRef::new_heap(capacity),
        ];
        let closed = ClosedWords::heap();
        let end = |side: Side| {
            let live = Liveness::with_closed_words(closed.clone());
            let (send, recv) = (&rings[side.index()], &rings[side.other().index()]);
            Port {
                side,
                tx: Producer::new(send.clone(), park.clone(), live.clone()),
                rx: Receiver::new(
                    Consumer::new(recv.clone(), park.clone(), live.clone()),
                    crate::DEFAULT_MAX_MESSAGE,
                ),
                live,
                rings: rings.clone(),
                closed: closed.clone(),
                park: park.clone(),
            }
        };
        (end(Side::A), end(Side::B))
    }

    /// One end of a heap port ([`port_pair`]); the fields are those of a
    /// [`PortEnd`](crate::PortEnd).
    pub struct Port<P: Park> {
        /// Which side this is.
        pub side: Side,
        /// Messages to the peer.
        pub tx: Producer<P>,
        /// Messages from the peer.
        pub rx: Receiver<P>,
        /// Gone once either side has closed.
        pub live: Liveness,
        rings: [ring::RingRef; 2],
        closed: ClosedWords,
        park: P,
    }

    impl<P: Park> std::fmt::Debug for Port<P> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Port")
                .field("side", &self.side)
                .field("closed", &self.closed)
                .finish()
        }
    }

    impl<P: Park> Port<P> {
        /// Close this side: mark it closed, then wake every waiter of both rings.
        pub fn close(&self) {
            let [ab, ba] = &self.rings;
            let events: [&Event; 4] = [
                &ab.header().data,
                &ab.header().space,
                &ba.header().data,
                &ba.header().space,
            ];
            self.closed.close(self.side, &events, &self.park);
        }
    }
}
