//! Stand-in for `electrode_shm::PortSegment` until the shared-memory port segment lands: the
//! same API over two heap rings (one process only). Replaced by the real segment on merge.

use electrode_shm::{heap, Futex, Liveness, Producer, Receiver, DEFAULT_MAX_MESSAGE};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Which end of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    A,
    B,
}

impl Side {
    pub(crate) fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// Bytes per direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PortConfig {
    pub capacity: usize,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            capacity: 256 << 10,
        }
    }
}

type Pair = (Producer<Futex>, Receiver<Futex>);

struct Inner {
    id: u64,
    ends: Mutex<[Option<Pair>; 2]>,
    closed: [AtomicBool; 2],
    live: Liveness,
}

/// Two rings and two closed words.
#[derive(Clone)]
pub(crate) struct PortSegment(Arc<Inner>);

/// One side's endpoints.
pub(crate) struct PortEnd {
    pub side: Side,
    pub tx: Producer<Futex>,
    pub rx: Receiver<Futex>,
    pub live: Liveness,
    pub segment: PortSegment,
}

static NEXT: AtomicU64 = AtomicU64::new(1);

impl PortSegment {
    pub(crate) fn create(config: PortConfig) -> std::io::Result<PortSegment> {
        let live = Liveness::new();
        let cap = config.capacity as u64;
        let bulk = (config.capacity * 64).min(16 << 20);
        let (a_tx, b_rx) = heap::ring_pair_with_bulk(cap, bulk, Futex, live.clone());
        let (b_tx, a_rx) = heap::ring_pair_with_bulk(cap, bulk, Futex, live.clone());
        let a = (a_tx, Receiver::new(a_rx, DEFAULT_MAX_MESSAGE));
        let b = (b_tx, Receiver::new(b_rx, DEFAULT_MAX_MESSAGE));
        Ok(PortSegment(Arc::new(Inner {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            ends: Mutex::new([Some(a), Some(b)]),
            closed: [AtomicBool::new(false), AtomicBool::new(false)],
            live,
        })))
    }

    /// Only the real segment opens files.
    pub(crate) fn open(_file: std::fs::File) -> std::io::Result<PortSegment> {
        Err(std::io::Error::other(
            "the stand-in segment cannot open files",
        ))
    }

    /// The segment's identity (the real one: the memfd's device and inode).
    pub(crate) fn identity(&self) -> (u64, u64) {
        (0, self.0.id)
    }

    pub(crate) fn end(&self, side: Side) -> PortEnd {
        let (tx, rx) = self.0.ends.lock()[side as usize]
            .take()
            .expect("each side's end is taken once");
        PortEnd {
            side,
            tx,
            rx,
            live: self.0.live.clone(),
            segment: self.clone(),
        }
    }

    /// Mark `side` closed (the stand-in cannot wake the rings' waiters from here).
    pub(crate) fn mark_closed(&self, side: Side) {
        self.0.closed[side as usize].store(true, Ordering::SeqCst);
        self.0.live.mark_gone();
    }

    pub(crate) fn is_closed(&self, side: Side) -> bool {
        self.0.closed[side as usize].load(Ordering::SeqCst)
    }
}

impl PortEnd {
    /// Mark this side closed and wake every waiter of both rings.
    pub(crate) fn close(&self) {
        self.segment.0.closed[self.side as usize].store(true, Ordering::SeqCst);
        self.live.mark_gone();
        self.tx.data_event().notify_all(&Futex);
        self.tx.space_event().notify_all(&Futex);
        self.rx.consumer_ref().data_event().notify_all(&Futex);
        self.rx.consumer_ref().space_event().notify_all(&Futex);
    }
}
