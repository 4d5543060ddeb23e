//! `async_renderer <role> [args]`: the renderer processes of `tests/async_calls.rs`.
//!
//! Each is spawned by a test's [`electrode::Main::spawn_renderer`], connects with
//! [`IpcRenderer::connect`], runs its script and exits 0 when every check held, 1 with the
//! reason on stderr otherwise (see `electrode_tests::api_kit::run_role`).
//!
//! Roles:
//! - `invoke <executor>` (`current-thread`, `multi-thread` or `block-on`, see
//!   `electrode_tests::async_kit::Executor`): on that executor, [`CALLS`] sequential
//!   `invoke(answer, [SEQUENTIAL, i]).await`, then [`CALLS`] `invoke(gated, [CONCURRENT, i])`
//!   all started before any is awaited, each answer checked against `answer(batch, i)`.
//! - `serve`: handles `renderer-answer` (answers `answer(batch, i)` for `[batch, i]`), says
//!   ready, and exits when main sends `bye`.

use electrode::{args, IpcRenderer, RemoteError, Value};
use electrode_tests::api_kit::{run_role, Check, HANG_GUARD, READY};
use electrode_tests::async_kit::{
    answer, batch, check_batch, join_all, Executor, ANSWER, CALLS, GATED, RENDERER_ANSWER,
};
use electrode_tests::protocol::EXIT_USAGE;
use std::sync::{mpsc, Mutex};

fn connect() -> Result<IpcRenderer, String> {
    IpcRenderer::connect().map_err(|e| format!("connect: {e}"))
}

async fn sequential(r: &IpcRenderer) -> Check {
    for i in 0..CALLS {
        let v = r
            .invoke(ANSWER, &args![batch::SEQUENTIAL, i])
            .await
            .map_err(|e| format!("sequential invoke {i}: {e}"))?;
        if v != Value::from(answer(batch::SEQUENTIAL, i)) {
            return Err(format!(
                "sequential invoke {i} answered {v:?}, want {}",
                answer(batch::SEQUENTIAL, i)
            ));
        }
    }
    Ok(())
}

async fn concurrent(r: &IpcRenderer) -> Check {
    let calls: Vec<_> = (0..CALLS)
        .map(|i| r.invoke(GATED, &args![batch::CONCURRENT, i]))
        .collect();
    let outputs = join_all(calls).await?;
    check_batch("concurrent invokes", batch::CONCURRENT, outputs)
}

fn invoke(argv: &[String]) -> Check {
    let name = argv.first().ok_or("missing executor")?;
    let executor = Executor::parse(name).ok_or_else(|| format!("unknown executor `{name}`"))?;
    let r = connect()?;
    executor.block_on(async {
        sequential(&r).await?;
        concurrent(&r).await
    })?
}

fn serve() -> Check {
    let r = connect()?;
    r.handle(RENDERER_ANSWER, |a| {
        let b = a.get(0).and_then(|v| v.as_i64());
        let i = a.get(1).and_then(|v| v.as_i64());
        match (b, i) {
            (Some(b), Some(i)) => Ok(Value::from(answer(b, i))),
            _ => Err(RemoteError::new("want [batch, i]")),
        }
    })
    .map_err(|e| format!("handle({RENDERER_ANSWER}): {e}"))?;
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    r.on("bye", move |_, _| {
        let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send(());
    });
    r.send_sync(READY, &args![])
        .map_err(|e| format!("ready: {e}"))?;
    rx.recv_timeout(HANG_GUARD)
        .map_err(|e| format!("no `bye` from main: {e}"))
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(role) = argv.first().cloned() else {
        eprintln!("usage: async_renderer <role> [args] (roles: see the source's doc comment)");
        std::process::exit(EXIT_USAGE);
    };
    let rest = &argv[1..];
    let script: Box<dyn FnOnce() -> Check> = match role.as_str() {
        "invoke" => Box::new(|| invoke(rest)),
        "serve" => Box::new(serve),
        other => {
            eprintln!("async_renderer: unknown role `{other}`");
            std::process::exit(EXIT_USAGE);
        }
    };
    run_role(&role, script)
}
