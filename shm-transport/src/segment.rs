//! [`Segment`]: the shared-memory region that main and one renderer share, and its layout.
//!
//! ```text
//!  offset 0          +------------------------------+
//!                    | SegmentHeader (magic, version|  one page
//!                    | sizes, pids)                 |
//!                    +------------------------------+
//!                    | RingHeader  renderer -> main |  one page
//!                    | data        (r2m_capacity)   |
//!                    +------------------------------+
//!                    | RingHeader  main -> renderer |  one page
//!                    | data        (m2r_capacity)   |
//!                    +------------------------------+
//!                    | SlotHeader x slot_count      |  rounded to a page
//!                    | payload    x slot_count      |  slot_size each (64-byte stride)
//!                    +------------------------------+
//!                    | bulk area  renderer -> main  |  BULK_CAPACITY (not populated)
//!                    | bulk area  main -> renderer  |  BULK_CAPACITY (not populated)
//!                    +------------------------------+
//! ```
//!
//! Everything up to the bulk areas is mapped populated, so no message faults a page in; the
//! bulk areas (where messages larger than a ring frame go whole, see `crate::bulk`) are
//! mapped separately and lazily: a page costs memory only once a message has reached it.
//!
//! The region is a `memfd` (anonymous: no name in `/dev/shm` to guess, nothing to clean up when
//! main dies) whose size is sealed, handed to the renderer as an inherited file descriptor. Main
//! computes the layout itself and never re-reads it from the shared header; the renderer reads
//! the header once, checks magic, version and sizes against the file, and recomputes the layout.

use crate::bytes::Bytes;
use crate::futex::Futex;
use crate::liveness::Liveness;
use crate::mapping::Mapping;
use crate::receiver::{Receiver, DEFAULT_MAX_MESSAGE};
use crate::ring::{Consumer, Producer, RingHeader, RingRef};
use crate::slots::{SlotHeader, SlotTable};
use crate::sync::{AtomicU32, Ordering};
use crate::trusted::TrustingRequester;
use memmap2::MmapOptions;
use std::fmt;
use std::fs::File;
use std::io;
use std::ptr::NonNull;
use std::sync::Arc;

/// `b"ELECTRD\x01"`: the first eight bytes of every segment.
pub const MAGIC: u64 = u64::from_le_bytes(*b"ELECTRD\x01");
/// Layout version; bumped on any change to the shared structures.
pub const LAYOUT_VERSION: u32 = 3;
const PAGE: usize = 4096;
/// Bytes of each ring's bulk area: the largest message that travels whole instead of in
/// chunks. Address space only until used (see the module docs).
pub const BULK_CAPACITY: usize = 64 << 20;

/// The segment header at offset 0. `#[repr(C)]`; written by main before the renderer exists,
/// except `renderer_pid`, which the renderer stores when it connects.
#[repr(C)]
#[derive(Debug)]
pub struct SegmentHeader {
    /// [`MAGIC`].
    pub magic: u64,
    /// [`LAYOUT_VERSION`].
    pub version: u32,
    /// `size_of::<SegmentHeader>()`.
    pub header_size: u32,
    /// Size of the whole region in bytes.
    pub total_size: u64,
    /// Renderer-to-main ring capacity.
    pub r2m_capacity: u64,
    /// Main-to-renderer ring capacity.
    pub m2r_capacity: u64,
    /// Number of response slots.
    pub slot_count: u32,
    /// Payload bytes per slot.
    pub slot_size: u32,
    /// Main's process id.
    pub main_pid: u32,
    /// The renderer's process id (0 until it connects).
    pub renderer_pid: AtomicU32,
}

// The layout in shared memory (docs/MEMORY_LAYOUT.md); the renderer reads it field by field.
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<SegmentHeader>() == 56);
    assert!(align_of::<SegmentHeader>() == 8);
    assert!(offset_of!(SegmentHeader, magic) == 0);
    assert!(offset_of!(SegmentHeader, version) == 8);
    assert!(offset_of!(SegmentHeader, total_size) == 16);
    assert!(offset_of!(SegmentHeader, slot_count) == 40);
    assert!(offset_of!(SegmentHeader, renderer_pid) == 52);
    // Each ring header has a page to itself (its data starts one page after it).
    assert!(size_of::<RingHeader>() <= PAGE);
};

