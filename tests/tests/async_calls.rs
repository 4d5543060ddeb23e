//! Async calls between real processes under each executor an application may use: a tokio
//! current-thread runtime (what `#[tokio::main(flavor = "current_thread")]` builds), a
//! multi-thread one (both built here with `tokio::runtime::Builder`), and
//! `futures::executor::block_on`.
//!
//! - The renderer's `invoke(..).await`: 1,000 sequential and 1,000 concurrent calls, the
//!   renderer's script running on each executor (`async_renderer invoke <executor>`). The
//!   concurrent ones reach a handler that answers only once 50 calls wait at once.
//! - Main's `WebContents::invoke(..).await`: the same, with main (the test) on each executor.
//! - `handle_async` (feature `tokio`): given a runtime's handle, main runs the handlers' futures
//!   on it, as each future checks from inside (`Handle::try_current()`, the thread's name, a
//!   task of its own spawned on the runtime); without one, on main's private pool. A panicking
//!   future, and one the runtime drops when it shuts down, still answer their invokes.

use electrode::{args, ArgsView, DeferredReply, IpcMain, Main, RemoteError, Value, WebContents};
use electrode_tests::api_kit::{spawn, ReadyGate, HANG_GUARD};
use electrode_tests::async_kit::{
    answer, batch, check_batch, join_all, Executor, ANSWER, CALLS, GATE, GATED, RENDERER_ANSWER,
};
use electrode_tests::watchdog;
use futures::channel::oneshot;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_async_renderer");
const LIMIT: Duration = Duration::from_secs(180);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The answer to a call carrying `[batch, i]`.
fn answer_to(batch: Option<i64>, i: Option<i64>) -> Result<Value, RemoteError> {
    match (batch, i) {
        (Some(b), Some(i)) => Ok(Value::from(answer(b, i))),
        other => Err(RemoteError::new(format!("want [batch, i], got {other:?}"))),
    }
}

fn answer_view(a: &ArgsView<'_>) -> Result<Value, RemoteError> {
    answer_to(
        a.get(0).and_then(|v| v.as_i64()),
        a.get(1).and_then(|v| v.as_i64()),
    )
}

fn answer_values(a: &[Value]) -> Result<Value, RemoteError> {
    answer_to(
        a.first().and_then(Value::as_i64),
        a.get(1).and_then(Value::as_i64),
    )
}

/// Main's handlers for `async_renderer invoke`, answered by the dispatcher and another thread:
/// `answer` directly, `gated` through deferred replies held until [`GATE`] calls wait.
fn install_sync_handlers(ipc: &IpcMain) {
    ipc.handle(ANSWER, |_, a| answer_view(a)).unwrap();
    let held: Mutex<Vec<(Result<Value, RemoteError>, DeferredReply)>> = Mutex::default();
    ipc.handle_deferred(GATED, move |_, a, reply| {
        let mut held = lock(&held);
        held.push((answer_view(a), reply));
        if held.len() == GATE {
            let batch: Vec<_> = held.drain(..).rev().collect();
            drop(held);
            // Last one first, from another thread: answers match their calls by id alone.
            std::thread::spawn(move || {
                for (answer, reply) in batch {
                    reply.complete(answer);
                }
            });
        }
    })
    .unwrap();
}

fn renderer_invokes(executor: Executor, label: &str) {
    let _dog = watchdog(LIMIT, label);
    let main = Main::new().unwrap();
    install_sync_handlers(main.ipc());
    spawn(&main, RENDERER, "invoke", &[executor.name()]).expect_success();
}

#[test]
fn renderer_invokes_await_on_a_current_thread_runtime() {
    renderer_invokes(
        Executor::CurrentThread,
        "renderer_invokes_await_on_a_current_thread_runtime",
    );
}

#[test]
fn renderer_invokes_await_on_a_multi_thread_runtime() {
    renderer_invokes(
        Executor::MultiThread,
        "renderer_invokes_await_on_a_multi_thread_runtime",
    );
}

#[test]
fn renderer_invokes_await_under_futures_block_on() {
    renderer_invokes(
        Executor::BlockOn,
        "renderer_invokes_await_under_futures_block_on",
    );
}

/// 1,000 sequential, then 1,000 concurrent `WebContents::invoke(..).await`.
async fn invoke_renderer(wc: WebContents) -> Result<(), String> {
    for i in 0..CALLS {
        let v = wc
            .invoke(RENDERER_ANSWER, &args![batch::SEQUENTIAL, i])
            .await
            .map_err(|e| format!("sequential invoke {i}: {e}"))?;
        if v != Value::from(answer(batch::SEQUENTIAL, i)) {
            return Err(format!("sequential invoke {i} answered {v:?}"));
        }
    }
    let calls: Vec<_> = (0..CALLS)
        .map(|i| wc.invoke(RENDERER_ANSWER, &args![batch::CONCURRENT, i]))
        .collect();
    check_batch(
        "concurrent invokes",
        batch::CONCURRENT,
        join_all(calls).await?,
    )
}

