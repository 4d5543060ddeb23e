//! [`PendingCalls`]: calls sent and not yet answered, by id. The sender registers a call and
//! gets its [`Completion`]; whoever reads the answer takes the call out by id and completes it;
//! when the peer goes, [`fail_all`](PendingCalls::fail_all) completes every call with
//! `Disconnected` and closes the table, so a call registered afterwards fails at once instead
//! of waiting for an answer that cannot come.

use super::{settle, CallKind, Completion, CompletionFuture, Outcome};
use crate::error::CallError;
use crate::value::Value;
use electrode_shm::WaitMode;
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

struct Table {
    calls: FxHashMap<u64, Completion<Outcome>>,
    next_id: u64,
    closed: bool,
}

/// Calls in flight to one peer.
pub(crate) struct PendingCalls {
    table: Mutex<Table>,
    /// How a caller waits for an answer (spin, then park).
    mode: WaitMode,
}

impl Default for PendingCalls {
    fn default() -> Self {
        PendingCalls::new(crate::DEFAULT_WAIT_MODE)
    }
}

impl PendingCalls {
    /// An empty table whose callers wait per `mode`.
    pub(crate) fn new(mode: WaitMode) -> Self {
        PendingCalls {
            table: Mutex::new(Table {
                calls: FxHashMap::default(),
                next_id: 0,
                closed: false,
            }),
            mode,
        }
    }

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

/// One registered call, from the caller's side: awaited as a future or waited for. Dropping it
/// forgets the call, so a late answer goes nowhere. Behind both wings' invoke futures.
pub(crate) struct PendingCall {
    table: Arc<PendingCalls>,
    id: u64,
    channel: String,
    fut: CompletionFuture<Outcome>,
}

impl PendingCall {
    /// Register an invoke of `channel` in `table`; `send` sends it with the call's id (its
    /// failure completes the call at once).
    pub(crate) fn start<E: Into<CallError>>(
        table: &Arc<PendingCalls>,
        channel: &str,
        send: impl FnOnce(u64) -> Result<(), E>,
    ) -> PendingCall {
        let (id, c) = table.register();
        if let Err(e) = send(id) {
            table.complete(id, Err(e.into()));
        }
        PendingCall {
            table: table.clone(),
            id,
            channel: channel.to_string(),
            fut: CompletionFuture::new(c, table.mode),
        }
    }

    /// The channel invoked.
    pub(crate) fn channel(&self) -> &str {
        &self.channel
    }

    /// Block until the answer (or `timeout`: then the call is forgotten).
    pub(crate) fn wait(self, timeout: Option<Duration>) -> Result<Value, CallError> {
        let channel = self.channel.clone();
        settle(CallKind::Invoke, &channel, self.wait_outcome(timeout))
    }

    /// Block until the answer of any encoding (or `timeout`).
    pub(crate) fn wait_outcome(self, timeout: Option<Duration>) -> Outcome {
        self.fut
            .completion
            .wait(self.table.mode, timeout.map(|t| Instant::now() + t))
            .unwrap_or(Err(CallError::TimedOut))
    }

    /// Poll for the answer of any encoding.
    pub(crate) fn poll_outcome(&mut self, cx: &mut Context<'_>) -> Poll<Outcome> {
        Pin::new(&mut self.fut).poll(cx)
    }
}

impl Future for PendingCall {
    type Output = Result<Value, CallError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        Pin::new(&mut this.fut)
            .poll(cx)
            .map(|outcome| settle(CallKind::Invoke, &this.channel, outcome))
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        self.table.forget(self.id);
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
        assert!(p.complete(a, Ok(Ok(Value::from(1).into()))));
        assert!(
            !p.complete(a, Ok(Ok(Value::from(2).into()))),
            "answered once"
        );
        assert_eq!(
            ca.wait(WaitMode::ParkOnly, None),
            Some(Ok(Ok(Value::from(1).into())))
        );
        p.forget(b);
        assert!(
            !p.complete(b, Ok(Ok(Value::Null.into()))),
            "a late answer goes nowhere"
        );
        let (_, cc) = p.register();
        p.fail_all();
        assert_eq!(
            cc.wait(WaitMode::default(), None),
            Some(Err(CallError::Disconnected))
        );
        let (_, cd) = p.register();
        assert_eq!(
            cd.wait(WaitMode::ParkOnly, None),
            Some(Err(CallError::Disconnected))
        );
        assert_eq!(p.len(), 0);
        drop(cb);
    }
}
