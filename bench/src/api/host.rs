//! [`Host`]: the main process of the API benchmarks. It owns a real [`electrode::Main`] whose
//! dispatcher thread is pinned to one CPU, registers the benchmark's handlers and listeners on
//! the global `ipcMain`, spawns renderer processes (this executable in the renderer role),
//! and drives them with commands. Dropping it kills its renderers.
//!
//! Main's side of every path answers for real: `handle(ECHO)` returns its argument,
//! `on(ECHO_SYNC)` sets it as the return value, `on(PING)` answers with `event.reply(PONG)`,
//! and `on(DATA)` checks every one-way message's sequence number and payload per renderer.
//! The typed channels of [`super::typed_protocol`] likewise: `ADD16` adds, `ECHO64` and
//! `ECHO_BYTES` echo (reading the request in place), `DATA16`'s listener checks and counts.

use super::protocol::{
    check_echo, decode_samples, restamp, Command, Op, Payload, CMD, DATA, ECHO, ECHO_SYNC, ERROR,
    FLUSH, PING, PONG, READY, RESULT, WC_DATA, WC_DONE,
};
use super::typed_protocol::{
    ArchivedMsg16, Block64, ADD16, DATA16, ECHO64, ECHO_BYTES, MSG16_PAYLOAD, MSG_CHECK,
    RENDERER_ECHO64,
};
use super::BenchError;
use crate::pingpong::{pin_current_thread, ticks, ticks_to_ns, Samples};
use crate::role::{self, Role};
use electrode::{
    ArgsView, GoneDetails, IpcMainEvent, Main, RegisterError, SendError, Value, WaitMode,
    WebContents,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Payload bytes of every one-way `DATA` message.
pub const DATA_PAYLOAD: usize = 64;

/// Longest wait for any one event from a renderer before the benchmark gives up.
const WATCHDOG: Duration = Duration::from_secs(120);

/// Most renderers one host may count `DATA` for (WebContents ids are small and sequential).
/// Renderer ids index the stream counters (ids start at 1).
const MAX_RENDERERS: usize = 257;

enum Event {
    Ready(u32),
    Result { wc: u32, id: u64, value: Value },
    Failed { wc: u32, message: String },
    Gone { wc: u32, details: GoneDetails },
    Counted,
    WcDone { wc: u32, count: u64 },
}

/// Main's bookkeeping of the one-way `DATA` streams (touched by the dispatcher thread only,
/// read by the benchmark thread).
struct DataCounts {
    /// Next expected sequence number per WebContents id.
    next: Vec<AtomicU64>,
    /// Next expected typed `DATA16` sequence number per WebContents id.
    typed_next: Vec<AtomicU64>,
    total: AtomicU64,
    /// Say `Counted` when `total` reaches this.
    target: AtomicU64,
    failed: AtomicBool,
    payload: Payload,
}

impl DataCounts {
    fn on_data(&self, e: &IpcMainEvent, args: &ArgsView<'_>, tx: &mpsc::Sender<Event>) {
        if self.failed.load(Ordering::Relaxed) {
            return;
        }
        let wc = e.sender().id();
        let Some(next) = self.next.get(wc as usize) else {
            self.fail(tx, wc, format!("renderer id {wc} out of range"));
            return;
        };
        let seq = next.load(Ordering::Relaxed);
        if let Err(why) = self.payload.check_args(args, seq) {
            self.fail(tx, wc, format!("one-way send stream: {why}"));
            return;
        }
        next.store(seq + 1, Ordering::Relaxed);
        self.count_one(tx);
    }

    /// A typed `DATA16` message, read in place: in sequence and intact.
    fn on_typed(&self, e: &IpcMainEvent, m: &ArchivedMsg16, tx: &mpsc::Sender<Event>) {
        if self.failed.load(Ordering::Relaxed) {
            return;
        }
        let wc = e.sender().id();
        let Some(next) = self.typed_next.get(wc as usize) else {
            self.fail(tx, wc, format!("renderer id {wc} out of range"));
            return;
        };
        let seq = next.load(Ordering::Relaxed);
        let (got, check) = (m.seq.to_native(), m.check.to_native());
        if got != seq || check != got ^ MSG_CHECK {
            self.fail(
                tx,
                wc,
                format!("typed send stream: expected message {seq}, got {got} (check {check:x})"),
            );
            return;
        }
        next.store(seq + 1, Ordering::Relaxed);
        self.count_one(tx);
    }

    fn count_one(&self, tx: &mpsc::Sender<Event>) {
        let total = self.total.load(Ordering::Relaxed) + 1;
        self.total.store(total, Ordering::Relaxed);
        if total == self.target.load(Ordering::Relaxed) {
            let _ = tx.send(Event::Counted);
        }
    }

    fn fail(&self, tx: &mpsc::Sender<Event>, wc: u32, message: String) {
        self.failed.store(true, Ordering::Relaxed);
        let _ = tx.send(Event::Failed { wc, message });
    }
}

/// Messages moved in a time, and the rates that follow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throughput {
    /// Messages counted by the receiver.
    pub messages: u64,
    /// Payload bytes per message.
    pub payload: usize,
    /// From the start order to the receiver counting the last message.
    pub elapsed: Duration,
}

