//! The typed channels the benchmark measures: the contract main and the renderer both compile
//! (this binary plays both), with the checks each side makes of what it reads.
//!
//! Every request carries its sequence number, and every reply is checked against what was
//! sent, so a lost, repeated or damaged message is caught, as on the `Value` paths.

use electrode::typed::{type_hash, InvokeChannel, RendererInvokeChannel, SendChannel, TypeHash};
use rkyv::{Archive, Deserialize, Serialize};

/// A 16-byte request: main's handler answers `a + b` (8 bytes).
#[derive(Archive, Serialize, Deserialize, TypeHash, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Req16 {
    /// The sequence number.
    pub a: u64,
    /// A fixed addend ([`ADDEND`]).
    pub b: u64,
}

/// The `b` of every [`Req16`].
pub(crate) const ADDEND: u64 = 0x5eed_0000_0000_0001;

/// 64 bytes: the sequence number in `w[0]`, then a pattern; echoed whole.
#[derive(Archive, Serialize, Deserialize, TypeHash, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Block64 {
    /// The words.
    pub w: [u64; 8],
}

impl Block64 {
    /// Message `seq`.
    pub(crate) fn new(seq: u64) -> Block64 {
        let mut w = [0u64; 8];
        w[0] = seq;
        for (i, x) in w.iter_mut().enumerate().skip(1) {
            *x = seq.rotate_left(i as u32 * 7) ^ (i as u64 * 0x9e37_79b9_7f4a_7c15);
        }
        Block64 { w }
    }

    /// A copy of an archived block (what main's and the renderer's echo handlers return).
    pub(crate) fn from_archived(a: &ArchivedBlock64) -> Block64 {
        let mut w = [0u64; 8];
        for (x, y) in w.iter_mut().zip(a.w.iter()) {
            *x = y.to_native();
        }
        Block64 { w }
    }

    /// Check that `got` echoes message `seq`.
    pub(crate) fn check(got: &Block64, seq: u64) -> Result<(), String> {
        if *got == Block64::new(seq) {
            Ok(())
        } else {
            Err(format!(
                "typed echo of message {seq} differs (got message {})",
                got.w[0]
            ))
        }
    }
}

/// A 16-byte one-way message: its sequence number and a check word derived from it.
#[derive(Archive, Serialize, Deserialize, TypeHash, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Msg16 {
    /// Sequence number (per renderer, from 0).
    pub seq: u64,
    /// `seq ^ MSG_CHECK`.
    pub check: u64,
}

/// What [`Msg16::check`] is XORed with.
pub(crate) const MSG_CHECK: u64 = 0xa5a5_5a5a_0f0f_f0f0;

/// Payload bytes of a [`Msg16`].
pub(crate) const MSG16_PAYLOAD: usize = 16;

/// renderer → main: `a + b`.
pub(crate) static ADD16: InvokeChannel<Req16, u64> = InvokeChannel::new("bench:typed-add16");
/// renderer → main: the block back.
pub(crate) static ECHO64: InvokeChannel<Block64, Block64> =
    InvokeChannel::new("bench:typed-echo64");
/// renderer → main: the bytes back (a copy of the archived request).
pub(crate) static ECHO_BYTES: InvokeChannel<Vec<u8>, Vec<u8>> =
    InvokeChannel::new("bench:typed-echo-bytes");
/// renderer → main one-way stream; main's listener checks and counts.
pub(crate) static DATA16: SendChannel<Msg16> = SendChannel::new("bench:typed-data16");
/// renderer ↔ renderer over a port: the block, and back.
pub(crate) static PORT64: SendChannel<Block64> = SendChannel::new("bench:typed-port64");
/// main → renderer: the block back.
pub(crate) static RENDERER_ECHO64: RendererInvokeChannel<Block64, Block64> =
    RendererInvokeChannel::new("bench:typed-renderer-echo64");

/// The large typed echo's request for message `seq`: `len` bytes (at least 8), `seq` in the
/// first 8 (little endian), then a pattern.
pub(crate) fn bytes_request(len: usize, seq: u64) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len.max(8))
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(5))
        .collect();
    v[..8].copy_from_slice(&seq.to_le_bytes());
    v
}

/// Check an echoed byte buffer (read in place) against [`bytes_request`]`(len, seq)`: its
/// length, the sequence number, and a few bytes spread over it.
pub(crate) fn check_bytes(got: &[u8], len: usize, seq: u64) -> Result<(), String> {
    let len = len.max(8);
    if got.len() != len {
        return Err(format!(
            "typed bytes echo of message {seq}: {} bytes, expected {len}",
            got.len()
        ));
    }
    if got[..8] != seq.to_le_bytes() {
        return Err(format!(
            "typed bytes echo: expected message {seq} (lost, repeated or reordered)"
        ));
    }
    for i in [8, len / 3, len / 2, len - 1] {
        if i >= 8 && i < len && got[i] != (i as u8).wrapping_mul(13).wrapping_add(5) {
            return Err(format!(
                "typed bytes echo of message {seq}: byte {i} damaged"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_catch_wrong_echoes() {
        let b = Block64::new(9);
        assert_eq!(Block64::check(&b, 9), Ok(()));
        assert!(Block64::check(&b, 10).is_err());
        let mut damaged = b;
        damaged.w[7] ^= 1;
        assert!(Block64::check(&damaged, 9).is_err());
        assert_eq!(std::mem::size_of::<Block64>(), 64);

        let v = bytes_request(1000, 5);
        assert_eq!(check_bytes(&v, 1000, 5), Ok(()));
        assert!(check_bytes(&v, 1000, 6).is_err());
        assert!(check_bytes(&v[..999], 1000, 5).is_err());
        let mut w = v.clone();
        w[500] ^= 0xff;
        assert!(check_bytes(&w, 1000, 5).is_err());
    }

    #[test]
    fn archives_round_trip() {
        let b = Block64::new(3);
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&b).unwrap();
        let a = rkyv::access::<ArchivedBlock64, rkyv::rancor::Error>(&bytes).unwrap();
        assert_eq!(Block64::from_archived(a), b);
    }
}
