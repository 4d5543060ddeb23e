//! The one door through which atomics enter the crate.
//!
//! Under `--cfg loom` every atomic comes from [`loom`] so the model checker can explore the
//! interleavings of the ring, the wait handshake and the response slots; otherwise from `std`.
//! Shared-memory headers are only ever built from these types, so the code that loom checks is
//! the code that runs.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64};

pub(crate) use std::sync::atomic::Ordering;

/// Spin-loop hint (a no-op yield under loom, so models terminate).
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}

#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex};
