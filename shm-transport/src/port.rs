//! [`PortSegment`]: the shared memory the two ends of one port share, and its layout.
//!
//! ```text
//!  offset 0          +------------------------------+
//!                    | PortHeader (magic, version,  |  one page
//!                    | sizes, closed[A], closed[B]) |
//!                    +------------------------------+
//!                    | RingHeader  A -> B           |  one page
//!                    | data        (capacity)       |
//!                    +------------------------------+
//!                    | RingHeader  B -> A           |  one page
//!                    | data        (capacity)       |
//!                    +------------------------------+
//!                    | bulk area   A -> B           |  PORT_BULK_CAPACITY (not populated)
//!                    | bulk area   B -> A           |  PORT_BULK_CAPACITY (not populated)
//!                    +------------------------------+
//! ```
//!
//! Unlike a renderer's [`Segment`](crate::Segment), where main is trusted by the renderer,
//! the two ends of a port trust each other in nothing: each end copies out and validates
//! every frame it reads (its [`Receiver`] never trusts its producer), reads the closed words
//! as integers, and recomputes the layout from the file size and its own checks. Whoever
//! creates the segment writes the header before handing the file to anyone; whoever opens it
//! checks seals, magic, version and sizes against the file first.
//!
//! Closing (see `closing`): [`PortSegment::mark_closed`] sets the side's closed word and wakes
//! every waiter of both rings; from then on the [`Liveness`] of both ends is gone, and their
//! waits return `PeerGone` once everything committed before the close has been received.

use crate::bytes::Bytes;
use crate::closing::{ClosedWords, Side};
use crate::event::Event;
use crate::futex::Futex;
use crate::liveness::Liveness;
use crate::mapping::Mapping;
use crate::receiver::{Receiver, DEFAULT_MAX_MESSAGE};
use crate::ring::{Consumer, Corrupt, Producer, RingHeader, RingRef};
use crate::segment::OpenError;
use crate::sync::AtomicU32;
use memmap2::MmapOptions;
use std::fmt;
use std::fs::File;
use std::ptr::NonNull;
use std::sync::Arc;

/// `b"ELECPRT\x01"`: the first eight bytes of every port segment.
pub const PORT_MAGIC: u64 = u64::from_le_bytes(*b"ELECPRT\x01");
/// Port segment layout version; bumped on any change to the port's shared structures.
pub const PORT_LAYOUT_VERSION: u32 = 1;
/// Bytes of each ring's bulk area in a port segment: the largest port message that travels
/// whole instead of in chunks. Address space only until used.
pub const PORT_BULK_CAPACITY: usize = 16 << 20;
const PAGE: usize = 4096;

/// The port segment header at offset 0. `#[repr(C)]`; written by the creator before the file
/// is handed to anyone, except the closed words, each written by its side when it closes.
#[repr(C)]
#[derive(Debug)]
pub struct PortHeader {
    /// [`PORT_MAGIC`].
    pub magic: u64,
    /// [`PORT_LAYOUT_VERSION`].
    pub version: u32,
    /// `size_of::<PortHeader>()`.
    pub header_size: u32,
    /// Size of the whole region in bytes.
    pub total_size: u64,
    /// Capacity of each ring (both directions).
    pub capacity: u64,
    /// Bytes of each ring's bulk area ([`PORT_BULK_CAPACITY`]).
    pub bulk_capacity: u64,
    /// Each side's closed word (index 0: A, 1: B), read as a [`ClosedState`](crate::ClosedState).
    pub closed: [AtomicU32; 2],
}

// The layout in shared memory (docs/MEMORY_LAYOUT.md); the opener reads it field by field.
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<PortHeader>() == 48);
    assert!(align_of::<PortHeader>() == 8);
    assert!(offset_of!(PortHeader, magic) == 0);
    assert!(offset_of!(PortHeader, version) == 8);
    assert!(offset_of!(PortHeader, header_size) == 12);
    assert!(offset_of!(PortHeader, total_size) == 16);
    assert!(offset_of!(PortHeader, capacity) == 24);
    assert!(offset_of!(PortHeader, bulk_capacity) == 32);
    assert!(offset_of!(PortHeader, closed) == 40);
    assert!(size_of::<RingHeader>() <= PAGE);
};

/// Sizes of a port segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortConfig {
    /// Bytes of each ring (per direction): a power of two, at least 4 KiB, at most 1 GiB
    /// (default 256 KiB).
    pub capacity: usize,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            capacity: 256 << 10,
        }
    }
}

/// Where everything is, computed from a [`PortConfig`] (never read from shared memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PortLayout {
    capacity: usize,
    /// Offsets of the two ring headers (A to B, B to A); each ring's data follows one page on.
    rings: [usize; 2],
    /// Offset of the A-to-B bulk area (B-to-A follows); everything before it is populated.
    bulk: usize,
    total: usize,
}