/// Sizes of a segment. Ring capacities must be powers of two (at least 4 KiB); the slot size a
/// multiple of 16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentConfig {
    /// Renderer-to-main ring bytes (default 1 MiB).
    pub r2m_capacity: usize,
    /// Main-to-renderer ring bytes (default 1 MiB).
    pub m2r_capacity: usize,
    /// Response slots: how many requests may be in flight at once (default 256).
    pub slot_count: u32,
    /// Reply bytes per slot; larger replies travel through the ring (default 4 KiB).
    pub slot_size: u32,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        SegmentConfig {
            r2m_capacity: 1 << 20,
            m2r_capacity: 1 << 20,
            slot_count: 256,
            slot_size: 4096,
        }
    }
}

/// Where everything is, computed from a [`SegmentConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The sizes this layout was computed from.
    pub config: SegmentConfig,
    /// Offset of the renderer-to-main ring header (its data follows one page later).
    pub r2m: usize,
    /// Offset of the main-to-renderer ring header.
    pub m2r: usize,
    /// Offset of the slot headers.
    pub slot_headers: usize,
    /// Offset of the slot payloads.
    pub slot_payloads: usize,
    /// Distance between two slot payloads.
    pub slot_stride: usize,
    /// Offset of the renderer-to-main ring's bulk area ([`BULK_CAPACITY`] bytes; the
    /// main-to-renderer one follows it). Page aligned; everything before it is populated.
    pub bulk: usize,
    /// Total size.
    pub total: usize,
}

fn round_up(v: usize, to: usize) -> usize {
    v.div_ceil(to) * to
}

impl Layout {
    /// Compute and check the layout of `config`.
    pub fn new(config: SegmentConfig) -> Result<Layout, OpenError> {
        let ring_ok = |c: usize| c.is_power_of_two() && (PAGE..=1 << 30).contains(&c);
        if !ring_ok(config.r2m_capacity) || !ring_ok(config.m2r_capacity) {
            return Err(OpenError::BadLayout(
                "ring capacity not a power of two in [4 KiB, 1 GiB]",
            ));
        }
        if !(1..=65536).contains(&config.slot_count) {
            return Err(OpenError::BadLayout("slot count not in [1, 65536]"));
        }
        if !config.slot_size.is_multiple_of(16) || !(16..=1 << 24).contains(&config.slot_size) {
            return Err(OpenError::BadLayout(
                "slot size not a multiple of 16 in [16, 16 MiB]",
            ));
        }
        let r2m = PAGE;
        let m2r = r2m + PAGE + config.r2m_capacity;
        let slot_headers = m2r + PAGE + config.m2r_capacity;
        let slot_count = config.slot_count as usize;
        let slot_payloads =
            slot_headers + round_up(slot_count * std::mem::size_of::<SlotHeader>(), PAGE);
        let slot_stride = round_up(config.slot_size as usize, 64);
        let bulk = round_up(slot_payloads + slot_count * slot_stride, PAGE);
        let total = bulk + 2 * BULK_CAPACITY;
        Ok(Layout {
            config,
            r2m,
            m2r,
            slot_headers,
            slot_payloads,
            slot_stride,
            bulk,
            total,
        })
    }
}

