//! A pool of worker processes on **typed channels**: main hands out jobs, three workers pull
//! them, one job is cancelled, one worker wedges and is killed, and every job still ends
//! exactly once.
//!
//! ```sh
//! cargo run --release --example typed_workers
//! ```
//!
//! One binary plays both parts. Started plainly it is main (`supervisor.rs`, with its
//! bookkeeping in `pool.rs`); main starts copies of itself with `--worker <n>` (`worker.rs`).
//! Both sides compile one module, `contract.rs`: the channels (`static`s naming the wire name
//! and the types) and the message types (`#[derive(Archive, Serialize, Deserialize,
//! TypeHash)]`). What the run shows:
//!
//! - **invoke, struct in, enum out**: workers ask `contract::NEXT_JOB` with a `WorkRequest`
//!   and get an `Assignment` (`Work(Job)` or `Idle`); main's handlers read the request in
//!   place (`&ArchivedWorkRequest`: validated, not deserialized).
//! - **events main → worker**: `contract::CONTROL` carries `Configure`, `Cancel` and
//!   `Shutdown`. Job 7 is open-ended; main cancels it from its progress listener once it has
//!   seen enough of it (`EventChannel::reply`, to the sender of the event).
//! - **a one-way stream worker → main**: `contract::PROGRESS` after every chunk.
//! - **main invoking a worker**: main asks every worker's `contract::STATUS` a few times a
//!   second. The worker's receive thread answers, even while its work thread is stuck.
//! - **kill and respawn**: the first worker to get job 5 blocks halfway (fault injection) and
//!   says so when asked its status. Main kills it with SIGKILL; its `render-process-gone`
//!   hook (reason `killed`, code 9) puts job 5 back at the front of the queue, main starts a
//!   replacement, and job 5 goes to the next worker that asks.
//!
//! Main checks every report against its own sums and exits 0 only if every job ended exactly
//! once and right. Every wait has a timeout, so a broken run fails instead of hanging, and
//! dropping [`electrode::Main`] kills any worker still running.

mod contract;
mod pool;
mod supervisor;
mod worker;

use std::process::ExitCode;

/// Main's or a worker's failure.
type Failure = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let run = match (args.next().as_deref(), args.next()) {
        (None, _) => supervisor::run(),
        (Some("--worker"), Some(n)) => match n.parse() {
            Ok(n) => worker::run(n),
            Err(_) => Err(format!("bad worker number {n:?}").into()),
        },
        _ => Err("usage: typed_workers [--worker <n>]".into()),
    };
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("typed_workers: {e}");
            ExitCode::FAILURE
        }
    }
}
