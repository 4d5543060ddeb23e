//! `port_peer <role> [args]`: the renderer processes of `tests/tests/ports_lifecycle.rs` and
//! `tests/tests/hostile_port.rs` (port death, leaks, hostile port peers). Each role says
//! [`READY`] once set up and exits 0 when main sends `bye`; a failed check exits 1.
//!
//! Roles (one `match` in `main`; add more there):
//! - `hold`: every port main posts on `port` (its data a label) is started and kept; its
//!   `close` is reported on `peer-closed` `[label]`; `held` `[label]` once it is set up.
//! - `echo`: like `hold`, and every message on a held port is echoed back on it.
//! - `churn-a <n>` / `churn-b <n>`: the two ends of the leak test. Main posts each one end of
//!   a carrier channel on `port`. After [`WARM_UP`] channels (to let lazily made state exist),
//!   each side reports its `counts` (`[phase, fds, map lines, memfds]`), then `n` channels are
//!   made by A, moved to B through the carrier, used (a message each way) and closed; then
//!   `counts` again.
//! - `hostile <scenario>`: holds the port main posts on `port` (always side A of its channel),
//!   posts `hello` through it, and when main says `scribble` maps the port's memfd a second
//!   time and scribbles its rings ([`SCENARIOS`]); says `scribbled`, keeps the port open until
//!   `bye`.
//! - `honest`: the honest renderer of a hostile port: the first port main posts (`victim`) is
//!   started, its messages reported on `got` and its `close` on `victim-closed`; the second
//!   (`other`) echoes; `ping` is answered with `pong`.

use electrode::{args, IpcRenderer, MessageChannel, MessagePort, PortError, Value};
use electrode_tests::api_kit::{ensure, expect_eq, run_role, Check, HANG_GUARD, READY};
use electrode_tests::hostile_kit::{self as kit, ring, Envelope};
use electrode_tests::protocol::EXIT_USAGE;
use memmap2::MmapMut;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// Channels churned before the first count.
pub const WARM_UP: i64 = 10;

/// The hostile scenarios (argument of `hostile`).
pub const SCENARIOS: [&str; 8] = [
    "tail-ahead",
    "tail-behind",
    "garbage",
    "bad-len",
    "bad-value",
    "no-fd",
    "bad-archive-head",
    "head-ahead",
];

type Inbox = mpsc::Receiver<(Value, Vec<MessagePort>)>;

fn connect() -> Result<IpcRenderer, String> {
    IpcRenderer::connect().map_err(|e| format!("connect: {e}"))
}

fn err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{what}: {e}")
}

/// Ports main posts on `port`, with the message's data.
fn port_inbox(ipc: &IpcRenderer) -> Inbox {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    ipc.on("port", move |e, a| {
        let data = a.get(0).map(|v| v.to_value()).unwrap_or(Value::Null);
        let _ = tx.lock().unwrap().send((data, e.ports()));
    });
    rx
}

/// A signal from main on `channel`.
fn signal(ipc: &IpcRenderer, channel: &str) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    ipc.on(channel, move |_, _| {
        let _ = tx.lock().unwrap().send(());
    });
    rx
}

fn one_port(rx: &Inbox) -> Result<(Value, MessagePort), String> {
    let (data, mut ports) = rx
        .recv_timeout(HANG_GUARD)
        .map_err(|e| format!("no port from main: {e}"))?;
    ensure(ports.len() == 1, || {
        format!("{} ports, want 1", ports.len())
    })?;
    Ok((data, ports.pop().expect("one")))
}

/// `/proc/self` counts: (open fds, lines of `maps`, fds that are memfds).
pub fn counts() -> Result<(i64, i64, i64), String> {
    let mut fds = 0;
    let mut memfds = 0;
    for e in std::fs::read_dir("/proc/self/fd").map_err(err("/proc/self/fd"))? {
        let e = e.map_err(err("/proc/self/fd entry"))?;
        fds += 1;
        if std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().starts_with("/memfd:")) {
            memfds += 1;
        }
    }
    let maps = std::fs::read_to_string("/proc/self/maps").map_err(err("/proc/self/maps"))?;
    Ok((fds, maps.lines().count() as i64, memfds))
}

fn report_counts(ipc: &IpcRenderer, phase: &str) -> Check {
    let (fds, maps, memfds) = counts()?;
    ipc.send("counts", &args![phase, fds, maps, memfds])
        .map_err(err("counts"))
}

