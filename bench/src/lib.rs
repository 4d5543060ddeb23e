//! # electrode-bench: measuring Electrode against its baselines
//!
//! The [`pingpong`] module times cross-process round trips: the main process sends a small
//! message, a real child process (the `bench_peer` binary, or any binary that calls
//! [`pingpong::serve_if_peer`] first thing in `main`) echoes it, and the main process receives
//! the echo. The same harness drives Electrode's shared-memory transport in each wait mode and
//! three baselines written here: a raw futex ping-pong, a busy-spin ping-pong (the floor) and a
//! Unix-domain socket.
//!
//! ```no_run
//! use electrode_bench::pingpong::{run, Placement, System};
//!
//! let samples = run(System::shm_default(), Placement::CrossCore, 100_000, 64).unwrap();
//! let s = samples.summary();
//! println!("p50 {} ns, p99 {} ns", s.p50, s.p99);
//! ```
//!
//! Consumers: `benches/transport.rs` (criterion, `iter_custom`) and the `transport_table`
//! binary (a p50/p99 table with ratios to the raw futex baseline).
#![deny(unsafe_op_in_unsafe_fn)]

pub mod pingpong;