impl Throughput {
    /// Messages per second.
    pub fn per_sec(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(1e-12)
    }

    /// Payload gigabytes (1e9 bytes) per second.
    pub fn gb_per_sec(&self) -> f64 {
        self.per_sec() * self.payload as f64 / 1e9
    }
}

/// The main process of an API benchmark: one [`Main`] and its renderers.
pub struct Host {
    // Field order is drop order: Main goes first (killing the renderers).
    main: Main,
    events: mpsc::Receiver<Event>,
    tx: mpsc::Sender<Event>,
    counts: Arc<DataCounts>,
    exe: PathBuf,
    main_cpu: Option<usize>,
    wait_mode: Option<WaitMode>,
    next_id: u64,
    stash: Vec<Event>,
    pids: Vec<(u32, u32)>,
    renderers: Vec<WebContents>,
    /// Who each renderer's `RELAY` sends go to (the MessagePort rows' relayed exchange).
    pub(super) relay: Arc<super::port_host::Relay>,
    /// The fairness row's flood streams.
    pub(super) flood: Arc<super::flood_host::Flood>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("main_cpu", &self.main_cpu)
            .field("renderers", &self.pids.len())
            .finish()
    }
}

impl Host {
    /// Start main with its dispatcher pinned to `main_cpu` (the calling thread is pinned while
    /// the dispatcher thread starts, which inherits the mask). `exe` is the renderer executable:
    /// one whose `main` calls [`crate::role::serve_if_role`] (the `electrode-bench` binary).
    pub fn new(main_cpu: Option<usize>, exe: &Path) -> Result<Host, BenchError> {
        Self::with_wait_mode(main_cpu, exe, None)
    }

    /// [`Host::new`] with a wait mode for main's dispatcher and for every renderer's blocking
    /// calls instead of Electrode's default (to try spin budgets).
    pub fn with_wait_mode(
        main_cpu: Option<usize>,
        exe: &Path,
        wait_mode: Option<WaitMode>,
    ) -> Result<Host, BenchError> {
        Self::build(main_cpu, exe, wait_mode, DATA_PAYLOAD)
    }

    /// [`Host::new`] whose one-way `DATA` streams ([`send_throughput`](Self::send_throughput))
    /// carry `payload` bytes per message instead of [`DATA_PAYLOAD`].
    pub fn with_data_payload(
        main_cpu: Option<usize>,
        exe: &Path,
        payload: usize,
    ) -> Result<Host, BenchError> {
        Self::build(main_cpu, exe, None, payload)
    }

