//! Peer library: Eclipse `iceoryx2` (zero-copy shared-memory IPC), request-response messaging
//! pattern between two processes, in its best-latency form: `ipc::Service`, and both sides
//! busy-polling (`Client::send_copy` then `PendingResponse::receive` in a loop; the server
//! `Server::receive` in a loop, answering with `ActiveRequest::send_copy`) rather than
//! sleeping in a `WaitSet`.
//!
//! Waiting: cross-core both sides spin (`spin_loop`); on one core they call `yield_now`
//! between polls instead (spinning would cost a scheduler time slice per hop).
//!
//! Main creates the node, the service (a unique name per session) and the client, then starts
//! the server process, which opens the service, creates its server and prints `ready`. Main
//! ends a session by sending [`QUIT`] so the server drops its node cleanly (no stale files in
//! iceoryx2's directory); a server that does not exit in time is killed.

use crate::role::{self, Role, RoleChild};
use crate::BenchError;
use iceoryx2::port::client::Client;
use iceoryx2::prelude::*;
use iceoryx2::service::port_factory::request_response::PortFactory;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Request and response payload: 64 bytes.
pub(crate) type Msg = [u8; 64];

/// A request that tells the server to exit.
const QUIT: Msg = [0xff; 64];

/// How the two sides wait for the other's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Poll {
    /// `spin_loop` between polls (each side on its own core).
    Spin,
    /// `yield_now` between polls (both on one core).
    Yield,
}

impl Poll {
    #[inline]
    fn idle(self) {
        match self {
            Poll::Spin => std::hint::spin_loop(),
            Poll::Yield => std::thread::yield_now(),
        }
    }
}

fn service_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "electrode-bench/{}/{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// iceoryx2's settings for both sides: its files under a directory of this user's own.
///
/// iceoryx2 keeps node and service files under one root (`/tmp/iceoryx2/` by default), which
/// the first user to run it creates with mode 0750: another user's run then fails with
/// "InternalError". Both processes of a measurement run as the same user, so a root per user
/// is shared by exactly the runs that can share it.
fn config() -> Result<Config, BenchError> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self")
        .map_err(BenchError::io("reading this process's uid"))?
        .uid();
    let root = format!("/tmp/electrode-iceoryx2-{uid}/");
    let mut config = Config::default();
    let path = iceoryx2_bb_system_types::path::Path::new(root.as_bytes())
        .map_err(BenchError::lib("iceoryx2 root path"))?;
    config.global.set_root_path(&path);
    Ok(config)
}

/// Main's side: the client.
pub(crate) struct Main {
    // Field order is drop order: ports, then the service, then the node, then the child.
    client: Client<ipc::Service, Msg, (), Msg, ()>,
    _service: PortFactory<ipc::Service, Msg, (), Msg, ()>,
    _node: Node<ipc::Service>,
    child: RoleChild,
    poll: Poll,
    message: Msg,
}

impl Main {
    pub(crate) fn start(
        exe: &Path,
        peer_cpu: Option<usize>,
        poll: Poll,
        template: &[u8],
    ) -> Result<Main, BenchError> {
        set_log_level(LogLevel::Error);
        let node = NodeBuilder::new()
            .config(&config()?)
            .signal_handling_mode(SignalHandlingMode::Disabled)
            .create::<ipc::Service>()
            .map_err(BenchError::lib("iceoryx2 node"))?;
        let name = service_name();
        let service_name: ServiceName = name
            .as_str()
            .try_into()
            .map_err(BenchError::lib("iceoryx2 service name"))?;
        let service = node
            .service_builder(&service_name)
            .request_response::<Msg, Msg>()
            .create()
            .map_err(BenchError::lib("iceoryx2 service"))?;
        let client = service
            .client_builder()
            .create()
            .map_err(BenchError::lib("iceoryx2 client"))?;
        let role = Role::Iceoryx2Peer {
            service: name,
            poll,
        };
        let mut child = RoleChild::spawn(exe, peer_cpu, role, |_| {})?;
        child.expect(role::READY)?;
        let mut message = [0u8; 64];
        message.copy_from_slice(&template[..64]);
        let mut m = Main {
            client,
            _service: service,
            _node: node,
            child,
            poll,
            message,
        };
        m.connect()?;
        Ok(m)
    }

    /// The first request may go out before the client sees the new server: retry until one
    /// reaches it and comes back.
    fn connect(&mut self) -> Result<(), BenchError> {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            let pending = self
                .client
                .send_copy(self.message)
                .map_err(BenchError::lib("iceoryx2 send"))?;
            if pending.number_of_server_connections() == 0 {
                drop(pending);
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            return self.await_echo(&pending, 0, Some(end));
        }
        Err(BenchError::Timeout("the iceoryx2 server to connect"))
    }

    fn await_echo(
        &mut self,
        pending: &iceoryx2::pending_response::PendingResponse<ipc::Service, Msg, (), Msg, ()>,
        seq: u64,
        deadline: Option<Instant>,
    ) -> Result<(), BenchError> {
        let mut polls = 0u32;
        loop {
            if let Some(r) = pending
                .receive()
                .map_err(BenchError::lib("iceoryx2 receive"))?
            {
                if *r.payload() != self.message {
                    return Err(BenchError::wrong(format!(
                        "iceoryx2 echo of message {seq} differs"
                    )));
                }
                return Ok(());
            }
            self.poll.idle();
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(1 << 16) {
                if !self.child.is_alive() {
                    return Err(BenchError::PeerGone);
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(BenchError::Timeout("an iceoryx2 response"));
                }
            }
        }
    }

    #[inline]
    pub(crate) fn round_trip(&mut self, seq: u64) -> Result<(), BenchError> {
        self.message[..8].copy_from_slice(&seq.to_le_bytes());
        let pending = self
            .client
            .send_copy(self.message)
            .map_err(BenchError::lib("iceoryx2 send"))?;
        self.await_echo(&pending, seq, None)
    }

    /// The server's process id.
    pub(crate) fn peer_pid(&self) -> u32 {
        self.child.pid()
    }
}

impl Drop for Main {
    fn drop(&mut self) {
        if let Ok(p) = self.client.send_copy(QUIT) {
            drop(p);
            self.child.wait_exit(Duration::from_secs(2));
        }
    }
}

/// The server's side: open `service`, say ready, echo every request until [`QUIT`].
pub(crate) fn serve_iceoryx2(service: &str, poll: Poll) -> Result<(), BenchError> {
    set_log_level(LogLevel::Error);
    let node = NodeBuilder::new()
        .config(&config()?)
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<ipc::Service>()
        .map_err(BenchError::lib("iceoryx2 node"))?;
    let service_name: ServiceName = service
        .try_into()
        .map_err(BenchError::lib("iceoryx2 service name"))?;
    let service = node
        .service_builder(&service_name)
        .request_response::<Msg, Msg>()
        .open()
        .map_err(BenchError::lib("iceoryx2 service"))?;
    let server = service
        .server_builder()
        .create()
        .map_err(BenchError::lib("iceoryx2 server"))?;
    role::say(role::READY)?;
    loop {
        match server
            .receive()
            .map_err(BenchError::lib("iceoryx2 receive"))?
        {
            Some(request) => {
                let m = *request.payload();
                if m == QUIT {
                    return Ok(());
                }
                request
                    .send_copy(m)
                    .map_err(BenchError::lib("iceoryx2 send"))?;
            }
            None => poll.idle(),
        }
    }
}
