//! The report as JSON (`report.json`): [`ReportJson`], the file's schema as serde types, built
//! from a [`Report`] and read back by [`parse`].
//!
//! Keys are in the order of the fields below. Optional figures (a ratio with nothing to
//! compare to, an idle section skipped with `--only`, a target without data) are `null`.

use super::Report;
use serde::{Deserialize, Serialize};

/// `report.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportJson {
    /// Always `electrode-bench report`.
    pub tool: String,
    /// Whether `--quick`.
    pub quick: bool,
    /// Wall time of the run (s).
    pub took_s: f64,
    /// The machine.
    pub machine: MachineJson,
    /// How much was measured.
    pub settings: SettingsJson,
    /// 64-byte round trips, one entry per row.
    pub latency: Vec<LatencyJson>,
    /// Large invoke echoes, one entry per size.
    pub large_invoke_echo: Vec<LargeJson>,
    /// One-way throughput, one entry per flow.
    pub throughput: Vec<ThroughputJson>,
    /// Idle renderers' CPU use (`null` when skipped).
    pub idle_cpu: Option<IdleJson>,
    /// A renderer's CPU use while it holds idle started ports (`null` when skipped).
    #[serde(default)]
    pub idle_ports: Option<IdlePortsJson>,
    /// One renderer's invokes while another floods main (`null` when skipped).
    #[serde(default)]
    pub fairness: Option<super::fairness::FairnessJson>,
    /// Main with 256 renderers and its scaling table (`null` when skipped).
    #[serde(default)]
    pub many_renderers: Option<super::many::ManyRow>,
    /// The targets and their verdicts.
    pub targets: Vec<TargetJson>,
}

/// `machine`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineJson {
    /// CPUs this process may use.
    pub cpus: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `uname -r`.
    pub kernel: String,
    /// 1-, 5- and 15-minute load averages at the start.
    pub load_average_start: [f64; 3],
    /// The same at the end.
    pub load_average_end: [f64; 3],
}

/// `settings`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsJson {
    /// Interleaved rounds of the latency and large-payload rows.
    pub rounds: usize,
    /// Most round trips per latency row per round.
    pub max_round_trips_per_round: u64,
    /// Untimed round trips before each latency measurement.
    pub warmup: u64,
    /// Time cap per latency measurement (ms).
    pub cap_ms_per_measurement: u64,
    /// Interleaved rounds of the throughput rows.
    pub throughput_rounds: usize,
    /// Messages per throughput measurement.
    pub messages_per_throughput_run: u64,
    /// What one timestamp costs (ns); every latency sample includes about one.
    pub timestamp_overhead_ns: f64,
}

/// One entry of `latency`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyJson {
    /// Row label.
    pub system: String,
    /// `electrode`, `transport`, `floor` or `peer`.
    pub kind: String,
    /// `cross` or `same`.
    pub placement: String,
    /// Payload bytes per message.
    pub payload_bytes: usize,
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
    /// Smallest (ns).
    pub min_ns: u64,
    /// Largest (ns).
    pub max_ns: u64,
    /// The p50 of each round (ns).
    pub round_p50_ns: Vec<u64>,
    /// Median over rounds of p50 / busy-spin p50 (cross-core rows only).
    pub ratio_to_busy_spin: Option<f64>,
    /// Median over rounds of p50 / the fastest peer's p50 on the same placement.
    pub ratio_to_fastest_peer: Option<f64>,
    /// That peer's label.
    pub fastest_peer: Option<String>,
}

/// One entry of `large_invoke_echo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LargeJson {
    /// `Value` or `typed` (missing in reports from before typed channels: `Value`).
    #[serde(default = "value_kind")]
    pub kind: String,
    /// Payload bytes (each way).
    pub payload_bytes: usize,
    /// Echoes, all rounds pooled.
    pub echoes: usize,
    /// Median (ns).
    pub p50_ns: u64,
    /// 99th percentile (ns).
    pub p99_ns: u64,
    /// 99.9th percentile (ns).
    pub p999_ns: u64,
    /// Mean (ns).
    pub mean_ns: f64,
    /// Electron's published figure for this size, low end (ms).
    pub electron_ms_low: Option<f64>,
    /// The same, high end (ms).
    pub electron_ms_high: Option<f64>,
}

fn value_kind() -> String {
    "Value".into()
}

/// One entry of `throughput`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThroughputJson {
    /// Row label.
    pub flow: String,
    /// Renderers involved.
    pub renderers: usize,
    /// Payload bytes per message.
    pub payload_bytes: usize,
    /// Messages per round.
    pub messages_per_round: Option<u64>,
    /// Median over rounds of messages per second.
    pub median_messages_per_s: f64,
    /// Median over rounds of payload GB/s.
    pub median_payload_gb_per_s: f64,
    /// Messages per second of each round.
    pub rounds_messages_per_s: Vec<f64>,
}

