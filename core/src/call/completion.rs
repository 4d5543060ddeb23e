//! [`Completion`]: the one-shot result that one thread sets and another either blocks on or
//! awaits as a future (any executor).

use parking_lot::{Condvar, Mutex};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

struct State<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

/// The shared cell; cheap to clone.
pub(crate) struct Completion<T> {
    inner: Arc<(Mutex<State<T>>, Condvar)>,
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
            inner: Arc::new((
                Mutex::new(State {
                    value: None,
                    waker: None,
                }),
                Condvar::new(),
            )),
        }
    }

    /// Set the result; the first call wins. Returns whether this call set it.
    pub(crate) fn complete(&self, v: T) -> bool {
        let waker = {
            let mut s = self.inner.0.lock();
            if s.value.is_some() {
                return false;
            }
            s.value = Some(v);
            s.waker.take()
        };
        self.inner.1.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Block until set or `deadline`; `None` on timeout.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> Option<T> {
        let mut s = self.inner.0.lock();
        loop {
            if let Some(v) = s.value.take() {
                return Some(v);
            }
            match deadline {
                None => self.inner.1.wait(&mut s),
                Some(d) => {
                    if self.inner.1.wait_until(&mut s, d).timed_out() {
                        return s.value.take();
                    }
                }
            }
        }
    }

    fn poll_take(&self, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.inner.0.lock();
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
