//! Helper roles: the one way a bench process starts another copy of a bench binary as a
//! helper (a ping-pong peer, an Electrode renderer, the far side of a peer library's round
//! trip), and the one way such a process learns what to be.
//!
//! The orders (`Orders`: parent pid, CPU, `Role`) travel as JSON in one environment
//! variable, [`ROLE_ENV`], so any binary whose `main` calls [`serve_if_role`] first can be the
//! helper (`electrode-bench`, `bench_peer`, `transport_table`) without its own argument parser
//! being involved. Every helper
//!
//! - dies with the process that started it (`PR_SET_PDEATHSIG`, after checking that its parent
//!   is still the pid in its orders), so a killed benchmark leaves nothing running;
//! - pins itself to its CPU before anything starts a thread (threads started later inherit
//!   the mask);
//! - is killed and reaped when the handle that started it is dropped: a `RoleChild`, or,
//!   for renderers, electrode's `Main`, which is handed a `command`;
//! - says its handshake line on stdout, which the parent waits for with a deadline
//!   (`HANDSHAKE_TIMEOUT`), so a helper that hangs before it is ready is an error, not a
//!   hang.

mod child;
mod wait_mode;

pub(crate) use child::RoleChild;
pub use wait_mode::parse_wait_mode;

use crate::peers::iceoryx2::Poll;
use crate::pingpong::System;
use crate::BenchError;
use electrode::WaitMode;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::os::fd::RawFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The environment variable carrying a helper's `Orders` (JSON).
pub const ROLE_ENV: &str = "ELECTRODE_BENCH_ROLE";

/// Longest wait for a helper's handshake line.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// The handshake line of a helper that is connected and echoing.
pub(crate) const READY: &str = "ready";

/// What a helper process is asked to be.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub(crate) enum Role {
    /// The far side of a [`crate::pingpong`] session: echo for `system`, `payload` bytes per
    /// message, through the inherited `fd` for the systems that need one.
    PingPongPeer {
        /// The transport.
        system: System,
        /// Payload bytes per message.
        payload: usize,
        /// The inherited shared page or socket.
        fd: Option<RawFd>,
    },
    /// An Electrode renderer of [`crate::api`], its blocking calls waiting in `wait_mode`
    /// (or Electrode's default).
    Renderer {
        /// The wait mode, `park` or `<spin ns>:<yield ns>`.
        #[serde(with = "wait_mode::optional")]
        wait_mode: Option<WaitMode>,
    },
    /// The `ipc-channel` echo peer of [`crate::peers`].
    IpcChannelPeer,
    /// The `iceoryx2` echo server of [`crate::peers`], on `service`.
    Iceoryx2Peer {
        /// The service's name.
        service: String,
        /// How the server waits between polls.
        poll: Poll,
    },
    /// The `shmipc` echo server of [`crate::peers`], listening on the Unix socket `socket`.
    ShmipcPeer {
        /// The handshake socket's path.
        socket: String,
    },
}

impl Role {
    /// What the helper is, for messages.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Role::PingPongPeer { .. } => "ping-pong peer",
            Role::Renderer { .. } => "renderer",
            Role::IpcChannelPeer => "ipc-channel peer",
            Role::Iceoryx2Peer { .. } => "iceoryx2 peer",
            Role::ShmipcPeer { .. } => "shmipc peer",
        }
    }
}

/// Everything a helper is told.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Orders {
    /// The pid of the process that started it: it dies with that one.
    pub parent: u32,
    /// The CPU to pin to, if any.
    pub cpu: Option<usize>,
    /// What to be.
    pub role: Role,
}

/// The command that starts `exe` as a helper in `role`, pinned to `cpu`, with its orders in
/// the environment; stdin and stdout are null, stderr is inherited.
///
/// [`RoleChild::spawn`] runs it (and owns the process); a renderer's is handed to
/// `electrode::Main::spawn_renderer`, which owns it.
pub(crate) fn command(exe: &Path, cpu: Option<usize>, role: Role) -> Result<Command, BenchError> {
    let orders = Orders {
        parent: std::process::id(),
        cpu,
        role,
    };
    let json = serde_json::to_string(&orders)
        .map_err(|e| BenchError::io("encoding a helper's orders")(e.into()))?;
    let mut cmd = Command::new(exe);
    cmd.env(ROLE_ENV, json)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    Ok(cmd)
}

