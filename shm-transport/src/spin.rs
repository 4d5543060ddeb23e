//! The real clock's spin phase of a wait (not under loom, which has no clock; the facade in
//! `sync` stands in for it there): busy-spin for the budget, then re-check between
//! `sched_yield` calls, with adaptive per-thread spin credit.

use crate::wait::SpinBudget;
use std::time::{Duration, Instant};

/// Check `ready` for `budget` (busy-spinning, then between yields); `None` when it is spent.
pub(crate) fn spin_then_yield<T>(
    budget: SpinBudget,
    mut ready: impl FnMut() -> Option<T>,
) -> Option<T> {
    let start = Instant::now();
    let spin = SpinCredit::budget(budget.spin);
    // A `spin_loop` pause costs tens of nanoseconds on some CPUs: look at the clock often
    // enough that a sub-microsecond budget means what it says.
    while !spin.is_zero() {
        for _ in 0..4 {
            std::hint::spin_loop();
            if let Some(v) = ready() {
                SpinCredit::spun(true);
                return Some(v);
            }
        }
        if start.elapsed() >= spin {
            SpinCredit::spun(false);
            break;
        }
    }
    if budget.yield_for.is_zero() {
        return None;
    }
    loop {
        std::thread::yield_now();
        if let Some(v) = ready() {
            return Some(v);
        }
        if start.elapsed() >= budget.spin + budget.yield_for {
            return None;
        }
    }
}

/// Adaptive spinning, per thread: a thread whose busy-spins keep running out (its peer shares
/// its core, or answers slowly) stops spinning and goes straight to the yield phase, which is
/// what hands a shared core to the peer; every [`SpinCredit::PROBE_EVERY`]th wait it spins
/// again to find out whether things changed. A thread whose spins succeed keeps its full
/// budget.
struct SpinCredit;

impl SpinCredit {
    /// Failed spins in a row that switch spinning off.
    const MAX: u8 = 8;
    /// While switched off, spin on one wait in this many.
    const PROBE_EVERY: u8 = 32;

    thread_local! {
        /// (credit, waits since spinning was switched off)
        static STATE: std::cell::Cell<(u8, u8)> = const { std::cell::Cell::new((SpinCredit::MAX, 0)) };
    }

    /// The spin budget for this wait: `full`, or zero while spinning is switched off.
    #[inline]
    fn budget(full: Duration) -> Duration {
        Self::STATE.with(|s| {
            let (credit, skipped) = s.get();
            if credit > 0 {
                return full;
            }
            let skipped = skipped.wrapping_add(1);
            s.set((0, skipped));
            if skipped % Self::PROBE_EVERY == 0 {
                full
            } else {
                Duration::ZERO
            }
        })
    }

    /// Record whether the spin phase found the condition.
    #[inline]
    fn spun(success: bool) {
        Self::STATE.with(|s| {
            let (credit, skipped) = s.get();
            s.set(if success {
                (Self::MAX, 0)
            } else {
                (credit.saturating_sub(1), skipped)
            });
        });
    }
}
