//! Main's bookkeeping: the job queue, who holds which job, and how each job ended. Shared by
//! the handlers (on Electrode's dispatcher thread), the gone hooks and the main loop.

use crate::contract::{self, ArchivedJobReport, ArchivedOutcome, Assignment, Job, Outcome};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// Jobs in the run.
pub const JOBS: u64 = 16;
/// Numbers per (bounded) job.
pub const JOB_LEN: u64 = 20_000;
/// The open-ended job (`count: None`), which runs until main cancels it.
pub const OPEN_JOB: u64 = 7;
/// The job whose first hand-out wedges its worker.
pub const HANG_JOB: u64 = 5;

/// The pool.
pub struct Pool {
    /// Jobs not handed out, or handed back by a worker that died.
    queue: VecDeque<Job>,
    /// Renderer id → (worker number, the job it holds, without the fault mark).
    in_flight: HashMap<u32, (u32, Job)>,
    /// Jobs that went back to the queue because their worker died.
    requeued: HashSet<u64>,
    /// Job id → (worker, how it ended), accepted reports only.
    ended: BTreeMap<u64, (u32, Outcome)>,
    /// Jobs main has cancelled.
    cancelled: HashSet<u64>,
    /// Whether the hanging hand-out of [`HANG_JOB`] went out.
    hang_sent: bool,
    /// Anything that means the run is wrong.
    pub problems: Vec<String>,
}

impl Pool {
    /// All [`JOBS`] jobs queued.
    pub fn new() -> Pool {
        let queue = (0..JOBS)
            .map(|id| Job {
                id,
                first: 1 + id * JOB_LEN,
                count: (id != OPEN_JOB).then_some(JOB_LEN),
                hang: false,
            })
            .collect();
        Pool {
            queue,
            in_flight: HashMap::new(),
            requeued: HashSet::new(),
            ended: BTreeMap::new(),
            cancelled: HashSet::new(),
            hang_sent: false,
            problems: Vec::new(),
        }
    }

    /// `next-job` from renderer `renderer` (worker `worker`): the assignment, and the job's id
    /// if it is one that went back to the queue.
    pub fn assign(&mut self, renderer: u32, worker: u32) -> (Assignment, Option<u64>) {
        let Some(job) = self.queue.pop_front() else {
            return (Assignment::Idle, None);
        };
        let mut sent = job.clone();
        if job.id == HANG_JOB && !self.hang_sent {
            self.hang_sent = true;
            sent.hang = true;
        }
        let again = self.requeued.remove(&job.id).then_some(job.id);
        if let Some((_, old)) = self.in_flight.insert(renderer, (worker, job)) {
            self.problems.push(format!(
                "worker {worker} asked for a job while holding job {}",
                old.id
            ));
            self.queue.push_front(old);
        }
        (Assignment::Work(sent), again)
    }

    /// Whether main should cancel `job` now: true once, and only for a job in flight.
    pub fn cancel_once(&mut self, job: u64) -> bool {
        let held = self.in_flight.values().any(|(_, j)| j.id == job);
        held && self.cancelled.insert(job)
    }

    /// `job-done` from renderer `renderer`. The report is read where it lies, in main's copy
    /// of the message: `&ArchivedJobReport`, its integers `u64_le` / `u32_le` (`to_native()`),
    /// its enum matched on `ArchivedOutcome`'s variants. Accepted (`Ok`, how the job ended) if
    /// the job is that renderer's and its sum is right; `Err(why)` if not.
    pub fn complete(
        &mut self,
        renderer: u32,
        report: &ArchivedJobReport,
    ) -> Result<Outcome, String> {
        let (id, worker) = (report.id.to_native(), report.worker.to_native());
        let job = match self.in_flight.get(&renderer) {
            Some((w, job)) if *w == worker && job.id == id => job.clone(),
            _ => return self.reject(format!("job {id} is not assigned to worker {worker}")),
        };
        let (outcome, right) = match &report.outcome {
            ArchivedOutcome::Finished { sum } => {
                let Some(count) = job.count else {
                    return self.reject(format!("job {id} is open-ended: it cannot finish"));
                };
                let outcome = Outcome::Finished {
                    sum: sum.to_native(),
                };
                (outcome, contract::collatz_sum(job.first, count))
            }
            ArchivedOutcome::Cancelled { done, sum } => {
                if !self.cancelled.contains(&id) {
                    return self.reject(format!("job {id} was not cancelled"));
                }
                let done = done.to_native();
                let outcome = Outcome::Cancelled {
                    done,
                    sum: sum.to_native(),
                };
                (outcome, contract::collatz_sum(job.first, done))
            }
        };
        let (Outcome::Finished { sum } | Outcome::Cancelled { sum, .. }) = outcome;
        if sum != right {
            return self.reject(format!(
                "job {id}: worker {worker} answered {sum}, the answer is {right}"
            ));
        }
        self.in_flight.remove(&renderer);
        if let Some((first, _)) = self.ended.insert(id, (worker, outcome)) {
            self.problems
                .push(format!("job {id} ended twice (first by worker {first})"));
        }
        Ok(outcome)
    }

    /// A report refused: a problem of the run, and the worker is told why.
    fn reject(&mut self, why: String) -> Result<Outcome, String> {
        self.problems.push(why.clone());
        Err(why)
    }

    /// Renderer `renderer` is gone: its job, if it held one, goes back to the front of the
    /// queue. Returns that job's id.
    pub fn gone(&mut self, renderer: u32) -> Option<u64> {
        let (_, job) = self.in_flight.remove(&renderer)?;
        let id = job.id;
        self.requeued.insert(id);
        self.queue.push_front(job);
        Some(id)
    }

    /// How each job ended.
    pub fn ended(&self) -> &BTreeMap<u64, (u32, Outcome)> {
        &self.ended
    }
}
