//! [`FdSocket`]: file descriptors passed between processes after spawn, as tagged records
//! on a `SOCK_SEQPACKET` unix socket pair (`SCM_RIGHTS`).
//!
//! Each record is exactly one 8-byte tag (little endian) and up to [`MAX_FDS`] fds. Records
//! never merge or split (seqpacket), so one `recv` is one `send`. A received fd is
//! close-on-exec from the moment it enters our fd table (`MSG_CMSG_CLOEXEC`), and is in the
//! receiver's table only once it receives: until then it sits in the socket's queue.
//!
//! The sender may be untrusted: a record of the wrong size, with truncated control data, or
//! with more fds than allowed is an error, and every fd that came with it is closed.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Instant;

/// The most fds one record may carry.
pub const MAX_FDS: usize = crate::sys::fdpass::MAX_FDS;

/// One end of a connected `SOCK_SEQPACKET | SOCK_CLOEXEC` unix socket pair that carries
/// tagged records of file descriptors (see the module docs).
///
/// ```
/// use electrode_shm::FdSocket;
/// use std::io::{Read, Seek, Write};
/// use std::os::fd::AsFd;
///
/// let (main, child) = FdSocket::pair()?;
/// let mut file = tempfile_like()?;
/// file.write_all(b"through the socket")?;
/// main.send(7, &[file.as_fd()])?;
/// let (tag, fds) = child.recv(None)?;
/// assert_eq!((tag, fds.len()), (7, 1));
/// let mut got = String::new();
/// let mut same = std::fs::File::from(fds.into_iter().next().unwrap());
/// same.rewind()?;
/// same.read_to_string(&mut got)?;
/// assert_eq!(got, "through the socket");
///
/// // The other end closed: nothing more will come.
/// drop(main);
/// assert_eq!(child.recv(None).unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
/// # fn tempfile_like() -> std::io::Result<std::fs::File> {
/// #     let dir = std::env::temp_dir().join(format!("fdsocket-doc-{}", std::process::id()));
/// #     let f = std::fs::OpenOptions::new().read(true).write(true).create(true).open(&dir)?;
/// #     std::fs::remove_file(&dir)?;
/// #     Ok(f)
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct FdSocket {
    fd: OwnedFd,
}

impl FdSocket {
    /// A connected pair (both ends close-on-exec).
    pub fn pair() -> io::Result<(FdSocket, FdSocket)> {
        let (a, b) = crate::sys::fdpass::pair()?;
        Ok((FdSocket { fd: a }, FdSocket { fd: b }))
    }

    /// Take ownership of a socket end (e.g. one inherited at spawn). The caller must know that
    /// `fd` is an end of such a pair.
    pub(crate) fn from_owned(fd: OwnedFd) -> FdSocket {
        FdSocket { fd }
    }

    /// Send one record: `tag` and `fds` (at most [`MAX_FDS`]; `InvalidInput` otherwise). The
    /// peer gets its own copies of the fds; ours stay open. A closed peer is `BrokenPipe`
    /// (never `SIGPIPE`). It never blocks: a peer that does not read its socket until its
    /// queue is full makes the send `WouldBlock`, so an untrusted peer cannot stall the
    /// sender.
    pub fn send(&self, tag: u64, fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        crate::sys::fdpass::send(self.fd.as_fd(), &tag.to_le_bytes(), fds)
    }

    /// Receive one record, waiting until `deadline` (`TimedOut` after it; `None` waits as
    /// long as the peer's end is open). The peer's end closed with nothing queued is
    /// `UnexpectedEof`; a record that is not exactly an 8-byte tag, or whose control data was
    /// truncated (more than [`MAX_FDS`] fds), is `InvalidData`, and the fds that came with it
    /// are closed.
    pub fn recv(&self, deadline: Option<Instant>) -> io::Result<(u64, Vec<OwnedFd>)> {
        loop {
            let mut buf = [0u8; 9];
            match crate::sys::fdpass::recv(self.fd.as_fd(), &mut buf) {
                Ok(r) => {
                    // From here on, `r.fds` closes whatever arrived on every error path.
                    if r.len == 0 && r.fds.is_empty() && !r.control_truncated {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the other end of the fd socket is closed",
                        ));
                    }
                    if r.control_truncated {
                        return Err(invalid("more fds in a record than allowed"));
                    }
                    if r.data_truncated || r.len != 8 {
                        return Err(invalid("a record that is not one 8-byte tag"));
                    }
                    let mut tag = [0u8; 8];
                    tag.copy_from_slice(&buf[..8]);
                    return Ok((u64::from_le_bytes(tag), r.fds));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            let timeout_ms = match deadline {
                None => -1,
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "no record before the deadline",
                        ));
                    }
                    // Rounded up, so the wait never ends just before the deadline.
                    let ms = (d - now).as_micros().div_ceil(1000);
                    i32::try_from(ms).unwrap_or(i32::MAX)
                }
            };
            crate::sys::fdpass::poll_readable(self.fd.as_fd(), timeout_ms)?;
        }
    }

    /// Another handle on the same end (`F_DUPFD_CLOEXEC`).
    pub fn try_clone(&self) -> io::Result<FdSocket> {
        Ok(FdSocket {
            fd: self.fd.try_clone()?,
        })
    }
}

impl AsFd for FdSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn invalid(why: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}
