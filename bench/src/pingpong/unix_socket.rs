//! Baseline: a Unix-domain stream socket pair. Main does `write_all` of the payload, the peer
//! `read_exact`s and writes it back, main `read_exact`s the echo. The first 8 payload bytes
//! carry the sequence number, which main checks.

use super::handoff::PeerSpec;
use super::RoundTrip;
use crate::role::RoleChild;
use crate::BenchError;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// Main's side of the socket ping-pong.
pub(crate) struct Main {
    sock: UnixStream,
    child: RoleChild,
    payload: Vec<u8>,
    reply: Vec<u8>,
}

impl Main {
    pub(crate) fn start(spec: &PeerSpec<'_>) -> Result<Self, BenchError> {
        let (ours, theirs) = UnixStream::pair().map_err(BenchError::io("socketpair"))?;
        let fd = theirs.as_raw_fd();
        let child = spec.spawn(Some(fd), |_| {})?;
        // Only the peer holds its end now, so its exit shows up here as end-of-file.
        drop(theirs);
        Ok(Main {
            sock: ours,
            child,
            payload: (0..spec.payload).map(|i| i as u8).collect(),
            reply: vec![0; spec.payload],
        })
    }
}

fn io_err(e: io::Error) -> BenchError {
    use io::ErrorKind::{BrokenPipe, ConnectionReset, UnexpectedEof};
    if matches!(e.kind(), UnexpectedEof | BrokenPipe | ConnectionReset) {
        BenchError::PeerGone
    } else {
        BenchError::io("socket round trip")(e)
    }
}

impl RoundTrip for Main {
    fn peer_pid(&self) -> u32 {
        self.child.pid()
    }

    #[inline]
    fn round_trip(&mut self, seq: u64) -> Result<(), BenchError> {
        let tag = seq.to_le_bytes();
        let n = tag.len().min(self.payload.len());
        self.payload[..n].copy_from_slice(&tag[..n]);
        self.sock.write_all(&self.payload).map_err(io_err)?;
        self.sock.read_exact(&mut self.reply).map_err(io_err)?;
        if self.reply[..n] != tag[..n] {
            return Err(BenchError::wrong("echo carries the wrong sequence number"));
        }
        Ok(())
    }
}

/// The peer side: echo until main closes its end.
pub(crate) fn serve(
    fd: RawFd,
    payload: usize,
    ready: impl FnOnce() -> Result<(), BenchError>,
) -> Result<(), BenchError> {
    // SAFETY: F_GETFD on any integer only reports whether it is an open fd.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(BenchError::wrong("inherited fd is not open"));
    }
    // SAFETY: the fd was inherited for exactly this purpose and is open (checked); nothing else
    // in the peer process takes ownership of it.
    let mut sock = UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut buf = vec![0u8; payload];
    ready()?;
    loop {
        match sock.read_exact(&mut buf).map_err(io_err) {
            Ok(()) => {}
            Err(BenchError::PeerGone) => return Ok(()),
            Err(e) => return Err(e),
        }
        match sock.write_all(&buf).map_err(io_err) {
            Ok(()) => {}
            Err(BenchError::PeerGone) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
