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

use super::child::RoleChild;
use super::PeerError;
use crate::roles::{self, cpu_arg, ICEORYX2_ROLE};
use iceoryx2::port::client::Client;
use iceoryx2::prelude::*;
use iceoryx2::service::port_factory::request_response::PortFactory;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Request and response payload: 64 bytes.
pub(crate) type Msg = [u8; 64];

/// A request that tells the server to exit.
const QUIT: Msg = [0xff; 64];

/// How the two sides wait for the other's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Poll {
    /// `spin_loop` between polls (each side on its own core).
    Spin,
    /// `yield_now` between polls (both on one core).
    Yield,
}

impl Poll {
    fn arg(self) -> &'static str {
        match self {
            Poll::Spin => "spin",
            Poll::Yield => "yield",
        }
    }

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
    ) -> Result<Main, PeerError> {
        set_log_level(LogLevel::Error);
        let node = NodeBuilder::new()
            .signal_handling_mode(SignalHandlingMode::Disabled)
            .create::<ipc::Service>()
            .map_err(PeerError::lib("iceoryx2 node"))?;
        let name = service_name();
        let service_name: ServiceName = name
            .as_str()
            .try_into()
            .map_err(PeerError::lib("iceoryx2 service name"))?;
        let service = node
            .service_builder(&service_name)
            .request_response::<Msg, Msg>()
            .create()
            .map_err(PeerError::lib("iceoryx2 service"))?;
        let client = service
            .client_builder()
            .create()
            .map_err(PeerError::lib("iceoryx2 client"))?;
        let mut child = RoleChild::spawn(
            exe,
            &[
                ICEORYX2_ROLE.into(),
                name,
                cpu_arg(peer_cpu),
                poll.arg().into(),
            ],
        )?;
        if child.read_line()? != "ready" {
            return Err(PeerError::WrongAnswer(
                "iceoryx2 server did not say ready".into(),
            ));
        }
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
    fn connect(&mut self) -> Result<(), PeerError> {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            let pending = self
                .client
                .send_copy(self.message)
                .map_err(PeerError::lib("iceoryx2 send"))?;
            if pending.number_of_server_connections() == 0 {
                drop(pending);
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            return self.await_echo(&pending, 0, Some(end));
        }
        Err(PeerError::Timeout("the iceoryx2 server to connect"))
    }

    fn await_echo(
        &mut self,
        pending: &iceoryx2::pending_response::PendingResponse<ipc::Service, Msg, (), Msg, ()>,
        seq: u64,
        deadline: Option<Instant>,
    ) -> Result<(), PeerError> {
        let mut polls = 0u32;
        loop {
            if let Some(r) = pending
                .receive()
                .map_err(PeerError::lib("iceoryx2 receive"))?
            {
                if *r.payload() != self.message {
                    return Err(PeerError::WrongAnswer(format!(
                        "iceoryx2 echo of message {seq} differs"
                    )));
                }
                return Ok(());
            }
            self.poll.idle();
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(1 << 16) {
                if !self.child.is_alive() {
                    return Err(PeerError::PeerGone);
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(PeerError::Timeout("an iceoryx2 response"));
                }
            }
        }
    }

    #[inline]
    pub(crate) fn round_trip(&mut self, seq: u64) -> Result<(), PeerError> {
        self.message[..8].copy_from_slice(&seq.to_le_bytes());
        let pending = self
            .client
            .send_copy(self.message)
            .map_err(PeerError::lib("iceoryx2 send"))?;
        self.await_echo(&pending, seq, None)
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

/// The server role (`electrode-bench __iceoryx2-peer <service> <cpu> <spin|yield>`). Returns
/// the exit code.
pub fn iceoryx2_peer_main(args: &[String]) -> i32 {
    match serve(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("electrode-bench iceoryx2 peer: {e}");
            2
        }
    }
}

fn serve(args: &[String]) -> Result<(), String> {
    roles::die_with_parent().map_err(|e| e.to_string())?;
    let name = args.first().ok_or("no service name")?;
    roles::pin_process(roles::parse_cpu(args.get(1))?)?;
    let poll = match args.get(2).map(String::as_str) {
        Some("yield") => Poll::Yield,
        _ => Poll::Spin,
    };
    set_log_level(LogLevel::Error);
    let dbg = |e: &dyn std::fmt::Debug| format!("{e:?}");
    let node = NodeBuilder::new()
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<ipc::Service>()
        .map_err(|e| dbg(&e))?;
    let service_name: ServiceName = name.as_str().try_into().map_err(|e| dbg(&e))?;
    let service = node
        .service_builder(&service_name)
        .request_response::<Msg, Msg>()
        .open()
        .map_err(|e| dbg(&e))?;
    let server = service.server_builder().create().map_err(|e| dbg(&e))?;
    println!("ready");
    loop {
        match server.receive().map_err(|e| dbg(&e))? {
            Some(request) => {
                let m = *request.payload();
                if m == QUIT {
                    return Ok(());
                }
                request.send_copy(m).map_err(|e| dbg(&e))?;
            }
            None => poll.idle(),
        }
    }
}
