//! File descriptors through an [`FdSocket`] pair: contents survive, deadlines end waits, a
//! closed peer ends them at once, and records that break the format are refused with every
//! fd that came with them closed.

use electrode_shm::{FdSocket, MAX_FDS};
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

fn memfd(contents: &[u8]) -> File {
    named_memfd(c"fdpass-test", contents)
}

fn named_memfd(name: &std::ffi::CStr, contents: &[u8]) -> File {
    let fd =
        nix::sys::memfd::memfd_create(name, nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC).unwrap();
    let mut f = File::from(fd);
    f.write_all(contents).unwrap();
    f
}

fn read_all(f: &mut File) -> Vec<u8> {
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut v = Vec::new();
    f.read_to_end(&mut v).unwrap();
    v
}

/// How many of this process's fds are the memfd named `name` (tests run in parallel, so only
/// a file no other test uses can be counted).
fn fds_of(name: &str) -> usize {
    let target = format!("/memfd:{name}");
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|p| p.to_string_lossy().starts_with(&target))
        })
        .count()
}

fn soon() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(20))
}

#[test]
fn a_memfd_round_trip_keeps_its_contents_and_is_cloexec() {
    let (a, b) = FdSocket::pair().unwrap();
    let files = [memfd(b"first"), memfd(b"second")];
    let fds: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    a.send(0xfeed_f00d_0000_0001, &fds).unwrap();
    a.send(3, &[]).unwrap();
    let (tag, got) = b.recv(soon()).unwrap();
    assert_eq!((tag, got.len()), (0xfeed_f00d_0000_0001, 2));
    for (fd, want) in got.into_iter().zip([&b"first"[..], b"second"]) {
        let flags = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFD).unwrap();
        assert_ne!(
            flags & libc::FD_CLOEXEC,
            0,
            "received fds are close-on-exec"
        );
        let mut f = File::from(fd);
        assert_eq!(read_all(&mut f), want);
        // The same file, not a copy: a write through it shows through the sender's fd.
        f.write_all(b"!").unwrap();
    }
    let mut first = files[0].try_clone().unwrap();
    assert_eq!(read_all(&mut first), b"first!");
    // A record without fds, and in order.
    let (tag, got) = b.recv(soon()).unwrap();
    assert_eq!((tag, got.len()), (3, 0));
    // Both directions, and through a clone.
    b.try_clone().unwrap().send(4, &[files[1].as_fd()]).unwrap();
    assert_eq!(a.recv(soon()).unwrap().0, 4);
}

#[test]
fn the_deadline_ends_a_wait_and_a_closed_peer_ends_it_at_once() {
    let (a, b) = FdSocket::pair().unwrap();
    let past = Some(Instant::now());
    assert_eq!(b.recv(past).unwrap_err().kind(), ErrorKind::TimedOut);
    let d = Instant::now() + Duration::from_millis(30);
    assert_eq!(b.recv(Some(d)).unwrap_err().kind(), ErrorKind::TimedOut);
    assert!(Instant::now() >= d, "not before the deadline");
    // What was queued before the close is still delivered, then the end of the stream.
    a.send(9, &[]).unwrap();
    let closer = std::thread::spawn(move || drop(a));
    assert_eq!(b.recv(None).unwrap().0, 9);
    closer.join().unwrap();
    assert_eq!(b.recv(None).unwrap_err().kind(), ErrorKind::UnexpectedEof);
    assert_eq!(b.send(1, &[]).unwrap_err().kind(), ErrorKind::BrokenPipe);
}

#[test]
fn a_blocked_recv_wakes_when_the_peer_closes() {
    let (a, b) = FdSocket::pair().unwrap();
    let waiter = std::thread::spawn(move || b.recv(soon()).map(|_| ()).unwrap_err().kind());
    std::thread::yield_now();
    drop(a);
    assert_eq!(waiter.join().unwrap(), ErrorKind::UnexpectedEof);
}

#[test]
fn too_many_fds_are_refused_on_both_sides_and_closed() {
    let (a, b) = FdSocket::pair().unwrap();
    let file = named_memfd(c"fdpass-many", b"x");
    let many = vec![file.as_fd(); MAX_FDS + 1];
    assert_eq!(
        a.send(1, &many).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert!(a.send(1, &many[..MAX_FDS]).is_ok());
    assert_eq!(b.recv(soon()).unwrap().1.len(), MAX_FDS);

    // A hostile peer sends more than a record may carry: the receiver's control buffer is
    // truncated; what arrived is closed and the record refused.
    let before = fds_of("fdpass-many");
    assert_eq!(before, 1);
    let raw: Vec<i32> = vec![file.as_raw_fd(); 40];
    nix::sys::socket::sendmsg::<()>(
        a.as_fd().as_raw_fd(),
        &[std::io::IoSlice::new(&5u64.to_le_bytes())],
        &[nix::sys::socket::ControlMessage::ScmRights(&raw)],
        nix::sys::socket::MsgFlags::empty(),
        None,
    )
    .unwrap();
    assert_eq!(b.recv(soon()).unwrap_err().kind(), ErrorKind::InvalidData);
    assert_eq!(
        fds_of("fdpass-many"),
        before,
        "the fds that arrived were closed"
    );

    // A record that is not one 8-byte tag, with an fd: refused, the fd closed.
    for data in [&b"short"[..], &[0u8; 12][..]] {
        nix::sys::socket::sendmsg::<()>(
            a.as_fd().as_raw_fd(),
            &[std::io::IoSlice::new(data)],
            &[nix::sys::socket::ControlMessage::ScmRights(&raw[..1])],
            nix::sys::socket::MsgFlags::empty(),
            None,
        )
        .unwrap();
        assert_eq!(b.recv(soon()).unwrap_err().kind(), ErrorKind::InvalidData);
        assert_eq!(fds_of("fdpass-many"), before);
    }
    // The socket still works after refusing.
    a.send(6, &[]).unwrap();
    assert_eq!(b.recv(soon()).unwrap().0, 6);
}

#[test]
fn a_peer_that_never_reads_makes_send_would_block_not_hang() {
    let (a, _b) = FdSocket::pair().unwrap();
    let file = memfd(b"y");
    let mut sent = 0u64;
    let err = loop {
        match a.send(sent, &[file.as_fd()]) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 1_000_000, "the queue never filled");
    };
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
    assert!(sent > 0);
}
