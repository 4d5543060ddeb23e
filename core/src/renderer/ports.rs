//! A renderer process's router for port ends leaving it: each end's memfd goes to main on the
//! fd socket (tag = token), then a `PortForward` message names it and the channel it travels
//! through, and only then is the port message written; main passes the memfd on to the holder
//! of the other end. Closing a side whose other side is elsewhere sends `PortClosed`. Ends
//! forwarded to this renderer are read from the same socket, on demand.

use super::connection::Shared;
use super::post::post;
use crate::error::SendError;
use crate::message::body::Body;
use crate::message::envelope::Envelope;
use crate::message::kind::Kind;
use crate::port::error::PortError;
use crate::port::frame::Moved;
use crate::port::local::Identity;
use crate::port::route::Router;
use crate::port::token;
use crate::value::Value;
use electrode_shm::{PortEnd, Side};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Weak;
use std::time::Instant;

/// Routes through main, over one connection.
pub(crate) struct RendererRouter {
    pub shared: Weak<Shared>,
}

fn int(n: u64) -> Value {
    Value::from(n as i64)
}

fn side(s: Side) -> Value {
    Value::from(s as i64)
}

impl Router for RendererRouter {
    fn forward(
        &self,
        carrier: Identity,
        carrier_side: Side,
        token: u64,
        end: PortEnd,
    ) -> Result<(), PortError> {
        let shared = self
            .shared
            .upgrade()
            .ok_or(PortError::Send(SendError::Disconnected))?;
        shared
            .fds
            .send(token, &[end.segment.file().as_fd()])
            .map_err(|e| PortError::Transfer(format!("passing the port's memfd: {e}")))?;
        let fields = [
            int(token),
            side(end.side),
            int(carrier.0),
            int(carrier.1),
            side(carrier_side),
        ];
        post(
            &shared,
            Kind::PortForward,
            &Envelope::default(),
            "",
            Body::Values(&fields),
        )?;
        // Our mapping of the moving end goes now.
        drop(end);
        Ok(())
    }

    fn closed(&self, id: Identity, s: Side) {
        if let Some(shared) = self.shared.upgrade() {
            let fields = [int(id.0), int(id.1), side(s)];
            let _ = post(
                &shared,
                Kind::PortClosed,
                &Envelope::default(),
                "",
                Body::Values(&fields),
            );
        }
    }

    fn recv_fds(&self, deadline: Instant) -> Option<std::io::Result<(u64, Vec<OwnedFd>)>> {
        let shared = self.shared.upgrade()?;
        Some(shared.fds.recv(Some(deadline)))
    }
}

/// Move `ports` to main from a renderer process: each end's memfd on the fd socket (tag =
/// token) before the message naming it; our mapping goes.
pub(crate) fn send_ends(
    shared: &Shared,
    ports: Vec<crate::MessagePort>,
) -> Result<Vec<Moved>, PortError> {
    let mut moved = Vec::with_capacity(ports.len());
    for (index, p) in ports.into_iter().enumerate() {
        let end = p.detach().ok_or(PortError::NotAValidPort { index })?;
        let end = crate::port::message_port::leaving(end, index)?;
        let token = token::fresh();
        shared
            .fds
            .send(token, &[end.segment.file().as_fd()])
            .map_err(|e| PortError::Transfer(format!("passing the port's memfd: {e}")))?;
        moved.push(Moved {
            token,
            side: end.side,
        });
    }
    Ok(moved)
}