    fn build(
        main_cpu: Option<usize>,
        exe: &Path,
        wait_mode: Option<WaitMode>,
        data_payload: usize,
    ) -> Result<Host, BenchError> {
        let pin = main_cpu.map(pin_current_thread).transpose()?;
        let mut builder = Main::builder();
        if let Some(m) = wait_mode {
            builder = builder.wait_mode(m);
        }
        let main = builder
            .build()
            .map_err(BenchError::io("starting electrode::Main"))?;
        drop(pin);
        let (tx, events) = mpsc::channel();
        let counts = Arc::new(DataCounts {
            next: (0..MAX_RENDERERS).map(|_| AtomicU64::new(0)).collect(),
            typed_next: (0..MAX_RENDERERS).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            target: AtomicU64::new(u64::MAX),
            failed: AtomicBool::new(false),
            payload: Payload::new(data_payload),
        });
        register(&main, &tx, &counts).map_err(BenchError::ipc("registering handlers"))?;
        let relay = super::port_host::Relay::install(&main);
        let flood = super::flood_host::Flood::install(&main, DATA_PAYLOAD);
        Ok(Host {
            main,
            events,
            tx,
            counts,
            exe: exe.to_path_buf(),
            main_cpu,
            wait_mode,
            next_id: 0,
            stash: Vec::new(),
            pids: Vec::new(),
            renderers: Vec::new(),
            relay,
            flood,
        })
    }

    /// The electrode main process object.
    pub fn main(&self) -> &Main {
        &self.main
    }

