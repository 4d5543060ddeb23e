//! `load_renderer <index> <messages> <seed> <limit-secs>`: one renderer of the load test
//! (`tests/tests/load.rs`), spawned by the test's `Main::spawn_renderer`.
//!
//! It connects, says it is ready (`send_sync("load-ready", [index, pid])`, answered when every
//! renderer is ready so they start together), then sends `messages` messages, each randomly
//! (a generator seeded from `seed` and `index`, so a run can be replayed) one of
//!
//! - `send("load-send", ..)`,
//! - `send_sync("load-sync", ..)`,
//! - `invoke("load-invoke", ..)`, as a future (up to [`IN_FLIGHT`] unanswered at once) or
//!   blocking,
//!
//! with the arguments `[index, seq, checksum(payload), payload, reply_len]`: `seq` counts all
//! kinds together (`0..messages`), `payload` is random bytes of a random length (mostly under
//! 4 KiB, one in [`LARGE_ONE_IN`] up to 1 MiB), `reply_len` the length main's answer must have
//! (same distribution). Main answers `send_sync` and `invoke` with
//! `[seq, checksum it computed of the payload, checksum(data), data]` where `data` has
//! `reply_len` bytes; the renderer checks all four. Finally it asks main
//! (`send_sync("load-done", [index, messages, sends, syncs, invokes])`) whether main's books
//! agree, which main answers with `"ok"` or what went wrong.
//!
//! Exit codes (`electrode_tests::protocol`): 0 when every check held, 1 with the reason on
//! stderr otherwise, 2 for a bad command line, 124 when its self-watchdog (`limit-secs`) fired.

use electrode::{CallError, Invoke, IpcRenderer, Value};
use electrode_tests::pattern::{checksum, mix, Rng};
use electrode_tests::protocol::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, EXIT_WATCHDOG};
use std::collections::VecDeque;
use std::time::Duration;

/// Invoke futures a renderer leaves unanswered at once before it waits for the oldest.
const IN_FLIGHT: usize = 64;

/// One payload (and one reply) in this many is large: 4 KiB to 1 MiB.
const LARGE_ONE_IN: u64 = 1000;

/// The largest payload: 1 MiB (larger than half a default ring, so it goes in chunks).
const LARGE_MAX: u64 = 1 << 20;

/// How long a renderer waits for one answer before it calls main hung.
const ANSWER_GUARD: Duration = Duration::from_secs(120);

/// Message lengths drawn from the load test's distribution.
trait Lengths {
    /// A payload or reply length: one in [`LARGE_ONE_IN`] is 4 KiB..=1 MiB, the others are
    /// log-uniform in 0..4 KiB (most of them small).
    fn len(&mut self) -> usize;
    /// `len` random bytes, eight per draw.
    fn payload(&mut self, len: usize) -> Vec<u8>;
}

impl Lengths for Rng {
    fn len(&mut self) -> usize {
        if self.below(LARGE_ONE_IN) == 0 {
            (4096 + self.below(LARGE_MAX - 4096 + 1)) as usize
        } else {
            let bits = self.below(13); // 0..=12
            self.below(1 << bits) as usize
        }
    }

    fn payload(&mut self, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(len);
        v
    }
}

/// The kinds of message, as counted in `load-done`.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Send,
    SendSync,
    InvokeFuture,
    InvokeBlocking,
}

impl Kind {
    /// Sends and `send_sync`s a third each; invokes a sixth each as a future and blocking.
    fn pick(rng: &mut Rng) -> Kind {
        match rng.below(6) {
            0 | 1 => Kind::Send,
            2 | 3 => Kind::SendSync,
            4 => Kind::InvokeFuture,
            _ => Kind::InvokeBlocking,
        }
    }
}

