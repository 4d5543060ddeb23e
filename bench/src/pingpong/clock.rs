//! Cheap timestamps for per-round-trip timing.
//!
//! On this kind of machine (a VM) `Instant::now()` costs about 60 ns, a third of the busy-spin
//! round trip, while `rdtsc` costs about 20 ns. So on x86_64 with an invariant TSC
//! (`constant_tsc` and `nonstop_tsc` in `/proc/cpuinfo`) round trips are stamped with `rdtsc`,
//! calibrated once against `Instant` over 20 ms; elsewhere `Instant` is used. Either way one
//! stamp per round trip is part of every recorded figure; [`stamp_overhead_ns`] says how much.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Nanoseconds per TSC tick, when the TSC is usable.
fn tsc_scale() -> Option<f64> {
    static SCALE: OnceLock<Option<f64>> = OnceLock::new();
    *SCALE.get_or_init(calibrate)
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn tsc() -> u64 {
    // SAFETY: `rdtsc` exists on every x86_64 CPU and only reads the time-stamp counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(target_arch = "x86_64")]
fn calibrate() -> Option<f64> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let flags = info.lines().find(|l| l.starts_with("flags"))?;
    let has = |f: &str| flags.split_whitespace().any(|w| w == f);
    if !(has("constant_tsc") && has("nonstop_tsc")) {
        return None;
    }
    let (t0, i0) = (tsc(), Instant::now());
    while i0.elapsed() < Duration::from_millis(20) {
        std::hint::spin_loop();
    }
    let (t1, i1) = (tsc(), Instant::now());
    let ticks = t1.checked_sub(t0)?;
    (ticks > 0).then(|| (i1 - i0).as_nanos() as f64 / ticks as f64)
}

#[cfg(not(target_arch = "x86_64"))]
fn calibrate() -> Option<f64> {
    None
}

/// Calls `step` `iters` times and appends, for each call, the nanoseconds between the stamp
/// before it and the stamp after it (one stamp per call: each call's end is the next one's
/// start).
#[inline(never)]
pub(crate) fn stamp_each<E>(
    iters: usize,
    out: &mut Vec<u64>,
    mut step: impl FnMut() -> Result<(), E>,
) -> Result<(), E> {
    #[cfg(target_arch = "x86_64")]
    if let Some(scale) = tsc_scale() {
        let start = out.len();
        let mut prev = tsc();
        for _ in 0..iters {
            step()?;
            let now = tsc();
            out.push(now.wrapping_sub(prev));
            prev = now;
        }
        for v in &mut out[start..] {
            *v = (*v as f64 * scale).round() as u64;
        }
        return Ok(());
    }
    let mut prev = Instant::now();
    for _ in 0..iters {
        step()?;
        let now = Instant::now();
        out.push((now - prev).as_nanos() as u64);
        prev = now;
    }
    Ok(())
}

/// Start of the fallback clock (when there is no usable TSC).
fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// A raw timestamp for [`ticks_to_ns`]: TSC ticks where the TSC is usable, else nanoseconds
/// since the first call. Costs about as much as one stamp of [`stamp_each`].
#[inline(always)]
pub(crate) fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if tsc_scale().is_some() {
        return tsc();
    }
    base().elapsed().as_nanos() as u64
}

/// Nanoseconds in a difference of two [`ticks`].
pub(crate) fn ticks_to_ns(delta: u64) -> u64 {
    match tsc_scale() {
        Some(scale) => (delta as f64 * scale).round() as u64,
        None => delta,
    }
}

/// What one timestamp costs (ns), i.e. what `Session::measure` adds to every recorded figure.
pub fn stamp_overhead_ns() -> f64 {
    let n = 200_000usize;
    let mut out = Vec::with_capacity(n);
    let _ = stamp_each(n, &mut out, || Ok::<(), ()>(()));
    out.iter().sum::<u64>() as f64 / n as f64
}
