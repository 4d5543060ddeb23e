//! Waits on more futex words than one `futex_waitv(2)` takes ([`WAITV_MAX`], 128): main's
//! dispatcher with more than 127 renderers.
//!
//! The words are split into groups of [`GROUP`] (127). The waiting thread parks on the first
//! group plus the pool's `WOKE` word; each further group goes to a helper thread of a small
//! process-wide pool, which parks on its group plus the pool's `CANCEL` word. A helper whose
//! group is woken bumps and wakes `WOKE`, which wakes the waiting thread; once that thread is
//! awake for any reason it bumps and wakes `CANCEL`, then waits until every helper is out of
//! its `futex_waitv` before it returns (so the words it lent stay mapped for as long as a helper
//! names them). Helpers are parked in the kernel (a condition variable between waits, a
//! `futex_waitv` during one): they take no CPU while nothing happens.
//!
//! Threads: one helper per [`GROUP`] words past the first group, so with main's dispatcher
//! (one word of its own plus one per renderer, and one more per renderer whose outbox waits for
//! room) up to 127 idle renderers need none (128 words fit one call), 128-253 take one helper,
//! 254-380 two, and so on. They are started the
//! first time they are needed and then kept. Past [`MAX_HELPERS`] helpers, or while another
//! thread holds the pool, the words no helper takes are polled every millisecond instead (the
//! behaviour before this module).

use crate::sys::futex::{self, WaitvAddr, WAITV_MAX};
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Words per group: one `futex_waitv` less the pool's own word.
pub(crate) const GROUP: usize = WAITV_MAX - 1;

/// The most helper threads the pool starts.
pub(crate) const MAX_HELPERS: usize = 16;

/// Bumped (and woken) by a helper whose group was woken.
static WOKE: AtomicU32 = AtomicU32::new(0);
/// Bumped (and woken) by the waiting thread once it is awake: every helper returns.
static CANCEL: AtomicU32 = AtomicU32::new(0);
/// The helpers; held by the one thread whose wide wait is in progress.
static POOL: Mutex<Vec<Arc<Helper>>> = Mutex::new(Vec::new());

/// One helper's mailbox.
#[derive(Default)]
struct Helper {
    state: Mutex<Job>,
    changed: Condvar,
}

#[derive(Default)]
struct Job {
    /// The group to wait on (plus `CANCEL`, added by the helper).
    words: Vec<WaitvAddr>,
    /// The value of `CANCEL` this job waits on.
    cancel: u32,
    /// Set by the waiting thread when it hands over `words`, cleared by the helper once it is
    /// out of its wait.
    pending: bool,
}

/// Block until any of `entries` differs from its expected value or is woken, or `deadline`
/// passes. Spurious returns are allowed (the caller re-checks its condition).
pub(crate) fn wait(entries: &[WaitvAddr], deadline: Option<Instant>) -> io::Result<()> {
    if entries.len() <= WAITV_MAX {
        return futex::wait_many_addrs(entries, deadline);
    }
    let Ok(mut pool) = POOL.try_lock() else {
        return poll_rest(entries, deadline);
    };
    let rest = &entries[GROUP..];
    let groups = rest.len().div_ceil(GROUP).min(MAX_HELPERS);
    while pool.len() < groups {
        let helper = Arc::new(Helper::default());
        let h = helper.clone();
        let n = pool.len();
        match std::thread::Builder::new()
            .name(format!("electrode-wide-wait-{n}"))
            .spawn(move || run(&h))
        {
            Ok(_) => pool.push(helper),
            Err(_) => break,
        }
    }
    let groups = groups.min(pool.len());
    let cancel = CANCEL.load(Ordering::SeqCst);
    let woke = WOKE.load(Ordering::SeqCst);
    for (helper, group) in pool.iter().zip(rest.chunks(GROUP)).take(groups) {
        let mut job = helper.state.lock().unwrap_or_else(|p| p.into_inner());
        job.words.clear();
        job.words.extend_from_slice(group);
        job.cancel = cancel;
        job.pending = true;
        helper.changed.notify_all();
    }
    // Words beyond what the helpers took (more than MAX_HELPERS groups): polled.
    let deadline = if rest.len() > groups * GROUP {
        let soon = Instant::now() + Duration::from_millis(1);
        Some(deadline.map_or(soon, |d| d.min(soon)))
    } else {
        deadline
    };
    let mut own = [WaitvAddr {
        addr: 0,
        expected: 0,
    }; WAITV_MAX];
    own[..GROUP].copy_from_slice(&entries[..GROUP]);
    own[GROUP] = WaitvAddr::of(&WOKE, woke);
    let r = futex::wait_many_addrs(&own, deadline);
    // Awake: call every helper back and wait until none names our words any more.
    CANCEL.fetch_add(1, Ordering::SeqCst);
    futex::wake(&CANCEL, u32::MAX);
    for helper in pool.iter().take(groups) {
        let mut job = helper.state.lock().unwrap_or_else(|p| p.into_inner());
        while job.pending {
            job = helper.changed.wait(job).unwrap_or_else(|p| p.into_inner());
        }
    }
    r
}

