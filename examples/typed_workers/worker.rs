//! The worker's side (`--worker <n>`): connect, register listeners and the status handler,
//! say hello, take the config, then pull and do jobs until main says shut down.
//!
//! Two threads touch the IPC: this one (the work loop: `send`s and `invoke`s) and Electrode's
//! receive thread, which runs the `CONTROL` listener and the `STATUS` handler. They share a
//! small [`State`]; the receive thread never waits for the work loop, so a worker whose work
//! is stuck still answers `STATUS`.

use crate::contract::{
    self, ArchivedControl, Assignment, Config, Hello, Job, JobReport, Outcome, Progress, Status,
    Verdict, WorkRequest,
};
use crate::Failure;
use electrode::IpcRenderer;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long to wait for main's `Configure`.
const CONFIG_TIMEOUT: Duration = Duration::from_secs(10);
/// One `invoke` of main.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What the receive thread and the work loop share.
struct State {
    /// What `STATUS` answers.
    status: Status,
    /// The job main cancelled, if any.
    cancelled: Option<u64>,
}

/// What the `CONTROL` listener passes on to the work loop.
enum Order {
    Configure(Config),
    BadConfig(String),
    Shutdown,
}

/// Lock `m`, even if a thread panicked while holding it (every change is a single step).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The worker process.
pub fn run(worker: u32) -> Result<(), Failure> {
    // Finds the segment main handed this process through its environment.
    let ipc = IpcRenderer::connect()?;
    let state = Arc::new(Mutex::new(State {
        status: Status::Starting,
        cancelled: None,
    }));

    // Listeners run on the receive thread and get the message in place: `control` is an
    // `&ArchivedControl`, already validated. Match on its archived variants; read archived
    // integers with `to_native()`, or deserialize a part you want owned.
    let (orders, inbox) = mpsc::channel();
    let s = state.clone();
    contract::CONTROL.on(&ipc, move |_event, control| match control {
        ArchivedControl::Configure(config) => {
            let order = match rkyv::deserialize::<Config, rkyv::rancor::Error>(config) {
                Ok(config) => Order::Configure(config),
                Err(e) => Order::BadConfig(e.to_string()),
            };
            let _ = orders.send(order);
        }
        // Seen by the work loop between two chunks.
        ArchivedControl::Cancel { job } => lock(&s).cancelled = Some(job.to_native()),
        ArchivedControl::Shutdown => {
            let _ = orders.send(Order::Shutdown);
        }
    });

    // Main's questions: the request is `()`, the reply a `Status` (archived by Electrode).
    let s = state.clone();
    contract::STATUS.handle(&ipc, move |_request| Ok(lock(&s).status))?;

    // Everything is registered: main may talk to us now.
    contract::READY.send(&ipc, &Hello { worker })?;
    let config = match inbox.recv_timeout(CONFIG_TIMEOUT) {
        Ok(Order::Configure(config)) => config,
        Ok(Order::BadConfig(e)) => return Err(format!("bad config: {e}").into()),
        Ok(Order::Shutdown) => return Ok(()),
        Err(_) => return Err("no config from main".into()),
    };
    let idle_wait = Duration::from_millis(config.idle_wait_ms);

    loop {
        lock(&state).status = Status::Idle;
        // A typed invoke: the request is a `WorkRequest`, the reply an owned `Assignment`
        // (`invoke_with` would read it in place instead).
        let assignment =
            contract::NEXT_JOB.invoke_timeout(&ipc, &WorkRequest { worker }, CALL_TIMEOUT)?;
        let wait = match assignment {
            Assignment::Work(job) => {
                let outcome = work(&ipc, worker, &config, &job, &state)?;
                // Done with it (whatever main says of the report).
                lock(&state).status = Status::Idle;
                let report = JobReport {
                    id: job.id,
                    worker,
                    outcome,
                };
                match contract::JOB_DONE.invoke_timeout(&ipc, &report, CALL_TIMEOUT)? {
                    Verdict::Accepted => Duration::ZERO,
                    Verdict::Rejected { reason } => {
                        return Err(format!("main rejected job {}: {reason}", job.id).into())
                    }
                }
            }
            Assignment::Idle => idle_wait,
        };
        match inbox.recv_timeout(wait) {
            Ok(Order::Shutdown) => return Ok(()),
            Ok(Order::Configure(_) | Order::BadConfig(_)) => return Err("configured twice".into()),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err("listeners gone".into()),
        }
    }
}

/// Do `job` a chunk at a time: after each chunk, update the status, stop if main cancelled
/// the job, and report progress.
fn work(
    ipc: &IpcRenderer,
    worker: u32,
    config: &Config,
    job: &Job,
    state: &Mutex<State>,
) -> Result<Outcome, Failure> {
    let chunk = config.chunk.max(1);
    let (mut done, mut sum) = (0u64, 0u64);
    loop {
        // An open-ended job (`count: None`) always has another chunk.
        let left = job.count.map_or(chunk, |count| count - done);
        if left == 0 {
            return Ok(Outcome::Finished { sum });
        }
        let n = left.min(chunk);
        sum += contract::collatz_sum(job.first + done, n);
        done += n;
        {
            let mut state = lock(state);
            state.status = Status::Working { job: job.id, done };
            if state.cancelled == Some(job.id) {
                return Ok(Outcome::Cancelled { done, sum });
            }
        }
        // One way, no answer: the message is archived straight into the ring.
        let progress = Progress {
            worker,
            job: job.id,
            done,
            total: job.count,
        };
        contract::PROGRESS.send(ipc, &progress)?;
        if job.hang && job.count.is_some_and(|count| done * 2 >= count) {
            hang(state, job.id, done);
        }
    }
}

/// Fault injection: block this thread for good, as a call that never returns would. The
/// receive thread goes on answering `STATUS`, now with `Blocked`, and main kills the process.
fn hang(state: &Mutex<State>, job: u64, done: u64) -> ! {
    lock(state).status = Status::Blocked { job, done };
    loop {
        std::thread::park();
    }
}
