//! The close protocol two port ends share: one closed word per side, in the port's shared
//! memory, and the wake that follows setting one.
//!
//! ```text
//!   closing side                              any waiter (either side, either ring)
//!   ------------                              -------------------------------------
//!   (messages committed before, Release)      sleeping.store(1); e = seq.load()  (SeqCst)
//!   closed[side].store(CLOSED)   (SeqCst)     if ready(): return
//!   for each event of both rings:             if closed[A] != 0 || closed[B] != 0:
//!       seq += 1 (SeqCst); futex_wake             return ready() or PeerGone
//!                                             futex_wait(&seq, e)
//! ```
//!
//! Either the waiter's load of the closed words comes after the store in the SeqCst order (it
//! sees the close, and, through that store's release, every message committed before it), or
//! it came before, and then so did its load of `seq`, so the closer's bump makes its
//! `futex_wait` return at once. The loom model `loom_port` checks both properties.
//!
//! Both ends are untrusted by each other: a closed word is read as an integer, and any value
//! other than [`ClosedState::OPEN`] means closed ([`ClosedState::is_closed`]), so no value a
//! peer writes can be misread.

use crate::event::Event;
use crate::sync::{AtomicU32, Ordering};
use crate::wait::Park;
use std::any::Any;
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;

/// One of the two ends of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The end that sends on the A-to-B ring.
    A,
    /// The end that sends on the B-to-A ring.
    B,
}

impl Side {
    /// The other end.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    /// 0 for A, 1 for B: the index of this side's closed word and of the ring it sends on.
    pub(crate) fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
}

/// The value of one side's closed word, as read from shared memory.
///
/// Written by its own side only, once, from [`OPEN`](Self::OPEN) to [`CLOSED`](Self::CLOSED);
/// a hostile peer may write anything into its own word (or into ours), which is why any
/// non-zero value counts as closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClosedState(pub u32);

impl ClosedState {
    /// The side is open (what a fresh, zero-filled segment holds).
    pub const OPEN: u32 = 0;
    /// What a closing side writes.
    pub const CLOSED: u32 = 1;

    /// Whether the word says closed: any value other than [`OPEN`](Self::OPEN).
    pub fn is_closed(self) -> bool {
        self.0 != Self::OPEN
    }
}

/// The two closed words of one port, wherever they live (a port segment, or the heap), and
/// what keeps them there.
#[derive(Clone)]
pub(crate) struct ClosedWords {
    words: NonNull<[AtomicU32; 2]>,
    _owner: Arc<dyn Any + Send + Sync>,
}

// SAFETY: the words are only accessed through atomics, and kept alive by the owner.
unsafe impl Send for ClosedWords {}
// SAFETY: as above.
unsafe impl Sync for ClosedWords {}

impl fmt::Debug for ClosedWords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClosedWords")
            .field("a", &self.state(Side::A))
            .field("b", &self.state(Side::B))
            .finish()
    }
}

impl ClosedWords {
    /// # Safety
    /// `words` must point to two `AtomicU32`s kept mapped by `owner`.
    pub(crate) unsafe fn new(
        words: NonNull<[AtomicU32; 2]>,
        owner: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        ClosedWords {
            words,
            _owner: owner,
        }
    }

    /// Two open words on the heap (in-process ports, loom models).
    pub(crate) fn heap() -> Self {
        let words = Arc::new([
            AtomicU32::new(ClosedState::OPEN),
            AtomicU32::new(ClosedState::OPEN),
        ]);
        let ptr = NonNull::from(&*words);
        // SAFETY: the words are on the heap, kept alive by the Arc that becomes the owner.
        unsafe { ClosedWords::new(ptr, words) }
    }

    fn word(&self, side: Side) -> &AtomicU32 {
        // SAFETY: kept alive by `_owner` (constructor contract); accessed through atomics only.
        unsafe { &self.words.as_ref()[side.index()] }
    }

    /// `side`'s word, as it is now.
    pub(crate) fn state(&self, side: Side) -> ClosedState {
        // SYNC POINT: acquires what the closing side published before its close (pairs with
        // the SeqCst store in `mark`), and is ordered with the waiter's announcement.
        ClosedState(self.word(side).load(Ordering::SeqCst))
    }

    /// Whether either side has closed.
    pub(crate) fn any_closed(&self) -> bool {
        self.state(Side::A).is_closed() || self.state(Side::B).is_closed()
    }

    /// Mark `side` closed, then bump and wake every event in `events`, so that every waiter
    /// re-checks and sees the close (module docs).
    pub(crate) fn close<P: Park>(&self, side: Side, events: &[&Event], park: &P) {
        // SYNC POINT: publishes everything this side committed before closing.
        self.word(side).store(ClosedState::CLOSED, Ordering::SeqCst);
        for e in events {
            e.notify_all(park);
        }
    }
}