/// Check main's answer to message `seq`, whose payload had checksum `sum`.
fn check_reply(
    seq: u64,
    sum: u64,
    want_len: usize,
    r: Result<Value, CallError>,
) -> Result<(), String> {
    let v = r.map_err(|e| format!("message {seq}: main's answer is an error: {e}"))?;
    let items = v.as_array().unwrap_or(&[]);
    let (Some(s), Some(main_sum), Some(data_sum), Some(data)) = (
        items.first().and_then(Value::as_i64),
        items.get(1).and_then(Value::as_i64),
        items.get(2).and_then(Value::as_i64),
        items.get(3).and_then(Value::as_bytes),
    ) else {
        return Err(format!("message {seq}: malformed answer {v:.200?}"));
    };
    if s as u64 != seq {
        return Err(format!("message {seq}: got the answer to message {s}"));
    }
    if main_sum as u64 != sum {
        return Err(format!(
            "message {seq}: main computed checksum {:#x} of the payload, we sent {sum:#x}",
            main_sum as u64
        ));
    }
    if data.len() != want_len {
        return Err(format!(
            "message {seq}: answer has {} bytes, asked for {want_len}",
            data.len()
        ));
    }
    if checksum(data) != data_sum as u64 {
        return Err(format!(
            "message {seq}: answer data corrupt (checksum {:#x}, main says {:#x})",
            checksum(data),
            data_sum as u64
        ));
    }
    Ok(())
}

fn run(index: u64, messages: u64, seed: u64) -> Result<(), String> {
    let r = IpcRenderer::connect().map_err(|e| format!("connect: {e}"))?;
    let go = r
        .send_sync(
            "load-ready",
            &[Value::from(index as i64), Value::from(std::process::id())],
        )
        .map_err(|e| format!("load-ready: {e}"))?;
    if go != Value::Bool(true) {
        return Err(format!("load-ready answered {go:?}"));
    }
    let mut rng = Rng::new(seed ^ mix(index));
    let mut counts = [0i64; 3]; // send, send_sync, invoke
    let mut pending: VecDeque<(u64, u64, usize, Invoke)> = VecDeque::new();
    for seq in 0..messages {
        let kind = Kind::pick(&mut rng);
        let len = rng.len();
        let payload = rng.payload(len);
        let sum = checksum(&payload);
        let reply_len = match kind {
            Kind::Send => 0,
            _ => rng.len(),
        };
        let args = [
            Value::from(index as i64),
            Value::from(seq as i64),
            Value::from(sum as i64),
            Value::Bytes(payload),
            Value::from(reply_len as i64),
        ];
        match kind {
            Kind::Send => {
                counts[0] += 1;
                r.send("load-send", &args)
                    .map_err(|e| format!("send {seq}: {e}"))?;
            }
            Kind::SendSync => {
                counts[1] += 1;
                check_reply(seq, sum, reply_len, r.send_sync("load-sync", &args))?;
            }
            Kind::InvokeBlocking => {
                counts[2] += 1;
                check_reply(seq, sum, reply_len, r.invoke_blocking("load-invoke", &args))?;
            }
            Kind::InvokeFuture => {
                counts[2] += 1;
                pending.push_back((seq, sum, reply_len, r.invoke("load-invoke", &args)));
                if pending.len() > IN_FLIGHT {
                    if let Some((s, sum, want, f)) = pending.pop_front() {
                        check_reply(s, sum, want, f.wait(Some(ANSWER_GUARD)))?;
                    }
                }
            }
        }
    }
    for (s, sum, want, f) in pending {
        check_reply(s, sum, want, f.wait(Some(ANSWER_GUARD)))?;
    }
    let verdict = r
        .send_sync(
            "load-done",
            &[
                Value::from(index as i64),
                Value::from(messages as i64),
                Value::from(counts[0]),
                Value::from(counts[1]),
                Value::from(counts[2]),
            ],
        )
        .map_err(|e| format!("load-done: {e}"))?;
    match verdict.as_str() {
        Some("ok") => Ok(()),
        _ => Err(format!("main's books disagree: {verdict:?}")),
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let nums: Option<Vec<u64>> = argv.iter().map(|a| a.parse().ok()).collect();
    let Some(&[index, messages, seed, limit]) = nums.as_deref() else {
        eprintln!("usage: load_renderer <index> <messages> <seed> <limit-secs>; got {argv:?}");
        std::process::exit(EXIT_USAGE);
    };
    let label = format!("load_renderer {index} (pid {})", std::process::id());
    let dog_label = label.clone();
    let _ = std::thread::Builder::new()
        .name("self-watchdog".into())
        .spawn(move || {
            std::thread::sleep(Duration::from_secs(limit));
            eprintln!("{dog_label}: self-watchdog fired after {limit} s");
            std::process::exit(EXIT_WATCHDOG);
        });
    match run(index, messages, seed) {
        Ok(()) => std::process::exit(EXIT_OK),
        Err(why) => {
            eprintln!("{label}: FAILED: {why}");
            std::process::exit(EXIT_FAILED)
        }
    }
}
