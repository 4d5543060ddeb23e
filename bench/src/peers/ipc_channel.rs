//! Peer library: servo's `ipc-channel` (typed channels over Unix sockets, serialized with
//! bincode), used as a user would for request/response between two processes.
//!
//! Bootstrap: the peer opens an `IpcOneShotServer` and prints its name; main connects an
//! `IpcSender` to it and sends the peer two channel ends, a request receiver and a response
//! sender. Round trip: main sends a 64-byte `Vec<u8>` on the request channel, the peer
//! receives it and sends it back on the response channel, main receives and compares it.
//! The peer ([`Role::IpcChannelPeer`]) exits when the request channel closes (main gone) or,
//! failing that, by `PR_SET_PDEATHSIG`.

use crate::role::{self, Role, RoleChild};
use crate::BenchError;
use ipc_channel::ipc::{self, IpcOneShotServer, IpcReceiver, IpcSender};
use std::path::Path;

type Bootstrap = (IpcReceiver<Vec<u8>>, IpcSender<Vec<u8>>);

/// Main's side.
pub(crate) struct Main {
    // Field order is drop order: the channels close first, so the peer exits by itself.
    requests: IpcSender<Vec<u8>>,
    responses: IpcReceiver<Vec<u8>>,
    message: Vec<u8>,
    child: RoleChild,
}

impl Main {
    pub(crate) fn start(
        exe: &Path,
        peer_cpu: Option<usize>,
        template: &[u8],
    ) -> Result<Main, BenchError> {
        let mut child = RoleChild::spawn(exe, peer_cpu, Role::IpcChannelPeer, |_| {})?;
        let name = child.read_line()?;
        let boot: IpcSender<Bootstrap> =
            IpcSender::connect(name).map_err(BenchError::io("ipc-channel connect"))?;
        let (req_tx, req_rx) = ipc::channel().map_err(BenchError::io("ipc-channel channel"))?;
        let (resp_tx, resp_rx) = ipc::channel().map_err(BenchError::io("ipc-channel channel"))?;
        boot.send((req_rx, resp_tx))
            .map_err(BenchError::lib("ipc-channel bootstrap send"))?;
        Ok(Main {
            requests: req_tx,
            responses: resp_rx,
            message: template.to_vec(),
            child,
        })
    }

    #[inline]
    pub(crate) fn round_trip(&mut self, seq: u64) -> Result<(), BenchError> {
        self.message[..8].copy_from_slice(&seq.to_le_bytes());
        self.requests
            .send(self.message.clone())
            .map_err(|_| BenchError::PeerGone)?;
        let echo = self.responses.recv().map_err(|_| BenchError::PeerGone)?;
        if echo != self.message {
            return Err(BenchError::wrong(format!(
                "ipc-channel echo of message {seq} differs"
            )));
        }
        Ok(())
    }

    /// The peer's process id.
    pub(crate) fn peer_pid(&self) -> u32 {
        self.child.pid()
    }
}

/// The peer's side: say the one-shot server's name, accept the two channel ends, echo until
/// the request channel closes.
pub(crate) fn serve_ipc_channel() -> Result<(), BenchError> {
    let (server, name) = IpcOneShotServer::<Bootstrap>::new()
        .map_err(BenchError::lib("ipc-channel one-shot server"))?;
    role::say(&name)?;
    let (_, (requests, responses)) = server
        .accept()
        .map_err(BenchError::lib("ipc-channel accept"))?;
    // Ends when main closes the request channel.
    while let Ok(m) = requests.recv() {
        responses
            .send(m)
            .map_err(BenchError::lib("ipc-channel send"))?;
    }
    Ok(())
}