/// `idle_cpu`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdleJson {
    /// Renderers connected.
    pub renderers: usize,
    /// How long they sat idle (s).
    pub seconds: f64,
    /// Clock ticks per second.
    pub ticks_per_second: u64,
    /// utime + stime ticks of main.
    pub main_ticks: u64,
    /// utime + stime ticks of each renderer.
    pub renderer_ticks: Vec<u64>,
    /// Main plus every renderer.
    pub total_ticks: u64,
}

/// `idle_ports`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdlePortsJson {
    /// Started ports the renderer held.
    pub ports: usize,
    /// How long they sat idle (s).
    pub seconds: f64,
    /// Clock ticks per second.
    pub ticks_per_second: u64,
    /// utime + stime ticks of the renderer.
    pub renderer_ticks: u64,
}

/// One entry of `targets`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetJson {
    /// Short name.
    pub name: String,
    /// What is required.
    pub goal: String,
    /// What was measured.
    pub measured: String,
    /// `met`, `MISSED` or `no data`.
    pub verdict: String,
    /// Met, missed, or `null` without data.
    pub met: Option<bool>,
}

impl From<&Report> for ReportJson {
    fn from(r: &Report) -> ReportJson {
        let m = &r.machine;
        let s = &r.settings;
        ReportJson {
            tool: "electrode-bench report".into(),
            quick: r.quick,
            took_s: r.took.as_secs_f64(),
            machine: MachineJson {
                cpus: m.cpus,
                cpu_model: m.cpu_model.clone(),
                kernel: m.kernel.clone(),
                load_average_start: m.load_before,
                load_average_end: m.load_after,
            },
            settings: SettingsJson {
                rounds: s.rounds,
                max_round_trips_per_round: s.iters,
                warmup: s.warmup,
                cap_ms_per_measurement: s.cap.as_millis() as u64,
                throughput_rounds: s.throughput_rounds,
                messages_per_throughput_run: s.messages,
                timestamp_overhead_ns: r.stamp_ns,
            },
            latency: r
                .latency
                .iter()
                .map(|row| {
                    let x = &row.summary;
                    LatencyJson {
                        system: row.label(),
                        kind: row.subject.role().name().into(),
                        placement: row.placement.name().into(),
                        payload_bytes: row.subject.request_bytes(),
                        round_trips: x.count,
                        p50_ns: x.p50,
                        p99_ns: x.p99,
                        p999_ns: x.p999,
                        mean_ns: x.mean,
                        min_ns: x.min,
                        max_ns: x.max,
                        round_p50_ns: row.round_p50.clone(),
                        ratio_to_busy_spin: row.vs_floor,
                        ratio_to_fastest_peer: row.vs_peer.as_ref().map(|p| p.0),
                        fastest_peer: row.vs_peer.as_ref().map(|p| p.1.clone()),
                    }
                })
                .collect(),
            large_invoke_echo: r
                .large
                .iter()
                .map(|l| {
                    let x = &l.summary;
                    LargeJson {
                        kind: l.echo.name().into(),
                        payload_bytes: l.bytes,
                        echoes: x.count,
                        p50_ns: x.p50,
                        p99_ns: x.p99,
                        p999_ns: x.p999,
                        mean_ns: x.mean,
                        electron_ms_low: l.electron_ms.map(|e| e.0),
                        electron_ms_high: l.electron_ms.map(|e| e.1),
                    }
                })
                .collect(),
            throughput: r
                .throughput
                .iter()
                .map(|t| ThroughputJson {
                    flow: t.flow.label(),
                    renderers: t.flow.renderers(),
                    payload_bytes: t.flow.payload(),
                    messages_per_round: t.runs.first().map(|x| x.messages),
                    median_messages_per_s: t.median_per_sec(),
                    median_payload_gb_per_s: t.median_gb_per_sec(),
                    rounds_messages_per_s: t.runs.iter().map(|x| x.per_sec()).collect(),
                })
                .collect(),
            idle_cpu: r.idle.as_ref().map(|i| IdleJson {
                renderers: i.renderers,
                seconds: i.idle.as_secs_f64(),
                ticks_per_second: i.ticks_per_sec,
                main_ticks: i.main_ticks,
                renderer_ticks: i.renderer_ticks.clone(),
                total_ticks: i.total_ticks(),
            }),
            idle_ports: r.idle_ports.as_ref().map(|i| IdlePortsJson {
                ports: i.ports,
                seconds: i.idle.as_secs_f64(),
                ticks_per_second: i.ticks_per_sec,
                renderer_ticks: i.renderer_ticks,
            }),
            fairness: r.flood.as_ref().map(Into::into),
            many_renderers: r.many.clone(),
            targets: r
                .targets
                .iter()
                .map(|t| TargetJson {
                    name: t.name.clone(),
                    goal: t.goal.clone(),
                    measured: t.measured.clone(),
                    verdict: t.verdict().into(),
                    met: t.met,
                })
                .collect(),
        }
    }
}

