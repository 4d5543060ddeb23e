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
//!   --iters N            round trips per configuration per round (default 20000)
//!   --rounds R           rounds (default 5)
//!   --payload B          payload bytes (default 64)
//!   --placements LIST    cross,same,unpinned (default cross,same)
//!   --systems LIST       shm,shm:park,shm:<spin ns>:<yield ns>,futex,spin,uds
//!                        (default shm,shm:park,futex,spin,uds)
//!   --budget S:Y         add shm with spin S ns then yield Y ns (repeatable)
//! ```

use electrode_bench::pingpong::{
    stamp_overhead_ns, BenchError, Placement, Samples, Session, Summary, System, WARMUP_ITERS,
};
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
        iters: 20_000,
        rounds: 5,
        payload: 64,
        placements: vec![Placement::CrossCore, Placement::SameCore],
        systems: vec![
            System::shm_default(),
            System::shm_park_only(),
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
    electrode_bench::pingpong::serve_if_peer();
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
         batch mean = total time / round trips, without per-round-trip stamps"
    );
    println!(
        "{:<9} {:<26} {:>8} {:>8} {:>9} {:>9} {:>10} {:>17} {:>9} {:>11}",
        "placement",
        "system",
        "p50 ns",
        "p99 ns",
        "p99.9 ns",
        "mean ns",
        "batch mean",
        "round p50 min-max",
        "p50/futex",
        "batch/futex"
    );
    for r in rows {
        let s = r.samples.summary();
        let base = futex_of(rows, r.placement);
        let lo = r.round_p50.iter().min().copied().unwrap_or(0);
        let hi = r.round_p50.iter().max().copied().unwrap_or(0);
        println!(
            "{:<9} {:<26} {:>8} {:>8} {:>9} {:>9.0} {:>10.0} {:>17} {:>9} {:>11}",
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
        );
    }
    print_targets(rows);
}

fn print_targets(rows: &[Row]) {
    let get = |p: Placement, s: System| {
        rows.iter()
            .find(|r| r.placement == p && r.system == s)
            .map(|r| r.samples.summary())
    };
    let verdict = |ok: bool| if ok { "MET" } else { "NOT MET" };
    println!("targets (p50):");
    if let Some(s) = get(Placement::CrossCore, System::shm_default()) {
        println!(
            "  shm spin-then-park cross p50 <= 300 ns: {} ns -> {}",
            s.p50,
            verdict(s.p50 <= 300)
        );
    }
    let checks = [
        (Placement::CrossCore, System::shm_park_only(), 1.15),
        (Placement::SameCore, System::shm_default(), 1.3),
        (Placement::SameCore, System::shm_park_only(), 1.3),
    ];
    for (p, sys, limit) in checks {
        let base: Option<Summary> = futex_of(rows, p).map(|r| r.samples.summary());
        if let (Some(s), Some(f)) = (get(p, sys), base) {
            let r = s.p50 as f64 / (f.p50.max(1)) as f64;
            println!(
                "  {sys} {p} p50 within {limit}x raw futex: {r:.2}x ({} vs {} ns) -> {}",
                s.p50,
                f.p50,
                verdict(r <= limit)
            );
        }
    }
}