/// `hold` and `echo`: start every port main posts and keep it.
fn hold(echo: bool) -> Check {
    let ipc = connect()?;
    let ports = port_inbox(&ipc);
    let bye = signal(&ipc, "bye");
    ipc.send(READY, &args![]).map_err(err("ready"))?;
    let mut keep: Vec<Arc<MessagePort>> = Vec::new();
    loop {
        if bye.try_recv().is_ok() {
            return Ok(());
        }
        let Ok((label, got)) = ports.recv_timeout(Duration::from_millis(20)) else {
            continue;
        };
        for p in got {
            let p = Arc::new(p);
            let (i, l) = (ipc.clone(), label.clone());
            p.on_close(move || {
                let _ = i.send("peer-closed", std::slice::from_ref(&l));
            });
            if echo {
                let weak = Arc::downgrade(&p);
                p.on_message(move |e| {
                    if let Some(p) = weak.upgrade() {
                        if let Err(err) = p.post_message(e.data(), e.ports()) {
                            eprintln!("port_peer: echo failed: {err}");
                        }
                    }
                });
            }
            p.start();
            ipc.send("held", std::slice::from_ref(&label))
                .map_err(err("held"))?;
            keep.push(p);
        }
    }
}

/// A side of the leak test: the carrier, then `n` channels.
fn churn(a_side: bool, n: i64) -> Check {
    let ipc = connect()?;
    let ports = port_inbox(&ipc);
    let bye = signal(&ipc, "bye");
    ipc.send(READY, &args![]).map_err(err("ready"))?;
    let (_, carrier) = one_port(&ports)?;
    let t = Some(HANG_GUARD);
    let one = |i: i64| -> Check {
        if a_side {
            let (c1, c2) = MessageChannel::new().map_err(err("new channel"))?;
            carrier
                .post_message(&Value::from(i), vec![c2])
                .map_err(|e| format!("channel {i}: carrying it: {e}"))?;
            c1.post_message(&Value::from(i), vec![])
                .map_err(|e| format!("channel {i}: post: {e}"))?;
            let m = c1
                .recv(t)
                .map_err(|e| format!("channel {i}: the answer: {e}"))?;
            expect_eq("answer", m.data, Value::from(-i))?;
            c1.close();
        } else {
            let mut m = carrier
                .recv(t)
                .map_err(|e| format!("channel {i}: the carrier: {e}"))?;
            expect_eq("carried", m.data, Value::from(i))?;
            let c2 = m
                .ports
                .pop()
                .ok_or_else(|| format!("channel {i}: no port"))?;
            let m = c2
                .recv(t)
                .map_err(|e| format!("channel {i}: its message: {e}"))?;
            expect_eq("message", m.data, Value::from(i))?;
            c2.post_message(&Value::from(-i), vec![])
                .map_err(|e| format!("channel {i}: answering: {e}"))?;
            // A closes its end once it has the answer: this end learns it.
            match c2.recv(t) {
                Err(PortError::PeerClosed) => {}
                other => return Err(format!("channel {i}: after the answer: {other:?}")),
            }
        }
        Ok(())
    };
    for i in 0..WARM_UP {
        one(i)?;
    }
    // Both sides at rest: B says so through the carrier, then both count.
    if a_side {
        let m = carrier.recv(t).map_err(err("go"))?;
        expect_eq("go", m.data, Value::from("go"))?;
        report_counts(&ipc, "a-before")?;
    } else {
        report_counts(&ipc, "b-before")?;
        carrier
            .post_message(&Value::from("go"), vec![])
            .map_err(err("go"))?;
    }
    for i in WARM_UP..WARM_UP + n {
        one(i)?;
    }
    if a_side {
        let m = carrier.recv(t).map_err(err("done"))?;
        expect_eq("done", m.data, Value::from("done"))?;
        report_counts(&ipc, "a-after")?;
    } else {
        report_counts(&ipc, "b-after")?;
        carrier
            .post_message(&Value::from("done"), vec![])
            .map_err(err("done"))?;
    }
    bye.recv_timeout(HANG_GUARD).map_err(err("bye"))
}

/// The port's memfd mapped a second time (every access atomic: the honest end reads and
/// writes the same memory concurrently).
struct RawPort {
    map: MmapMut,
    cap: u64,
}

/// Offsets of the rings of side A's port segment (`shm-transport/src/port.rs`): the header
/// page, then ring A->B (header page, data), then ring B->A.
const PAGE: usize = 4096;
/// `PortHeader::capacity` (u64).
const CAPACITY_AT: usize = 24;

