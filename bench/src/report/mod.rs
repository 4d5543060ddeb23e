//! The report: one command that measures Electrode against its floors and peers, in one run,
//! on this machine, and judges the performance targets from what it measured.
//!
//! ```text
//! cargo run --release -p electrode-bench -- report            # about 1.5 min on 2 cores
//! cargo run --release -p electrode-bench -- report --quick    # under 20 s
//! cargo run --release -p electrode-bench -- report --out DIR  # + report.json, report.md, latency.svg
//! ```
//!
//! Every measurement runs in fresh processes (a real [`electrode::Main`] and renderer
//! processes, or a ping-pong peer), main's side on CPU 0 and the other side on CPU 1
//! (cross-core) or CPU 0 (same core). Rows are measured in interleaved rounds (A B C ... then
//! B C ... A), and ratios are medians over rounds of ratios taken within one round, so load
//! from other jobs on the machine affects both sides of a ratio alike. Every answer on every
//! path is checked; a wrong one aborts the report with an error.

pub mod fairness;
pub mod json;
pub mod many;
pub mod markdown;
pub mod measure;
pub mod plan;
pub mod proc_stat;
pub mod svg;
pub mod targets;

use crate::BenchError;
pub use fairness::FloodRow;
pub use measure::{Echo, Flow, IdleCpu, IdlePorts};
pub use plan::{Role, Settings, Subject};
pub use proc_stat::Machine;
pub use targets::Target;

use crate::api::Throughput;
use crate::pingpong::{stamp_overhead_ns, Placement, Samples, Summary};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to run and where to write.
#[derive(Clone, Debug)]
pub struct Options {
    /// `--quick`: fewer rounds and shorter runs.
    pub quick: bool,
    /// `--out DIR`: also write `report.json`, `report.md` and `latency.svg` there.
    pub out: Option<PathBuf>,
    /// The executable re-executed as renderer and peers (this binary).
    pub exe: PathBuf,
    /// Override the number of latency rounds.
    pub rounds: Option<usize>,
    /// `--only a,b`: measure only the latency rows and throughput flows whose label contains
    /// one of these (case-insensitive), and the sections named `large`, `throughput`, `idle`
    /// if listed (`port` also picks the idle-ports check, `flood` the fairness section, `many` the
    /// many-renderers section).
    /// Empty: everything.
    pub only: Vec<String>,
}

impl Options {
    fn wants(&self, label: &str) -> bool {
        let l = label.to_lowercase();
        self.only.is_empty() || self.only.iter().any(|o| l.contains(&o.to_lowercase()))
    }
}

/// One latency row: all rounds pooled.
#[derive(Clone, Debug)]
pub struct LatencyRow {
    /// What was measured.
    pub subject: Subject,
    /// Where.
    pub placement: Placement,
    /// Every round trip of every round.
    pub samples: Samples,
    /// The p50 of each round.
    pub round_p50: Vec<u64>,
    /// Percentiles of `samples`.
    pub summary: Summary,
    /// Median over rounds of p50 / busy-spin p50 (cross-core rows only).
    pub vs_floor: Option<f64>,
    /// Median over rounds of p50 / p50 of the fastest peer on the same placement, and that
    /// peer's label.
    pub vs_peer: Option<(f64, String)>,
}

impl LatencyRow {
    /// Row label.
    pub fn label(&self) -> String {
        self.subject.label()
    }
}

/// Invoke echoes of one large payload size, all rounds pooled.
#[derive(Clone, Debug)]
pub struct LargeRow {
    /// `Value` or typed.
    pub echo: Echo,
    /// Payload bytes (each way).
    pub bytes: usize,
    /// Every echo.
    pub samples: Samples,
    /// Percentiles.
    pub summary: Summary,
    /// Electron's published figure for this size (ms, low-high), if any.
    pub electron_ms: Option<(f64, f64)>,
}

/// One throughput row: every round.
#[derive(Clone, Debug)]
pub struct ThroughputRow {
    /// What was measured.
    pub flow: Flow,
    /// One run per round.
    pub runs: Vec<Throughput>,
}