/// The fallback: park on the first [`WAITV_MAX`] words for at most a millisecond.
fn poll_rest(entries: &[WaitvAddr], deadline: Option<Instant>) -> io::Result<()> {
    let soon = Instant::now() + Duration::from_millis(1);
    let deadline = Some(deadline.map_or(soon, |d| d.min(soon)));
    futex::wait_many_addrs(&entries[..WAITV_MAX], deadline)
}

/// A helper thread: wait for a job, park on its words and `CANCEL`, tell the waiting thread if
/// one of its words was woken, hand the job back.
fn run(helper: &Helper) {
    let mut words: Vec<WaitvAddr> = Vec::with_capacity(WAITV_MAX);
    loop {
        let cancel = {
            let mut job = helper.state.lock().unwrap_or_else(|p| p.into_inner());
            while !job.pending {
                job = helper.changed.wait(job).unwrap_or_else(|p| p.into_inner());
            }
            std::mem::swap(&mut words, &mut job.words);
            job.cancel
        };
        words.push(WaitvAddr::of(&CANCEL, cancel));
        let r = futex::wait_many_addrs(&words, None);
        words.pop();
        if r.is_err() {
            // No futex_waitv: do not spin; the waiting thread's own wait fails the same way
            // and falls back to polling.
            std::thread::sleep(Duration::from_micros(200));
        }
        if CANCEL.load(Ordering::SeqCst) == cancel {
            // Woken by one of our words, not called back.
            WOKE.fetch_add(1, Ordering::SeqCst);
            futex::wake(&WOKE, u32::MAX);
        }
        let mut job = helper.state.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::swap(&mut words, &mut job.words);
        job.pending = false;
        helper.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A word in the middle of the second group, and one in the third, wake a wide wait.
    #[test]
    fn a_word_in_any_group_wakes_the_wait() {
        let words: Vec<AtomicU32> = (0..400).map(|_| AtomicU32::new(0)).collect();
        for target in [5usize, 200, 390] {
            let entries: Vec<WaitvAddr> = words
                .iter()
                .map(|w| WaitvAddr::of(w, w.load(Ordering::SeqCst)))
                .collect();
            std::thread::scope(|s| {
                s.spawn(|| {
                    // Returns once `target` is bumped (no deadline: the test's own timeout
                    // is the harness's).
                    loop {
                        wait(&entries, None).unwrap();
                        if words[target].load(Ordering::SeqCst) != entries[target].expected {
                            break;
                        }
                    }
                });
                words[target].fetch_add(1, Ordering::SeqCst);
                futex::wake(&words[target], u32::MAX);
            });
        }
    }

    /// A value that already differs returns at once, in any group.
    #[test]
    fn stale_value_returns() {
        let words: Vec<AtomicU32> = (0..300).map(|_| AtomicU32::new(0)).collect();
        let mut entries: Vec<WaitvAddr> = words.iter().map(|w| WaitvAddr::of(w, 0)).collect();
        entries[299].expected = 7;
        wait(&entries, None).unwrap();
    }
}