/// Why a segment could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// A system call failed.
    Io(io::Error),
    /// The region does not start with [`MAGIC`]: not an Electrode segment.
    BadMagic(u64),
    /// Made by an incompatible version of Electrode.
    BadVersion {
        /// Version in the header.
        found: u32,
        /// Version this build speaks.
        expected: u32,
    },
    /// Sizes in the header are impossible or do not match the file.
    BadLayout(&'static str),
    /// The file's size is not sealed, so the peer could shrink it under us.
    NotSealed,
    /// This process was not started with a handoff (`ELECTRODE_SHM` is unset or malformed;
    /// see [`Handoff::from_env`](crate::Handoff::from_env)), or the first record on its fd
    /// socket was not one segment.
    NoHandoff(&'static str),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io(e) => write!(f, "shared memory: {e}"),
            OpenError::BadMagic(m) => write!(f, "not an Electrode segment (magic {m:#018x})"),
            OpenError::BadVersion { found, expected } => write!(
                f,
                "segment layout version {found}, but this build speaks version {expected}"
            ),
            OpenError::BadLayout(why) => write!(f, "bad segment layout: {why}"),
            OpenError::NotSealed => f.write_str("segment size is not sealed"),
            OpenError::NoHandoff(why) => write!(f, "no segment handed to this process: {why}"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for OpenError {
    fn from(e: io::Error) -> Self {
        OpenError::Io(e)
    }
}

impl From<nix::Error> for OpenError {
    fn from(e: nix::Error) -> Self {
        OpenError::Io(e.into())
    }
}

/// A mapped segment (see the module docs). Turn it into the endpoints of one side with
/// [`Segment::into_main`] or [`Segment::into_renderer`].
pub struct Segment {
    map: Arc<Mapping>,
    layout: Layout,
    file: File,
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment")
            .field("layout", &self.layout)
            .finish()
    }
}

impl Segment {
    /// Create a new segment (main's side).
    pub fn create(config: SegmentConfig) -> Result<Segment, OpenError> {
        let layout = Layout::new(config)?;
        let file = crate::sys::memfd::create("electrode-segment", layout.total as u64)?;
        let map = Mapping::new(&file, layout.bulk, layout.total)?;
        let seg = Segment {
            map: Arc::new(map),
            layout,
            file,
        };
        // SAFETY: the mapping is fresh, private to us (not yet handed out), page aligned and at
        // least one page long; a SegmentHeader fits at offset 0.
        unsafe {
            seg.map.ptr().cast::<SegmentHeader>().write(SegmentHeader {
                magic: MAGIC,
                version: LAYOUT_VERSION,
                header_size: std::mem::size_of::<SegmentHeader>() as u32,
                total_size: layout.total as u64,
                r2m_capacity: config.r2m_capacity as u64,
                m2r_capacity: config.m2r_capacity as u64,
                slot_count: config.slot_count,
                slot_size: config.slot_size,
                main_pid: std::process::id(),
                renderer_pid: AtomicU32::new(0),
            });
        }
        Ok(seg)
    }

    /// Open a segment from its file (the renderer's side): checks seals, magic, version and
    /// every size against the file before anything else is read.
    pub fn open(file: File) -> Result<Segment, OpenError> {
        if !crate::sys::memfd::check_sealed(&file)? {
            return Err(OpenError::NotSealed);
        }
        let len = file.metadata()?.len() as usize;
        if len < PAGE {
            return Err(OpenError::BadLayout("file smaller than a header"));
        }
        // Only the header page first: the layout it names is checked before the rest is mapped.
        let head = MmapOptions::new().len(PAGE).map_raw(&file)?;
        // SAFETY: one page is mapped and a SegmentHeader fits at offset 0; every field is a
        // plain integer (any bit pattern is valid). It is read once, then validated.
        let hdr = unsafe { std::ptr::read(head.as_ptr().cast::<SegmentHeader>()) };
        drop(head);
        if hdr.magic != MAGIC {
            return Err(OpenError::BadMagic(hdr.magic));
        }
        if hdr.version != LAYOUT_VERSION {
            return Err(OpenError::BadVersion {
                found: hdr.version,
                expected: LAYOUT_VERSION,
            });
        }
        if hdr.header_size as usize != std::mem::size_of::<SegmentHeader>() {
            return Err(OpenError::BadLayout("header size"));
        }
        let config = SegmentConfig {
            r2m_capacity: usize::try_from(hdr.r2m_capacity)
                .map_err(|_| OpenError::BadLayout("r2m"))?,
            m2r_capacity: usize::try_from(hdr.m2r_capacity)
                .map_err(|_| OpenError::BadLayout("m2r"))?,
            slot_count: hdr.slot_count,
            slot_size: hdr.slot_size,
        };
        let layout = Layout::new(config)?;
        if layout.total as u64 != hdr.total_size || layout.total != len {
            return Err(OpenError::BadLayout("total size does not match the file"));
        }
        // Populated as in `create` (the pages exist already: this only fills our page tables).
        let map = Mapping::new(&file, layout.bulk, layout.total)?;
        Ok(Segment {
            map: Arc::new(map),
            layout,
            file,
        })
    }

    /// The layout (computed privately, never re-read from shared memory).
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The segment's file (a memfd).
    pub fn file(&self) -> &File {
        &self.file
    }

    fn header(&self) -> &SegmentHeader {
        // SAFETY: offset 0 holds a SegmentHeader for the mapping's lifetime; only the atomic
        // field is ever written after creation.
        unsafe { &*self.map.ptr().cast::<SegmentHeader>() }
    }

    /// Main's pid as written in the header (informational: main never trusts it).
    pub fn main_pid(&self) -> u32 {
        self.header().main_pid
    }

    /// The renderer's pid as it wrote it (informational, untrusted).
    pub fn renderer_pid(&self) -> u32 {
        self.header().renderer_pid.load(Ordering::Relaxed)
    }

    /// The ring whose header is at `at`, with the `nth` bulk area (0: renderer to main).
    fn ring(&self, at: usize, capacity: usize, nth: usize) -> RingRef {
        let base = self.map.ptr();
        // SAFETY: the layout was validated against the mapping's length: `at` is page aligned
        // and the header page plus `capacity` data bytes lie inside the front mapping; the
        // bulk mapping holds both bulk areas, this ring's alone at `nth * BULK_CAPACITY`; both
        // are kept alive by the Arc handed to RingRef.
        unsafe {
            let bulk = self.map.bulk_ptr().add(nth * BULK_CAPACITY);
            RingRef::new(
                NonNull::new_unchecked(base.add(at).cast::<RingHeader>()),
                Bytes::new(base.add(at + PAGE), capacity),
                capacity as u64,
                self.map.clone(),
            )
            .with_bulk(Bytes::new(bulk, BULK_CAPACITY), BULK_CAPACITY)
        }
    }

    fn slots(&self, live: Liveness) -> SlotTable<Futex> {
        let l = &self.layout;
        let base = self.map.ptr();
        // SAFETY: headers and payloads lie inside the validated mapping, kept alive by the Arc.
        unsafe {
            SlotTable::new(
                NonNull::new_unchecked(base.add(l.slot_headers).cast::<SlotHeader>()),
                Bytes::new(
                    base.add(l.slot_payloads),
                    l.config.slot_count as usize * l.slot_stride,
                ),
                l.config.slot_count,
                l.config.slot_size,
                l.slot_stride,
                Futex,
                live,
                self.map.clone(),
            )
        }
    }

    fn waker(&self, slots: Arc<SlotTable<Futex>>) -> Waker {
        Waker {
            r2m: self.ring(self.layout.r2m, self.layout.config.r2m_capacity, 0),
            m2r: self.ring(self.layout.m2r, self.layout.config.m2r_capacity, 1),
            slots,
        }
    }

    /// Main's endpoints: receive from the renderer, send to it, answer its requests.
    pub fn into_main(self, live: Liveness) -> MainEnd {
        let l = self.layout;
        let slots = Arc::new(self.slots(live.clone()));
        MainEnd {
            rx: Receiver::new(
                Consumer::new(
                    self.ring(l.r2m, l.config.r2m_capacity, 0),
                    Futex,
                    live.clone(),
                ),
                DEFAULT_MAX_MESSAGE,
            ),
            tx: Producer::new(
                self.ring(l.m2r, l.config.m2r_capacity, 1),
                Futex,
                live.clone(),
            ),
            waker: self.waker(slots.clone()),
            slots,
            live,
            segment: self,
        }
    }

    /// The renderer's endpoints: send to main, receive from it, wait for replies.
    pub fn into_renderer(self, live: Liveness) -> RendererEnd {
        let l = self.layout;
        self.header()
            .renderer_pid
            .store(std::process::id(), Ordering::Relaxed);
        let slots = Arc::new(self.slots(live.clone()));
        let mut rx = Receiver::new(
            Consumer::new(
                self.ring(l.m2r, l.config.m2r_capacity, 1),
                Futex,
                live.clone(),
            ),
            DEFAULT_MAX_MESSAGE,
        );
        // SAFETY: this ring's producer is main (the other end of `into_main`), which the
        // renderer trusts by design, as for `slots_trusting_main`: it spawned this renderer,
        // and it writes the bulk area only after the renderer released its last bulk frame.
        unsafe { rx.trust_producer() };
        RendererEnd {
            tx: Producer::new(
                self.ring(l.r2m, l.config.r2m_capacity, 0),
                Futex,
                live.clone(),
            ),
            rx,
            waker: self.waker(slots.clone()),
            slots,
            live,
            segment: self,
        }
    }

    /// A second mapping of the same segment, as a renderer in this process would open it
    /// (in-process renderers and tests).
    pub fn reopen(&self) -> Result<Segment, OpenError> {
        Segment::open(self.file.try_clone()?)
    }
}

/// Wakes every waiter of one segment (after the peer died, or on shutdown).
#[derive(Clone)]
pub struct Waker {
    r2m: RingRef,
    m2r: RingRef,
    slots: Arc<SlotTable<Futex>>,
}

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Waker")
    }
}

