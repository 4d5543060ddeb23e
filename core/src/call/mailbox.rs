//! [`SlotMailbox`]: where a renderer's receive thread leaves the answer to a slot request that
//! was too large for its slot. Main sends such an answer as a `LargeReply` message through the
//! ring, then publishes the slot with only [`AUX_LARGE`](crate::message::reply::AUX_LARGE) set;
//! the requester, woken by the slot, collects the answer here. Whichever comes first (the
//! receive thread's delivery or the requester's collection) leaves a [`Completion`] for the
//! other. Entries are keyed by slot index and carry the slot generation, so the mailbox never
//! holds more than one entry per slot: a stale delivery is replaced by the next one.

use super::{Completion, Outcome};
use crate::error::CallError;
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use std::time::Instant;

struct Boxes {
    by_slot: FxHashMap<u32, (u32, Completion<Outcome>)>,
    closed: bool,
}

/// Large answers in transit, by response slot.
pub(crate) struct SlotMailbox {
    boxes: Mutex<Boxes>,
}

impl Default for SlotMailbox {
    fn default() -> Self {
        SlotMailbox {
            boxes: Mutex::new(Boxes {
                by_slot: FxHashMap::default(),
                closed: false,
            }),
        }
    }
}

impl SlotMailbox {
    fn entry(&self, index: u32, generation: u32) -> Completion<Outcome> {
        let mut b = self.boxes.lock();
        let closed = b.closed;
        let (g, c) = b
            .by_slot
            .entry(index)
            .or_insert_with(|| (generation, Completion::new()));
        if *g != generation {
            *g = generation;
            *c = Completion::new();
        }
        let c = c.clone();
        drop(b);
        if closed {
            c.complete(Err(CallError::Disconnected));
        }
        c
    }

    /// The receive thread delivers the answer for slot `index`, generation `generation`.
    pub(crate) fn deliver(&self, index: u32, generation: u32, outcome: Outcome) {
        self.entry(index, generation).complete(outcome);
    }

    /// The requester collects its answer, waiting for the delivery until `deadline`.
    pub(crate) fn collect(
        &self,
        index: u32,
        generation: u32,
        deadline: Option<Instant>,
    ) -> Outcome {
        let c = self.entry(index, generation);
        let outcome = c.wait(deadline).unwrap_or(Err(CallError::TimedOut));
        let mut b = self.boxes.lock();
        if b.by_slot.get(&index).is_some_and(|(g, _)| *g == generation) {
            b.by_slot.remove(&index);
        }
        outcome
    }

    /// The receive thread stopped: fail every waiting collection and every later one.
    pub(crate) fn close(&self) {
        let waiting: Vec<_> = {
            let mut b = self.boxes.lock();
            b.closed = true;
            b.by_slot.values().map(|(_, c)| c.clone()).collect()
        };
        for c in waiting {
            c.complete(Err(CallError::Disconnected));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    #[test]
    fn either_side_may_come_first() {
        let m = SlotMailbox::default();
        m.deliver(1, 7, Ok(Ok(Value::from("early").into())));
        assert_eq!(m.collect(1, 7, None), Ok(Ok(Value::from("early").into())));
        std::thread::scope(|s| {
            s.spawn(|| m.deliver(2, 1, Ok(Ok(Value::from("late").into()))));
            assert_eq!(m.collect(2, 1, None), Ok(Ok(Value::from("late").into())));
        });
        // A stale delivery for an older generation is replaced, not collected.
        m.deliver(3, 1, Ok(Ok(Value::from("stale").into())));
        m.deliver(3, 2, Ok(Ok(Value::from("fresh").into())));
        assert_eq!(m.collect(3, 2, None), Ok(Ok(Value::from("fresh").into())));
        m.close();
        assert_eq!(m.collect(4, 1, None), Err(CallError::Disconnected));
    }
}
