//! The real futex behind [`Park`], and waits on several futex words at once: the layer over
//! the `sys::futex` shim. Not under loom, whose models bring their own [`Park`].

use crate::event::Event;
use crate::sync::{AtomicU32, Ordering};
use crate::wait::Park;
use std::time::Instant;

/// The Linux futex: `FUTEX_WAIT` / `FUTEX_WAKE` on a word in (possibly shared) memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct Futex;

impl Park for Futex {
    fn wait(&self, word: &AtomicU32, expected: u32, deadline: Option<Instant>) {
        let timeout = match deadline {
            Some(d) => {
                let now = Instant::now();
                if d <= now {
                    return;
                }
                Some(d - now)
            }
            None => None,
        };
        crate::sys::futex::wait(word, expected, timeout);
    }

    fn wake(&self, word: &AtomicU32, count: u32) {
        crate::sys::futex::wake(word, count);
    }
}

/// Wait until `ready` returns true or any of `events` is notified, or `deadline` passes.
///
/// For a thread that serves several peers (main's dispatcher): it announces itself as sleeping
/// on every event, re-checks `ready`, and parks on all the futex words at once
/// (`futex_waitv(2)`). With more than 128 events the wait is split into groups that parked
/// helper threads wait on for it (see `wide_wait`: one helper per 127 words past the first
/// 127), so every word still wakes it at once and an idle wait takes no CPU.
pub fn wait_any(events: &[&Event], deadline: Option<Instant>, mut ready: impl FnMut() -> bool) {
    use crate::sys::futex::{wait_many, WaitvAddr, WaitvEntry, WAITV_MAX};
    if events.len() <= WAITV_MAX {
        let mut entries = Vec::with_capacity(events.len());
        for e in events {
            let expected = e.prepare_sleep();
            entries.push(WaitvEntry {
                word: e.word(),
                expected,
                private: false,
            });
        }
        if !ready() {
            park(|| wait_many(&entries, deadline));
        }
    } else {
        let entries: Vec<WaitvAddr> = events
            .iter()
            .map(|e| {
                let expected = e.prepare_sleep();
                WaitvAddr::of(e.word(), expected)
            })
            .collect();
        if !ready() {
            park(|| crate::wide_wait::wait(&entries, deadline));
        }
    }
    for e in events {
        e.finish_sleep();
    }
}

/// Run one `futex_waitv`-based park. Without futex_waitv (kernels before 5.16, valgrind) this
/// degrades to a short sleep-poll; the failure is remembered so the syscall is not retried on
/// every wait.
fn park(wait: impl FnOnce() -> std::io::Result<()>) {
    static UNSUPPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let failed = UNSUPPORTED.load(Ordering::Relaxed)
        || match wait() {
            Ok(()) => false,
            Err(e) => {
                if e.raw_os_error() == Some(libc::ENOSYS) {
                    UNSUPPORTED.store(true, Ordering::Relaxed);
                }
                true
            }
        };
    if failed {
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}
