//! `hostile_renderer <role> [args]`: a renderer for the hostile-renderer, crash, backpressure
//! and isolation tests (`tests/tests/{hostile_*,crash_*,backpressure,isolation}.rs`).
//!
//! Well-behaved roles connect with `IpcRenderer`. Hostile roles take their segment with
//! `Segment::from_env`, send frames through the ring producer (well framed, forged contents)
//! and map the segment a second time to scribble anywhere in it: ring positions, frame
//! headers, slot headers, the segment header. Each role reports on stdout (`ok <what>` /
//! `FAIL <what>`) and exits with one of the codes in `electrode_tests::hostile_kit`.
//!
//! Roles (the test files say what each shows):
//!
//! | role | does |
//! | --- | --- |
//! | `good` | invokes `echo` / `echo-sync` in a loop, checks every answer, until main says `stop` |
//! | `garbage SEED` | bad-argument requests (checks the error answers), then random payloads |
//! | `ring VARIANT` | one ring-level lie (frame lengths, kinds, padding, positions, chunks) |
//! | `envelope VARIANT` | a well-framed message whose envelope or arguments lie |
//! | `kinds TAG..` | valid messages under the given (forbidden) kinds |
//! | `frames` | announces more frames than main keeps |
//! | `slots` | requests naming slots and generations that are not pending, and a state flipper |
//! | `seg-header` | rewrites the segment header and ring events, then checks main still serves |
//! | `handler-reply VARIANT` | answers main's invokes with forged replies |
//! | `m2r-head` | lies about its consumer position of main's ring, then floods async invokes |
//! | `double-fetch N` | rewrites published frames while main reads them |
//! | `mutate BUDGET SEED MS` | random mutations of everything it can write |
//! | `big-hold`, `big-loop`, `call KIND CHANNEL` | to be killed mid-write / mid-request |
//! | `flood N`, `flood-full N FIFO`, `slow-reader FIFO N` | backpressure both ways |
//! | `victim`, `snoop VICTIM BAIT`, `bait` | isolation: who can reach whose segment |
#![deny(unsafe_op_in_unsafe_fn)]

use electrode::wire::{ArgsView, WireArgs, WireNode};
use electrode::{CallError, IpcRenderer, RendererOptions, SendError, Value};
use electrode_shm::{AlignedBuf, Layout, Liveness, Producer, Receiver, Segment, SlotTable};
use electrode_shm::{Futex, WaitMode, Watch};
use electrode_tests::hostile_kit::{self as kit, kind, ring, Envelope, Rng};
use memmap2::MmapMut;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a hostile role keeps misbehaving before it concludes main will not disconnect it.
const HOSTILE_BUDGET: Duration = Duration::from_secs(20);
/// Deadline of one request a hostile role expects main to answer.
const REPLY_DEADLINE: Duration = Duration::from_secs(30);
/// Bytes per slot header in the segment (the claim word is its first word).
const SLOT_HEADER: usize = std::mem::size_of::<electrode_shm::SlotHeader>();

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let _ = std::thread::Builder::new()
        .name("self-watchdog".into())
        .spawn(|| {
            std::thread::sleep(kit::CHILD_WATCHDOG);
            eprintln!("hostile_renderer: self-watchdog fired");
            std::process::exit(kit::EXIT_WATCHDOG);
        });
    let Some(role) = args.first() else {
        eprintln!("usage: hostile_renderer <role> [args]");
        std::process::exit(kit::EXIT_USAGE);
    };
    let rest = &args[1..];
    let arg = |i: usize| rest.get(i).map(String::as_str).unwrap_or("");
    let num = |i: usize| arg(i).parse::<u64>().unwrap_or(0);
    let code = match role.as_str() {
        "good" => good(),
        "garbage" => garbage(num(0)),
        "ring" => ring_lie(arg(0)),
        "envelope" => envelope_lie(arg(0)),
        "kinds" => kinds(rest),
        "frames" => frames(),
        "slots" => slots(),
        "seg-header" => seg_header(),
        "handler-reply" => handler_reply(arg(0)),
        "m2r-head" => m2r_head(),
        "double-fetch" => double_fetch(num(0)),
        "mutate" => mutate(num(0), num(1), num(2)),
        "big-hold" => big_hold(),
        "big-loop" => big_loop(),
        "call" => call(arg(0), arg(1)),
        "flood" => flood(num(0)),
        "flood-full" => flood_full(num(0), arg(1)),
        "slow-reader" => slow_reader(arg(0), num(1)),
        "victim" => victim(),
        "snoop" => snoop(num(0) as u32, num(1) as u32),
        "bait" => bait(),
        other => {
            eprintln!("hostile_renderer: unknown role {other}");
            kit::EXIT_USAGE
        }
    };
    std::process::exit(code);
}

// ---------------------------------------------------------------------------------------------
// Reporting

fn ok(what: &str) {
    println!("ok {what}");
    let _ = std::io::stdout().flush();
}

fn fail(what: &str) -> i32 {
    println!("FAIL {what}");
    let _ = std::io::stdout().flush();
    eprintln!("hostile_renderer[{}]: FAIL {what}", std::process::id());
    kit::EXIT_FAILED
}

fn say(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
}

/// A hostile role that ran out of budget: main never disconnected it.
fn not_disconnected(what: &str) -> i32 {
    say(&format!("FAIL not disconnected after {what}"));
    kit::EXIT_NOT_DISCONNECTED
}

// ---------------------------------------------------------------------------------------------
// A hostile connection: the ring producer, the slot table, and a raw second mapping

/// The segment mapped a second time, for writes the transport would never make.
struct Raw {
    map: MmapMut,
    layout: Layout,
}

impl Raw {
    fn check(&self, off: usize, n: usize, align: usize) {
        assert!(
            off.is_multiple_of(align) && off + n <= self.map.len(),
            "raw access {off}+{n} outside the segment"
        );
    }

    fn u64_at(&self, off: usize) -> &AtomicU64 {
        self.check(off, 8, 8);
        // SAFETY: in bounds and 8-aligned (checked) inside a live shared mapping; every bit
        // pattern is a valid u64 and all access from this process is atomic.
        unsafe { &*self.map.as_ptr().add(off).cast::<AtomicU64>() }
    }

    fn u32_at(&self, off: usize) -> &AtomicU32 {
        self.check(off, 4, 4);
        // SAFETY: as in `u64_at`, 4-aligned.
        unsafe { &*self.map.as_ptr().add(off).cast::<AtomicU32>() }
    }

    fn u8_at(&self, off: usize) -> &AtomicU8 {
        self.check(off, 1, 1);
        // SAFETY: as in `u64_at`; a byte is always aligned.
        unsafe { &*self.map.as_ptr().add(off).cast::<AtomicU8>() }
    }

