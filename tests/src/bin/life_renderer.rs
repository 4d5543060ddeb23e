//! `life_renderer <role>`: the renderer processes of the `lifecycle` and `api_frames_scopes`
//! tests (closing a WebContents from either side; per-frame scopes).
//!
//! Each role connects, runs its script against what the test set up, and exits 0 when every
//! check held, 1 with the reason on stderr otherwise (`electrode_tests::api_kit::run_role`).
//! Roles that must outlive their connection read stdin and exit when it closes (the test
//! holds the pipe's write end), so the test decides when the process goes.
//!
//! - `blocked-calls`: says ready, then blocks in `invoke_blocking`, `send_sync`, an invoke
//!   future and a typed `invoke_blocking` at once, none with a timeout (main holds them all),
//!   printing `call <kind> <outcome>` as each returns. Main then closes the WebContents: exit
//!   0 only if every call failed with `Disconnected`, `is_disconnected()` is true and later
//!   calls and sends fail too.
//! - `stall-handler`: registers a handler `stall` that never returns, says ready, then lives
//!   until stdin closes.
//! - `drop-handle`: registers `stall` (it tells the script when main's invoke reached it, then
//!   never returns), says ready, waits for main's invoke, drops its only handle, and lives
//!   until stdin closes.
//! - `close-then-live`: says ready, calls `IpcRenderer::close`, checks that its calls and
//!   sends fail, then lives until stdin closes.
//! - `frame-scopes`: opens frames 1 and 2, says ready (main registers the frames' scopes),
//!   then sends and invokes from each frame and checks whose handler answered.

use electrode::typed::InvokeChannel;
use electrode::{args, CallError, IpcRenderer, Value};
use electrode_tests::api_kit::{ensure, expect_eq, run_role, Check, HANG_GUARD, READY};
use electrode_tests::protocol::EXIT_USAGE;
use std::io::{Read, Write};
use std::sync::mpsc;

/// A typed invoke main holds (the same name and types as in `tests/tests/lifecycle.rs`).
static TYPED_HOLD: InvokeChannel<u32, u32> = InvokeChannel::new("typed-hold");

fn connect() -> Result<IpcRenderer, String> {
    IpcRenderer::connect().map_err(|e| format!("connect: {e}"))
}

fn ready(r: &IpcRenderer) -> Check {
    r.send_sync(READY, &args![])
        .map(drop)
        .map_err(|e| format!("ready: {e}"))
}

fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn outcome(r: &Result<Value, CallError>) -> String {
    match r {
        Err(CallError::Disconnected) => "disconnected".into(),
        other => format!("{other:?}").replace('\n', " "),
    }
}

/// Block until the test closes our stdin, then exit 0 (the script's checks already passed).
fn live_until_stdin_closes() -> ! {
    let mut sink = Vec::new();
    let _ = std::io::stdin().lock().read_to_end(&mut sink);
    std::process::exit(electrode_tests::protocol::EXIT_OK)
}

/// Every call after the connection closed fails at once with `Disconnected`.
fn later_calls_fail(r: &IpcRenderer, when: &str) -> Check {
    ensure(r.is_disconnected(), || {
        format!("{when}: is_disconnected() is false")
    })?;
    let after = [
        ("invoke_blocking", r.invoke_blocking("x", &args![])),
        ("send_sync", r.send_sync("x", &args![])),
        (
            "invoke",
            futures::executor::block_on(r.invoke("x", &args![])),
        ),
        (
            "typed invoke_blocking",
            TYPED_HOLD.invoke_blocking(r, &1).map(Value::from),
        ),
        (
            "send",
            r.send("x", &args![])
                .map(|()| Value::Null)
                .map_err(CallError::from),
        ),
    ];
    let wrong: Vec<String> = after
        .iter()
        .filter(|(_, res)| !matches!(res, Err(CallError::Disconnected)))
        .map(|(name, res)| format!("{name} {when}: {}", outcome(res)))
        .collect();
    ensure(wrong.is_empty(), || wrong.join("; "))
}

type Call = Box<dyn FnOnce(IpcRenderer) -> Result<Value, CallError> + Send>;

fn blocked_calls() -> Check {
    let r = connect()?;
    ready(&r)?;
    let calls: Vec<(&str, Call)> = vec![
        (
            "invoke_blocking",
            Box::new(|r| r.invoke_blocking("hold", &args![])),
        ),
        (
            "send_sync",
            Box::new(|r| r.send_sync("hold-sync", &args![])),
        ),
        (
            "invoke_future",
            Box::new(|r| futures::executor::block_on(r.invoke("hold", &args![]))),
        ),
        (
            "typed_invoke_blocking",
            Box::new(|r| TYPED_HOLD.invoke_blocking(&r, &7).map(Value::from)),
        ),
    ];
    let threads: Vec<_> = calls
        .into_iter()
        .map(|(name, f)| {
            let r = r.clone();
            std::thread::spawn(move || {
                let res = f(r);
                report(&format!("call {name} {}", outcome(&res)));
                (name, res)
            })
        })
        .collect();
    let mut failures = Vec::new();
    for t in threads {
        let (name, res) = t.join().map_err(|_| "a call thread panicked")?;
        if !matches!(res, Err(CallError::Disconnected)) {
            failures.push(format!("{name}: {}", outcome(&res)));
        }
    }
    ensure(failures.is_empty(), || failures.join("; "))?;
    later_calls_fail(&r, "after main's close")
}

