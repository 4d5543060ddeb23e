//! `render-process-gone`: why a renderer went away ([`GoneReason`], Electron's reasons plus
//! two of Electrode's) and the details main reports ([`GoneDetails`]).

use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// Why a renderer went away (Electron's `render-process-gone` reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GoneReason {
    /// Exited with status 0.
    CleanExit,
    /// Exited with a non-zero status.
    AbnormalExit,
    /// Killed by SIGKILL or SIGTERM.
    Killed,
    /// Died of another signal (SIGSEGV, SIGABRT, ...).
    Crashed,
    /// Disconnected by main for breaking the protocol (Electrode's addition).
    IntegrityFailure,
    /// An in-process renderer was dropped (Electrode's addition).
    Disconnected,
}

impl GoneReason {
    /// Electron's spelling (`clean-exit`, `killed`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            GoneReason::CleanExit => "clean-exit",
            GoneReason::AbnormalExit => "abnormal-exit",
            GoneReason::Killed => "killed",
            GoneReason::Crashed => "crashed",
            GoneReason::IntegrityFailure => "integrity-failure",
            GoneReason::Disconnected => "disconnected",
        }
    }

    /// The reason an exit status gives.
    pub(crate) fn of_status(status: ExitStatus) -> GoneReason {
        match (status.code(), status.signal()) {
            (Some(0), _) => GoneReason::CleanExit,
            (Some(_), _) => GoneReason::AbnormalExit,
            (None, Some(sig)) if sig == 9 || sig == 15 => GoneReason::Killed,
            _ => GoneReason::Crashed,
        }
    }
}

impl fmt::Display for GoneReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Details of `render-process-gone`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoneDetails {
    /// Why.
    pub reason: GoneReason,
    /// The exit code, or the signal number for signal deaths (as Electron reports).
    pub exit_code: i32,
}

/// Electron's `exitCode`: the exit status, or the signal number.
pub(crate) fn exit_code(status: ExitStatus) -> i32 {
    status.code().or(status.signal()).unwrap_or(-1)
}
