//! The trailer of a `PostMessage` message: one 16-byte record per transferred port end, after
//! the `Value` (their count is the envelope's request id).
//!
//! ```text
//!  bytes 0..8   token (u64 LE): names the end in the receiver's inbox (random, unguessable)
//!        8      side: 0 = A, 1 = B (which end of its channel the moving end is)
//!        9..16  zero
//! ```

use crate::wire::ArgsView;

/// Bytes of one port record.
pub(crate) const PORT_RECORD_LEN: usize = 16;

/// Most port ends one message may carry.
pub const MAX_PORTS_PER_MESSAGE: usize = 16;

/// One transferred port end, as a message names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PortRecord {
    /// The end's name in the receiver's inbox.
    pub token: u64,
    /// 0 = side A, 1 = side B.
    pub side: u8,
}

/// Encode records into a trailer.
pub(crate) fn encode(records: &[PortRecord]) -> Vec<u8> {
    let mut out = vec![0u8; records.len() * PORT_RECORD_LEN];
    for (r, chunk) in records.iter().zip(out.chunks_exact_mut(PORT_RECORD_LEN)) {
        chunk[..8].copy_from_slice(&r.token.to_le_bytes());
        chunk[8] = r.side;
    }
    out
}

/// Split a `PostMessage` body (`count` records announced by the envelope) into its one `Value`
/// (validated) and its records (checked: known sides, zero padding, no token twice).
pub(crate) fn split(args: &[u8], count: u64) -> Result<(ArgsView<'_>, Vec<PortRecord>), String> {
    let (body, records) = split_trailer(args, count)?;
    let view = ArgsView::new(body).map_err(|e| format!("message: {e}"))?;
    if view.len() != 1 {
        return Err(format!("a port message of {} values (not one)", view.len()));
    }
    Ok((view, records))
}

/// Split a `PostMessage` body into the bytes before its records (not validated) and the
/// records (checked).
pub(crate) fn split_trailer(args: &[u8], count: u64) -> Result<(&[u8], Vec<PortRecord>), String> {
    let count = usize::try_from(count)
        .ok()
        .filter(|&c| c <= MAX_PORTS_PER_MESSAGE)
        .ok_or_else(|| {
            format!("a message carrying {count} ports (the limit is {MAX_PORTS_PER_MESSAGE})")
        })?;
    let trailer = count * PORT_RECORD_LEN;
    let at = args
        .len()
        .checked_sub(trailer)
        .ok_or("the port records run past the message")?;
    let mut records: Vec<PortRecord> = Vec::with_capacity(count);
    for (i, chunk) in args[at..].chunks_exact(PORT_RECORD_LEN).enumerate() {
        let token = u64::from_le_bytes(chunk[..8].try_into().expect("8 bytes"));
        let side = chunk[8];
        if side > 1 || chunk[9..].iter().any(|&b| b != 0) {
            return Err(format!("port record {i} is malformed"));
        }
        if records.iter().any(|r| r.token == token) {
            return Err(format!(
                "Message port at index {i} is a duplicate of an earlier port."
            ));
        }
        records.push(PortRecord { token, side });
    }
    Ok((&args[..at], records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args;
    use crate::message::body::Body;
    use crate::message::encode;
    use crate::message::envelope::{args_offset, Envelope};

    fn message(records: &[PortRecord]) -> Vec<u8> {
        let trailer = encode(records);
        let env = Envelope {
            request_id: records.len() as u64,
            ..Envelope::default()
        };
        encode::to_vec(&env, "", Body::Ported(&args!["hi"], &trailer)).unwrap()
    }

    #[test]
    fn round_trip_and_refusals() {
        let recs = [
            PortRecord { token: 7, side: 0 },
            PortRecord { token: 9, side: 1 },
        ];
        let m = message(&recs);
        let args = &m[args_offset(0)..];
        let (view, got) = split(args, 2).unwrap();
        assert_eq!(view.get(0).unwrap().as_str(), Some("hi"));
        assert_eq!(got, recs);
        // A wrong count, a duplicate, a bad side.
        assert!(split(args, 3).is_err());
        assert!(split(args, 99).is_err());
        let dup = message(&[recs[0], recs[0]]);
        let why = split(&dup[args_offset(0)..], 2).unwrap_err();
        assert_eq!(
            why,
            "Message port at index 1 is a duplicate of an earlier port."
        );
        let mut bad = message(&recs);
        let n = bad.len();
        bad[n - 8] = 2;
        assert!(split(&bad[args_offset(0)..], 2).is_err());
    }
}
