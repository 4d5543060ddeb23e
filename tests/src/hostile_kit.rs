//! Support for the hostile-renderer, crash, backpressure and isolation tests
//! (`tests/tests/{hostile_*,crash_*,backpressure,isolation}.rs`).
//!
//! The test process is main (an [`electrode::Main`]); renderers are the helper binary
//! `hostile_renderer <role> [args]` (`src/bin/hostile_renderer/`). Well-behaved roles use
//! `IpcRenderer`; hostile ones take their segment with `Handoff::receive`, write frames through
//! the ring producer, and map the segment a second time to scribble anywhere in it.
//!
//! What both sides share lives here: the wire constants (message kinds, envelope layout, ring
//! and slot header offsets) a hostile role needs to forge bytes, a deterministic random
//! generator, and, for main's side, spawning with `render-process-gone` capture, the echo
//! service the well-behaved renderer checks, and re-running a test in a child process to read
//! what main logged.
//!
//! `tests/tests/hostile_kit_layout.rs` checks every wire constant and the forging and parsing
//! helpers here against the real encoder and `electrode_shm`, so the two cannot drift apart.
//!
//! A renderer reports to the test on its stdout, which [`Spawned::spawn`] sends to a file:
//! lines `ok <what>` for each check that held and `FAIL <what>` for one that did not.

use crate::child::ChildGuard;
use electrode::wire::ArgsView;
use electrode::{GoneDetails, GoneReason, Main, SpawnOptions, Value, WebContents};
use electrode_shm::AlignedBuf;
use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long a test waits for anything before declaring a hang. A hang guard far above the
/// expected time, never a performance bound.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// A renderer outliving its test by this much exits on its own ([`EXIT_WATCHDOG`]).
pub const CHILD_WATCHDOG: Duration = Duration::from_secs(300);

/// Renderer exit code: every check held.
pub const EXIT_OK: i32 = 0;
/// Renderer exit code: a check failed (a `FAIL` line says which).
pub const EXIT_FAILED: i32 = 1;
/// Renderer exit code: bad command line.
pub const EXIT_USAGE: i32 = 2;
/// Renderer exit code: main went away.
pub const EXIT_MAIN_GONE: i32 = 3;
/// Renderer exit code: a hostile role ran out of its budget without being disconnected.
pub const EXIT_NOT_DISCONNECTED: i32 = 4;
/// Renderer exit code: its self-watchdog fired.
pub const EXIT_WATCHDOG: i32 = 124;

/// Message kinds (frame tags), as `electrode`'s private `protocol::Kind` numbers them.
pub mod kind {
    /// `ipcRenderer.send`.
    pub const SEND: u16 = 1;
    /// `ipcRenderer.sendSync` (reply into the envelope's slot).
    pub const SEND_SYNC: u16 = 2;
    /// `ipcRenderer.invoke` (slot, or ring with [`super::FLAG_REPLY_VIA_RING`]).
    pub const INVOKE: u16 = 3;
    /// A renderer handler's reply to main.
    pub const HANDLER_REPLY: u16 = 4;
    /// A frame announces itself.
    pub const FRAME_OPEN: u16 = 5;
    /// Main to renderer: `webContents.send`.
    pub const MESSAGE: u16 = 16;
    /// Main to renderer: a reply too large for its slot.
    pub const LARGE_REPLY: u16 = 17;
    /// Main to renderer: reply to an async invoke.
    pub const REPLY: u16 = 18;
    /// Main to renderer: main invokes a renderer handler.
    pub const INVOKE_RENDERER: u16 = 19;
    /// Main to renderer: an async slot's reply is published (wake its future).
    pub const SLOT_READY: u16 = 20;
    /// Main to renderer: main closed the renderer's WebContents.
    pub const CLOSE: u16 = 30;
    /// The renderer closed its side (main then drops what it sends: keep it last, so forgers
    /// that pick among the first five kinds never close their own connection).
    pub const CLOSING: u16 = 31;
    /// Either way (and in port rings): `postMessage`, one `Value` then port records.
    pub const POST_MESSAGE: u16 = 40;
    /// Renderer to main: a port end's memfd forwarded through main.
    pub const PORT_FORWARD: u16 = 41;
    /// Renderer to main: a port end crossing through main was closed.
    pub const PORT_CLOSED: u16 = 42;
    /// Every kind a renderer may send (`CLOSING` last: forgers that pick among the first five
    /// kinds never close their own connection).
    pub const RENDERER_TO_MAIN: [u16; 9] = [
        SEND,
        SEND_SYNC,
        INVOKE,
        HANDLER_REPLY,
        FRAME_OPEN,
        POST_MESSAGE,
        PORT_FORWARD,
        PORT_CLOSED,
        CLOSING,
    ];
    /// Every kind only main may send.
    pub const MAIN_TO_RENDERER: [u16; 6] = [
        MESSAGE,
        LARGE_REPLY,
        REPLY,
        INVOKE_RENDERER,
        SLOT_READY,
        CLOSE,
    ];
}