impl PortLayout {
    fn new(config: PortConfig) -> Result<PortLayout, OpenError> {
        let c = config.capacity;
        if !c.is_power_of_two() || !(PAGE..=1 << 30).contains(&c) {
            return Err(OpenError::BadLayout(
                "port ring capacity not a power of two in [4 KiB, 1 GiB]",
            ));
        }
        let ab = PAGE;
        let ba = ab + PAGE + c;
        let bulk = ba + PAGE + c;
        Ok(PortLayout {
            capacity: c,
            rings: [ab, ba],
            bulk,
            total: bulk + 2 * PORT_BULK_CAPACITY,
        })
    }
}

struct Inner {
    map: Mapping,
    layout: PortLayout,
    file: File,
}

/// A mapped port segment (see the module docs): a cheap, clonable handle on one mapping.
/// Make the endpoints of one side with [`PortSegment::end`].
///
/// ```
/// use electrode_shm::{PortConfig, PortSegment, Side, WaitMode};
///
/// let seg = PortSegment::create(PortConfig::default())?;
/// // The file would travel to another process; here a second mapping stands in for it.
/// let other = PortSegment::open(seg.file().try_clone()?)?;
/// let mut a = seg.end(Side::A)?;
/// let mut b = other.end(Side::B)?;
///
/// a.tx.send(1, 0, b"ping", WaitMode::default(), None)?;
/// let mut out = electrode_shm::AlignedBuf::new();
/// b.rx.recv(WaitMode::default(), None)?.copy_into(&mut out);
/// assert_eq!(out.as_slice(), b"ping");
///
/// a.close();
/// assert!(b.live.is_gone() && other.is_closed(Side::A));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PortSegment {
    inner: Arc<Inner>,
    closed: ClosedWords,
}

impl fmt::Debug for PortSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortSegment")
            .field("capacity", &self.inner.layout.capacity)
            .field("closed", &self.closed)
            .finish()
    }
}

impl PortSegment {
    /// Create a port segment: a sealed memfd with its header written and both sides open.
    pub fn create(config: PortConfig) -> Result<PortSegment, OpenError> {
        let layout = PortLayout::new(config)?;
        let file = crate::sys::memfd::create("electrode-port", layout.total as u64)?;
        let map = Mapping::new(&file, layout.bulk, layout.total)?;
        // SAFETY: the mapping is fresh, private to us (the file is not handed out yet), page
        // aligned and at least one page long; a PortHeader fits at offset 0.
        unsafe {
            map.ptr().cast::<PortHeader>().write(PortHeader {
                magic: PORT_MAGIC,
                version: PORT_LAYOUT_VERSION,
                header_size: std::mem::size_of::<PortHeader>() as u32,
                total_size: layout.total as u64,
                capacity: layout.capacity as u64,
                bulk_capacity: PORT_BULK_CAPACITY as u64,
                closed: [AtomicU32::new(0), AtomicU32::new(0)],
            });
        }
        Ok(Self::from_parts(map, layout, file))
    }

    /// Open a port segment from its file (handed over by the creator, or by an untrusted
    /// peer): checks seals, magic, version and every size against the file before anything
    /// else is read.
    pub fn open(file: File) -> Result<PortSegment, OpenError> {
        if !crate::sys::memfd::check_sealed(&file)? {
            return Err(OpenError::NotSealed);
        }
        let len = file.metadata()?.len();
        if len < PAGE as u64 {
            return Err(OpenError::BadLayout("file smaller than a header"));
        }
        // Only the header page first: the layout it names is checked before the rest is mapped.
        let head = MmapOptions::new().len(PAGE).map_raw(&file)?;
        // SAFETY: one page is mapped and a PortHeader fits at offset 0; every field is a plain
        // integer (any bit pattern is valid). It is copied out once, then only the copy is
        // validated and used.
        let hdr = unsafe { std::ptr::read(head.as_ptr().cast::<PortHeader>()) };
        drop(head);
        if hdr.magic != PORT_MAGIC {
            return Err(OpenError::BadMagic(hdr.magic));
        }
        if hdr.version != PORT_LAYOUT_VERSION {
            return Err(OpenError::BadVersion {
                found: hdr.version,
                expected: PORT_LAYOUT_VERSION,
            });
        }
        if hdr.header_size as usize != std::mem::size_of::<PortHeader>() {
            return Err(OpenError::BadLayout("header size"));
        }
        if hdr.bulk_capacity != PORT_BULK_CAPACITY as u64 {
            return Err(OpenError::BadLayout("bulk capacity"));
        }
        let capacity =
            usize::try_from(hdr.capacity).map_err(|_| OpenError::BadLayout("capacity"))?;
        let layout = PortLayout::new(PortConfig { capacity })?;
        if layout.total as u64 != hdr.total_size || layout.total as u64 != len {
            return Err(OpenError::BadLayout("total size does not match the file"));
        }
        let map = Mapping::new(&file, layout.bulk, layout.total)?;
        Ok(Self::from_parts(map, layout, file))
    }

