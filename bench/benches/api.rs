//! Electrode's API from one renderer process into main, next to the transport it is built on,
//! measured in the same run: blocking `invoke` and `sendSync` round trips (64-byte argument)
//! and one-way `send` throughput (64 bytes, into a listener that checks every message), and
//! the transport round trip (`electrode_shm` rings, spin-then-park, 64 bytes).
//!
//! The `codec` group times, on one thread and in cache, the CPU work an invoke adds to the
//! transport's: an invoke encodes twice (request and reply), validates twice and copies a value
//! out twice (main's handler, the renderer's result). Unlike the round trips it does not
//! depend on cross-core transfers, so it is steady on a noisy machine.
//!
//! Main (its dispatcher thread) runs on CPU 0, the renderer on CPU 1. One renderer process
//! (the `electrode-bench` binary in its renderer role, `electrode_bench::role`) serves every
//! API benchmark; it times the batches criterion asks for (`iter_custom`) and checks every
//! answer. After the
//! criterion groups, a short interleaved percentile run judges the API targets (invoke p50
//! within 2x the transport round trip; one-way send >= 5 M messages/s).
//!
//! ```text
//! cargo bench -p electrode-bench --bench api
//! cargo bench -p electrode-bench --bench api -- api_cross/invoke   # one function
//! ```

use criterion::{Criterion, Throughput};
use electrode::{wire, Value};
use electrode_bench::api::{Batch, Host, RoundTrip};
use electrode_bench::pingpong::{Placement, Samples, Session, System};
use std::path::Path;
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_electrode-bench");
const PAYLOAD: usize = 64;

fn api_group(c: &mut Criterion, host: &mut Host) {
    let renderer = match host.spawn(1, Some(1)) {
        Ok(mut r) => r.remove(0),
        Err(e) => panic!("spawning the renderer: {e}"),
    };
    let mut group = c.benchmark_group("api_cross");
    group.throughput(Throughput::Elements(1));
    for (name, batch) in [
        ("invoke_64B", Batch::Invoke),
        ("send_sync_64B", Batch::SendSync),
        ("send_64B_one_way", Batch::Send),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                host.batch(&renderer, batch, iters)
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
            })
        });
    }
    group.finish();
}

fn codec_group(c: &mut Criterion) {
    let args = vec![Value::Bytes(vec![7u8; PAYLOAD])];
    let encoded = wire::encode_to_vec(&args).unwrap_or_else(|e| panic!("encode: {e}"));
    let mut buf = vec![0u8; wire::encoded_len_hint(&args)];
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode_64B", |b| {
        b.iter(|| wire::encode_into(std::hint::black_box(&args), &mut buf))
    });
    group.bench_function("validate_64B", |b| {
        b.iter(|| wire::ArgsView::new(std::hint::black_box(&encoded)).map(|v| v.len()))
    });
    group.bench_function("validate_and_copy_out_64B", |b| {
        b.iter(|| {
            wire::ArgsView::new(std::hint::black_box(&encoded))
                .ok()
                .and_then(|v| v.get(0))
                .map(|v| v.to_value())
        })
    });
    group.finish();
}

fn transport_group(c: &mut Criterion) {
    let exe = Path::new(EXE);
    let mut session =
        Session::start_with(exe, System::shm_default(), Placement::CrossCore, PAYLOAD)
            .unwrap_or_else(|e| panic!("transport session: {e}"));
    let mut group = c.benchmark_group("api_cross");
    group.throughput(Throughput::Elements(1));
    group.bench_function("transport_round_trip_64B", |b| {
        b.iter_custom(|iters| {
            session
                .time(iters)
                .unwrap_or_else(|e| panic!("transport: {e}"))
        })
    });
    group.finish();
}

fn median_ratio(a: &[u64], b: &[u64]) -> f64 {
    let mut r: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| x as f64 / y.max(1) as f64)
        .collect();
    r.sort_by(f64::total_cmp);
    r.get((r.len().max(1) - 1) / 2).copied().unwrap_or(f64::NAN)
}

/// Interleaved p50s (invoke from a fresh renderer, the transport from a fresh peer, 5 rounds)
/// and the one-way send rate, then the verdicts.
fn verdicts() {
    let exe = Path::new(EXE);
    let (mut inv, mut tr) = (Vec::new(), Vec::new());
    let (mut inv_all, mut tr_all) = (Samples::default(), Samples::default());
    for _ in 0..5 {
        let mut host = Host::new(Some(0), exe).unwrap_or_else(|e| panic!("host: {e}"));
        let r = host.spawn(1, Some(1)).unwrap_or_else(|e| panic!("{e}"));
        let s = host
            .latency(&r[0], RoundTrip::Invoke, PAYLOAD, 20_000, 2_000, None)
            .unwrap_or_else(|e| panic!("invoke: {e}"));
        drop(host);
        inv.push(s.summary().p50);
        inv_all.extend(&s);
        let mut t = Session::start_with(exe, System::shm_default(), Placement::CrossCore, PAYLOAD)
            .unwrap_or_else(|e| panic!("transport: {e}"));
        t.warm_up(2_000)
            .unwrap_or_else(|e| panic!("transport: {e}"));
        let s = t
            .measure(20_000)
            .unwrap_or_else(|e| panic!("transport: {e}"));
        tr.push(s.summary().p50);
        tr_all.extend(&s);
    }
    let x = median_ratio(&inv, &tr);
    let (i, t) = (inv_all.summary(), tr_all.summary());
    println!(
        "invoke p50 {} ns (p99 {} ns) vs transport round trip p50 {} ns (p99 {} ns): {x:.2}x \
         (median of 5 per-round ratios) -> target <= 2x: {}",
        i.p50,
        i.p99,
        t.p50,
        t.p99,
        if x <= 2.0 { "met" } else { "MISSED" }
    );
    let mut host = Host::new(Some(0), exe).unwrap_or_else(|e| panic!("host: {e}"));
    let r = host.spawn(1, Some(1)).unwrap_or_else(|e| panic!("{e}"));
    let mut rates: Vec<f64> = (0..3)
        .map(|_| {
            host.send_throughput(&r, 1_000_000)
                .unwrap_or_else(|e| panic!("send: {e}"))
                .per_sec()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let rate = rates[1];
    println!(
        "one-way send: {:.2} M msg/s (median of 3 x 1,000,000) -> target >= 5 M/s: {}",
        rate / 1e6,
        if rate >= 5e6 { "met" } else { "MISSED" }
    );
}

fn main() {
    // What `criterion_group!` / `criterion_main!` expand to, written out so the generated
    // public function does not need a doc comment.
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut host = Host::new(Some(0), Path::new(EXE)).unwrap_or_else(|e| panic!("host: {e}"));
    api_group(&mut c, &mut host);
    drop(host);
    transport_group(&mut c);
    codec_group(&mut c);
    c.final_summary();
    // `cargo bench -- <filter>` and `cargo test --benches` skip the verdicts.
    let args: Vec<String> = std::env::args().collect();
    let filtered = args.iter().skip(1).any(|a| !a.starts_with('-'));
    if !filtered && args.iter().any(|a| a == "--bench") {
        verdicts();
    }
}
