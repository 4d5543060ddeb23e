//! Main's side: register the typed handlers and listeners, start the workers, then watch them
//! (status polls, kills, respawns) until every job has ended, and check the results.
//!
//! Handlers and listeners run on Electrode's dispatcher thread and gone hooks on its watcher
//! thread; they update the [`Pool`] and tell this thread what happened through a channel of
//! [`Note`]s. This thread is the only one that blocks on a worker (the `STATUS` calls): a
//! handler must not, its answer would come through the very thread it blocks.

use crate::contract::{self, Config, Control, Outcome, Status, Verdict};
use crate::pool::{Pool, HANG_JOB, JOBS, JOB_LEN, OPEN_JOB};
use crate::Failure;
use electrode::{GoneDetails, GoneReason, Main, WebContents};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Workers started at the beginning.
const WORKERS: u32 = 3;
/// Main cancels an open-ended job once a worker reports this many numbers of it done.
const OPEN_BUDGET: u64 = 10_000;
/// Workers main replaces (killed or crashed) before giving up.
const MAX_RESPAWNS: usize = 3;
/// How often main asks every worker its status.
const POLL_EVERY: Duration = Duration::from_millis(100);
/// One `STATUS` call.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole run, from the first spawn to the last job's end.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// Workers exiting after `Shutdown`.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How every worker works.
const CONFIG: Config = Config {
    chunk: 2_000,
    idle_wait_ms: 20,
};

/// What the handlers and hooks tell the main loop.
enum Note {
    /// A worker reported progress.
    Progress,
    /// Main cancelled an open-ended job after `done` numbers.
    CancelSent { job: u64, worker: u32, done: u64 },
    /// A job that had gone back to the queue was handed out again.
    Redispatched { job: u64, worker: u32 },
    /// A job's report was accepted.
    Ended {
        job: u64,
        worker: u32,
        outcome: Outcome,
    },
    /// A worker's process is gone; `requeued` is the job it held.
    Gone {
        worker: u32,
        details: GoneDetails,
        requeued: Option<u64>,
    },
}

/// Lock `m`, even if a thread panicked while holding it (every change is a single step).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Main: set up, run the pool, shut down, check.
pub fn run() -> Result<(), Failure> {
    let main = Main::new()?;
    let pool = Arc::new(Mutex::new(Pool::new()));
    let (notes, inbox) = mpsc::channel::<Note>();
    register(&main, &pool, &notes)?;

    let exe = std::env::current_exe()?;
    let mut live: BTreeMap<u32, WebContents> = BTreeMap::new();
    for worker in 1..=WORKERS {
        let wc = spawn_worker(&main, &exe, worker, &pool, &notes)?;
        println!("started worker {worker} (pid {})", wc.pid());
        live.insert(worker, wc);
    }
    let mut next_worker = WORKERS + 1;
    let mut by_worker: BTreeMap<u32, usize> = live.keys().map(|&w| (w, 0)).collect();
    let mut killed: BTreeSet<u32> = BTreeSet::new();
    let mut replaced = 0usize;
    let mut progress = 0usize;
    let mut ended = 0u64;

    let deadline = Instant::now() + RUN_TIMEOUT;
    let mut next_poll = Instant::now() + POLL_EVERY;
    while ended < JOBS {
        let now = Instant::now();
        if now >= deadline {
            return Err(
                format!("timed out after {RUN_TIMEOUT:?}: {ended}/{JOBS} jobs ended").into(),
            );
        }
        if now >= next_poll {
            kill_blocked(&live, &mut killed)?;
            next_poll = Instant::now() + POLL_EVERY;
            continue;
        }
        let note = match inbox.recv_timeout(next_poll.min(deadline) - now) {
            Ok(note) => note,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Err("notes channel closed".into()),
        };
        match note {
            Note::Progress => progress += 1,
            Note::CancelSent { job, worker, done } => println!(
                "job {job} is open-ended: main cancels it at {done} numbers (worker {worker})"
            ),
            Note::Redispatched { job, worker } => {
                println!("job {job} re-dispatched to worker {worker}")
            }
            Note::Ended {
                job,
                worker,
                outcome,
            } => {
                ended += 1;
                *by_worker.entry(worker).or_default() += 1;
                if let Outcome::Cancelled { done, .. } = outcome {
                    println!("job {job} cancelled after {done} numbers (worker {worker})");
                }
                if ended.is_multiple_of(8) {
                    println!("{ended}/{JOBS} jobs ended");
                }
            }
            Note::Gone {
                worker,
                details,
                requeued,
            } => {
                live.remove(&worker);
                let held = match requeued {
                    Some(job) => format!(" holding job {job}; job {job} back in the queue"),
                    None => String::new(),
                };
                println!(
                    "worker {worker} gone: {} (code {}){held}",
                    details.reason, details.exit_code
                );
                if !killed.contains(&worker) {
                    let why = format!("worker {worker} died unexpectedly: {}", details.reason);
                    lock(&pool).problems.push(why);
                }
                replaced += 1;
                if replaced > MAX_RESPAWNS {
                    return Err(format!("{replaced} workers lost, giving up").into());
                }
                let replacement = next_worker;
                next_worker += 1;
                let wc = spawn_worker(&main, &exe, replacement, &pool, &notes)?;
                println!(
                    "started worker {replacement} (pid {}) in place of worker {worker}",
                    wc.pid()
                );
                by_worker.insert(replacement, 0);
                live.insert(replacement, wc);
            }
        }
    }

    // Every job has ended: a last look at the workers, then tell them to go.
    let statuses = poll_status(&live);
    println!("status: {}", describe(&statuses));
    for wc in live.values() {
        // A worker that is already gone reports through its hook below.
        let _ = contract::CONTROL.send(wc, &Control::Shutdown);
    }
    let deadline = Instant::now() + EXIT_TIMEOUT;
    while !live.is_empty() {
        match inbox.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Note::Gone {
                worker, details, ..
            }) => {
                live.remove(&worker);
                if details.reason != GoneReason::CleanExit {
                    let why = format!("worker {worker} ended with {}", details.reason);
                    lock(&pool).problems.push(why);
                }
            }
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                let left: Vec<_> = live.keys().collect();
                return Err(format!("workers {left:?} did not exit after shutdown").into());
            }
        }
    }

    println!("jobs per worker:");
    for (worker, jobs) in &by_worker {
        let end = if killed.contains(worker) {
            " (killed)"
        } else {
            ""
        };
        println!("  worker {worker}: {jobs}{end}");
    }
    let pool = lock(&pool);
    verdict(&pool, killed.len(), replaced, progress)
    // `main` drops here: the dispatcher stops and any worker still running is killed.
}

