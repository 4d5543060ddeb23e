//! Handing a segment to a child process: [`Segment::hand_to`] (main, before spawning) and
//! [`Segment::from_env`] (the child), through two inherited file descriptors named by
//! [`HANDOFF_ENV`].
//!
//! The child inherits exactly two fds: the segment's memfd and a pidfd on main (so it learns
//! of main's death without trusting a pid). Every other fd above stderr is made close-on-exec
//! in the child before `exec`, so it inherits nothing of main's by accident.

use crate::peer::PeerProcess;
use crate::segment::{OpenError, Segment};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::AtomicBool;

/// Environment variable naming the inherited fds: `"<segment fd>,<main pidfd>,<main pid>"`.
pub const HANDOFF_ENV: &str = "ELECTRODE_SHM";

fn check_open(fd: RawFd) -> Result<(), OpenError> {
    // SAFETY: F_GETFD on any integer is harmless; it only reports whether the fd is open.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(OpenError::NoHandoff("inherited fd is not open"));
    }
    Ok(())
}

impl Segment {
    /// Arrange for `cmd`'s child to inherit this segment and a handle on this (main) process;
    /// the child picks both up with [`Segment::from_env`].
    ///
    /// `main` must be a [`PeerProcess`] for the current process (`PeerProcess::open(std::process::id())`).
    pub fn hand_to(&self, cmd: &mut Command, main: &PeerProcess) {
        let seg_fd = self.file().as_raw_fd();
        let main_fd = main.fd().as_raw_fd();
        cmd.env(
            HANDOFF_ENV,
            format!("{seg_fd},{main_fd},{}", std::process::id()),
        );
        let fds = [seg_fd, main_fd];
        // SAFETY: the closure runs in the forked child before exec and only calls fcntl, which
        // is async-signal-safe; it allocates nothing and takes no locks.
        unsafe {
            cmd.pre_exec(move || {
                // First mark every fd above stderr close-on-exec, so the child inherits no fd
                // of main's by accident (e.g. another renderer's segment, a jobserver pipe);
                // then clear the flag on exactly the two fds it is meant to have. Kernels
                // before 5.11 lack CLOSE_RANGE_CLOEXEC: then only CLOEXEC discipline applies.
                libc::syscall(
                    libc::SYS_close_range,
                    3u32,
                    u32::MAX,
                    libc::CLOSE_RANGE_CLOEXEC,
                );
                for fd in fds {
                    if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }

    /// In the child: take the segment and the handle on main that [`Segment::hand_to`] passed.
    /// May be called once per process.
    pub fn from_env() -> Result<(Segment, PeerProcess), OpenError> {
        static TAKEN: AtomicBool = AtomicBool::new(false);
        let v =
            std::env::var(HANDOFF_ENV).map_err(|_| OpenError::NoHandoff("ELECTRODE_SHM unset"))?;
        let mut it = v.split(',').map(|p| p.parse::<i32>());
        let (Some(Ok(seg_fd)), Some(Ok(main_fd)), Some(Ok(main_pid)), None) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(OpenError::NoHandoff("ELECTRODE_SHM malformed"));
        };
        if seg_fd < 0 || main_fd < 0 || seg_fd == main_fd || main_pid <= 0 {
            return Err(OpenError::NoHandoff("ELECTRODE_SHM malformed"));
        }
        if TAKEN.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(OpenError::NoHandoff("already taken by this process"));
        }
        for fd in [seg_fd, main_fd] {
            check_open(fd)?;
            crate::sys::memfd::set_cloexec(fd, true)?;
        }
        // SAFETY: both fds were inherited for exactly this purpose, are open (checked), and the
        // TAKEN flag makes this the only place in the process that takes ownership of them.
        let (seg, main) = unsafe { (OwnedFd::from_raw_fd(seg_fd), OwnedFd::from_raw_fd(main_fd)) };
        let segment = Segment::open(File::from(seg))?;
        Ok((segment, PeerProcess::from_fd(main, main_pid as u32)))
    }
}