/// Let the child of `cmd` inherit `fd` (close-on-exec cleared in the child only).
pub(crate) fn inherit_fd(cmd: &mut Command, fd: RawFd) {
    use std::os::unix::process::CommandExt;
    // SAFETY: runs in the forked child before exec and only calls fcntl, which is
    // async-signal-safe; it allocates nothing and takes no locks.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Whether this process was started as a helper.
pub(crate) fn is_helper() -> bool {
    std::env::var_os(ROLE_ENV).is_some()
}

/// If this process was started as a helper, play its role and exit (status 0 when the role
/// ended normally, 2 on any error, reported on stderr, including orders that do not parse);
/// otherwise return at once.
///
/// Call it first thing in `main` of every bench binary.
pub fn serve_if_role() {
    let Some(raw) = std::env::var_os(ROLE_ENV) else {
        return;
    };
    let code = match play(raw.to_str()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("electrode-bench helper (pid {}): {e}", std::process::id());
            2
        }
    };
    std::process::exit(code);
}

/// The whole `main` of a binary that only plays helper roles (`bench_peer`): returns the exit
/// code for a process started by hand.
pub fn helper_main() -> i32 {
    serve_if_role();
    eprintln!(
        "bench_peer: a helper process of electrode-bench; it is started by the benchmarks \
         (with {ROLE_ENV} set), not by hand."
    );
    2
}

fn play(raw: Option<&str>) -> Result<(), String> {
    let raw = raw.ok_or_else(|| format!("{ROLE_ENV} is not UTF-8"))?;
    let orders: Orders =
        serde_json::from_str(raw).map_err(|e| format!("bad orders in {ROLE_ENV}: {e}"))?;
    die_with_parent(orders.parent).map_err(|e| format!("PR_SET_PDEATHSIG: {e}"))?;
    if let Some(cpu) = orders.cpu {
        crate::pingpong::pin_self(cpu).map_err(|e| format!("pinning to CPU {cpu}: {e}"))?;
    }
    let name = orders.role.name();
    let played = match orders.role {
        Role::PingPongPeer {
            system,
            payload,
            fd,
        } => crate::pingpong::serve_peer(orders.parent, system, payload, fd)
            .map_err(|e| e.to_string()),
        Role::Renderer { wait_mode } => crate::api::serve_renderer(wait_mode),
        Role::IpcChannelPeer => crate::peers::serve_ipc_channel().map_err(|e| e.to_string()),
        Role::Iceoryx2Peer { service, poll } => {
            crate::peers::serve_iceoryx2(&service, poll).map_err(|e| e.to_string())
        }
        Role::ShmipcPeer { socket } => {
            crate::peers::serve_shmipc(&socket).map_err(|e| e.to_string())
        }
    };
    played.map_err(|e| format!("{name}: {e}"))
}

/// Ask the kernel to SIGKILL this process when its parent exits; fails if the parent is not
/// (or no longer) `parent`.
fn die_with_parent(parent: u32) -> io::Result<()> {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and touches no memory of ours.
    let r = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // Checked after the request: a parent gone before it took effect shows here.
    if std::os::unix::process::parent_id() != parent {
        return Err(io::Error::other("the parent process is gone"));
    }
    Ok(())
}

/// Say a handshake line on stdout (to the [`RoleChild`] that started us).
pub(crate) fn say(line: &str) -> Result<(), BenchError> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(BenchError::io("writing a handshake line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_round_trip_through_json() {
        let roles = [
            Role::PingPongPeer {
                system: System::shm_budget(500, 50_000),
                payload: 64,
                fd: Some(7),
            },
            Role::PingPongPeer {
                system: System::UnixSocket,
                payload: 0,
                fd: None,
            },
            Role::Renderer { wait_mode: None },
            Role::Renderer {
                wait_mode: Some(WaitMode::ParkOnly),
            },
            Role::IpcChannelPeer,
            Role::Iceoryx2Peer {
                service: "electrode-bench/1/2".into(),
                poll: Poll::Yield,
            },
            Role::ShmipcPeer {
                socket: "/tmp/electrode-shmipc-0-1-2.sock".into(),
            },
        ];
        for role in roles {
            let o = Orders {
                parent: 42,
                cpu: Some(1),
                role,
            };
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(serde_json::from_str::<Orders>(&json).unwrap(), o, "{json}");
        }
    }

    #[test]
    fn bad_orders_are_refused() {
        assert!(play(None).is_err());
        assert!(play(Some("")).is_err());
        assert!(play(Some(r#"{"parent":1,"cpu":null,"role":{"kind":"nope"}}"#)).is_err());
        let bad_system = r#"{"parent":1,"cpu":null,"role":{"kind":"ping-pong-peer","system":"tcp","payload":64,"fd":null}}"#;
        assert!(play(Some(bad_system)).unwrap_err().contains("tcp"));
    }
}