impl ThroughputRow {
    /// Median over rounds of messages per second.
    pub fn median_per_sec(&self) -> f64 {
        median(self.runs.iter().map(Throughput::per_sec).collect()).unwrap_or(0.0)
    }

    /// Median over rounds of payload GB/s.
    pub fn median_gb_per_sec(&self) -> f64 {
        median(self.runs.iter().map(Throughput::gb_per_sec).collect()).unwrap_or(0.0)
    }
}

/// Everything the report measured and concluded.
#[derive(Clone, Debug)]
pub struct Report {
    /// The machine.
    pub machine: Machine,
    /// Whether `--quick`.
    pub quick: bool,
    /// How much was measured.
    pub settings: Settings,
    /// What one timestamp costs (ns); every latency sample includes about one.
    pub stamp_ns: f64,
    /// 64-byte round trips.
    pub latency: Vec<LatencyRow>,
    /// Large invoke echoes.
    pub large: Vec<LargeRow>,
    /// One-way throughput.
    pub throughput: Vec<ThroughputRow>,
    /// Idle renderers' CPU use (`None` when skipped with `--only`).
    pub idle: Option<IdleCpu>,
    /// A renderer's CPU use while it holds idle started ports (`None` when skipped).
    pub idle_ports: Option<IdlePorts>,
    /// One renderer's invokes while another floods main (`None` when skipped).
    pub flood: Option<FloodRow>,
    /// Main with 256 renderers and its scaling table (`None` when skipped).
    pub many: Option<many::ManyRow>,
    /// The targets, judged from the figures above.
    pub targets: Vec<Target>,
    /// Wall time of the whole run.
    pub took: Duration,
}

/// Median of `v` (the lower middle for an even count).
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[(v.len() - 1) / 2])
}

/// Median over rounds of `a[i] / b[i]`.
pub fn round_ratio(a: &[u64], b: &[u64]) -> Option<f64> {
    median(
        a.iter()
            .zip(b)
            .map(|(&x, &y)| x as f64 / y.max(1) as f64)
            .collect(),
    )
}

struct Progress {
    start: Instant,
}

impl Progress {
    fn say(&self, msg: std::fmt::Arguments<'_>) {
        eprintln!("[{:>6.1} s] {msg}", self.start.elapsed().as_secs_f64());
    }
}

/// Run the whole report (progress on stderr).
pub fn run(o: &Options) -> Result<Report, BenchError> {
    let mut settings = if o.quick {
        Settings::quick()
    } else {
        Settings::full()
    };
    if let Some(r) = o.rounds {
        settings.rounds = r.max(1);
    }
    let p = Progress {
        start: Instant::now(),
    };
    let mut machine = proc_stat::machine();
    p.say(format_args!(
        "electrode-bench report{}: {} CPUs ({}), kernel {}, load average {:.2} {:.2} {:.2}",
        if o.quick { " --quick" } else { "" },
        machine.cpus,
        machine.cpu_model,
        machine.kernel,
        machine.load_before[0],
        machine.load_before[1],
        machine.load_before[2]
    ));
    let stamp_ns = stamp_overhead_ns();
    let latency = latency_rounds(o, &settings, &p)?;
    let flood = if o.wants(fairness::LABEL) {
        Some(flood_rounds(o, &settings, &p)?)
    } else {
        None
    };
    let many = if o.wants(many::LABEL) {
        p.say(format_args!(
            "many renderers: {} connected; 1/8/64/256 renderers × 64 B/4 KiB/64 KiB; {:.0} s idle",
            many::RENDERERS,
            many::IDLE.as_secs_f64()
        ));
        let m = many::measure(&o.exe, o.quick)?;
        p.say(format_args!(
            "many renderers: {} threads in main, {} idle ticks, fan-in 64/1 {:.2}x",
            m.threads,
            m.idle_main_ticks,
            m.fan_in_ratio().unwrap_or(0.0)
        ));
        Some(m)
    } else {
        None
    };
    let large = if o.wants("large") {
        large_rounds(o, &settings, &p)?
    } else {
        Vec::new()
    };
    let throughput = throughput_rounds(o, &settings, &p)?;
    let idle = if o.wants("idle") {
        p.say(format_args!(
            "idle: {} renderers connected, doing nothing for {:.0} s",
            settings.renderers,
            settings.idle.as_secs_f64()
        ));
        let idle = measure::idle_cpu(&o.exe, settings.renderers, settings.idle)?;
        p.say(format_args!(
            "idle: {} ticks in main, {} in the renderers",
            idle.main_ticks,
            idle.renderer_ticks.iter().sum::<u64>()
        ));
        Some(idle)
    } else {
        None
    };
    let idle_ports = if o.wants("idle") || o.wants("port") {
        p.say(format_args!(
            "idle ports: {} started ports in one renderer, nothing sent for {:.0} s",
            settings.idle_ports,
            settings.port_idle.as_secs_f64()
        ));
        let i = measure::idle_ports(&o.exe, settings.idle_ports, settings.port_idle)?;
        p.say(format_args!(
            "idle ports: {} ticks in the renderer",
            i.renderer_ticks
        ));
        Some(i)
    } else {
        None
    };
    machine.load_after = proc_stat::load_average();
    let mut report = Report {
        machine,
        quick: o.quick,
        settings,
        stamp_ns,
        latency,
        large,
        throughput,
        idle,
        idle_ports,
        flood,
        many,
        targets: Vec::new(),
        took: p.start.elapsed(),
    };
    report.targets = targets::judge(&report);
    Ok(report)
}

