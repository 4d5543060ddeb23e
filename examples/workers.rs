//! A pool of worker processes: main hands out jobs, three workers pull them, one is made to
//! crash halfway through a job and is replaced, and every job still completes exactly once.
//!
//! ```sh
//! cargo run --release --example workers
//! ```
//!
//! One binary plays both parts. Started plainly it is main; main starts copies of itself with
//! `--worker <n>` ([`std::env::current_exe`]), and [`Main::spawn_renderer`] hands each one its
//! shared-memory segment. The `contract` module holds what both sides agree on:
//!
//! | channel | direction | how | carries |
//! | --- | --- | --- | --- |
//! | `ready` | worker → main | `send`, once its listeners are set | nothing |
//! | `config` | main → worker | `WebContents::send`, in answer to `ready` | `Config` |
//! | `next-job` | worker → main | `invoke` | `WorkRequest` → `Assignment` |
//! | `progress` | worker → main | `send`, after each chunk | `Progress` |
//! | `job-done` | worker → main | `invoke` | `JobResult` → null |
//! | `shutdown` | main → worker | `WebContents::send`, at the end | nothing |
//!
//! The crash: the first time job `POISON_JOB` is handed out it is marked `poison`, and the
//! worker that gets it calls [`std::process::abort`] halfway through. Main's
//! `render-process-gone` hook puts the job that worker held back at the front of the queue,
//! and the main loop spawns a replacement. Main checks every result against its own answer,
//! prints a summary and exits 0 only if all jobs completed exactly once with the right sums.
//!
//! Every wait has a timeout, so a broken run fails instead of hanging, and dropping [`Main`]
//! kills any worker still running.

use electrode::serde::{from_value, to_value};
use electrode::{GoneDetails, GoneReason, IpcRenderer, Main, RemoteError, Value, WebContents};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::error::Error;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What main and the workers agree on: channel names and message types. In a real program
/// this is a module (or a crate) that both sides import.
mod contract {
    use electrode::serde::{to_value, SerdeError};
    use electrode::{ArgsView, Value};
    use serde::{Deserialize, Serialize};

    /// worker → main, `send`, no arguments: the worker's listeners are registered. A message
    /// that reaches a renderer before it listens on its channel is dropped (as in Electron),
    /// so main waits for this before sending [`CONFIG`].
    pub const READY: &str = "ready";
    /// main → worker, `send`: a [`Config`], once, in answer to [`READY`].
    pub const CONFIG: &str = "config";
    /// worker → main, `invoke`: a [`WorkRequest`], answered with an [`Assignment`].
    pub const NEXT_JOB: &str = "next-job";
    /// worker → main, `send`: a [`Progress`] after each chunk of a job.
    pub const PROGRESS: &str = "progress";
    /// worker → main, `invoke`: a [`JobResult`], answered with null once main has it.
    pub const JOB_DONE: &str = "job-done";
    /// main → worker, `send`, no arguments: finish and exit.
    pub const SHUTDOWN: &str = "shutdown";

    /// How a worker works, decided by main.
    #[derive(Serialize, Deserialize, Debug, Clone, Copy)]
    pub struct Config {
        /// Numbers done between two progress reports.
        pub chunk: usize,
        /// How long to wait before asking again when main has no job.
        pub idle_wait_ms: u64,
    }

    /// A worker asking for work.
    #[derive(Serialize, Deserialize, Debug)]
    pub struct WorkRequest {
        /// The asking worker's number.
        pub worker: u32,
    }

    /// One unit of work: the total of [`collatz_steps`] over `input`.
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub struct Job {
        /// The job's id, unique in the run.
        pub id: u64,
        /// The numbers to work on.
        pub input: Vec<u64>,
        /// Fault injection: abort halfway through instead of finishing.
        pub poison: bool,
    }

    /// Main's answer to [`NEXT_JOB`].
    #[derive(Serialize, Deserialize, Debug)]
    pub enum Assignment {
        /// Do this job.
        Work(Job),
        /// Nothing queued right now: ask again later (or get [`SHUTDOWN`]).
        Idle,
    }

    /// How far a worker is into a job.
    #[derive(Serialize, Deserialize, Debug)]
    pub struct Progress {
        /// The reporting worker's number.
        pub worker: u32,
        /// The job's id.
        pub job: u64,
        /// Numbers done so far.
        pub done: usize,
        /// Numbers in the job.
        pub total: usize,
    }

    /// A finished job.
    #[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
    pub struct JobResult {
        /// The job's id.
        pub id: u64,
        /// The total of [`collatz_steps`] over its input.
        pub sum: u64,
        /// The number of the worker that did it.
        pub worker: u32,
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

