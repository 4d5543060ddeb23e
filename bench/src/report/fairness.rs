//! The fairness section: one renderer's invoke latency while another floods main.
//!
//! Renderer A floods main with one-way 64-byte sends whose listener does
//! [`LISTENER_WORK`](crate::api::LISTENER_WORK) of work each; renderer B times blocking 64-byte
//! invokes, first with A connected and idle ("quiet"), then while A floods. Main's dispatcher
//! and A run on CPU 0, B on CPU 1 (see [`super::measure::flood_once`] for why). Each round is a fresh set of processes; the ratios
//! are medians over rounds of ratios within one round. In the default run and with
//! `--only flood`.

use super::markdown::thousands;
use super::targets::Target;
use super::{median, round_ratio, Report};
use crate::pingpong::{Samples, Summary};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::time::Duration;

/// The section's label for `--only`.
pub const LABEL: &str = "flood";

/// B's flooded p99 must be at most this.
pub const P99_LIMIT_NS: u64 = 50_000;

/// B's flooded p50 must be at most this many times its quiet p50.
pub const P50_RATIO_LIMIT: f64 = 5.0;

/// Every round of the fairness measurement, pooled.
#[derive(Clone, Debug, Default)]
pub struct FloodRow {
    /// B's invokes, A idle: every sample of every round.
    pub quiet: Samples,
    /// B's invokes while A floods.
    pub flooded: Samples,
    /// Percentiles of `quiet`.
    pub quiet_summary: Summary,
    /// Percentiles of `flooded`.
    pub flooded_summary: Summary,
    /// Each round's quiet p50.
    pub round_quiet_p50: Vec<u64>,
    /// Each round's flooded p50.
    pub round_flooded_p50: Vec<u64>,
    /// Each round's flooded p99.
    pub round_flooded_p99: Vec<u64>,
    /// Flood messages main handled in each round (all checked, in order).
    pub round_flood_messages: Vec<u64>,
    /// How long A flooded in each round.
    pub round_flood_time: Vec<Duration>,
}

impl FloodRow {
    /// Median over rounds of flooded p50 / quiet p50.
    pub fn p50_ratio(&self) -> Option<f64> {
        round_ratio(&self.round_flooded_p50, &self.round_quiet_p50)
    }

    /// Median over rounds of the flood's rate (messages per second main handled).
    pub fn flood_rate(&self) -> Option<f64> {
        median(
            self.round_flood_messages
                .iter()
                .zip(&self.round_flood_time)
                .map(|(&n, t)| n as f64 / t.as_secs_f64().max(1e-9))
                .collect(),
        )
    }

    /// Add one round.
    pub fn push(&mut self, r: &crate::api::FloodSamples) {
        let (q, f) = (r.quiet.summary(), r.flooded.summary());
        self.round_quiet_p50.push(q.p50);
        self.round_flooded_p50.push(f.p50);
        self.round_flooded_p99.push(f.p99);
        self.round_flood_messages.push(r.flood_messages);
        self.round_flood_time.push(r.flood_time);
        self.quiet.extend(&r.quiet);
        self.flooded.extend(&r.flooded);
        self.quiet_summary = self.quiet.summary();
        self.flooded_summary = self.flooded.summary();
    }
}

/// The two targets of the section.
pub fn targets(r: &Report, t: &mut Vec<Target>) {
    let name = "invoke p99 under a flood";
    let goal = format!(
        "one renderer's invoke p99 <= {} us while another floods main (1 us listener)",
        P99_LIMIT_NS / 1000
    );
    t.push(match &r.flood {
        Some(f) if f.flooded_summary.count > 0 => Target {
            name: name.into(),
            goal,
            measured: format!(
                "p99 {} ns flooded (quiet {} ns); p99 per round {:?} ns",
                f.flooded_summary.p99, f.quiet_summary.p99, f.round_flooded_p99
            ),
            met: Some(f.flooded_summary.p99 <= P99_LIMIT_NS),
        },
        _ => missing(name, &goal),
    });
    let name = "invoke p50 under a flood";
    let goal = format!(
        "one renderer's invoke p50 while another floods main <= {P50_RATIO_LIMIT}x its quiet p50"
    );
    t.push(
        match r.flood.as_ref().and_then(|f| Some((f, f.p50_ratio()?))) {
            Some((f, x)) => Target {
                name: name.into(),
                goal,
                measured: format!(
                    "flooded {} ns, quiet {} ns: {x:.2}x",
                    f.flooded_summary.p50, f.quiet_summary.p50
                ),
                met: Some(x <= P50_RATIO_LIMIT),
            },
            None => missing(name, &goal),
        },
    );
}

