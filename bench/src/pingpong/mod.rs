//! Cross-process round-trip latency: one harness, several transports.
//!
//! A [`Session`] spawns the peer process for one [`System`] and [`Placement`], pins both sides,
//! and then times round trips: the main side sends a `payload`-byte message, the peer echoes
//! it, the main side receives (and copies out) the echo. [`Session::measure`] records every
//! round trip (one clock read per round trip, included in the figure); [`Session::time`] only
//! the total, for criterion's `iter_custom`. [`run`] is the one-call form.
//!
//! The peer is a real process started from an executable: by default the current one (which
//! must call [`crate::role::serve_if_role`] first thing in `main`), or the one named by the
//! `ELECTRODE_BENCH_PEER` environment variable, or any path given to [`Session::start_with`]
//! (criterion benches pass `env!("CARGO_BIN_EXE_bench_peer")`); it is started through
//! [`crate::role`]. The peer is killed when the session is dropped, and it exits by itself
//! when the main process disappears.

mod affinity;
mod busy_spin;
mod clock;
mod handoff;
mod peer;
mod port_rings;
mod raw_futex;
mod shared_page;
mod shm_transport;
mod stats;
mod system;
mod unix_socket;

pub use affinity::{allowed_cpus, Placement};
pub use clock::stamp_overhead_ns;
pub use stats::{Samples, Summary};
pub use system::System;

// For the other benchmarks of this crate (the API scenarios, the peers, the report).
pub(crate) use affinity::{pin_current_thread, pin_self, PinGuard};
pub(crate) use clock::{ticks, ticks_to_ns};
pub(crate) use peer::serve_peer;

use crate::BenchError;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Environment variable naming the peer executable (overrides the current executable).
pub const PEER_EXE_ENV: &str = "ELECTRODE_BENCH_PEER";

/// Largest payload the harness accepts (bytes).
pub const MAX_PAYLOAD: usize = 16 << 10;

/// Round trips [`run`] makes before it starts recording.
pub const WARMUP_ITERS: usize = 2_000;

/// One side's half of a round trip, monomorphized per system so the timed loop has no dispatch.
trait RoundTrip {
    /// Send message number `seq` (never 0), wait for its echo and copy it out.
    fn round_trip(&mut self, seq: u64) -> Result<(), BenchError>;
    /// The peer process's pid.
    fn peer_pid(&self) -> u32;
}

enum Backend {
    // Boxed: the endpoints are large and only touched through `&mut` in the timed loops.
    Shm(Box<shm_transport::Main>),
    PortRings(Box<port_rings::Main>),
    RawFutex(raw_futex::Main),
    BusySpin(busy_spin::Main),
    UnixSocket(unix_socket::Main),
}

/// A running ping-pong: the peer process is alive and pinned, the main thread is pinned.
///
/// Dropping it kills the peer and restores the calling thread's CPU affinity. It is not `Send`:
/// the pinning applies to the thread that started it, which must also drop it.
pub struct Session {
    // Field order is drop order: the peer goes first, then the affinity is restored.
    backend: Backend,
    _pin: Option<affinity::PinGuard>,
    seq: u64,
    system: System,
    placement: Placement,
    payload: usize,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("system", &self.system)
            .field("placement", &self.placement)
            .field("payload", &self.payload)
            .field("seq", &self.seq)
            .finish()
    }
}

/// The executable a [`Session::start`] spawns as its peer: `$ELECTRODE_BENCH_PEER`, or else the
/// current executable.
pub fn default_peer_exe() -> Result<PathBuf, BenchError> {
    if let Some(p) = std::env::var_os(PEER_EXE_ENV) {
        return Ok(PathBuf::from(p));
    }
    std::env::current_exe().map_err(BenchError::io("locating the current executable"))
}

impl Session {
    /// Start a session whose peer is [`default_peer_exe`].
    pub fn start(system: System, placement: Placement, payload: usize) -> Result<Self, BenchError> {
        Self::start_with(&default_peer_exe()?, system, placement, payload)
    }

    /// Start a session whose peer is the executable at `peer_exe` (one that serves the peer
    /// role: `bench_peer`, or a binary calling [`crate::role::serve_if_role`]).
    pub fn start_with(
        peer_exe: &Path,
        system: System,
        placement: Placement,
        payload: usize,
    ) -> Result<Self, BenchError> {
        if crate::role::is_helper() {
            return Err(BenchError::Unsupported(
                "a helper process may not start sessions (does main() call role::serve_if_role?)",
            ));
        }
        if payload > MAX_PAYLOAD {
            return Err(BenchError::Unsupported("payload larger than MAX_PAYLOAD"));
        }
        if system == System::UnixSocket && payload == 0 {
            return Err(BenchError::Unsupported(
                "an empty message on a stream socket (nothing would travel)",
            ));
        }
        if system == System::BusySpin && placement == Placement::SameCore {
            return Err(BenchError::Unsupported(
                "busy-spin with both sides on one core (each round trip would cost a time slice)",
            ));
        }
        let cores = placement.check()?;
        let spec = handoff::PeerSpec {
            exe: peer_exe,
            system,
            peer_cpu: cores.map(|(_, p)| p),
            payload,
        };
        // The peer is spawned before the main thread is pinned, so an unpinned peer inherits
        // the caller's original affinity; a pinned peer pins itself before it reports ready.
        let backend = match system {
            System::Shm(mode) => Backend::Shm(Box::new(shm_transport::Main::start(&spec, mode)?)),
            System::PortRings => Backend::PortRings(Box::new(port_rings::Main::start(&spec)?)),
            System::RawFutex => Backend::RawFutex(raw_futex::Main::start(&spec)?),
            System::BusySpin => Backend::BusySpin(busy_spin::Main::start(&spec)?),
            System::UnixSocket => Backend::UnixSocket(unix_socket::Main::start(&spec)?),
        };
        let pin = match cores {
            Some((main, _)) => Some(affinity::pin_current_thread(main)?),
            None => None,
        };
        Ok(Session {
            backend,
            _pin: pin,
            seq: 0,
            system,
            placement,
            payload,
        })
    }

