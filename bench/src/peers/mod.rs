//! Round trips through the IPC libraries a user would pick instead of Electrode, measured the
//! same way as [`crate::pingpong`]: main sends a 64-byte message, a real peer process echoes
//! it, main receives and compares the echo; one timestamp pair around each round trip.
//!
//! - [`Library::IpcChannel`]: servo's `ipc-channel` (`IpcSender` / `IpcReceiver` of `Vec<u8>`).
//! - [`Library::Iceoryx2`]: Eclipse iceoryx2's request-response pattern, busy-polling.
//! - [`Library::Shmipc`]: CloudWeGo's `shmipc` (tokio, one stream, V4 eventfd wake-ups).
//!
//! The peer is this executable in a helper role ([`crate::role`]): call
//! [`crate::role::serve_if_role`] first thing in `main`.

pub(crate) mod iceoryx2;
mod ipc_channel;
mod shmipc;

pub(crate) use self::iceoryx2::serve_iceoryx2;
pub(crate) use self::shmipc::serve_shmipc;
pub(crate) use ipc_channel::serve_ipc_channel;

use crate::api::protocol::Payload;
use crate::pingpong::{pin_current_thread, ticks, ticks_to_ns, PinGuard, Placement, Samples};
use crate::BenchError;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Payload bytes of every peer-library round trip.
pub const PEER_PAYLOAD: usize = 64;

/// A peer library.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Library {
    /// servo's `ipc-channel` 0.23.
    IpcChannel,
    /// Eclipse `iceoryx2` 0.10, request-response, busy-polling.
    Iceoryx2,
    /// CloudWeGo `shmipc` 0.2, one stream, protocol V4 with eventfd wake-ups, on tokio.
    Shmipc,
}

impl fmt::Display for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Library::IpcChannel => "ipc-channel",
            Library::Iceoryx2 => "iceoryx2 req/resp",
            Library::Shmipc => "shmipc (eventfd)",
        })
    }
}

enum Backend {
    IpcChannel(ipc_channel::Main),
    Iceoryx2(Box<iceoryx2::Main>),
    Shmipc(Box<shmipc::Main>),
}

/// A running round-trip session with one peer process. Dropping it ends the peer and restores
/// the calling thread's CPU affinity; like [`crate::pingpong::Session`] it stays on the thread
/// that started it.
pub struct PeerSession {
    // Field order is drop order: the peer goes first, then the affinity is restored.
    backend: Backend,
    _pin: Option<PinGuard>,
    seq: u64,
}

impl fmt::Debug for PeerSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerSession")
            .field("seq", &self.seq)
            .finish()
    }
}

impl PeerSession {
    /// Start `library`'s peer from `exe` on `placement`'s peer CPU, then pin this thread to
    /// the main CPU.
    pub fn start(exe: &Path, library: Library, placement: Placement) -> Result<Self, BenchError> {
        let cores = placement.cores();
        let template = Payload::new(PEER_PAYLOAD).args(0);
        let template = template[0]
            .as_bytes()
            .unwrap_or(&[0; PEER_PAYLOAD])
            .to_vec();
        let peer_cpu = cores.map(|(_, p)| p);
        let backend = match library {
            Library::IpcChannel => {
                Backend::IpcChannel(ipc_channel::Main::start(exe, peer_cpu, &template)?)
            }
            Library::Iceoryx2 => {
                let poll = if placement == Placement::SameCore {
                    iceoryx2::Poll::Yield
                } else {
                    iceoryx2::Poll::Spin
                };
                Backend::Iceoryx2(Box::new(iceoryx2::Main::start(
                    exe, peer_cpu, poll, &template,
                )?))
            }
            Library::Shmipc => {
                Backend::Shmipc(Box::new(shmipc::Main::start(exe, peer_cpu, &template)?))
            }
        };
        let pin = cores.map(|(m, _)| pin_current_thread(m)).transpose()?;
        Ok(PeerSession {
            backend,
            _pin: pin,
            seq: 0,
        })
    }

    #[inline]
    fn round_trip(&mut self) -> Result<(), BenchError> {
        self.seq += 1;
        match &mut self.backend {
            Backend::IpcChannel(b) => b.round_trip(self.seq),
            Backend::Iceoryx2(b) => b.round_trip(self.seq),
            Backend::Shmipc(b) => b.round_trip(self.seq),
        }
    }

    /// The peer process's id.
    pub fn peer_pid(&self) -> u32 {
        match &self.backend {
            Backend::IpcChannel(b) => b.peer_pid(),
            Backend::Iceoryx2(b) => b.peer_pid(),
            Backend::Shmipc(b) => b.peer_pid(),
        }
    }

    /// Make `iters` untimed round trips.
    pub fn warm_up(&mut self, iters: u64) -> Result<(), BenchError> {
        for _ in 0..iters {
            self.round_trip()?;
        }
        Ok(())
    }

    /// Time up to `iters` round trips, stopping early after `cap`.
    pub fn measure(&mut self, iters: u64, cap: Option<Duration>) -> Result<Samples, BenchError> {
        let deadline = cap.map(|c| Instant::now() + c);
        let mut ns = Vec::with_capacity(iters.min(1 << 20) as usize);
        for i in 0..iters {
            let t0 = ticks();
            self.round_trip()?;
            let t1 = ticks();
            ns.push(ticks_to_ns(t1.wrapping_sub(t0)));
            if i % 16 == 15 && deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
        }
        Ok(Samples::from_nanos(ns))
    }
}
