//! The contract: every channel and every message type, written once. Main and the workers
//! both compile this module (here one binary plays both parts; with two binaries it would be
//! a small crate both depend on). A channel is a `static` naming its wire name and its types,
//! so a worker sending the wrong type to a channel does not compile, and two builds of
//! different versions of this file refuse each other's messages (each message carries its
//! channel's schema fingerprint) instead of misreading them.
//!
//! | channel | kind | direction | carries |
//! | --- | --- | --- | --- |
//! | [`READY`] | `SendChannel` | worker → main, once | [`Hello`] |
//! | [`CONTROL`] | `EventChannel` | main → worker | [`Control`]: configure, cancel, shut down |
//! | [`NEXT_JOB`] | `InvokeChannel` | worker → main | [`WorkRequest`] → [`Assignment`] |
//! | [`PROGRESS`] | `SendChannel` | worker → main, after each chunk | [`Progress`] |
//! | [`JOB_DONE`] | `InvokeChannel` | worker → main | [`JobReport`] → [`Verdict`] |
//! | [`STATUS`] | `RendererInvokeChannel` | main → worker | `()` → [`Status`] |

// The derives: rkyv's three (the archive format, read in place by receivers) and `TypeHash`
// (the schema fingerprint). The `TypeHash` derive names the `type_hash` crate: electrode
// re-exports it, so `use` it here rather than adding a dependency.
use electrode::typed::{
    type_hash, EventChannel, InvokeChannel, RendererInvokeChannel, SendChannel, TypeHash,
};
use rkyv::{Archive, Deserialize, Serialize};

/// worker → main, once its listeners and handlers are registered. A message that reaches a
/// renderer before it listens on the channel is dropped (as in Electron), so main waits for
/// this before sending [`Control::Configure`].
pub static READY: SendChannel<Hello> = SendChannel::new("ready");
/// main → worker: everything main tells a worker without asking.
pub static CONTROL: EventChannel<Control> = EventChannel::new("control");
/// worker → main: "give me work".
pub static NEXT_JOB: InvokeChannel<WorkRequest, Assignment> = InvokeChannel::new("next-job");
/// worker → main, one way: how far the worker is in its job.
pub static PROGRESS: SendChannel<Progress> = SendChannel::new("progress");
/// worker → main: a job's end, finished or cancelled; main checks it and says whether it
/// counts.
pub static JOB_DONE: InvokeChannel<JobReport, Verdict> = InvokeChannel::new("job-done");
/// main → worker: what are you doing? Answered by the worker's receive thread, so even a
/// worker whose work thread is wedged answers.
pub static STATUS: RendererInvokeChannel<(), Status> = RendererInvokeChannel::new("status");

/// A worker introducing itself on [`READY`].
#[derive(Archive, Serialize, Deserialize, TypeHash, Debug)]
pub struct Hello {
    /// The worker's number (given by main on its command line).
    pub worker: u32,
}

/// How a worker works, decided by main.
#[derive(Archive, Serialize, Deserialize, TypeHash, Debug, Clone, Copy)]
pub struct Config {
    /// Numbers done between two progress reports (and two looks for a cancel).
    pub chunk: u64,
    /// How long to wait before asking again when main has no job.
    pub idle_wait_ms: u64,
}

/// What main tells a worker on [`CONTROL`].
#[derive(Archive, Serialize, Deserialize, TypeHash, Debug)]
pub enum Control {
    /// How to work; sent once, in answer to [`READY`].
    Configure(Config),
    /// Stop working on this job and report it [`Outcome::Cancelled`].
    Cancel {
        /// The job's id.
        job: u64,
    },
    /// All work is done: exit.
    Shutdown,
}

/// A worker asking for work on [`NEXT_JOB`].
#[derive(Archive, Serialize, Deserialize, TypeHash, Debug)]
pub struct WorkRequest {
    /// The asking worker's number.
    pub worker: u32,
}

/// One unit of work: the total of [`collatz_steps`] over the numbers `first..first + count`.
#[derive(Archive, Serialize, Deserialize, TypeHash, Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The job's id, unique in the run.
    pub id: u64,
    /// The first number.
    pub first: u64,
    /// How many numbers; `None`: an open-ended search that runs until main cancels it.
    pub count: Option<u64>,
    /// Fault injection: halfway through, the worker's work thread blocks forever (as if stuck
    /// in a call that never returns).
    pub hang: bool,
}

/// Main's answer on [`NEXT_JOB`].
#[derive(Archive, Serialize, Deserialize, TypeHash, Debug)]
pub enum Assignment {
    /// Do this job.
    Work(Job),
    /// Nothing queued right now: ask again later (or get [`Control::Shutdown`]).
    Idle,
}

/// How far a worker is into a job, on [`PROGRESS`].
#[derive(Archive, Serialize, Deserialize, TypeHash, Debug)]
pub struct Progress {
    /// The reporting worker's number.
    pub worker: u32,
    /// The job's id.
    pub job: u64,
    /// Numbers done so far.
    pub done: u64,
    /// Numbers in the job (`None` for an open-ended one).
    pub total: Option<u64>,
}

/// How a job ended.
#[derive(Archive, Serialize, Deserialize, TypeHash, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// All its numbers done.
    Finished {
        /// The total of [`collatz_steps`] over them.
        sum: u64,
    },
    /// Stopped by [`Control::Cancel`] after `done` numbers.
    Cancelled {
        /// Numbers done.
        done: u64,
        /// The total over those.
        sum: u64,
    },
}

/// A job's end, on [`JOB_DONE`].
#[derive(Archive, Serialize, Deserialize, TypeHash, Debug, Clone, Copy)]
pub struct JobReport {
    /// The job's id.
    pub id: u64,
    /// The number of the worker that did it.
    pub worker: u32,
    /// How it ended.
    pub outcome: Outcome,
}

/// Main's answer on [`JOB_DONE`].
#[derive(Archive, Serialize, Deserialize, TypeHash, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The report counts.
    Accepted,
    /// It does not (the job is not this worker's, or the sum is wrong).
    Rejected {
        /// Why.
        reason: String,
    },
}

/// A worker's answer on [`STATUS`].
#[derive(Archive, Serialize, Deserialize, TypeHash, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Connected, not configured yet.
    Starting,
    /// Between jobs.
    Idle,
    /// Working on `job`, `done` numbers in.
    Working {
        /// The job's id.
        job: u64,
        /// Numbers done.
        done: u64,
    },
    /// The work thread is blocked and cannot get out by itself: only killing the process
    /// frees the job.
    Blocked {
        /// The job it holds.
        job: u64,
        /// Numbers done before it blocked.
        done: u64,
    },
}

/// The work: how many Collatz steps `n` takes to reach 1.
pub fn collatz_steps(mut n: u64) -> u64 {
    let mut steps = 0;
    while n > 1 {
        n = if n.is_multiple_of(2) {
            n / 2
        } else {
            3 * n + 1
        };
        steps += 1;
    }
    steps
}

/// The total of [`collatz_steps`] over `first..first + count` (main checks reports with it).
pub fn collatz_sum(first: u64, count: u64) -> u64 {
    (first..first + count).map(collatz_steps).sum()
}
