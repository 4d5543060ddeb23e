//! How long one renderer's turn lasts: at most [`BATCH`] messages, and, while another renderer
//! is waiting for answers, at most [`SHARED`] of *work* (time spent handling the turn's
//! messages: decoding, listeners, handlers), so a renderer whose listeners are slow cannot make
//! another's requests wait behind a whole batch of its messages.
//!
//! Who waits for answers: a renderer is *asking* while one of its last [`ASK_MEMORY`] turns
//! took a request (`sendSync`, `invoke`, or its answer to main's `WebContents::invoke`). When
//! nobody else is asking (one renderer, or any number sending one-way traffic: a fan-in), a
//! turn is a batch, as it was before budgets existed, and the clock is never read: short turns
//! would only add the cost of switching rings where no one is kept waiting. The first request
//! of a renderer that was not asking may wait for one round of batches; from then on its
//! requests wait for at most about one budget per renderer ahead of it.
//!
//! The clock (`Instant::now`, a vDSO read) is read once when a budgeted turn takes its first
//! message and then only at predicted check points: each renderer remembers what one of its
//! messages cost last time, and the next check comes after about as many messages as fit in
//! what is left of the budget (every message when they are slow, every few when cheap).

use crate::message::kind::Kind;
use std::time::{Duration, Instant};

/// Messages taken from one renderer per turn, at most.
pub(crate) const BATCH: usize = 64;

/// A turn's work budget while another renderer is asking. One microsecond: a request arriving
/// behind a flood whose listener works 1 µs per message waits for about one of them (in the
/// report's fairness row 2 µs gave 6x the quiet invoke p50, 1 µs 3x).
pub(crate) const SHARED: Duration = Duration::from_micros(1);

/// Turns a renderer counts as asking after the last one that took a request (empty turns
/// included: a renderer waiting for its answer has an empty ring).
pub(crate) const ASK_MEMORY: u8 = 64;

/// Whether a message with this frame tag is a request someone waits on.
#[inline]
pub(crate) fn is_request(tag: u16) -> bool {
    tag == Kind::Invoke as u16 || tag == Kind::SendSync as u16 || tag == Kind::HandlerReply as u16
}

/// The budget of one turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget {
    /// `None`: a batch, no clock.
    work: Option<Duration>,
}

impl Budget {
    /// A turn that is a batch (nobody else is asking).
    pub(crate) const BATCH: Budget = Budget { work: None };

    /// The budget of a turn while `others_asking` other renderers are asking.
    #[inline]
    pub(crate) fn for_turn(others_asking: usize) -> Budget {
        if others_asking > 0 {
            Budget { work: Some(SHARED) }
        } else {
            Budget::BATCH
        }
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
    /// The work budget ran out while others wait.
    Budget,
}

impl Turn {
    /// A turn under `budget`.
    pub(crate) fn new(budget: Budget) -> Turn {
        Turn {
            budget: budget.work,
            start: None,
            next_check: usize::MAX,
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
    fn only_someone_else_asking_limits_a_turn() {
        assert_eq!(Budget::for_turn(0), Budget::BATCH);
        assert_eq!(Budget::for_turn(1).work, Some(SHARED));
        assert_eq!(Budget::for_turn(7).work, Some(SHARED));
        assert!(is_request(Kind::Invoke as u16));
        assert!(is_request(Kind::SendSync as u16));
        assert!(is_request(Kind::HandlerReply as u16));
        assert!(!is_request(Kind::Send as u16));
        assert!(!is_request(Kind::FrameOpen as u16));
    }

    #[test]
    fn check_points_follow_the_cost() {
        assert_eq!(checks_after(2_000, 0), 1);
        assert_eq!(checks_after(2_000, 1_000), 1);
        assert_eq!(checks_after(2_000, 100), 15);
        assert_eq!(checks_after(1_000_000, 10), BATCH);
    }

    #[test]
    fn a_batch_turn_never_reads_the_clock() {
        let mut t = Turn::new(Budget::BATCH);
        let mut cost = 0;
        for n in 1..=BATCH {
            t.started(cost);
            assert!(!t.spent(n, &mut cost));
        }
        assert!(t.start.is_none());
        assert_eq!(cost, 0);
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