    fn write(&self, off: usize, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            self.u8_at(off + i).store(*b, Ordering::Relaxed);
        }
    }

    fn read(&self, off: usize, n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| self.u8_at(off + i).load(Ordering::Relaxed))
            .collect()
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn cap(&self) -> u64 {
        self.layout.config.r2m_capacity as u64
    }

    /// Main's consumer position in the renderer-to-main ring.
    fn head(&self) -> u64 {
        self.u64_at(self.layout.r2m + ring::HEAD)
            .load(Ordering::Acquire)
    }

    /// Our published producer position.
    fn tail(&self) -> u64 {
        self.u64_at(self.layout.r2m + ring::TAIL)
            .load(Ordering::Acquire)
    }

    fn set_tail(&self, t: u64) {
        self.u64_at(self.layout.r2m + ring::TAIL)
            .store(t, Ordering::Release);
    }

    /// Offset in the segment of ring position `pos` (renderer-to-main data).
    fn data_off(&self, pos: u64) -> usize {
        self.layout.r2m + ring::DATA + (pos % self.cap()) as usize
    }

    /// Write a frame header and payload at the published tail, then publish `advance` bytes.
    fn push(&self, header: [u8; 16], payload: &[u8], advance: u64) {
        let t = self.tail();
        let off = self.data_off(t);
        let room = self.cap() as usize - (t % self.cap()) as usize;
        self.write(off, &header);
        let n = payload.len().min(room.saturating_sub(16));
        self.write(off + 16, &payload[..n]);
        self.set_tail(t + advance);
    }

    /// Slot `i`'s claim word (the one main compare-and-swaps before it writes a reply).
    fn slot_state(&self, i: u32) -> &AtomicU32 {
        self.u32_at(self.layout.slot_headers + i as usize * SLOT_HEADER)
    }

    fn slot_payload_off(&self, i: u32) -> usize {
        self.layout.slot_payloads + i as usize * self.layout.slot_stride
    }
}

struct Hostile {
    tx: Producer<Futex>,
    rx: Option<Receiver<Futex>>,
    slots: Arc<SlotTable<Futex>>,
    raw: Arc<Raw>,
    _watch: Watch,
    _segment: Segment,
}

impl Hostile {
    fn connect() -> Hostile {
        let (seg, main) = match Segment::from_env() {
            Ok(v) => v,
            Err(e) => {
                eprintln!("hostile_renderer: no segment: {e}");
                std::process::exit(kit::EXIT_USAGE);
            }
        };
        // SAFETY: a second shared mapping of our own segment's memfd. Main and this process
        // may write it concurrently: it is only accessed through `Raw`'s atomics.
        let map = unsafe { MmapMut::map_mut(seg.file()) }.expect("map the segment again");
        let raw = Arc::new(Raw {
            map,
            layout: *seg.layout(),
        });
        let live = Liveness::new();
        let watch = main
            .watch(live.clone(), || std::process::exit(kit::EXIT_MAIN_GONE))
            .expect("watch main");
        let end = seg.into_renderer(live);
        Hostile {
            tx: end.tx,
            rx: Some(end.rx),
            slots: end.slots,
            raw,
            _watch: watch,
            _segment: end.segment,
        }
    }

    /// Send one message (whole or chunked), blocking while the ring is full.
    fn send(&mut self, tag: u16, payload: &[u8]) {
        if let Err(e) = self.tx.send(tag, 0, payload, WaitMode::default(), None) {
            eprintln!("hostile_renderer: send failed: {e}");
            std::process::exit(kit::EXIT_MAIN_GONE);
        }
    }

    /// A request answered in a slot: `(aux, reply bytes)`.
    fn request(
        &mut self,
        tag: u16,
        channel: &str,
        args: &[u8],
    ) -> Result<(u32, AlignedBuf), String> {
        let deadline = Some(Instant::now() + REPLY_DEADLINE);
        let t = self
            .slots
            .acquire(deadline)
            .map_err(|e| format!("acquire a slot: {e:?}"))?;
        let env = Envelope {
            slot_index: t.index,
            slot_gen: t.generation,
            ..Envelope::default()
        };
        self.send(tag, &kit::message(&env, channel.as_bytes(), args));
        let r = self
            .slots
            .wait_reply(t, WaitMode::default(), deadline)
            .map_err(|e| format!("no reply on {channel}: {e:?}"))?;
        let mut buf = AlignedBuf::new();
        buf.resize(r.len());
        r.copy_to(buf.as_mut_slice());
        Ok((r.aux(), buf))
    }

    /// Invoke `echo` with `values` through a slot and check the answer.
    fn echo(&mut self, values: &[Value]) -> Result<(), String> {
        let (aux, buf) = self.request(kind::INVOKE, kit::ECHO, &kit::args(values))?;
        match decode_reply(aux, buf.as_slice())? {
            Ok(v) if v == Value::Array(values.to_vec()) => Ok(()),
            other => Err(format!("echo of {values:?} answered {other:?}")),
        }
    }

    /// Invoke `echo` with a reply through the ring (an async invoke) and check the answer.
    fn echo_async(&mut self, values: &[Value], request_id: u64) -> Result<(), String> {
        let env = Envelope {
            flags: kit::FLAG_REPLY_VIA_RING,
            request_id,
            ..Envelope::default()
        };
        let m = kit::message(&env, kit::ECHO.as_bytes(), &kit::args(values));
        self.send(kind::INVOKE, &m);
        let (env, args) = self.recv_from_main(kind::REPLY)?;
        if env.request_id != request_id {
            return Err(format!("reply for request {}", env.request_id));
        }
        match decode_reply(
            if env.flags & kit::FLAG_ERROR != 0 {
                kit::AUX_ERROR
            } else {
                0
            },
            args.as_slice(),
        )? {
            Ok(v) if v == Value::Array(values.to_vec()) => Ok(()),
            other => Err(format!("async echo answered {other:?}")),
        }
    }

    /// The next message from main, which must be of kind `want`: its envelope and arguments.
    fn recv_from_main(&mut self, want: u16) -> Result<(Envelope, AlignedBuf), String> {
        self.recv_from_main_until(want, Some(Instant::now() + REPLY_DEADLINE))
    }

    /// [`recv_from_main`](Self::recv_from_main) with a deadline (`None`: until main is gone,
    /// when the watcher ends the process).
    fn recv_from_main_until(
        &mut self,
        want: u16,
        deadline: Option<Instant>,
    ) -> Result<(Envelope, AlignedBuf), String> {
        let rx = self.rx.as_mut().expect("receiver");
        let msg = rx
            .recv(WaitMode::default(), deadline)
            .map_err(|e| format!("receive from main: {e}"))?;
        let tag = msg.tag();
        let mut buf = AlignedBuf::new();
        msg.copy_into(&mut buf);
        if tag != want {
            return Err(format!("main sent kind {tag}, expected {want}"));
        }
        parse_from_main(buf.as_slice())
    }
}

/// Parse a message main wrote (trusted): its envelope and a 16-aligned copy of its arguments.
fn parse_from_main(b: &[u8]) -> Result<(Envelope, AlignedBuf), String> {
    if b.len() < kit::ENVELOPE_LEN {
        return Err("short message from main".into());
    }
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    let clen = u16::from_le_bytes([b[2], b[3]]) as usize;
    let env = Envelope {
        flags: b[0],
        channel_len: Some(clen as u16),
        frame_id: u32_at(4),
        slot_index: u32_at(8),
        slot_gen: u32_at(12),
        request_id: u64::from_le_bytes(b[16..24].try_into().unwrap()),
    };
    let off = kit::args_offset(clen);
    let mut args = AlignedBuf::new();
    args.extend_from_slice(b.get(off..).ok_or("args past the end")?);
    Ok((env, args))
}