fn main_invokes(executor: Executor, label: &str) {
    let _dog = watchdog(LIMIT, label);
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let renderer = spawn(&main, RENDERER, "serve", &[]);
    let (ready, _) = gate.wait();
    ready.set_return_value(true);
    let outcome = executor.block_on(invoke_renderer(renderer.wc.clone()));
    if let Err(why) = outcome.and_then(|r| r) {
        panic!("on {}: {why}", executor.name());
    }
    renderer.wc.send("bye", &args![]).unwrap();
    renderer.expect_success();
}

#[test]
fn main_invokes_the_renderer_on_a_current_thread_runtime() {
    main_invokes(
        Executor::CurrentThread,
        "main_invokes_the_renderer_on_a_current_thread_runtime",
    );
}

#[test]
fn main_invokes_the_renderer_on_a_multi_thread_runtime() {
    main_invokes(
        Executor::MultiThread,
        "main_invokes_the_renderer_on_a_multi_thread_runtime",
    );
}

#[test]
fn main_invokes_the_renderer_under_futures_block_on() {
    main_invokes(
        Executor::BlockOn,
        "main_invokes_the_renderer_under_futures_block_on",
    );
}

// ---- handle_async and the runtime it runs on ----

/// Where an async handler's future found itself running.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sighting {
    /// `tokio::runtime::Handle::try_current()` succeeded.
    on_runtime: bool,
    /// The thread's name.
    thread: Option<String>,
}

fn sight() -> Sighting {
    Sighting {
        on_runtime: tokio::runtime::Handle::try_current().is_ok(),
        thread: std::thread::current().name().map(str::to_owned),
    }
}

type Sightings = Arc<Mutex<Vec<Sighting>>>;

/// Holds async handlers' futures until [`GATE`] of them wait, then lets them all go on.
#[derive(Default)]
struct AsyncGate(Mutex<Vec<oneshot::Sender<()>>>);

impl AsyncGate {
    async fn pass(&self) {
        let open = {
            let mut waiting = lock(&self.0);
            let (tx, rx) = oneshot::channel();
            waiting.push(tx);
            if waiting.len() == GATE {
                for tx in waiting.drain(..).rev() {
                    let _ = tx.send(());
                }
            }
            rx
        };
        let _ = open.await;
    }
}

/// `answer` and `gated` as async handlers recording where their futures run, before and after
/// a point where they really wait: for `gated` the gate, for `answer` (when `tokio_api`) a task
/// it spawns with `tokio::spawn`, which only works on a tokio runtime.
fn install_async_handlers(ipc: &IpcMain, seen: &Sightings, tokio_api: bool) {
    let s = seen.clone();
    ipc.handle_async(ANSWER, move |_, a| {
        let s = s.clone();
        async move {
            lock(&s).push(sight());
            let mut v = answer_values(&a)?;
            if tokio_api {
                v = tokio::spawn(async move { v })
                    .await
                    .map_err(|e| RemoteError::new(format!("the spawned task: {e}")))?;
            }
            lock(&s).push(sight());
            Ok(v)
        }
    })
    .unwrap();
    let s = seen.clone();
    let gate = Arc::new(AsyncGate::default());
    ipc.handle_async(GATED, move |_, a| {
        let (s, gate) = (s.clone(), gate.clone());
        async move {
            lock(&s).push(sight());
            gate.pass().await;
            lock(&s).push(sight());
            answer_values(&a)
        }
    })
    .unwrap();
}

/// Every call of both batches was seen twice, each time as `want`.
fn assert_all_seen(seen: &Sightings, want: impl Fn(&Sighting) -> bool, what: &str) {
    let seen = lock(seen);
    assert_eq!(seen.len(), 4 * CALLS as usize, "sightings");
    let wrong: Vec<_> = seen.iter().filter(|s| !want(s)).take(5).collect();
    assert!(wrong.is_empty(), "futures not {what}: {wrong:?}");
}

#[test]
fn handle_async_runs_on_the_given_multi_thread_runtime() {
    let _dog = watchdog(LIMIT, "handle_async_runs_on_the_given_multi_thread_runtime");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("app-runtime")
        .build()
        .unwrap();
    let main = Main::builder()
        .tokio_handle(runtime.handle().clone())
        .build()
        .unwrap();
    let seen = Sightings::default();
    install_async_handlers(main.ipc(), &seen, true);
    spawn(&main, RENDERER, "invoke", &[Executor::BlockOn.name()]).expect_success();
    let want = Sighting {
        on_runtime: true,
        thread: Some("app-runtime".into()),
    };
    assert_all_seen(&seen, |s| *s == want, "on the app-runtime workers");
}

