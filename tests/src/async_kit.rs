//! Support for `tests/async_calls.rs`: the same async calls awaited under each executor an
//! application may use, on main's side (the test process) and the renderer's
//! (`async_renderer`, see `src/bin/async_renderer.rs`).
//!
//! Both sides share here: how many calls a batch makes, the channels and the answer each call
//! must get, the [`Executor`]s (each builds its tokio runtime with `tokio::runtime::Builder`),
//! and [`join_all`], which awaits a batch of calls at once under any of them.

use crate::api_kit::load_answer;
use std::future::Future;

/// Calls in each batch (sequential or concurrent).
pub const CALLS: i64 = 1000;

/// Main's handler of the sequential batches: answers `answer(batch, i)`.
pub const ANSWER: &str = "answer";

/// Main's handler of the concurrent batches: holds its calls until [`GATE`] of them are
/// waiting at once, then answers them all, the last one first. A batch awaited one call at a
/// time never gets past the first call (the watchdog reports the hang).
pub const GATED: &str = "gated";

/// Calls [`GATED`] holds before answering them (divides [`CALLS`]; well below the renderer's
/// response slots, so the gate needs nothing from how an invoke waits for its answer).
pub const GATE: usize = 50;

/// The renderer's handler that main's [`WebContents::invoke`](electrode::WebContents::invoke)
/// batches call: answers `answer(batch, i)`.
pub const RENDERER_ANSWER: &str = "renderer-answer";

/// The batch numbers: each batch's answers differ, so an answer given to the wrong batch (or
/// the wrong call) fails its check.
pub mod batch {
    /// Sequential calls.
    pub const SEQUENTIAL: i64 = 1;
    /// Concurrent calls.
    pub const CONCURRENT: i64 = 2;
}

/// The answer call `i` of `batch` must get.
pub fn answer(batch: i64, i: i64) -> i64 {
    load_answer(batch, i)
}

/// Where a batch of async calls is awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Executor {
    /// A tokio current-thread runtime (`#[tokio::main(flavor = "current_thread")]`): the
    /// calls of a concurrent batch are tasks taking turns on the thread in `block_on`.
    CurrentThread,
    /// A tokio multi-thread runtime with two workers: a concurrent batch's tasks run on both.
    MultiThread,
    /// `futures::executor::block_on`, no runtime: a concurrent batch is one joined future.
    BlockOn,
}

impl Executor {
    /// Every executor.
    pub const ALL: [Executor; 3] = [
        Executor::CurrentThread,
        Executor::MultiThread,
        Executor::BlockOn,
    ];

    /// The name `async_renderer` takes on its command line.
    pub fn name(self) -> &'static str {
        match self {
            Executor::CurrentThread => "current-thread",
            Executor::MultiThread => "multi-thread",
            Executor::BlockOn => "block-on",
        }
    }

    /// The executor called `name` (see [`name`](Self::name)).
    pub fn parse(name: &str) -> Option<Executor> {
        Executor::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Run `fut` to completion on a fresh executor of this kind.
    pub fn block_on<F: Future>(self, fut: F) -> Result<F::Output, String> {
        let runtime = match self {
            Executor::CurrentThread => tokio::runtime::Builder::new_current_thread().build(),
            Executor::MultiThread => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("test-runtime-worker")
                .build(),
            Executor::BlockOn => return Ok(futures::executor::block_on(fut)),
        };
        let runtime = runtime.map_err(|e| format!("build the {} runtime: {e}", self.name()))?;
        Ok(runtime.block_on(fut))
    }
}

/// Await every call of `calls` at once; their outputs in order. On a tokio runtime each call
/// is a task of its own (`tokio::spawn`), otherwise they are joined into one future.
pub async fn join_all<F>(calls: Vec<F>) -> Result<Vec<F::Output>, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            let tasks: Vec<_> = calls.into_iter().map(|c| runtime.spawn(c)).collect();
            let mut outputs = Vec::with_capacity(tasks.len());
            for (i, t) in tasks.into_iter().enumerate() {
                outputs.push(t.await.map_err(|e| format!("the task of call {i}: {e}"))?);
            }
            Ok(outputs)
        }
        Err(_) => Ok(futures::future::join_all(calls).await),
    }
}

/// Check a batch's outputs: call `i` answered `answer(batch, i)`.
pub fn check_batch<E: std::fmt::Display>(
    what: &str,
    batch: i64,
    outputs: Vec<Result<electrode::Value, E>>,
) -> Result<(), String> {
    if outputs.len() != CALLS as usize {
        return Err(format!("{what}: {} answers, want {CALLS}", outputs.len()));
    }
    for (i, out) in (0..).zip(outputs) {
        let v = out.map_err(|e| format!("{what}: call {i}: {e}"))?;
        if v != electrode::Value::from(answer(batch, i)) {
            return Err(format!(
                "{what}: call {i} answered {v:?}, want {}",
                answer(batch, i)
            ));
        }
    }
    Ok(())
}
