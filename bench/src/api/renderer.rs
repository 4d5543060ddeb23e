//! The renderer process of the API benchmarks ([`Role::Renderer`](crate::role)).
//!
//! It is already pinned (by [`crate::role::serve_if_role`], before any thread starts, so
//! Electrode's receive and watcher threads share the CPU). It connects with
//! [`IpcRenderer::connect_with`], registers its listeners and its `ECHO` handler, says `READY`,
//! and then runs the [`Command`]s main sends on its main thread, one at a time, answering each
//! with `RESULT` (or `ERROR`, after which it exits). Latency commands time every operation
//! here, in the renderer, and send the samples back as one `Bytes` value. Every answer is
//! checked; the first wrong one ends the command with an error.

use super::block_on::block_on;
use super::flood_renderer::Flooder;
use super::port_renderer::Ports;
use super::protocol::{
    check_echo, encode_samples, restamp, Command, Op, Payload, CMD, DATA, ECHO, ECHO_SYNC, ERROR,
    FLUSH, PING, PONG, READY, RESULT, WC_DATA, WC_DONE,
};
use super::typed_protocol::{Block64, RENDERER_ECHO64};
use super::typed_renderer;
use crate::pingpong::{ticks, ticks_to_ns};
use electrode::{CallError, IpcRenderer, IpcRendererEvent, RendererOptions, Value, WaitMode};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a renderer waits for main's `event.reply` chain to finish before giving up.
const CHAIN_TIMEOUT: Duration = Duration::from_secs(120);

fn ipc_err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// The `WebContents::send` stream as this renderer sees it.
struct WcStream {
    /// Messages received so far (= the next expected sequence number).
    next: AtomicU64,
    /// Say `WC_DONE` when `next` reaches this.
    target: AtomicU64,
    payload: Mutex<Payload>,
    failed: AtomicBool,
}

/// The `event.reply` ping-pong in progress, driven by the `PONG` listener.
struct Chain {
    payload: Payload,
    args: Vec<Value>,
    seq: u64,
    warmup: u64,
    iters: u64,
    /// Measuring stops this long after the warm-up ended.
    cap: Option<Duration>,
    deadline: Option<Instant>,
    sent_at: u64,
    samples: Vec<u64>,
    done: mpsc::Sender<Result<Vec<u64>, String>>,
}

struct Renderer {
    ipc: IpcRenderer,
    chain: Arc<Mutex<Option<Chain>>>,
    wc: Arc<WcStream>,
    /// Next `DATA` sequence number (main expects them in order from 0).
    data_seq: u64,
    /// Next typed `DATA16` sequence number (likewise).
    typed_seq: u64,
    /// The MessagePort rows' state.
    ports: Ports,
    /// The fairness row's flood.
    flood: Flooder,
}

