//! A port message in a port's ring: a `PostMessage` message (`message::ports`), written
//! straight into the ring's reservation when it fits a frame or the bulk area, else in chunks;
//! and, on receipt, validated (`Head::parse`, the wire validator, the port records) from a
//! private copy before anything is acted on.

use super::error::PortError;
use super::message_port::{collect_routed, PortMessageRef, TypedRef, ARRIVAL_TIMEOUT, PORT_WAIT};
use crate::error::SendError;
use crate::message::body::Body;
use crate::message::body::Data;
use crate::message::decode::Head;
use crate::message::encode;
use crate::message::envelope::Envelope;
use crate::message::kind::Kind;
use crate::message::ports::{self, PortRecord};
use crate::value::Value;
use crate::wire::ValueRef;
use electrode_shm::Side;
use electrode_shm::{Futex, Producer};

/// A port end that moved: the token naming it and its side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Moved {
    pub token: u64,
    pub side: Side,
}

impl Moved {
    pub(crate) fn record(self) -> PortRecord {
        PortRecord {
            token: self.token,
            side: self.side as u8,
        }
    }

    pub(crate) fn of(r: PortRecord) -> Moved {
        Moved {
            token: r.token,
            side: if r.side == 0 { Side::A } else { Side::B },
        }
    }
}

/// The trailer naming `moved`.
pub(crate) fn trailer(moved: &[Moved]) -> Vec<u8> {
    let records: Vec<PortRecord> = moved.iter().map(|m| m.record()).collect();
    ports::encode(&records)
}

/// What a port message carries.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Outgoing<'a> {
    /// One `Value`.
    Value(&'a Value),
    /// A typed channel's archive.
    Archive { bytes: &'a [u8], fingerprint: u64 },
}

/// Write one port message into `tx` (blocking while the ring is full).
pub(crate) fn post(
    tx: &mut Producer<Futex>,
    out: Outgoing<'_>,
    moved: &[Moved],
) -> Result<(), PortError> {
    let trailer = trailer(moved);
    let (body, fingerprint) = match out {
        Outgoing::Value(v) => (Body::Ported(std::slice::from_ref(v), &trailer), 0),
        Outgoing::Archive { bytes, fingerprint } => {
            (Body::PortedArchive(bytes, &trailer), fingerprint)
        }
    };
    let env = Envelope {
        request_id: moved.len() as u64,
        fingerprint,
        ..Envelope::default()
    };
    let planned = encode::plan("", body)?;
    let hint = planned.len();
    let tag = Kind::PostMessage as u16;
    let meta = env.request_id;
    if hint <= tx.max_frame_payload() {
        let mut g = tx.reserve(hint, PORT_WAIT, None).map_err(ring_error)?;
        let n = planned.write(&env, "", body, g.as_mut_slice())?;
        g.commit(n, tag, meta);
        return Ok(());
    }
    if hint <= tx.max_bulk() {
        let mut g = tx.reserve_bulk(hint, PORT_WAIT, None).map_err(ring_error)?;
        let n = planned.write(&env, "", body, g.as_mut_slice())?;
        g.commit(n, tag, meta);
        return Ok(());
    }
    let bytes = planned.to_vec(&env, "", body)?;
    tx.send(tag, meta, &bytes, PORT_WAIT, None)
        .map_err(ring_error)
}

fn ring_error(e: electrode_shm::SendError) -> PortError {
    match e {
        electrode_shm::SendError::PeerGone => PortError::PeerClosed,
        electrode_shm::SendError::TimedOut => PortError::Send(SendError::Full),
        electrode_shm::SendError::Corrupt(c) => PortError::Broken(c.to_string()),
        electrode_shm::SendError::TooLarge => PortError::Send(SendError::TooLarge {
            size: 0,
            limit: crate::MAX_MESSAGE_LEN,
        }),
    }
}

/// Read a port message (frame `tag`, `bytes` a private 16-aligned copy): validate it, then
/// collect the ports it names; the message is lent (read in place from `bytes`).
pub(crate) fn lend(tag: u16, bytes: &[u8]) -> Result<PortMessageRef<'_>, String> {
    let head = Head::parse(tag, bytes).map_err(|r| r.why)?;
    if head.kind != Kind::PostMessage {
        return Err(format!("{:?} in a port's ring", head.kind));
    }
    let (payload, records) = head.ported_payload()?;
    let (data, typed) = match payload.data {
        Data::Values(view) => (view.get(0).unwrap_or(ValueRef::Null), None),
        Data::Archive(bytes) => (
            ValueRef::Null,
            Some(TypedRef {
                fingerprint: payload.fingerprint,
                bytes,
            }),
        ),
    };
    // Most messages carry no port: no allocation and no router lookup for them.
    let ports = if records.is_empty() {
        Vec::new()
    } else {
        let moved: Vec<Moved> = records.into_iter().map(Moved::of).collect();
        collect_routed(&moved, std::time::Instant::now() + ARRIVAL_TIMEOUT)?
    };
    Ok(PortMessageRef { data, ports, typed })
}
