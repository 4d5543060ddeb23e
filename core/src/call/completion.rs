//! [`Completion`]: the one-shot result that one thread sets and another either blocks on or
//! awaits as a future (any executor).
//!
//! An answer often comes within a microsecond or two of the question, so a waiter first spins
//! (per its [`WaitMode`], bounded, then it parks) on an atomic `done` flag beside the lock:
//! the spin reads one word and takes no lock, and the completer pays one store for it.

use electrode_shm::WaitMode;
use parking_lot::{Condvar, Mutex};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

struct State<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

struct Inner<T> {
    state: Mutex<State<T>>,
    cond: Condvar,
    /// Set (under the lock, after the value) once the value is in: a spinning waiter reads
    /// it without the lock. SYNC POINT: its Release publishes nothing the waiter reads
    /// through it alone (the value is read under the lock); it only ends the spin.
    done: AtomicBool,
}

/// The shared cell; cheap to clone.
pub(crate) struct Completion<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Completion<T> {
    fn clone(&self) -> Self {
        Completion {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Completion<T> {
    pub(crate) fn new() -> Self {
        Completion {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    value: None,
                    waker: None,
                }),
                cond: Condvar::new(),
                done: AtomicBool::new(false),
            }),
        }
    }

    /// Set the result; the first call wins. Returns whether this call set it.
    pub(crate) fn complete(&self, v: T) -> bool {
        let waker = {
            let mut s = self.inner.state.lock();
            if self.inner.done.load(Ordering::Relaxed) {
                return false;
            }
            s.value = Some(v);
            self.inner.done.store(true, Ordering::Release);
            s.waker.take()
        };
        self.inner.cond.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Spin per `mode` until the result is in; whether it is.
    fn spin(&self, mode: WaitMode) -> bool {
        electrode_shm::spin_phase(mode, || {
            self.inner.done.load(Ordering::Acquire).then_some(())
        })
        .is_some()
    }

    /// Block until set or `deadline` (spinning per `mode` first); `None` on timeout.
    pub(crate) fn wait(&self, mode: WaitMode, deadline: Option<Instant>) -> Option<T> {
        self.spin(mode);
        let mut s = self.inner.state.lock();
        loop {
            if let Some(v) = s.value.take() {
                return Some(v);
            }
            match deadline {
                None => self.inner.cond.wait(&mut s),
                Some(d) => {
                    if self.inner.cond.wait_until(&mut s, d).timed_out() {
                        return s.value.take();
                    }
                }
            }
        }
    }

    fn poll_take(&self, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.inner.state.lock();
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                if !s.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    s.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// Future over a [`Completion`]: its first poll spins per its [`WaitMode`] before it
/// registers the waker (later polls do not: they come after a wake-up, or spuriously).
pub(crate) struct CompletionFuture<T> {
    pub(crate) completion: Completion<T>,
    mode: Option<WaitMode>,
}

impl<T> CompletionFuture<T> {
    /// A future over `completion` whose first poll spins per `mode`.
    pub(crate) fn new(completion: Completion<T>, mode: WaitMode) -> Self {
        CompletionFuture {
            completion,
            mode: Some(mode),
        }
    }
}

impl<T> Future for CompletionFuture<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if let Some(mode) = self.mode.take() {
            self.completion.spin(mode);
        }
        self.completion.poll_take(cx)
    }
}
