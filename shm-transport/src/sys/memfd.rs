//! Anonymous shared memory: `memfd_create(2)` with seals, and clearing close-on-exec so a
//! spawned child inherits exactly the fds it is given.

use nix::fcntl::{fcntl, FcntlArg, FdFlag, SealFlag};
use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// Create a sealed-size anonymous memory file of `len` bytes (zero-filled).
///
/// The size is sealed (`F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`): a peer that holds the fd
/// cannot truncate it under our mapping (which would turn our reads into `SIGBUS`).
pub(crate) fn create(name: &str, len: u64) -> io::Result<File> {
    let cname = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let fd = memfd_create(
        &cname,
        MemFdCreateFlag::MFD_CLOEXEC | MemFdCreateFlag::MFD_ALLOW_SEALING,
    )?;
    let file = File::from(fd);
    file.set_len(len)?;
    fcntl(
        file.as_raw_fd(),
        FcntlArg::F_ADD_SEALS(
            SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL,
        ),
    )?;
    Ok(file)
}

/// Check that `file` is a memfd whose size is sealed as [`create`] seals it.
pub(crate) fn check_sealed(file: &File) -> io::Result<bool> {
    let seals = fcntl(file.as_raw_fd(), FcntlArg::F_GET_SEALS)?;
    let need = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW;
    Ok(seals & need == need)
}

/// Set or clear `FD_CLOEXEC` on `fd`.
pub(crate) fn set_cloexec(fd: RawFd, on: bool) -> io::Result<()> {
    let flags = if on {
        FdFlag::FD_CLOEXEC
    } else {
        FdFlag::empty()
    };
    fcntl(fd, FcntlArg::F_SETFD(flags))?;
    Ok(())
}
