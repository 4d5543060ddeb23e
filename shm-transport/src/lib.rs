//! # electrode-shm: the shared-memory transport under Electrode
//!
//! (Tutorial docs are written in the crate README section below.)
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod aligned;
mod bytes;
mod event;
mod frame;
mod liveness;
#[cfg(not(loom))]
mod prefetch;
mod receiver;
mod ring;
#[cfg(not(loom))]
mod segment;
mod slots;
mod sync;
#[cfg(not(loom))]
mod sys;
mod wait;

pub use aligned::AlignedBuf;
#[cfg(not(loom))]
pub use event::wait_any;
pub use event::Event;
pub use frame::{frame_size, FrameHeader, FrameKind, FRAME_ALIGN, FRAME_HEADER_LEN};
pub use liveness::Liveness;
#[cfg(not(loom))]
pub use liveness::{PeerProcess, Watch};
pub use receiver::{Message, Receiver, DEFAULT_MAX_MESSAGE};
pub use ring::{
    Consumer, Corrupt, Producer, ReadGrant, RecvError, RingHeader, SendError, TryReserveError,
    WriteGrant,
};
#[cfg(not(loom))]
pub use segment::{
    Layout, MainEnd, OpenError, RendererEnd, Segment, SegmentConfig, SegmentHeader, Waker,
    HANDOFF_ENV, LAYOUT_VERSION, MAGIC,
};
pub use slots::{Reply, ReplyOutcome, SlotHeader, SlotTable, Ticket};
#[cfg(not(loom))]
pub use sys::hardening::{harden_process, is_dumpable};
#[cfg(not(loom))]
pub use wait::Futex;
pub use wait::{spin_phase, Park, SpinBudget, WaitError, WaitMode};

/// Heap-backed rings and slot tables for loom models (`--cfg loom` only).
#[cfg(loom)]
pub mod loom_support {
    use super::*;

    /// A producer/consumer pair over a heap ring of `capacity` bytes (a power of two, at least 64; at least 128 for chunked messages).
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
}