#[test]
fn handle_async_runs_on_the_given_current_thread_runtime() {
    let _dog = watchdog(
        LIMIT,
        "handle_async_runs_on_the_given_current_thread_runtime",
    );
    let seen = Sightings::default();
    let s = seen.clone();
    // The application's thread: it builds the runtime and drives it while the renderer runs.
    let app = std::thread::Builder::new()
        .name("app-current-thread".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let main = Main::builder()
                .tokio_handle(runtime.handle().clone())
                .build()
                .unwrap();
            install_async_handlers(main.ipc(), &s, true);
            let renderer = spawn(&main, RENDERER, "invoke", &[Executor::MultiThread.name()]);
            let (tx, gone) = oneshot::channel();
            let tx = Mutex::new(Some(tx));
            renderer.wc.on_render_process_gone(move |_| {
                if let Some(tx) = lock(&tx).take() {
                    let _ = tx.send(());
                }
            });
            // The handlers' futures run only while this thread drives the runtime.
            runtime.block_on(gone).unwrap();
            renderer.expect_success();
        })
        .unwrap();
    app.join()
        .expect("the application thread failed (see above)");
    let want = Sighting {
        on_runtime: true,
        thread: Some("app-current-thread".into()),
    };
    assert_all_seen(&seen, |s| *s == want, "on the thread driving the runtime");
}

#[test]
fn handle_async_without_a_runtime_runs_on_mains_private_pool() {
    let _dog = watchdog(
        LIMIT,
        "handle_async_without_a_runtime_runs_on_mains_private_pool",
    );
    let main = Main::new().unwrap();
    let seen = Sightings::default();
    install_async_handlers(main.ipc(), &seen, false);
    spawn(&main, RENDERER, "invoke", &[Executor::CurrentThread.name()]).expect_success();
    assert_all_seen(
        &seen,
        |s| {
            !s.on_runtime
                && s.thread
                    .as_deref()
                    .is_some_and(|t| t.starts_with("electrode-async-"))
        },
        "on electrode-async-N threads outside any runtime",
    );
}

async fn panics() -> Result<Value, RemoteError> {
    panic!("an async handler panicking on purpose")
}

#[test]
fn a_panicking_async_handler_rejects_and_its_executor_goes_on() {
    let _dog = watchdog(
        LIMIT,
        "a_panicking_async_handler_rejects_and_its_executor_goes_on",
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let mains = [
        ("the private pool", Main::new().unwrap()),
        (
            "a tokio runtime",
            Main::builder()
                .tokio_handle(runtime.handle().clone())
                .build()
                .unwrap(),
        ),
    ];
    for (executor, main) in mains {
        main.ipc().handle_async("panics", |_, _| panics()).unwrap();
        main.ipc()
            .handle_async("fine", |_, _| async { Ok(Value::from("fine")) })
            .unwrap();
        let (_wc, r) = main.connect_in_process().unwrap();
        // More panics than the private pool has threads: none of them may take one away.
        for i in 0..3 {
            let e = r
                .invoke_timeout("panics", &args![], HANG_GUARD)
                .unwrap_err();
            assert!(
                e.to_string().ends_with("the handler panicked"),
                "{executor}, panic {i}: {e}"
            );
        }
        let v = futures::executor::block_on(r.invoke("fine", &args![]));
        assert_eq!(v.unwrap(), Value::from("fine"), "{executor}");
    }
}

#[test]
fn async_invokes_reject_when_the_runtime_shuts_down() {
    let _dog = watchdog(LIMIT, "async_invokes_reject_when_the_runtime_shuts_down");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let main = Main::builder()
        .tokio_handle(runtime.handle().clone())
        .build()
        .unwrap();
    let (started_tx, started) = mpsc::channel();
    let started_tx = Mutex::new(started_tx);
    main.ipc()
        .handle_async("forever", move |_, _| {
            let started = lock(&started_tx).clone();
            async move {
                // Running on the runtime now; it never answers on its own: only the
                // runtime's shutdown ends it.
                let _ = started.send(());
                futures::future::pending::<()>().await;
                Ok(Value::Null)
            }
        })
        .unwrap();
    main.ipc()
        .handle_async("on-runtime", |_, _| async {
            Ok(Value::from(tokio::runtime::Handle::try_current().is_ok()))
        })
        .unwrap();
    let (_wc, r) = main.connect_in_process().unwrap();
    let on_runtime = r.invoke_timeout("on-runtime", &args![], HANG_GUARD);
    assert_eq!(on_runtime.unwrap(), Value::from(true));

    // A future in flight when the runtime shuts down...
    let pending = r.invoke("forever", &args![]);
    started.recv_timeout(HANG_GUARD).unwrap();
    drop(runtime);
    let e = pending.wait(Some(HANG_GUARD)).unwrap_err();
    assert!(e.to_string().ends_with("reply was never sent"), "{e}");
    // ...and one handed to the runtime after it did: both rejected, neither left hanging.
    let e = r
        .invoke_timeout("on-runtime", &args![], HANG_GUARD)
        .unwrap_err();
    assert!(e.to_string().ends_with("reply was never sent"), "{e}");
}
