//! [`Event`]: a futex word with a "sleeper announced" flag, the wake-up half of every ring.
//!
//! The handshake (an event count) that makes lost wake-ups impossible:
//!
//! ```text
//!   waiter                                   notifier
//!   ------                                   --------
//!   sleeping.store(1)        (SeqCst)        publish the condition (e.g. tail.store, Release)
//!   e = seq.load()           (SeqCst)        fence(SeqCst)
//!   if condition: return                     if sleeping.load() == 1:
//!   futex_wait(&seq, e)                          seq += 1; futex_wake(&seq)
//! ```
//!
//! Either the notifier sees `sleeping == 1` (and then bumps `seq`, so the waiter's `futex_wait`
//! on the old value returns at once or is woken), or the waiter's re-check comes after the
//! publication in the SeqCst order and sees the condition. The loom model `loom_event` checks it.

use crate::liveness::Liveness;
use crate::sync::{fence, AtomicU32, Ordering};
use crate::wait::{spin_phase, Park, WaitError, WaitMode};
use std::time::Instant;

/// A wake-up word shared by one waiter and its notifiers. `#[repr(C)]`, 8 bytes; it lives inside
/// shared-memory headers.
#[repr(C)]
#[derive(Debug)]
pub struct Event {
    /// The futex word: bumped by every wake that found a sleeper.
    seq: AtomicU32,
    /// 1 while the waiter is (about to be) parked.
    sleeping: AtomicU32,
}

impl Default for Event {
    fn default() -> Self {
        Self::new()
    }
}

impl Event {
    /// A fresh event (both words zero, which is also what a zero-filled mapping holds).
    pub fn new() -> Self {
        Event {
            seq: AtomicU32::new(0),
            sleeping: AtomicU32::new(0),
        }
    }

    /// Notifier side: call after publishing the condition. Wakes the waiter only if it announced
    /// that it sleeps (no syscall otherwise).
    #[inline]
    pub fn notify<P: Park>(&self, park: &P) {
        // SYNC POINT: orders the caller's publication before the read of `sleeping` (pairs with
        // the waiter's store of `sleeping` and its re-check of the condition).
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) != 0 {
            self.seq.fetch_add(1, Ordering::Release);
            park.wake(&self.seq, u32::MAX);
        }
    }

    /// Bump and wake unconditionally (peer death, shutdown): any waiter re-checks.
    pub fn notify_all<P: Park>(&self, park: &P) {
        self.seq.fetch_add(1, Ordering::SeqCst);
        park.wake(&self.seq, u32::MAX);
    }

    /// Waiter side, first half of a sleep: announce it and return the value to park on. The
    /// caller must re-check its condition after this and before parking.
    #[inline]
    pub fn prepare_sleep(&self) -> u32 {
        self.sleeping.store(1, Ordering::SeqCst);
        let e = self.seq.load(Ordering::SeqCst);
        // SYNC POINT: the condition re-check that follows must come after the announcement.
        fence(Ordering::SeqCst);
        e
    }

    /// Waiter side, after waking (or deciding not to park): withdraw the announcement.
    #[inline]
    pub fn finish_sleep(&self) {
        self.sleeping.store(0, Ordering::Relaxed);
    }

    /// The futex word itself, for waits on several events at once.
    pub fn word(&self) -> &AtomicU32 {
        &self.seq
    }

    /// Wait until `ready` returns `Some`, spinning then parking per `mode`.
    ///
    /// Returns [`WaitError::PeerGone`] once `gone` [is gone](Liveness::is_gone) (after a last
    /// look at `ready`, so what the peer published before it died or closed is still
    /// delivered) and [`WaitError::TimedOut`]
    /// after `deadline`.
    pub fn wait_until<P: Park, T>(
        &self,
        park: &P,
        mode: WaitMode,
        deadline: Option<Instant>,
        gone: &Liveness,
        mut ready: impl FnMut() -> Option<T>,
    ) -> Result<T, WaitError> {
        if let Some(v) = spin_phase(mode, &mut ready) {
            return Ok(v);
        }
        loop {
            let e = self.prepare_sleep();
            if let Some(v) = ready() {
                self.finish_sleep();
                return Ok(v);
            }
            if gone.is_gone() {
                self.finish_sleep();
                // A last look: the peer may have published between the check above and its
                // death, and what it published before dying must still be delivered.
                return ready().ok_or(WaitError::PeerGone);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                self.finish_sleep();
                return Err(WaitError::TimedOut);
            }
            park.wait(&self.seq, e, deadline);
            self.finish_sleep();
            if let Some(v) = ready() {
                return Ok(v);
            }
        }
    }
}