fn latency_rounds(o: &Options, s: &Settings, p: &Progress) -> Result<Vec<LatencyRow>, BenchError> {
    let plan = plan::latency_rows();
    let mut rows: Vec<LatencyRow> = plan
        .iter()
        .filter(|(subject, _)| o.wants(&subject.label()))
        .map(|&(subject, placement)| LatencyRow {
            subject,
            placement,
            samples: Samples::default(),
            round_p50: Vec::new(),
            summary: Summary::default(),
            vs_floor: None,
            vs_peer: None,
        })
        .collect();
    let n = rows.len();
    for round in 0..s.rounds {
        for k in 0..n {
            let row = &mut rows[(round + k) % n];
            let samples = measure::latency_once(&o.exe, row.subject, row.placement, s)?;
            let sum = samples.summary();
            p.say(format_args!(
                "latency round {}/{}: {:<5} {:<34} p50 {:>9} ns  ({} round trips)",
                round + 1,
                s.rounds,
                row.placement.name(),
                row.label(),
                sum.p50,
                sum.count
            ));
            row.round_p50.push(sum.p50);
            row.samples.extend(&samples);
        }
    }
    for r in &mut rows {
        r.summary = r.samples.summary();
    }
    compare(&mut rows);
    Ok(rows)
}

/// The fairness measurement, one round per latency round (fresh processes each).
fn flood_rounds(o: &Options, s: &Settings, p: &Progress) -> Result<FloodRow, BenchError> {
    let mut row = FloodRow::default();
    for round in 0..s.rounds {
        let r = measure::flood_once(&o.exe, s)?;
        p.say(format_args!(
            "flood round {}/{}: B's invoke p50 {} ns quiet, {} ns (p99 {} ns) while A floods              ({} flood messages)",
            round + 1,
            s.rounds,
            r.quiet.summary().p50,
            r.flooded.summary().p50,
            r.flooded.summary().p99,
            r.flood_messages
        ));
        row.push(&r);
    }
    Ok(row)
}

