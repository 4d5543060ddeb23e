//! `api_renderer <role> [args]`: the renderer processes of the `api_*` tests.
//!
//! Every renderer role is spawned by a test's [`electrode::Main::spawn_renderer`], connects with
//! [`IpcRenderer::connect`], runs its script against the handlers and listeners the test set up
//! (named in each role's doc below), and exits 0 when every check held, 1 with the reason on
//! stderr otherwise (see `electrode_tests::api_kit::run_role`).
//!
//! Renderer roles:
//! - `handle-once`: `invoke(once, 123)` is 3, then rejects with `No handler registered`; same
//!   for `once-future` through the invoke future.
//! - `async-handler`: `invoke(async)` is 3 through the future, `.wait`, and the blocking form.
//! - `errors`: failing, missing, removed, dropped-reply, panicking and structured-error
//!   handlers reject with the right text and error.
//! - `payloads`: every payload size and form echoes unchanged through blocking invoke, the
//!   invoke future, `send_sync`, and `send` + `event.reply`.
//! - `big-receive`: asks main (`send-me-big`) for one 3 MiB + 1 byte `big` message and waits
//!   for it.
//! - `big-replies`: invokes `big-async` and `big-deferred` (3 MiB + 1 byte replies sent from
//!   main's executor and another thread), through the future and the blocking form.
//! - `ordering <seed> <n>`: `n` randomly mixed `send` / `send_sync` / `invoke` carrying 0..n.
//! - `return-value`: `send_sync` semantics (first value wins, no listener, never answered,
//!   answered later, timeout, structured error, plain send).
//! - `frames`: `event.reply` goes to the sending frame, `sender.send` to frame 0,
//!   `send_to_frame` to the named frame.
//! - `scopes`: per-WebContents hooks and scope before the global scope; scoped handler wins.
//! - `invoke-expect <channel> <string>`: `invoke(channel)` returns that string.
//! - `main-invoke`: registers handlers main invokes, says ready, asks main (`try-deadlock`) to
//!   invoke it from a listener, exits on `bye`.
//! - `load <index> <count>`: `count` invokes carrying `(index, i)`, 32 in flight, each answer
//!   checked against `load_answer`.
//! - `victim`: registers a handler `never` that blocks, says ready, then blocks in an invoke
//!   main never answers (until SIGKILLed).
//! - `worker <index>`: says ready, then invokes `tick` until main answers "stop".
//! - `pending-calls`: blocks in `invoke_blocking`, `send_sync` and an invoke future at once
//!   (main never answers), prints `call <kind> <outcome>` on stdout as each returns, then
//!   checks that calls after main's death fail at once. Exit 0 only if every call returned
//!   `Disconnected`.
//!
//! Main role:
//! - `main-host`: builds a `Main`, spawns `api_renderer pending-calls` (stdout inherited), and
//!   once its three calls are pending prints `pid <grandchild pid>`; then waits to be killed.

use electrode::{args, CallError, IpcMainEvent, IpcRenderer, Main, RemoteError, Value};
use electrode_tests::api_kit::{
    ensure, expect_eq, load_answer, payload, run_role, typed_error, Check, PayloadForm, Rng,
    HANG_GUARD, PAYLOAD_FORMS, PAYLOAD_SIZES, READY,
};
use electrode_tests::protocol::EXIT_USAGE;
use std::collections::VecDeque;
use std::io::Write;
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

fn connect() -> Result<IpcRenderer, String> {
    IpcRenderer::connect().map_err(|e| format!("connect: {e}"))
}

/// The "ready" handshake: blocks until main answers.
fn ready(r: &IpcRenderer, a: &[Value]) -> Result<Value, String> {
    r.send_sync(READY, a).map_err(|e| format!("ready: {e}"))
}

fn call(what: &str, r: Result<Value, CallError>) -> Result<Value, String> {
    r.map_err(|e| format!("{what}: unexpected error: {e}"))
}

