//! Where [`IpcMain::handle_async`](crate::IpcMain::handle_async) futures run: on the
//! application's tokio runtime when main was given its handle
//! ([`MainBuilder::tokio_handle`](crate::MainBuilder::tokio_handle), feature `tokio`),
//! otherwise on a private pool of two threads (`electrode-async-N`) started on first use.
//!
//! Each handler's future answers through a [`DeferredReply`], so an invoke is answered even
//! when its future never finishes running: a future that panics rejects it with
//! `the handler panicked`, and one the runtime drops unfinished (the runtime was shut down)
//! rejects it with `reply was never sent`.

use super::events::DeferredReply;
use super::registry::AnswerFuture;
use crate::error::RemoteError;
use futures::FutureExt;
use parking_lot::Mutex;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// Threads of the private pool.
const POOL_THREADS: usize = 2;

/// Runs main's async handlers (see the module docs).
pub(crate) struct Executor {
    /// The private pool, started by the first future when there is no runtime to use.
    pool: Mutex<Option<futures::executor::ThreadPool>>,
    /// The application's runtime, when main was given one.
    #[cfg(feature = "tokio")]
    tokio: Option<tokio::runtime::Handle>,
}

impl Executor {
    /// The executor of a main configured with `config`.
    pub(crate) fn new(config: &super::config::MainConfig) -> Executor {
        #[cfg(not(feature = "tokio"))]
        let _ = config;
        Executor {
            pool: Mutex::new(None),
            #[cfg(feature = "tokio")]
            tokio: config.tokio_handle.clone(),
        }
    }

    /// Run an async handler's future; its output (or its panic) answers `reply`.
    pub(crate) fn run_handler(&self, channel: Arc<str>, fut: AnswerFuture, reply: DeferredReply) {
        self.spawn(async move {
            match AssertUnwindSafe(fut).catch_unwind().await {
                Ok(answer) => reply.send(answer),
                Err(_) => {
                    tracing::error!(channel = &*channel, "async handler panicked");
                    reply.reject(RemoteError::new("the handler panicked"));
                }
            }
        });
    }

    /// Run `fut` to completion on the runtime, or on the private pool.
    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        #[cfg(feature = "tokio")]
        if let Some(handle) = &self.tokio {
            // Detached: the task answers its invoke itself. A shut-down runtime drops the
            // future at once, and with it the reply (which then rejects the invoke).
            drop(handle.spawn(fut));
            return;
        }
        let mut pool = self.pool.lock();
        if pool.is_none() {
            match futures::executor::ThreadPool::builder()
                .pool_size(POOL_THREADS)
                .name_prefix("electrode-async-")
                .create()
            {
                Ok(p) => *pool = Some(p),
                Err(e) => {
                    // `fut` is dropped here, and its reply rejects the invoke.
                    tracing::error!(error = %e, "cannot start the async executor");
                    return;
                }
            }
        }
        if let Some(p) = pool.as_ref() {
            p.spawn_ok(fut);
        }
    }
}
