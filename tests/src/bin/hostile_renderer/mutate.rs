//! Random mutation of everything a renderer can write: valid messages mutated, garbage under
//! any kind, random bytes in either ring's data, the header page, the slot headers and the
//! event words, chunked messages, lies about either ring position.

use crate::hostile::Hostile;
use crate::report::say;
use electrode::Value;
use electrode_shm::{AlignedBuf, WaitMode};
use electrode_tests::hostile_kit::{self as kit, kind, ring, slot, Envelope, Rng};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Channels main listens on in the mutation test (plus `echo` / `echo-sync`).
const MUTATE_LOG: &str = "log";

/// Role `mutate BUDGET SEED MS`: up to `BUDGET` random mutations (at most `MS` ms) of
/// everything a renderer can write, reporting progress.
pub(crate) fn mutate(budget: u64, seed: u64, max_ms: u64) -> i32 {
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
                            + rng.index(layout.config.slot_count as usize * slot::HEADER)
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