/// Envelope flag: the payload is an error.
pub const FLAG_ERROR: u8 = 1;
/// Envelope flag: answer an invoke through the ring (`Reply`), not the slot.
pub const FLAG_REPLY_VIA_RING: u8 = 2;
/// Slot aux bit: the reply is an error `[name, message, has_data, data]`.
pub const AUX_ERROR: u32 = 1;
/// Bytes of the envelope in front of the channel name.
pub const ENVELOPE_LEN: usize = 32;

/// Offsets inside a ring's page (docs/MEMORY_LAYOUT.md): `head`, `tail`, the `data` and `space`
/// events, and the data bytes.
pub mod ring {
    /// Consumer position (`AtomicU64`).
    pub const HEAD: usize = 0;
    /// Producer position (`AtomicU64`).
    pub const TAIL: usize = 128;
    /// The consumer's wake word (`seq: u32, sleeping: u32`).
    pub const DATA_EVENT: usize = 256;
    /// The producer's wake word.
    pub const SPACE_EVENT: usize = 384;
    /// Data bytes start one page after the header.
    pub const DATA: usize = 4096;
    /// Frame header length.
    pub const FRAME_HEADER: usize = 16;
    /// Frame kinds (byte 4 of a frame header).
    pub const PAD: u8 = 1;
    /// A whole message.
    pub const WHOLE: u8 = 2;
    /// First chunk.
    pub const FIRST: u8 = 3;
    /// Middle chunk.
    pub const MIDDLE: u8 = 4;
    /// Last chunk.
    pub const LAST: u8 = 5;
    /// A message in the ring's bulk area (payload: its length, u64 LE).
    pub const BULK: u8 = 6;

    /// A 16-byte frame header.
    pub fn frame_header(len: u32, kind: u8, tag: u16, meta: u64) -> [u8; 16] {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&len.to_le_bytes());
        h[4] = kind;
        h[6..8].copy_from_slice(&tag.to_le_bytes());
        h[8..16].copy_from_slice(&meta.to_le_bytes());
        h
    }

    /// Bytes a frame with `len` payload bytes takes in the ring.
    pub fn frame_size(len: usize) -> usize {
        FRAME_HEADER + len.div_ceil(16) * 16
    }
}

/// Offsets inside a slot header (docs/MEMORY_LAYOUT.md): the claim word main compare-and-swaps
/// before it writes a reply, and the ready word the requester arms and main publishes.
pub mod slot {
    /// Bytes per slot header in the header table.
    pub const HEADER: usize = 128;
    /// The claim word (`generation << 8 | state`), first word of the header.
    pub const CLAIM: usize = 0;
    /// The ready word (`generation << 8 | state`), on the header's second cache line.
    pub const READY: usize = 64;
}

/// The fixed part of a message, with every field under the test's control.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    /// Flags ([`FLAG_ERROR`], [`FLAG_REPLY_VIA_RING`]).
    pub flags: u8,
    /// Written instead of the channel's true length when set (a lying length).
    pub channel_len: Option<u16>,
    /// The sending frame.
    pub frame_id: u32,
    /// Response slot index.
    pub slot_index: u32,
    /// Response slot generation.
    pub slot_gen: u32,
    /// Request id (async invoke, handler reply).
    pub request_id: u64,
}

/// Where the arguments start in a message whose channel is `channel_len` bytes long.
pub fn args_offset(channel_len: usize) -> usize {
    (ENVELOPE_LEN + channel_len).div_ceil(16) * 16
}

