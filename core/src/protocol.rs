//! The envelope every IPC message carries inside a ring frame.
//!
//! ```text
//!  frame tag = Kind            frame meta = request id (or 0)
//!  payload:  +----------------------------+---------------------+-----+------------------+
//!            | Envelope (32 bytes, LE)    | channel (UTF-8)     | pad | args (wire.rs)   |
//!            +----------------------------+---------------------+-----+------------------+
//!                                                               16-byte aligned ^
//! ```
//!
//! Main parses envelopes from renderers with [`Envelope::parse`], which validates every field
//! against the payload it came in; nothing a renderer writes is used before that.

use crate::wire::ArgsView;

/// What a message is. Carried in the frame tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub(crate) enum Kind {
    // renderer -> main
    /// `ipcRenderer.send`.
    Send = 1,
    /// `ipcRenderer.sendSync`: reply into the slot named by the envelope.
    SendSync = 2,
    /// `ipcRenderer.invoke`: reply into the slot (blocking) or as a `Reply` message (async).
    Invoke = 3,
    /// A renderer handler's answer to main's `WebContents::invoke`.
    HandlerReply = 4,
    /// A frame came into being (so `send_to_frame` knows it).
    FrameOpen = 5,
    // main -> renderer
    /// `webContents.send` / `event.reply` / `send_to_frame`.
    Message = 16,
    /// A reply too large for its slot (slot named by the envelope).
    LargeReply = 17,
    /// A reply to an async invoke (request id in the envelope).
    Reply = 18,
    /// Main invokes a renderer handler.
    InvokeRenderer = 19,
}

impl Kind {
    pub(crate) fn from_tag(tag: u16) -> Option<Kind> {
        Some(match tag {
            1 => Kind::Send,
            2 => Kind::SendSync,
            3 => Kind::Invoke,
            4 => Kind::HandlerReply,
            5 => Kind::FrameOpen,
            16 => Kind::Message,
            17 => Kind::LargeReply,
            18 => Kind::Reply,
            19 => Kind::InvokeRenderer,
            _ => return None,
        })
    }
}

/// Envelope flag: the reply is an error (`[name, message, data]`), not a value.
pub const FLAG_ERROR: u8 = 1;
/// Envelope flag: reply through the ring (async invoke), not the slot.
pub const FLAG_REPLY_VIA_RING: u8 = 2;

/// Slot aux word: the reply is an error.
pub const AUX_ERROR: u32 = 1;
/// Slot aux word: the reply came as a `LargeReply` message (held by the receive thread).
pub(crate) const AUX_LARGE: u32 = 2;
/// Slot aux word: main failed to encode the reply (a bug in main; nothing else can cause it).
pub(crate) const AUX_UNENCODABLE: u32 = 4;

/// Longest channel name accepted.
pub const MAX_CHANNEL_LEN: usize = 4096;

/// Bytes of the envelope in front of the channel name.
pub const ENVELOPE_LEN: usize = 32;

/// The fixed part of every message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub flags: u8,
    pub frame_id: u32,
    pub slot_index: u32,
    pub slot_gen: u32,
    pub request_id: u64,
}

/// A parsed, validated message: its envelope, channel and argument view.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    pub env: Envelope,
    pub channel: &'a str,
    pub args: &'a [u8],
}

/// Why a message from a renderer was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub String);

fn args_offset(channel_len: usize) -> usize {
    (ENVELOPE_LEN + channel_len).div_ceil(16) * 16
}

impl Envelope {
    /// Bytes of the message prefix before the args.
    pub(crate) fn prefix_len(channel: &str) -> usize {
        args_offset(channel.len())
    }

    /// Write envelope + channel + padding into `out[..prefix_len]`.
    pub(crate) fn write_prefix(&self, channel: &str, out: &mut [u8]) {
        let mut h = [0u8; ENVELOPE_LEN];
        h[0] = self.flags;
        h[2..4].copy_from_slice(&(channel.len() as u16).to_le_bytes());
        h[4..8].copy_from_slice(&self.frame_id.to_le_bytes());
        h[8..12].copy_from_slice(&self.slot_index.to_le_bytes());
        h[12..16].copy_from_slice(&self.slot_gen.to_le_bytes());
        h[16..24].copy_from_slice(&self.request_id.to_le_bytes());
        out[..ENVELOPE_LEN].copy_from_slice(&h);
        out[ENVELOPE_LEN..ENVELOPE_LEN + channel.len()].copy_from_slice(channel.as_bytes());
        let end = args_offset(channel.len());
        out[ENVELOPE_LEN + channel.len()..end].fill(0);
    }

    /// Parse and validate a message payload (private, 16-aligned copy).
    pub(crate) fn parse(payload: &[u8]) -> Result<Parsed<'_>, Malformed> {
        if payload.len() < ENVELOPE_LEN {
            return Err(Malformed(format!(
                "message of {} bytes is shorter than an envelope",
                payload.len()
            )));
        }
        let h = &payload[..ENVELOPE_LEN];
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let channel_len = u16::from_le_bytes([h[2], h[3]]) as usize;
        if channel_len > MAX_CHANNEL_LEN {
            return Err(Malformed(format!("channel name of {channel_len} bytes")));
        }
        let off = args_offset(channel_len);
        if payload.len() < off {
            return Err(Malformed("channel name runs past the message".into()));
        }
        let channel = std::str::from_utf8(&payload[ENVELOPE_LEN..ENVELOPE_LEN + channel_len])
            .map_err(|_| Malformed("channel name is not UTF-8".into()))?;
        let env = Envelope {
            flags: h[0],
            frame_id: u32_at(4),
            slot_index: u32_at(8),
            slot_gen: u32_at(12),
            request_id: u64::from_le_bytes(h[16..24].try_into().expect("8 bytes")),
        };
        Ok(Parsed {
            env,
            channel,
            args: &payload[off..],
        })
    }
}

impl<'a> Parsed<'a> {
    /// Validate the argument bytes.
    pub(crate) fn view(&self) -> Result<ArgsView<'a>, Malformed> {
        ArgsView::new(self.args).map_err(|e| Malformed(format!("arguments: {e}")))
    }
}