    fn from_parts(map: Mapping, layout: PortLayout, file: File) -> PortSegment {
        let base = map.ptr();
        let inner = Arc::new(Inner { map, layout, file });
        let at = std::mem::offset_of!(PortHeader, closed);
        // SAFETY: the header page is mapped for the mapping's lifetime, which `inner` (the
        // owner) keeps; the closed words sit at their asserted offset, aligned to 4.
        let closed = unsafe {
            ClosedWords::new(
                NonNull::new_unchecked(base.add(at).cast::<[AtomicU32; 2]>()),
                inner.clone(),
            )
        };
        PortSegment { inner, closed }
    }

    /// The segment's file (a sealed memfd), to hand to the other end's process.
    pub fn file(&self) -> &File {
        &self.inner.file
    }

    /// Bytes of each ring.
    pub fn capacity(&self) -> usize {
        self.inner.layout.capacity
    }

    /// The ring `from` sends on (`from` to `from.other()`), with its bulk area.
    fn ring(&self, from: Side) -> RingRef {
        let l = &self.inner.layout;
        let nth = from.index();
        let at = l.rings[nth];
        let base = self.inner.map.ptr();
        // SAFETY: the layout was computed here and checked against the file's length: `at` is
        // page aligned and the header page plus `capacity` data bytes lie in the front
        // mapping; the bulk mapping holds both bulk areas, this ring's alone at
        // `nth * PORT_BULK_CAPACITY`; both are kept mapped by `inner`, the ring's owner.
        unsafe {
            let bulk = self.inner.map.bulk_ptr().add(nth * PORT_BULK_CAPACITY);
            RingRef::new(
                NonNull::new_unchecked(base.add(at).cast::<RingHeader>()),
                Bytes::new(base.add(at + PAGE), l.capacity),
                l.capacity as u64,
                self.inner.clone(),
            )
            .with_bulk(Bytes::new(bulk, PORT_BULK_CAPACITY), PORT_BULK_CAPACITY)
        }
    }

    /// The endpoints of `side`: send on its ring, receive (untrusted) from the other's.
    ///
    /// They continue from the positions published in the ring headers (zero in a fresh
    /// segment): when a port end moves to another process, its new holder opens the segment
    /// and calls this, and receives what was queued before the move, and its first message
    /// follows the earlier holder's last. The positions are validated: impossible ones (a
    /// hostile earlier holder's) are [`Corrupt`]. Call it once per side at a time: two live
    /// endpoints of one side would both write the same ring.
    pub fn end(&self, side: Side) -> Result<PortEnd, Corrupt> {
        let live = Liveness::with_closed_words(self.closed.clone());
        Ok(PortEnd {
            side,
            tx: Producer::resume(self.ring(side), Futex, live.clone())?,
            rx: Receiver::new(
                Consumer::resume(self.ring(side.other()), Futex, live.clone())?,
                DEFAULT_MAX_MESSAGE,
            ),
            live,
            segment: self.clone(),
        })
    }

    /// Mark `side` closed, then wake every waiter of both rings (on both ends): each wait
    /// returns `PeerGone` once what was committed before the close has been received.
    /// Closing twice is harmless.
    pub fn mark_closed(&self, side: Side) {
        let rings = [self.ring(Side::A), self.ring(Side::B)];
        let [ab, ba] = &rings;
        let events: [&Event; 4] = [
            &ab.header().data,
            &ab.header().space,
            &ba.header().data,
            &ba.header().space,
        ];
        self.closed.close(side, &events, &Futex);
    }

    /// Whether `side` has closed (any non-zero closed word; the peer may write its own word).
    pub fn is_closed(&self, side: Side) -> bool {
        self.closed.state(side).is_closed()
    }
}

/// The endpoints of one side of a port (see [`PortSegment::end`]).
#[derive(Debug)]
pub struct PortEnd {
    /// Which side this is.
    pub side: Side,
    /// Messages to the peer (on the ring `side` to `side.other()`).
    pub tx: Producer<Futex>,
    /// Messages from the peer: untrusted, so every frame and bulk message is copied out and
    /// validated (the receiver never trusts its producer).
    pub rx: Receiver<Futex>,
    /// Gone once either side has closed (both closed words live in the segment), or once
    /// [`Liveness::mark_gone`] was called here (e.g. by a watcher of the peer's process).
    pub live: Liveness,
    /// The segment (its file, its closed words).
    pub segment: PortSegment,
}

impl PortEnd {
    /// Close this side ([`PortSegment::mark_closed`]).
    pub fn close(&self) {
        self.segment.mark_closed(self.side);
    }

    /// Whether the peer's side has closed.
    pub fn peer_closed(&self) -> bool {
        self.segment.is_closed(self.side.other())
    }

    /// The event a thread sleeps on while waiting for the peer's messages (the receiving
    /// ring's data event), for waits over several ports ([`wait_any`](crate::wait_any)).
    pub fn data_event(&self) -> &Event {
        self.rx.consumer_ref().data_event()
    }
}
