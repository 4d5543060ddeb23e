//! Hidden roles: the report binary (and the criterion benches, through it) re-executes itself
//! as an Electrode renderer or as the far side of a peer library's round trip.
//!
//! The role is the first argument: `electrode-bench __renderer <cpu> [<wait mode>]`,
//! `electrode-bench __ipc-channel-peer <cpu>`, `electrode-bench __iceoryx2-peer <service> <cpu>
//! <spin|yield>`. `<cpu>` is a CPU number or `-` (not pinned). Every role dies with its parent
//! (`PR_SET_PDEATHSIG`), so a killed report leaves nothing running.

use std::io;

/// First argument of an Electrode renderer process ([`crate::api`]).
pub const RENDERER_ROLE: &str = "__renderer";
/// First argument of the `ipc-channel` echo peer ([`crate::peers`]).
pub const IPC_CHANNEL_ROLE: &str = "__ipc-channel-peer";
/// First argument of the `iceoryx2` echo server ([`crate::peers`]).
pub const ICEORYX2_ROLE: &str = "__iceoryx2-peer";

/// If this process was started in a hidden role, play it and exit; otherwise return at once.
///
/// Call it first thing in `main` (after [`crate::pingpong::serve_if_peer`]).
pub fn serve_if_role() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(role) = args.first() else { return };
    let rest = &args[1..];
    let code = match role.as_str() {
        RENDERER_ROLE => crate::api::renderer_main(rest),
        IPC_CHANNEL_ROLE => crate::peers::ipc_channel_peer_main(rest),
        ICEORYX2_ROLE => crate::peers::iceoryx2_peer_main(rest),
        _ => return,
    };
    std::process::exit(code);
}

/// Ask the kernel to SIGKILL this process when its parent exits; fails if the parent is
/// already gone (we were re-parented before the request took effect).
pub(crate) fn die_with_parent() -> io::Result<()> {
    let parent = std::os::unix::process::parent_id();
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and touches no memory of ours.
    let r = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    if parent == 1 || std::os::unix::process::parent_id() != parent {
        return Err(io::Error::other("the parent process is gone"));
    }
    Ok(())
}

/// Parse a `<cpu>` argument: a CPU number, or `-` for none.
pub(crate) fn parse_cpu(arg: Option<&String>) -> Result<Option<usize>, String> {
    match arg.map(String::as_str) {
        None | Some("-") => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| format!("bad cpu argument {s:?}")),
    }
}

/// The `<cpu>` argument for `cpu`.
pub(crate) fn cpu_arg(cpu: Option<usize>) -> String {
    cpu.map_or_else(|| "-".to_string(), |c| c.to_string())
}

/// Pin this (still single-threaded) process to `cpu`; threads started later inherit it.
pub(crate) fn pin_process(cpu: Option<usize>) -> Result<(), String> {
    match cpu {
        None => Ok(()),
        Some(c) => crate::pingpong::pin_self(c).map_err(|e| format!("pinning to CPU {c}: {e}")),
    }
}

/// A wait mode as an argument: `park`, or `<spin ns>:<yield ns>`.
pub(crate) fn wait_mode_arg(m: electrode::WaitMode) -> String {
    match m {
        electrode::WaitMode::ParkOnly => "park".into(),
        electrode::WaitMode::SpinThenPark(b) => {
            format!("{}:{}", b.spin.as_nanos(), b.yield_for.as_nanos())
        }
    }
}

/// Parse a wait mode argument: `park`, or `<spin ns>:<yield ns>`.
pub fn parse_wait_mode(s: &str) -> Result<electrode::WaitMode, String> {
    if s == "park" {
        return Ok(electrode::WaitMode::ParkOnly);
    }
    let bad = || format!("bad wait mode {s:?} (park, or <spin ns>:<yield ns>)");
    let (a, b) = s.split_once(':').ok_or_else(bad)?;
    let ns = |v: &str| {
        v.parse::<u64>()
            .map(std::time::Duration::from_nanos)
            .map_err(|_| bad())
    };
    Ok(electrode::WaitMode::SpinThenPark(electrode::SpinBudget {
        spin: ns(a)?,
        yield_for: ns(b)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_modes_round_trip() {
        for m in [
            electrode::WaitMode::ParkOnly,
            electrode::WaitMode::default(),
            parse_wait_mode("5000:0").unwrap(),
        ] {
            assert_eq!(parse_wait_mode(&wait_mode_arg(m)), Ok(m));
        }
        assert!(parse_wait_mode("5000").is_err());
        assert_eq!(parse_cpu(Some(&"-".to_string())), Ok(None));
        assert_eq!(parse_cpu(Some(&"1".to_string())), Ok(Some(1)));
        assert!(parse_cpu(Some(&"x".to_string())).is_err());
    }
}
