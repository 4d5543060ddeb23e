//! [`Exclusive`]: one port end's endpoint (its producer, or its receiver), used by one thread at
//! a time.
//!
//! A port posts and receives on every message, nearly always from one thread, so taking the
//! endpoint must cost next to nothing: one atomic swap to take it and a plain release store to
//! give it back ([`try_lock`]'s `TryLock`), where a parking mutex pays a second locked
//! instruction on release to look for sleepers. Sleeping is rare here (two threads posting on
//! one port at once, `close` while another thread is blocked in `recv`, a second receiver), so
//! a thread that finds the endpoint taken spins briefly, then sleeps in growing steps (up to a
//! millisecond) until it is free or its deadline passes: the holder never has to wake anyone,
//! and a waiter's deadline holds even while another thread is blocked with the endpoint.

use std::time::{Duration, Instant};
use try_lock::{Locked, TryLock};

/// Spins before the first sleep (each a `spin_loop` hint).
const SPINS: u32 = 64;
/// The first sleep, doubled up to [`MAX_SLEEP`].
const FIRST_SLEEP: Duration = Duration::from_micros(10);
/// The longest a waiter sleeps between two looks.
const MAX_SLEEP: Duration = Duration::from_millis(1);

/// A value one thread uses at a time (see the module docs).
pub(crate) struct Exclusive<T> {
    inner: TryLock<T>,
}

/// The endpoint, taken; given back on drop.
pub(crate) type Taken<'a, T> = Locked<'a, T>;

impl<T> Exclusive<T> {
    pub(crate) fn new(value: T) -> Exclusive<T> {
        Exclusive {
            inner: TryLock::new(value),
        }
    }

    /// Take it if no other thread has it.
    #[inline]
    pub(crate) fn try_take(&self) -> Option<Taken<'_, T>> {
        self.inner.try_lock()
    }

    /// Take it, waiting as long as another thread has it.
    #[inline]
    pub(crate) fn take(&self) -> Taken<'_, T> {
        match self.inner.try_lock() {
            Some(t) => t,
            None => self
                .wait(None)
                .expect("a wait without a deadline ends taken"),
        }
    }

    /// Take it, waiting until `deadline` at most (`None`: as long as it takes).
    #[inline]
    pub(crate) fn take_until(&self, deadline: Option<Instant>) -> Option<Taken<'_, T>> {
        match self.inner.try_lock() {
            Some(t) => Some(t),
            None => self.wait(deadline),
        }
    }

    #[cold]
    fn wait(&self, deadline: Option<Instant>) -> Option<Taken<'_, T>> {
        for _ in 0..SPINS {
            std::hint::spin_loop();
            if let Some(t) = self.inner.try_lock() {
                return Some(t);
            }
        }
        let mut sleep = FIRST_SLEEP;
        loop {
            let nap = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    sleep.min(left)
                }
                None => sleep,
            };
            std::thread::sleep(nap);
            if let Some(t) = self.inner.try_lock() {
                return Some(t);
            }
            sleep = (sleep * 2).min(MAX_SLEEP);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_second_taker_waits_for_the_first_and_sees_its_writes() {
        let e = Arc::new(Exclusive::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let e = Arc::clone(&e);
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        *e.take() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*e.take(), 40_000);
    }

    #[test]
    fn a_deadline_ends_the_wait_while_another_thread_holds_it() {
        let e = Exclusive::new(());
        let held = e.try_take().unwrap();
        assert!(e.try_take().is_none());
        let deadline = Instant::now() + Duration::from_millis(20);
        assert!(e.take_until(Some(deadline)).is_none());
        assert!(Instant::now() >= deadline);
        drop(held);
        assert!(e.take_until(Some(Instant::now())).is_some());
    }
}
