//! `fair_renderer <role> [args]`: the renderers of the fair-dispatch tests
//! (`tests/tests/fair_flood.rs`, `tests/tests/ordering_frames.rs`), spawned by the test's
//! `Main::spawn_renderer`. Each role says ready (`send_sync("ready", [role])`, answered when
//! main wants it to start), runs its script, checks every answer, and exits 0 when all held
//! (1 with the reason on stderr otherwise).
//!
//! - `flood`: sends `send("flood", [seq])` (seq 0, 1, ..) as fast as the ring takes them until
//!   main says `flood-stop`, then `invoke("flood-done", [sent])`, which main answers with how
//!   many it counted (in order); they must agree. At least [`FLOOD_MIN`] are sent.
//! - `caller <n>`: `n` calls alternating `invoke("fair-invoke", [i])` (answer `2i + 1`) and
//!   `send_sync("fair-sync", [i])` (answer `i + 7`), each checked.
//! - `mixed <frames> <n> <seed>`: one thread per frame (`0..frames`, each its own `frame(k)`
//!   handle on the same connection, so their messages interleave in the one ring), each making
//!   `n` calls, randomly `send("ord", ..)`, `send_sync("ord-sync", ..)` (answer `seq`),
//!   `invoke("ord-invoke", ..)` left unawaited (a future, up to 16 at once) or blocking, all
//!   with `[frame, seq]`, `seq` counting `0..n` per frame over all three kinds; every answer is
//!   checked. Main checks that each (renderer, frame) stream arrives as `0, 1, .., n - 1`.

use electrode::{args, Invoke, IpcRenderer, Value};
use electrode_tests::api_kit::{expect_eq, run_role, Check, Rng, HANG_GUARD, READY};
use electrode_tests::protocol::EXIT_USAGE;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The flood sends at least this many before it looks at the stop flag.
const FLOOD_MIN: i64 = 2_000;

/// Unanswered invoke futures one frame keeps at once.
const IN_FLIGHT: usize = 16;

fn connect() -> Result<IpcRenderer, String> {
    IpcRenderer::connect().map_err(|e| format!("connect: {e}"))
}

fn ready(r: &IpcRenderer, role: &str) -> Check {
    r.send_sync(READY, &args![role])
        .map(drop)
        .map_err(|e| format!("ready: {e}"))
}

fn arg(argv: &[String], i: usize, name: &str) -> Result<i64, String> {
    argv.get(i)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("argument {i} ({name}) missing or not a number"))
}

fn flood() -> Check {
    let r = connect()?;
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    r.on("flood-stop", move |_e, _a| s.store(true, Ordering::Release));
    ready(&r, "flood")?;
    let mut sent = 0i64;
    while sent < FLOOD_MIN || !stop.load(Ordering::Acquire) {
        r.send("flood", &args![sent])
            .map_err(|e| format!("flood send {sent}: {e}"))?;
        sent += 1;
    }
    let counted = r
        .invoke_blocking("flood-done", &args![sent])
        .map_err(|e| format!("flood-done: {e}"))?;
    expect_eq("main's count of the flood", counted, Value::from(sent))
}

fn caller(argv: &[String]) -> Check {
    let n = arg(argv, 0, "n")?;
    let r = connect()?;
    ready(&r, "caller")?;
    for i in 0..n {
        if i % 2 == 0 {
            let v = r
                .invoke_blocking("fair-invoke", &args![i])
                .map_err(|e| format!("invoke {i}: {e}"))?;
            expect_eq(&format!("invoke {i}"), v, Value::from(2 * i + 1))?;
        } else {
            let v = r
                .send_sync("fair-sync", &args![i])
                .map_err(|e| format!("send_sync {i}: {e}"))?;
            expect_eq(&format!("send_sync {i}"), v, Value::from(i + 7))?;
        }
    }
    Ok(())
}

/// One frame's share of `mixed`.
fn frame_calls(r: &IpcRenderer, n: i64, seed: u64) -> Check {
    let frame = i64::from(r.frame_id());
    let mut rng = Rng::new(seed ^ (frame as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut pending: VecDeque<(i64, Invoke)> = VecDeque::new();
    let settle = |(i, f): (i64, Invoke)| -> Check {
        let v = f
            .wait(Some(HANG_GUARD))
            .map_err(|e| format!("frame {frame}: invoke {i}: {e}"))?;
        expect_eq(&format!("frame {frame}: invoke {i}"), v, Value::from(i))
    };
    for i in 0..n {
        match rng.below(4) {
            0 => r
                .send("ord", &args![frame, i])
                .map_err(|e| format!("frame {frame}: send {i}: {e}"))?,
            1 => {
                let v = r
                    .send_sync("ord-sync", &args![frame, i])
                    .map_err(|e| format!("frame {frame}: send_sync {i}: {e}"))?;
                expect_eq(&format!("frame {frame}: send_sync {i}"), v, Value::from(i))?;
            }
            2 => {
                let v = r
                    .invoke_blocking("ord-invoke", &args![frame, i])
                    .map_err(|e| format!("frame {frame}: invoke {i}: {e}"))?;
                expect_eq(&format!("frame {frame}: invoke {i}"), v, Value::from(i))?;
            }
            _ => {
                pending.push_back((i, r.invoke("ord-invoke", &args![frame, i])));
                if pending.len() >= IN_FLIGHT {
                    if let Some(p) = pending.pop_front() {
                        settle(p)?;
                    }
                }
            }
        }
    }
    pending.into_iter().try_for_each(settle)
}

fn mixed(argv: &[String]) -> Check {
    let frames = arg(argv, 0, "frames")?;
    let n = arg(argv, 1, "n")?;
    let seed = arg(argv, 2, "seed")? as u64;
    let r = connect()?;
    let handles = (0..frames)
        .map(|k| {
            if k == 0 {
                Ok(r.clone())
            } else {
                r.frame(k as u32).map_err(|e| format!("frame({k}): {e}"))
            }
        })
        .collect::<Result<Vec<_>, String>>()?;
    ready(&r, "mixed")?;
    let threads: Vec<_> = handles
        .into_iter()
        .map(|h| std::thread::spawn(move || frame_calls(&h, n, seed)))
        .collect();
    let mut first_failure = Ok(());
    for t in threads {
        let outcome = t
            .join()
            .unwrap_or_else(|_| Err("a frame's thread panicked".into()));
        if first_failure.is_ok() {
            first_failure = outcome;
        }
    }
    first_failure
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(role) = argv.first().cloned() else {
        eprintln!("usage: fair_renderer <flood | caller N | mixed FRAMES N SEED>");
        std::process::exit(EXIT_USAGE);
    };
    let rest = argv[1..].to_vec();
    let script: Box<dyn FnOnce() -> Check> = match role.as_str() {
        "flood" => Box::new(flood),
        "caller" => Box::new(move || caller(&rest)),
        "mixed" => Box::new(move || mixed(&rest)),
        other => {
            eprintln!("fair_renderer: unknown role `{other}`");
            std::process::exit(EXIT_USAGE);
        }
    };
    run_role(&role, script)
}
