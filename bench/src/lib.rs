//! # electrode-bench: measuring Electrode against its baselines
//!
//! The [`pingpong`] module times cross-process round trips: the main process sends a small
//! message, a real child process (the `bench_peer` binary, or any binary that calls
//! [`role::serve_if_role`] first thing in `main`) echoes it, and the main process receives
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
//!
//! Above the transport:
//!
//! - [`api`]: Electrode's public API end to end, between a real [`electrode::Main`] (a
//!   [`api::Host`]) and real renderer processes that time their own calls and check every
//!   answer: invoke (blocking and async), sendSync, event.reply, `WebContents::send` and
//!   `WebContents::invoke`, large payloads, one-way throughput.
//! - [`peers`]: the same round trip through the libraries a user would pick instead
//!   (`ipc-channel`, `iceoryx2`, `shmipc`).
//! - [`report`]: the report binary's engine (`cargo run --release -p electrode-bench -- report`):
//!   everything above in interleaved rounds, target verdicts, Markdown / JSON / SVG output.
//! - [`workload`]: one path kept busy, for a profiler.
//! - [`role`]: the one way a bench process starts a helper (a bench binary re-executed as a
//!   renderer or a peer, orders as JSON in one environment variable, dying with its parent,
//!   killed on drop); `benches/api.rs` drives the API through it.
//!
//! Every failure is a [`BenchError`].
#![deny(unsafe_op_in_unsafe_fn)]

pub mod api;
mod error;
pub mod peers;
pub mod pingpong;
pub mod report;
pub mod role;
pub mod workload;

pub use error::BenchError;
