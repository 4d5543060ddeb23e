//! How long one renderer's turn lasts: at most [`BATCH`] messages, and, while more than one
//! renderer is served, at most a budget of *work* (time spent handling its messages: decoding,
//! listeners, handlers), so a renderer whose listeners are slow cannot make the others wait
//! behind a whole batch of its messages.
//!
//! The budget is [`SHARED`] after a round in which two or more renderers had messages (someone
//! else is likely waiting now), and doubles after each round in which only one had any, up to
//! [`ALONE`] (a lone flooder among idle renderers is not cut into turns so short that visiting
//! the idle ones costs more than its work). With a single renderer the clock is never read.
//!
//! The clock (`Instant::now`, a vDSO read) is read once when a turn takes its first message and
//! then only at predicted check points: each renderer remembers what one of its messages cost
//! last time, and the next check comes after about as many messages as fit in what is left of
//! the budget (every message when they are slow, every few dozen when they are cheap).

use std::time::{Duration, Instant};

/// Messages taken from one renderer per turn, at most.
pub(crate) const BATCH: usize = 64;

/// A turn's work budget when others had messages in the last round. One microsecond: a
/// request arriving behind a flood whose listener works 1 µs per message waits for about one
/// of them (2 µs gave 6x the quiet invoke p50 in the report's fairness row, 1 µs 3x).
pub(crate) const SHARED: Duration = Duration::from_micros(1);

/// The largest budget, reached after rounds in which only one renderer had messages.
pub(crate) const ALONE: Duration = Duration::from_micros(64);

/// The budget of the turns of one round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget {
    /// `None`: one renderer served, no clock.
    work: Option<Duration>,
}

impl Budget {
    /// The budget for the next round, from how many renderers are served and how many had
    /// messages in the round just done.
    pub(crate) fn next(self, served: usize, active_last_round: usize) -> Budget {
        let work = if served < 2 {
            None
        } else if active_last_round >= 2 {
            Some(SHARED)
        } else {
            Some(self.work.map_or(SHARED, |w| (w * 2).min(ALONE)))
        };
        Budget { work }
    }

    /// A budget that never cuts a turn short (one renderer).
    pub(crate) const fn unlimited() -> Budget {
        Budget { work: None }
    }
}

/// One renderer's turn in progress.
pub(crate) struct Turn {
    budget: Option<Duration>,
    /// When the first message was taken (read lazily: an empty ring costs no clock read).
    start: Option<Instant>,
    /// The message count at which the clock is read next.
    next_check: usize,
}

/// Why a turn ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TurnEnd {
    /// The ring had nothing more.
    Empty,
    /// [`BATCH`] messages taken.
    Batch,
    /// The work budget ran out while others may wait.
    Budget,
}

impl Turn {
    /// A turn under `budget`.
    pub(crate) fn new(budget: Budget) -> Turn {
        Turn {
            budget: budget.work,
            start: None,
            next_check: 1,
        }
    }

    /// Call when a message was taken, before it is handled. `cost_ns` is what one message of
    /// this renderer cost last time (0: unknown).
    #[inline]
    pub(crate) fn started(&mut self, cost_ns: u32) {
        if let (Some(budget), None) = (self.budget, self.start) {
            self.start = Some(Instant::now());
            self.next_check = checks_after(budget.as_nanos() as u64, cost_ns);
        }
    }

    /// Call after the `n`th message of the turn was handled; `cost_ns` is updated at each
    /// clock read. Whether the turn must end.
    #[inline]
    pub(crate) fn spent(&mut self, n: usize, cost_ns: &mut u32) -> bool {
        if n < self.next_check {
            return false;
        }
        let (Some(budget), Some(start)) = (self.budget, self.start) else {
            return false;
        };
        let spent = start.elapsed();
        *cost_ns = (spent.as_nanos() / n as u128).min(u128::from(u32::MAX)) as u32;
        let Some(left) = budget.checked_sub(spent).filter(|l| !l.is_zero()) else {
            return true;
        };
        self.next_check = n + checks_after(left.as_nanos() as u64, *cost_ns);
        false
    }
}

/// Messages to handle before the next clock read: about three quarters of what fits in `left_ns`
/// at `cost_ns` each, at least one, at most a batch.
fn checks_after(left_ns: u64, cost_ns: u32) -> usize {
    if cost_ns == 0 {
        return 1;
    }
    let fit = left_ns * 3 / 4 / u64::from(cost_ns);
    (fit as usize).clamp(1, BATCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_follow_the_rounds() {
        let b = Budget::unlimited();
        assert_eq!(b.next(1, 1).work, None);
        let shared = b.next(3, 2);
        assert_eq!(shared.work, Some(SHARED));
        // Rounds with one active renderer double the budget up to ALONE.
        let mut w = shared;
        for _ in 0..20 {
            w = w.next(3, 1);
        }
        assert_eq!(w.work, Some(ALONE));
        assert_eq!(w.next(3, 2).work, Some(SHARED));
        assert_eq!(w.next(1, 0).work, None);
    }

    #[test]
    fn check_points_follow_the_cost() {
        assert_eq!(checks_after(2_000, 0), 1);
        assert_eq!(checks_after(2_000, 1_000), 1);
        assert_eq!(checks_after(2_000, 100), 15);
        assert_eq!(checks_after(1_000_000, 10), BATCH);
    }

    #[test]
    fn an_unlimited_turn_never_reads_the_clock() {
        let mut t = Turn::new(Budget::unlimited());
        let mut cost = 0;
        for n in 1..=BATCH {
            t.started(cost);
            assert!(!t.spent(n, &mut cost));
        }
        assert!(t.start.is_none());
    }

    #[test]
    fn a_turn_ends_when_its_work_is_spent() {
        let mut t = Turn::new(Budget {
            work: Some(Duration::from_micros(20)),
        });
        let mut cost = 0;
        t.started(cost);
        let mut n = 0;
        let ended = loop {
            n += 1;
            let until = Instant::now() + Duration::from_micros(5);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            if t.spent(n, &mut cost) {
                break n;
            }
            assert!(n < 1_000, "the turn never ended");
        };
        // 5 us each: the fourth crosses 20 us (a preempted test thread ends it sooner).
        assert!(ended <= 4, "ended after {ended} messages");
        assert!(cost >= 5_000, "cost {cost} ns");
    }
}