/// The handlers and listeners, typed by the contract: each gets its message in place, as
/// `&Archived<T>` (validated first; a message of another type never reaches it).
fn register(main: &Main, pool: &Arc<Mutex<Pool>>, notes: &Sender<Note>) -> Result<(), Failure> {
    // READY → answer with the config, to the frame the hello came from.
    contract::READY.on(main.ipc(), move |event, hello| {
        if let Err(e) = contract::CONTROL.reply(event, &Control::Configure(CONFIG)) {
            eprintln!("cannot configure worker {}: {e}", hello.worker.to_native());
        }
    });

    // NEXT_JOB: a struct in, an enum out. `request` is an `&ArchivedWorkRequest`.
    let (p, n) = (pool.clone(), notes.clone());
    contract::NEXT_JOB.handle(main.ipc(), move |event, request| {
        let worker = request.worker.to_native();
        let (assignment, again) = lock(&p).assign(event.sender().id(), worker);
        if let Some(job) = again {
            let _ = n.send(Note::Redispatched { job, worker });
        }
        Ok(assignment)
    })?;

    // PROGRESS: one way, many. An open-ended job (`total` an archived `None`) is cancelled
    // once it has gone far enough: `CONTROL.reply` sends to the worker that reported.
    let (p, n) = (pool.clone(), notes.clone());
    contract::PROGRESS.on(main.ipc(), move |event, progress| {
        let (job, done) = (progress.job.to_native(), progress.done.to_native());
        if progress.total.is_none() && done >= OPEN_BUDGET && lock(&p).cancel_once(job) {
            let worker = progress.worker.to_native();
            match contract::CONTROL.reply(event, &Control::Cancel { job }) {
                Ok(()) => {
                    let _ = n.send(Note::CancelSent { job, worker, done });
                }
                Err(e) => eprintln!("cannot cancel job {job}: {e}"),
            }
        }
        let _ = n.send(Note::Progress);
    });

    // JOB_DONE: the pool reads the archived report (an enum inside); the reply is an enum too.
    let (p, n) = (pool.clone(), notes.clone());
    contract::JOB_DONE.handle(main.ipc(), move |event, report| {
        let verdict = match lock(&p).complete(event.sender().id(), report) {
            Ok(outcome) => {
                let _ = n.send(Note::Ended {
                    job: report.id.to_native(),
                    worker: report.worker.to_native(),
                    outcome,
                });
                Verdict::Accepted
            }
            Err(reason) => Verdict::Rejected { reason },
        };
        Ok(verdict)
    })?;
    Ok(())
}

