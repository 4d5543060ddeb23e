//! Ports crossing between main and one renderer: `WebContents::post_message`'s ends going out,
//! and the ends an `ipcRenderer.postMessage` names coming in (the dispatcher collects them; a
//! missing or mismatched end is a protocol violation, never a wait).
//!
//! An in-process renderer shares main's inbox: the ends move as they are. A renderer process
//! needs the ends' memfds passed on its fd socket, which is not wired yet: such a transfer
//! fails with [`PortError::Transfer`] (and main refuses a renderer process's port records).

use super::broker::Broker;
use super::link::Conn;
use crate::message::ports::PortRecord;
use crate::port::error::PortError;
use crate::port::frame::Moved;
use crate::port::message_port::{check_transfer, collect, move_local, MessagePort};
use crate::wire::ArgsView;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::os::fd::OwnedFd;
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

/// Move `ports` towards the renderer of `conn`; the records name them in the message.
pub(crate) fn send(conn: &Conn, ports: Vec<MessagePort>) -> Result<Vec<Moved>, PortError> {
    check_transfer(&ports, None)?;
    if ports.is_empty() {
        return Ok(Vec::new());
    }
    if !in_process(conn) {
        return Err(PortError::Transfer(
            "ports to a renderer process need the fd channel, not available yet".into(),
        ));
    }
    move_local(ports)
}

/// The ends a renderer's `postMessage` names, collected at once (they were put before the
/// message was written).
pub(crate) fn arrive(conn: &Conn, records: &[PortRecord]) -> Result<Vec<MessagePort>, String> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    if !in_process(conn) {
        return Err("port records from a renderer process (no fd channel yet)".into());
    }
    let moved: Vec<Moved> = records.iter().map(|r| Moved::of(*r)).collect();
    collect(&moved, Instant::now(), None)
}

/// A renderer asks main to forward a port end (not wired yet: a violation).
pub(crate) fn forward(_conn: &Conn, _args: &ArgsView<'_>) -> Result<(), String> {
    Err("port forwarding is not available yet".into())
}

/// A renderer closed a port end that crossed through main (nothing is tracked yet).
pub(crate) fn closed(_conn: &Conn, _args: &ArgsView<'_>) -> Result<(), String> {
    Ok(())
}
