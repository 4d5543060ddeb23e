//! Backpressure in both directions over a small (16 KiB) ring.
//!
//! Renderer to main, with a main listener that is slow (1 ms per message for the first ones):
//! - a renderer with default options blocks when the ring is full and eventually delivers
//!   everything, in order (count and sequence checked);
//! - a renderer with `send_timeout: Some(Duration::ZERO)` gets `SendError::Full` (it then
//!   retries the same message), and every message that was accepted arrives, in order, with no
//!   gap. To make `Full` certain rather than likely, main's listener holds the dispatcher on the
//!   first message until the renderer says, through a FIFO, that it saw `Full`.
//!
//! Main to renderer, with a renderer whose listener blocks on its first message until the test
//! opens a FIFO (so the renderer provably reads nothing meanwhile):
//! - `WebContents::send` never blocks: thousands of messages, many times the ring, all return
//!   `Ok` while the renderer is stuck, queued in main's outbox; then all arrive, in order;
//! - with a tiny `outbox_limit`, `send` eventually returns `SendError::Full`; exactly the
//!   accepted messages arrive, in order.

use electrode::{Main, SendError, Value};
use electrode_tests::hostile_kit::{self as kit, Scratch, Spawned, HANG_GUARD};
use electrode_tests::watchdog;
use nix::sys::stat::Mode;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_hostile_renderer");
const DOG: Duration = Duration::from_secs(120);
const RING: usize = 16 * 1024;
/// Messages main's (or the renderer's) listener takes 1 ms each for.
const SLOW: u64 = 300;

fn role(args: &[&str]) -> Command {
    let mut c = Command::new(EXE);
    c.args(args);
    c
}

fn fifo(scratch: &Scratch) -> PathBuf {
    let p = scratch.path("gate");
    nix::unistd::mkfifo(&p, Mode::S_IRUSR | Mode::S_IWUSR).expect("mkfifo");
    p
}

/// What main's `seq` listener saw.
#[derive(Debug, Default)]
struct Seq {
    count: u64,
    problems: Vec<String>,
    done: Option<(i64, i64)>,
}