impl RawPort {
    /// Map the one port memfd this process holds.
    fn find() -> Result<RawPort, String> {
        let mut found = None;
        for e in std::fs::read_dir("/proc/self/fd").map_err(err("/proc/self/fd"))? {
            let e = e.map_err(err("/proc/self/fd entry"))?;
            if std::fs::read_link(e.path())
                .is_ok_and(|l| l.to_string_lossy().starts_with("/memfd:electrode-port"))
            {
                found = Some(e.path());
            }
        }
        let path = found.ok_or("no port memfd in /proc/self/fd")?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(err("opening the port memfd again"))?;
        // SAFETY: a second shared mapping of a port segment this process holds. The honest end
        // reads and writes it concurrently: it is only accessed through atomics below.
        let map = unsafe { MmapMut::map_mut(&file) }.map_err(err("mapping the port"))?;
        let mut raw = RawPort { map, cap: 0 };
        raw.cap = raw.u64_at(CAPACITY_AT).load(Ordering::Relaxed);
        ensure(raw.cap.is_power_of_two() && raw.cap >= PAGE as u64, || {
            format!("capacity {}", raw.cap)
        })?;
        Ok(raw)
    }

    fn check(&self, off: usize, n: usize, align: usize) {
        assert!(
            off.is_multiple_of(align) && off + n <= self.map.len(),
            "raw access {off}+{n} outside the port segment"
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

    /// Ring A->B (the one side A writes) or B->A.
    fn ring(&self, a_to_b: bool) -> usize {
        if a_to_b {
            PAGE
        } else {
            2 * PAGE + self.cap as usize
        }
    }

    /// Write a frame at ring A->B's published tail, publish `advance` bytes, wake the reader.
    fn push(&self, header: [u8; 16], payload: &[u8], advance: u64) {
        let r = self.ring(true);
        let tail = self.u64_at(r + ring::TAIL).load(Ordering::Acquire);
        let at = (tail % self.cap) as usize;
        let room = self.cap as usize - at;
        let bytes: Vec<u8> = header.iter().chain(payload).copied().collect();
        for (i, b) in bytes.iter().take(room).enumerate() {
            self.u8_at(r + ring::DATA + at + i)
                .store(*b, Ordering::Relaxed);
        }
        self.set(r + ring::TAIL, tail.wrapping_add(advance));
    }

    /// Store a ring position and wake the ring's reader (and writer).
    fn set(&self, off: usize, v: u64) {
        self.u64_at(off).store(v, Ordering::Release);
        let r = off - off % PAGE;
        for ev in [ring::DATA_EVENT, ring::SPACE_EVENT] {
            let seq = self.u32_at(r + ev);
            seq.fetch_add(1, Ordering::SeqCst);
            // SAFETY: FUTEX_WAKE uses the address only as a key (a shared mapping: the honest
            // end waits on the same word); it reads no memory.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    seq.as_ptr(),
                    libc::FUTEX_WAKE,
                    i32::MAX,
                    std::ptr::null::<libc::timespec>(),
                    std::ptr::null::<u32>(),
                    0u32,
                )
            };
        }
    }

    fn scribble(&self, scenario: &str) -> Check {
        let ab = self.ring(true);
        let head = self.u64_at(ab + ring::HEAD).load(Ordering::Acquire);
        let tail = self.u64_at(ab + ring::TAIL).load(Ordering::Acquire);
        let post = kind::POST_MESSAGE;
        match scenario {
            // More published than the ring holds.
            "tail-ahead" => self.set(ab + ring::TAIL, head + 4 * self.cap + 16),
            // The tail moves back behind the reader.
            "tail-behind" => self.set(ab + ring::TAIL, head.wrapping_sub(32)),
            // A frame of an unknown kind, random bytes.
            "garbage" => {
                let mut rng = kit::Rng::new(0x9E37_79B9);
                let junk = rng.bytes(64);
                self.push(ring::frame_header(64, 0x7F, post, 7), &junk, 16 + 64);
                let _ = tail;
            }
            // A whole frame claiming more bytes than the ring has.
            "bad-len" => self.push(
                ring::frame_header(0xFFFF_FFF0, ring::WHOLE, post, 0),
                &[0u8; 16],
                32,
            ),
            // A port message whose value bytes are no `Value`.
            "bad-value" => {
                let m = kit::message(&Envelope::default(), b"", &[0xEE; 48]);
                self.push(
                    ring::frame_header(m.len() as u32, ring::WHOLE, post, 0),
                    &m,
                    ring::frame_size(m.len()) as u64,
                );
            }
            // A message naming a transferred port whose fd never comes.
            "no-fd" => {
                let mut args = kit::args(&[Value::from("with a port")]);
                let mut record = [0u8; 16];
                record[..8].copy_from_slice(&0x5EED_F00D_u64.to_le_bytes());
                record[8] = 1;
                args.extend_from_slice(&record);
                let env = Envelope {
                    request_id: 1,
                    ..Envelope::default()
                };
                let m = kit::message(&env, b"", &args);
                self.push(
                    ring::frame_header(m.len() as u32, ring::WHOLE, post, 1),
                    &m,
                    ring::frame_size(m.len()) as u64,
                );
            }
            // A raw typed message (tag 44, no envelope) whose head is cut short: 8 of its 16
            // bytes, a fingerprint and no zero word.
            "bad-archive-head" => {
                let m = 0x1234_5678_9ABC_DEF0_u64.to_le_bytes();
                self.push(
                    ring::frame_header(m.len() as u32, ring::WHOLE, kind::RAW_ARCHIVE, 0),
                    &m,
                    ring::frame_size(m.len()) as u64,
                );
            }
            // Our read position (ring B->A) runs far ahead of anything the honest end will
            // have written when it next looks (a lie of a few KiB would be plausible later).
            "head-ahead" => {
                let ba = self.ring(false);
                let t = self.u64_at(ba + ring::TAIL).load(Ordering::Acquire);
                self.set(ba + ring::HEAD, t + (1 << 40));
            }
            other => return Err(format!("unknown scenario {other}")),
        }
        Ok(())
    }
}

