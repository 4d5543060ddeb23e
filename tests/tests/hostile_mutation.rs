//! A mutation run: renderers (`hostile_renderer mutate`) that make a few hundred thousand
//! random mutations of everything they can write, against a live main.
//!
//! Each mutation is one of: a valid message of any kind with random edits, a valid message, a
//! garbage payload under any kind, random bytes in the ring (frames main has not read yet
//! included), in the segment header, the slot headers, main's ring, the wake words, a large
//! chunked message (mutated or not), or a lie about a ring position. Whenever main disconnects
//! a mutator (ring corruption is never tolerated), the test spawns the next one, until the
//! budget (count and time) is spent.
//!
//! Phase 1 runs against a main with `max_violations(1_000_000)`, so one renderer keeps feeding
//! main garbage for a long time; phase 2 against a main with the default (3), so renderers are
//! disconnected every few mutations. Throughout:
//!
//! - main survives, and every hostile renderer ends as expected (disconnected for integrity
//!   failure, or out of budget);
//! - a well-behaved renderer on each main keeps getting every answer right;
//! - whatever main's `log` listener is given re-encodes and re-validates to the same values;
//! - afterwards main still serves a new renderer, and after hundreds of disconnects its fds
//!   and segment mappings are what they were before (nothing leaks).

use electrode::wire::{encode_to_vec, ArgsView};
use electrode::{GoneReason, Main};
use electrode_tests::hostile_kit::{self as kit, EchoStats, Good, Spawned};
use electrode_tests::{procfs, watchdog};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_hostile_renderer");
/// Total mutations, over both phases.
const BUDGET: u64 = 300_000;
const PHASE1_TIME: Duration = Duration::from_secs(16);
const PHASE2_TIME: Duration = Duration::from_secs(6);
/// Rings small enough that chunked messages are cheap and random writes hit unread frames.
const RING: usize = 64 * 1024;

fn role(args: &[&str]) -> Command {
    let mut c = Command::new(EXE);
    c.args(args);
    c
}

/// What main's `log` listener found.
#[derive(Debug, Default)]
struct LogCheck {
    delivered: AtomicU64,
    problems: Mutex<Vec<String>>,
}

fn main_with(max_violations: u32) -> (Main, Arc<EchoStats>, Arc<LogCheck>) {
    let main = Main::builder()
        .max_violations(max_violations)
        .ring_capacity(RING)
        .build()
        .unwrap();
    let stats = kit::install_echo(&main);
    let check = Arc::new(LogCheck::default());
    let c = check.clone();
    main.ipc().on("log", move |_, args| {
        c.delivered.fetch_add(1, Ordering::Relaxed);
        // What main delivers was validated: it converts, re-encodes and re-validates.
        let values = args.to_values();
        let again = encode_to_vec(&values)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                ArgsView::new(&b)
                    .map(|v| v.to_values())
                    .map_err(|e| e.to_string())
            });
        let same = again
            .as_ref()
            .is_ok_and(|v| format!("{v:?}") == format!("{values:?}"));
        if !same {
            let mut p = c.problems.lock().unwrap();
            if p.len() < 10 {
                p.push(format!("{values:?} re-validated as {again:?}"));
            }
        }
    });
    (main, stats, check)
}

/// Mutations counted from a mutator's output (`progress N` lines, `done N` at the end).
fn ops_of(out: &str) -> u64 {
    out.lines()
        .filter_map(|l| {
            l.strip_prefix("progress ")
                .or_else(|| l.strip_prefix("done "))
        })
        .filter_map(|n| n.parse().ok())
        .max()
        .unwrap_or(0)
}

#[derive(Debug, Default)]
struct Phase {
    ops: u64,
    spawns: u64,
    ends: BTreeMap<String, u64>,
}

/// Run mutators against `main` until `budget` mutations or `time` are spent.
fn phase(main: &Main, budget: u64, time: Duration, seed: u64) -> Phase {
    let start = Instant::now();
    let mut p = Phase::default();
    while p.ops < budget && start.elapsed() < time {
        let left = time.saturating_sub(start.elapsed()).as_millis().max(1);
        let h = Spawned::spawn(
            main,
            role(&[
                "mutate",
                &(budget - p.ops).to_string(),
                &(seed + p.spawns).to_string(),
                &left.to_string(),
            ]),
        );
        let d = h.wait_gone();
        let out = h.output();
        match (d.reason, d.exit_code) {
            // Disconnected by main, or out of budget, or its own ring end broke (it scribbled
            // main's side of a position and its producer noticed).
            (GoneReason::IntegrityFailure, _)
            | (GoneReason::CleanExit, _)
            | (GoneReason::AbnormalExit, kit::EXIT_MAIN_GONE) => {}
            other => panic!("mutator ended with {other:?}; output:\n{out}"),
        }
        assert_eq!(h.gone_calls(), 1);
        *p.ends.entry(d.reason.to_string()).or_default() += 1;
        p.ops += ops_of(&out);
        p.spawns += 1;
    }
    p
}

fn segments() -> BTreeSet<u64> {
    procfs::mapped_segments(std::process::id()).unwrap()
}

#[test]
fn mutation_run() {
    let _serial = kit::serial();
    let _dog = watchdog(Duration::from_secs(300), "mutation_run");
    let started = Instant::now();

    // Phase 1: main tolerates (almost) any number of violations.
    let (main, stats, check) = main_with(1_000_000);
    let good = Good::start(&main, &stats, role(&["good"]));
    let p1 = phase(&main, BUDGET * 2 / 3, PHASE1_TIME, 1000);
    good.wait_more(50);
    let (good_calls, good_max) = good.stop();
    assert!(
        check.problems.lock().unwrap().is_empty(),
        "{:?}",
        check.problems.lock().unwrap()
    );
    let delivered1 = check.delivered.load(Ordering::Relaxed);
    drop(main);

    // Phase 2: the default, three strikes; count what a few hundred disconnects leave behind.
    let (main, stats, check) = main_with(3);
    let good = Good::start(&main, &stats, role(&["good"]));
    let fds = kit::own_fd_targets();
    let maps = segments();
    let p2 = phase(&main, BUDGET - p1.ops.min(BUDGET), PHASE2_TIME, 2000);
    assert_eq!(
        kit::own_fd_targets(),
        fds,
        "fds left behind by disconnected renderers"
    );
    assert_eq!(
        segments(),
        maps,
        "segments left mapped by disconnected renderers"
    );
    good.wait_more(50);
    let (good_calls2, good_max2) = good.stop();
    assert!(
        check.problems.lock().unwrap().is_empty(),
        "{:?}",
        check.problems.lock().unwrap()
    );
    // Main still serves a newcomer.
    let fresh = Good::start(&main, &stats, role(&["good"]));
    fresh.wait_more(100);
    fresh.stop();

    eprintln!(
        "mutation run in {:?}:\n  phase 1 (max_violations 1e6): {} mutations by {} renderers {:?}, \
         {delivered1} `log` messages delivered; good renderer {good_calls} calls (slowest \
         {good_max} µs)\n  phase 2 (max_violations 3): {} mutations by {} renderers {:?}, {} \
         delivered; good renderer {good_calls2} calls (slowest {good_max2} µs)",
        started.elapsed(),
        p1.ops,
        p1.spawns,
        p1.ends,
        p2.ops,
        p2.spawns,
        p2.ends,
        check.delivered.load(Ordering::Relaxed),
    );
    assert!(p1.ops + p2.ops <= BUDGET);
    assert!(p1.ops > 0 && p2.spawns > 0);
}
