//! `electrode-bench`: the report binary.
//!
//! ```text
//! cargo run --release -p electrode-bench -- report [--quick] [--out DIR] [--rounds N]
//! ```
//!
//! Measures Electrode's API (invoke, sendSync, event.reply, WebContents::send and ::invoke,
//! large payloads, one-way throughput, idle CPU) between a real `electrode::Main` and real
//! renderer processes, next to the busy-spin and raw-futex floors and the peers a user would
//! pick instead (Unix socket, ipc-channel, iceoryx2, shmipc), all in one run; prints the
//! tables and the target verdicts. See `docs/PERFORMANCE.md`.
//!
//! The same binary, re-executed with its orders in `ELECTRODE_BENCH_ROLE`
//! (`electrode_bench::role`), plays the renderer and peer processes.

use electrode_bench::report::{self, Options};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: electrode-bench report [--quick] [--out DIR] [--rounds N] [--only A,B]\n\
       electrode-bench workload invoke|send-sync|send|wc-send|echo:<bytes> [--secs S] [--wait SPIN_NS:YIELD_NS|park]\n\
  --quick     fewer rounds and shorter runs (under 20 s)\n\
  --out DIR   also write DIR/report.json, DIR/report.md and DIR/latency.svg\n\
  --rounds N  interleaved rounds of the latency and large-payload rows (default 8, quick 2)\n\
  --only A,B  only latency rows whose name contains A or B, and the sections named\n\
              large, throughput, idle, flood if listed (for quick comparisons)\n\
other tools: cargo run --release -p electrode-bench --bin transport_table -- --help\n\
             cargo bench -p electrode-bench --bench api | --bench transport";

fn parse(args: &[String]) -> Result<Options, String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("report") => {}
        Some("-h" | "--help") | None => return Err(String::new()),
        Some(other) => return Err(format!("unknown command {other:?}")),
    }
    let mut o = Options {
        quick: false,
        out: None,
        exe: std::env::current_exe().map_err(|e| format!("locating this executable: {e}"))?,
        rounds: None,
        only: Vec::new(),
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--out" => o.out = Some(PathBuf::from(it.next().ok_or("--out needs a directory")?)),
            "--rounds" => {
                let v = it.next().ok_or("--rounds needs a number")?;
                o.rounds = Some(v.parse().map_err(|_| format!("bad --rounds {v:?}"))?);
            }
            "--only" => {
                let v = it.next().ok_or("--only needs a list")?;
                o.only = v.split(',').map(str::to_string).collect();
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

/// `workload NAME [--secs S]`: keep one path busy (for a profiler).
fn workload(args: &[String]) -> ExitCode {
    use electrode_bench::workload::{self, Workload};
    let Some(w) = args.first().and_then(|a| Workload::parse(a)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let (mut secs, mut wait) = (5.0, None);
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        let parsed = match (a.as_str(), it.next()) {
            ("--secs", Some(v)) => v
                .parse()
                .map(|v| secs = v)
                .map_err(|_| format!("bad --secs {v:?}")),
            ("--wait", Some(v)) => {
                electrode_bench::role::parse_wait_mode(v).map(|m| wait = Some(m))
            }
            _ => Err(format!("bad argument {a:?}")),
        };
        if let Err(e) = parsed {
            eprintln!("electrode-bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("electrode-bench: locating this executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    match workload::run(&exe, w, secs, wait) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("electrode-bench workload: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    electrode_bench::role::serve_if_role();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("workload") {
        return workload(&args[1..]);
    }
    let o = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("electrode-bench: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let r = match report::run(&o) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("electrode-bench report: ABORTED: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", report::markdown::render(&r));
    if let Some(dir) = &o.out {
        if let Err(e) = report::write_outputs(&r, dir) {
            eprintln!("electrode-bench report: {e}");
            return ExitCode::FAILURE;
        }
        eprintln!(
            "wrote {0}/report.md, {0}/report.json, {0}/latency.svg",
            dir.display()
        );
    }
    ExitCode::SUCCESS
}