/// The error of a call that must fail.
fn fails(what: &str, r: Result<Value, CallError>) -> Result<CallError, String> {
    match r {
        Ok(v) => Err(format!("{what}: resolved with {v:?}, want an error")),
        Err(e) => Ok(e),
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn arg_i64(argv: &[String], i: usize, name: &str) -> Result<i64, String> {
    argv.get(i)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("argument {i} ({name}) missing or not a number"))
}

// ---- invoke basics (api_invoke.rs) ----

fn handle_once() -> Check {
    let r = connect()?;
    let v = call("invoke(once, 123)", r.invoke_blocking("once", &args![123]))?;
    expect_eq("first invoke(once)", v, Value::from(3))?;
    let e = fails(
        "second invoke(once)",
        r.invoke_blocking("once", &args![123]),
    )?;
    expect_eq(
        "second invoke(once)",
        e.to_string(),
        "Error invoking remote method 'once': Error: No handler registered for 'once'".into(),
    )?;
    let v = call(
        "invoke(once-future, 123)",
        block_on(r.invoke("once-future", &args![123])),
    )?;
    expect_eq("first invoke(once-future)", v, Value::from(3))?;
    let e = fails(
        "second invoke(once-future)",
        block_on(r.invoke("once-future", &args![123])),
    )?;
    expect_eq(
        "second invoke(once-future)",
        e.to_string(),
        "Error invoking remote method 'once-future': Error: No handler registered for \
         'once-future'"
            .into(),
    )
}

fn async_handler() -> Check {
    let r = connect()?;
    let v = call(
        "invoke(async) future",
        block_on(r.invoke("async", &args![])),
    )?;
    expect_eq("invoke(async) future", v, Value::from(3))?;
    let v = call(
        "invoke(async).wait",
        r.invoke("async", &args![]).wait(Some(HANG_GUARD)),
    )?;
    expect_eq("invoke(async).wait", v, Value::from(3))?;
    let v = call(
        "invoke_blocking(async)",
        r.invoke_blocking("async", &args![]),
    )?;
    expect_eq("invoke_blocking(async)", v, Value::from(3))
}

/// Check one rejection both ways (blocking, through a slot; future, through the ring).
fn rejects(
    r: &IpcRenderer,
    channel: &str,
    a: &[Value],
    check: impl Fn(&CallError) -> Check,
) -> Check {
    let e = fails(
        &format!("invoke_blocking({channel})"),
        r.invoke_blocking(channel, a),
    )?;
    check(&e).map_err(|m| format!("invoke_blocking({channel}): {m}"))?;
    let e = fails(
        &format!("invoke({channel}) future"),
        block_on(r.invoke(channel, a)),
    )?;
    check(&e).map_err(|m| format!("invoke({channel}) future: {m}"))
}

fn exact(text: &'static str) -> impl Fn(&CallError) -> Check {
    move |e| expect_eq("error text", e.to_string(), text.to_string())
}

fn errors() -> Check {
    let r = connect()?;
    rejects(&r, "throw", &args![], |e| {
        ensure(e.to_string().contains("some error"), || {
            format!("`{e}` does not contain the handler's message")
        })?;
        expect_eq(
            "text",
            e.to_string(),
            "Error invoking remote method 'throw': Error: some error".into(),
        )
    })?;
    rejects(&r, "async-throw", &args![], |e| {
        ensure(e.to_string().contains("async failure"), || {
            format!("`{e}` does not contain the handler's message")
        })
    })?;
    rejects(
        &r,
        "nobody",
        &args![],
        exact("Error invoking remote method 'nobody': Error: No handler registered for 'nobody'"),
    )?;
    // handle, then removeHandler: no handler.
    let v = call(
        "invoke(removed) before removal",
        r.invoke_blocking("removed", &args![]),
    )?;
    expect_eq("invoke(removed) before removal", v, Value::from("here"))?;
    let v = call(
        "send_sync(remove-handler)",
        r.send_sync("remove-handler", &args!["removed"]),
    )?;
    expect_eq("send_sync(remove-handler)", v, Value::from(true))?;
    rejects(
        &r,
        "removed",
        &args![],
        exact("Error invoking remote method 'removed': Error: No handler registered for 'removed'"),
    )?;
    // A dropped DeferredReply: on the dispatcher, and later on another thread.
    for ch in ["deferred-drop", "deferred-drop-later"] {
        rejects(&r, ch, &args![], |e| {
            expect_eq(
                "text",
                e.to_string(),
                format!("Error invoking remote method '{ch}': reply was never sent"),
            )?;
            let remote = e.remote().ok_or("no remote error")?;
            expect_eq("error name", remote.name.as_str(), "")
        })?;
    }
    let v = call(
        "invoke(deferred-later)",
        r.invoke_blocking("deferred-later", &args![5]),
    )?;
    expect_eq("invoke(deferred-later)", v, Value::from(6))?;
    // Structured errors keep name, message and data, from every handler kind.
    for ch in ["typed", "typed-async", "typed-deferred"] {
        rejects(&r, ch, &args![], |e| {
            expect_eq(
                "error",
                e.clone(),
                CallError::Invoke {
                    channel: ch.to_string(),
                    error: typed_error(),
                },
            )
        })?;
    }
    // A panicking handler rejects, and main survives it.
    rejects(&r, "panics", &args![], |e| {
        ensure(e.to_string().contains("panicked"), || {
            format!("`{e}` does not say the handler panicked")
        })
    })?;
    let v = call(
        "invoke(alive) after the panic",
        r.invoke_blocking("alive", &args![]),
    )?;
    expect_eq("invoke(alive)", v, Value::from("yes"))
}

fn main_invoke() -> Check {
    let r = connect()?;
    r.handle("double", |a| {
        let x = a.get(0).and_then(|v| v.as_i64()).ok_or("want an integer")?;
        Ok(Value::from(x * 2))
    })
    .map_err(|e| format!("handle(double): {e}"))?;
    let e = r
        .handle("double", |_| Ok(Value::Null))
        .err()
        .ok_or("a second renderer handler for `double` was accepted")?;
    expect_eq(
        "second handle",
        e.to_string(),
        "Attempted to register a second handler for 'double'".into(),
    )?;
    r.handle("fail", |_| Err(typed_error()))
        .map_err(|e| format!("handle(fail): {e}"))?;
    r.handle("echo", |a| Ok(Value::Array(a.to_values())))
        .map_err(|e| format!("handle(echo): {e}"))?;
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    r.on("bye", move |_, _| {
        let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send(());
    });
    ready(&r, &args![])?;
    let v = call(
        "send_sync(try-deadlock)",
        r.send_sync("try-deadlock", &args![]),
    )?;
    expect_eq(
        "blocking invoke on main's dispatcher thread refused",
        v,
        Value::from(true),
    )?;
    rx.recv_timeout(HANG_GUARD)
        .map_err(|e| format!("no `bye` from main: {e}"))
}

// ---- large output from main's other threads (api_large_output.rs) ----

/// The 3 MiB + 1 byte payload the large-output tests move.
fn big() -> Value {
    payload(3 * 1024 * 1024 + 1, PayloadForm::Bytes)
}

fn big_receive() -> Check {
    let r = connect()?;
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    r.on("big", move |_, a| {
        let _ = tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(a.to_values());
    });
    r.send("send-me-big", &args![])
        .map_err(|e| format!("send(send-me-big): {e}"))?;
    let got = rx
        .recv_timeout(HANG_GUARD)
        .map_err(|e| format!("the 3 MiB webContents.send never arrived whole: {e}"))?;
    ensure(got == vec![big()], || {
        "the 3 MiB message came changed".into()
    })
}

fn big_replies() -> Check {
    let r = connect()?;
    for ch in ["big-async", "big-deferred"] {
        let v = call(
            &format!("invoke({ch}) future"),
            r.invoke(ch, &args![]).wait(Some(HANG_GUARD)),
        )?;
        ensure(v == big(), || format!("invoke({ch}) future: reply changed"))?;
        let v = call(
            &format!("invoke_blocking({ch})"),
            r.invoke_timeout(ch, &args![], HANG_GUARD),
        )?;
        ensure(v == big(), || {
            format!("invoke_blocking({ch}): reply changed")
        })?;
    }
    Ok(())
}

// ---- payloads (api_payloads.rs) ----

fn payloads() -> Check {
    let r = connect()?;
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    r.on("echo-reply", move |e, a| {
        let _ = tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((e.frame_id(), a.to_values()));
    });
    for size in PAYLOAD_SIZES {
        for form in PAYLOAD_FORMS {
            let p = payload(size, form);
            let sent = vec![p.clone(), Value::from(size as i64)];
            let what = |path: &str| format!("{path}: {size} bytes as {form:?}");
            let v = call(&what("invoke_blocking"), r.invoke_blocking("echo", &sent))?;
            ensure(v == Value::Array(sent.clone()), || {
                format!("{} came back changed", what("invoke_blocking"))
            })?;
            let v = call(&what("invoke future"), block_on(r.invoke("echo", &sent)))?;
            ensure(v == Value::Array(sent.clone()), || {
                format!("{} came back changed", what("invoke future"))
            })?;
            let v = call(&what("send_sync"), r.send_sync("echo-sync", &sent))?;
            ensure(v == Value::Array(sent.clone()), || {
                format!("{} came back changed", what("send_sync"))
            })?;
            r.send("echo-send", &sent)
                .map_err(|e| format!("{}: {e}", what("send")))?;
            let (frame, got) = rx
                .recv_timeout(HANG_GUARD)
                .map_err(|e| format!("{}: no reply: {e}", what("send + event.reply")))?;
            expect_eq("reply's frame", frame, 0)?;
            ensure(got == sent, || {
                format!("{} came back changed", what("send + event.reply"))
            })?;
        }
    }
    Ok(())
}

// ---- ordering (api_ordering.rs) ----

fn ordering(argv: &[String]) -> Check {
    let seed = arg_i64(argv, 0, "seed")? as u64;
    let n = arg_i64(argv, 1, "n")?;
    let r = connect()?;
    let mut rng = Rng::new(seed);
    let mut pending = Vec::new();
    let mut kinds = [0usize; 3];
    for i in 0..n {
        let kind = rng.below(3) as usize;
        kinds[kind] += 1;
        match kind {
            0 => r
                .send("seq", &args![i])
                .map_err(|e| format!("send {i}: {e}"))?,
            1 => {
                let v = call(
                    &format!("send_sync {i}"),
                    r.send_sync("seq-sync", &args![i]),
                )?;
                expect_eq(&format!("send_sync {i}"), v, Value::from(i))?;
            }
            _ => pending.push((i, r.invoke("seq-invoke", &args![i]))),
        }
    }
    for (i, f) in pending {
        let v = call(&format!("invoke {i}"), f.wait(Some(HANG_GUARD)))?;
        expect_eq(&format!("invoke {i}"), v, Value::from(i))?;
    }
    ensure(kinds.iter().all(|&k| k > 0), || {
        format!("seed {seed} did not mix all three kinds: {kinds:?}")
    })?;
    let v = call("send_sync(seq-count)", r.send_sync("seq-count", &args![]))?;
    expect_eq("messages main recorded", v, Value::from(n))
}

// ---- sendSync (api_send_sync.rs) ----

fn send_sync_fails(r: &IpcRenderer, channel: &str, check: impl Fn(&RemoteError) -> Check) -> Check {
    match r.send_sync(channel, &args![]) {
        Ok(v) => Err(format!(
            "send_sync({channel}) returned {v:?}, want an error"
        )),
        Err(CallError::SendSync { channel: c, error }) => {
            expect_eq("the error's channel", c.as_str(), channel)?;
            check(&error).map_err(|m| format!("send_sync({channel}): {m}"))
        }
        Err(other) => Err(format!(
            "send_sync({channel}): want CallError::SendSync, got {other:?}"
        )),
    }
}

fn return_value() -> Check {
    let r = connect()?;
    let v = call("send_sync(multi)", r.send_sync("multi", &args![]))?;
    expect_eq("send_sync(multi)", v, Value::from("first"))?;
    send_sync_fails(&r, "nobody-sync", |e| {
        expect_eq(
            "message",
            e.message.as_str(),
            "No listener registered for 'nobody-sync'",
        )
    })?;
    send_sync_fails(&r, "silent", |e| {
        expect_eq("message", e.message.as_str(), "reply was never sent")?;
        expect_eq("name", e.name.as_str(), "")
    })?;
    let e = fails("send_sync(silent)", r.send_sync("silent", &args![]))?;
    expect_eq(
        "send_sync(silent) text",
        e.to_string(),
        "Error sending sync message 'silent': reply was never sent".into(),
    )?;
    let v = call("send_sync(later)", r.send_sync("later", &args![]))?;
    expect_eq("send_sync(later)", v, Value::from("late"))?;
    // Main holds the event without answering: the deadline ends the wait...
    let e = fails(
        "send_sync_timeout(hold)",
        r.send_sync_timeout("hold", &args![], std::time::Duration::from_millis(300)),
    )?;
    expect_eq("send_sync_timeout(hold)", e, CallError::TimedOut)?;
    // ...and its late answer reaches nobody: it must not leak into the next calls.
    let v = call(
        "send_sync(release-held)",
        r.send_sync("release-held", &args![]),
    )?;
    expect_eq(
        "late set_return_value on the held event",
        v,
        Value::from(true),
    )?;
    // More abandoned requests than there are response slots: none may be lost for good.
    for i in 0..300 {
        let e = fails(
            &format!("send_sync_timeout(hold-many) #{i}"),
            r.send_sync_timeout("hold-many", &args![i], std::time::Duration::from_millis(1)),
        )?;
        expect_eq(
            &format!("send_sync_timeout(hold-many) #{i}"),
            e,
            CallError::TimedOut,
        )?;
    }
    for i in 0..300 {
        let v = call(
            &format!("send_sync(multi) #{i}"),
            r.send_sync("multi", &args![]),
        )?;
        expect_eq(&format!("send_sync(multi) #{i}"), v, Value::from("first"))?;
    }
    send_sync_fails(&r, "typed-sync", |e| {
        expect_eq("error", e.clone(), typed_error())
    })?;
    r.send("plain", &args![1])
        .map_err(|e| format!("send(plain): {e}"))?;
    let v = call("send_sync(multi) last", r.send_sync("multi", &args![]))?;
    expect_eq("send_sync(multi) last", v, Value::from("first"))
}

// ---- frames and scopes (api_frames_scopes.rs) ----

type Got = (u32, Vec<Value>);

fn collector(r: &IpcRenderer, channel: &str) -> mpsc::Receiver<Got> {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    r.on(channel, move |e, a| {
        let _ = tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((e.frame_id(), a.to_values()));
    });
    rx
}

fn next(rx: &mpsc::Receiver<Got>, what: &str) -> Result<Got, String> {
    rx.recv_timeout(HANG_GUARD)
        .map_err(|e| format!("{what}: nothing arrived: {e}"))
}

fn frames() -> Check {
    let pid = i64::from(std::process::id());
    let r0 = connect()?;
    let f1 = r0.frame(1).map_err(|e| format!("frame(1): {e}"))?;
    expect_eq("f1.frame_id()", f1.frame_id(), 1)?;
    let pong0 = collector(&r0, "pong");
    let pong1 = collector(&f1, "pong");
    let main0 = collector(&r0, "main-frame");
    let main1 = collector(&f1, "main-frame");
    let direct0 = collector(&r0, "direct");
    let direct1 = collector(&f1, "direct");

    f1.send("ping", &args!["from-1", pid])
        .map_err(|e| format!("f1.send: {e}"))?;
    let got = next(&pong1, "event.reply to frame 1")?;
    expect_eq("event.reply to frame 1", got, (1, args![1, "from-1"]))?;
    let got = next(&main0, "sender.send after frame 1's ping")?;
    expect_eq("sender.send after frame 1's ping", got, (0, args![1]))?;

    r0.send("ping", &args!["from-0", pid])
        .map_err(|e| format!("r0.send: {e}"))?;
    // Main answers in order: had frame 1's reply gone to frame 0 too, it would come first.
    let got = next(&pong0, "event.reply to frame 0")?;
    expect_eq("first reply on frame 0", got, (0, args![0, "from-0"]))?;
    let got = next(&main0, "sender.send after frame 0's ping")?;
    expect_eq("sender.send after frame 0's ping", got, (0, args![0]))?;

    let v = call("send_sync(to-frame)", f1.send_sync("to-frame", &args![1]))?;
    expect_eq(
        "send_to_frame(1), send_to_frame(99)",
        v,
        Value::array([true, false]),
    )?;
    let got = next(&direct1, "send_to_frame(1)")?;
    expect_eq("send_to_frame(1)", got, (1, args![1]))?;
    // One more round trip to frame 0, so anything misrouted has arrived by now.
    r0.send("ping", &args!["again", pid])
        .map_err(|e| format!("r0.send: {e}"))?;
    next(&pong0, "second reply on frame 0")?;
    next(&main0, "second sender.send")?;
    ensure(pong0.try_recv().is_err(), || {
        "extra reply on frame 0".into()
    })?;
    ensure(pong1.try_recv().is_err(), || {
        "extra reply on frame 1".into()
    })?;
    ensure(main1.try_recv().is_err(), || {
        "sender.send reached frame 1 (it must go to frame 0)".into()
    })?;
    ensure(direct0.try_recv().is_err(), || {
        "send_to_frame(1) reached frame 0".into()
    })?;
    ensure(direct1.try_recv().is_err(), || {
        "send_to_frame(99) reached frame 1".into()
    })
}

fn scopes() -> Check {
    let r = connect()?;
    ready(&r, &args![])?;
    r.send("order", &args![])
        .map_err(|e| format!("send(order): {e}"))?;
    let v = call("send_sync(order-sync)", r.send_sync("order-sync", &args![]))?;
    expect_eq(
        "send_sync(order-sync): the scope's value",
        v,
        Value::from("wc"),
    )?;
    let v = call("invoke(who)", r.invoke_blocking("who", &args![]))?;
    expect_eq("invoke(who) with a scoped handler", v, Value::from("wc"))?;
    // invoke never reaches `on` listeners.
    let e = fails("invoke(order)", r.invoke_blocking("order", &args![]))?;
    expect_eq(
        "invoke(order)",
        e.to_string(),
        "Error invoking remote method 'order': Error: No handler registered for 'order'".into(),
    )?;
    // send_sync never reaches handlers.
    let e = fails("send_sync(who)", r.send_sync("who", &args![]))?;
    ensure(matches!(e, CallError::SendSync { .. }), || {
        format!("send_sync(who): want CallError::SendSync, got {e:?}")
    })?;
    let v = call(
        "send_sync(drop-scoped-handler)",
        r.send_sync("drop-scoped-handler", &args![]),
    )?;
    expect_eq("send_sync(drop-scoped-handler)", v, Value::from(true))?;
    let v = call(
        "invoke(who) after removal",
        r.invoke_blocking("who", &args![]),
    )?;
    expect_eq(
        "invoke(who) without the scoped handler",
        v,
        Value::from("global"),
    )
}

fn invoke_expect(argv: &[String]) -> Check {
    let channel = argv.first().ok_or("missing channel")?;
    let want = argv.get(1).ok_or("missing expected value")?;
    let r = connect()?;
    let v = call(
        &format!("invoke({channel})"),
        r.invoke_blocking(channel, &args![]),
    )?;
    expect_eq(&format!("invoke({channel})"), v, Value::from(want.as_str()))
}

// ---- load (api_load.rs) ----

/// Invokes in flight at once per renderer.
const WINDOW: usize = 32;

fn load(argv: &[String]) -> Check {
    let idx = arg_i64(argv, 0, "index")?;
    let count = arg_i64(argv, 1, "count")?;
    let r = connect()?;
    ready(&r, &args![idx])?;
    let mut in_flight = VecDeque::with_capacity(WINDOW);
    let check = |i: i64, v: Result<Value, CallError>| -> Check {
        let v = call(&format!("renderer {idx} invoke {i}"), v)?;
        expect_eq(
            &format!("renderer {idx} invoke {i}"),
            v,
            Value::from(load_answer(idx, i)),
        )
    };
    for i in 0..count {
        if i % 64 == 63 {
            // Now and then a blocking invoke (reply through a response slot).
            check(i, r.invoke_blocking("work", &args![idx, i]))?;
            continue;
        }
        if in_flight.len() == WINDOW {
            let (j, f): (i64, electrode::Invoke) = in_flight.pop_front().ok_or("empty")?;
            check(j, f.wait(Some(HANG_GUARD)))?;
        }
        in_flight.push_back((i, r.invoke("work", &args![idx, i])));
    }
    for (j, f) in in_flight {
        check(j, f.wait(Some(HANG_GUARD)))?;
    }
    let v = call(
        "send_sync(load-done)",
        r.send_sync("load-done", &args![idx]),
    )?;
    expect_eq("invokes main answered for me", v, Value::from(count))
}

// ---- renderer death (api_renderer_killed.rs) ----

fn victim() -> Check {
    let r = connect()?;
    // Main's invoke of `never` stays pending (this handler tells main it started, then
    // blocks the receive thread) until this process is killed.
    let me = r.clone();
    r.handle("never", move |_| {
        let _ = me.send("in-handler", &args![]);
        loop {
            std::thread::park();
        }
    })
    .map_err(|e| format!("handle(never): {e}"))?;
    ready(&r, &args!["victim"])?;
    let v = r.invoke_blocking("hold", &args![]);
    Err(format!(
        "invoke(hold) returned {v:?}; this renderer should have been killed while it waited"
    ))
}

fn worker(argv: &[String]) -> Check {
    let idx = arg_i64(argv, 0, "index")?;
    let r = connect()?;
    ready(&r, &args!["worker", idx])?;
    for i in 0.. {
        let v = call(
            &format!("worker {idx} tick {i}"),
            r.invoke_blocking("tick", &args![idx, i]),
        )?;
        let a = v.as_array().ok_or_else(|| format!("tick {i}: {v:?}"))?;
        expect_eq(
            &format!("tick {i}: echoed index"),
            a.first(),
            Some(&Value::from(i)),
        )?;
        if a.get(1) == Some(&Value::from("stop")) {
            return Ok(());
        }
    }
    unreachable!()
}

// ---- main death (api_main_death.rs) ----

/// Where each pending call's outcome is printed (one line per call; the test reads them).
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

/// One blocking call, run on its own thread.
type Call = Box<dyn FnOnce(IpcRenderer) -> Result<Value, CallError> + Send>;

fn pending_calls() -> Check {
    let r = connect()?;
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
            Box::new(|r| block_on(r.invoke("hold", &args![]))),
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
    // Once main is gone, every call fails at once.
    ensure(r.is_disconnected(), || "is_disconnected() is false".into())?;
    let after = [
        ("invoke_blocking", r.invoke_blocking("x", &args![])),
        ("send_sync", r.send_sync("x", &args![])),
        ("invoke", block_on(r.invoke("x", &args![]))),
        (
            "send",
            r.send("x", &args![])
                .map(|()| Value::Null)
                .map_err(CallError::from),
        ),
    ];
    for (name, res) in after {
        if !matches!(res, Err(CallError::Disconnected)) {
            failures.push(format!("{name} after main died: {}", outcome(&res)));
        }
    }
    ensure(failures.is_empty(), || failures.join("; "))
}

fn main_host() -> Check {
    let main = Main::new().map_err(|e| format!("Main::new: {e}"))?;
    let (tx, rx) = mpsc::channel::<&str>();
    let held_replies = Arc::new(Mutex::new(Vec::new()));
    let held_events: Arc<Mutex<Vec<IpcMainEvent>>> = Arc::default();
    {
        let (tx, held) = (Mutex::new(tx.clone()), held_replies.clone());
        main.ipc()
            .handle_deferred("hold", move |_, _, reply| {
                held.lock().unwrap_or_else(|e| e.into_inner()).push(reply);
                let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send("hold");
            })
            .map_err(|e| format!("handle_deferred: {e}"))?;
    }
    {
        let (tx, held) = (Mutex::new(tx), held_events.clone());
        main.ipc().on("hold-sync", move |e, _| {
            held.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(e.clone());
            let _ = tx
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .send("hold-sync");
        });
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("pending-calls");
    let wc = main
        .spawn_renderer(cmd)
        .map_err(|e| format!("spawn pending-calls: {e}"))?;
    for _ in 0..3 {
        rx.recv_timeout(HANG_GUARD)
            .map_err(|e| format!("the grandchild's calls did not all arrive: {e}"))?;
    }
    report(&format!("pid {}", wc.pid()));
    // Wait to be killed (the self-watchdog ends a forgotten host).
    loop {
        std::thread::park();
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(role) = argv.first().cloned() else {
        eprintln!("usage: api_renderer <role> [args] (roles: see the source's doc comment)");
        std::process::exit(EXIT_USAGE);
    };
    let rest = &argv[1..];
    let script: Box<dyn FnOnce() -> Check> = match role.as_str() {
        "handle-once" => Box::new(handle_once),
        "async-handler" => Box::new(async_handler),
        "errors" => Box::new(errors),
        "main-invoke" => Box::new(main_invoke),
        "payloads" => Box::new(payloads),
        "big-receive" => Box::new(big_receive),
        "big-replies" => Box::new(big_replies),
        "ordering" => Box::new(|| ordering(rest)),
        "return-value" => Box::new(return_value),
        "frames" => Box::new(frames),
        "scopes" => Box::new(scopes),
        "invoke-expect" => Box::new(|| invoke_expect(rest)),
        "load" => Box::new(|| load(rest)),
        "victim" => Box::new(victim),
        "worker" => Box::new(|| worker(rest)),
        "pending-calls" => Box::new(pending_calls),
        "main-host" => Box::new(main_host),
        other => {
            eprintln!("api_renderer: unknown role `{other}`");
            std::process::exit(EXIT_USAGE);
        }
    };
    run_role(&role, script)
}