/// Play the renderer (its blocking calls waiting in `wait_mode`, or Electrode's default) until
/// main kills it; an error is also sent to main (`ERROR`).
pub(crate) fn serve_renderer(wait_mode: Option<WaitMode>) -> Result<(), String> {
    let mut options = RendererOptions::default();
    if let Some(m) = wait_mode {
        options.wait_mode = m;
    }
    let ipc = IpcRenderer::connect_with(options).map_err(ipc_err("connecting to main"))?;

    let (cmd_tx, cmd_rx) = mpsc::channel::<Result<Command, String>>();
    ipc.on(CMD, move |_e, args| {
        let c = Command::parse(args).ok_or_else(|| "malformed command".to_string());
        let _ = cmd_tx.send(c);
    });

    ipc.handle(ECHO, |args| {
        Ok(args.get(0).map_or(Value::Null, |v| v.to_value()))
    })
    .map_err(ipc_err("handle"))?;
    RENDERER_ECHO64
        .handle(&ipc, |b| Ok(Block64::from_archived(b)))
        .map_err(ipc_err("typed handle"))?;

    let wc = Arc::new(WcStream {
        next: AtomicU64::new(0),
        target: AtomicU64::new(u64::MAX),
        payload: Mutex::new(Payload::new(64)),
        failed: AtomicBool::new(false),
    });
    let w = wc.clone();
    ipc.on(WC_DATA, move |event, args| on_wc_data(&w, event, args));

    let chain: Arc<Mutex<Option<Chain>>> = Arc::new(Mutex::new(None));
    let c = chain.clone();
    ipc.on(PONG, move |event, args| on_pong(&c, event, args));

    let ports = Ports::install(&ipc);
    let flood = Flooder::install(&ipc);

    ipc.send(READY, &[]).map_err(ipc_err("saying ready"))?;
    let mut r = Renderer {
        ipc,
        chain,
        wc,
        data_seq: 0,
        typed_seq: 0,
        ports,
        flood,
    };
    // Ends when main kills us (or dies: PR_SET_PDEATHSIG).
    for cmd in cmd_rx {
        let outcome = cmd.and_then(|cmd| r.execute(cmd).map(|v| (cmd.id, v)));
        match outcome {
            Ok((id, v)) => r
                .ipc
                .send(RESULT, &[Value::from(id as i64), v])
                .map_err(ipc_err("sending a result"))?,
            Err(msg) => {
                let _ = r.ipc.send(ERROR, &[Value::from(msg.as_str())]);
                return Err(msg);
            }
        }
    }
    Ok(())
}

fn on_wc_data(w: &WcStream, event: &IpcRendererEvent, args: &electrode::ArgsView<'_>) {
    if w.failed.load(Ordering::Relaxed) {
        return;
    }
    let seq = w.next.load(Ordering::Relaxed);
    let checked = match w.payload.lock() {
        Ok(p) => p.check_args(args, seq),
        Err(_) => Err("poisoned".into()),
    };
    if let Err(e) = checked {
        w.failed.store(true, Ordering::Relaxed);
        let msg = format!("WebContents::send stream: {e}");
        let _ = event.sender().send(ERROR, &[Value::from(msg.as_str())]);
        return;
    }
    w.next.store(seq + 1, Ordering::Relaxed);
    if seq + 1 == w.target.load(Ordering::Relaxed) {
        let _ = event
            .sender()
            .send(WC_DONE, &[Value::from((seq + 1) as i64)]);
    }
}

fn on_pong(chain: &Mutex<Option<Chain>>, event: &IpcRendererEvent, args: &electrode::ArgsView<'_>) {
    let now = ticks();
    let Ok(mut guard) = chain.lock() else { return };
    let Some(c) = guard.as_mut() else { return };
    if let Err(e) = c.payload.check_args(args, c.seq) {
        if let Some(c) = guard.take() {
            let _ = c.done.send(Err(format!("event.reply: {e}")));
        }
        return;
    }
    if c.seq > c.warmup {
        c.samples.push(ticks_to_ns(now.wrapping_sub(c.sent_at)));
    } else if c.seq == c.warmup {
        c.deadline = c.cap.map(|cap| Instant::now() + cap);
    }
    let n = c.samples.len() as u64;
    let out_of_time = n.is_multiple_of(64) && c.deadline.is_some_and(|d| Instant::now() >= d);
    if n >= c.iters || (n > 0 && out_of_time) {
        if let Some(c) = guard.take() {
            let _ = c.done.send(Ok(c.samples));
        }
        return;
    }
    c.seq += 1;
    restamp(&mut c.args, c.seq);
    c.sent_at = ticks();
    if let Err(e) = event.sender().send(PING, &c.args) {
        if let Some(c) = guard.take() {
            let _ = c.done.send(Err(format!("send(ping): {e}")));
        }
    }
}

