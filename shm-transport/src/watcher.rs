//! [`Watcher`]: one thread that watches the pidfds of any number of peer processes with
//! `epoll(7)`, so main's thread count does not grow with its renderers. When a watched process
//! exits the watcher does what the per-peer thread of [`PeerProcess::watch`] does: it marks the
//! peer's [`Liveness`] gone and runs its "gone" callback (which bumps and wakes the futex words
//! local threads may sleep on). Not under loom (pidfds, epoll and real threads).
//!
//! Registering ([`Watcher::watch`]) and deregistering (dropping the returned [`Watch`]) are
//! `epoll_ctl` calls from the caller's thread: the kernel's epoll set is safe to change while
//! the watcher thread waits on it, so neither needs to wake the thread. Only stopping does, by a
//! pipe whose write end the [`Watcher`] holds: dropping it makes the read end readable.

use crate::liveness::Liveness;
use crate::peer::{PeerProcess, Watch};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::sync::{Condvar, MutexGuard, OnceLock};
use std::thread::ThreadId;

/// The epoll token of the stop pipe (peer tokens count up from 0).
const STOP: u64 = u64::MAX;

/// One watched process.
struct Entry {
    process: PeerProcess,
    live: Liveness,
    on_gone: Box<dyn FnOnce() + Send>,
}

pub(crate) struct Inner {
    epoll: Epoll,
    entries: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
    /// The token whose entry the watcher thread has taken and is still releasing ([`NONE`]
    /// when none): set and cleared under `entries`' lock; `done` is notified when it clears.
    in_flight: AtomicU64,
    done: Condvar,
    /// The watcher thread (a callback that drops its own registration does not wait for itself).
    thread: OnceLock<ThreadId>,
}

/// No entry in flight.
const NONE: u64 = u64::MAX - 1;

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take `token`'s entry out of the set (its process's pidfd closes with the entry).
    fn remove(&self, map: &mut HashMap<u64, Entry>, token: u64) -> Option<Entry> {
        let entry = map.remove(&token)?;
        // Out of the set before the fd closes (closing alone would also remove it, unless the
        // fd were duplicated somewhere).
        let _ = self.epoll.delete(entry.process.fd());
        Some(entry)
    }

    /// Stop watching `token`. When the watcher thread has taken its entry already (the process
    /// exited), wait until it has run the callback and released the entry: once this returns,
    /// nothing of the entry (its pidfd, its liveness mapping, the callback's captures) is held.
    fn unregister(&self, token: u64) {
        let mut map = self.lock();
        if let Some(entry) = self.remove(&mut map, token) {
            drop(map);
            drop(entry);
            return;
        }
        if self.thread.get() == Some(&std::thread::current().id()) {
            return;
        }
        let map = self
            .done
            .wait_while(map, |_| self.in_flight.load(Ordering::Relaxed) == token)
            .unwrap_or_else(|p| p.into_inner());
        drop(map);
    }
}

/// A deregistration handle (inside a [`Watch`]): dropping it stops watching one process.
#[derive(Debug)]
pub(crate) struct Registration {
    inner: Weak<Inner>,
    token: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.unregister(self.token);
        }
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").finish_non_exhaustive()
    }
}

