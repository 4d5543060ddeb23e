//! The peer process: reads its orders from the environment (see `handoff`), pins itself,
//! connects, says ready, and echoes until the main process is gone.

use super::handoff::{CPU_ENV, FD_ENV, PARENT_ENV, PAYLOAD_ENV, READY, ROLE_ENV, SYSTEM_ENV};
use super::{affinity, shm_transport, unix_socket, BenchError, System, MAX_PAYLOAD};
use super::{busy_spin::SpinSignal, raw_futex::FutexSignal, shared_page};
use electrode_shm::PeerProcess;
use std::io::Write;

/// Whether this process was started as a ping-pong peer.
pub(crate) fn is_peer_process() -> bool {
    std::env::var_os(ROLE_ENV).is_some_and(|v| v == "peer")
}

/// If this process was started as a ping-pong peer, serve and exit; otherwise return at once.
///
/// Call it first thing in `main` of any binary that runs [`Session::start`](super::Session)
/// or [`run`](super::run) without naming another peer executable: the session re-executes
/// the current binary as its peer.
pub fn serve_if_peer() {
    if is_peer_process() {
        std::process::exit(peer_main());
    }
}

fn var(name: &'static str) -> Result<String, BenchError> {
    std::env::var(name).map_err(|_| BenchError::Protocol(name))
}

fn parse<T: std::str::FromStr>(name: &'static str) -> Result<T, BenchError> {
    var(name)?.parse().map_err(|_| BenchError::Protocol(name))
}

fn say_ready() -> Result<(), BenchError> {
    let mut out = std::io::stdout().lock();
    out.write_all(READY)
        .and_then(|()| out.flush())
        .map_err(|e| BenchError::io("writing ready", e))
}

/// A handle on the main process, opened only while it is still our parent (so the pid cannot
/// have been reused for someone else).
fn open_main(parent: u32) -> Result<PeerProcess, BenchError> {
    let p = PeerProcess::open(parent).map_err(|_| BenchError::PeerGone)?;
    if std::os::unix::process::parent_id() != parent {
        return Err(BenchError::PeerGone);
    }
    Ok(p)
}

fn serve() -> Result<(), BenchError> {
    let system = System::parse(&var(SYSTEM_ENV)?).ok_or(BenchError::Protocol(SYSTEM_ENV))?;
    let payload: usize = parse(PAYLOAD_ENV)?;
    if payload > MAX_PAYLOAD {
        return Err(BenchError::Protocol(PAYLOAD_ENV));
    }
    let parent: u32 = parse(PARENT_ENV)?;
    match var(CPU_ENV)?.as_str() {
        "-" => {}
        cpu => {
            let cpu: usize = cpu.parse().map_err(|_| BenchError::Protocol(CPU_ENV))?;
            affinity::pin_self(cpu).map_err(|e| BenchError::io("sched_setaffinity", e))?;
        }
    }
    match system {
        System::Shm(mode) => shm_transport::serve(mode, say_ready),
        System::RawFutex => shared_page::serve::<FutexSignal>(
            parse(FD_ENV)?,
            payload,
            open_main(parent)?,
            say_ready,
        ),
        System::BusySpin => {
            shared_page::serve::<SpinSignal>(parse(FD_ENV)?, payload, open_main(parent)?, say_ready)
        }
        System::UnixSocket => unix_socket::serve(parse(FD_ENV)?, payload, say_ready),
    }
}

/// Run the peer role (the `bench_peer` binary's whole `main`). Returns the exit code: 0 once
/// the main process is gone, 2 on any error (reported on stderr).
pub fn peer_main() -> i32 {
    if !is_peer_process() {
        eprintln!(
            "bench_peer: the ping-pong peer of electrode-bench; it is started by \
             electrode_bench::pingpong::Session, not by hand."
        );
        return 2;
    }
    match serve() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bench_peer: {e}");
            2
        }
    }
}
