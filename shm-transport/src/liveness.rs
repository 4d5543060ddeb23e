//! [`Liveness`]: what every wait checks to know that the other end can no longer answer.
//!
//! It has a local flag, set in this process: the pidfd watcher of
//! [`PeerProcess::watch`](crate::PeerProcess::watch) sets it when the peer process exits, then
//! bumps and wakes every futex word a local thread may sleep on (through the callback it was
//! given), so each blocked wait returns [`WaitError::PeerGone`](crate::WaitError::PeerGone) at
//! once instead of hanging.
//!
//! The endpoints of a port ([`PortEnd`](crate::PortEnd)) also read the port's two closed
//! words, in the memory both ends share (see `closing`): closing either end makes the
//! liveness of both ends gone, and the closing side wakes every waiter of both rings.

use crate::closing::ClosedWords;
use crate::sync::{Arc, AtomicBool, Ordering};
use std::fmt;

/// Whether the other end is gone. Cheap to clone; shared by all endpoints of one peer.
#[derive(Clone, Default)]
pub struct Liveness {
    /// Set in this process (peer death seen by a watcher, tests, shutdown).
    gone: Arc<AtomicBool>,
    /// A port's closed words, in shared memory (kept mapped by the handle).
    closed: Option<ClosedWords>,
}

impl fmt::Debug for Liveness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Liveness")
            .field("gone", &self.is_gone())
            .field("port", &self.closed.is_some())
            .finish()
    }
}

impl Liveness {
    /// A peer that is (still) alive.
    pub fn new() -> Self {
        Self::default()
    }

    /// A liveness that is also gone once either side of a port has closed.
    pub(crate) fn with_closed_words(closed: ClosedWords) -> Self {
        Liveness {
            gone: Arc::new(AtomicBool::new(false)),
            closed: Some(closed),
        }
    }

    /// Whether the peer has been seen to exit (or, for a port's endpoints, either side of the
    /// port has closed).
    #[inline]
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::SeqCst) || self.closed.as_ref().is_some_and(|c| c.any_closed())
    }

    /// Record that the peer is gone. Waits notice once their futex word is bumped (the watcher
    /// does both; tests and in-process peers may call it directly, then wake).
    pub fn mark_gone(&self) {
        self.gone.store(true, Ordering::SeqCst);
    }
}
