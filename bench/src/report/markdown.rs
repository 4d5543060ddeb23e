//! The report as Markdown (printed at the end of the run and written as `report.md`).

use super::Report;
use std::fmt::Write;

/// `1234567` → `1,234,567`.
pub fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{x:.2}x"))
}

/// Render the whole report.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(s, "# Electrode benchmark report\n");
    let _ = writeln!(
        s,
        "Machine: {} CPUs, {}, Linux {}. Load average {:.2} / {:.2} / {:.2} at the start, \
         {:.2} / {:.2} / {:.2} at the end. Run: {}, took {:.1} s. Each latency sample includes \
         one timestamp (~{:.0} ns).\n",
        m.cpus,
        m.cpu_model,
        m.kernel,
        m.load_before[0],
        m.load_before[1],
        m.load_before[2],
        m.load_after[0],
        m.load_after[1],
        m.load_after[2],
        if r.quick { "--quick" } else { "full" },
        r.took.as_secs_f64(),
        r.stamp_ns
    );
    let _ = writeln!(
        s,
        "Main on CPU 0; the renderer or peer on CPU 1 (cross) or CPU 0 (same). {} interleaved \
         rounds, each in fresh processes; ratios are medians over rounds of ratios within a \
         round.\n",
        r.settings.rounds
    );

    let _ = writeln!(
        s,
        "## Round trips, 64-byte argument (typed rows: the request and reply their label says)\n"
    );
    let _ = writeln!(
        s,
        "| placement | system | kind | p50 ns | p99 ns | p99.9 ns | mean ns | round trips | round p50 min-max | vs busy-spin | vs fastest peer |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for row in &r.latency {
        let x = &row.summary;
        let lo = row.round_p50.iter().min().copied().unwrap_or(0);
        let hi = row.round_p50.iter().max().copied().unwrap_or(0);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {}-{} | {} | {} |",
            row.placement.name(),
            row.label(),
            row.subject.role().name(),
            thousands(x.p50),
            thousands(x.p99),
            thousands(x.p999),
            thousands(x.mean.round() as u64),
            thousands(x.count as u64),
            thousands(lo),
            thousands(hi),
            ratio(row.vs_floor),
            row.vs_peer
                .as_ref()
                .map_or_else(|| "-".into(), |(v, l)| format!("{v:.2}x ({l})")),
        );
    }

    let _ = writeln!(s, "\n## Large invoke echo (blocking invoke, cross-core)\n");
    let _ = writeln!(
        s,
        "`Value`: one `Bytes` argument, copied out on both sides. typed: \
         `InvokeChannel<Vec<u8>, Vec<u8>>`, main's handler reads the request in place and \
         returns a copy, the renderer reads the reply in place (`invoke_with`).\n"
    );
    let _ = writeln!(
        s,
        "| payload | codec | p50 ms | p99 ms | mean ms | echoes | Electron (Linux, published) | Electron p50 / electrode p50 |"
    );
    let _ = writeln!(s, "|---:|---|---:|---:|---:|---:|---:|---:|");
    for l in &r.large {
        let x = &l.summary;
        let ms = |ns: f64| ns / 1e6;
        let (electron, speedup) = match l.electron_ms {
            Some((a, b)) if a == b => (
                format!("{a:.2} ms"),
                format!("{:.1}x", a / ms(x.p50 as f64).max(1e-9)),
            ),
            Some((a, b)) => (
                format!("{a:.1}-{b:.1} ms"),
                format!(
                    "{:.1}-{:.1}x",
                    a / ms(x.p50 as f64).max(1e-9),
                    b / ms(x.p50 as f64).max(1e-9)
                ),
            ),
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            s,
            "| {} KiB | {} | {:.3} | {:.3} | {:.3} | {} | {} | {} |",
            l.bytes >> 10,
            l.echo.name(),
            ms(x.p50 as f64),
            ms(x.p99 as f64),
            ms(x.mean),
            x.count,
            electron,
            speedup
        );
    }

    let _ = writeln!(
        s,
        "\n## One-way throughput (renderers on CPU 1, main on CPU 0)\n"
    );
    let _ = writeln!(
        s,
        "| flow | payload B | messages per round | M msg/s (median) | payload GB/s (median) | each round, M msg/s |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---|");
    for t in &r.throughput {
        let each: Vec<String> = t
            .runs
            .iter()
            .map(|x| format!("{:.2}", x.per_sec() / 1e6))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2} | {:.3} | {} |",
            t.flow.label(),
            t.flow.payload(),
            thousands(t.runs.first().map_or(0, |x| x.messages)),
            t.median_per_sec() / 1e6,
            t.median_gb_per_sec(),
            each.join(", ")
        );
    }

    if let Some(i) = &r.idle {
        let _ = writeln!(s, "\n## Idle CPU\n");
        let _ = writeln!(
            s,
            "{} connected renderers doing nothing for {:.0} s: main used {} ticks, the \
             renderers {} ({:?}); one tick = 1/{} s of CPU (utime + stime from \
             /proc/<pid>/stat).",
            i.renderers,
            i.idle.as_secs_f64(),
            i.main_ticks,
            i.renderer_ticks.iter().sum::<u64>(),
            i.renderer_ticks,
            i.ticks_per_sec
        );
    }

    if let Some(i) = &r.idle_ports {
        let _ = writeln!(s, "\n## Idle ports\n");
        let _ = writeln!(
            s,
            "One renderer holding {} started ports (a delivery thread each, parked on its \
             ring's futex) with nothing sent for {:.0} s: it used {} ticks; one tick = 1/{} s \
             of CPU (utime + stime from /proc/<pid>/stat).",
            i.ports,
            i.idle.as_secs_f64(),
            i.renderer_ticks,
            i.ticks_per_sec
        );
    }

    super::fairness::markdown(r, &mut s);
    super::many::markdown(r, &mut s);

    let _ = writeln!(s, "\n## Targets\n");
    let _ = writeln!(s, "| target | goal | measured | verdict |");
    let _ = writeln!(s, "|---|---|---|---|");
    for t in &r.targets {
        let _ = writeln!(
            s,
            "| {} | {} | {} | **{}** |",
            t.name,
            t.goal,
            t.measured,
            t.verdict()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
