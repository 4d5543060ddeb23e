//! The one door through which atomics, locks and the loom/real differences enter the crate.
//!
//! Under `--cfg loom` every atomic, lock and condition variable comes from [`loom`] so the model
//! checker can explore the interleavings of the ring, the wait handshake and the response
//! slots; otherwise from `std`. Shared-memory headers are only ever built from these types, so
//! the code that loom checks is the code that runs.
//!
//! Everything else that differs under loom is a function here, so the protocol modules
//! (`ring`, `slots`, `event`, `wait`, `liveness`) contain no `cfg(loom)` at all:
//!
//! - [`backoff`]: a spin hint and `sched_yield`; under loom a loom yield, so a spinning model
//!   thread lets the others run and the model terminates.
//! - [`spin_then_yield`]: the timed spin phase of a wait. Loom has no clock: the model makes
//!   one more check and lets the caller park.
//! - [`wait_timeout`]: a condition-variable wait with a deadline. Loom's `wait_timeout` never
//!   times out; a model's deadline counts as already passed (as in the models' futex).
//! - [`SHARED_LAYOUT`]: whether the atomics have their real sizes, so the static layout asserts
//!   of the shared headers hold (loom's atomics are larger; their layout never reaches shared
//!   memory).
//!
//! Shared *bytes* (ring data, slot payloads) have their own facade, `bytes`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64};

pub(crate) use std::sync::atomic::Ordering;

#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Whether the atomics are the real ones, whose sizes the shared-memory layout asserts check.
pub(crate) const SHARED_LAYOUT: bool = cfg!(not(loom));

/// Back off while another thread (or process) finishes a short step: a spin hint, then give up
/// the CPU (`sched_yield`) in case that thread shares our core. A yield under loom.
#[inline]
pub(crate) fn backoff() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    {
        std::hint::spin_loop();
        std::thread::yield_now();
    }
}

/// The spin phase of [`WaitMode::SpinThenPark`](crate::WaitMode): check `ready` while the
/// budget lasts (busy-spinning, then between yields), `None` when it is spent.
#[inline]
pub(crate) fn spin_then_yield<T>(
    budget: crate::SpinBudget,
    ready: impl FnMut() -> Option<T>,
) -> Option<T> {
    #[cfg(loom)]
    {
        let _ = budget;
        let mut ready = ready;
        loom::thread::yield_now();
        ready()
    }
    #[cfg(not(loom))]
    crate::spin::spin_then_yield(budget, ready)
}

/// Wait on `cv` with `guard` until notified (possibly spuriously) or `deadline`.
/// `Err(guard)` without waiting when the deadline has passed; under loom a deadline has always
/// passed.
pub(crate) fn wait_timeout<'a, T>(
    cv: &Condvar,
    guard: MutexGuard<'a, T>,
    deadline: Option<std::time::Instant>,
) -> Result<MutexGuard<'a, T>, MutexGuard<'a, T>> {
    match deadline {
        None => Ok(cv.wait(guard).unwrap()),
        #[cfg(loom)]
        Some(_) => Err(guard),
        #[cfg(not(loom))]
        Some(d) => {
            let now = std::time::Instant::now();
            if now >= d {
                return Err(guard);
            }
            Ok(cv.wait_timeout(guard, d - now).unwrap().0)
        }
    }
}
