//! Handing a child process its connection to main: [`Handoff::prepare`] (main, before
//! spawning) and [`Handoff::from_env`] (the child), through two inherited file descriptors
//! named by [`HANDOFF_ENV`]; then the segment itself, as a record on the inherited
//! [`FdSocket`] ([`Handoff::send_segment`], [`Handoff::recv_segment`]).
//!
//! The child inherits exactly two fds: its end of an [`FdSocket`] pair and a pidfd on main
//! (so it learns of main's death without trusting a pid). Every other fd above stderr is made
//! close-on-exec in the child before `exec`, so it inherits nothing of main's by accident. The
//! segment's memfd is not inherited: main sends it on the socket ([`TAG_SEGMENT`]), where it
//! sits in the socket's queue, not in the child's fd table, until the child receives it,
//! which the child does only after making itself non-dumpable
//! ([`harden_process`](crate::harden_process)). Later fds (port segments) travel the same way.

use crate::fdpass::FdSocket;
use crate::peer::PeerProcess;
use crate::segment::{OpenError, Segment};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Environment variable naming the inherited fds: `"<socket fd>,<main pidfd>,<main pid>"`.
pub const HANDOFF_ENV: &str = "ELECTRODE_SHM";

/// Tag of the record that carries a renderer's segment (one memfd), the first record main
/// sends on a renderer's [`FdSocket`].
pub const TAG_SEGMENT: u64 = 1;

fn check_open(fd: RawFd) -> Result<(), OpenError> {
    // SAFETY: F_GETFD on any integer is harmless; it only reports whether the fd is open.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(OpenError::NoHandoff("inherited fd is not open"));
    }
    Ok(())
}

/// The handoff between main and a child it spawns (see the module docs).
///
/// ```no_run
/// use electrode_shm::{harden_process, Handoff, PeerProcess, Segment, SegmentConfig};
/// use std::process::Command;
/// use std::time::{Duration, Instant};
///
/// // Main:
/// let me = PeerProcess::open(std::process::id())?;
/// let seg = Segment::create(SegmentConfig::default())?;
/// let mut cmd = Command::new("renderer");
/// let fds = Handoff::prepare(&mut cmd, &me)?;
/// let child = cmd.spawn()?;
/// Handoff::send_segment(&fds, &seg)?;
///
/// // The child (in `renderer`): harden first, then take the segment.
/// harden_process()?;
/// let (fds, main) = Handoff::from_env()?;
/// let seg = Handoff::recv_segment(&fds, Some(Instant::now() + Duration::from_secs(5)))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Handoff(());

impl Handoff {
    /// Arrange for `cmd`'s child to inherit its end of a new [`FdSocket`] pair and a handle
    /// on this (main) process; returns main's end. The child picks both up with
    /// [`Handoff::from_env`].
    ///
    /// `main` must be a [`PeerProcess`] for the current process
    /// (`PeerProcess::open(std::process::id())`). The child's end stays open in this process
    /// as long as `cmd` lives (the spawn needs it); drop `cmd` after spawning so that the
    /// child sees the socket close when main's end closes.
    pub fn prepare(cmd: &mut Command, main: &PeerProcess) -> io::Result<FdSocket> {
        let (ours, theirs) = FdSocket::pair()?;
        let sock_fd = theirs.as_fd().as_raw_fd();
        let main_fd = main.fd().as_raw_fd();
        cmd.env(
            HANDOFF_ENV,
            format!("{sock_fd},{main_fd},{}", std::process::id()),
        );
        // The pidfd's copy in the child comes from main's own handle, which outlives the
        // spawn; the socket end is kept alive by the closure (owned by `cmd`).
        let keep = theirs;
        // SAFETY: the closure runs in the forked child before exec and only calls
        // close_range and fcntl, which are async-signal-safe; it allocates nothing and takes
        // no locks.
        unsafe {
            cmd.pre_exec(move || {
                let fds = [keep.as_fd().as_raw_fd(), main_fd];
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
        Ok(ours)
    }

    /// Main: send `seg`'s memfd to the child on `fds` (main's end from [`prepare`](Self::prepare)),
    /// as one [`TAG_SEGMENT`] record. It waits in the socket's queue until the child receives it.
    pub fn send_segment(fds: &FdSocket, seg: &Segment) -> io::Result<()> {
        fds.send(TAG_SEGMENT, &[seg.file().as_fd()])
    }

    /// In the child: take the socket end and the handle on main that [`Handoff::prepare`]
    /// passed. May be called once per process.
    pub fn from_env() -> Result<(FdSocket, PeerProcess), OpenError> {
        static TAKEN: AtomicBool = AtomicBool::new(false);
        let v =
            std::env::var(HANDOFF_ENV).map_err(|_| OpenError::NoHandoff("ELECTRODE_SHM unset"))?;
        let mut it = v.split(',').map(|p| p.parse::<i32>());
        let (Some(Ok(sock_fd)), Some(Ok(main_fd)), Some(Ok(main_pid)), None) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(OpenError::NoHandoff("ELECTRODE_SHM malformed"));
        };
        if sock_fd < 0 || main_fd < 0 || sock_fd == main_fd || main_pid <= 0 {
            return Err(OpenError::NoHandoff("ELECTRODE_SHM malformed"));
        }
        if TAKEN.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(OpenError::NoHandoff("already taken by this process"));
        }
        for fd in [sock_fd, main_fd] {
            check_open(fd)?;
            crate::sys::memfd::set_cloexec(fd, true)?;
        }
        // SAFETY: both fds were inherited for exactly this purpose, are open (checked), and the
        // TAKEN flag makes this the only place in the process that takes ownership of them.
        let (sock, main) =
            unsafe { (OwnedFd::from_raw_fd(sock_fd), OwnedFd::from_raw_fd(main_fd)) };
        if !crate::sys::fdpass::is_seqpacket(sock.as_fd()) {
            return Err(OpenError::NoHandoff(
                "inherited fd is not a seqpacket socket",
            ));
        }
        Ok((
            FdSocket::from_owned(sock),
            PeerProcess::from_fd(main, main_pid as u32),
        ))
    }

    /// In the child: receive the segment main sent ([`send_segment`](Self::send_segment)),
    /// waiting until `deadline`, and open it ([`Segment::open`] checks it). Main gone before
    /// sending is an `UnexpectedEof` error; a first record that is not one segment fd is
    /// [`OpenError::NoHandoff`]. Call it after [`harden_process`](crate::harden_process):
    /// the memfd enters this process's fd table here.
    pub fn recv_segment(fds: &FdSocket, deadline: Option<Instant>) -> Result<Segment, OpenError> {
        let (tag, got) = fds.recv(deadline)?;
        if tag != TAG_SEGMENT || got.len() != 1 {
            return Err(OpenError::NoHandoff(
                "first record on the fd socket is not one segment",
            ));
        }
        let fd = got.into_iter().next().expect("one fd");
        Segment::open(File::from(fd))
    }

    /// In the child: [`from_env`](Self::from_env), then [`recv_segment`](Self::recv_segment).
    /// Harden the process first ([`harden_process`](crate::harden_process)) if it must be.
    pub fn receive(
        deadline: Option<Instant>,
    ) -> Result<(Segment, FdSocket, PeerProcess), OpenError> {
        let (fds, main) = Self::from_env()?;
        let seg = Self::recv_segment(&fds, deadline)?;
        Ok((seg, fds, main))
    }
}
