//! The performance targets, judged from a [`Report`]'s figures (not timed tests: a verdict is
//! a statement about this run on this machine).

use super::{median, round_ratio, Flow, LatencyRow, Report, Subject};
use crate::api::RoundTrip;
use crate::peers::Library;
use crate::pingpong::{Placement, System};

/// One target and its verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Short name.
    pub name: String,
    /// What is required.
    pub goal: String,
    /// What was measured (with the numbers).
    pub measured: String,
    /// Met, missed, or `None` when the data is missing.
    pub met: Option<bool>,
}

impl Target {
    /// `met` / `MISSED` / `no data`.
    pub fn verdict(&self) -> &'static str {
        match self.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "no data",
        }
    }
}

fn row(r: &Report, subject: Subject, placement: Placement) -> Option<&LatencyRow> {
    r.latency
        .iter()
        .find(|x| x.subject == subject && x.placement == placement)
}

fn missing(name: &str, goal: &str) -> Target {
    Target {
        name: name.into(),
        goal: goal.into(),
        measured: "not measured".into(),
        met: None,
    }
}

/// Compare the invoke row with `other` (cross-core): `(invoke p50, other p50, round ratio
/// invoke / other)`.
fn versus(r: &Report, other: Subject) -> Option<(u64, u64, f64)> {
    let inv = row(r, Subject::Api(RoundTrip::Invoke), Placement::CrossCore)?;
    let o = row(r, other, Placement::CrossCore)?;
    let x = round_ratio(&inv.round_p50, &o.round_p50)?;
    Some((inv.summary.p50, o.summary.p50, x))
}

/// Judge every target.
pub fn judge(r: &Report) -> Vec<Target> {
    let mut t = Vec::new();

    let (name, goal) = (
        "invoke vs busy-spin floor",
        "invoke p50 <= 2x busy-spin (cross-core)",
    );
    t.push(match versus(r, Subject::Transport(System::BusySpin)) {
        Some((a, b, x)) => Target {
            name: name.into(),
            goal: goal.into(),
            measured: format!(
                "invoke {a} ns, busy-spin {b} ns: {x:.2}x (median of per-round ratios)"
            ),
            met: Some(x <= 2.0),
        },
        None => missing(name, goal),
    });

    let (name, goal) = (
        "invoke vs iceoryx2",
        "invoke p50 below iceoryx2's request/response round trip (cross-core)",
    );
    t.push(match versus(r, Subject::Peer(Library::Iceoryx2)) {
        Some((a, b, x)) => Target {
            name: name.into(),
            goal: goal.into(),
            measured: format!("invoke {a} ns, iceoryx2 {b} ns: {x:.2}x"),
            met: Some(x < 1.0),
        },
        None => missing(name, goal),
    });

    let (name, goal) = (
        "invoke vs Unix socket",
        "invoke >= 20x faster than a Unix socket at p50 (cross-core)",
    );
    t.push(match versus(r, Subject::Transport(System::UnixSocket)) {
        Some((a, b, x)) => Target {
            name: name.into(),
            goal: goal.into(),
            measured: format!(
                "invoke {a} ns, Unix socket {b} ns: {:.1}x faster",
                1.0 / x.max(1e-12)
            ),
            met: Some(1.0 / x.max(1e-12) >= 20.0),
        },
        None => missing(name, goal),
    });

    let (name, goal) = (
        "1 MiB invoke echo",
        "1 MiB invoke echo p50 < 0.28 ms (cross-core)",
    );
    t.push(match r.large.iter().find(|l| l.bytes == 1 << 20) {
        Some(l) if l.summary.count > 0 => Target {
            name: name.into(),
            goal: goal.into(),
            measured: format!(
                "p50 {:.3} ms (p99 {:.3} ms, {} echoes; Electron 2.8-3.3 ms)",
                l.summary.p50 as f64 / 1e6,
                l.summary.p99 as f64 / 1e6,
                l.summary.count
            ),
            met: Some(l.summary.p50 < 280_000),
        },
        _ => missing(name, goal),
    });

    let n = r.settings.renderers;
    let name = "fan-in throughput";
    let goal = format!("{n}-renderer fan-in total >= 80% of single-renderer send throughput");
    let one = r.throughput.iter().find(|x| x.flow == Flow::SendOne);
    let many = r.throughput.iter().find(|x| x.flow == Flow::SendFanIn(n));
    t.push(match (one, many) {
        (Some(a), Some(b)) if !a.runs.is_empty() && !b.runs.is_empty() => {
            let x = median(
                b.runs
                    .iter()
                    .zip(&a.runs)
                    .map(|(m, o)| m.per_sec() / o.per_sec().max(1e-12))
                    .collect(),
            )
            .unwrap_or(0.0);
            Target {
                name: name.into(),
                goal,
                measured: format!(
                    "{:.2} M msg/s with {n} renderers vs {:.2} M msg/s with one: {:.0}%",
                    b.median_per_sec() / 1e6,
                    a.median_per_sec() / 1e6,
                    x * 100.0
                ),
                met: Some(x >= 0.8),
            }
        }
        _ => missing(name, &goal),
    });

    let goal = format!(
        "{} connected idle renderers use no measurable CPU (0 clock ticks)",
        r.settings.renderers
    );
    t.push(match &r.idle {
        Some(i) => Target {
            name: "idle CPU".into(),
            goal,
            measured: format!(
                "{} ticks of 1/{} s over {:.0} s (main {}, renderers {:?})",
                i.total_ticks(),
                i.ticks_per_sec,
                i.idle.as_secs_f64(),
                i.main_ticks,
                i.renderer_ticks
            ),
            met: Some(i.total_ticks() == 0),
        },
        None => missing("idle CPU", &goal),
    });

    let (name, goal) = (
        "API: invoke vs transport",
        "invoke p50 within 2x the transport round trip (shm spin-then-park, cross-core)",
    );
    t.push(match versus(r, Subject::Transport(System::shm_default())) {
        Some((a, b, x)) => Target {
            name: name.into(),
            goal: goal.into(),
            measured: format!("invoke {a} ns, transport {b} ns: {x:.2}x"),
            met: Some(x <= 2.0),
        },
        None => missing(name, goal),
    });

    let (name, goal) = (
        "API: one-way send",
        "one-way send >= 5 M messages/s (64 B, one renderer)",
    );
    t.push(match one {
        Some(a) if !a.runs.is_empty() => Target {
            name: name.into(),
            goal: goal.into(),
            measured: format!(
                "{:.2} M msg/s ({:.3} GB/s of payload), median of {} rounds",
                a.median_per_sec() / 1e6,
                a.median_gb_per_sec(),
                a.runs.len()
            ),
            met: Some(a.median_per_sec() >= 5e6),
        },
        _ => missing(name, goal),
    });
    t
}