/// A message payload: envelope, `channel` (any bytes), zero padding to 16, then `args`.
pub fn message(env: &Envelope, channel: &[u8], args: &[u8]) -> Vec<u8> {
    let off = args_offset(channel.len());
    let mut m = vec![0u8; off + args.len()];
    m[0] = env.flags;
    let clen = env.channel_len.unwrap_or(channel.len() as u16);
    m[2..4].copy_from_slice(&clen.to_le_bytes());
    m[4..8].copy_from_slice(&env.frame_id.to_le_bytes());
    m[8..12].copy_from_slice(&env.slot_index.to_le_bytes());
    m[12..16].copy_from_slice(&env.slot_gen.to_le_bytes());
    m[16..24].copy_from_slice(&env.request_id.to_le_bytes());
    m[ENVELOPE_LEN..ENVELOPE_LEN + channel.len()].copy_from_slice(channel);
    m[off..].copy_from_slice(args);
    m
}

/// Parse a message main wrote (trusted): its envelope (`channel_len` as stated) and a
/// 16-aligned copy of its arguments.
pub fn parse_message(b: &[u8]) -> Result<(Envelope, AlignedBuf), String> {
    if b.len() < ENVELOPE_LEN {
        return Err("short message from main".into());
    }
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let clen = u16::from_le_bytes([b[2], b[3]]);
    let mut id = [0u8; 8];
    id.copy_from_slice(&b[16..24]);
    let env = Envelope {
        flags: b[0],
        channel_len: Some(clen),
        frame_id: u32_at(4),
        slot_index: u32_at(8),
        slot_gen: u32_at(12),
        request_id: u64::from_le_bytes(id),
    };
    let off = args_offset(clen as usize);
    let mut args = AlignedBuf::new();
    args.extend_from_slice(b.get(off..).ok_or("args past the end")?);
    Ok((env, args))
}