/// Render the whole report (pretty-printed, with a final newline).
pub fn render(r: &Report) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(&ReportJson::from(r))?;
    text.push('\n');
    Ok(text)
}

/// Read a `report.json` back.
pub fn parse(text: &str) -> Result<ReportJson, serde_json::Error> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::super::{
        IdleCpu, IdlePorts, LargeRow, LatencyRow, Machine, Settings, Subject, Target, ThroughputRow,
    };
    use super::*;
    use crate::api::{RoundTrip, Throughput};
    use crate::pingpong::{Placement, Samples};
    use crate::report::Flow;
    use std::time::Duration;

    fn report() -> Report {
        let samples = Samples::from_nanos(vec![900, 1000, 1100]);
        Report {
            machine: Machine {
                cpus: 2,
                cpu_model: "a \"quoted\"\ncpu".into(),
                kernel: "6.1".into(),
                load_before: [0.5, 0.25, 0.0],
                load_after: [1.0, 0.5, 0.25],
            },
            quick: true,
            settings: Settings::quick(),
            stamp_ns: 21.5,
            latency: vec![LatencyRow {
                subject: Subject::Api(RoundTrip::Invoke),
                placement: Placement::CrossCore,
                summary: samples.summary(),
                samples,
                round_p50: vec![1000, 1000],
                vs_floor: Some(1.5),
                vs_peer: None,
            }],
            large: vec![LargeRow {
                echo: super::super::Echo::Value,
                bytes: 1 << 20,
                samples: Samples::default(),
                summary: Samples::from_nanos(vec![3_000_000]).summary(),
                electron_ms: Some((2.8, 3.3)),
            }],
            throughput: vec![ThroughputRow {
                flow: Flow::SendOne,
                runs: vec![Throughput {
                    messages: 1000,
                    payload: 64,
                    elapsed: Duration::from_millis(1),
                }],
            }],
            idle: Some(IdleCpu {
                renderers: 8,
                idle: Duration::from_secs(2),
                ticks_per_sec: 100,
                main_ticks: 1,
                renderer_ticks: vec![0, 2],
            }),
            idle_ports: Some(IdlePorts {
                ports: 64,
                idle: Duration::from_secs(1),
                ticks_per_sec: 100,
                renderer_ticks: 0,
            }),
            flood: None,
            many: None,
            targets: vec![Target {
                name: "t".into(),
                goal: "g".into(),
                measured: "m".into(),
                met: None,
            }],
            took: Duration::from_millis(5500),
        }
    }

    #[test]
    fn renders_the_schema_and_reads_back() {
        let r = report();
        let text = render(&r).unwrap();
        assert_eq!(parse(&text).unwrap(), ReportJson::from(&r));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        // Top-level keys in the schema's order (a `Value` would sort them).
        let at: Vec<usize> = [
            "tool",
            "quick",
            "took_s",
            "machine",
            "settings",
            "latency",
            "large_invoke_echo",
            "throughput",
            "idle_cpu",
            "idle_ports",
            "fairness",
            "many_renderers",
            "targets",
        ]
        .iter()
        .map(|k| {
            text.find(&format!("\n  \"{k}\": "))
                .unwrap_or_else(|| panic!("{k}"))
        })
        .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
        assert_eq!(v.as_object().unwrap().len(), at.len());
        let row = &v["latency"][0];
        assert_eq!(row["system"], "electrode invoke (blocking)");
        assert_eq!(row["kind"], "electrode");
        assert_eq!(row["placement"], "cross");
        assert_eq!(row["p50_ns"], 1000);
        assert_eq!(row["ratio_to_busy_spin"], 1.5);
        assert!(row["fastest_peer"].is_null());
        assert_eq!(v["machine"]["cpu_model"], "a \"quoted\"\ncpu");
        assert_eq!(v["throughput"][0]["median_messages_per_s"], 1e6);
        assert_eq!(v["idle_cpu"]["total_ticks"], 3);
        assert_eq!(v["targets"][0]["verdict"], "no data");
        assert!(v["targets"][0]["met"].is_null());
    }

    #[test]
    fn a_skipped_idle_section_is_null() {
        let mut r = report();
        r.idle = None;
        let text = render(&r).unwrap();
        assert!(parse(&text).unwrap().idle_cpu.is_none());
        assert!(text.contains("\"idle_cpu\": null"));
    }
}
