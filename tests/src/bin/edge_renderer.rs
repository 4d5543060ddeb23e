//! `edge_renderer <role>`: the renderer processes of `tests/tests/api_edges.rs` and
//! `tests/tests/api_limits.rs`, the edges an outside test found in the API.
//!
//! Roles:
//! - `edges`: every input the renderer's own API refuses is refused at the call, with the
//!   right error, and nothing of it reaches main: channel names over `MAX_CHANNEL_LEN` on every
//!   path (`send`, `send_sync`, `invoke_blocking`, the invoke future and its `wait`), among them
//!   `"ping"` followed by 64 KiB (which once landed on `ping`); arguments nested too deep (the
//!   nesting error with the value's path); a 200 MiB message (refused before it is encoded: the
//!   process's peak memory does not grow by the message's size); frames past `MAX_FRAMES`.
//!   Also: `Invoke::wait` keeps the channel name in its error. Then the renderer is still
//!   connected and served (main counts the `ping`s it got: none), and exits 0.
//! - `stall`: a listener on `block` that never returns stalls the receive thread; says ready,
//!   then waits to be killed (main fills its outbox meanwhile).
//! - `idle`: says ready, then waits for `bye` and exits 0.

use electrode::{
    args, CallError, IpcRenderer, SendError, Value, MAX_CHANNEL_LEN, MAX_FRAMES, MAX_MESSAGE_LEN,
};
use electrode_tests::api_kit::{ensure, expect_eq, run_role, Check, HANG_GUARD, READY};
use electrode_tests::protocol::EXIT_USAGE;
use std::sync::mpsc;

fn connect() -> Result<IpcRenderer, String> {
    IpcRenderer::connect().map_err(|e| format!("connect: {e}"))
}

/// Peak resident memory of this process (`VmHWM`), in bytes.
fn peak_rss() -> Result<usize, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| "no VmHWM in /proc/self/status".into())
}

/// A value nested one level deeper than the wire format allows.
fn too_deep() -> Value {
    let mut v = Value::Null;
    for _ in 0..=electrode::wire::MAX_DEPTH {
        v = Value::Array(vec![v]);
    }
    v
}

fn refused_call(what: &str, r: Result<Value, CallError>, want: &SendError) -> Check {
    match r {
        Err(CallError::Send(e)) if &e == want => Ok(()),
        other => Err(format!("{what}: got {other:?}, want Send({want:?})")),
    }
}

fn channel_names(r: &IpcRenderer) -> Check {
    let long = "x".repeat(MAX_CHANNEL_LEN + 1);
    let ping_64k = format!("ping{}", "x".repeat(64 * 1024));
    for name in [long, ping_64k] {
        let want = SendError::ChannelTooLong {
            len: name.len(),
            limit: MAX_CHANNEL_LEN,
        };
        expect_eq(
            "send(long name)",
            r.send(&name, &args![1]),
            Err(want.clone()),
        )?;
        refused_call("send_sync(long name)", r.send_sync(&name, &args![1]), &want)?;
        refused_call(
            "invoke_blocking(long)",
            r.invoke_blocking(&name, &args![1]),
            &want,
        )?;
        let fut = futures::executor::block_on(r.invoke(&name, &args![1]));
        refused_call("invoke(long).await", fut, &want)?;
        let waited = r.invoke(&name, &args![1]).wait(Some(HANG_GUARD));
        refused_call("invoke(long).wait", waited, &want)?;
        expect_eq(
            "the error's text",
            want.to_string(),
            format!(
                "channel name of {} bytes is longer than the limit of {MAX_CHANNEL_LEN} bytes",
                name.len()
            ),
        )?;
    }
    // The longest name allowed works, both ways.
    let max = "y".repeat(MAX_CHANNEL_LEN);
    let v = r.invoke_blocking(&max, &args![5]);
    expect_eq("invoke(longest allowed name)", v, Ok(Value::from(5)))?;
    let v = futures::executor::block_on(r.invoke(&max, &args![6]));
    expect_eq("invoke(longest allowed name).await", v, Ok(Value::from(6)))
}

