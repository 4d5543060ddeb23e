//! Syscall shims: the only place that talks to the kernel directly.
//!
//! Each function translates `errno` into [`std::io::Error`]; nothing here panics on a syscall
//! failure.

pub(crate) mod fdpass;
pub(crate) mod futex;
pub(crate) mod hardening;
pub(crate) mod memfd;
pub(crate) mod pidfd;
