//! Ports crossing between main and its renderers: `WebContents::post_message`'s ends going
//! out, the ends an `ipcRenderer.postMessage` names coming in, and the forwards a renderer asks
//! for (a port inside a port message whose receiving end is in another process). The ends
//! travel as their memfds on the connection's fd socket (tag = token), always before the ring
//! message naming them; the broker ([`broker`](super::broker)) records who holds each side.
//!
//! An in-process renderer shares main's inbox: its ends move as they are. Main never waits
//! for a renderer's fd record: one that is not already in the socket when its message is read
//! is a protocol violation.

use super::broker::{self, Broker, Holder, Refused};
use super::link::Conn;
use crate::message::ports::PortRecord;
use crate::port::error::PortError;
use crate::port::frame::Moved;
use crate::port::inbox::{inbox, Arrival};
use crate::port::local::Identity;
use crate::port::message_port::{check_transfer, collect, leaving, move_local, MessagePort};
use crate::port::route::Router;
use crate::port::token;
use crate::wire::ArgsView;
use electrode_shm::{FdSocket, PortEnd, PortSegment, Side};
use parking_lot::{MappedMutexGuard, Mutex, MutexGuard};
use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::Instant;

/// Most fd records main keeps for one renderer ahead of the messages naming them.
pub(crate) const MAX_STASHED: usize = 64;

/// What main keeps about ports for one connection.
pub(crate) struct ConnPorts {
    /// The broker of the `Main` this connection belongs to.
    pub broker: Arc<Mutex<Broker>>,
    /// Fd records read ahead of the message naming them (two threads of the renderer may
    /// send in either order).
    pub stash: Mutex<HashMap<u64, OwnedFd>>,
}

impl ConnPorts {
    pub(crate) fn new(broker: Arc<Mutex<Broker>>) -> ConnPorts {
        ConnPorts {
            broker,
            stash: Mutex::new(HashMap::new()),
        }
    }
}

/// Whether the renderer runs on threads of this process.
fn in_process(conn: &Conn) -> bool {
    conn.pid == std::process::id() && conn.child.lock().is_none()
}

/// The renderer's fd socket (locked: it goes with the link when the renderer is gone).
fn socket(conn: &Conn) -> Result<MappedMutexGuard<'_, FdSocket>, String> {
    MutexGuard::try_map(conn.fds.lock(), |f| f.as_mut())
        .map_err(|_| "the renderer has no fd socket (gone)".to_string())
}

/// Send `end` to the renderer of `conn` under `token` (its memfd on the fd socket) and record
/// that it holds that side now.
fn send_end(conn: &Conn, token: u64, end: PortEnd, from: Holder) -> Result<(), PortError> {
    let to = Holder::Renderer(conn.id);
    conn.ports
        .broker
        .lock()
        .moved(&end.segment, end.side, from, to)
        .map_err(|r| PortError::Transfer(refusal(r)))?;
    let sock = socket(conn).map_err(PortError::Transfer)?;
    sock.send(token, &[end.segment.file().as_fd()])
        .map_err(|e| PortError::Transfer(format!("passing the port's memfd: {e}")))?;
    // Our mapping goes with `end`; the broker keeps its own handle.
    Ok(())
}

fn refusal(r: Refused) -> String {
    match r {
        Refused::TooMany => {
            "the renderer would hold more ports than main allows (max_ports_per_renderer)".into()
        }
        Refused::NotHeld => "the renderer does not hold that port".into(),
    }
}

/// Move `ports` towards the renderer of `conn`; the records name them in the message.
pub(crate) fn send(conn: &Conn, ports: Vec<MessagePort>) -> Result<Vec<Moved>, PortError> {
    check_transfer(&ports, None)?;
    if ports.is_empty() {
        return Ok(Vec::new());
    }
    if in_process(conn) {
        return move_local(ports);
    }
    let mut moved = Vec::with_capacity(ports.len());
    for (index, p) in ports.into_iter().enumerate() {
        let end = p.detach().ok_or(PortError::NotAValidPort { index })?;
        let end = leaving(end, index)?;
        let token = token::fresh();
        let side = end.side;
        send_end(conn, token, end, Holder::Main)?;
        moved.push(Moved { token, side });
    }
    Ok(moved)
}

/// Read the fd record named `token` from the renderer's socket now (it was sent before the
/// message naming it); records for other tokens are kept for their messages.
fn take_now(conn: &Conn, token: u64) -> Result<OwnedFd, String> {
    let mut stash = conn.ports.stash.lock();
    if let Some(fd) = stash.remove(&token) {
        return Ok(fd);
    }
    let sock = socket(conn)?;
    loop {
        let (tag, fds) = sock
            .recv(Some(Instant::now()))
            .map_err(|e| format!("no fd record for a port the message names ({e})"))?;
        let Some(fd) = fds.into_iter().next() else {
            return Err("an fd record without an fd".into());
        };
        if tag == token {
            return Ok(fd);
        }
        if stash.len() >= MAX_STASHED {
            return Err(format!(
                "more than {MAX_STASHED} fd records ahead of their messages"
            ));
        }
        stash.insert(tag, fd);
    }
}