    /// Spawn `n` renderers pinned to `cpu` (or unpinned) and wait until each said ready.
    pub fn spawn(&mut self, n: usize, cpu: Option<usize>) -> Result<Vec<WebContents>, BenchError> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let role = Role::Renderer {
                wait_mode: self.wait_mode,
            };
            let cmd = role::command(&self.exe, cpu, role)?;
            let wc = self
                .main
                .spawn_renderer(cmd)
                .map_err(BenchError::ipc("spawning a renderer"))?;
            let tx = self.tx.clone();
            let id = wc.id();
            wc.on_render_process_gone(move |details| {
                let _ = tx.send(Event::Gone {
                    wc: id,
                    details: *details,
                });
            });
            self.pids.push((id, wc.pid()));
            self.renderers.push(wc.clone());
            out.push(wc);
        }
        for wc in &out {
            let id = wc.id();
            self.wait_for("a renderer to say ready", |e| match e {
                Event::Ready(w) if *w == id => Some(()),
                _ => None,
            })?;
        }
        Ok(out)
    }

    fn pid_of(&self, wc: u32) -> u32 {
        self.pids
            .iter()
            .find(|(w, _)| *w == wc)
            .map_or(0, |(_, p)| *p)
    }

    /// Wait for the first event `pick` accepts; a failure or death of any renderer is an error.
    fn wait_for<T>(
        &mut self,
        what: &'static str,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> Result<T, BenchError> {
        if let Some(i) = self.stash.iter().position(|e| pick(e).is_some()) {
            let e = self.stash.remove(i);
            if let Some(t) = pick(&e) {
                return Ok(t);
            }
        }
        let deadline = Instant::now() + WATCHDOG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let e = self
                .events
                .recv_timeout(left)
                .map_err(|_| BenchError::Timeout(what))?;
            match &e {
                Event::Failed { wc, message } => {
                    return Err(BenchError::Renderer {
                        pid: self.pid_of(*wc),
                        message: message.clone(),
                    })
                }
                Event::Gone { wc, details } => {
                    return Err(BenchError::RendererGone {
                        pid: self.pid_of(*wc),
                        details: *details,
                    })
                }
                _ => {}
            }
            if let Some(t) = pick(&e) {
                return Ok(t);
            }
            self.stash.push(e);
        }
    }

    /// Send a command to a renderer; returns its id for [`Host::result`].
    pub(super) fn start(
        &mut self,
        wc: &WebContents,
        op: Op,
        iters: u64,
        payload: usize,
        warmup: u64,
        cap: Option<Duration>,
    ) -> Result<u64, BenchError> {
        self.next_id += 1;
        let cmd = Command {
            id: self.next_id,
            op,
            iters,
            payload: payload as u64,
            warmup,
            cap_ms: cap.map_or(0, |c| c.as_millis().max(1) as u64),
        };
        wc.send(CMD, &cmd.to_values())
            .map_err(BenchError::ipc("sending a command"))?;
        Ok(cmd.id)
    }

    /// Wait for the result of command `id` from `wc`.
    pub(super) fn result(&mut self, wc: &WebContents, id: u64) -> Result<Value, BenchError> {
        let w = wc.id();
        self.wait_for("a renderer's result", |e| match e {
            Event::Result { wc, id: i, value } if *wc == w && *i == id => Some(value.clone()),
            _ => None,
        })
    }

    /// Have `wc` time `iters` operations of kind `op` (one of the latency ops) after `warmup`
    /// untimed ones, stopping after `cap`; returns the renderer's samples.
    pub(crate) fn renderer_latency(
        &mut self,
        wc: &WebContents,
        op: Op,
        payload: usize,
        iters: u64,
        warmup: u64,
        cap: Option<Duration>,
    ) -> Result<Samples, BenchError> {
        let id = self.start(wc, op, iters, payload, warmup, cap)?;
        let v = self.result(wc, id)?;
        let ns =
            decode_samples(&v).ok_or_else(|| BenchError::wrong("samples are not a byte buffer"))?;
        Ok(Samples::from_nanos(ns))
    }

    /// Have `wc` run `iters` operations of kind `op` (a `*Timed` op) and return the total time.
    pub(crate) fn renderer_timed(
        &mut self,
        wc: &WebContents,
        op: Op,
        iters: u64,
        payload: usize,
    ) -> Result<Duration, BenchError> {
        let id = self.start(wc, op, iters, payload, 0, None)?;
        let v = self.result(wc, id)?;
        let ns = v
            .as_i64()
            .ok_or_else(|| BenchError::wrong("a timed result is not a number"))?;
        Ok(Duration::from_nanos(ns.max(0) as u64))
    }

    /// Main → renderer `WebContents::invoke` round trips (blocking form), timed by main on its
    /// own thread (pinned to main's CPU meanwhile); each answer is checked.
    pub fn main_invoke_latency(
        &mut self,
        wc: &WebContents,
        payload: usize,
        iters: u64,
        warmup: u64,
        cap: Option<Duration>,
    ) -> Result<Samples, BenchError> {
        let _pin = self.main_cpu.map(pin_current_thread).transpose()?;
        let p = Payload::new(payload);
        let mut args = p.args(0);
        let mut seq = 0;
        let call = |args: &[Value]| wc.invoke_blocking(ECHO, args, Some(WATCHDOG));
        for _ in 0..warmup {
            seq += 1;
            restamp(&mut args, seq);
            let r = call(&args).map_err(BenchError::ipc("WebContents::invoke"))?;
            check_echo(&args, &r, seq).map_err(BenchError::wrong)?;
        }
        let deadline = cap.map(|c| Instant::now() + c);
        let mut ns = Vec::with_capacity(iters.min(1 << 20) as usize);
        for i in 0..iters {
            seq += 1;
            restamp(&mut args, seq);
            let t0 = ticks();
            let r = call(&args);
            let t1 = ticks();
            let r = r.map_err(BenchError::ipc("WebContents::invoke"))?;
            check_echo(&args, &r, seq).map_err(BenchError::wrong)?;
            ns.push(ticks_to_ns(t1.wrapping_sub(t0)));
            if i % 16 == 15 && deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
        }
        Ok(Samples::from_nanos(ns))
    }

    /// Main → renderer typed `RendererInvokeChannel<Block64, Block64>` round trips (64 bytes
    /// each way; `invoke(..)` waited on, i.e. `invoke_blocking`), timed by main on its own
    /// thread (pinned to main's CPU meanwhile); each echo is checked.
    pub fn main_typed_invoke_latency(
        &mut self,
        wc: &WebContents,
        iters: u64,
        warmup: u64,
        cap: Option<Duration>,
    ) -> Result<Samples, BenchError> {
        let _pin = self.main_cpu.map(pin_current_thread).transpose()?;
        let call = |seq: u64| {
            let req = Block64::new(seq);
            RENDERER_ECHO64.invoke_blocking(wc, &req, Some(WATCHDOG))
        };
        let mut seq = 0;
        for _ in 0..warmup {
            seq += 1;
            let r = call(seq).map_err(BenchError::ipc("typed WebContents invoke"))?;
            Block64::check(&r, seq).map_err(BenchError::wrong)?;
        }
        let deadline = cap.map(|c| Instant::now() + c);
        let mut ns = Vec::with_capacity(iters.min(1 << 20) as usize);
        for i in 0..iters {
            seq += 1;
            let req = Block64::new(seq);
            let t0 = ticks();
            let r = RENDERER_ECHO64.invoke_blocking(wc, &req, Some(WATCHDOG));
            let t1 = ticks();
            let r = r.map_err(BenchError::ipc("typed WebContents invoke"))?;
            Block64::check(&r, seq).map_err(BenchError::wrong)?;
            ns.push(ticks_to_ns(t1.wrapping_sub(t0)));
            if i % 16 == 15 && deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
        }
        Ok(Samples::from_nanos(ns))
    }

    /// One-way `send` throughput into main's `DATA` listener: every renderer in `renderers`
    /// sends `per_renderer` messages of [`DATA_PAYLOAD`] bytes at once; the time runs from the
    /// first start order to main's listener counting (and checking) the last message.
    pub fn send_throughput(
        &mut self,
        renderers: &[WebContents],
        per_renderer: u64,
    ) -> Result<Throughput, BenchError> {
        let payload = self.counts.payload.bytes();
        self.burst_throughput(renderers, per_renderer, Op::SendBurst, payload)
    }

    /// [`send_throughput`](Self::send_throughput) over the typed `SendChannel<Msg16>`
    /// (16-byte messages; main's listener reads each in place and checks its sequence).
    pub fn typed_send_throughput(
        &mut self,
        renderers: &[WebContents],
        per_renderer: u64,
    ) -> Result<Throughput, BenchError> {
        self.burst_throughput(renderers, per_renderer, Op::TypedSendBurst, MSG16_PAYLOAD)
    }

    fn burst_throughput(
        &mut self,
        renderers: &[WebContents],
        per_renderer: u64,
        op: Op,
        payload: usize,
    ) -> Result<Throughput, BenchError> {
        let total = per_renderer * renderers.len() as u64;
        let counted = self.counts.total.load(Ordering::Relaxed);
        self.counts.target.store(counted + total, Ordering::Relaxed);
        let start = Instant::now();
        let mut ids = Vec::with_capacity(renderers.len());
        for wc in renderers {
            ids.push(self.start(wc, op, per_renderer, payload, 0, None)?);
        }
        self.wait_for("main to count every one-way message", |e| {
            matches!(e, Event::Counted).then_some(())
        })?;
        let elapsed = start.elapsed();
        for (wc, id) in renderers.iter().zip(ids) {
            self.result(wc, id)?;
        }
        Ok(Throughput {
            messages: total,
            payload,
            elapsed,
        })
    }

    /// `WebContents::send` throughput, main → one renderer: main sends `count` messages of
    /// `payload` bytes from this thread (pinned to main's CPU); the time runs to the renderer's
    /// listener counting (and checking) the last one. When main's outbox is full, main yields
    /// and retries (Electrode never blocks main on a renderer).
    pub fn web_contents_send_throughput(
        &mut self,
        wc: &WebContents,
        count: u64,
        payload: usize,
    ) -> Result<Throughput, BenchError> {
        let id = self.start(wc, Op::Expect, count, payload, 0, None)?;
        let first = self
            .result(wc, id)?
            .as_i64()
            .ok_or_else(|| BenchError::wrong("expect: not a number"))? as u64;
        let _pin = self.main_cpu.map(pin_current_thread).transpose()?;
        let p = Payload::new(payload);
        let mut args = p.args(first);
        let start = Instant::now();
        for seq in first..first + count {
            restamp(&mut args, seq);
            loop {
                match wc.send(WC_DATA, &args) {
                    Ok(()) => break,
                    Err(SendError::Full) => std::thread::yield_now(),
                    Err(err) => return Err(BenchError::ipc("WebContents::send")(err)),
                }
            }
        }
        let w = wc.id();
        let got = self.wait_for("the renderer to count every message", |e| match e {
            Event::WcDone { wc, count } if *wc == w => Some(*count),
            _ => None,
        })?;
        let elapsed = start.elapsed();
        if got != first + count {
            return Err(BenchError::wrong(format!(
                "renderer counted {got} messages, expected {}",
                first + count
            )));
        }
        Ok(Throughput {
            messages: count,
            payload,
            elapsed,
        })
    }

    /// Process ids of the renderers spawned so far.
    pub fn renderer_pids(&self) -> Vec<u32> {
        self.pids.iter().map(|(_, p)| *p).collect()
    }
}

