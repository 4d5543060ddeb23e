//! The 16-byte header in front of every frame in a ring, and frame sizing.
//!
//! ```text
//!  byte 0      4      5       6        8                16
//!       +------+------+-------+--------+-----------------+----------------------------+
//!       | len  | kind | flags |  tag   |      meta       | payload (len bytes), padded |
//!       | u32  |  u8  |  u8   |  u16   |      u64        | to a multiple of 16         |
//!       +------+------+-------+--------+-----------------+----------------------------+
//! ```
//!
//! All fields little-endian. Every frame starts 16-byte aligned, so a payload that is an rkyv
//! archive can be accessed in place. `kind` says whether the frame is padding (skip to the end of
//! the ring), a whole message, one chunk of a message larger than a frame may be, or a message
//! in the ring's bulk area (the frame's payload is then the message's length; see
//! `ring::BulkGrant`).

/// Size of a frame header in bytes (also the frame alignment).
pub const FRAME_HEADER_LEN: usize = 16;
/// Alignment of every frame and every payload.
pub const FRAME_ALIGN: usize = 16;

/// What a frame holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    /// Filler up to the end of the ring; the next frame starts at offset 0.
    Pad = 1,
    /// A whole message.
    Whole = 2,
    /// First chunk of a message that spans several frames.
    First = 3,
    /// A middle chunk.
    Middle = 4,
    /// The last chunk.
    Last = 5,
    /// A whole message in the ring's bulk area; the frame's payload is its length
    /// ([`BULK_FRAME_PAYLOAD`] bytes, little-endian `u64`). The bulk bytes belong to the
    /// consumer until it releases this frame.
    Bulk = 6,
}

/// Payload bytes of a [`FrameKind::Bulk`] frame: the bulk message's length.
pub const BULK_FRAME_PAYLOAD: usize = 8;

impl FrameKind {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => FrameKind::Pad,
            2 => FrameKind::Whole,
            3 => FrameKind::First,
            4 => FrameKind::Middle,
            5 => FrameKind::Last,
            6 => FrameKind::Bulk,
            _ => return None,
        })
    }
}

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length in bytes (without header or padding).
    pub len: u32,
    /// What the frame holds.
    pub kind: FrameKind,
    /// Free for the layer above (not interpreted by the ring).
    pub tag: u16,
    /// Free for the layer above (not interpreted by the ring).
    pub meta: u64,
}

impl FrameHeader {
    #[inline]
    pub(crate) fn encode(&self) -> [u8; FRAME_HEADER_LEN] {
        let mut b = [0u8; FRAME_HEADER_LEN];
        b[0..4].copy_from_slice(&self.len.to_le_bytes());
        b[4] = self.kind as u8;
        b[6..8].copy_from_slice(&self.tag.to_le_bytes());
        b[8..16].copy_from_slice(&self.meta.to_le_bytes());
        b
    }

    /// Decode; `None` for an unknown kind (zeroed or corrupt memory).
    #[inline]
    pub(crate) fn decode(b: &[u8; FRAME_HEADER_LEN]) -> Option<Self> {
        Some(FrameHeader {
            len: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            kind: FrameKind::from_u8(b[4])?,
            tag: u16::from_le_bytes([b[6], b[7]]),
            meta: u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
        })
    }
}

/// Bytes a frame with a `len`-byte payload occupies in the ring (header + padded payload).
#[inline]
pub const fn frame_size(len: u64) -> u64 {
    FRAME_HEADER_LEN as u64 + ((len + (FRAME_ALIGN as u64 - 1)) & !(FRAME_ALIGN as u64 - 1))
}
