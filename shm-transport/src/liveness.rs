//! [`Liveness`]: the flag every wait checks to know that the peer process died. The pidfd
//! watcher that sets it lives in `peer` ([`PeerProcess::watch`](crate::PeerProcess::watch)).
//!
//! When the watcher sees the peer exit it sets the flag and then bumps and wakes every futex
//! word a local thread may sleep on (through the callback it was given), so each blocked wait
//! returns [`WaitError::PeerGone`](crate::WaitError::PeerGone) at once instead of hanging.

use crate::sync::{Arc, AtomicBool, Ordering};

/// Whether the peer process is gone. Cheap to clone; shared by all endpoints of one peer.
#[derive(Clone, Debug, Default)]
pub struct Liveness(Arc<AtomicBool>);

impl Liveness {
    /// A peer that is (still) alive.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the peer has been seen to exit.
    #[inline]
    pub fn is_gone(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Record that the peer is gone. Waits notice once their futex word is bumped (the watcher
    /// does both; tests and in-process peers may call it directly, then wake).
    pub fn mark_gone(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.0
    }
}
