//! Ports in transit: checking a transfer list, moving ends inside the process or through main,
//! and collecting the ends a received message names.

use super::error::PortError;
use super::frame;
use super::inbox::{inbox, Arrival, Pull};
use super::local::Identity;
use super::message_port::MessagePort;
use super::route;
use super::token;
use electrode_shm::{PortEnd, PortSegment, Side};
use std::time::Instant;

/// Check a transfer list before anything moves: every port open, none of the sender's own
/// channel.
pub(crate) fn check_transfer(
    ports: &[MessagePort],
    source: Option<Identity>,
) -> Result<(), PortError> {
    for (index, p) in ports.iter().enumerate() {
        if !p.is_open() {
            return Err(PortError::Neutered { index });
        }
        if source == Some(p.core.id) {
            return Err(PortError::ContainsSource { index });
        }
    }
    Ok(())
}

/// Move ports inside this process: each end goes to the inbox under a fresh token.
pub(crate) fn move_local(ports: Vec<MessagePort>) -> Result<Vec<frame::Moved>, PortError> {
    let mut records = Vec::with_capacity(ports.len());
    for (index, p) in ports.into_iter().enumerate() {
        let Some(end) = p.detach() else {
            for r in &records {
                let r: &frame::Moved = r;
                inbox().discard(r.token);
            }
            return Err(PortError::NotAValidPort { index });
        };
        let token = token::fresh();
        let side = end.side;
        inbox().put(token, Arrival::Local(Box::new(end)));
        records.push(frame::Moved { token, side });
    }
    Ok(records)
}

/// Send ports through main to the process holding the peer of `carrier`'s `side` (each end's
/// memfd goes first, then the message naming it is written).
pub(crate) fn forward(
    ports: Vec<MessagePort>,
    carrier: Identity,
    side: Side,
) -> Result<Vec<frame::Moved>, PortError> {
    let router = route::router().ok_or_else(|| {
        PortError::Transfer(
            "the port's other end is in another process, and no route leads there".into(),
        )
    })?;
    let mut records = Vec::with_capacity(ports.len());
    for (index, p) in ports.into_iter().enumerate() {
        let Some(end) = p.detach() else {
            return Err(PortError::NotAValidPort { index });
        };
        let end = leaving(end, index)?;
        let token = token::fresh();
        let moved = frame::Moved {
            token,
            side: end.side,
        };
        router.forward(carrier, side, token, end)?;
        records.push(moved);
    }
    Ok(records)
}

/// Collect the ends a port message names, from this process's inbox (fed by local moves and,
/// through the router, by the fd socket), waiting until `deadline`.
pub(crate) fn collect_routed(
    records: &[frame::Moved],
    deadline: Instant,
) -> Result<Vec<MessagePort>, String> {
    let router = route::router();
    let pull = |d: Instant| router.as_ref().and_then(|r| r.recv_fds(d));
    collect(
        records,
        deadline,
        router.as_ref().map(|_| &pull as Pull<'_>),
    )
}

/// Collect the ends a received message names, waiting until `deadline` for each (reading
/// records with `pull` if given). A missing or invalid one fails the whole message (the ends
/// that did arrive are closed).
pub(crate) fn collect(
    records: &[frame::Moved],
    deadline: Instant,
    pull: Option<Pull<'_>>,
) -> Result<Vec<MessagePort>, String> {
    let mut ports = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        match arrive(i, r, deadline, pull) {
            Ok(p) => ports.push(p),
            Err(why) => {
                // The ends after it will not be collected either: close them now.
                for later in &records[i + 1..] {
                    inbox().discard(later.token);
                }
                return Err(why);
            }
        }
    }
    Ok(ports)
}

// A port moves between threads and is used through `&self` from several (listeners, senders).

/// One end a message names, from the inbox.
fn arrive(
    i: usize,
    r: &frame::Moved,
    deadline: Instant,
    pull: Option<Pull<'_>>,
) -> Result<MessagePort, String> {
    match inbox().take(r.token, deadline, pull) {
        Some(Arrival::Local(end)) if end.side == r.side => Ok(MessagePort::from_end(*end)),
        Some(Arrival::Local(end)) => {
            end.close();
            Err(format!("port {i} arrived as the other side of its channel"))
        }
        Some(Arrival::Fd(fd)) => {
            let segment = PortSegment::open(std::fs::File::from(fd))
                .map_err(|e| format!("port {i} of the message: {e}"))?;
            let end = segment
                .end(r.side)
                .map_err(|e| format!("port {i} of the message: {e}"))?;
            Ok(MessagePort::from_end(end))
        }
        None => Err(format!("port {i} of the message never arrived")),
    }
}

/// An end about to leave the process: one caught in the middle of receiving a chunked
/// message cannot resume elsewhere, so it is closed instead (the other end gets `close`).
pub(crate) fn leaving(end: PortEnd, index: usize) -> Result<PortEnd, PortError> {
    if end.rx.is_mid_message() {
        end.close();
        return Err(PortError::NotAValidPort { index });
    }
    Ok(end)
}
