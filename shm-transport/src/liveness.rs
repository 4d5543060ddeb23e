//! Knowing that the peer process died: a pidfd (immune to pid reuse) watched by a thread, and
//! the [`Liveness`] flag every wait checks.
//!
//! When the watcher sees the peer exit it sets the flag and then bumps and wakes every futex
//! word a local thread may sleep on (through the callback it was given), so each blocked wait
//! returns [`WaitError::PeerGone`](crate::WaitError::PeerGone) at once instead of hanging.

use crate::sync::{Arc, AtomicBool, Ordering};
#[cfg(not(loom))]
use std::os::fd::{AsFd, OwnedFd};

/// Whether the peer process is gone. Cheap to clone; shared by all endpoints of one peer.
#[derive(Clone, Debug, Default)]
pub struct Liveness(Arc<AtomicBool>);

impl Liveness {
    /// A peer that is (still) alive.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the peer has been seen to exit.
    #[inline]
    pub fn is_gone(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Record that the peer is gone. Waits notice once their futex word is bumped (the watcher
    /// does both; tests and in-process peers may call it directly, then wake).
    pub fn mark_gone(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

/// A handle on another process that cannot be confused by pid reuse (a pidfd).
#[cfg(not(loom))]
#[derive(Debug)]
pub struct PeerProcess {
    fd: OwnedFd,
    pid: u32,
}

#[cfg(not(loom))]
impl PeerProcess {
    /// Open a handle on `pid`. Only sound when `pid` is known to name the intended process at
    /// this moment: an unreaped child of ours (e.g. from `Command::spawn`), or ourselves.
    pub fn open(pid: u32) -> std::io::Result<Self> {
        Ok(PeerProcess {
            fd: crate::sys::pidfd::open(pid)?,
            pid,
        })
    }

    pub(crate) fn from_fd(fd: OwnedFd, pid: u32) -> Self {
        PeerProcess { fd, pid }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the process has exited.
    pub fn has_exited(&self) -> bool {
        crate::sys::pidfd::has_exited(self.fd.as_fd())
    }

    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Watch the process on a background thread: when it exits, mark `live` gone and run
    /// `on_gone` (which should bump and wake the futex words local threads may sleep on).
    /// Dropping the returned [`Watch`] stops the thread.
    pub fn watch(
        self,
        live: Liveness,
        on_gone: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<Watch> {
        let (stop_r, stop_w) = std::io::pipe()?;
        let thread = std::thread::Builder::new()
            .name(format!("electrode-watch-{}", self.pid))
            .spawn(move || {
                let stop_fd: OwnedFd = stop_r.into();
                let fds = [self.fd.as_fd(), stop_fd.as_fd()];
                loop {
                    match crate::sys::pidfd::poll_any(&fds, None) {
                        Ok(ready) if ready.contains(&0) => {
                            live.mark_gone();
                            on_gone();
                            return;
                        }
                        Ok(ready) if ready.contains(&1) => return,
                        Ok(_) => continue,
                        Err(_) => return,
                    }
                }
            })?;
        Ok(Watch {
            stop: Some(stop_w),
            thread: Some(thread),
        })
    }
}

/// A running watcher thread (see [`PeerProcess::watch`]); dropping it stops the thread.
#[cfg(not(loom))]
#[derive(Debug)]
pub struct Watch {
    stop: Option<std::io::PipeWriter>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[cfg(not(loom))]
impl Drop for Watch {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}
