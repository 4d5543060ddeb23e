//! `latency.svg`: p50, p99 and p99.9 of every latency row (and of the large invoke echoes) on
//! a logarithmic time axis, one line per system. Hand-written SVG, no dependencies.

use super::{Report, Role};
use crate::pingpong::{Placement, Summary};
use std::fmt::Write;

const WIDTH: f64 = 980.0;
const LABEL_W: f64 = 330.0;
const RIGHT_W: f64 = 90.0;
const ROW_H: f64 = 22.0;
const TOP: f64 = 70.0;
const BOTTOM: f64 = 50.0;

const P50: &str = "#1f77b4";
const P99: &str = "#ff7f0e";
const P999: &str = "#d62728";

enum Line {
    Heading(String),
    Row {
        label: String,
        bold: bool,
        s: Summary,
    },
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `1500` → `1.5 µs`.
pub fn human_ns(ns: f64) -> String {
    let (v, unit) = if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    if v >= 100.0 || v == v.trunc() {
        format!("{v:.0} {unit}")
    } else if v >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

fn lines(r: &Report) -> Vec<Line> {
    let mut out = Vec::new();
    for (placement, title) in [
        (
            Placement::CrossCore,
            "64 B round trips, cross-core (main CPU 0, peer CPU 1)",
        ),
        (
            Placement::SameCore,
            "64 B round trips, same core (both on CPU 0)",
        ),
    ] {
        let rows: Vec<_> = r
            .latency
            .iter()
            .filter(|x| x.placement == placement && x.summary.count > 0)
            .collect();
        if rows.is_empty() {
            continue;
        }
        out.push(Line::Heading(title.into()));
        for x in rows {
            out.push(Line::Row {
                label: x.label(),
                bold: x.subject.role() == Role::Electrode,
                s: x.summary,
            });
        }
    }
    let large: Vec<_> = r.large.iter().filter(|l| l.summary.count > 0).collect();
    if !large.is_empty() {
        out.push(Line::Heading(
            "electrode invoke echo, large payloads, cross-core".into(),
        ));
        for l in large {
            out.push(Line::Row {
                label: format!(
                    "electrode {} invoke echo {} KiB",
                    l.echo.name(),
                    l.bytes >> 10
                ),
                bold: true,
                s: l.summary,
            });
        }
    }
    out
}

/// Render the chart.
pub fn render(r: &Report) -> String {
    let lines = lines(r);
    let rows = lines.iter().filter_map(|l| match l {
        Line::Row { s, .. } => Some(s),
        Line::Heading(_) => None,
    });
    let (mut lo, mut hi) = (f64::MAX, 1.0f64);
    for s in rows {
        lo = lo.min(s.p50.max(1) as f64);
        hi = hi.max(s.p999.max(s.p50).max(1) as f64);
    }
    if lo > hi {
        lo = 10.0;
        hi = 1e7;
    }
    let d0 = lo.log10().floor() as i32;
    let d1 = (hi.log10().ceil() as i32).max(d0 + 1);
    let plot_w = WIDTH - LABEL_W - RIGHT_W;
    let x = |ns: f64| {
        let v = ns.max(10f64.powi(d0)).log10();
        LABEL_W + (v - d0 as f64) / (d1 - d0) as f64 * plot_w
    };
    let height = TOP + lines.len() as f64 * ROW_H + BOTTOM;
    let plot_bottom = TOP + lines.len() as f64 * ROW_H;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="22" font-size="15" font-weight="bold">Latency percentiles per system (log scale)</text>"#
    );
    let _ = writeln!(
        s,
        r##"<text x="10" y="42" fill="#555">{} · {} CPUs · Linux {} · load {:.2}</text>"##,
        xml(&r.machine.cpu_model),
        r.machine.cpus,
        xml(&r.machine.kernel),
        r.machine.load_before[0]
    );
    for (i, (name, color)) in [("p50", P50), ("p99", P99), ("p99.9", P999)]
        .into_iter()
        .enumerate()
    {
        let lx = WIDTH - 250.0 + i as f64 * 80.0;
        let _ = writeln!(
            s,
            r#"<circle cx="{lx}" cy="38" r="5" fill="{color}"/><text x="{}" y="42">{name}</text>"#,
            lx + 9.0
        );
    }
    // Decade grid.
    for d in d0..=d1 {
        let gx = x(10f64.powi(d));
        let _ = writeln!(
            s,
            r##"<line x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{plot_bottom}" stroke="#ddd"/><text x="{gx:.1}" y="{}" text-anchor="middle" fill="#333">{}</text>"##,
            plot_bottom + 18.0,
            human_ns(10f64.powi(d))
        );
        if d < d1 {
            for k in 2..10 {
                let mx = x(k as f64 * 10f64.powi(d));
                let _ = writeln!(
                    s,
                    r##"<line x1="{mx:.1}" y1="{TOP}" x2="{mx:.1}" y2="{plot_bottom}" stroke="#f2f2f2"/>"##
                );
            }
        }
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#333">round-trip time</text>"##,
        LABEL_W + plot_w / 2.0,
        plot_bottom + 38.0
    );
    for (i, line) in lines.iter().enumerate() {
        let y = TOP + i as f64 * ROW_H + ROW_H / 2.0;
        match line {
            Line::Heading(t) => {
                let _ = writeln!(
                    s,
                    r##"<text x="10" y="{:.1}" font-weight="bold" fill="#222">{}</text>"##,
                    y + 4.0,
                    xml(t)
                );
            }
            Line::Row {
                label,
                bold,
                s: sum,
            } => {
                let weight = if *bold { "bold" } else { "normal" };
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-weight="{weight}">{}</text>"#,
                    LABEL_W - 10.0,
                    y + 4.0,
                    xml(label)
                );
                let (a, b, c) = (x(sum.p50 as f64), x(sum.p99 as f64), x(sum.p999 as f64));
                let _ = writeln!(
                    s,
                    r##"<line x1="{a:.1}" y1="{y:.1}" x2="{c:.1}" y2="{y:.1}" stroke="#999" stroke-width="2"/>"##
                );
                for (cx, color) in [(c, P999), (b, P99), (a, P50)] {
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{cx:.1}" cy="{y:.1}" r="5" fill="{color}"/>"#
                    );
                }
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" fill="#333">{}</text>"##,
                    WIDTH - RIGHT_W + 8.0,
                    y + 4.0,
                    human_ns(sum.p50 as f64)
                );
            }
        }
    }
    let _ = writeln!(s, "</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::human_ns;

    #[test]
    fn human_units() {
        assert_eq!(human_ns(100.0), "100 ns");
        assert_eq!(human_ns(1500.0), "1.50 µs");
        assert_eq!(human_ns(10_000.0), "10 µs");
        assert_eq!(human_ns(2_800_000.0), "2.80 ms");
    }
}
