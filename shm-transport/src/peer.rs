//! [`PeerProcess`]: a handle on the peer process (a pidfd, immune to pid reuse) and the
//! watcher thread ([`Watch`]) that marks its [`Liveness`] gone when it exits. Not under loom
//! (pidfds and real threads).

use crate::liveness::Liveness;
use std::os::fd::{AsFd, OwnedFd};

/// A handle on another process that cannot be confused by pid reuse (a pidfd).
#[derive(Debug)]
pub struct PeerProcess {
    fd: OwnedFd,
    pid: u32,
}

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
            registration: None,
        })
    }
}

/// A watch on one process: its own thread ([`PeerProcess::watch`]) or an entry of a shared
/// [`Watcher`](crate::Watcher) ([`Watcher::watch`](crate::Watcher::watch)). Dropping it stops
/// watching (and stops the thread, if it has its own).
#[derive(Debug)]
pub struct Watch {
    stop: Option<std::io::PipeWriter>,
    thread: Option<std::thread::JoinHandle<()>>,
    registration: Option<crate::watcher::Registration>,
}

impl Watch {
    pub(crate) fn registered(registration: crate::watcher::Registration) -> Watch {
        Watch {
            stop: None,
            thread: None,
            registration: Some(registration),
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        drop(self.registration.take());
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}
