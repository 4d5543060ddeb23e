//! The "many renderers" section: main with 256 connected renderers (threads, idle CPU) and how
//! its one-way receive rate grows with renderers (1, 8, 64, 256) and message size (64 B,
//! 4 KiB, 64 KiB). `--only many`; in the default run (about 10 s: three sets of 256
//! renderers spawned, 5 s idle).
//!
//! Main is this process (the report's [`Host`]), its dispatcher on CPU 0; the renderers are
//! unpinned. Each message size gets a fresh `Main` and 256 fresh renderers; each row of the
//! scaling table uses the first 1, 8, 64 or 256 of them, sending at once (the fan-in of
//! [`Host::send_throughput`]: every message checked in order per renderer).

use super::markdown::thousands;
use super::measure::MAIN_CPU;
use super::proc_stat;
use super::targets::Target;
use super::Report;
use crate::api::Host;
use crate::BenchError;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// The section's label for `--only`.
pub const LABEL: &str = "many";

/// Renderers connected for the thread and idle rows.
pub const RENDERERS: usize = 256;

/// Renderer counts of the scaling table.
pub const COUNTS: [usize; 4] = [1, 8, 64, 256];

/// Message sizes of the scaling table.
pub const SIZES: [usize; 3] = [64, 4096, 65536];

/// Threads main may have with [`RENDERERS`] connected.
pub const MAX_THREADS: usize = 8;

/// How long the renderers sit idle for the idle-CPU row.
pub const IDLE: Duration = Duration::from_secs(5);

/// The fan-in target: 64 renderers at least this fraction of 1 renderer's rate (64 B).
pub const FAN_IN_RATIO: f64 = 0.8;

/// One cell of the scaling table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaleRow {
    /// Renderers sending at once.
    pub renderers: usize,
    /// Payload bytes per message.
    pub payload: usize,
    /// Messages main received (and checked).
    pub messages: u64,
    /// Messages per second main received, all renderers together.
    pub per_s: f64,
}

/// What the section measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManyRow {
    /// Renderers connected for the thread and idle rows.
    pub renderers: usize,
    /// Threads of the main process before `Main` was created (the report's own).
    pub threads_before_main: usize,
    /// Threads of the main process with every renderer connected (after traffic, so the
    /// dispatcher's wait helpers exist).
    pub threads: usize,
    /// Seconds the renderers sat idle.
    pub idle_s: f64,
    /// Clock ticks per second.
    pub ticks_per_second: u64,
    /// utime + stime ticks of main over the idle time.
    pub idle_main_ticks: u64,
    /// The scaling table, by size then renderers.
    pub scaling: Vec<ScaleRow>,
}

impl ManyRow {
    /// Rate of `renderers` at `payload` bytes.
    pub fn rate(&self, renderers: usize, payload: usize) -> Option<f64> {
        self.scaling
            .iter()
            .find(|r| r.renderers == renderers && r.payload == payload)
            .map(|r| r.per_s)
    }