    /// `message` as an argument list of one argument.
    pub fn args<T: Serialize>(message: &T) -> Result<[Value; 1], SerdeError> {
        Ok([to_value(message)?])
    }

    /// The one argument of `args` as a `T` (the other half of [`args`]).
    pub fn read<'a, T: Deserialize<'a>>(args: &ArgsView<'a>) -> Result<T, SerdeError> {
        let (message,) = args.deserialize()?;
        Ok(message)
    }
}

use contract::{Assignment, Config, Job, JobResult, Progress, WorkRequest};

/// Workers started at the beginning.
const WORKERS: u32 = 3;
/// Jobs in the run.
const JOBS: u64 = 24;
/// Numbers per job.
const JOB_LEN: usize = 20_000;
/// The job whose first hand-out crashes its worker.
const POISON_JOB: u64 = 5;
/// Crashes main tolerates (each one respawned) before giving up.
const MAX_RESPAWNS: usize = 3;
/// The whole run, from the first spawn to the last job done.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// Workers exiting after `shutdown`; a worker waiting for its `config`.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// One `invoke` from a worker.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Main's or a worker's failure.
type Failure = Box<dyn Error>;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let run = match (args.next().as_deref(), args.next()) {
        (None, _) => run_main(),
        (Some("--worker"), Some(n)) => match n.parse() {
            Ok(n) => worker::run(n),
            Err(_) => Err(format!("bad worker number {n:?}").into()),
        },
        _ => Err("usage: workers [--worker <n>]".into()),
    };
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("workers: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Lock `m`, even if a thread panicked while holding it (the state stays consistent: every
/// change is a single step).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The job queue and what main knows of each job, shared by the handlers (on Electrode's
/// dispatcher thread) and the gone hooks.
struct Pool {
    /// Jobs not handed out (or handed out to a worker that died).
    queue: VecDeque<Job>,
    /// Job id → the right sum, computed by main.
    expected: HashMap<u64, u64>,
    /// Renderer id → (worker number, the job it holds), without the poison mark.
    in_flight: HashMap<u32, (u32, Job)>,
    /// Job id → its accepted result.
    results: BTreeMap<u64, JobResult>,
    /// Whether the poison job went out.
    poison_sent: bool,
    /// Anything that means the run is wrong.
    problems: Vec<String>,
}

impl Pool {
    fn new(jobs: u64) -> Pool {
        let queue: VecDeque<Job> = (0..jobs)
            .map(|id| Job {
                id,
                input: (0..JOB_LEN as u64)
                    .map(|i| 1 + (id * 7919 + i * i) % 1_000_003)
                    .collect(),
                poison: false,
            })
            .collect();
        let expected = queue
            .iter()
            .map(|j| {
                (
                    j.id,
                    j.input.iter().map(|&n| contract::collatz_steps(n)).sum(),
                )
            })
            .collect();
        Pool {
            queue,
            expected,
            in_flight: HashMap::new(),
            results: BTreeMap::new(),
            poison_sent: false,
            problems: Vec::new(),
        }
    }

    /// `next-job` from renderer `renderer`, worker `worker`.
    fn assign(&mut self, renderer: u32, worker: u32) -> Assignment {
        let Some(job) = self.queue.pop_front() else {
            return Assignment::Idle;
        };
        let mut sent = job.clone();
        if job.id == POISON_JOB && !self.poison_sent {
            self.poison_sent = true;
            sent.poison = true;
        }
        if let Some((_, old)) = self.in_flight.insert(renderer, (worker, job)) {
            self.problems.push(format!(
                "worker {worker} asked for a job while holding job {}",
                old.id
            ));
            self.queue.push_front(old);
        }
        Assignment::Work(sent)
    }

    /// `job-done` from renderer `renderer`: accepted if it is the job that renderer holds.
    fn complete(&mut self, renderer: u32, result: JobResult) -> Result<(), RemoteError> {
        let held = self.in_flight.get(&renderer).map(|(w, job)| (*w, job.id));
        if held != Some((result.worker, result.id)) {
            let why = format!(
                "job {} is not assigned to worker {}",
                result.id, result.worker
            );
            self.problems.push(why.clone());
            return Err(RemoteError::named("NotAssigned", why));
        }
        self.in_flight.remove(&renderer);
        let right = self.expected[&result.id];
        if result.sum != right {
            self.problems.push(format!(
                "job {}: worker {} answered {}, the answer is {right}",
                result.id, result.worker, result.sum
            ));
        }
        if let Some(first) = self.results.insert(result.id, result) {
            self.problems.push(format!(
                "job {} completed twice (first by worker {})",
                first.id, first.worker
            ));
        }
        Ok(())
    }

    /// Renderer `renderer` is gone: its job, if it held one, goes back to the front of the
    /// queue. Returns that job's id.
    fn gone(&mut self, renderer: u32) -> Option<u64> {
        let (_, job) = self.in_flight.remove(&renderer)?;
        let id = job.id;
        self.queue.push_front(job);
        Some(id)
    }
}

/// What the handlers and hooks tell the main loop.
enum Note {
    /// Renderer `renderer` is listening: send it its config.
    Ready { renderer: u32 },
    /// A worker reported progress.
    Progress,
    /// A job was accepted.
    Done { worker: u32 },
    /// A worker's process is gone; `requeued` is the job it held.
    Gone {
        worker: u32,
        details: GoneDetails,
        requeued: Option<u64>,
    },
}

/// How every worker works.
const CONFIG: Config = Config {
    chunk: 2_000,
    idle_wait_ms: 20,
};

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
    // Runs once, on Electrode's side, when the process ends (at once if it already has).
    wc.on_render_process_gone(move |details| {
        let requeued = lock(&pool).gone(renderer);
        let _ = notes.send(Note::Gone {
            worker,
            details: *details,
            requeued,
        });
    });
    Ok(wc)
}

/// Main: register the handlers, run the pool, check the results.
fn run_main() -> Result<(), Failure> {
    let exe = std::env::current_exe()?;
    let main = Main::new()?;
    let pool = Arc::new(Mutex::new(Pool::new(JOBS)));
    let (notes, inbox) = mpsc::channel::<Note>();

    let p = pool.clone();
    main.ipc().handle(contract::NEXT_JOB, move |event, args| {
        let request: WorkRequest = contract::read(args)?;
        let assignment = lock(&p).assign(event.sender().id(), request.worker);
        Ok(to_value(&assignment)?)
    })?;
    let (p, n) = (pool.clone(), notes.clone());
    main.ipc().handle(contract::JOB_DONE, move |event, args| {
        let result: JobResult = contract::read(args)?;
        lock(&p).complete(event.sender().id(), result)?;
        let _ = n.send(Note::Done {
            worker: result.worker,
        });
        Ok(Value::Null)
    })?;
    let n = notes.clone();
    main.ipc().on(contract::READY, move |event, _args| {
        let _ = n.send(Note::Ready {
            renderer: event.sender().id(),
        });
    });
    let n = notes.clone();
    main.ipc().on(
        contract::PROGRESS,
        move |_event, args| match contract::read::<Progress>(args) {
            Ok(_) => {
                let _ = n.send(Note::Progress);
            }
            Err(e) => eprintln!("bad progress message: {e}"),
        },
    );

    let mut live: BTreeMap<u32, WebContents> = BTreeMap::new();
    for worker in 1..=WORKERS {
        let wc = spawn_worker(&main, &exe, worker, &pool, &notes)?;
        println!("started worker {worker} (pid {})", wc.pid());
        live.insert(worker, wc);
    }
    let mut next_worker = WORKERS + 1;
    let mut done_by: BTreeMap<u32, usize> = live.keys().map(|&w| (w, 0)).collect();
    let mut crashed: Vec<u32> = Vec::new();
    let mut progress = 0usize;
    let mut done = 0u64;

    let deadline = Instant::now() + RUN_TIMEOUT;
    while done < JOBS {
        let note = inbox
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .map_err(|_| format!("timed out after {RUN_TIMEOUT:?} with {done}/{JOBS} jobs done"))?;
        match note {
            Note::Ready { renderer } => {
                if let Some(wc) = live.values().find(|wc| wc.id() == renderer) {
                    // Fails only if the worker is already gone; its hook reports that.
                    let _ = wc.send(contract::CONFIG, &contract::args(&CONFIG)?);
                }
            }
            Note::Progress => progress += 1,
            Note::Done { worker } => {
                done += 1;
                *done_by.entry(worker).or_default() += 1;
                if done.is_multiple_of(8) {
                    println!("{done}/{JOBS} jobs done");
                }
            }
            Note::Gone {
                worker,
                details,
                requeued,
            } => {
                live.remove(&worker);
                crashed.push(worker);
                let held = match requeued {
                    Some(id) => format!(" holding job {id}; job {id} re-queued"),
                    None => String::new(),
                };
                println!(
                    "worker {worker} gone: {} (code {}){held}",
                    details.reason, details.exit_code
                );
                if crashed.len() > MAX_RESPAWNS {
                    return Err(format!("{} workers crashed, giving up", crashed.len()).into());
                }
                let replacement = next_worker;
                next_worker += 1;
                let wc = spawn_worker(&main, &exe, replacement, &pool, &notes)?;
                println!(
                    "respawned worker {worker} as worker {replacement} (pid {})",
                    wc.pid()
                );
                done_by.insert(replacement, 0);
                live.insert(replacement, wc);
            }
        }
    }

    // Every job is in: tell the workers, and wait for each to exit cleanly.
    for wc in live.values() {
        // A worker that is already gone reports through its hook below.
        let _ = wc.send(contract::SHUTDOWN, &[]);
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
            Ok(Note::Ready { .. } | Note::Progress | Note::Done { .. }) => {}
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                let left: Vec<_> = live.keys().collect();
                return Err(format!("workers {left:?} did not exit after shutdown").into());
            }
        }
    }

    println!("jobs done per worker:");
    for (worker, jobs) in &done_by {
        let end = if crashed.contains(worker) {
            " (crashed)"
        } else {
            ""
        };
        println!("  worker {worker}: {jobs}{end}");
    }
    let pool = lock(&pool);
    let completed = pool.results.len();
    if completed as u64 != JOBS || !pool.problems.is_empty() {
        for problem in &pool.problems {
            println!("problem: {problem}");
        }
        println!("summary: FAILED, {completed}/{JOBS} jobs completed");
        return Err("the run is wrong".into());
    }
    println!(
        "summary: {completed}/{JOBS} jobs completed exactly once, all sums right; \
         {} worker crashed, {} respawned; {progress} progress events",
        crashed.len(),
        crashed.len(),
    );
    Ok(())
    // `main` drops here: the dispatcher stops and any worker still running is killed.
}

