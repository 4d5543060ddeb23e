//! Process hardening: keep other processes of the same user out of this one.
//!
//! A segment is reachable only through a file descriptor, but a same-user process could still
//! reopen another process's descriptors through `/proc/<pid>/fd/*`, read its mappings through
//! `/proc/<pid>/map_files/*` or `/proc/<pid>/mem`, or take a descriptor with `pidfd_getfd(2)`:
//! each of those needs ptrace access to the target. A non-dumpable process grants that access
//! only to holders of `CAP_SYS_PTRACE` (root), and its `/proc/<pid>` entries are owned by root.

use std::io;

/// Make this process non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`): other processes of the same
/// user can then no longer open its file descriptors or read its memory through `/proc` or
/// `ptrace` (root still can). Also disables core dumps. Electrode calls it in main when it
/// starts and in a renderer when it connects.
///
/// The attribute is reset to the default by `execve` of a new program, so every process of an
/// application must call this itself.
pub fn harden_process() -> io::Result<()> {
    nix::sys::prctl::set_dumpable(false)?;
    Ok(())
}

/// Whether this process is dumpable (`prctl(PR_GET_DUMPABLE)`).
pub fn is_dumpable() -> io::Result<bool> {
    Ok(nix::sys::prctl::get_dumpable()?)
}