fn nesting(r: &IpcRenderer) -> Check {
    let deep = args![too_deep()];
    let e = r.send("ping", &deep).unwrap_err();
    let SendError::Unencodable(inner) = &e else {
        return Err(format!("send(too deep): got {e:?}, want Unencodable"));
    };
    let text = e.to_string();
    ensure(
        text.contains("nested more than") && text.contains("args[0][0][0]"),
        || format!("send(too deep): the error does not name the nesting and path: {text}"),
    )?;
    let source = std::error::Error::source(&e).map(|s| s.to_string());
    expect_eq("send(too deep).source()", source, Some(inner.to_string()))?;
    let want = e.clone();
    refused_call("invoke(too deep)", r.invoke_blocking("echo", &deep), &want)?;
    refused_call("send_sync(too deep)", r.send_sync("ping", &deep), &want)
}

fn size_limit(r: &IpcRenderer) -> Check {
    const BIG: usize = 200 << 20;
    // Touched, so it is resident before the peak is read.
    let big = args![Value::Bytes(vec![1u8; BIG])];
    let before = peak_rss()?;
    let e = r.send("ping", &big).unwrap_err();
    match &e {
        SendError::TooLarge { size, limit } if *size > BIG && *limit == MAX_MESSAGE_LEN => {}
        other => return Err(format!("send(200 MiB): got {other:?}, want TooLarge")),
    }
    refused_call("invoke(200 MiB)", r.invoke_blocking("echo", &big), &e)?;
    let grew = peak_rss()?.saturating_sub(before);
    // Encoding would have needed another 200 MiB; a refusal at the call needs nothing.
    ensure(grew < 32 << 20, || {
        format!("refusing a 200 MiB message raised the peak memory by {grew} bytes")
    })
}

fn frames(r: &IpcRenderer) -> Check {
    // Frame 0 exists; announce the rest up to the limit.
    for id in 1..MAX_FRAMES as u32 {
        r.frame(id).map_err(|e| format!("frame({id}): {e}"))?;
    }
    let e = r.frame(MAX_FRAMES as u32).unwrap_err();
    expect_eq(
        "frame past the limit",
        e,
        SendError::TooManyFrames { limit: MAX_FRAMES },
    )?;
    // A known frame is still fine, and it still works.
    let f = r.frame(7).map_err(|e| format!("frame(7) again: {e}"))?;
    expect_eq(
        "invoke from frame 7",
        f.invoke_blocking("echo", &args![7]),
        Ok(Value::from(7)),
    )
}

fn edges() -> Check {
    let r = connect()?;
    channel_names(&r)?;
    nesting(&r)?;
    size_limit(&r)?;
    frames(&r)?;
    let e = r
        .invoke("missing", &args![])
        .wait(Some(HANG_GUARD))
        .unwrap_err();
    expect_eq(
        "Invoke::wait on a channel without a handler",
        e.to_string(),
        "Error invoking remote method 'missing': Error: No handler registered for 'missing'"
            .to_string(),
    )?;
    // Still connected, still served, and no refused message reached main.
    expect_eq(
        "invoke(echo) after it all",
        r.invoke_blocking("echo", &args![9]),
        Ok(Value::from(9)),
    )?;
    let pings = r.send_sync("ping-count", &args![]);
    expect_eq("pings main received", pings, Ok(Value::from(0)))
}

fn stall() -> Check {
    let r = connect()?;
    r.on("block", |_e, _a| loop {
        std::thread::park();
    });
    r.send_sync(READY, &args![])
        .map_err(|e| format!("ready: {e}"))?;
    loop {
        std::thread::park();
    }
}

fn idle() -> Check {
    let r = connect()?;
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    r.on("bye", move |_e, _a| {
        let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send(());
    });
    r.send_sync(READY, &args![])
        .map_err(|e| format!("ready: {e}"))?;
    rx.recv_timeout(HANG_GUARD)
        .map_err(|e| format!("no bye from main: {e}"))
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let role = argv.first().map(String::as_str).unwrap_or("");
    let script: fn() -> Check = match role {
        "edges" => edges,
        "stall" => stall,
        "idle" => idle,
        other => {
            eprintln!("edge_renderer: unknown role {other:?}");
            std::process::exit(EXIT_USAGE);
        }
    };
    run_role(role, script)
}
