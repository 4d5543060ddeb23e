//! Cross-process round trips of 64-byte messages: Electrode's shared-memory transport in each
//! wait mode against a raw futex ping-pong, a busy-spin ping-pong and a Unix socket, with the
//! two processes on different cores (0 and 1) and on the same core (0).
//!
//! One peer process (`bench_peer`) per benchmark function, alive across all of criterion's
//! iterations of it; `iter_custom` times batches of round trips with `Session::time`. Reported
//! time is per round trip; throughput is round trips per second.
//!
//! ```text
//! cargo bench -p electrode-bench --bench transport
//! cargo bench -p electrode-bench --bench transport -- round_trip_same   # one group
//! ```

use criterion::{Criterion, Throughput};
use electrode_bench::pingpong::{Placement, Session, System};
use std::path::Path;
use std::time::Duration;

const PEER: &str = env!("CARGO_BIN_EXE_bench_peer");
const PAYLOAD: usize = 64;

fn systems(placement: Placement) -> Vec<System> {
    let mut v = vec![
        System::shm_default(),
        System::shm_park_only(),
        System::RawFutex,
        System::UnixSocket,
    ];
    // Busy-spin on one core costs a scheduler time slice per hop: not measured there.
    if placement != Placement::SameCore {
        v.push(System::BusySpin);
    }
    v
}

fn bench_id(system: System) -> String {
    system.to_string().replace([' ', '+', '-'], "_")
}

fn round_trips(c: &mut Criterion, placement: Placement) {
    let mut group = c.benchmark_group(format!("round_trip_{}", placement.name()));
    group.throughput(Throughput::Elements(1));
    for system in systems(placement) {
        // Spawned once per benchmark function; dropping it kills the peer and unpins.
        let mut session = match Session::start_with(Path::new(PEER), system, placement, PAYLOAD) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("skipping {placement} / {system}: {e}");
                continue;
            }
        };
        group.bench_function(bench_id(system), |b| {
            b.iter_custom(|iters| {
                session
                    .time(iters)
                    .unwrap_or_else(|e| panic!("{placement} / {system}: {e}"))
            })
        });
    }
    group.finish();
}

fn cross_core(c: &mut Criterion) {
    round_trips(c, Placement::CrossCore);
}

fn same_core(c: &mut Criterion) {
    round_trips(c, Placement::SameCore);
}

fn main() {
    // What `criterion_group!` / `criterion_main!` expand to, written out so the generated
    // public function does not need a doc comment.
    let mut c = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    cross_core(&mut c);
    same_core(&mut c);
    c.final_summary();
}
