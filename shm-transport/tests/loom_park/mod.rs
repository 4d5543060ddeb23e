//! [`LoomPark`]: the futex contract (`Park`) built on loom's `Mutex` and `Condvar`, shared by
//! the loom models, and [`explore`], which runs a model and reports how much it explored.
//!
//! `LoomPark` keeps the one property of `FUTEX_WAIT` / `FUTEX_WAKE` the protocols rely on: the
//! check "is the word still `expected`?" and going to sleep are atomic with respect to a wake.
//! Both sides take the same lock, so either the waker's lock comes first (and the waiter,
//! locking after it, sees the bumped word and does not sleep) or the waiter is already asleep
//! in the condvar when the waker notifies. A deadline is modelled as already expired: a wait
//! with a deadline returns at once (the callers re-check their condition and their deadline).

use electrode_shm::Park;
use loom::sync::atomic::AtomicU32;
use loom::sync::{Arc, Condvar, Mutex};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Counters kept across all iterations of one model (plain std atomics: outside the model).
#[derive(Debug, Default)]
struct Counters {
    iterations: AtomicUsize,
    sleeps: AtomicUsize,
}

/// A loom stand-in for the futex: one lock and one condvar for every word (a wake wakes all
/// sleepers, which then re-check their words, i.e. spurious wake-ups the callers must tolerate).
#[derive(Clone)]
pub struct LoomPark {
    inner: Arc<(Mutex<()>, Condvar)>,
    counters: std::sync::Arc<Counters>,
}

impl Park for LoomPark {
    fn wait(&self, word: &AtomicU32, expected: u32, deadline: Option<Instant>) {
        let (lock, cvar) = &*self.inner;
        let guard = lock.lock().unwrap();
        if word.load(Ordering::SeqCst) != expected {
            return;
        }
        if deadline.is_some() {
            // Every deadline in the models has expired: time out without sleeping.
            return;
        }
        self.counters.sleeps.fetch_add(1, Ordering::Relaxed);
        drop(cvar.wait(guard).unwrap());
    }

    fn wake(&self, _word: &AtomicU32, _count: u32) {
        let (lock, cvar) = &*self.inner;
        let _guard = lock.lock().unwrap();
        cvar.notify_all();
    }
}

/// What [`explore`] saw over all the interleavings of a model.
#[derive(Clone, Copy, Debug)]
pub struct Explored {
    /// Interleavings (loom iterations) run.
    pub iterations: usize,
    /// Times a thread actually went to sleep in [`LoomPark::wait`], over all iterations.
    pub sleeps: usize,
}

/// Run `model` under `loom::model`, handing each iteration a fresh [`LoomPark`], and report
/// how much was explored (printed too; see it with `--nocapture`). Each model asserts that it
/// explored more than one interleaving, and, where a thread must be able to block, that some
/// interleaving did put a thread to sleep.
pub fn explore(name: &str, model: impl Fn(LoomPark) + Send + Sync + 'static) -> Explored {
    let counters = std::sync::Arc::new(Counters::default());
    let c = counters.clone();
    loom::model(move || {
        c.iterations.fetch_add(1, Ordering::Relaxed);
        model(LoomPark {
            inner: Arc::new((Mutex::new(()), Condvar::new())),
            counters: c.clone(),
        });
    });
    let explored = Explored {
        iterations: counters.iterations.load(Ordering::Relaxed),
        sleeps: counters.sleeps.load(Ordering::Relaxed),
    };
    eprintln!("{name}: {explored:?}");
    assert!(
        explored.iterations > 1,
        "{name}: only one interleaving explored"
    );
    explored
}
