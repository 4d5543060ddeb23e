//! Prints a round-trip latency table: Electrode's transport in each wait mode against the raw
//! futex, busy-spin and Unix-socket baselines, cross-core and same-core.
//!
//! Configurations are measured in interleaved rounds (A B C ... A B C ...), each round in a
//! fresh peer process, so that drift (other load, frequency changes) spreads over all of them;
//! each configuration's samples from all rounds are pooled. Ratios are to the raw futex
//! baseline on the same placement, measured in the same run.
//!
//! ```text
//! cargo run --release -p electrode-bench --bin transport_table -- [options]
//!   --iters N            round trips per configuration per round (default 10000)
//!   --rounds R           rounds (default 10)
//!   --payload B          payload bytes (default 64)
//!   --placements LIST    cross,same,unpinned (default cross,same)
//!   --systems LIST       shm,shm:park,shm:<spin ns>:<yield ns>,futex,spin,uds
//!                        (default shm,shm:park,shm:500:50000,futex,spin,uds)
//!   --budget S:Y         add shm with spin S ns then yield Y ns (repeatable)
//! ```

use electrode_bench::pingpong::{
    stamp_overhead_ns, Placement, Samples, Session, System, WARMUP_ITERS,
};
use electrode_bench::BenchError;
use electrode_shm::WaitMode;
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Options {
    iters: usize,
    rounds: usize,
    payload: usize,
    placements: Vec<Placement>,
    systems: Vec<System>,
}

const USAGE: &str = "usage: transport_table [--iters N] [--rounds R] [--payload B] \
[--placements cross,same,unpinned] [--systems shm,shm:park,shm:S:Y,futex,spin,uds] [--budget S:Y]...";

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        iters: 10_000,
        rounds: 10,
        payload: 64,
        placements: vec![Placement::CrossCore, Placement::SameCore],
        systems: vec![
            System::shm_default(),
            System::shm_park_only(),
            System::shm_budget(500, 50_000),
            System::RawFutex,
            System::BusySpin,
            System::UnixSocket,
        ],
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--iters" => o.iters = val()?.parse().map_err(|_| "bad --iters")?,
            "--rounds" => o.rounds = val()?.parse().map_err(|_| "bad --rounds")?,
            "--payload" => o.payload = val()?.parse().map_err(|_| "bad --payload")?,
            "--placements" => {
                o.placements = val()?
                    .split(',')
                    .map(|p| Placement::parse(p).ok_or(format!("unknown placement {p}")))
                    .collect::<Result<_, _>>()?
            }
            "--systems" => {
                o.systems = val()?
                    .split(',')
                    .map(|s| System::parse(s).ok_or(format!("unknown system {s}")))
                    .collect::<Result<_, _>>()?
            }
            "--budget" => {
                let v = val()?;
                let s = System::parse(&format!("shm:{v}")).ok_or(format!("bad budget {v}"))?;
                o.systems.push(s);
            }
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    if o.iters == 0 || o.rounds == 0 {
        return Err("--iters and --rounds must be positive".into());
    }
    Ok(o)
}

/// One round of one configuration in a fresh peer: per-round-trip samples, then the mean of a
/// batch timed as a whole (no per-round-trip stamps in it).
fn measure_round(
    system: System,
    placement: Placement,
    iters: usize,
    payload: usize,
) -> Result<(Samples, f64), BenchError> {
    let mut s = Session::start(system, placement, payload)?;
    s.warm_up(WARMUP_ITERS)?;
    let samples = s.measure(iters)?;
    let batch = s.time(iters as u64)?;
    Ok((samples, batch.as_nanos() as f64 / iters as f64))
}

struct Row {
    placement: Placement,
    system: System,
    samples: Samples,
    round_p50: Vec<u64>,
    batch_ns: f64,
}

