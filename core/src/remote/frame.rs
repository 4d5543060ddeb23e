//! Relay payloads: one network sample carries one or more records, each a ring message (its
//! tag, meta and bytes) or a control record (docs/REMOTE.md, "Relay payloads").
//!
//! ```text
//! record   0..4   body length (u32 LE)
//!          4..6   ring tag, or a control tag (>= CONTROL_BASE)
//!          6..8   0
//!          8..16  ring meta (u64 LE)
//!         16..    body, zero-padded to a multiple of 8
//! ```
//!
//! The reader ([`records`]) trusts nothing: every length is checked against what is left of
//! the payload and against the message limit before a body is handed out.

use std::fmt;

/// Bytes of a record's header.
pub(crate) const HEADER: usize = 16;
/// Records are padded to this.
const ALIGN: usize = 8;
/// A relay stops adding records to a payload past this many bytes (one larger record still
/// goes alone).
pub(crate) const MAX_BATCH: usize = 64 * 1024;

/// Tags from here up are the relays' own (ring tags are message kinds, all far below).
pub(crate) const CONTROL_BASE: u16 = 0xFF00;
/// Acknowledges ring bytes: meta is the total the receiver has written into its ring.
pub(crate) const TAG_ACK: u16 = 0xFF00;
/// The renderer relay is subscribed: main's relay may start sending.
pub(crate) const TAG_READY: u16 = 0xFF01;
/// An answer for a response slot: body is [`SlotAnswer`]'s header, then the `Reply` message.
pub(crate) const TAG_SLOT_ANSWER: u16 = 0xFF02;

/// One record read from a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    pub tag: u16,
    pub meta: u64,
    pub body: &'a [u8],
}

/// Why a payload was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// A header or a body runs past the end of the payload.
    Truncated,
    /// A body longer than the message limit.
    TooLarge { len: usize, max: usize },
    /// A reserved header byte or a padding byte is not zero.
    Reserved,
    /// A payload with no record.
    Empty,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Truncated => f.write_str("relay record runs past the end of its payload"),
            FrameError::TooLarge { len, max } => {
                write!(
                    f,
                    "relay record of {len} bytes is over the {max}-byte limit"
                )
            }
            FrameError::Reserved => f.write_str("relay record has non-zero reserved bytes"),
            FrameError::Empty => f.write_str("relay payload holds no record"),
        }
    }
}

impl std::error::Error for FrameError {}

fn padded(len: usize) -> usize {
    len.div_ceil(ALIGN) * ALIGN
}

/// A payload being built: records appended in order.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    buf: Vec<u8>,
}

impl Batch {
    /// An empty batch.
    pub(crate) fn new() -> Batch {
        Batch::default()
    }

    /// Whether a record with a body of `len` bytes still fits this payload (always, when it is
    /// empty).
    pub(crate) fn fits(&self, len: usize) -> bool {
        self.buf.is_empty() || self.buf.len() + HEADER + padded(len) <= MAX_BATCH
    }

    /// Append a record whose body `write` fills (exactly `len` bytes, given zeroed).
    pub(crate) fn push_with(
        &mut self,
        tag: u16,
        meta: u64,
        len: usize,
        write: impl FnOnce(&mut [u8]),
    ) {
        let len32 = u32::try_from(len).expect("a record body fits u32 (the message limit does)");
        let start = self.buf.len();
        self.buf.resize(start + HEADER + padded(len), 0);
        let head = &mut self.buf[start..start + HEADER];
        head[0..4].copy_from_slice(&len32.to_le_bytes());
        head[4..6].copy_from_slice(&tag.to_le_bytes());
        head[8..16].copy_from_slice(&meta.to_le_bytes());
        write(&mut self.buf[start + HEADER..start + HEADER + len]);
    }

    /// Append a record with body `body`.
    pub(crate) fn push(&mut self, tag: u16, meta: u64, body: &[u8]) {
        self.push_with(tag, meta, body.len(), |out| out.copy_from_slice(body));
    }

    /// The payload's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Bytes so far.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no record was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Start over (keeping the allocation).
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
    }
}

/// Bytes a record with a body of `len` bytes takes in a payload (what the credit window
/// counts).
pub(crate) fn record_size(len: usize) -> usize {
    HEADER + padded(len)
}

/// Every record of `payload`, or the first reason it is malformed. Checked whole before any
/// record is returned, so a bad payload is refused before any of it is acted on.
pub(crate) fn records(payload: &[u8], max_body: usize) -> Result<Vec<Record<'_>>, FrameError> {
    if payload.is_empty() {
        return Err(FrameError::Empty);
    }
    let mut out = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() {
        let head = rest.get(..HEADER).ok_or(FrameError::Truncated)?;
        let len = u32::from_le_bytes(head[0..4].try_into().expect("4 bytes")) as usize;
        if head[6..8] != [0, 0] {
            return Err(FrameError::Reserved);
        }
        if len > max_body {
            return Err(FrameError::TooLarge { len, max: max_body });
        }
        let size = record_size(len);
        let record = rest.get(..size).ok_or(FrameError::Truncated)?;
        if record[HEADER + len..].iter().any(|&b| b != 0) {
            return Err(FrameError::Reserved);
        }
        out.push(Record {
            tag: u16::from_le_bytes(head[4..6].try_into().expect("2 bytes")),
            meta: u64::from_le_bytes(head[8..16].try_into().expect("8 bytes")),
            body: &record[HEADER..HEADER + len],
        });
        rest = &rest[size..];
    }
    Ok(out)
}