/// One thread watching the pidfds of many processes with `epoll(7)` (main's, for its
/// renderers). Registering and deregistering are `epoll_ctl` calls from the caller's thread.
/// Dropping it stops the thread; processes still watched then are no longer watched (their
/// callbacks do not run).
#[derive(Debug)]
pub struct Watcher {
    inner: Arc<Inner>,
    stop: Option<std::io::PipeWriter>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    /// Start the watcher thread (named `name`).
    pub fn new(name: &str) -> io::Result<Watcher> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(io::Error::from)?;
        let (stop_r, stop_w) = std::io::pipe()?;
        let stop_r: OwnedFd = stop_r.into();
        epoll
            .add(stop_r.as_fd(), EpollEvent::new(EpollFlags::EPOLLIN, STOP))
            .map_err(io::Error::from)?;
        let inner = Arc::new(Inner {
            epoll,
            entries: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            in_flight: AtomicU64::new(NONE),
            done: Condvar::new(),
            thread: OnceLock::new(),
        });
        let thread_inner = inner.clone();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(&thread_inner, stop_r))?;
        let _ = inner.thread.set(thread.thread().id());
        Ok(Watcher {
            inner,
            stop: Some(stop_w),
            thread: Some(thread),
        })
    }

    /// Watch `process`: when it exits, mark `live` gone and run `on_gone` on the watcher thread
    /// (keep it short: it holds up the other processes' notices). Dropping the returned
    /// [`Watch`] stops watching it. A process that has already exited is noticed at once.
    pub fn watch(
        &self,
        process: PeerProcess,
        live: Liveness,
        on_gone: impl FnOnce() + Send + 'static,
    ) -> io::Result<Watch> {
        let token = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.inner.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Added to the set under the lock, so the watcher thread cannot see the token before
        // its entry is in the map.
        self.inner
            .epoll
            .add(
                process.fd().as_fd(),
                EpollEvent::new(EpollFlags::EPOLLIN, token),
            )
            .map_err(io::Error::from)?;
        entries.insert(
            token,
            Entry {
                process,
                live,
                on_gone: Box::new(on_gone),
            },
        );
        Ok(Watch::registered(Registration {
            inner: Arc::downgrade(&self.inner),
            token,
        }))
    }

    /// How many processes are watched now.
    pub fn len(&self) -> usize {
        self.inner
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Whether no process is watched.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            // A callback may drop the last owner of the watcher on its own thread.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
        let entries = std::mem::take(&mut *self.inner.lock());
        drop(entries);
    }
}

