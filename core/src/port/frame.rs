//! A port message in a port's ring, in one of three forms, written straight into the ring's
//! reservation when it fits a frame or the bulk area, else in chunks:
//!
//! - a `PostMessage` message (`message::ports`): envelope, one `Value`, port records;
//! - [`TAG_BYTES`]: a message that is one byte string ([`Value::Bytes`]) and carries no port:
//!   the frame is the bytes, nothing else (no envelope, no wire encoding);
//! - [`TAG_ARCHIVE`]: a typed channel's message that carries no port: a 16-byte head (the
//!   channel's fingerprint, then a zero word) and the archive, 16-aligned in the copy.
//!
//! On receipt every form is validated from a private copy before anything is acted on
//! (`Head::parse`, the wire validator and the port records for the first; the head for the
//! last, whose archive its typed channel validates; bytes are bytes). The two raw tags are
//! only valid in a port's rings: `Kind::from_tag` does not know them, so a renderer that
//! writes one into its ring to main is refused like any unknown kind.

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

/// Frame tag of a port message that is one byte string and carries no port.
pub(crate) const TAG_BYTES: u16 = 43;
/// Frame tag of a typed port message that carries no port (fingerprint, zero, archive).
pub(crate) const TAG_ARCHIVE: u16 = 44;
/// Bytes before a [`TAG_ARCHIVE`] message's archive: its start stays 16-aligned.
const ARCHIVE_HEAD: usize = 16;

// Neither raw tag may name a message kind of the renderer's rings.
const _: () = assert!(TAG_BYTES > Kind::PortClosed as u16 && TAG_ARCHIVE > TAG_BYTES);

/// Write one port message into `tx` (blocking while the ring is full).
pub(crate) fn post(
    tx: &mut Producer<Futex>,
    out: Outgoing<'_>,
    moved: &[Moved],
) -> Result<(), PortError> {
    // Most port messages carry no port: bytes and archives then travel raw.
    if moved.is_empty() {
        match out {
            Outgoing::Value(Value::Bytes(b)) => return post_raw(tx, TAG_BYTES, &[], b),
            Outgoing::Archive { bytes, fingerprint } => {
                let mut head = [0u8; ARCHIVE_HEAD];
                head[..8].copy_from_slice(&fingerprint.to_le_bytes());
                return post_raw(tx, TAG_ARCHIVE, &head, bytes);
            }
            Outgoing::Value(_) => {}
        }
    }
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

/// Write `head` then `body` as one frame tagged `tag`.
fn post_raw(tx: &mut Producer<Futex>, tag: u16, head: &[u8], body: &[u8]) -> Result<(), PortError> {
    let len = head.len() + body.len();
    if len > crate::MAX_MESSAGE_LEN {
        return Err(PortError::Send(SendError::TooLarge {
            size: len,
            limit: crate::MAX_MESSAGE_LEN,
        }));
    }
    let fill = |out: &mut [u8]| {
        out[..head.len()].copy_from_slice(head);
        out[head.len()..len].copy_from_slice(body);
    };
    if len <= tx.max_frame_payload() {
        let mut g = tx.reserve(len, PORT_WAIT, None).map_err(ring_error)?;
        fill(g.as_mut_slice());
        g.commit(len, tag, 0);
        return Ok(());
    }
    if len <= tx.max_bulk() {
        let mut g = tx.reserve_bulk(len, PORT_WAIT, None).map_err(ring_error)?;
        fill(g.as_mut_slice());
        g.commit(len, tag, 0);
        return Ok(());
    }
    let mut bytes = vec![0u8; len];
    fill(&mut bytes);
    tx.send(tag, 0, &bytes, PORT_WAIT, None).map_err(ring_error)
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

/// A port message, validated, before the ports it names are collected.
pub(crate) struct Parsed<'a> {
    pub data: ValueRef<'a>,
    pub typed: Option<TypedRef<'a>>,
    pub records: Vec<PortRecord>,
}

/// Validate a port message (frame `tag`, `bytes` a private 16-aligned copy) in any of its
/// three forms; nothing is acted on (no port is collected).
pub(crate) fn parse(tag: u16, bytes: &[u8]) -> Result<Parsed<'_>, String> {
    match tag {
        TAG_BYTES => {
            return Ok(Parsed {
                data: ValueRef::Bytes(bytes),
                typed: None,
                records: Vec::new(),
            })
        }
        TAG_ARCHIVE => return parse_archive(bytes),
        _ => {}
    }
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
    Ok(Parsed {
        data,
        typed,
        records,
    })
}

/// Read a port message (frame `tag`, `bytes` a private 16-aligned copy): validate it, then
/// collect the ports it names; the message is lent (read in place from `bytes`).
pub(crate) fn lend(tag: u16, bytes: &[u8]) -> Result<PortMessageRef<'_>, String> {
    let Parsed {
        data,
        typed,
        records,
    } = parse(tag, bytes)?;
    // Most messages carry no port: no allocation and no router lookup for them.
    let ports = if records.is_empty() {
        Vec::new()
    } else {
        let moved: Vec<Moved> = records.into_iter().map(Moved::of).collect();
        collect_routed(&moved, std::time::Instant::now() + ARRIVAL_TIMEOUT)?
    };
    Ok(PortMessageRef { data, ports, typed })
}

/// A [`TAG_ARCHIVE`] message: check its head; the archive is its typed channel's to validate.
fn parse_archive(bytes: &[u8]) -> Result<Parsed<'_>, String> {
    let word = |at: usize| {
        bytes
            .get(at..at + 8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
    };
    match (word(0), word(8)) {
        (Some(fingerprint), Some(0)) if fingerprint != 0 => Ok(Parsed {
            data: ValueRef::Null,
            typed: Some(TypedRef {
                fingerprint,
                bytes: &bytes[ARCHIVE_HEAD..],
            }),
            records: Vec::new(),
        }),
        (None, _) | (_, None) => Err(format!(
            "a typed port message of {} bytes is shorter than its head",
            bytes.len()
        )),
        _ => Err("a typed port message with a malformed head".into()),
    }
}