/// A reply payload: `Ok(value)`, or `Err((name, message))` for an error reply.
fn decode_reply(aux: u32, bytes: &[u8]) -> Result<Result<Value, (String, String)>, String> {
    let view = ArgsView::new(bytes).map_err(|e| format!("undecodable reply: {e}"))?;
    if aux & kit::AUX_ERROR != 0 {
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

/// Argument bytes no archive validation accepts.
fn bad_args() -> Vec<u8> {
    vec![0xff; 48]
}

/// Repeat `send` until main disconnects (kills) us; give up after [`HOSTILE_BUDGET`].
fn until_disconnected(what: &str, mut send: impl FnMut(u64)) -> i32 {
    let start = Instant::now();
    let mut i = 0u64;
    while start.elapsed() < HOSTILE_BUDGET {
        send(i);
        i += 1;
        if i.is_multiple_of(64) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    not_disconnected(what)
}

// ---------------------------------------------------------------------------------------------
// good

fn good() -> i32 {
    let ipc = match IpcRenderer::connect() {
        Ok(r) => r,
        Err(e) => return fail(&format!("connect: {e}")),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ipc.on(kit::STOP, move |_, _| s.store(true, Ordering::SeqCst));
    let mut i: i64 = 0;
    let mut max_lat = Duration::ZERO;
    while !stop.load(Ordering::SeqCst) {
        let mut blob = vec![0u8; (i % 300) as usize];
        electrode_tests::pattern::fill(i as u64, &mut blob);
        let values = vec![
            Value::from(i),
            Value::from(format!("good-{i}")),
            Value::Bytes(blob),
        ];
        let t = Instant::now();
        let got = match i % 8 {
            0 => ipc.send_sync(kit::ECHO_SYNC, &values),
            1 => futures::executor::block_on(ipc.invoke(kit::ECHO, &values)),
            _ => ipc.invoke_blocking(kit::ECHO, &values),
        };
        max_lat = max_lat.max(t.elapsed());
        match got {
            Ok(v) if v == Value::Array(values.clone()) => {}
            other => return fail(&format!("call {i}: answer {other:?}")),
        }
        i += 1;
    }
    let report = [Value::from(i), Value::from(max_lat.as_micros() as i64)];
    match ipc.send_sync(kit::GOOD_REPORT, &report) {
        Ok(_) => {
            ok(&format!(
                "good calls={i} max-latency-us={}",
                max_lat.as_micros()
            ));
            kit::EXIT_OK
        }
        Err(e) => fail(&format!("report: {e}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Message-level lies

fn garbage(seed: u64) -> i32 {
    let mut h = Hostile::connect();
    // Violation 1: a blocking invoke whose arguments fail validation still gets an answer.
    match h.request(kind::INVOKE, kit::ECHO, &bad_args()) {
        Ok((aux, buf)) => match decode_reply(aux, buf.as_slice()) {
            Ok(Err((name, msg)))
                if name == "ProtocolError" && msg.starts_with("main rejected the message") =>
            {
                ok("bad-invoke-answered-with-error")
            }
            other => return fail(&format!("bad invoke answered {other:?}")),
        },
        Err(e) => return fail(&e),
    }
    // Violation 2: the same for an async invoke, answered through the ring.
    let env = Envelope {
        flags: kit::FLAG_REPLY_VIA_RING,
        request_id: 7,
        ..Envelope::default()
    };
    h.send(
        kind::INVOKE,
        &kit::message(&env, kit::ECHO.as_bytes(), &bad_args()),
    );
    match h.recv_from_main(kind::REPLY) {
        Ok((env, args)) if env.request_id == 7 && env.flags & kit::FLAG_ERROR != 0 => {
            match decode_reply(kit::AUX_ERROR, args.as_slice()) {
                Ok(Err((name, _))) if name == "ProtocolError" => {
                    ok("bad-async-invoke-answered-with-error")
                }
                other => return fail(&format!("bad async invoke answered {other:?}")),
            }
        }
        other => return fail(&format!("bad async invoke: {:?}", other.map(|r| r.0))),
    }
    // Then random payloads under random renderer kinds until main has had enough.
    let mut rng = Rng::new(seed);
    until_disconnected("garbage payloads", |_| {
        let n = rng.index(600);
        let payload = rng.bytes(n);
        let tag = kind::RENDERER_TO_MAIN[rng.index(5)];
        h.send(tag, &payload);
    })
}

fn envelope_lie(variant: &str) -> i32 {
    let valid = kit::args(&[Value::from(1)]);
    let wire = |roots: u32, nodes: Vec<WireNode>| -> Vec<u8> {
        WireArgs { roots, nodes }
            .to_bytes()
            .expect("archive a table")
            .to_vec()
    };
    let msg = |channel: &[u8], args: &[u8]| kit::message(&Envelope::default(), channel, args);
    let payload: Vec<u8> = match variant {
        "short" => vec![0u8; 10],
        "chan-past-end" => kit::message(
            &Envelope {
                channel_len: Some(100),
                ..Envelope::default()
            },
            b"echo",
            &[],
        ),
        "chan-too-long" => kit::message(
            &Envelope {
                channel_len: Some(5000),
                ..Envelope::default()
            },
            b"echo",
            &valid,
        ),
        "chan-utf8" => msg(&[0xff, 0xfe, b'a'], &valid),
        "args-empty" => msg(b"echo", &[]),
        "args-garbage" => msg(b"echo", &bad_args()),
        "args-root" => {
            // The archive's root sits at its end: point its node vector outside the message.
            let mut a = kit::args(&[Value::from("a longer string that is out of line")]);
            let n = a.len();
            a[n - 8..n - 4].copy_from_slice(&0x7fff_0000i32.to_le_bytes());
            msg(b"echo", &a)
        }
        "args-child-range" => msg(
            b"echo",
            &wire(1, vec![WireNode::Array { first: 1, len: 5 }]),
        ),
        "args-child-before" => msg(
            b"echo",
            &wire(1, vec![WireNode::Array { first: 0, len: 1 }]),
        ),
        "args-shared" => msg(
            b"echo",
            &wire(
                2,
                vec![
                    WireNode::Array { first: 2, len: 1 },
                    WireNode::Array { first: 2, len: 1 },
                    WireNode::Null,
                ],
            ),
        ),
        "args-orphan" => msg(b"echo", &wire(1, vec![WireNode::Null, WireNode::Null])),
        "args-roots" => msg(b"echo", &wire(5, vec![WireNode::Null])),
        "args-key" => msg(
            b"echo",
            &wire(
                1,
                vec![
                    WireNode::Map { first: 1, len: 1 },
                    WireNode::Int(1),
                    WireNode::Int(2),
                ],
            ),
        ),
        "args-deep" => {
            let nodes: Vec<WireNode> = (0..200u32)
                .map(|i| WireNode::Array {
                    first: i + 1,
                    len: 1,
                })
                .chain([WireNode::Null])
                .collect();
            msg(b"echo", &wire(1, nodes))
        }
        other => {
            eprintln!("envelope: unknown variant {other}");
            return kit::EXIT_USAGE;
        }
    };
    let mut h = Hostile::connect();
    until_disconnected(variant, |_| h.send(kind::SEND, &payload))
}

fn kinds(tags: &[String]) -> i32 {
    let tags: Vec<u16> = tags.iter().filter_map(|t| t.parse().ok()).collect();
    let Some(&last) = tags.last() else {
        return kit::EXIT_USAGE;
    };
    let m = kit::valid_message(kit::ECHO, &[Value::from(1)]);
    let mut h = Hostile::connect();
    for &t in &tags {
        h.send(t, &m);
    }
    until_disconnected("forbidden kinds", |_| h.send(last, &m))
}

fn frames() -> i32 {
    let mut h = Hostile::connect();
    until_disconnected("frame announcements", |i| {
        let env = Envelope {
            frame_id: 1 + i as u32,
            ..Envelope::default()
        };
        h.send(kind::FRAME_OPEN, &kit::message(&env, b"", &[]));
    })
}

fn handler_reply(variant: &str) -> i32 {
    let mut h = Hostile::connect();
    ok("handler-reply-ready");
    loop {
        let (env, _) = match h.recv_from_main_until(kind::INVOKE_RENDERER, None) {
            Ok(v) => v,
            Err(e) => {
                say(&format!("receive ended: {e}"));
                return kit::EXIT_OK;
            }
        };
        let reply_env = Envelope {
            request_id: env.request_id,
            ..Envelope::default()
        };
        let args = match variant {
            "bad-args" => bad_args(),
            "wrong-shape" => kit::args(&[]),
            "bad-error" => {
                // An error reply whose name is not a string.
                let m = kit::message(
                    &Envelope {
                        flags: kit::FLAG_ERROR,
                        ..reply_env
                    },
                    b"",
                    &kit::args(&[Value::from(1), Value::from(2)]),
                );
                h.send(kind::HANDLER_REPLY, &m);
                continue;
            }
            _ => kit::args(&[Value::from("fine")]),
        };
        h.send(kind::HANDLER_REPLY, &kit::message(&reply_env, b"", &args));
    }
}

// ---------------------------------------------------------------------------------------------
// Ring-level lies

fn ring_lie(variant: &str) -> i32 {
    let mut h = Hostile::connect();
    let cap = h.raw.cap();
    let valid = kit::valid_message("log", &[Value::from(1)]);
    let whole = |len: u32| ring::frame_header(len, ring::WHOLE, kind::SEND, 0);
    // Everything main has been sent so far is consumed (head caught up with tail).
    let drained = |h: &Hostile| {
        let start = Instant::now();
        while h.raw.head() != h.raw.tail() {
            if start.elapsed() > REPLY_DEADLINE {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    };
    match variant {
        "len-past-tail" => h.raw.push(whole(1000), &valid, 32),
        "len-huge" => h.raw.push(whole(0xffff_fff0), &valid, 32),
        "len-past-end" => {
            // Two frames of half the ring less 16 bring the tail to 32 bytes before the end.
            let fill = kit::message(&Envelope::default(), b"", &vec![0u8; cap as usize / 2 - 64]);
            h.send(kind::FRAME_OPEN, &fill);
            h.send(kind::FRAME_OPEN, &fill);
            if !drained(&h) {
                return fail("main did not consume the filler frames");
            }
            if h.raw.tail() % cap != cap - 32 {
                return fail(&format!("filler left the tail at {}", h.raw.tail() % cap));
            }
            h.raw.push(whole(64), &valid, 96);
        }
        "half-ring" => {
            let len = cap as u32 / 2 + 16;
            h.raw
                .push(whole(len), &valid, ring::frame_size(len as usize) as u64)
        }
        "pad-mid" => h.raw.push(ring::frame_header(16, ring::PAD, 0, 0), &[], 32),
        "bad-kind" => h
            .raw
            .push(ring::frame_header(16, 9, kind::SEND, 0), &valid, 32),
        "short" => {
            let t = h.raw.tail();
            h.raw.set_tail(t + 8);
        }
        "tail-past-end" => {
            let t = h.raw.tail();
            h.raw.set_tail(t + cap + 16);
        }
        "tail-huge" => h.raw.set_tail(u64::MAX),
        "tail-back" => {
            h.send(kind::SEND, &valid);
            if !drained(&h) {
                return fail("main did not consume the first frame");
            }
            let t = h.raw.tail();
            h.raw.set_tail(t - 16);
        }
        "chunk-orphan" => {
            let len = valid.len() as u32;
            h.raw.push(
                ring::frame_header(len, ring::MIDDLE, kind::SEND, 0),
                &valid,
                ring::frame_size(valid.len()) as u64,
            )
        }
        "chunk-interleave" | "chunk-retag" => {
            let len = valid.len() as u32;
            let size = ring::frame_size(valid.len()) as u64;
            h.raw.push(
                ring::frame_header(len, ring::FIRST, kind::SEND, 5),
                &valid,
                size,
            );
            let second = if variant == "chunk-interleave" {
                ring::frame_header(len, ring::WHOLE, kind::SEND, 0)
            } else {
                ring::frame_header(len, ring::LAST, kind::INVOKE, 5)
            };
            h.raw.push(second, &valid, size);
        }
        "too-big" => {
            // One byte more than main's message limit, in chunks.
            let big = vec![0u8; electrode_shm::DEFAULT_MAX_MESSAGE + 1];
            h.send(kind::SEND, &big);
        }
        other => {
            eprintln!("ring: unknown variant {other}");
            return kit::EXIT_USAGE;
        }
    }
    h.tx.notify();
    ok(&format!("lied {variant}"));
    // Main disconnects (kills) us; keep the process alive until then.
    let start = Instant::now();
    while start.elapsed() < HOSTILE_BUDGET {
        std::thread::sleep(Duration::from_millis(5));
        h.tx.notify();
    }
    not_disconnected(variant)
}

/// Lie about our consumer position of main's ring, then make main send more than it holds.
fn m2r_head() -> i32 {
    let mut h = Hostile::connect();
    let m2r = h.raw.layout.m2r;
    h.raw
        .u64_at(m2r + ring::HEAD)
        .store(u64::MAX / 2, Ordering::Release);
    let blob = Value::Bytes(vec![7u8; 8192]);
    let n = 2 * h.raw.layout.config.m2r_capacity / 8192 + 8;
    for i in 0..n as u64 {
        let env = Envelope {
            flags: kit::FLAG_REPLY_VIA_RING,
            request_id: i + 1,
            ..Envelope::default()
        };
        let m = kit::message(
            &env,
            kit::ECHO.as_bytes(),
            &kit::args(std::slice::from_ref(&blob)),
        );
        h.send(kind::INVOKE, &m);
    }
    ok("m2r-head-lied-and-flooded");
    // Main still serves our slot requests (or has disconnected us, which is fine too).
    match h.echo(&[Value::from("after")]) {
        Ok(()) => ok("slot-echo-after-m2r-lie"),
        Err(e) => return fail(&e),
    }
    kit::EXIT_OK
}

// ---------------------------------------------------------------------------------------------
// Slots and the segment header

fn slots() -> i32 {
    let mut h = Hostile::connect();
    let count = h.slots.count();
    let layout = h.raw.layout;
    let sentinel = 0xa5u8;
    let payload_len = count as usize * layout.slot_stride;
    h.raw
        .write(layout.slot_payloads, &vec![sentinel; payload_len]);

    // A pending request main must not answer through anything but its own (index, generation).
    let pending = h.slots.try_acquire().expect("a free slot");
    let g = pending.generation;
    // Slots in states main must leave alone.
    let set_state = |h: &Hostile, i: u32, generation: u32, state: u32| {
        h.raw
            .slot_state(i)
            .store((generation & 0xff_ffff) << 8 | state, Ordering::Release)
    };
    let free_idx = (pending.index + 1) % count;
    let never_armed = (pending.index + 7) % count;
    assert!(count > 7, "the slots role needs more than 7 slots");
    let others: Vec<(u32, u32, &str)> = vec![
        ((pending.index + 2) % count, 3, "ready"),
        ((pending.index + 3) % count, 2, "writing"),
        ((pending.index + 4) % count, 4, "abandoned"),
        ((pending.index + 5) % count, 5, "gone"),
    ];
    for &(i, st, _) in &others {
        set_state(&h, i, 9, st);
    }
    let before: Vec<u32> = (0..count)
        .map(|i| h.raw.slot_state(i).load(Ordering::Acquire))
        .collect();

    let names: Vec<(u32, u32, String)> = [
        (count, 0, "index = slot count".to_string()),
        (count + 5, 0, "index past the table".into()),
        (u32::MAX, g, "index u32::MAX".into()),
        (pending.index, g + 1, "next generation".into()),
        (
            pending.index,
            g.wrapping_sub(1) & 0xff_ffff,
            "previous generation".into(),
        ),
        (free_idx, 0, "a free slot".into()),
        // Never armed, and its claim word names generation 0: only the check that the slot
        // is armed for exactly this generation keeps main from writing it.
        (
            never_armed,
            1,
            "a never-armed slot's next generation".into(),
        ),
    ]
    .into_iter()
    .chain(
        others
            .iter()
            .map(|&(i, _, what)| (i, 9, format!("a slot in state {what}"))),
    )
    .collect();
    for (index, generation, _) in &names {
        for tag in [kind::SEND_SYNC, kind::INVOKE] {
            let env = Envelope {
                slot_index: *index,
                slot_gen: *generation,
                ..Envelope::default()
            };
            let channel = if tag == kind::INVOKE {
                kit::ECHO
            } else {
                kit::ECHO_SYNC
            };
            let m = kit::message(&env, channel.as_bytes(), &kit::args(&[Value::from(1)]));
            h.send(tag, &m);
        }
    }
    // Requests are served in ring order: once this one is answered, all the above were handled.
    if let Err(e) = h.echo(&[Value::from("after the forged slots")]) {
        return fail(&e);
    }
    let after: Vec<u32> = (0..count)
        .map(|i| h.raw.slot_state(i).load(Ordering::Acquire))
        .collect();
    let mut changed = Vec::new();
    for i in 0..count {
        // The echo above used (and freed) one free slot; every other state is as we left it.
        if before[i as usize] != after[i as usize] && before[i as usize] != 0 {
            changed.push(i);
        }
    }
    if after[pending.index as usize] != before[pending.index as usize] {
        return fail(&format!(
            "pending slot {} changed from {:#x} to {:#x}",
            pending.index, before[pending.index as usize], after[pending.index as usize]
        ));
    }
    if !changed.is_empty() {
        return fail(&format!("slot states changed: {changed:?}"));
    }
    // Payloads: only the echo's slot may have been written.
    let mut written = Vec::new();
    for i in 0..count {
        let p = h.raw.read(h.raw.slot_payload_off(i), 64);
        if p.iter().any(|&b| b != sentinel) {
            written.push(i);
        }
    }
    if written.len() > 1 || written.contains(&pending.index) {
        return fail(&format!("slot payloads written: {written:?}"));
    }
    ok("forged-slots-never-written");
    h.slots.cancel(pending);

    // A state flipper racing main's compare-and-swap: main gives up after a bounded number of
    // tries instead of spinning forever.
    let target = h.slots.try_acquire().expect("a slot for the flipper");
    let stop = Arc::new(AtomicBool::new(false));
    let (raw, index) = (h.raw.clone(), target.index);
    let tg = target.generation;
    let flipper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let word = raw.slot_state(index);
            let mut rng = Rng::new(11);
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let v = match rng.index(4) {
                    0 => (tg << 8) | 1,
                    1 => (tg << 8) | 0x81,
                    2 => ((tg + 1) << 8) | 1,
                    _ => rng.next_u64() as u32,
                };
                word.store(v, Ordering::Relaxed);
                flips += 1;
            }
            flips
        })
    };
    for _ in 0..200 {
        let env = Envelope {
            slot_index: target.index,
            slot_gen: tg,
            ..Envelope::default()
        };
        let m = kit::message(&env, kit::ECHO_SYNC.as_bytes(), &kit::args(&[Value::Null]));
        h.send(kind::SEND_SYNC, &m);
    }
    let served = h.echo(&[Value::from("during the flipper")]);
    stop.store(true, Ordering::Relaxed);
    let flips = flipper.join().unwrap_or(0);
    if let Err(e) = served {
        return fail(&format!("main stopped serving during the flipper: {e}"));
    }
    ok(&format!("flipper-bounded flips={flips}"));
    kit::EXIT_OK
}

fn seg_header() -> i32 {
    let mut h = Hostile::connect();
    if let Err(e) = h.echo(&[Value::from("before")]) {
        return fail(&e);
    }
    let mut rng = Rng::new(3);
    // The header page: magic, version, sizes, pids, everything.
    let junk = rng.bytes(4096);
    h.raw.write(0, &junk);
    h.raw.u64_at(16).store(1 << 40, Ordering::Relaxed); // total_size
    h.raw.u64_at(24).store(16, Ordering::Relaxed); // r2m_capacity
    h.raw.u32_at(40).store(u32::MAX, Ordering::Relaxed); // slot_count
                                                         // Ring events: sequence numbers and sleeping flags of both rings.
    for r in [h.raw.layout.r2m, h.raw.layout.m2r] {
        for ev in [ring::DATA_EVENT, ring::SPACE_EVENT] {
            h.raw
                .u32_at(r + ev)
                .store(rng.next_u64() as u32, Ordering::Relaxed);
            h.raw.u32_at(r + ev + 4).store(0, Ordering::Relaxed);
        }
    }
    ok("segment-header-rewritten");
    for i in 0..200i64 {
        let values = [Value::from(i), Value::from(format!("after-{i}"))];
        let r = if i % 4 == 0 {
            h.echo_async(&values, i as u64 + 1)
        } else {
            h.echo(&values)
        };
        if let Err(e) = r {
            return fail(&format!("call {i} after the rewrite: {e}"));
        }
    }
    ok("served-after-header-rewrite");
    kit::EXIT_OK
}

// ---------------------------------------------------------------------------------------------
// Double fetch

/// Channel of the double-fetch messages: `[64-char string of 'A'/'B', sequence number]`.
const DBL: &str = "dbl";

fn double_fetch(n: u64) -> i32 {
    let mut h = Hostile::connect();
    let marker = 0x1122_3344_5566_7788i64;
    let text = "A".repeat(64);
    let template = kit::valid_message(DBL, &[Value::from(text.as_str()), Value::from(marker)]);
    let find = |needle: &[u8]| template.windows(needle.len()).position(|w| w == needle);
    let (Some(str_off), Some(int_off)) = (find(text.as_bytes()), find(&marker.to_le_bytes()))
    else {
        return fail("template layout");
    };
    let frame = ring::frame_size(template.len()) as u64;
    let cap = h.raw.cap();
    let stop = Arc::new(AtomicBool::new(false));
    let raw = h.raw.clone();
    let flipper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut rng = Rng::new(5);
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (head, tail) = (raw.head(), raw.tail());
                if tail <= head || tail - head > cap {
                    std::hint::spin_loop();
                    continue;
                }
                // A published frame main has not consumed yet; frames of one size sit at
                // multiples of their size from the start of the ring (padding fills the end).
                let pos = head + rng.index((tail - head) as usize) as u64;
                let off = pos % cap;
                let start = off - off % frame;
                if start + frame > cap {
                    continue;
                }
                let at = raw.layout.r2m + ring::DATA + start as usize + 16;
                let b = [b'A', b'B', 0xff][rng.index(3)];
                raw.u8_at(at + str_off + rng.index(64))
                    .store(b, Ordering::Relaxed);
                flips += 1;
            }
            flips
        })
    };
    let mut m = template.clone();
    for i in 0..n {
        m[int_off..int_off + 8].copy_from_slice(&(i as i64).to_le_bytes());
        h.send(kind::SEND, &m);
    }
    stop.store(true, Ordering::Relaxed);
    let flips = flipper.join().unwrap_or(0);
    h.send(
        kind::SEND,
        &kit::valid_message("dbl-done", &[Value::from(n as i64)]),
    );
    ok(&format!("double-fetch sent={n} flips={flips}"));
    // Stay until main has seen `dbl-done` (it answers this echo after it).
    if let Err(e) = h.echo(&[Value::from("done")]) {
        return fail(&e);
    }
    kit::EXIT_OK
}

// ---------------------------------------------------------------------------------------------
// Random mutations

/// Channels main listens on in the mutation test (plus `echo` / `echo-sync`).
const MUTATE_LOG: &str = "log";

fn mutate(budget: u64, seed: u64, max_ms: u64) -> i32 {
    let mut h = Hostile::connect();
    // Drain main's messages to us so its outbox does not grow; stop on any error.
    let mut rx = h.rx.take().expect("receiver");
    let _drain = std::thread::spawn(move || {
        let mut buf = AlignedBuf::new();
        while let Ok(m) = rx.recv(WaitMode::default(), None) {
            m.copy_into(&mut buf);
        }
    });
    let mut rng = Rng::new(seed);
    let templates = mutation_templates(&h);
    let big = kit::valid_message(
        MUTATE_LOG,
        &[Value::Bytes(vec![1u8; h.tx.max_frame_payload() + 100])],
    );
    let layout = h.raw.layout;
    let cap = h.raw.cap() as usize;
    let seg_len = h.raw.len();
    let start = Instant::now();
    let deadline = Duration::from_millis(max_ms);
    let mut done = 0u64;
    while done < budget && start.elapsed() < deadline {
        let roll = rng.index(10_000);
        match roll {
            // A valid message, mutated.
            0..=5499 => {
                let (tag, t) = &templates[rng.index(templates.len())];
                let mut m = t.clone();
                let flips = 1 + rng.index(8);
                kit::mutate(&mut rng, &mut m, flips);
                let tag = if rng.chance(1, 20) {
                    rng.index(24) as u16
                } else {
                    *tag
                };
                h.send(tag, &m);
            }
            // A valid message.
            5500..=6999 => {
                let (tag, t) = &templates[rng.index(templates.len())];
                h.send(*tag, t);
            }
            // Garbage under any kind.
            7000..=8499 => {
                let n = rng.index(300);
                let payload = rng.bytes(n);
                h.send(rng.index(24) as u16, &payload);
            }
            // Random bytes anywhere in our ring's data (frames main has not read included).
            8500..=9399 => {
                let n = 1 + rng.index(16);
                let off = layout.r2m + ring::DATA + rng.index(cap - n);
                let bytes = rng.bytes(n);
                h.raw.write(off, &bytes);
            }
            // Random bytes in the header page, the slot headers, main's ring data.
            9400..=9649 => {
                let n = 1 + rng.index(8);
                let off = match rng.index(3) {
                    0 => rng.index(4096 - n),
                    1 => {
                        layout.slot_headers
                            + rng.index(layout.config.slot_count as usize * SLOT_HEADER)
                    }
                    _ => layout.m2r + ring::DATA + rng.index(layout.config.m2r_capacity - n),
                };
                let bytes = rng.bytes(n);
                h.raw.write(off.min(seg_len - n), &bytes);
            }
            // Event words of both rings.
            9650..=9799 => {
                let r = [layout.r2m, layout.m2r][rng.index(2)];
                let ev = [ring::DATA_EVENT, ring::SPACE_EVENT][rng.index(2)];
                h.raw
                    .u32_at(r + ev + 4 * rng.index(2))
                    .store(rng.next_u64() as u32, Ordering::Relaxed);
            }
            // A message in chunks, mutated or not.
            9800..=9989 => {
                let mut m = big.clone();
                if rng.chance(1, 2) {
                    let off = rng.index(64);
                    m[off] ^= 0x5a;
                }
                h.send(kind::SEND, &m);
            }
            // A lie about our tail (main disconnects us at once).
            9990..=9994 => {
                let t = h.raw.tail();
                let lie = match rng.index(4) {
                    0 => t + 8,
                    1 => t.wrapping_sub(16),
                    2 => t + cap as u64 + 16,
                    _ => rng.next_u64(),
                };
                h.raw.set_tail(lie);
                h.tx.notify();
            }
            // A lie about our head of main's ring.
            _ => {
                h.raw
                    .u64_at(layout.m2r + ring::HEAD)
                    .store(rng.next_u64(), Ordering::Relaxed);
            }
        }
        done += 1;
        // Often at first (a renderer of a three-strikes main lives a few mutations), then
        // every 256.
        if done.is_multiple_of(256) || (done < 256 && done.is_multiple_of(4)) {
            say(&format!("progress {done}"));
        }
    }
    say(&format!("done {done}"));
    kit::EXIT_OK
}

/// Valid messages of every renderer kind, to mutate.
fn mutation_templates(h: &Hostile) -> Vec<(u16, Vec<u8>)> {
    let count = h.slots.count();
    let nested = Value::map([
        (
            "list",
            Value::Array(vec![Value::Null, Value::from(1.5), Value::from("x")]),
        ),
        ("blob", Value::Bytes(vec![9u8; 40])),
        ("inner", Value::map([("k", Value::from(true))])),
    ]);
    let args_sets = [
        vec![],
        vec![Value::from(1)],
        vec![Value::from(
            "a string that lives out of line in the archive",
        )],
        vec![nested.clone(), Value::from(-7)],
        vec![Value::Array(vec![nested; 3])],
    ];
    let mut out = Vec::new();
    for (i, a) in args_sets.iter().enumerate() {
        let args = kit::args(a);
        let env = Envelope {
            slot_index: (i as u32 * 7) % count,
            slot_gen: i as u32,
            request_id: i as u64 + 1,
            frame_id: (i % 2) as u32,
            ..Envelope::default()
        };
        out.push((kind::SEND, kit::message(&env, MUTATE_LOG.as_bytes(), &args)));
        out.push((
            kind::SEND_SYNC,
            kit::message(&env, kit::ECHO_SYNC.as_bytes(), &args),
        ));
        out.push((
            kind::INVOKE,
            kit::message(&env, kit::ECHO.as_bytes(), &args),
        ));
        let ring_env = Envelope {
            flags: kit::FLAG_REPLY_VIA_RING,
            ..env
        };
        out.push((
            kind::INVOKE,
            kit::message(&ring_env, kit::ECHO.as_bytes(), &args),
        ));
        out.push((kind::HANDLER_REPLY, kit::message(&env, b"", &args)));
    }
    out.push((
        kind::FRAME_OPEN,
        kit::message(&Envelope::default(), b"", &[]),
    ));
    out
}

// ---------------------------------------------------------------------------------------------
// Crashes

fn connect() -> IpcRenderer {
    match IpcRenderer::connect() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hostile_renderer: connect: {e}");
            std::process::exit(kit::EXIT_USAGE);
        }
    }
}