impl Waker {
    /// The renderer-to-main ring's data event (main's dispatcher sleeps on it).
    pub fn r2m_data(&self) -> &crate::Event {
        &self.r2m.header().data
    }

    /// The main-to-renderer ring's space event (main sleeps on it while output is queued).
    pub fn m2r_space(&self) -> &crate::Event {
        &self.m2r.header().space
    }

    /// Bump and wake both rings' events and fail every pending slot. Call after marking the
    /// [`Liveness`] gone: every wait then returns `PeerGone`.
    pub fn wake_all(&self) {
        for r in [&self.r2m, &self.m2r] {
            r.header().data.notify_all(&Futex);
            r.header().space.notify_all(&Futex);
        }
        self.slots.fail_all_pending();
    }
}

/// Main's side of one renderer's segment.
#[derive(Debug)]
pub struct MainEnd {
    /// Messages from the renderer (validate everything: the renderer is untrusted).
    pub rx: Receiver<Futex>,
    /// Messages to the renderer.
    pub tx: Producer<Futex>,
    /// The renderer's response slots (main writes replies).
    pub slots: Arc<SlotTable<Futex>>,
    /// Whether the renderer is gone.
    pub live: Liveness,
    /// Wakes everything (for the watcher).
    pub waker: Waker,
    /// The segment itself (its file, to hand to a child).
    pub segment: Segment,
}

