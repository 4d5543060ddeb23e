//! The process's inbox of port ends in flight: token -> the end, put there by whoever moves it
//! (a local sender, or, across processes, what arrives on the fd socket) and taken by the
//! receiver of the message naming the token. Bounded: beyond [`MAX_WAITING`] entries the oldest
//! is closed, with a warning (a peer announcing ends it never collects cannot grow it).

use super::shim::PortEnd;
use parking_lot::{Condvar, Mutex};
use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;
use std::time::Instant;

/// Most ends waiting to be collected.
pub(crate) const MAX_WAITING: usize = 4096;

/// An end in flight.
pub(crate) enum Arrival {
    /// Moved inside this process: the endpoints themselves.
    Local(PortEnd),
}

impl Arrival {
    /// Close the end (nobody will collect it).
    fn close(self) {
        match self {
            Arrival::Local(end) => end.close(),
        }
    }
}

#[derive(Default)]
struct Waiting {
    ends: HashMap<u64, Arrival>,
    order: VecDeque<u64>,
}

/// Token -> end.
#[derive(Default)]
pub(crate) struct Inbox {
    waiting: Mutex<Waiting>,
    arrived: Condvar,
}

/// The process's inbox.
pub(crate) fn inbox() -> &'static Inbox {
    static INBOX: OnceLock<Inbox> = OnceLock::new();
    INBOX.get_or_init(Inbox::default)
}

impl Inbox {
    /// Leave `end` for the receiver of `token`.
    pub(crate) fn put(&self, token: u64, end: Arrival) {
        let evicted = {
            let mut w = self.waiting.lock();
            let mut evicted = None;
            if w.ends.len() >= MAX_WAITING {
                while let Some(old) = w.order.pop_front() {
                    if let Some(e) = w.ends.remove(&old) {
                        evicted = Some(e);
                        break;
                    }
                }
            }
            if let Some(old) = w.ends.insert(token, end) {
                evicted = Some(old);
            }
            w.order.push_back(token);
            evicted
        };
        self.arrived.notify_all();
        if let Some(e) = evicted {
            tracing::warn!("port inbox full: the oldest uncollected port end is closed");
            e.close();
        }
    }

    /// Take the end named `token`, waiting until `deadline` for it to arrive.
    pub(crate) fn take(&self, token: u64, deadline: Instant) -> Option<Arrival> {
        let mut w = self.waiting.lock();
        loop {
            if let Some(e) = w.ends.remove(&token) {
                if let Some(i) = w.order.iter().position(|t| *t == token) {
                    w.order.remove(i);
                }
                return Some(e);
            }
            if self.arrived.wait_until(&mut w, deadline).timed_out() && !w.ends.contains_key(&token)
            {
                return None;
            }
        }
    }

    /// Take the end named `token` and close it (a send that failed after its ends were put).
    pub(crate) fn discard(&self, token: u64) {
        if let Some(e) = self.take(token, Instant::now()) {
            e.close();
        }
    }
}