fn main() -> ExitCode {
    electrode_bench::role::serve_if_role();
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("transport_table: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut rows: Vec<Row> = Vec::new();
    for &placement in &o.placements {
        for &system in &o.systems {
            if system == System::BusySpin && placement == Placement::SameCore {
                continue; // every round trip would cost a scheduler time slice
            }
            rows.push(Row {
                placement,
                system,
                samples: Samples::default(),
                round_p50: Vec::new(),
                batch_ns: 0.0,
            });
        }
    }
    let started = Instant::now();
    let clock = stamp_overhead_ns();
    for round in 0..o.rounds {
        // Rotate the starting configuration each round as well as interleaving.
        let n = rows.len();
        for k in 0..n {
            let row = &mut rows[(round + k) % n];
            match measure_round(row.system, row.placement, o.iters, o.payload) {
                Ok((s, batch)) => {
                    row.round_p50.push(s.summary().p50);
                    row.samples.extend(&s);
                    row.batch_ns += batch / o.rounds as f64;
                }
                Err(e) => {
                    eprintln!("{} / {}: {e}", row.placement, row.system);
                    return ExitCode::FAILURE;
                }
            }
        }
        eprintln!(
            "round {}/{} done ({:.1} s)",
            round + 1,
            o.rounds,
            started.elapsed().as_secs_f64()
        );
    }
    print_table(&o, &rows, clock, started.elapsed());
    ExitCode::SUCCESS
}

fn futex_of(rows: &[Row], placement: Placement) -> Option<&Row> {
    rows.iter()
        .find(|r| r.placement == placement && r.system == System::RawFutex)
}

/// Median over rounds of `row`'s p50 divided by the raw futex p50 of the same round and
/// placement: adjacent measurements, so slow drift cancels.
fn round_ratio(rows: &[Row], row: &Row) -> Option<f64> {
    let base = futex_of(rows, row.placement)?;
    let mut r: Vec<f64> = row
        .round_p50
        .iter()
        .zip(&base.round_p50)
        .map(|(&a, &b)| a as f64 / b.max(1) as f64)
        .collect();
    if r.is_empty() {
        return None;
    }
    r.sort_by(f64::total_cmp);
    Some(r[r.len() / 2])
}

fn ratio(v: f64, base: Option<f64>) -> String {
    match base {
        Some(b) if b > 0.0 => format!("{:.2}x", v / b),
        _ => "-".into(),
    }
}

fn print_table(o: &Options, rows: &[Row], stamp: f64, took: Duration) {
    println!(
        "transport round trips: {} B payload, {} rounds x {} round trips per configuration, \
         interleaved, took {:.1} s",
        o.payload,
        o.rounds,
        o.iters,
        took.as_secs_f64()
    );
    println!(
        "percentiles include one timestamp per round trip (~{stamp:.0} ns); \
         batch mean = total time / round trips, without per-round-trip stamps;\n\
         round ratio = median over rounds of (p50 / raw futex p50 of the same round)"
    );
    println!(
        "{:<9} {:<26} {:>8} {:>8} {:>9} {:>9} {:>10} {:>17} {:>9} {:>11} {:>11}",
        "placement",
        "system",
        "p50 ns",
        "p99 ns",
        "p99.9 ns",
        "mean ns",
        "batch mean",
        "round p50 min-max",
        "p50/futex",
        "batch/futex",
        "round ratio"
    );
    for r in rows {
        let s = r.samples.summary();
        let base = futex_of(rows, r.placement);
        let lo = r.round_p50.iter().min().copied().unwrap_or(0);
        let hi = r.round_p50.iter().max().copied().unwrap_or(0);
        println!(
            "{:<9} {:<26} {:>8} {:>8} {:>9} {:>9.0} {:>10.0} {:>17} {:>9} {:>11} {:>11}",
            r.placement.name(),
            r.system.to_string(),
            s.p50,
            s.p99,
            s.p999,
            s.mean,
            r.batch_ns,
            format!("{lo}-{hi}"),
            ratio(s.p50 as f64, base.map(|b| b.samples.summary().p50 as f64)),
            ratio(r.batch_ns, base.map(|b| b.batch_ns)),
            round_ratio(rows, r).map_or("-".into(), |x| format!("{x:.2}x")),
        );
    }
    print_targets(rows);
}

fn print_targets(rows: &[Row]) {
    let verdict = |ok: bool| if ok { "MET" } else { "NOT MET" };
    println!("targets (p50):");
    for r in rows {
        let System::Shm(mode) = r.system else {
            continue;
        };
        let p50 = r.samples.summary().p50;
        let futex = futex_of(rows, r.placement).map(|f| f.samples.summary().p50.max(1));
        let (what, ok) = match (r.placement, mode) {
            (Placement::CrossCore, WaitMode::SpinThenPark(_)) => {
                (format!("<= 300 ns: {p50} ns"), p50 <= 300)
            }
            (Placement::CrossCore, WaitMode::ParkOnly) | (Placement::SameCore, _) => {
                let limit = if r.placement == Placement::SameCore {
                    1.3
                } else {
                    1.15
                };
                let (Some(f), Some(x)) = (futex, round_ratio(rows, r)) else {
                    continue;
                };
                let pooled = p50 as f64 / f as f64;
                (
                    format!(
                        "within {limit}x raw futex: round ratio {x:.2}x \
                         (pooled p50 {p50} vs {f} ns = {pooled:.2}x)"
                    ),
                    x <= limit,
                )
            }
            (Placement::Unpinned, _) => continue,
        };
        println!("  {} {}: {what} -> {}", r.system, r.placement, verdict(ok));
    }
}