/// Where a slot answer goes: the head of a [`TAG_SLOT_ANSWER`] body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotAnswer {
    pub index: u32,
    pub generation: u32,
    /// The requester is a future that may sleep (`FLAG_ASYNC_SLOT`): wake it with `SlotReady`.
    pub notify: bool,
}

/// Bytes of a slot answer's head.
pub(crate) const SLOT_ANSWER_HEAD: usize = 16;

impl SlotAnswer {
    /// Write the head into `out[..SLOT_ANSWER_HEAD]`.
    pub(crate) fn write(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&self.index.to_le_bytes());
        out[4..8].copy_from_slice(&self.generation.to_le_bytes());
        out[8..12].copy_from_slice(&u32::from(self.notify).to_le_bytes());
        out[12..16].fill(0);
    }

    /// The head and the `Reply` message behind it, or why the body is malformed.
    pub(crate) fn read(body: &[u8]) -> Result<(SlotAnswer, &[u8]), FrameError> {
        let head = body.get(..SLOT_ANSWER_HEAD).ok_or(FrameError::Truncated)?;
        let word = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().expect("4 bytes"));
        let notify = match word(8) {
            0 => false,
            1 => true,
            _ => return Err(FrameError::Reserved),
        };
        if word(12) != 0 {
            return Err(FrameError::Reserved);
        }
        let answer = SlotAnswer {
            index: word(0),
            generation: word(4),
            notify,
        };
        Ok((answer, &body[SLOT_ANSWER_HEAD..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_in_order_with_their_tags_meta_and_bodies() {
        let mut b = Batch::new();
        b.push(1, 7, b"hello");
        b.push(TAG_ACK, 4096, b"");
        b.push(18, u64::MAX, &[0xAB; 33]);
        let got = records(b.as_bytes(), 1 << 20).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(
            (got[0].tag, got[0].meta, got[0].body),
            (1, 7, &b"hello"[..])
        );
        assert_eq!(
            (got[1].tag, got[1].meta, got[1].body.len()),
            (TAG_ACK, 4096, 0)
        );
        assert_eq!((got[2].tag, got[2].meta), (18, u64::MAX));
        assert_eq!(got[2].body, &[0xAB; 33][..]);
        assert_eq!(b.len(), record_size(5) + record_size(0) + record_size(33));
    }

    #[test]
    fn every_truncation_of_a_payload_is_refused() {
        let mut b = Batch::new();
        b.push(1, 1, &[1; 20]);
        b.push(2, 2, &[2; 9]);
        let full = b.as_bytes();
        for cut in 1..full.len() {
            let r = records(&full[..cut], 1 << 20);
            // A cut exactly between records is a valid, shorter payload.
            if cut == record_size(20) {
                assert_eq!(r.unwrap().len(), 1);
            } else {
                assert_eq!(r, Err(FrameError::Truncated), "cut at {cut}");
            }
        }
        assert_eq!(records(&[], 1 << 20), Err(FrameError::Empty));
    }

    #[test]
    fn oversized_bodies_and_dirty_reserved_bytes_are_refused() {
        let mut b = Batch::new();
        b.push(1, 0, &[0; 100]);
        assert_eq!(
            records(b.as_bytes(), 99),
            Err(FrameError::TooLarge { len: 100, max: 99 })
        );
        // A length near u32::MAX must not overflow the size computation.
        let mut huge = b.as_bytes().to_vec();
        huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(records(&huge, usize::MAX).is_err());
        let mut reserved = b.as_bytes().to_vec();
        reserved[7] = 1;
        assert_eq!(records(&reserved, 1 << 20), Err(FrameError::Reserved));
        let mut pad = Batch::new();
        pad.push(1, 0, &[0; 3]);
        let mut pad = pad.as_bytes().to_vec();
        *pad.last_mut().unwrap() = 9;
        assert_eq!(records(&pad, 1 << 20), Err(FrameError::Reserved));
    }

    #[test]
    fn a_batch_fills_up_to_its_limit_but_always_takes_one_record() {
        let mut b = Batch::new();
        assert!(b.fits(MAX_BATCH * 2));
        let body = vec![0u8; 1000];
        while b.fits(body.len()) {
            b.push(1, 0, &body);
        }
        assert!(b.len() <= MAX_BATCH);
        assert!(b.len() + record_size(body.len()) > MAX_BATCH);
        b.clear();
        assert!(b.is_empty());
    }

    #[test]
    fn slot_answers_round_trip_and_refuse_garbage() {
        let a = SlotAnswer {
            index: 5,
            generation: 9,
            notify: true,
        };
        let mut body = vec![0u8; SLOT_ANSWER_HEAD + 3];
        a.write(&mut body);
        body[SLOT_ANSWER_HEAD..].copy_from_slice(b"abc");
        assert_eq!(SlotAnswer::read(&body), Ok((a, &b"abc"[..])));
        assert_eq!(SlotAnswer::read(&body[..15]), Err(FrameError::Truncated));
        body[8] = 2;
        assert_eq!(SlotAnswer::read(&body), Err(FrameError::Reserved));
    }
}
