//! How a thread waits for its peer: the [`Park`] trait (futex, or loom's stand-in), the
//! [`WaitMode`] policy (spin briefly, then park) and the outcome of a wait.
//!
//! Every wait in the crate goes through [`Event::wait_until`](crate::Event::wait_until) or the
//! slot table's equivalent, which spin for the budget the mode allows, then announce themselves as
//! sleeping and park on a 32-bit futex word. A writer only issues `FUTEX_WAKE` when a sleeper has
//! announced itself, so an idle system makes no syscalls and a busy one makes few.

use crate::sync::AtomicU32;
use std::fmt;
use std::time::{Duration, Instant};

/// Blocks a thread on a 32-bit word and wakes it: the futex contract.
///
/// [`Futex`](crate::Futex) is the real implementation (non-private futex, so it works across processes). Loom
/// models supply their own implementation built on loom's `Condvar`.
pub trait Park: Send + Sync + Clone {
    /// Block while `*word == expected`, until woken or `deadline`. May return spuriously; the
    /// caller always re-checks its condition.
    fn wait(&self, word: &AtomicU32, expected: u32, deadline: Option<Instant>);
    /// Wake up to `count` threads blocked in [`Park::wait`] on `word`.
    fn wake(&self, word: &AtomicU32, count: u32);
}

/// How long a waiter spins before it parks.
///
/// The default, [`WaitMode::SpinThenPark`] with [`SpinBudget::default`], spins half a
/// microsecond (long enough to catch a peer on another core that answers at once), then keeps
/// checking between `sched_yield` calls (so a peer on the *same* core gets the CPU at once instead
/// of after a scheduler tick), then parks on the futex. [`WaitMode::ParkOnly`] parks at once:
/// lowest CPU use, one futex round trip of latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitMode {
    /// Spin, then yield, then park, with the given budget.
    SpinThenPark(SpinBudget),
    /// Park at once (after one check).
    ParkOnly,
}

impl Default for WaitMode {
    fn default() -> Self {
        WaitMode::SpinThenPark(SpinBudget::default())
    }
}

/// The spin part of [`WaitMode::SpinThenPark`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpinBudget {
    /// Busy-spin (with `spin_loop` hints) this long.
    pub spin: Duration,
    /// Then re-check between `sched_yield` calls this long, before parking.
    pub yield_for: Duration,
}

impl Default for SpinBudget {
    fn default() -> Self {
        SpinBudget {
            spin: Duration::from_nanos(500),
            yield_for: Duration::from_micros(50),
        }
    }
}

/// Why a wait ended without its condition becoming true.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitError {
    /// The deadline passed.
    TimedOut,
    /// The peer process exited (or was killed), so the condition can never become true.
    PeerGone,
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::TimedOut => f.write_str("timed out waiting for the peer"),
            WaitError::PeerGone => f.write_str("the peer process is gone"),
        }
    }
}

impl std::error::Error for WaitError {}

/// Run the spin phase of `mode`: returns `Some` as soon as `ready` does, `None` when the budget
/// is spent (or the mode does not spin). For callers that compose their own waits (e.g. a
/// dispatcher serving several rings, which then parks with [`wait_any`](crate::wait_any)).
pub fn spin_phase<T>(mode: WaitMode, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    if let Some(v) = ready() {
        return Some(v);
    }
    let WaitMode::SpinThenPark(budget) = mode else {
        return None;
    };
    crate::sync::spin_then_yield(budget, ready)
}