    /// The system under test.
    pub fn system(&self) -> System {
        self.system
    }

    /// Where the two sides run.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// Payload bytes per message.
    pub fn payload(&self) -> usize {
        self.payload
    }

    /// The peer process's pid (it is killed when the session is dropped).
    pub fn peer_pid(&self) -> u32 {
        match &self.backend {
            Backend::Shm(b) => b.peer_pid(),
            Backend::PortRings(b) => b.peer_pid(),
            Backend::RawFutex(b) => b.peer_pid(),
            Backend::BusySpin(b) => b.peer_pid(),
            Backend::UnixSocket(b) => b.peer_pid(),
        }
    }

    /// Make `iters` round trips and return each one's latency.
    ///
    /// Each figure is the time between two consecutive timestamps with one round trip in
    /// between, so it includes one timestamp ([`stamp_overhead_ns`]: `rdtsc` where the TSC is
    /// invariant, else `Instant::now()`).
    pub fn measure(&mut self, iters: usize) -> Result<Samples, BenchError> {
        let mut ns = Vec::with_capacity(iters);
        let seq = &mut self.seq;
        match &mut self.backend {
            Backend::Shm(b) => record(&mut **b, seq, iters, &mut ns)?,
            Backend::PortRings(b) => record(&mut **b, seq, iters, &mut ns)?,
            Backend::RawFutex(b) => record(b, seq, iters, &mut ns)?,
            Backend::BusySpin(b) => record(b, seq, iters, &mut ns)?,
            Backend::UnixSocket(b) => record(b, seq, iters, &mut ns)?,
        }
        Ok(Samples::from_nanos(ns))
    }

    /// Make `iters` round trips and return the total time (for criterion's `iter_custom`).
    pub fn time(&mut self, iters: u64) -> Result<Duration, BenchError> {
        let seq = &mut self.seq;
        match &mut self.backend {
            Backend::Shm(b) => total(&mut **b, seq, iters),
            Backend::PortRings(b) => total(&mut **b, seq, iters),
            Backend::RawFutex(b) => total(b, seq, iters),
            Backend::BusySpin(b) => total(b, seq, iters),
            Backend::UnixSocket(b) => total(b, seq, iters),
        }
    }

    /// Make `iters` untimed round trips (caches, page faults, CPU frequency).
    pub fn warm_up(&mut self, iters: usize) -> Result<(), BenchError> {
        self.time(iters as u64).map(|_| ())
    }
}

fn next_seq(seq: &mut u64) -> u64 {
    *seq = seq.wrapping_add(1);
    if *seq == 0 {
        *seq = 1;
    }
    *seq
}

fn record<B: RoundTrip>(
    b: &mut B,
    seq: &mut u64,
    iters: usize,
    out: &mut Vec<u64>,
) -> Result<(), BenchError> {
    clock::stamp_each(iters, out, || b.round_trip(next_seq(seq)))
}

#[inline(never)]
fn total<B: RoundTrip>(b: &mut B, seq: &mut u64, iters: u64) -> Result<Duration, BenchError> {
    let start = Instant::now();
    for _ in 0..iters {
        b.round_trip(next_seq(seq))?;
    }
    Ok(start.elapsed())
}

/// Spawn a peer for `system` on `placement` (peer executable: [`default_peer_exe`]), warm up
/// for [`WARMUP_ITERS`] round trips, then record `iters` round trips of `payload` bytes each.
pub fn run(
    system: System,
    placement: Placement,
    iters: usize,
    payload: usize,
) -> Result<Samples, BenchError> {
    let mut s = Session::start(system, placement, payload)?;
    s.warm_up(WARMUP_ITERS)?;
    s.measure(iters)
}

/// [`run`] with an explicit peer executable.
pub fn run_with(
    peer_exe: &Path,
    system: System,
    placement: Placement,
    iters: usize,
    payload: usize,
) -> Result<Samples, BenchError> {
    let mut s = Session::start_with(peer_exe, system, placement, payload)?;
    s.warm_up(WARMUP_ITERS)?;
    s.measure(iters)
}