/// Size of the large message of the crash tests.
const BIG: usize = 16 << 20;

fn big_hold() -> i32 {
    let ipc = connect();
    if let Err(e) = ipc.send("hold", &[]) {
        return fail(&format!("send hold: {e}"));
    }
    ok("big-sending");
    let r = ipc.send("big", &[Value::Bytes(vec![0x42; BIG])]);
    fail(&format!("the large send returned ({r:?}) before the kill"))
}

fn big_loop() -> i32 {
    let ipc = connect();
    let blob = Value::Bytes(vec![0x42; BIG]);
    loop {
        if let Err(e) = ipc.send("big", std::slice::from_ref(&blob)) {
            return fail(&format!("send big: {e}"));
        }
    }
}

fn call(how: &str, channel: &str) -> i32 {
    let ipc = connect();
    let args = [Value::from("please")];
    let r = match how {
        "sync" => ipc.send_sync(channel, &args),
        "invoke" => ipc.invoke_blocking(channel, &args),
        "async" => futures::executor::block_on(ipc.invoke(channel, &args)),
        _ => return kit::EXIT_USAGE,
    };
    fail(&format!("the {how} call returned ({r:?}) before the kill"))
}

// ---------------------------------------------------------------------------------------------
// Backpressure

/// Bytes of padding in each flood message (so a 16 KiB ring holds about a hundred).
const FLOOD_PAD: usize = 64;

