//! Main's decoder as plain functions, for fuzzers and robustness tests, and the real layout's
//! constants and encoders, for tests that forge messages by hand and must not drift from it.
//!
//! Not part of the API (hidden from the docs): [`decode_message`] runs, on one frame's payload,
//! the decoder the dispatcher runs on every message a renderer writes (`message::decode`, the
//! same code, not a copy), without a running `Main`: the `fuzz/` crate's targets and the
//! `hostile_decode` test call it with hostile bytes.

use crate::error::RemoteError;
use crate::message::body::{Body, Data};
use crate::message::decode::{self, FromRenderer};
use crate::message::encode;
use crate::message::envelope::Envelope;
use crate::message::kind::Kind;
use crate::message::reply;
use crate::value::Value;
use electrode_shm::AlignedBuf;

pub use crate::message::envelope::ENVELOPE_LEN;
pub use crate::message::kind::{FLAG_ASYNC_SLOT, FLAG_ERROR, FLAG_REPLY_VIA_RING};
pub use crate::message::reply::{AUX_ARCHIVE, AUX_ERROR, AUX_LARGE, AUX_UNENCODABLE};

/// Every message kind with its frame tag, as the real protocol numbers them.
pub const KINDS: [(&str, u16); 10] = [
    ("Send", Kind::Send as u16),
    ("SendSync", Kind::SendSync as u16),
    ("Invoke", Kind::Invoke as u16),
    ("HandlerReply", Kind::HandlerReply as u16),
    ("FrameOpen", Kind::FrameOpen as u16),
    ("Message", Kind::Message as u16),
    ("LargeReply", Kind::LargeReply as u16),
    ("Reply", Kind::Reply as u16),
    ("InvokeRenderer", Kind::InvokeRenderer as u16),
    ("SlotReady", Kind::SlotReady as u16),
];

/// Run the dispatcher's decoder on one message from a renderer: frame tag `tag` (the message
/// kind), frame payload `bytes`. Returns whether main would act on the message (`true`) or
/// reject it as a protocol violation (`false`). Never panics, whatever the bytes.
///
/// The steps are the dispatcher's: copy the payload into a private 16-byte aligned buffer (as
/// the dispatcher copies each frame out of the ring), decode it with `message::decode`, and
/// convert validated arguments to owned values (what an async handler or a listener's
/// `to_values` does).
pub fn decode_message(tag: u16, bytes: &[u8]) -> bool {
    let mut copy = AlignedBuf::new();
    copy.extend_from_slice(bytes);
    match decode::from_renderer(tag, copy.as_slice()) {
        Ok(
            FromRenderer::Send { payload, .. }
            | FromRenderer::SendSync { payload, .. }
            | FromRenderer::Invoke { payload, .. },
        ) => {
            if let Data::Values(args) = payload.data {
                let values = args.to_values();
                debug_assert_eq!(values.len(), args.len());
            }
            // An archive is validated by its typed channel (`typed::fuzzing_access`).
            true
        }
        Ok(FromRenderer::HandlerReply { .. } | FromRenderer::FrameOpen { .. }) => true,
        Err(_) => false,
    }
}

/// The envelope fields of one message, for [`encode_message`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnvelopeFields {
    /// Flags ([`FLAG_ERROR`], [`FLAG_REPLY_VIA_RING`]).
    pub flags: u8,
    /// The sending (or addressed) frame.
    pub frame_id: u32,
    /// Response slot index.
    pub slot_index: u32,
    /// Response slot generation.
    pub slot_gen: u32,
    /// Request id (async invoke, handler reply).
    pub request_id: u64,
    /// Schema fingerprint (0 for `Value` messages).
    pub fingerprint: u64,
}

/// A message payload exactly as the real encoder writes it (envelope, channel, padding,
/// arguments). Panics when the message would be refused.
pub fn encode_message(fields: EnvelopeFields, channel: &str, args: &[Value]) -> Vec<u8> {
    let env = Envelope {
        flags: fields.flags,
        frame_id: fields.frame_id,
        slot_index: fields.slot_index,
        slot_gen: fields.slot_gen,
        request_id: fields.request_id,
        fingerprint: fields.fingerprint,
        codec: 0,
    };
    encode::to_vec(&env, channel, Body::Values(args)).expect("encodable message")
}

/// A typed message payload exactly as the real encoder writes it: envelope (codec "archive"),
/// channel, padding, then `archive` as it is.
pub fn encode_archive_message(fields: EnvelopeFields, channel: &str, archive: &[u8]) -> Vec<u8> {
    let env = Envelope {
        flags: fields.flags,
        frame_id: fields.frame_id,
        slot_index: fields.slot_index,
        slot_gen: fields.slot_gen,
        request_id: fields.request_id,
        fingerprint: fields.fingerprint,
        codec: 0,
    };
    encode::to_vec(&env, channel, Body::Archive(archive)).expect("encodable message")
}

/// The argument bytes of a reply exactly as the real encoder writes them (`[value]`, or
/// `[name, message, has_data, data]` for an error, with [`FLAG_ERROR`] / [`AUX_ERROR`] set).
pub fn encode_reply(result: &Result<Value, RemoteError>) -> Vec<u8> {
    let answer = match result {
        Ok(v) => Ok(v.clone().into()),
        Err(e) => Err(e.clone()),
    };
    match reply::encoded(&answer) {
        reply::Encoded::Values(values) => crate::wire::encode_to_vec(&values)
            .expect("encodable reply")
            .to_vec(),
        reply::Encoded::Archive(_) => unreachable!("a Value answer"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(channel: &str, args: &[Value]) -> Vec<u8> {
        encode_message(EnvelopeFields::default(), channel, args)
    }

    #[test]
    fn accepts_what_a_renderer_writes() {
        let m = message("echo", &[Value::from("x"), Value::from(3)]);
        for kind in [Kind::Send, Kind::SendSync, Kind::Invoke, Kind::FrameOpen] {
            assert!(decode_message(kind as u16, &m), "{kind:?}");
        }
        let reply = message("echo", &[Value::from(1)]);
        assert!(decode_message(Kind::HandlerReply as u16, &reply));
    }

    #[test]
    fn rejects_main_kinds_unknown_kinds_and_garbage() {
        let m = message("echo", &[Value::from(1)]);
        for tag in [0u16, 6, 15, 16, 17, 18, 19, 20, u16::MAX] {
            assert!(!decode_message(tag, &m), "tag {tag}");
        }
        assert!(!decode_message(Kind::Send as u16, &[]));
        assert!(!decode_message(Kind::Send as u16, &m[..m.len() - 1]));
        // Odd offset into the input: the copy makes it aligned, so it is still accepted.
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&m);
        assert!(decode_message(Kind::Send as u16, &shifted[1..]));
    }

    #[test]
    fn kinds_table_matches_the_protocol() {
        for (i, k) in Kind::ALL.iter().enumerate() {
            assert_eq!(KINDS[i], (format!("{k:?}").leak() as &str, *k as u16));
        }
    }
}
