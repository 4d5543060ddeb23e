//! The report as JSON (`report.json`), written by hand: a tiny value type and its printer.

use super::Report;
use std::fmt::Write;

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A number (non-finite values print as `null`).
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in order.
    Obj(Vec<(String, Json)>),
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.into())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(s)
    }
}

impl From<u64> for Json {
    fn from(v: u64) -> Json {
        Json::Int(v.min(i64::MAX as u64) as i64)
    }
}

impl From<usize> for Json {
    fn from(v: usize) -> Json {
        Json::from(v as u64)
    }
}

impl From<f64> for Json {
    fn from(v: f64) -> Json {
        Json::Num(v)
    }
}

impl From<bool> for Json {
    fn from(v: bool) -> Json {
        Json::Bool(v)
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Json {
        v.map_or(Json::Null, Into::into)
    }
}

/// An object from `(key, value)` pairs.
pub fn obj<const N: usize>(fields: [(&str, Json); N]) -> Json {
    Json::Obj(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn escape(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Json {
    fn write(&self, out: &mut String, indent: usize) {
        let pad = |out: &mut String, n: usize| out.extend((0..n).map(|_| ' '));
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Json::Num(v) if v.is_finite() => {
                let _ = write!(out, "{v}");
            }
            Json::Num(_) => out.push_str("null"),
            Json::Str(s) => escape(s, out),
            Json::Arr(items)
                if items
                    .iter()
                    .all(|i| !matches!(i, Json::Arr(_) | Json::Obj(_))) =>
            {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write(out, indent);
                }
                out.push(']');
            }
            Json::Arr(items) => {
                out.push_str("[\n");
                for (i, v) in items.iter().enumerate() {
                    pad(out, indent + 2);
                    v.write(out, indent + 2);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push_str("{\n");
                for (i, (k, v)) in fields.iter().enumerate() {
                    pad(out, indent + 2);
                    escape(k, out);
                    out.push_str(": ");
                    v.write(out, indent + 2);
                    out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push('}');
            }
        }
    }

    /// Pretty-printed text.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, 0);
        s.push('\n');
        s
    }
}

fn ints(v: &[u64]) -> Json {
    Json::Arr(v.iter().map(|&x| Json::from(x)).collect())
}

/// Render the whole report.
pub fn render(r: &Report) -> String {
    let m = &r.machine;
    let s = &r.settings;
    let latency = r
        .latency
        .iter()
        .map(|row| {
            let x = &row.summary;
            obj([
                ("system", row.label().into()),
                ("kind", row.subject.role().name().into()),
                ("placement", row.placement.name().into()),
                ("payload_bytes", 64usize.into()),
                ("round_trips", x.count.into()),
                ("p50_ns", x.p50.into()),
                ("p99_ns", x.p99.into()),
                ("p999_ns", x.p999.into()),
                ("mean_ns", x.mean.into()),
                ("min_ns", x.min.into()),
                ("max_ns", x.max.into()),
                ("round_p50_ns", ints(&row.round_p50)),
                ("ratio_to_busy_spin", row.vs_floor.into()),
                (
                    "ratio_to_fastest_peer",
                    row.vs_peer.as_ref().map(|p| p.0).into(),
                ),
                (
                    "fastest_peer",
                    row.vs_peer.as_ref().map(|p| p.1.clone()).into(),
                ),
            ])
        })
        .collect();
    let large = r
        .large
        .iter()
        .map(|l| {
            let x = &l.summary;
            obj([
                ("payload_bytes", l.bytes.into()),
                ("echoes", x.count.into()),
                ("p50_ns", x.p50.into()),
                ("p99_ns", x.p99.into()),
                ("p999_ns", x.p999.into()),
                ("mean_ns", x.mean.into()),
                ("electron_ms_low", l.electron_ms.map(|e| e.0).into()),
                ("electron_ms_high", l.electron_ms.map(|e| e.1).into()),
            ])
        })
        .collect();
    let throughput = r
        .throughput
        .iter()
        .map(|t| {
            obj([
                ("flow", t.flow.label().into()),
                ("renderers", t.flow.renderers().into()),
                ("payload_bytes", 64usize.into()),
                (
                    "messages_per_round",
                    t.runs.first().map(|x| x.messages).into(),
                ),
                ("median_messages_per_s", t.median_per_sec().into()),
                ("median_payload_gb_per_s", t.median_gb_per_sec().into()),
                (
                    "rounds_messages_per_s",
                    Json::Arr(t.runs.iter().map(|x| Json::from(x.per_sec())).collect()),
                ),
            ])
        })
        .collect();
    let idle = match &r.idle {
        Some(i) => obj([
            ("renderers", i.renderers.into()),
            ("seconds", i.idle.as_secs_f64().into()),
            ("ticks_per_second", i.ticks_per_sec.into()),
            ("main_ticks", i.main_ticks.into()),
            ("renderer_ticks", ints(&i.renderer_ticks)),
            ("total_ticks", i.total_ticks().into()),
        ]),
        None => Json::Null,
    };
    let targets = r
        .targets
        .iter()
        .map(|t| {
            obj([
                ("name", t.name.clone().into()),
                ("goal", t.goal.clone().into()),
                ("measured", t.measured.clone().into()),
                ("verdict", t.verdict().into()),
                ("met", t.met.into()),
            ])
        })
        .collect();
    let load = |l: &[f64; 3]| Json::Arr(l.iter().map(|&x| Json::from(x)).collect());
    obj([
        ("tool", "electrode-bench report".into()),
        ("quick", r.quick.into()),
        ("took_s", r.took.as_secs_f64().into()),
        (
            "machine",
            obj([
                ("cpus", m.cpus.into()),
                ("cpu_model", m.cpu_model.clone().into()),
                ("kernel", m.kernel.clone().into()),
                ("load_average_start", load(&m.load_before)),
                ("load_average_end", load(&m.load_after)),
            ]),
        ),
        (
            "settings",
            obj([
                ("rounds", s.rounds.into()),
                ("max_round_trips_per_round", s.iters.into()),
                ("warmup", s.warmup.into()),
                ("cap_ms_per_measurement", (s.cap.as_millis() as u64).into()),
                ("throughput_rounds", s.throughput_rounds.into()),
                ("messages_per_throughput_run", s.messages.into()),
                ("timestamp_overhead_ns", r.stamp_ns.into()),
            ]),
        ),
        ("latency", Json::Arr(latency)),
        ("large_invoke_echo", Json::Arr(large)),
        ("throughput", Json::Arr(throughput)),
        ("idle_cpu", idle),
        ("targets", Json::Arr(targets)),
    ])
    .to_text()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_valid_json() {
        let v = obj([
            ("a", Json::from("x\"y\n")),
            ("b", ints(&[1, 2])),
            ("c", Json::Num(f64::NAN)),
            ("d", Json::Arr(vec![obj([("e", true.into())])])),
            ("f", Option::<u64>::None.into()),
        ]);
        let t = v.to_text();
        assert!(t.contains(r#""a": "x\"y\n""#));
        assert!(t.contains(r#""b": [1, 2]"#));
        assert!(t.contains(r#""c": null"#));
        assert!(t.contains(r#""e": true"#));
        assert!(t.contains(r#""f": null"#));
    }
}
