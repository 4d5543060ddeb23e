//! Records on a `SOCK_SEQPACKET` unix socket carrying file descriptors (`SCM_RIGHTS`):
//! `socketpair(2)`, `sendmsg(2)` and `poll(2)` through nix, `recvmsg(2)` through libc (nix
//! refuses to walk the control data once it was truncated, and the fds that did arrive must
//! then still be found and closed).

use nix::sys::socket::{
    sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
};
use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The most fds one record may carry.
pub(crate) const MAX_FDS: usize = 16;

/// Control buffer bytes for [`MAX_FDS`] fds, as `u64`s (so it is aligned for `cmsghdr`).
// SAFETY: CMSG_SPACE is pure arithmetic on its argument.
const CONTROL_LEN: usize =
    unsafe { libc::CMSG_SPACE((MAX_FDS * std::mem::size_of::<RawFd>()) as u32) } as usize;
const CONTROL_WORDS: usize = CONTROL_LEN.div_ceil(8);

/// A connected pair, both ends close-on-exec.
pub(crate) fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?)
}

/// Send one record: `data` and `fds` (at most [`MAX_FDS`]). Never blocks (`WouldBlock` when
/// the peer's queue is full) and never raises `SIGPIPE`.
pub(crate) fn send(sock: BorrowedFd<'_>, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    if fds.len() > MAX_FDS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "more fds than one record carries",
        ));
    }
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let rights = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage<'_>] = if raw.is_empty() { &[] } else { &rights };
    loop {
        match sendmsg::<()>(
            sock.as_raw_fd(),
            &[IoSlice::new(data)],
            cmsgs,
            MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
            None,
        ) {
            Ok(n) if n == data.len() => return Ok(()),
            Ok(_) => return Err(io::Error::new(io::ErrorKind::WriteZero, "record cut short")),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Wait until `sock` is readable (or hung up), at most `timeout_ms` (-1: no limit). Whether
/// it became ready.
pub(crate) fn poll_readable(sock: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<bool> {
    let mut pfd = [libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: `pfd` is a valid array of one pollfd record.
    let r = unsafe { libc::poll(pfd.as_mut_ptr(), 1, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::EINTR) {
            Ok(false)
        } else {
            Err(e)
        };
    }
    Ok(r > 0)
}

/// One record as it arrived.
pub(crate) struct Received {
    /// Data bytes of the record (0 with no fds: the peer closed its end).
    pub(crate) len: usize,
    /// Every fd that arrived, owned (close-on-exec).
    pub(crate) fds: Vec<OwnedFd>,
    /// The record's data was longer than the buffer (`MSG_TRUNC`).
    pub(crate) data_truncated: bool,
    /// More fds (or other control data) came than the buffer holds (`MSG_CTRUNC`); the fds
    /// beyond it were closed by the kernel.
    pub(crate) control_truncated: bool,
}

/// Receive one record without blocking (`EAGAIN` when none is queued), fds close-on-exec.
pub(crate) fn recv(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Received> {
    let mut control = [0u64; CONTROL_WORDS];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid (empty) value; the fields used are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = CONTROL_LEN as _;
    let n = loop {
        // SAFETY: `msg` points to one iovec over `buf` and to `control`, CONTROL_LEN bytes, all
        // live and writable for the call.
        let n = unsafe {
            libc::recvmsg(
                sock.as_raw_fd(),
                &mut msg,
                libc::MSG_CMSG_CLOEXEC | libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    };
    let mut fds = Vec::new();
    // SAFETY: `msg` was filled by the kernel: its control pointer and length describe the
    // control data written into `control`, which the CMSG macros walk within those bounds
    // (also when truncated: the kernel writes whole headers whose length covers only the fds
    // it installed).
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c);
                let bytes = (*c).cmsg_len as usize - (data as usize - c as usize);
                for i in 0..bytes / std::mem::size_of::<RawFd>() {
                    let fd = data
                        .add(i * std::mem::size_of::<RawFd>())
                        .cast::<RawFd>()
                        .read_unaligned();
                    // The kernel installed this fd in our table for this record alone.
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(Received {
        len: n,
        fds,
        data_truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
        control_truncated: msg.msg_flags & libc::MSG_CTRUNC != 0,
    })
}

/// Whether `fd` is a `SOCK_SEQPACKET` socket.
pub(crate) fn is_seqpacket(fd: BorrowedFd<'_>) -> bool {
    matches!(
        nix::sys::socket::getsockopt(&fd, nix::sys::socket::sockopt::SockType),
        Ok(SockType::SeqPacket)
    )
}