/// The worker's side: `--worker <n>`.
mod worker {
    use super::*;

    /// What main tells a worker, passed from the receive thread to the work loop.
    enum Control {
        Config(Config),
        BadConfig(String),
        Shutdown,
    }

    /// Connect, take the config, pull and do jobs until `shutdown`.
    pub fn run(worker: u32) -> Result<(), Failure> {
        let ipc = IpcRenderer::connect()?;
        let (control, inbox) = mpsc::channel();
        let tx = control.clone();
        ipc.on(contract::CONFIG, move |_event, args| {
            let _ = tx.send(match contract::read::<Config>(args) {
                Ok(config) => Control::Config(config),
                Err(e) => Control::BadConfig(e.to_string()),
            });
        });
        ipc.on(contract::SHUTDOWN, move |_event, _args| {
            let _ = control.send(Control::Shutdown);
        });
        ipc.send(contract::READY, &[])?;

        let config = match inbox.recv_timeout(EXIT_TIMEOUT) {
            Ok(Control::Config(config)) => config,
            Ok(Control::BadConfig(e)) => return Err(format!("bad config: {e}").into()),
            Ok(Control::Shutdown) => return Ok(()),
            Err(_) => return Err("no config from main".into()),
        };
        let idle_wait = Duration::from_millis(config.idle_wait_ms);
        loop {
            let request = contract::args(&WorkRequest { worker })?;
            let reply = ipc.invoke_timeout(contract::NEXT_JOB, &request, CALL_TIMEOUT)?;
            let wait = match from_value::<Assignment>(reply)? {
                Assignment::Work(job) => {
                    let sum = work(&ipc, worker, &config, &job)?;
                    let result = JobResult {
                        id: job.id,
                        sum,
                        worker,
                    };
                    ipc.invoke_timeout(
                        contract::JOB_DONE,
                        &contract::args(&result)?,
                        CALL_TIMEOUT,
                    )?;
                    Duration::ZERO
                }
                Assignment::Idle => idle_wait,
            };
            match inbox.recv_timeout(wait) {
                Ok(Control::Shutdown) => return Ok(()),
                Ok(Control::Config(_) | Control::BadConfig(_)) => {
                    return Err("config sent twice".into())
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err("listeners gone".into()),
            }
        }
    }

    /// Work through the job's input a chunk at a time, reporting progress after each chunk. A poison
    /// job aborts the process halfway.
    fn work(ipc: &IpcRenderer, worker: u32, config: &Config, job: &Job) -> Result<u64, Failure> {
        let total = job.input.len();
        let (mut sum, mut done) = (0u64, 0usize);
        for chunk in job.input.chunks(config.chunk.max(1)) {
            sum += chunk
                .iter()
                .map(|&n| contract::collatz_steps(n))
                .sum::<u64>();
            done += chunk.len();
            let progress = Progress {
                worker,
                job: job.id,
                done,
                total,
            };
            ipc.send(contract::PROGRESS, &contract::args(&progress)?)?;
            if job.poison && done * 2 >= total {
                // The crash under test: main sees `render-process-gone` (crashed, SIGABRT).
                std::process::abort();
            }
        }
        Ok(sum)
    }
}
