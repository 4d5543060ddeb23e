//! The process's inbox of port ends in flight: token -> the end, put there by whoever moves it
//! (a local sender, or, across processes, what arrives on the fd socket) and taken by the
//! receiver of the message naming the token. Bounded: beyond [`MAX_WAITING`] entries the oldest
//! is closed, with a warning (a peer announcing ends it never collects cannot grow it).

use electrode_shm::PortEnd;
use parking_lot::{Condvar, Mutex};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::OwnedFd;
use std::sync::OnceLock;
use std::time::Instant;

/// Reads the next fd record (tag, fds) addressed to this process, waiting until the deadline;
/// `None`: no socket to read.
pub(crate) type Pull<'a> = &'a dyn Fn(Instant) -> Option<io::Result<(u64, Vec<OwnedFd>)>>;

/// Most ends waiting to be collected.
pub(crate) const MAX_WAITING: usize = 4096;

/// An end in flight.
pub(crate) enum Arrival {
    /// Moved inside this process: the endpoints themselves.
    Local(Box<PortEnd>),
    /// Arrived from another process: the segment's memfd (not yet opened, not yet trusted).
    Fd(OwnedFd),
}

impl Arrival {
    /// Close the end (nobody will collect it).
    fn close(self) {
        match self {
            Arrival::Local(end) => end.close(),
            Arrival::Fd(fd) => drop(fd),
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
    /// Held by the one thread reading an fd socket for records (others wait on `arrived`).
    pulling: Mutex<()>,
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

    fn remove(&self, token: u64) -> Option<Arrival> {
        let mut w = self.waiting.lock();
        let e = w.ends.remove(&token)?;
        if let Some(i) = w.order.iter().position(|t| *t == token) {
            w.order.remove(i);
        }
        Some(e)
    }

    /// Take the end named `token`, waiting until `deadline` for it to arrive (put by another
    /// thread, or read from an fd socket by `pull`: records for other tokens are kept).
    pub(crate) fn take(
        &self,
        token: u64,
        deadline: Instant,
        pull: Option<Pull<'_>>,
    ) -> Option<Arrival> {
        loop {
            if let Some(e) = self.remove(token) {
                return Some(e);
            }
            if let Some(pull) = pull {
                if let Some(_reading) = self.pulling.try_lock_until(deadline) {
                    if let Some(e) = self.remove(token) {
                        return Some(e);
                    }
                    match pull(deadline) {
                        Some(Ok((tag, fds))) => {
                            // One fd per record; extra ones are closed.
                            if let Some(fd) = fds.into_iter().next() {
                                self.put(tag, Arrival::Fd(fd));
                            }
                            continue;
                        }
                        Some(Err(e)) => {
                            if e.kind() != io::ErrorKind::TimedOut {
                                tracing::warn!(error = %e, "port inbox: reading the fd socket failed");
                            }
                            return self.remove(token);
                        }
                        None => {}
                    }
                }
            }
            let mut w = self.waiting.lock();
            if w.ends.contains_key(&token) {
                continue;
            }
            if Instant::now() >= deadline {
                return None;
            }
            if pull.is_some() {
                // Another thread reads the socket: look again soon, or when it puts something.
                let soon = deadline.min(Instant::now() + std::time::Duration::from_millis(5));
                self.arrived.wait_until(&mut w, soon);
            } else {
                self.arrived.wait_until(&mut w, deadline);
            }
        }
    }

    /// Take the end named `token` and close it (a send that failed after its ends were put).
    pub(crate) fn discard(&self, token: u64) {
        if let Some(e) = self.remove(token) {
            e.close();
        }
    }
}