fn flood(n: u64) -> i32 {
    let ipc = connect();
    let pad = Value::Bytes(vec![0u8; FLOOD_PAD]);
    for i in 0..n {
        if let Err(e) = ipc.send("seq", &[Value::from(i as i64), pad.clone()]) {
            return fail(&format!("send {i}: {e}"));
        }
    }
    match ipc.send_sync("flood-done", &[Value::from(n as i64), Value::from(0)]) {
        Ok(_) => kit::EXIT_OK,
        Err(e) => fail(&format!("report: {e}")),
    }
}

fn flood_full(n: u64, fifo: &str) -> i32 {
    let ipc = match IpcRenderer::connect_with(RendererOptions {
        send_timeout: Some(Duration::ZERO),
        ..RendererOptions::default()
    }) {
        Ok(r) => r,
        Err(e) => return fail(&format!("connect: {e}")),
    };
    let pad = Value::Bytes(vec![0u8; FLOOD_PAD]);
    let mut fulls = 0i64;
    let mut i = 0u64;
    while i < n {
        match ipc.send("seq", &[Value::from(i as i64), pad.clone()]) {
            Ok(()) => i += 1,
            Err(SendError::Full) => {
                if fulls == 0 {
                    // Main's listener holds the dispatcher until we say we saw `Full`.
                    match fs::OpenOptions::new().write(true).open(fifo) {
                        Ok(mut f) => {
                            let _ = f.write_all(b"F");
                        }
                        Err(e) => return fail(&format!("open the gate: {e}")),
                    }
                }
                fulls += 1;
                std::thread::sleep(Duration::from_micros(100));
            }
            Err(e) => return fail(&format!("send {i}: {e}")),
        }
    }
    loop {
        match ipc.send_sync("flood-done", &[Value::from(n as i64), Value::from(fulls)]) {
            Ok(_) => return kit::EXIT_OK,
            Err(CallError::Send(SendError::Full)) => std::thread::sleep(Duration::from_micros(100)),
            Err(e) => return fail(&format!("report: {e}")),
        }
    }
}

