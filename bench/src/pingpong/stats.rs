//! [`Samples`] (per-round-trip latencies) and their [`Summary`] (percentiles and mean).

use std::fmt;

/// Latencies of individual round trips, in nanoseconds, in the order they were measured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Samples {
    ns: Vec<u64>,
}

/// Order statistics of a set of [`Samples`], all in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub count: usize,
    /// Smallest.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Arithmetic mean.
    pub mean: f64,
}

impl Samples {
    /// Wrap latencies given in nanoseconds.
    pub fn from_nanos(ns: Vec<u64>) -> Self {
        Samples { ns }
    }

    /// The latencies in nanoseconds.
    pub fn as_nanos(&self) -> &[u64] {
        &self.ns
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.ns.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ns.is_empty()
    }

    /// Append another run's samples (e.g. the rounds of an interleaved measurement).
    pub fn extend(&mut self, other: &Samples) {
        self.ns.extend_from_slice(&other.ns);
    }

    /// Percentiles (nearest rank) and mean. All zero when empty.
    pub fn summary(&self) -> Summary {
        if self.ns.is_empty() {
            return Summary::default();
        }
        let mut sorted = self.ns.clone();
        sorted.sort_unstable();
        let n = sorted.len();
        let rank = |p: f64| {
            let r = (p * n as f64).ceil() as usize;
            sorted[r.clamp(1, n) - 1]
        };
        Summary {
            count: n,
            min: sorted[0],
            p50: rank(0.50),
            p99: rank(0.99),
            p999: rank(0.999),
            max: sorted[n - 1],
            mean: sorted.iter().map(|&v| v as f64).sum::<f64>() / n as f64,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "n={} p50={}ns p99={}ns p99.9={}ns mean={:.0}ns",
            self.count, self.p50, self.p99, self.p999, self.mean
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = Samples::from_nanos((1..=1000).rev().collect());
        let m = s.summary();
        assert_eq!(
            (m.min, m.p50, m.p99, m.p999, m.max),
            (1, 500, 990, 999, 1000)
        );
        assert_eq!(m.count, 1000);
        assert!((m.mean - 500.5).abs() < 1e-9);
        let one = Samples::from_nanos(vec![7]).summary();
        assert_eq!((one.p50, one.p999, one.max), (7, 7, 7));
        assert_eq!(Samples::default().summary().count, 0);
    }
}