/// The watcher thread: wait for pidfds to become readable (their process exited) or the stop
/// pipe to close.
fn run(inner: &Inner, _stop: OwnedFd) {
    let mut events = vec![EpollEvent::empty(); 64];
    loop {
        let n = match inner.epoll.wait(&mut events, EpollTimeout::NONE) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        };
        for ev in &events[..n] {
            let token = ev.data();
            if token == STOP {
                return;
            }
            let entry = {
                let mut map = inner.lock();
                let entry = inner.remove(&mut map, token);
                if entry.is_some() {
                    inner.in_flight.store(token, Ordering::Relaxed);
                }
                entry
            };
            if let Some(entry) = entry {
                entry.live.mark_gone();
                (entry.on_gone)();
                drop(entry.process);
                drop(entry.live);
                let _map = inner.lock();
                inner.in_flight.store(NONE, Ordering::Relaxed);
                inner.done.notify_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command};
    use std::sync::mpsc;
    use std::time::Duration;

    fn sleeper() -> Child {
        Command::new("sleep").arg("600").spawn().unwrap()
    }

    /// Kills and reaps the children on drop (also when a test fails).
    struct Children(Vec<Child>);
    impl Drop for Children {
        fn drop(&mut self) {
            for c in &mut self.0 {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }

    #[test]
    fn many_children_each_reported_once() {
        let watcher = Watcher::new("test-watcher").unwrap();
        let mut kids = Children((0..40).map(|_| sleeper()).collect());
        let (tx, rx) = mpsc::channel();
        let mut watches = Vec::new();
        let mut lives = Vec::new();
        for (i, c) in kids.0.iter().enumerate() {
            let live = Liveness::new();
            lives.push(live.clone());
            let tx = tx.clone();
            let p = PeerProcess::open(c.id()).unwrap();
            watches.push(watcher.watch(p, live, move || tx.send(i).unwrap()).unwrap());
        }
        assert_eq!(watcher.len(), 40);
        // Kill every other child: exactly those are reported.
        for i in (0..40).step_by(2) {
            kids.0[i].kill().unwrap();
        }
        let mut seen: Vec<usize> = (0..20)
            .map(|_| rx.recv_timeout(Duration::from_secs(30)).unwrap())
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..40).step_by(2).collect::<Vec<_>>());
        for (i, l) in lives.iter().enumerate() {
            assert_eq!(l.is_gone(), i % 2 == 0, "child {i}");
        }
        assert_eq!(watcher.len(), 20);
        drop(watches);
        assert!(watcher.is_empty());
    }

    /// Dropping a watch whose process exited while its callback runs waits for the callback:
    /// once the drop returns, nothing the entry held is held (main relies on this to report a
    /// renderer gone only after its segment and pidfd are released).
    #[test]
    fn dropping_a_watch_waits_for_its_running_callback() {
        let watcher = Watcher::new("test-watcher").unwrap();
        let mut kids = Children(vec![sleeper()]);
        let marker = Arc::new(());
        let (started_tx, started) = mpsc::channel();
        let (go, go_rx) = mpsc::channel::<()>();
        let held = marker.clone();
        let p = PeerProcess::open(kids.0[0].id()).unwrap();
        let watch = watcher
            .watch(p, Liveness::new(), move || {
                let _held = held;
                started_tx.send(()).unwrap();
                go_rx.recv_timeout(Duration::from_secs(30)).unwrap();
            })
            .unwrap();
        kids.0[0].kill().unwrap();
        started.recv_timeout(Duration::from_secs(30)).unwrap();
        // The callback runs (and holds `marker`) until `go`; the drop must wait for it.
        let (dropped_tx, dropped) = mpsc::channel();
        let probe = marker.clone();
        let dropper = std::thread::spawn(move || {
            drop(watch);
            dropped_tx.send(Arc::strong_count(&probe)).unwrap();
        });
        go.send(()).unwrap();
        let count_after_drop = dropped.recv_timeout(Duration::from_secs(30)).unwrap();
        dropper.join().unwrap();
        // `marker` here and `probe` in the dropper: the callback's copy is gone.
        assert_eq!(count_after_drop, 2);
    }

    #[test]
    fn removed_child_is_not_reported() {
        let watcher = Watcher::new("test-watcher").unwrap();
        let mut kids = Children(vec![sleeper(), sleeper()]);
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        let a = watcher
            .watch(
                PeerProcess::open(kids.0[0].id()).unwrap(),
                Liveness::new(),
                move || tx.send(0).unwrap(),
            )
            .unwrap();
        let _b = watcher
            .watch(
                PeerProcess::open(kids.0[1].id()).unwrap(),
                Liveness::new(),
                move || tx2.send(1).unwrap(),
            )
            .unwrap();
        drop(a);
        kids.0[0].kill().unwrap();
        kids.0[0].wait().unwrap();
        kids.0[1].kill().unwrap();
        // The second is reported; the first, removed before it died, never is: once the
        // watcher thread has stopped, the channel holds nothing more.
        assert_eq!(rx.recv_timeout(Duration::from_secs(30)).unwrap(), 1);
        drop(watcher);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn exited_before_watch_is_reported() {
        let watcher = Watcher::new("test-watcher").unwrap();
        let mut c = Children(vec![Command::new("true").spawn().unwrap()]);
        let p = PeerProcess::open(c.0[0].id()).unwrap();
        c.0[0].wait().unwrap();
        let (tx, rx) = mpsc::channel();
        let _w = watcher
            .watch(p, Liveness::new(), move || tx.send(()).unwrap())
            .unwrap();
        rx.recv_timeout(Duration::from_secs(30)).unwrap();
    }

    #[test]
    fn one_thread_and_stop_on_drop() {
        let watcher = Watcher::new("test-watcher").unwrap();
        let kids = Children((0..16).map(|_| sleeper()).collect());
        let watches: Vec<Watch> = kids
            .0
            .iter()
            .map(|c| {
                watcher
                    .watch(PeerProcess::open(c.id()).unwrap(), Liveness::new(), || {})
                    .unwrap()
            })
            .collect();
        // (The thread count of a process is checked in tests/tests/many_renderers.rs: here
        // other tests run on parallel threads.)
        let inner = Arc::downgrade(&watcher.inner);
        drop(watcher);
        // The thread has been joined and released its reference.
        assert!(inner.upgrade().is_none());
        // Handles that outlive the watcher are inert.
        drop(watches);
    }
}
