//! [`Completion`]: a one-shot result that one thread sets and another either blocks on or
//! awaits as a future (any executor).

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
    ready: Condvar,
    /// Set (Release) once `value` is in place: lets a blocking waiter spin without the lock.
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
                ready: Condvar::new(),
                done: AtomicBool::new(false),
            }),
        }
    }

    /// Set the result; the first call wins. Returns whether this call set it.
    pub(crate) fn complete(&self, v: T) -> bool {
        let waker = {
            let mut s = self.inner.state.lock();
            if s.value.is_some() || self.inner.done.load(Ordering::Relaxed) {
                return false;
            }
            s.value = Some(v);
            self.inner.done.store(true, Ordering::Release);
            s.waker.take()
        };
        self.inner.ready.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Block until set or `deadline`; `None` on timeout. Spins briefly first (per `mode`):
    /// a reply that comes back within microseconds is taken without a thread wake-up.
    pub(crate) fn wait(&self, mode: WaitMode, deadline: Option<Instant>) -> Option<T> {
        electrode_shm::spin_phase(mode, || {
            self.inner.done.load(Ordering::Acquire).then_some(())
        });
        let mut s = self.inner.state.lock();
        loop {
            if let Some(v) = s.value.take() {
                return Some(v);
            }
            match deadline {
                None => self.inner.ready.wait(&mut s),
                Some(d) => {
                    if self.inner.ready.wait_until(&mut s, d).timed_out() {
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
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Future over a [`Completion`].
pub(crate) struct CompletionFuture<T>(pub(crate) Completion<T>);

impl<T> Future for CompletionFuture<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.0.poll_take(cx)
    }
}
