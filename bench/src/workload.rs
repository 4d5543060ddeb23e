//! Steady workloads for profiling: one API path, run for a while between a real main and a
//! real renderer (main on CPU 0, renderer on CPU 1), so that a profiler attached to the whole
//! process tree sees only that path.
//!
//! ```text
//! cargo build --release -p electrode-bench
//! perf record -e cpu-clock -F 20000 -g -o /tmp/invoke.data -- \
//!     target/release/electrode-bench workload invoke --secs 5 [--wait <spin ns>:<yield ns>|park]
//! perf report -i /tmp/invoke.data --no-children --sort comm,sym
//! ```

use crate::api::{Host, RoundTrip};
use crate::BenchError;
use electrode::WaitMode;
use std::path::Path;
use std::time::{Duration, Instant};

/// A path to keep busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Blocking invoke round trips, 64 B.
    Invoke,
    /// sendSync round trips, 64 B.
    SendSync,
    /// One-way sends, 64 B, one renderer.
    Send,
    /// `WebContents::send`, 64 B, main → one renderer.
    WebContentsSend,
    /// Blocking invoke echoes of this many bytes.
    Echo(usize),
}

impl Workload {
    /// Parse `invoke`, `send-sync`, `send`, `wc-send` or `echo:<bytes>`.
    pub fn parse(s: &str) -> Option<Workload> {
        Some(match s {
            "invoke" => Workload::Invoke,
            "send-sync" => Workload::SendSync,
            "send" => Workload::Send,
            "wc-send" => Workload::WebContentsSend,
            _ => Workload::Echo(s.strip_prefix("echo:")?.parse().ok()?),
        })
    }
}

/// Run `w` for about `secs` (main and renderer waiting in `wait_mode`, or Electrode's
/// default); returns a one-line summary.
pub fn run(
    exe: &Path,
    w: Workload,
    secs: f64,
    wait_mode: Option<WaitMode>,
) -> Result<String, BenchError> {
    let mut host = Host::with_wait_mode(Some(0), exe, wait_mode)?;
    let r = host.spawn(1, Some(1))?;
    let r = &r[0];
    let cap = Some(Duration::from_secs_f64(secs));
    let latency = |host: &mut Host, path, bytes| {
        host.latency(r, path, bytes, 1 << 40, 100, cap).map(|s| {
            let x = s.summary();
            format!(
                "{w:?}: {} calls, p50 {} ns, p99 {} ns, mean {:.0} ns",
                x.count, x.p50, x.p99, x.mean
            )
        })
    };
    match w {
        Workload::Invoke => latency(&mut host, RoundTrip::Invoke, 64),
        Workload::SendSync => latency(&mut host, RoundTrip::SendSync, 64),
        Workload::Echo(n) => latency(&mut host, RoundTrip::Invoke, n),
        Workload::Send | Workload::WebContentsSend => {
            let start = Instant::now();
            let (mut n, mut busy) = (0u64, Duration::ZERO);
            while start.elapsed().as_secs_f64() < secs {
                let t = if w == Workload::Send {
                    host.send_throughput(std::slice::from_ref(r), 1_000_000)?
                } else {
                    host.web_contents_send_throughput(r, 1_000_000, 64)?
                };
                n += t.messages;
                busy += t.elapsed;
            }
            Ok(format!(
                "{w:?}: {n} messages, {:.2} M msg/s",
                n as f64 / busy.as_secs_f64() / 1e6
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(Workload::parse("invoke"), Some(Workload::Invoke));
        assert_eq!(
            Workload::parse("echo:1048576"),
            Some(Workload::Echo(1 << 20))
        );
        assert_eq!(Workload::parse("echo:x"), None);
        assert_eq!(Workload::parse("nope"), None);
    }
}