/// The renderer's side of its segment.
#[derive(Debug)]
pub struct RendererEnd {
    /// Messages to main.
    pub tx: Producer<Futex>,
    /// Messages from main. Main is trusted: bulk messages are read in place
    /// ([`Receiver::trust_producer`]).
    pub rx: Receiver<Futex>,
    /// Response slots (the renderer waits for replies).
    pub slots: Arc<SlotTable<Futex>>,
    /// Whether main is gone.
    pub live: Liveness,
    /// Wakes everything (for the watcher).
    pub waker: Waker,
    /// The segment itself.
    pub segment: Segment,
}

impl RendererEnd {
    /// The response slots as a [`TrustingRequester`]: the renderer trusts main, the responder
    /// of its slots, so its replies can be read in place ([`TrustedReply::as_slice`]).
    ///
    /// Sound because main is the trusted side by design: it spawned this renderer and handed
    /// it the segment, and it writes a slot's payload only between winning the claim and
    /// publishing READY (docs/SAFETY.md). Main's side has no such handle: it never reads a
    /// renderer's bytes in place.
    ///
    /// [`TrustedReply::as_slice`]: crate::TrustedReply::as_slice
    pub fn slots_trusting_main(&self) -> TrustingRequester<Futex> {
        // SAFETY: this segment's responder is main (the other end of `into_renderer`), trusted
        // by the renderer; see above.
        unsafe { TrustingRequester::new(self.slots.clone()) }
    }
}