impl Drop for Host {
    /// Kills the renderers and waits until main has reaped them, before `Main` is dropped.
    ///
    /// Work-around: `Main::drop` sets its shutdown flag before it kills its children, so the
    /// dispatcher may already be in `finish()` for a renderer, having taken its `Child` out
    /// (which `Main::drop` then cannot kill), blocked in `Child::wait()` on a renderer that
    /// never exits, while `Main::drop` joins the dispatcher: a deadlock (seen here).
    fn drop(&mut self) {
        for wc in &self.renderers {
            // Not yet reaped by main (gone details are set after `wait`), so the pid is still
            // this renderer's and cannot name another process.
            if wc.gone_details().is_none() {
                // SAFETY: kill(2) takes a pid and a signal number; it touches no memory.
                unsafe { libc::kill(wc.pid() as libc::pid_t, libc::SIGKILL) };
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && self.renderers.iter().any(|w| w.gone_details().is_none())
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn first_value(args: &ArgsView<'_>) -> Value {
    args.get(0).map_or(Value::Null, |v| v.to_value())
}

/// The benchmark's side of every path, on the global `ipcMain`.
fn register(
    main: &Main,
    tx: &mpsc::Sender<Event>,
    counts: &Arc<DataCounts>,
) -> Result<(), RegisterError> {
    let ipc = main.ipc();
    ipc.handle(ECHO, |_e, args| Ok(first_value(args)))?;
    ipc.on(ECHO_SYNC, |e, args| {
        e.set_return_value(first_value(args));
    });
    ipc.on(PING, |e, args| {
        let _ = e.reply(PONG, &args.to_values());
    });
    let c = counts.clone();
    let t = tx.clone();
    ipc.on(DATA, move |e, args| c.on_data(e, args, &t));
    let c = counts.clone();
    ipc.handle(FLUSH, move |e, _args| {
        let n = c
            .next
            .get(e.sender().id() as usize)
            .map_or(0, |a| a.load(Ordering::Relaxed));
        Ok(Value::from(n as i64))
    })?;
    ADD16.handle(ipc, |_e, r| {
        Ok(r.a.to_native().wrapping_add(r.b.to_native()))
    })?;
    ECHO64.handle(ipc, |_e, b| Ok(Block64::from_archived(b)))?;
    ECHO_BYTES.handle(ipc, |_e, v| Ok(v.as_slice().to_vec()))?;
    let c = counts.clone();
    let t = tx.clone();
    DATA16.on(ipc, move |e, m| c.on_typed(e, m, &t));
    let t = tx.clone();
    ipc.on(READY, move |e, _args| {
        let _ = t.send(Event::Ready(e.sender().id()));
    });
    let t = tx.clone();
    ipc.on(RESULT, move |e, args| {
        let id = args.get(0).and_then(|v| v.as_i64()).unwrap_or(-1);
        let _ = t.send(Event::Result {
            wc: e.sender().id(),
            id: id as u64,
            value: args.get(1).map_or(Value::Null, |v| v.to_value()),
        });
    });
    let t = tx.clone();
    ipc.on(ERROR, move |e, args| {
        let message = args
            .get(0)
            .and_then(|v| v.as_str())
            .unwrap_or("(no message)")
            .to_string();
        let _ = t.send(Event::Failed {
            wc: e.sender().id(),
            message,
        });
    });
    let t = tx.clone();
    ipc.on(WC_DONE, move |e, args| {
        let count = args.get(0).and_then(|v| v.as_i64()).unwrap_or(-1);
        let _ = t.send(Event::WcDone {
            wc: e.sender().id(),
            count: count as u64,
        });
    });
    Ok(())
}
