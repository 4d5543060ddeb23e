//! [`PendingCalls`]: calls sent and not yet answered, by id. The sender registers a call and
//! gets its [`Completion`]; whoever reads the answer takes the call out by id and completes it;
//! when the peer goes, [`fail_all`](PendingCalls::fail_all) completes every call with
//! `Disconnected` and closes the table, so a call registered afterwards fails at once instead
//! of waiting for an answer that cannot come.

use super::{Completion, Outcome};
use crate::error::CallError;
use parking_lot::Mutex;
use rustc_hash::FxHashMap;

struct Table {
    calls: FxHashMap<u64, Completion<Outcome>>,
    next_id: u64,
    closed: bool,
}

/// Calls in flight to one peer.
pub(crate) struct PendingCalls {
    table: Mutex<Table>,
}

impl Default for PendingCalls {
    fn default() -> Self {
        PendingCalls {
            table: Mutex::new(Table {
                calls: FxHashMap::default(),
                next_id: 0,
                closed: false,
            }),
        }
    }
}

impl PendingCalls {
    /// A new call: its id (never 0) and completion. Already failed when the table is closed.
    pub(crate) fn register(&self) -> (u64, Completion<Outcome>) {
        let c = Completion::new();
        let mut t = self.table.lock();
        t.next_id += 1;
        let id = t.next_id;
        if t.closed {
            drop(t);
            c.complete(Err(CallError::Disconnected));
        } else {
            t.calls.insert(id, c.clone());
        }
        (id, c)
    }

    /// Take call `id` out to complete it; `None` when it is not pending (answered, given up,
    /// or an id the peer made up).
    pub(crate) fn take(&self, id: u64) -> Option<Completion<Outcome>> {
        self.table.lock().calls.remove(&id)
    }

    /// Forget call `id` (its caller gave up): a late answer goes nowhere.
    pub(crate) fn forget(&self, id: u64) {
        self.table.lock().calls.remove(&id);
    }

    /// Complete `id` with `outcome` if it is still pending. Returns whether it was.
    pub(crate) fn complete(&self, id: u64, outcome: Outcome) -> bool {
        match self.take(id) {
            Some(c) => c.complete(outcome),
            None => false,
        }
    }

    /// The peer is gone: fail every pending call and every later one.
    pub(crate) fn fail_all(&self) {
        let calls: Vec<_> = {
            let mut t = self.table.lock();
            t.closed = true;
            t.calls.drain().map(|(_, c)| c).collect()
        };
        for c in calls {
            c.complete(Err(CallError::Disconnected));
        }
    }

    /// Calls waiting now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.lock().calls.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    #[test]
    fn register_complete_forget_fail_all() {
        let p = PendingCalls::default();
        let (a, ca) = p.register();
        let (b, cb) = p.register();
        assert_ne!(a, b);
        assert!(p.complete(a, Ok(Ok(Value::from(1)))));
        assert!(!p.complete(a, Ok(Ok(Value::from(2)))), "answered once");
        assert_eq!(ca.wait(None), Some(Ok(Ok(Value::from(1)))));
        p.forget(b);
        assert!(
            !p.complete(b, Ok(Ok(Value::Null))),
            "a late answer goes nowhere"
        );
        let (_, cc) = p.register();
        p.fail_all();
        assert_eq!(cc.wait(None), Some(Err(CallError::Disconnected)));
        let (_, cd) = p.register();
        assert_eq!(cd.wait(None), Some(Err(CallError::Disconnected)));
        assert_eq!(p.len(), 0);
        drop(cb);
    }
}