/// A slow `seq` listener checking order, and the renderer's `flood-done` report. `gate`, if
/// any, is awaited on the first message.
fn install_seq(main: &Main, gate: Option<mpsc::Receiver<()>>) -> Arc<Mutex<Seq>> {
    let seq = Arc::new(Mutex::new(Seq::default()));
    let s = seq.clone();
    let gate = Mutex::new(gate);
    main.ipc().on("seq", move |_, args| {
        let n = s.lock().unwrap().count;
        if n == 0 {
            if let Some(g) = gate.lock().unwrap().take() {
                if g.recv_timeout(HANG_GUARD).is_err() {
                    s.lock()
                        .unwrap()
                        .problems
                        .push("the renderer never said it saw Full".into());
                }
            }
        }
        if n < SLOW {
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut s = s.lock().unwrap();
        let got = args.get(0).and_then(|v| v.as_i64());
        if got != Some(n as i64) && s.problems.len() < 10 {
            s.problems.push(format!("message {n} carried {got:?}"));
        }
        s.count += 1;
    });
    let s = seq.clone();
    main.ipc().on("flood-done", move |e, args| {
        let v = |i: usize| args.get(i).and_then(|v| v.as_i64()).unwrap_or(-1);
        s.lock().unwrap().done = Some((v(0), v(1)));
        e.set_return_value(Value::Null);
    });
    seq
}

#[test]
fn blocking_renderer_delivers_everything_in_order() {
    const N: u64 = 20_000;
    let _dog = watchdog(DOG, "blocking_renderer_delivers_everything_in_order");
    let main = Main::builder().ring_capacity(RING).build().unwrap();
    let seq = install_seq(&main, None);
    let r = Spawned::spawn(&main, role(&["flood", &N.to_string()]));
    r.expect_clean_exit();
    let seq = seq.lock().unwrap();
    assert!(seq.problems.is_empty(), "{:?}", seq.problems);
    assert_eq!(seq.count, N);
    assert_eq!(seq.done, Some((N as i64, 0)));
}

#[test]
fn zero_timeout_renderer_gets_full_and_accepted_messages_arrive_in_order() {
    const N: u64 = 5_000;
    let _dog = watchdog(DOG, "zero_timeout_renderer_gets_full");
    let scratch = Scratch::new("backpressure");
    let gate_path = fifo(&scratch);
    let (open_tx, open_rx) = mpsc::channel();
    let p = gate_path.clone();
    // Opens (and waits) only once the renderer writes the gate.
    let gate = std::thread::spawn(move || {
        let mut b = [0u8; 1];
        let r = File::open(&p).and_then(|mut f| f.read_exact(&mut b));
        let _ = open_tx.send(());
        r
    });
    let main = Main::builder().ring_capacity(RING).build().unwrap();
    let seq = install_seq(&main, Some(open_rx));
    let r = Spawned::spawn(
        &main,
        role(&["flood-full", &N.to_string(), gate_path.to_str().unwrap()]),
    );
    r.expect_clean_exit();
    gate.join()
        .unwrap()
        .expect("the gate was opened by the renderer");
    let seq = seq.lock().unwrap();
    assert!(seq.problems.is_empty(), "{:?}", seq.problems);
    assert_eq!(seq.count, N, "every accepted message arrived");
    let (sent, fulls) = seq.done.expect("the renderer's report");
    assert_eq!(sent, N as i64);
    assert!(fulls > 0, "the renderer never got Full");
    eprintln!("{N} messages accepted; send returned Full {fulls} times");
}

/// The renderer side of the main-to-renderer tests: `slow-reader` with its ready and done
/// reports.
struct Reader {
    r: Spawned,
    done: mpsc::Receiver<(i64, i64)>,
}

fn reader(main: &Main, gate: &Path) -> Reader {
    let (ready_tx, ready) = mpsc::channel();
    let ready_tx = Mutex::new(ready_tx);
    main.ipc().on("reader-ready", move |e, _| {
        let _ = ready_tx.lock().unwrap().send(());
        e.set_return_value(Value::Null);
    });
    let (done_tx, done) = mpsc::channel();
    let done_tx = Mutex::new(done_tx);
    main.ipc().on("reader-done", move |e, args| {
        let v = |i: usize| args.get(i).and_then(|v| v.as_i64()).unwrap_or(-1);
        let _ = done_tx.lock().unwrap().send((v(0), v(1)));
        e.set_return_value(Value::Null);
    });
    let r = Spawned::spawn(
        main,
        role(&["slow-reader", gate.to_str().unwrap(), &SLOW.to_string()]),
    );
    kit::recv(&ready, "the reader's ready");
    Reader { r, done }
}

fn m2r(i: u64) -> [Value; 2] {
    [Value::from(i as i64), Value::Bytes(vec![0x5a; 1024])]
}

/// Open the gate the reader's listener waits on (blocks until it has opened it for reading).
fn open_gate(gate: &Path) {
    let mut f = OpenOptions::new()
        .write(true)
        .open(gate)
        .expect("open the gate");
    f.write_all(b"G").unwrap();
}

impl Reader {
    /// Tell it how many to expect (retrying while the outbox is full); it exits 0 after
    /// checking their order. Returns how many it received.
    fn finish(self, total: u64) -> i64 {
        kit::wait_for("room for the end marker", || {
            match self.r.wc.send("m2r-end", &[Value::from(total as i64)]) {
                Ok(()) => true,
                Err(SendError::Full) => false,
                Err(e) => panic!("send the end marker: {e}"),
            }
        });
        let (received, errors) = kit::recv(&self.done, "the reader's report");
        self.r.expect_clean_exit();
        assert_eq!(
            errors, 0,
            "messages out of order, damaged, or a gate failure"
        );
        received
    }
}

#[test]
fn main_never_blocks_and_queued_messages_arrive_in_order() {
    const K: u64 = 2_000;
    let _dog = watchdog(DOG, "main_never_blocks_and_queued_messages_arrive_in_order");
    let scratch = Scratch::new("backpressure");
    let gate = fifo(&scratch);
    let main = Main::builder().ring_capacity(RING).build().unwrap();
    let rd = reader(&main, &gate);
    // The reader reads at most the first message until the gate opens: these all queue.
    for i in 0..K {
        rd.r.wc
            .send("m2r", &m2r(i))
            .expect("send never fails below the limit");
    }
    assert!(
        K as usize * 1024 > 100 * RING,
        "far more than the ring holds"
    );
    open_gate(&gate);
    assert_eq!(rd.finish(K), K as i64);
}

#[test]
fn tiny_outbox_limit_returns_full() {
    const LIMIT: usize = 64 * 1024;
    let _dog = watchdog(DOG, "tiny_outbox_limit_returns_full");
    let scratch = Scratch::new("backpressure");
    let gate = fifo(&scratch);
    let main = Main::builder()
        .ring_capacity(RING)
        .outbox_limit(LIMIT)
        .build()
        .unwrap();
    let rd = reader(&main, &gate);
    let mut accepted = 0u64;
    loop {
        match rd.r.wc.send("m2r", &m2r(accepted)) {
            Ok(()) => accepted += 1,
            Err(SendError::Full) => break,
            Err(e) => panic!("send {accepted}: {e}"),
        }
        assert!(accepted < 10_000, "no Full after {accepted} messages");
    }
    // Once full, it stays full while the reader is stuck.
    assert_eq!(rd.r.wc.send("m2r", &m2r(accepted)), Err(SendError::Full));
    let bytes = accepted as usize * 1024;
    assert!(
        (LIMIT..=LIMIT + RING + 2048).contains(&bytes),
        "{accepted} messages accepted for a {LIMIT}-byte outbox and a {RING}-byte ring"
    );
    open_gate(&gate);
    assert_eq!(rd.finish(accepted), accepted as i64);
    eprintln!("outbox limit {LIMIT}: {accepted} messages of 1 KiB accepted before Full");
}