/// Spawn worker `worker` (this binary with `--worker <n>`) and watch for its end.
fn spawn_worker(
    main: &Main,
    exe: &Path,
    worker: u32,
    pool: &Arc<Mutex<Pool>>,
    notes: &Sender<Note>,
) -> Result<WebContents, Failure> {
    let mut cmd = Command::new(exe);
    cmd.arg("--worker").arg(worker.to_string());
    let wc = main.spawn_renderer(cmd)?;
    let (pool, notes, renderer) = (pool.clone(), notes.clone(), wc.id());
    // Runs once, on Electrode's side, when the process ends (at once if it already has):
    // the job it held goes back to the front of the queue for the next worker that asks.
    wc.on_render_process_gone(move |details| {
        let mut pool = lock(&pool);
        let requeued = pool.gone(renderer);
        // Still under the lock, so this note comes before that of the job's next hand-out.
        let _ = notes.send(Note::Gone {
            worker,
            details: *details,
            requeued,
        });
    });
    Ok(wc)
}

/// Ask every live worker its status, all at once: start every call, then wait for each.
/// `None` for a worker that did not answer: gone (its gone hook reports that) or not yet
/// listening (a replacement still starting).
fn poll_status(live: &BTreeMap<u32, WebContents>) -> Vec<(u32, Option<Status>)> {
    // `invoke` returns a future (any executor can poll it); `wait` blocks on it instead.
    let calls: Vec<_> = live
        .iter()
        .map(|(&worker, wc)| (worker, contract::STATUS.invoke(wc, &())))
        .collect();
    calls
        .into_iter()
        .map(|(worker, call)| (worker, call.wait(Some(STATUS_TIMEOUT)).ok()))
        .collect()
}

/// Poll the workers; kill (SIGKILL) each that says it is blocked. Its gone hook does the rest.
fn kill_blocked(
    live: &BTreeMap<u32, WebContents>,
    killed: &mut BTreeSet<u32>,
) -> Result<(), Failure> {
    let statuses = poll_status(live);
    for &(worker, status) in &statuses {
        let Some(Status::Blocked { job, done }) = status else {
            continue;
        };
        let wc = &live[&worker];
        // Not twice, and never a pid whose process has already been reaped.
        if wc.is_destroyed() || !killed.insert(worker) {
            continue;
        }
        println!("status: {}", describe(&statuses));
        println!(
            "worker {worker} is blocked in job {job} at {done}/{JOB_LEN}: killing it (SIGKILL, pid {})",
            wc.pid()
        );
        // SIGKILL cannot be caught or ignored: the process ends wherever it is stuck.
        match kill(Pid::from_raw(i32::try_from(wc.pid())?), Signal::SIGKILL) {
            // ESRCH: it ended on its own meanwhile; its gone hook reports that too.
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => return Err(format!("cannot kill worker {worker}: {e}").into()),
        }
    }
    Ok(())
}

/// A status poll as one line.
fn describe(statuses: &[(u32, Option<Status>)]) -> String {
    let each: Vec<String> = statuses
        .iter()
        .map(|&(worker, status)| match status {
            None => format!("worker {worker} did not answer"),
            Some(Status::Starting) => format!("worker {worker} starting"),
            Some(Status::Idle) => format!("worker {worker} idle"),
            Some(Status::Working { job, done }) => {
                format!("worker {worker} on job {job} ({done} done)")
            }
            Some(Status::Blocked { job, done }) => {
                format!("worker {worker} BLOCKED in job {job} ({done} done)")
            }
        })
        .collect();
    each.join("; ")
}

/// Check the run and print the summary.
fn verdict(pool: &Pool, killed: usize, replaced: usize, progress: usize) -> Result<(), Failure> {
    let ended = pool.ended();
    let finished = ended
        .values()
        .filter(|(_, o)| matches!(o, Outcome::Finished { .. }))
        .count();
    let cancelled: Vec<u64> = ended
        .iter()
        .filter(|(_, (_, o))| matches!(o, Outcome::Cancelled { .. }))
        .map(|(&id, _)| id)
        .collect();
    let mut problems = pool.problems.clone();
    if cancelled != [OPEN_JOB] {
        problems.push(format!("cancelled {cancelled:?}, expected [{OPEN_JOB}]"));
    }
    if !ended.contains_key(&HANG_JOB) {
        problems.push(format!("job {HANG_JOB} (the hanging one) never ended"));
    }
    if ended.len() as u64 != JOBS || !problems.is_empty() {
        for problem in &problems {
            println!("problem: {problem}");
        }
        println!("summary: FAILED, {}/{JOBS} jobs ended", ended.len());
        return Err("the run is wrong".into());
    }
    println!(
        "summary: {}/{JOBS} jobs ended exactly once, all sums right: {finished} finished, \
         {} cancelled (job {OPEN_JOB}); {killed} worker killed (SIGKILL), {replaced} replaced; \
         {progress} progress reports",
        ended.len(),
        cancelled.len(),
    );
    Ok(())
}