fn slow_reader(fifo: &str, slow: u64) -> i32 {
    let ipc = connect();
    let received = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let end = Arc::new(AtomicU64::new(u64::MAX));
    let (r, e, path) = (received.clone(), errors.clone(), fifo.to_string());
    ipc.on("m2r", move |_, args| {
        let n = r.load(Ordering::SeqCst);
        if n == 0 {
            // Block the receive thread until the test opens the gate.
            match File::open(&path) {
                Ok(mut f) => {
                    let mut b = [0u8; 1];
                    let _ = f.read(&mut b);
                }
                Err(_) => {
                    e.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        if n < slow {
            std::thread::sleep(Duration::from_millis(1));
        }
        let seq = args.get(0).and_then(|v| v.as_i64());
        let len = args.get(1).and_then(|v| v.as_bytes()).map(<[u8]>::len);
        if seq != Some(n as i64) || len != Some(1024) {
            e.fetch_add(1, Ordering::SeqCst);
        }
        r.store(n + 1, Ordering::SeqCst);
    });
    let en = end.clone();
    ipc.on("m2r-end", move |_, args| {
        let total = args.get(0).and_then(|v| v.as_i64()).unwrap_or(-1);
        en.store(total as u64, Ordering::SeqCst);
    });
    if let Err(e) = ipc.send_sync("reader-ready", &[]) {
        return fail(&format!("ready: {e}"));
    }
    while end.load(Ordering::SeqCst) == u64::MAX {
        if ipc.is_disconnected() {
            return kit::EXIT_MAIN_GONE;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let report = [
        Value::from(received.load(Ordering::SeqCst) as i64),
        Value::from(errors.load(Ordering::SeqCst) as i64),
    ];
    match ipc.send_sync("reader-done", &report) {
        Ok(_) => kit::EXIT_OK,
        Err(e) => fail(&format!("report: {e}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Isolation

/// Inodes of the Electrode segments this process has mapped.
fn own_segment_inodes() -> Vec<u64> {
    let mut v: Vec<u64> = electrode_tests::procfs::mapped_segments(std::process::id())
        .map(|s| s.into_iter().collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn victim() -> i32 {
    let ipc = connect();
    let inodes = own_segment_inodes();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ipc.on(kit::STOP, move |_, _| s.store(true, Ordering::SeqCst));
    let ino = inodes.first().copied().unwrap_or(0) as i64;
    if let Err(e) = ipc.send_sync("victim-ready", &[Value::from(ino)]) {
        return fail(&format!("ready: {e}"));
    }
    while !stop.load(Ordering::SeqCst) {
        if ipc.is_disconnected() {
            return kit::EXIT_MAIN_GONE;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    kit::EXIT_OK
}

fn bait() -> i32 {
    let fd = match nix::sys::memfd::memfd_create(c"bait", nix::sys::memfd::MemFdCreateFlag::empty())
    {
        Ok(fd) => fd,
        Err(e) => return fail(&format!("memfd: {e}")),
    };
    let mut f = File::from(fd);
    let _ = f.write_all(b"bait-secret");
    say(&format!("ready {}", f.as_raw_fd()));
    // Live until the test kills us (or goes away: we are then reparented).
    let parent = nix::unistd::getppid();
    let start = Instant::now();
    while start.elapsed() < kit::CHILD_WATCHDOG && nix::unistd::getppid() == parent {
        std::thread::sleep(Duration::from_millis(10));
    }
    kit::EXIT_OK
}

fn errno_of(e: &std::io::Error) -> String {
    format!("{:?}", e.kind())
}

fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags; it returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0u32) };
    // SAFETY: a non-negative return is a fresh fd that only we own.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `pidfd_getfd(pidfd, target, 0)`: a duplicate of another process's fd, if allowed.
fn pidfd_getfd(pidfd: &OwnedFd, target: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_getfd takes two fds and flags; it returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), target, 0u32) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a non-negative return is a fresh fd that only we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Try every route to `pid`'s memory and fds; each that opens is a `FAIL` line.
fn probe_denied(label: &str, pid: u32) -> bool {
    let mut all_denied = true;
    let mut denied = |route: &str, r: Result<String, String>| match r {
        Ok(what) => {
            fail(&format!("{label}: {route} is open: {what}"));
            all_denied = false;
        }
        Err(why) => ok(&format!("{label} denied {route} ({why})")),
    };
    let base = format!("/proc/{pid}");
    denied(
        "fd-dir",
        fs::read_dir(format!("{base}/fd"))
            .map(|d| format!("{} entries", d.count()))
            .map_err(|e| errno_of(&e)),
    );
    let opened: Vec<i32> = (0..64)
        .filter(|n| {
            fs::OpenOptions::new()
                .read(true)
                .open(format!("{base}/fd/{n}"))
                .is_ok()
        })
        .collect();
    denied(
        "fd-open",
        if opened.is_empty() {
            Err("no fd 0..64 opens".into())
        } else {
            Ok(format!("fds {opened:?}"))
        },
    );
    denied(
        "map-files",
        fs::read_dir(format!("{base}/map_files"))
            .map(|d| format!("{} entries", d.count()))
            .map_err(|e| errno_of(&e)),
    );
    denied(
        "maps",
        fs::read_to_string(format!("{base}/maps"))
            .map(|s| format!("{} bytes", s.len()))
            .map_err(|e| errno_of(&e)),
    );
    denied(
        "mem",
        File::open(format!("{base}/mem"))
            .map(|_| "opened".to_string())
            .map_err(|e| errno_of(&e)),
    );
    let mut buf = [0u8; 8];
    let remote = [nix::sys::uio::RemoteIoVec {
        base: 0x10000,
        len: 8,
    }];
    let vm = nix::sys::uio::process_vm_readv(
        nix::unistd::Pid::from_raw(pid as i32),
        &mut [std::io::IoSliceMut::new(&mut buf)],
        &remote,
    );
    denied(
        "process_vm_readv",
        match vm {
            Ok(n) => Ok(format!("read {n} bytes")),
            Err(nix::errno::Errno::EPERM) => Err("EPERM".into()),
            // Any other error means the permission check passed.
            Err(e) => Ok(format!("permitted (then {e})")),
        },
    );
    denied(
        "pidfd_getfd",
        match pidfd_open(pid) {
            None => Err("pidfd_open failed".into()),
            Some(pf) => {
                let got: Vec<i32> = (0..64).filter(|&n| pidfd_getfd(&pf, n).is_ok()).collect();
                if got.is_empty() {
                    Err(format!(
                        "every fd 0..64 refused ({})",
                        pidfd_getfd(&pf, 0)
                            .err()
                            .map(|e| errno_of(&e))
                            .unwrap_or_default()
                    ))
                } else {
                    Ok(format!("took fds {got:?}"))
                }
            }
        },
    );
    // SAFETY: PTRACE_SEIZE takes a pid and no pointers; it does not stop the target.
    let r = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid as libc::pid_t, 0usize, 0usize) };
    denied(
        "ptrace",
        if r == 0 {
            // SAFETY: detach the tracee we just seized.
            unsafe { libc::ptrace(libc::PTRACE_DETACH, pid as libc::pid_t, 0usize, 0usize) };
            Ok("seized".into())
        } else {
            Err(errno_of(&std::io::Error::last_os_error()))
        },
    );
    all_denied
}

fn snoop(victim: u32, bait: u32) -> i32 {
    let mut failed = false;
    // 1. What we inherited: stdio, our segment and main's pidfd, nothing else.
    let handoff = std::env::var(electrode_shm::HANDOFF_ENV).unwrap_or_default();
    let parts: Vec<i64> = handoff.split(',').filter_map(|p| p.parse().ok()).collect();
    let (seg_fd, main_fd, main_pid) = match parts[..] {
        [s, m, p] => (s as i32, m as i32, p as u32),
        _ => return fail("no handoff"),
    };
    let mut extra = Vec::new();
    let mut seen_seg = false;
    let mut seen_main = false;
    for entry in fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
    {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let target = fs::read_link(entry.path())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if fd == seg_fd && target.starts_with(electrode_tests::procfs::SEGMENT_MEMFD) {
            seen_seg = true;
        } else if fd == main_fd && target == "anon_inode:[pidfd]" {
            seen_main = true;
        } else if fd > 2 && !target.starts_with("/proc/") {
            extra.push(format!("{fd} -> {target}"));
        }
    }
    if seen_seg && seen_main && extra.is_empty() {
        ok("inherited-fds-exact");
    } else {
        failed = true;
        fail(&format!(
            "inherited fds: segment {seen_seg}, main pidfd {seen_main}, extra {extra:?}"
        ));
    }
    // 2. Connect as usual: exactly one segment mapped, our own.
    let ipc = connect();
    let inodes = own_segment_inodes();
    if inodes.len() == 1 {
        say(&format!("own-segment {}", inodes[0]));
    } else {
        failed = true;
        fail(&format!("segments mapped: {inodes:?}"));
    }
    // 3. Nothing named in /dev/shm.
    let named: Vec<String> = fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("electrode"))
        .collect();
    if named.is_empty() {
        ok("dev-shm-has-no-segment");
    } else {
        failed = true;
        fail(&format!("/dev/shm holds {named:?}"));
    }
    // 4. Every route into the victim and into main.
    failed |= !probe_denied("victim", victim);
    failed |= !probe_denied("main", main_pid);
    // 5. The control: the same routes into a same-user process that is not hardened work, so
    //    the denials above are the hardening's doing, not the environment's.
    if bait != 0 {
        let secret = (0..64).find_map(|n| {
            let mut f = File::open(format!("/proc/{bait}/fd/{n}")).ok()?;
            let mut s = String::new();
            f.read_to_string(&mut s).ok()?;
            (s == "bait-secret").then_some(n)
        });
        match secret {
            Some(n) => ok(&format!("control bait fd {n} readable")),
            None => {
                failed = true;
                fail("control: the unhardened bait's memfd is not readable through /proc");
            }
        }
        match pidfd_open(bait).map(|pf| (0..64).any(|n| pidfd_getfd(&pf, n).is_ok())) {
            Some(true) => ok("control bait pidfd_getfd works"),
            _ => say("info: pidfd_getfd on the bait is refused here too"),
        }
    }
    drop(ipc);
    if failed {
        kit::EXIT_FAILED
    } else {
        kit::EXIT_OK
    }
}