fn missing(name: &str, goal: &str) -> Target {
    Target {
        name: name.into(),
        goal: goal.into(),
        measured: "not measured".into(),
        met: None,
    }
}

/// The section of `report.md`.
pub fn markdown(r: &Report, s: &mut String) {
    let Some(f) = &r.flood else { return };
    let _ = writeln!(
        s,
        "\n## Fairness: invoke while another renderer floods main\n\n\
         Renderer A floods main with one-way 64-byte sends (main's listener works 1 us on \
         each); renderer B times blocking 64-byte invokes, first with A idle, then during the \
         flood. Main and A on CPU 0, B on CPU 1; {} rounds in fresh processes.\n",
        f.round_quiet_p50.len()
    );
    let _ = writeln!(
        s,
        "| B's invokes | p50 ns | p99 ns | p99.9 ns | mean ns | round trips | round p50 min-max |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for (what, x, rounds) in [
        ("quiet (A idle)", &f.quiet_summary, &f.round_quiet_p50),
        ("A flooding", &f.flooded_summary, &f.round_flooded_p50),
    ] {
        let _ = writeln!(
            s,
            "| {what} | {} | {} | {} | {} | {} | {}-{} |",
            thousands(x.p50),
            thousands(x.p99),
            thousands(x.p999),
            thousands(x.mean.round() as u64),
            thousands(x.count as u64),
            thousands(rounds.iter().min().copied().unwrap_or(0)),
            thousands(rounds.iter().max().copied().unwrap_or(0)),
        );
    }
    let _ = writeln!(
        s,
        "\nflooded p50 / quiet p50: {}; the flood ran at {} messages/s (median), every \
         message checked in order.",
        f.p50_ratio()
            .map_or_else(|| "-".into(), |x| format!("{x:.2}x")),
        f.flood_rate()
            .map_or_else(|| "-".into(), |x| thousands(x.round() as u64)),
    );
}

/// `fairness` in `report.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FairnessJson {
    /// B's invokes with A idle.
    pub quiet: SummaryJson,
    /// B's invokes while A floods.
    pub flooded: SummaryJson,
    /// Median over rounds of flooded p50 / quiet p50.
    pub p50_ratio: Option<f64>,
    /// Each round's quiet p50 (ns).
    pub rounds_quiet_p50_ns: Vec<u64>,
    /// Each round's flooded p50 (ns).
    pub rounds_flooded_p50_ns: Vec<u64>,
    /// Median flood rate (messages per second main handled).
    pub flood_messages_per_s: Option<f64>,
}

/// Percentiles of one set of B's invokes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryJson {
    /// Round trips, all rounds pooled.
    pub round_trips: usize,
    /// Median (ns).
    pub p50_ns: u64,
    /// 99th percentile (ns).
    pub p99_ns: u64,
    /// 99.9th percentile (ns).
    pub p999_ns: u64,
    /// Mean (ns).
    pub mean_ns: f64,
    /// Largest (ns).
    pub max_ns: u64,
}

impl From<&Summary> for SummaryJson {
    fn from(x: &Summary) -> SummaryJson {
        SummaryJson {
            round_trips: x.count,
            p50_ns: x.p50,
            p99_ns: x.p99,
            p999_ns: x.p999,
            mean_ns: x.mean,
            max_ns: x.max,
        }
    }
}

impl From<&FloodRow> for FairnessJson {
    fn from(f: &FloodRow) -> FairnessJson {
        FairnessJson {
            quiet: SummaryJson::from(&f.quiet_summary),
            flooded: SummaryJson::from(&f.flooded_summary),
            p50_ratio: f.p50_ratio(),
            rounds_quiet_p50_ns: f.round_quiet_p50.clone(),
            rounds_flooded_p50_ns: f.round_flooded_p50.clone(),
            flood_messages_per_s: f.flood_rate(),
        }
    }
}