/// Time `cmd.iters` calls of `call` (after `cmd.warmup` untimed ones), each checked against
/// the echo it must return. Stops early at `cmd.cap_ms`.
pub(crate) fn latency<E: std::fmt::Display>(
    cmd: &Command,
    call: impl FnMut(&[Value]) -> Result<Value, E>,
) -> Result<Vec<u64>, String> {
    latency_with(cmd, call, |sent, got, seq| check_echo(sent, &got, seq))
}

/// [`latency`] with any answer `R`, checked (untimed) by `check(sent, answer, seq)`.
pub(crate) fn latency_with<R, E: std::fmt::Display>(
    cmd: &Command,
    mut call: impl FnMut(&[Value]) -> Result<R, E>,
    mut check: impl FnMut(&[Value], R, u64) -> Result<(), String>,
) -> Result<Vec<u64>, String> {
    let payload = Payload::new(cmd.payload as usize);
    let mut args = payload.args(0);
    let mut seq = 0u64;
    for _ in 0..cmd.warmup {
        seq += 1;
        restamp(&mut args, seq);
        let r = call(&args).map_err(ipc_err(cmd.op.name()))?;
        check(&args, r, seq)?;
    }
    let deadline = (cmd.cap_ms > 0).then(|| Instant::now() + Duration::from_millis(cmd.cap_ms));
    let mut out = Vec::with_capacity(cmd.iters.min(1 << 20) as usize);
    for i in 0..cmd.iters {
        seq += 1;
        restamp(&mut args, seq);
        let t0 = ticks();
        let r = call(&args);
        let t1 = ticks();
        let r = r.map_err(ipc_err(cmd.op.name()))?;
        check(&args, r, seq)?;
        out.push(ticks_to_ns(t1.wrapping_sub(t0)));
        if i % 16 == 15 && deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    Ok(out)
}

/// `iters` checked calls timed as a whole (criterion's `iter_custom`).
fn timed(
    cmd: &Command,
    mut call: impl FnMut(&[Value]) -> Result<Value, CallError>,
) -> Result<u64, String> {
    let payload = Payload::new(cmd.payload as usize);
    let mut args = payload.args(0);
    let start = Instant::now();
    for seq in 1..=cmd.iters {
        restamp(&mut args, seq);
        let r = call(&args).map_err(ipc_err(cmd.op.name()))?;
        check_echo(&args, &r, seq)?;
    }
    Ok(start.elapsed().as_nanos() as u64)
}

impl Renderer {
    fn execute(&mut self, cmd: Command) -> Result<Value, String> {
        let ipc = self.ipc.clone();
        match cmd.op {
            Op::Invoke => {
                latency(&cmd, |a| ipc.invoke_blocking(ECHO, a)).map(|s| encode_samples(&s))
            }
            Op::InvokeAsync => {
                latency(&cmd, |a| block_on(ipc.invoke(ECHO, a))).map(|s| encode_samples(&s))
            }
            Op::SendSync => {
                latency(&cmd, |a| ipc.send_sync(ECHO_SYNC, a)).map(|s| encode_samples(&s))
            }
            Op::Reply => self.reply_chain(&cmd).map(|s| encode_samples(&s)),
            Op::InvokeTimed => timed(&cmd, |a| ipc.invoke_blocking(ECHO, a)).map(int),
            Op::SendSyncTimed => timed(&cmd, |a| ipc.send_sync(ECHO_SYNC, a)).map(int),
            Op::SendTimed => {
                let start = Instant::now();
                self.send_data(&cmd)?;
                let counted = ipc.invoke_blocking(FLUSH, &[]).map_err(ipc_err("flush"))?;
                if counted.as_i64() != Some(self.data_seq as i64) {
                    return Err(format!(
                        "main counted {counted} messages, {} were sent",
                        self.data_seq
                    ));
                }
                Ok(int(start.elapsed().as_nanos() as u64))
            }
            Op::SendBurst => {
                let start = Instant::now();
                self.send_data(&cmd)?;
                Ok(int(start.elapsed().as_nanos() as u64))
            }
            Op::InvokeTokio => typed_renderer::value_invoke_tokio(&ipc, &cmd).map(samples),
            Op::TypedInvoke16 => typed_renderer::invoke16(&ipc, &cmd).map(samples),
            Op::TypedInvoke64 => typed_renderer::invoke64(&ipc, &cmd).map(samples),
            Op::TypedInvoke16Tokio => typed_renderer::invoke16_tokio(&ipc, &cmd).map(samples),
            Op::TypedEchoBytes => typed_renderer::echo_bytes(&ipc, &cmd).map(samples),
            Op::TypedSendBurst => {
                let start = Instant::now();
                typed_renderer::send_burst(&ipc, cmd.iters, &mut self.typed_seq)?;
                Ok(int(start.elapsed().as_nanos() as u64))
            }
            Op::PortPing => self.ports.ping(&cmd).map(samples),
            Op::PortEcho => self.ports.echo().map(int),
            Op::PortBurst => self.ports.burst(&cmd).map(int),
            Op::PortCount => self.ports.count(&cmd).map(int),
            Op::RelayPing => self.ports.relay_ping(&ipc, &cmd).map(samples),
            Op::PortIdle => self.ports.idle().map(int),
            Op::TypedPortPing => self.ports.typed_ping(&cmd).map(samples),
            Op::TypedPortEcho => self.ports.typed_echo().map(int),
            Op::Flood => self.flood.run(&ipc, &cmd).map(int),
            Op::Expect => {
                if self.wc.failed.load(Ordering::Relaxed) {
                    return Err("the WebContents::send stream already failed".into());
                }
                let next = self.wc.next.load(Ordering::Relaxed);
                *self.wc.payload.lock().map_err(|_| "poisoned")? =
                    Payload::new(cmd.payload as usize);
                self.wc.target.store(next + cmd.iters, Ordering::Relaxed);
                Ok(int(next))
            }
        }
    }

    /// `cmd.iters` one-way `DATA` messages, as fast as the ring takes them.
    fn send_data(&mut self, cmd: &Command) -> Result<(), String> {
        let payload = Payload::new(cmd.payload as usize);
        let mut args = payload.args(self.data_seq);
        for _ in 0..cmd.iters {
            restamp(&mut args, self.data_seq);
            self.ipc.send(DATA, &args).map_err(ipc_err("send"))?;
            self.data_seq += 1;
        }
        Ok(())
    }

    /// `send(PING)` → main's listener `event.reply(PONG)` → our `PONG` listener, which records
    /// the round trip and sends the next ping from the receive thread (as a single-threaded
    /// renderer would).
    fn reply_chain(&mut self, cmd: &Command) -> Result<Vec<u64>, String> {
        let payload = Payload::new(cmd.payload as usize);
        let args = payload.args(1);
        let (done, finished) = mpsc::channel();
        let cap = (cmd.cap_ms > 0).then(|| Duration::from_millis(cmd.cap_ms));
        *self.chain.lock().map_err(|_| "poisoned")? = Some(Chain {
            payload,
            args: args.clone(),
            seq: 1,
            warmup: cmd.warmup,
            iters: cmd.iters.max(1),
            cap,
            deadline: if cmd.warmup == 0 {
                cap.map(|c| Instant::now() + c)
            } else {
                None
            },
            sent_at: ticks(),
            samples: Vec::with_capacity(cmd.iters.min(1 << 20) as usize),
            done,
        });
        if let Some(c) = self.chain.lock().map_err(|_| "poisoned")?.as_mut() {
            c.sent_at = ticks();
        }
        self.ipc.send(PING, &args).map_err(ipc_err("send(ping)"))?;
        match finished.recv_timeout(CHAIN_TIMEOUT) {
            Ok(r) => r,
            Err(_) => Err("the event.reply chain stalled".into()),
        }
    }
}

fn samples(ns: Vec<u64>) -> Value {
    encode_samples(&ns)
}

fn int(v: u64) -> Value {
    Value::from(v as i64)
}
