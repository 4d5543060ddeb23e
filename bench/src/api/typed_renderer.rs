//! The renderer's timed loops for the typed channels and for the async rows on tokio.
//!
//! Each loop builds (or re-stamps) the request before the first timestamp, times the call
//! alone, and checks the answer after the second timestamp (a reply read in place is checked
//! where it lies, inside the call: that is the price of reading in place). The first wrong
//! answer ends the command with an error.

use super::protocol::{Command, Payload, ECHO};
use super::typed_protocol::{
    bytes_request, check_bytes, Block64, Msg16, Req16, ADD16, ADDEND, DATA16, ECHO64, ECHO_BYTES,
    MSG_CHECK,
};
use crate::pingpong::{ticks, ticks_to_ns};
use electrode::{CallError, IpcRenderer, Value};
use std::future::Future;
use std::time::{Duration, Instant};

/// The cap's deadline, if the command has one.
fn deadline(cmd: &Command) -> Option<Instant> {
    (cmd.cap_ms > 0).then(|| Instant::now() + Duration::from_millis(cmd.cap_ms))
}

/// Time `cmd.iters` calls (after `cmd.warmup` untimed ones): `stamp` makes `req` message
/// `seq` (untimed), `call` is timed, `check` judges its answer (untimed).
fn timed_loop<Q, R>(
    cmd: &Command,
    mut req: Q,
    mut stamp: impl FnMut(&mut Q, u64),
    mut call: impl FnMut(&Q) -> Result<R, CallError>,
    check: impl Fn(&R, u64) -> Result<(), String>,
) -> Result<Vec<u64>, String> {
    let what = cmd.op.name();
    let mut seq = 0u64;
    for _ in 0..cmd.warmup {
        seq += 1;
        stamp(&mut req, seq);
        let r = call(&req).map_err(|e| format!("{what}: {e}"))?;
        check(&r, seq)?;
    }
    let deadline = deadline(cmd);
    let mut out = Vec::with_capacity(cmd.iters.min(1 << 20) as usize);
    for i in 0..cmd.iters {
        seq += 1;
        stamp(&mut req, seq);
        let t0 = ticks();
        let r = call(&req);
        let t1 = ticks();
        let r = r.map_err(|e| format!("{what}: {e}"))?;
        check(&r, seq)?;
        out.push(ticks_to_ns(t1.wrapping_sub(t0)));
        if i % 16 == 15 && deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    Ok(out)
}

/// [`timed_loop`] awaiting each call, run on a fresh tokio current-thread runtime (built
/// before the loop; its construction is not timed).
fn tokio_loop<Q, R, Fut>(
    cmd: &Command,
    mut req: Q,
    mut stamp: impl FnMut(&mut Q, u64),
    mut call: impl FnMut(&Q) -> Fut,
    check: impl Fn(&R, u64) -> Result<(), String>,
) -> Result<Vec<u64>, String>
where
    Fut: Future<Output = Result<R, CallError>>,
{
    let what = cmd.op.name();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| format!("{what}: starting a tokio runtime: {e}"))?;
    rt.block_on(async {
        let mut seq = 0u64;
        for _ in 0..cmd.warmup {
            seq += 1;
            stamp(&mut req, seq);
            let r = call(&req).await.map_err(|e| format!("{what}: {e}"))?;
            check(&r, seq)?;
        }
        let deadline = deadline(cmd);
        let mut out = Vec::with_capacity(cmd.iters.min(1 << 20) as usize);
        for i in 0..cmd.iters {
            seq += 1;
            stamp(&mut req, seq);
            let t0 = ticks();
            let r = call(&req).await;
            let t1 = ticks();
            let r = r.map_err(|e| format!("{what}: {e}"))?;
            check(&r, seq)?;
            out.push(ticks_to_ns(t1.wrapping_sub(t0)));
            if i % 16 == 15 && deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
        }
        Ok(out)
    })
}

fn stamp16(r: &mut Req16, seq: u64) {
    r.a = seq;
}

fn check16(sum: &u64, seq: u64) -> Result<(), String> {
    if *sum == seq.wrapping_add(ADDEND) {
        Ok(())
    } else {
        Err(format!("typed add of message {seq}: got {sum}"))
    }
}

fn req16() -> Req16 {
    Req16 { a: 0, b: ADDEND }
}

/// `ADD16.invoke_blocking` round trips.
pub(crate) fn invoke16(ipc: &IpcRenderer, cmd: &Command) -> Result<Vec<u64>, String> {
    timed_loop(
        cmd,
        req16(),
        stamp16,
        |r| ADD16.invoke_blocking(ipc, r),
        check16,
    )
}

/// `ADD16.invoke(..).await` round trips on tokio.
pub(crate) fn invoke16_tokio(ipc: &IpcRenderer, cmd: &Command) -> Result<Vec<u64>, String> {
    tokio_loop(cmd, req16(), stamp16, |r| ADD16.invoke(ipc, r), check16)
}

/// `ECHO64.invoke_blocking` round trips.
pub(crate) fn invoke64(ipc: &IpcRenderer, cmd: &Command) -> Result<Vec<u64>, String> {
    timed_loop(
        cmd,
        Block64::new(0),
        |b, seq| *b = Block64::new(seq),
        |b| ECHO64.invoke_blocking(ipc, b),
        Block64::check,
    )
}

/// `invoke(ECHO, [bytes]).await` round trips on tokio (the `Value` path, `cmd.payload` bytes).
pub(crate) fn value_invoke_tokio(ipc: &IpcRenderer, cmd: &Command) -> Result<Vec<u64>, String> {
    let payload = Payload::new(cmd.payload as usize);
    tokio_loop(
        cmd,
        payload.args(0),
        |a: &mut Vec<Value>, seq| super::protocol::restamp(a, seq),
        |a| ipc.invoke(ECHO, a),
        |v: &Value, seq| match v.as_bytes() {
            Some(b) => payload.check(b, seq),
            None => Err(format!("echo of message {seq} is a {}", v.kind())),
        },
    )
}

/// `ECHO_BYTES.invoke_with` of `cmd.payload` bytes, the reply checked where it lies.
pub(crate) fn echo_bytes(ipc: &IpcRenderer, cmd: &Command) -> Result<Vec<u64>, String> {
    let len = cmd.payload as usize;
    timed_loop(
        cmd,
        bytes_request(len, 0),
        |v, seq| v[..8].copy_from_slice(&seq.to_le_bytes()),
        |v| {
            let mut seq = [0u8; 8];
            seq.copy_from_slice(&v[..8]);
            let seq = u64::from_le_bytes(seq);
            ECHO_BYTES.invoke_with(ipc, v, |got| check_bytes(got.as_slice(), len, seq))
        },
        |r, _| r.clone(),
    )
}

/// `iters` typed one-way messages, numbered from `*next` on.
pub(crate) fn send_burst(ipc: &IpcRenderer, iters: u64, next: &mut u64) -> Result<(), String> {
    for _ in 0..iters {
        let m = Msg16 {
            seq: *next,
            check: *next ^ MSG_CHECK,
        };
        DATA16
            .send(ipc, &m)
            .map_err(|e| format!("typed send: {e}"))?;
        *next += 1;
    }
    Ok(())
}