mod kind {
    pub const POST_MESSAGE: u16 = electrode_tests::hostile_kit::kind::POST_MESSAGE;
    /// A port ring's raw typed message (`core/src/port/frame.rs`, `TAG_ARCHIVE`).
    pub const RAW_ARCHIVE: u16 = 44;
}

fn hostile(scenario: &str) -> Check {
    ensure(SCENARIOS.contains(&scenario), || {
        format!("unknown scenario {scenario}")
    })?;
    let ipc = connect()?;
    let ports = port_inbox(&ipc);
    let go = signal(&ipc, "scribble");
    let bye = signal(&ipc, "bye");
    ipc.send(READY, &args![]).map_err(err("ready"))?;
    let (_, port) = one_port(&ports)?;
    port.post_message(&Value::from("hello"), vec![])
        .map_err(err("hello"))?;
    go.recv_timeout(HANG_GUARD).map_err(err("scribble"))?;
    let raw = RawPort::find()?;
    raw.scribble(scenario)?;
    ipc.send("scribbled", &args![scenario])
        .map_err(err("scribbled"))?;
    bye.recv_timeout(HANG_GUARD).map_err(err("bye"))?;
    drop(port);
    Ok(())
}

fn honest() -> Check {
    let ipc = connect()?;
    let ports = port_inbox(&ipc);
    let bye = signal(&ipc, "bye");
    let i = ipc.clone();
    ipc.on("ping", move |_, a| {
        let _ = i.send("pong", &a.to_values());
    });
    ipc.send(READY, &args![]).map_err(err("ready"))?;
    let (_, victim) = one_port(&ports)?;
    let i = ipc.clone();
    victim.on_message(move |e| {
        let _ = i.send("got", std::slice::from_ref(e.data()));
    });
    let i = ipc.clone();
    victim.on_close(move || {
        let _ = i.send("victim-closed", &[]);
    });
    victim.start();
    let (_, other) = one_port(&ports)?;
    let other = Arc::new(other);
    let weak = Arc::downgrade(&other);
    other.on_message(move |e| {
        if let Some(p) = weak.upgrade() {
            if let Err(err) = p.post_message(e.data(), vec![]) {
                eprintln!("port_peer: echo failed: {err}");
            }
        }
    });
    other.start();
    ipc.send("held", &args!["both"]).map_err(err("held"))?;
    bye.recv_timeout(HANG_GUARD).map_err(err("bye"))?;
    drop(victim);
    Ok(())
}

fn main() {
    let mut argv = std::env::args().skip(1);
    let role = argv.next().unwrap_or_default();
    let arg = argv.next().unwrap_or_default();
    let n = arg.parse::<i64>().unwrap_or(0);
    let script: Box<dyn FnOnce() -> Check> = match role.as_str() {
        "hold" => Box::new(|| hold(false)),
        "echo" => Box::new(|| hold(true)),
        "churn-a" => Box::new(move || churn(true, n)),
        "churn-b" => Box::new(move || churn(false, n)),
        "hostile" => Box::new(move || hostile(&arg)),
        "honest" => Box::new(honest),
        _ => {
            eprintln!("usage: port_peer <hold|echo|churn-a N|churn-b N|hostile SCENARIO|honest>");
            std::process::exit(EXIT_USAGE);
        }
    };
    run_role(&role, script);
}
