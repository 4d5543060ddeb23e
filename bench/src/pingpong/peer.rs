//! The peer process ([`Role::PingPongPeer`](crate::role)): connects, says ready, and echoes
//! until the main process is gone. It is already pinned ([`crate::role::serve_if_role`]).

use super::{busy_spin::SpinSignal, raw_futex::FutexSignal, shared_page};
use super::{port_rings, shm_transport, unix_socket, System, MAX_PAYLOAD};
use crate::role;
use crate::BenchError;
use electrode_shm::PeerProcess;
use std::os::fd::RawFd;

fn say_ready() -> Result<(), BenchError> {
    role::say(role::READY)
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

/// Echo for `system` (`payload` bytes per message, through the inherited `fd` where the
/// system needs one) until `parent`, the main process, is gone.
pub(crate) fn serve_peer(
    parent: u32,
    system: System,
    payload: usize,
    fd: Option<RawFd>,
) -> Result<(), BenchError> {
    if payload > MAX_PAYLOAD {
        return Err(BenchError::Unsupported("payload larger than MAX_PAYLOAD"));
    }
    let fd = || fd.ok_or_else(|| BenchError::wrong("no inherited fd in the orders"));
    match system {
        System::Shm(mode) => shm_transport::serve(mode, say_ready),
        System::PortRings => port_rings::serve(say_ready),
        System::RawFutex => {
            shared_page::serve::<FutexSignal>(fd()?, payload, open_main(parent)?, say_ready)
        }
        System::BusySpin => {
            shared_page::serve::<SpinSignal>(fd()?, payload, open_main(parent)?, say_ready)
        }
        System::UnixSocket => unix_socket::serve(fd()?, payload, say_ready),
    }
}
