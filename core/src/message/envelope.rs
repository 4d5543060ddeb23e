//! The [`Envelope`]: the fixed 32-byte header in front of every message's channel name.
//!
//! ```text
//!  byte  0      flags (FLAG_ERROR, FLAG_REPLY_VIA_RING)
//!        1      codec: 0 = `Value` arguments in the wire format, 1 = one rkyv archive
//!        2..4   channel length (u16 LE, at most MAX_CHANNEL_LEN)
//!        4..8   frame id
//!        8..12  response slot index
//!       12..16  response slot generation
//!       16..24  request id
//!       24..32  schema fingerprint (u64 LE): 0 for Electron's dynamic `Value` messages, else
//!               the typed channel's (`typed::Fingerprint`), checked by the receiver
//! ```

use super::kind::MAX_CHANNEL_LEN;

/// How a message's body is encoded (envelope byte 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Codec {
    /// `Value` arguments in Electrode's wire format (`wire`).
    #[default]
    Values = 0,
    /// One rkyv archive of a typed channel's type.
    Archive = 1,
}

impl Codec {
    /// The codec a byte names, if any.
    pub(crate) fn from_byte(b: u8) -> Option<Codec> {
        match b {
            0 => Some(Codec::Values),
            1 => Some(Codec::Archive),
            _ => None,
        }
    }
}

/// Bytes of the envelope in front of the channel name.
pub const ENVELOPE_LEN: usize = 32;

/// The fixed part of every message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub flags: u8,
    /// Envelope byte 1, unchecked (the decoder checks it with [`Codec::from_byte`]).
    pub codec: u8,
    pub frame_id: u32,
    pub slot_index: u32,
    pub slot_gen: u32,
    pub request_id: u64,
    /// The schema fingerprint: 0 for `Value` messages.
    pub fingerprint: u64,
}

/// Where the arguments start after a channel name of `channel_len` bytes (16-aligned).
pub(crate) fn args_offset(channel_len: usize) -> usize {
    (ENVELOPE_LEN + channel_len).div_ceil(16) * 16
}

impl Envelope {
    /// Write envelope + channel + padding into `out[..args_offset(channel.len())]`. The
    /// caller checked the channel against [`MAX_CHANNEL_LEN`] (the encoder does).
    pub(crate) fn write_prefix(&self, channel: &str, out: &mut [u8]) {
        debug_assert!(channel.len() <= MAX_CHANNEL_LEN);
        let mut h = [0u8; ENVELOPE_LEN];
        h[0] = self.flags;
        h[1] = self.codec;
        h[2..4].copy_from_slice(&(channel.len() as u16).to_le_bytes());
        h[4..8].copy_from_slice(&self.frame_id.to_le_bytes());
        h[8..12].copy_from_slice(&self.slot_index.to_le_bytes());
        h[12..16].copy_from_slice(&self.slot_gen.to_le_bytes());
        h[16..24].copy_from_slice(&self.request_id.to_le_bytes());
        h[24..32].copy_from_slice(&self.fingerprint.to_le_bytes());
        out[..ENVELOPE_LEN].copy_from_slice(&h);
        out[ENVELOPE_LEN..ENVELOPE_LEN + channel.len()].copy_from_slice(channel.as_bytes());
        let end = args_offset(channel.len());
        out[ENVELOPE_LEN + channel.len()..end].fill(0);
    }

    /// Read the fixed header and the channel length it claims (unchecked: the decoder checks
    /// it). `None` when `payload` is shorter than an envelope.
    pub(crate) fn read(payload: &[u8]) -> Option<(Envelope, usize)> {
        let h: &[u8; ENVELOPE_LEN] = payload.get(..ENVELOPE_LEN)?.try_into().ok()?;
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let env = Envelope {
            flags: h[0],
            codec: h[1],
            frame_id: u32_at(4),
            slot_index: u32_at(8),
            slot_gen: u32_at(12),
            request_id: u64_at(16),
            fingerprint: u64_at(24),
        };
        Some((env, u16::from_le_bytes([h[2], h[3]]) as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_padding() {
        let env = Envelope {
            flags: 3,
            codec: 1,
            frame_id: 7,
            slot_index: 9,
            slot_gen: 11,
            request_id: u64::MAX - 1,
            fingerprint: 0x0123_4567_89ab_cdef,
        };
        for channel in [
            "",
            "a",
            "0123456789abcdef",
            "x".repeat(MAX_CHANNEL_LEN).as_str(),
        ] {
            let mut out = vec![0xffu8; args_offset(channel.len())];
            env.write_prefix(channel, &mut out);
            assert_eq!(out.len() % 16, 0);
            let (read, len) = Envelope::read(&out).unwrap();
            assert_eq!((read, len), (env, channel.len()));
            assert_eq!(&out[ENVELOPE_LEN..ENVELOPE_LEN + len], channel.as_bytes());
            assert!(out[ENVELOPE_LEN + len..].iter().all(|b| *b == 0));
        }
        assert!(Envelope::read(&[0u8; ENVELOPE_LEN - 1]).is_none());
    }
}
