//! Where [`IpcMain::handle_blocking`](crate::IpcMain::handle_blocking) handlers run: a small
//! pool of worker threads (`electrode-blocking-N`, [`MainBuilder::blocking_threads`], default
//! 2), started on first use, fed by a bounded queue ([`MainBuilder::blocking_queue`], default
//! 1024).
//!
//! The dispatcher only hands the job over (`try_send`, never waiting): a slow handler then
//! holds only its own caller, and the dispatcher goes on serving every other renderer. When
//! the queue is full the invoke is rejected at once with [`QUEUE_FULL`]; the dispatcher never
//! blocks on the pool. Each job answers through a [`DeferredReply`], so its invoke is answered
//! whatever happens: a job that panics rejects it with `the handler panicked`, and one that
//! never runs (main stopped first) with `reply was never sent`.
//!
//! [`MainBuilder::blocking_threads`]: crate::MainBuilder::blocking_threads
//! [`MainBuilder::blocking_queue`]: crate::MainBuilder::blocking_queue

use super::events::DeferredReply;
use crate::error::RemoteError;
use crate::guard::guard;
use crate::message::reply::Answer;
use parking_lot::Mutex;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

/// The error a full queue answers with.
pub(crate) const QUEUE_FULL: &str = "the blocking handlers' queue is full";

/// A blocking handler's work for one invoke, its arguments already owned.
pub(crate) type BlockingJob = Box<dyn FnOnce() -> Answer + Send>;

struct Job {
    channel: Arc<str>,
    run: BlockingJob,
    reply: DeferredReply,
}

/// Runs main's blocking handlers (see the module docs).
pub(crate) struct BlockingPool {
    threads: usize,
    queue: usize,
    /// The queue's sending end, made with the threads by the first job.
    tx: Mutex<Option<SyncSender<Job>>>,
}

impl BlockingPool {
    pub(crate) fn new(threads: usize, queue: usize) -> Self {
        BlockingPool {
            threads: threads.max(1),
            queue: queue.max(1),
            tx: Mutex::new(None),
        }
    }

    /// Queue `run` for a worker; its answer (or its panic) answers `reply`. A full queue
    /// rejects the invoke at once.
    pub(crate) fn run(&self, channel: Arc<str>, run: BlockingJob, reply: DeferredReply) {
        let job = Job {
            channel,
            run,
            reply,
        };
        let mut tx = self.tx.lock();
        if tx.is_none() {
            match self.start() {
                Ok(t) => *tx = Some(t),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the blocking handlers' threads");
                    job.reply.reject(RemoteError::new(format!(
                        "cannot start the blocking handlers' threads: {e}"
                    )));
                    return;
                }
            }
        }
        let Some(sender) = tx.as_ref() else { return };
        match sender.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) | Err(TrySendError::Disconnected(job)) => {
                drop(tx);
                tracing::warn!(
                    channel = &*job.channel,
                    "blocking handler refused: queue full"
                );
                job.reply.reject(RemoteError::new(QUEUE_FULL));
            }
        }
    }

    /// Start the threads; they stop when the pool (the sending end) is dropped.
    fn start(&self) -> std::io::Result<SyncSender<Job>> {
        let (tx, rx) = mpsc::sync_channel::<Job>(self.queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..self.threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("electrode-blocking-{i}"))
                .spawn(move || work(&rx))?;
        }
        Ok(tx)
    }
}

/// One worker: takes jobs until the queue's sending end is gone.
fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, never while one runs.
        let next = rx.lock().recv();
        let Ok(job) = next else { return };
        let Job {
            channel,
            run,
            reply,
        } = job;
        match guard("blocking handler", &channel, run) {
            Some(answer) => reply.send(answer),
            None => reply.reject(RemoteError::new("the handler panicked")),
        }
    }
}