    /// 64 renderers' rate over 1 renderer's (64 B).
    pub fn fan_in_ratio(&self) -> Option<f64> {
        Some(self.rate(64, 64)? / self.rate(1, 64)?)
    }
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

/// Messages per measurement at `payload` bytes (split across the renderers).
fn messages(payload: usize, quick: bool) -> u64 {
    let m = match payload {
        0..=64 => 256_000,
        65..=4096 => 64_000,
        _ => 8_192,
    };
    if quick {
        m / 4
    } else {
        m
    }
}

/// Measure the section.
pub fn measure(exe: &Path, quick: bool) -> Result<ManyRow, BenchError> {
    let what = "many renderers";
    let threads_before_main = threads();
    let mut row = ManyRow {
        renderers: RENDERERS,
        threads_before_main,
        threads: 0,
        idle_s: IDLE.as_secs_f64(),
        ticks_per_second: proc_stat::ticks_per_sec(),
        idle_main_ticks: 0,
        scaling: Vec::new(),
    };
    for (k, &payload) in SIZES.iter().enumerate() {
        let mut host = Host::with_data_payload(Some(MAIN_CPU), exe, payload)
            .map_err(BenchError::during(what))?;
        let rs = host
            .spawn(RENDERERS, None)
            .map_err(BenchError::during(what))?;
        let total = messages(payload, quick);
        for &n in &COUNTS {
            let per = (total / n as u64).max(1);
            // Untimed warm-up, then the run.
            host.send_throughput(&rs[..n], (per / 10).max(1))
                .map_err(BenchError::during(what))?;
            let t = host
                .send_throughput(&rs[..n], per)
                .map_err(BenchError::during(what))?;
            row.scaling.push(ScaleRow {
                renderers: n,
                payload,
                messages: t.messages,
                per_s: t.per_sec(),
            });
        }
        if k == 0 {
            row.threads = threads();
            // Let every spin phase run out (microseconds) and the threads park.
            std::thread::sleep(Duration::from_millis(200));
            let me = std::process::id();
            let read =
                || proc_stat::cpu_ticks(me).map_err(BenchError::io(format!("/proc/{me}/stat")));
            let t0 = read()?;
            std::thread::sleep(IDLE);
            row.idle_main_ticks = read()?.saturating_sub(t0);
        }
    }
    Ok(row)
}

/// The section's targets.
pub fn targets(r: &Report, t: &mut Vec<Target>) {
    let m = r.many.as_ref();
    t.push(Target {
        name: "threads in main, 256 renderers".into(),
        goal: format!("<= {MAX_THREADS} threads in main with {RENDERERS} connected renderers"),
        measured: m.map_or_else(
            || "not measured".into(),
            |m| {
                format!(
                    "{} threads ({} of them the report's own, before Main)",
                    m.threads, m.threads_before_main
                )
            },
        ),
        met: m.map(|m| m.threads <= MAX_THREADS),
    });
    t.push(Target {
        name: "idle CPU, 256 renderers".into(),
        goal: format!(
            "0 ticks of main over {:.0} s with {RENDERERS} connected idle renderers",
            IDLE.as_secs_f64()
        ),
        measured: m.map_or_else(
            || "not measured".into(),
            |m| format!("{} ticks over {:.0} s", m.idle_main_ticks, m.idle_s),
        ),
        met: m.map(|m| m.idle_main_ticks == 0),
    });
    let ratio = m.and_then(ManyRow::fan_in_ratio);
    t.push(Target {
        name: "fan-in, 64 renderers".into(),
        goal: format!(
            "64 renderers -> main (64 B) >= {FAN_IN_RATIO}x the 1-renderer rate, same Main"
        ),
        measured: match (m, ratio) {
            (Some(m), Some(x)) => format!(
                "{x:.2}x ({} vs {} msg/s)",
                thousands(m.rate(64, 64).unwrap_or(0.0) as u64),
                thousands(m.rate(1, 64).unwrap_or(0.0) as u64)
            ),
            _ => "not measured".into(),
        },
        met: ratio.map(|x| x >= FAN_IN_RATIO),
    });
}

/// The section in the markdown report.
pub fn markdown(r: &Report, s: &mut String) {
    let Some(m) = &r.many else { return };
    let _ = writeln!(
        s,
        "\n## Main under many renderers\n\n\
         {} renderers connected to one Main: {} threads in main ({} before Main), {} ticks of \
         main's CPU over {:.0} s idle ({} ticks/s).\n\n\
         One-way `send`, all renderers at once into main's listener (msg/s, every message \
         checked):\n",
        m.renderers,
        m.threads,
        m.threads_before_main,
        m.idle_main_ticks,
        m.idle_s,
        m.ticks_per_second
    );
    let _ = write!(s, "| payload |");
    for n in COUNTS {
        let _ = write!(s, " {n} renderer{} |", if n == 1 { "" } else { "s" });
    }
    let _ = write!(s, "\n| --- |");
    for _ in COUNTS {
        let _ = write!(s, " ---: |");
    }
    let _ = writeln!(s);
    for size in SIZES {
        let _ = write!(s, "| {} B |", thousands(size as u64));
        for n in COUNTS {
            match m.rate(n, size) {
                Some(x) => {
                    let base = m.rate(1, size).unwrap_or(x);
                    let _ = write!(s, " {} ({:.2}x) |", thousands(x as u64), x / base);
                }
                None => {
                    let _ = write!(s, " - |");
                }
            }
        }
        let _ = writeln!(s);
    }
}