/// The ends a renderer's `postMessage` names, collected at once.
pub(crate) fn arrive(conn: &Conn, records: &[PortRecord]) -> Result<Vec<MessagePort>, String> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let moved: Vec<Moved> = records.iter().map(|r| Moved::of(*r)).collect();
    if in_process(conn) {
        return collect(&moved, Instant::now(), None);
    }
    let mut ports = Vec::with_capacity(moved.len());
    for (i, m) in moved.iter().enumerate() {
        let fd = take_now(conn, m.token)?;
        let segment =
            PortSegment::open(std::fs::File::from(fd)).map_err(|e| format!("port {i}: {e}"))?;
        conn.ports
            .broker
            .lock()
            .moved(&segment, m.side, Holder::Renderer(conn.id), Holder::Main)
            .map_err(refusal)?;
        let end = segment.end(m.side).map_err(|e| format!("port {i}: {e}"))?;
        ports.push(MessagePort::from_end(end));
    }
    Ok(ports)
}

fn int(args: &ArgsView<'_>, i: usize) -> Result<u64, String> {
    args.get(i)
        .and_then(|v| v.as_i64())
        .map(|n| n as u64)
        .ok_or_else(|| format!("port control field {i} is not an integer"))
}

fn side(n: u64) -> Result<Side, String> {
    match n {
        0 => Ok(Side::A),
        1 => Ok(Side::B),
        _ => Err(format!("port side {n}")),
    }
}

/// `PortForward [token, side, dev, ino, carrier side]`: the renderer sends an end through the
/// channel `(dev, ino)`, whose `carrier side` it holds; main passes the end's memfd on to the
/// holder of the other side.
pub(crate) fn forward(conn: &Conn, args: &ArgsView<'_>) -> Result<(), String> {
    if args.len() != 5 {
        return Err(format!("PortForward with {} fields", args.len()));
    }
    let token = int(args, 0)?;
    let moving = side(int(args, 1)?)?;
    let carrier: Identity = (int(args, 2)?, int(args, 3)?);
    let carrier_side = side(int(args, 4)?)?;
    let fd = take_now(conn, token)?;
    let file = std::fs::File::from(fd);
    let target = conn
        .ports
        .broker
        .lock()
        .peer_of(carrier, carrier_side, conn.id)
        .map_err(refusal)?;
    let segment = PortSegment::open(file.try_clone().map_err(|e| e.to_string())?)
        .map_err(|e| format!("forwarded port: {e}"))?;
    let from = Holder::Renderer(conn.id);
    match target {
        Holder::Renderer(t) => {
            let Some(dest) = broker::conn_of(&conn.ports.broker, t) else {
                return Ok(()); // gone meanwhile: the end closes with our handle
            };
            let mut b = conn.ports.broker.lock();
            if let Err(r) = b.moved(&segment, moving, from, Holder::Renderer(t)) {
                drop(b);
                tracing::warn!(renderer = t, "port forward refused: {}", refusal(r));
                segment.mark_closed(moving);
                return Ok(());
            }
            drop(b);
            let sent = socket(&dest)
                .and_then(|sock| sock.send(token, &[file.as_fd()]).map_err(|e| e.to_string()));
            if let Err(e) = sent {
                tracing::warn!(renderer = t, "port forward failed: {e}");
            }
        }
        Holder::Main => {
            conn.ports
                .broker
                .lock()
                .moved(&segment, moving, from, Holder::Main)
                .map_err(refusal)?;
            inbox().put(token, Arrival::Fd(file.into()));
        }
        Holder::Closed => segment.mark_closed(moving),
    }
    Ok(())
}

/// `PortClosed [dev, ino, side]`: the renderer closed its side of a channel.
pub(crate) fn closed(conn: &Conn, args: &ArgsView<'_>) -> Result<(), String> {
    if args.len() != 3 {
        return Err(format!("PortClosed with {} fields", args.len()));
    }
    let id: Identity = (int(args, 0)?, int(args, 1)?);
    let s = side(int(args, 2)?)?;
    conn.ports.broker.lock().closed(id, s, conn.id);
    Ok(())
}

/// Main's router: a port inside a message on a port main holds, whose other end is in a
/// renderer, goes to that renderer's fd socket.
pub(crate) struct MainRouter;

impl Router for MainRouter {
    fn forward(
        &self,
        carrier: Identity,
        carrier_side: Side,
        token: u64,
        end: PortEnd,
    ) -> Result<(), PortError> {
        let Some((dest, _)) = broker::find_holder(carrier, carrier_side.other()) else {
            return Err(PortError::Transfer(
                "main does not know where the port's other end is".into(),
            ));
        };
        send_end(&dest, token, end, Holder::Main)
    }

    fn closed(&self, _id: Identity, _side: Side) {
        // Main's own sides are swept by their closed words.
    }

    fn recv_fds(
        &self,
        _deadline: Instant,
    ) -> Option<std::io::Result<(u64, Vec<std::os::fd::OwnedFd>)>> {
        None
    }
}