/// Fill in the ratios to the busy-spin floor and to the fastest peer.
fn compare(rows: &mut [LatencyRow]) {
    let busy = rows
        .iter()
        .find(|r| {
            r.placement == Placement::CrossCore
                && r.subject == Subject::Transport(crate::pingpong::System::BusySpin)
        })
        .map(|r| r.round_p50.clone());
    let fastest_peer = |placement: Placement, rows: &[LatencyRow]| {
        rows.iter()
            .filter(|r| r.placement == placement && r.subject.role() == Role::Peer)
            .min_by_key(|r| r.summary.p50)
            .map(|r| (r.round_p50.clone(), r.label()))
    };
    let peers = [Placement::CrossCore, Placement::SameCore].map(|pl| (pl, fastest_peer(pl, rows)));
    for r in rows.iter_mut() {
        if r.placement == Placement::CrossCore {
            r.vs_floor = busy.as_ref().and_then(|b| round_ratio(&r.round_p50, b));
        }
        if let Some((_, Some((peer, label)))) = peers.iter().find(|(pl, _)| *pl == r.placement) {
            r.vs_peer = round_ratio(&r.round_p50, peer).map(|x| (x, label.clone()));
        }
    }
}

fn large_rounds(o: &Options, s: &Settings, p: &Progress) -> Result<Vec<LargeRow>, BenchError> {
    let plan: Vec<(Echo, (usize, u64, u64))> = s
        .large
        .iter()
        .map(|&l| (Echo::Value, l))
        .chain(s.typed_large.iter().map(|&l| (Echo::Typed, l)))
        .collect();
    let mut rows: Vec<LargeRow> = plan
        .iter()
        .map(|&(echo, (bytes, _, _))| LargeRow {
            echo,
            bytes,
            samples: Samples::default(),
            summary: Summary::default(),
            electron_ms: plan::electron_reference_ms(bytes),
        })
        .collect();
    let n = rows.len();
    for round in 0..s.rounds {
        for k in 0..n {
            let i = (round + k) % n;
            let (echo, (bytes, echoes, warmup)) = plan[i];
            let samples = measure::large_once(&o.exe, echo, bytes, echoes, warmup)?;
            p.say(format_args!(
                "large round {}/{}: {:<5} invoke echo {:>8} B  p50 {:>9.3} ms",
                round + 1,
                s.rounds,
                echo.name(),
                bytes,
                samples.summary().p50 as f64 / 1e6
            ));
            rows[i].samples.extend(&samples);
        }
    }
    for r in &mut rows {
        r.summary = r.samples.summary();
    }
    Ok(rows)
}

fn throughput_rounds(
    o: &Options,
    s: &Settings,
    p: &Progress,
) -> Result<Vec<ThroughputRow>, BenchError> {
    let flows = [
        Flow::SendOne,
        Flow::TypedSendOne,
        Flow::SendFanIn(s.renderers),
        Flow::WebContentsSend,
        Flow::PortOneWay,
    ];
    let mut rows: Vec<ThroughputRow> = flows
        .iter()
        .filter(|f| o.wants("throughput") || (!o.only.is_empty() && o.wants(&f.label())))
        .map(|&flow| ThroughputRow {
            flow,
            runs: Vec::new(),
        })
        .collect();
    let n = rows.len();
    for round in 0..s.throughput_rounds {
        for k in 0..n {
            let row = &mut rows[(round + k) % n];
            let t = measure::throughput_once(&o.exe, row.flow, s.messages)?;
            p.say(format_args!(
                "throughput round {}/{}: {:<40} {:>6.2} M msg/s",
                round + 1,
                s.throughput_rounds,
                row.flow.label(),
                t.per_sec() / 1e6
            ));
            row.runs.push(t);
        }
    }
    Ok(rows)
}

/// Write `report.md`, `report.json` and `latency.svg` into `dir` (created if missing).
pub fn write_outputs(report: &Report, dir: &Path) -> Result<(), BenchError> {
    std::fs::create_dir_all(dir).map_err(BenchError::io(format!("creating {}", dir.display())))?;
    let json =
        json::render(report).map_err(|e| BenchError::io("encoding report.json")(e.into()))?;
    let files = [
        ("report.md", markdown::render(report)),
        ("report.json", json),
        ("latency.svg", svg::render(report)),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(BenchError::io(format!("writing {}", path.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_round_ratios() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.0));
        assert_eq!(round_ratio(&[10, 20, 30], &[10, 10, 10]), Some(2.0));
        assert_eq!(round_ratio(&[], &[]), None);
    }
}