/// A reply main wrote: `Ok(value)`, or `Err((name, message))` when `aux` has [`AUX_ERROR`]
/// (for a reply through the ring, pass [`AUX_ERROR`] when the envelope has [`FLAG_ERROR`]).
/// `Err` when the bytes are no reply at all.
pub fn decode_reply(aux: u32, bytes: &[u8]) -> Result<Result<Value, (String, String)>, String> {
    let view = ArgsView::new(bytes).map_err(|e| format!("undecodable reply: {e}"))?;
    if aux & AUX_ERROR != 0 {
        let s = |i: usize| {
            view.get(i)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        Ok(Err((s(0), s(1))))
    } else {
        Ok(Ok(view.get(0).ok_or("empty reply")?.to_value()))
    }
}

/// The wire bytes of an argument list.
pub fn args(values: &[Value]) -> Vec<u8> {
    electrode::wire::encode_to_vec(values)
        .expect("encode arguments")
        .to_vec()
}

/// A valid message: default envelope, `channel`, `values`.
pub fn valid_message(channel: &str, values: &[Value]) -> Vec<u8> {
    message(&Envelope::default(), channel.as_bytes(), &args(values))
}

pub use crate::pattern::Rng;

/// Mutate `bytes` in place: `flips` random edits (bit flips, random bytes, boundary words at
/// 4-aligned offsets, truncation or extension at the end).
pub fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>, flips: usize) {
    for _ in 0..flips {
        match rng.index(6) {
            0 | 1 if !bytes.is_empty() => {
                let i = rng.index(bytes.len());
                bytes[i] ^= 1 << rng.index(8);
            }
            2 if !bytes.is_empty() => {
                let i = rng.index(bytes.len());
                bytes[i] = rng.next_u64() as u8;
            }
            3 if bytes.len() >= 4 => {
                let i = rng.index(bytes.len() / 4) * 4;
                let v = rng.edgy_u32();
                bytes[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            4 if !bytes.is_empty() => {
                let n = rng.index(bytes.len().min(64)) + 1;
                bytes.truncate(bytes.len() - n);
            }
            _ => {
                let n = rng.index(32) + 1;
                let extra = rng.bytes(n);
                bytes.extend_from_slice(&extra);
            }
        }
    }
}

/// `rounds` mutated inputs through `decode`: each a random corpus entry with 1-6 [`mutate`]
/// edits, its tag replaced by `any_tag` one time in 16. Returns (accepted, refused).
pub fn mutation_rounds(
    rng: &mut Rng,
    corpus: &[(u16, Vec<u8>)],
    rounds: usize,
    any_tag: impl Fn(&mut Rng) -> u16,
    decode: impl Fn(u16, &[u8]) -> bool,
) -> (u64, u64) {
    let (mut accepted, mut refused) = (0u64, 0u64);
    for _ in 0..rounds {
        let (tag, base) = &corpus[rng.index(corpus.len())];
        let mut m = base.clone();
        let flips = 1 + rng.index(6);
        mutate(rng, &mut m, flips);
        let tag = if rng.chance(1, 16) {
            any_tag(rng)
        } else {
            *tag
        };
        if decode(tag, &m) {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    (accepted, refused)
}

/// A fresh directory under the system temp dir, removed on drop.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// Create it (the name is unique to this process and call).
    pub fn new(label: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("electrode-{label}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a scratch directory");
        Scratch { dir }
    }

    /// A path inside it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A renderer spawned by a test: its `render-process-gone` reports (counted) and its stdout.
pub struct Spawned {
    /// Main's handle on it.
    pub wc: WebContents,
    /// What it runs (for messages).
    pub label: String,
    gone: Receiver<GoneDetails>,
    gone_calls: Arc<AtomicUsize>,
    out: PathBuf,
    _scratch: Scratch,
}

impl std::fmt::Debug for Spawned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawned")
            .field("label", &self.label)
            .field("pid", &self.wc.pid())
            .finish()
    }
}

impl Spawned {
    /// Spawn `cmd` as a renderer of `main`, its stdout going to a file ([`output`](Self::output)),
    /// and count its `render-process-gone` reports.
    pub fn spawn(main: &Main, cmd: Command) -> Spawned {
        Spawned::spawn_with(main, cmd, SpawnOptions::default())
    }

    /// [`spawn`](Self::spawn) with spawn options (e.g. a sandbox).
    pub fn spawn_with(main: &Main, mut cmd: Command, options: SpawnOptions) -> Spawned {
        let label = format!(
            "{:?}",
            std::iter::once(cmd.get_program())
                .chain(cmd.get_args())
                .map(|a| Path::new(a)
                    .file_name()
                    .unwrap_or(a)
                    .to_string_lossy()
                    .into_owned())
                .collect::<Vec<_>>()
        );
        let scratch = Scratch::new("renderer-out");
        let out = scratch.path("stdout");
        let file = File::create(&out).expect("create the renderer's stdout file");
        cmd.stdout(Stdio::from(file));
        let wc = main
            .spawn_renderer_with(cmd, options)
            .unwrap_or_else(|e| panic!("spawn renderer {label}: {e}"));
        let (tx, gone) = mpsc::channel();
        let tx = Mutex::new(tx);
        let gone_calls = Arc::new(AtomicUsize::new(0));
        let calls = gone_calls.clone();
        wc.on_render_process_gone(move |d| {
            calls.fetch_add(1, Ordering::SeqCst);
            let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send(*d);
        });
        Spawned {
            wc,
            label,
            gone,
            gone_calls,
            out,
            _scratch: scratch,
        }
    }

    /// The renderer's OS pid.
    pub fn pid(&self) -> u32 {
        self.wc.pid()
    }

    /// Wait (up to [`HANG_GUARD`]) for `render-process-gone`; its details.
    pub fn wait_gone(&self) -> GoneDetails {
        match self.gone.recv_timeout(HANG_GUARD) {
            Ok(d) => d,
            Err(e) => panic!(
                "renderer {} (pid {}) not gone after {HANG_GUARD:?} ({e:?}); its output:\n{}",
                self.label,
                self.pid(),
                self.output()
            ),
        }
    }

    /// Wait for `render-process-gone` and assert it says `reason`.
    pub fn expect_gone(&self, reason: GoneReason) -> GoneDetails {
        let d = self.wait_gone();
        assert_eq!(
            d.reason,
            reason,
            "renderer {} (pid {}): render-process-gone {d:?}; its output:\n{}",
            self.label,
            self.pid(),
            self.output()
        );
        d
    }

    /// Wait for the renderer to exit 0 (all its checks held).
    pub fn expect_clean_exit(&self) {
        self.expect_gone(GoneReason::CleanExit);
        self.expect_no_failures();
    }

    /// How many times `render-process-gone` has been emitted for it.
    pub fn gone_calls(&self) -> usize {
        self.gone_calls.load(Ordering::SeqCst)
    }

    /// Everything it printed on stdout so far.
    pub fn output(&self) -> String {
        fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Assert that it printed no `FAIL` line.
    pub fn expect_no_failures(&self) {
        let out = self.output();
        assert!(
            !out.lines().any(|l| l.starts_with("FAIL")),
            "renderer {} (pid {}) reported failures:\n{out}",
            self.label,
            self.pid()
        );
    }

    /// Assert that it printed the line `ok <what>`.
    pub fn expect_ok(&self, what: &str) {
        let out = self.output();
        let want = format!("ok {what}");
        assert!(
            out.lines().any(|l| l == want),
            "renderer {} (pid {}) did not report `{want}`; its output:\n{out}",
            self.label,
            self.pid()
        );
    }
}

/// The channel main answers with its arguments, as an array (an invoke handler).
pub const ECHO: &str = "echo";
/// The same for `sendSync` (a listener that sets the return value).
pub const ECHO_SYNC: &str = "echo-sync";
/// Main tells the well-behaved renderer to finish.
pub const STOP: &str = "stop";
/// The well-behaved renderer's final report: `[calls, max latency in µs]`.
pub const GOOD_REPORT: &str = "good-report";

/// Main's echo service, counting calls per renderer pid.
#[derive(Debug, Default)]
pub struct EchoStats {
    calls: Mutex<HashMap<u32, u64>>,
    changed: Condvar,
    reports: Mutex<HashMap<u32, Vec<Value>>>,
}

impl EchoStats {
    fn count(&self, pid: u32) {
        *self
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(pid)
            .or_default() += 1;
        self.changed.notify_all();
    }

    /// Echo calls answered for `pid` so far.
    pub fn calls(&self, pid: u32) -> u64 {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&pid)
            .copied()
            .unwrap_or(0)
    }

    /// Wait (up to [`HANG_GUARD`]) until `pid` has made at least `n` echo calls.
    pub fn wait_calls(&self, pid: u32, n: u64) {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let (calls, timeout) = self
            .changed
            .wait_timeout_while(calls, HANG_GUARD, |c| c.get(&pid).copied().unwrap_or(0) < n)
            .unwrap_or_else(|e| e.into_inner());
        assert!(
            !timeout.timed_out(),
            "renderer pid {pid} made {} echo calls in {HANG_GUARD:?}, expected {n}",
            calls.get(&pid).copied().unwrap_or(0)
        );
    }

    /// The well-behaved renderer `pid`'s final report, if it sent one.
    pub fn report(&self, pid: u32) -> Option<Vec<Value>> {
        self.reports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&pid)
            .cloned()
    }
}

/// Register [`ECHO`], [`ECHO_SYNC`] and [`GOOD_REPORT`] on main's global scope.
pub fn install_echo(main: &Main) -> Arc<EchoStats> {
    let stats = Arc::new(EchoStats::default());
    let s = stats.clone();
    main.ipc()
        .handle(ECHO, move |e, a| {
            s.count(e.sender().pid());
            Ok(Value::Array(a.to_values()))
        })
        .expect("register echo");
    let s = stats.clone();
    main.ipc().on(ECHO_SYNC, move |e, a| {
        s.count(e.sender().pid());
        e.set_return_value(Value::Array(a.to_values()));
    });
    let s = stats.clone();
    main.ipc().on(GOOD_REPORT, move |e, a| {
        s.reports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(e.sender().pid(), a.to_values());
        e.set_return_value(Value::Null);
    });
    stats
}

/// The well-behaved renderer (role `good`): calls [`ECHO`] / [`ECHO_SYNC`] in a loop and checks
/// every answer until main sends [`STOP`].
#[derive(Debug)]
pub struct Good {
    /// The renderer.
    pub r: Spawned,
    stats: Arc<EchoStats>,
}

impl Good {
    /// Spawn it (`cmd` runs role `good`) and wait until it has made 50 calls.
    pub fn start(main: &Main, stats: &Arc<EchoStats>, cmd: Command) -> Good {
        let r = Spawned::spawn(main, cmd);
        stats.wait_calls(r.pid(), 50);
        Good {
            r,
            stats: stats.clone(),
        }
    }

    /// Calls answered so far.
    pub fn calls(&self) -> u64 {
        self.stats.calls(self.r.pid())
    }

    /// Wait until it has made `n` more calls than now (it keeps being served).
    pub fn wait_more(&self, n: u64) {
        let now = self.calls();
        self.stats.wait_calls(self.r.pid(), now + n);
    }

    /// Tell it to stop; assert it exits 0 with every answer right. Returns its report
    /// `(calls, max latency in µs)`.
    pub fn stop(self) -> (i64, i64) {
        self.r.wc.send(STOP, &[]).expect("send stop");
        self.r.expect_clean_exit();
        let report = self
            .stats
            .report(self.r.pid())
            .expect("the good renderer's report");
        let n = report.first().and_then(Value::as_i64).unwrap_or(-1);
        let lat = report.get(1).and_then(Value::as_i64).unwrap_or(-1);
        assert!(n > 0, "good renderer report {report:?}");
        (n, lat)
    }
}

/// Environment variable that marks a re-run of one test as the inner run.
pub const INNER_ENV: &str = "ELECTRODE_HOSTILE_INNER";

/// Main logs each rejection on stderr; to check those lines a test re-runs itself in a child
/// process whose stderr goes to a file.
///
/// In the outer run (the test as cargo started it) this runs test `name` of the current test
/// binary again, alone, with [`INNER_ENV`] set; asserts that it passed, echoes its stderr and
/// returns it. In the inner run it returns `None` and the test does its real work.
pub fn rerun_for_stderr(name: &str) -> Option<String> {
    if std::env::var(INNER_ENV).is_ok_and(|v| v == name) {
        crate::logs::to_stderr();
        return None;
    }
    let _dog = crate::watchdog(HANG_GUARD * 3, &format!("outer run of {name}"));
    let scratch = Scratch::new("inner-stderr");
    let err_path = scratch.path("stderr");
    let err = File::create(&err_path).expect("create the stderr file");
    let exe = std::env::current_exe().expect("current test binary");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(INNER_ENV, name)
        .stdout(Stdio::null())
        .stderr(Stdio::from(err));
    let mut child = ChildGuard::spawn(&mut cmd).expect("re-run the test");
    let status = child.wait().expect("wait for the inner run");
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    eprintln!("---- inner run of {name} (stderr) ----\n{stderr}---- end of inner run ----");
    assert!(status.success(), "inner run of {name} failed: {status:?}");
    Some(stderr)
}

/// Count the lines of `log` that contain `needle`.
pub fn count_lines(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

/// Assert that main logged a rejection whose reason contains `reason`.
pub fn expect_logged(log: &str, reason: &str) {
    assert!(
        log.lines()
            .any(|l| l.contains("rejected message: ") && l.contains(reason)),
        "main logged no rejection containing `{reason}`"
    );
}

/// This process's open fds, as sorted link targets.
pub fn own_fd_targets() -> Vec<String> {
    let mut v: Vec<String> = crate::procfs::fds(std::process::id())
        .expect("read /proc/self/fd")
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| !t.starts_with("/proc/"))
        .collect();
    v.sort();
    v
}

/// Serializes tests of one binary that compare this process's fds or mappings before and after.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// Take [`SERIAL`] (a failed test's poison is ignored).
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A counter a test can share with closures.
pub fn counter() -> Arc<AtomicU64> {
    Arc::new(AtomicU64::new(0))
}

/// Wait (up to [`HANG_GUARD`]) for the next item of `rx`.
pub fn recv<T>(rx: &Receiver<T>, what: &str) -> T {
    match rx.recv_timeout(HANG_GUARD) {
        Ok(v) => v,
        Err(RecvTimeoutError::Timeout) => panic!("{what}: nothing within {HANG_GUARD:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("{what}: sender dropped"),
    }
}

/// Poll (every millisecond) until thread `tid` of process `pid` is asleep (state `S` in
/// `/proc/<pid>/task/<tid>/stat`, readable even for a non-dumpable process). A thread that
/// spins or yields is running (`R`); one parked in a futex sleeps. No time limit: the caller's
/// watchdog turns a thread that never sleeps into a failure.
pub fn wait_until_sleeping(pid: u32, tid: u32) {
    loop {
        let stat = fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next());
        if state == Some("S") {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Poll (every millisecond, up to [`HANG_GUARD`]) until `cond` holds.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < HANG_GUARD,
            "{what}: not within {HANG_GUARD:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