/// A handler that never returns (it holds the receive thread: the test is about main's
/// pending invoke, which must fail without it). `entered` hears when it started.
fn stall(r: &IpcRenderer, entered: Option<mpsc::Sender<()>>) -> Check {
    let entered = std::sync::Mutex::new(entered);
    r.handle("stall", move |_| {
        if let Some(tx) = entered.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(());
        }
        loop {
            std::thread::park();
        }
    })
    .map_err(|e| format!("handle(stall): {e}"))
}

fn stall_handler() -> Check {
    let r = connect()?;
    stall(&r, None)?;
    ready(&r)?;
    live_until_stdin_closes()
}

fn drop_handle() -> Check {
    let r = connect()?;
    let (tx, rx) = mpsc::channel();
    stall(&r, Some(tx))?;
    ready(&r)?;
    rx.recv_timeout(HANG_GUARD)
        .map_err(|e| format!("main's invoke of `stall` never came: {e}"))?;
    // The exit comes from stdin, on another thread: dropping the last handle tells main at
    // once, then waits for the receive thread, which `stall` holds for ever.
    std::thread::spawn(|| live_until_stdin_closes());
    drop(r);
    loop {
        std::thread::park();
    }
}

fn close_then_live() -> Check {
    let r = connect()?;
    ready(&r)?;
    r.close();
    later_calls_fail(&r, "after IpcRenderer::close")?;
    report("closed");
    live_until_stdin_closes()
}

fn frame_scopes() -> Check {
    let r = connect()?;
    let f1 = r.frame(1).map_err(|e| format!("frame(1): {e}"))?;
    let f2 = r.frame(2).map_err(|e| format!("frame(2): {e}"))?;
    // Frames 1 and 2 are announced before this call: main registers their scopes now.
    ready(&r)?;
    let who = |f: &IpcRenderer, channel: &str| {
        f.invoke_blocking(channel, &args![])
            .map_err(|e| format!("frame {} invoke({channel}): {e}", f.frame_id()))
    };
    expect_eq("frame 1 invoke(who)", who(&f1, "who")?, "frame-1".into())?;
    // Frame 2 has a scope, without this handler: the WebContents' answers.
    expect_eq(
        "frame 2 invoke(who)",
        who(&f2, "who")?,
        "webcontents".into(),
    )?;
    expect_eq("frame 0 invoke(who)", who(&r, "who")?, "webcontents".into())?;
    // No frame or WebContents handler: the global one.
    expect_eq(
        "frame 1 invoke(only-global)",
        who(&f1, "only-global")?,
        "global".into(),
    )?;
    // The frame's handler only for its own frame (frame 2's scope has `mine`).
    expect_eq("frame 2 invoke(mine)", who(&f2, "mine")?, "frame-2".into())?;
    let e = f1
        .invoke_blocking("mine", &args![])
        .err()
        .map(|e| e.to_string());
    expect_eq(
        "frame 1 invoke(mine)",
        e,
        Some("Error invoking remote method 'mine': Error: No handler registered for 'mine'".into()),
    )?;
    // Every level runs, frame first; the frame scope's value is the sendSync's.
    f1.send("order", &args!["f1"])
        .map_err(|e| format!("send(order): {e}"))?;
    f2.send("order", &args!["f2"])
        .map_err(|e| format!("send(order): {e}"))?;
    let v = f1
        .send_sync("order-sync", &args!["f1"])
        .map_err(|e| format!("send_sync(order-sync): {e}"))?;
    expect_eq("send_sync(order-sync) value", v, "frame-1".into())?;
    // Ordered after the sends: main checks its log when this arrives.
    r.send_sync("done", &args![])
        .map(drop)
        .map_err(|e| format!("send_sync(done): {e}"))
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let role = argv.get(1).cloned().unwrap_or_default();
    let script: Box<dyn FnOnce() -> Check> = match role.as_str() {
        "blocked-calls" => Box::new(blocked_calls),
        "stall-handler" => Box::new(stall_handler),
        "drop-handle" => Box::new(drop_handle),
        "close-then-live" => Box::new(close_then_live),
        "frame-scopes" => Box::new(frame_scopes),
        other => {
            eprintln!("life_renderer: unknown role `{other}`");
            std::process::exit(EXIT_USAGE);
        }
    };
    run_role(&role, script)
}
