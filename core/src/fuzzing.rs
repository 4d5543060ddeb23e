//! Main's decoder as plain functions, for fuzzers and robustness tests, and the real layout's
//! constants and encoders, for tests that forge messages by hand and must not drift from it.
//!
//! Not part of the API (hidden from the docs): [`decode_message`] runs, on one frame's payload,
//! the decoder the dispatcher runs on every message a renderer writes (`message::decode`, the
//! same code, not a copy), without a running `Main`: the `fuzz/` crate's targets and the
//! `hostile_decode` test call it with hostile bytes. [`decode_typed_message`] goes one step
//! further for a typed channel: after the decoder, the typed receiver's fingerprint check and
//! archive validation (`typed::codec::access`, the code every typed listener and handler runs)
//! for the fixed contract [`FUZZ_JOB`] (`typed` fuzz target, `hostile_typed` test).
//! [`decode_port_message`] runs what an end of a MessagePort runs on each frame its peer
//! wrote (`port` fuzz target, `hostile_decode` test).

use crate::error::RemoteError;
use crate::message::body::{Body, Data};
use crate::message::decode::{self, FromRenderer};
use crate::message::encode;
use crate::message::envelope::Envelope;
use crate::message::kind::Kind;
use crate::message::reply;
use crate::typed::codec;
use crate::typed::InvokeChannel;
use crate::value::Value;
use electrode_shm::AlignedBuf;

pub use contract::{ArchivedFuzzJob, ArchivedFuzzShape, FuzzJob, FuzzShape};

pub use crate::message::envelope::ENVELOPE_LEN;
pub use crate::message::kind::{FLAG_ASYNC_SLOT, FLAG_ERROR, FLAG_REPLY_VIA_RING};
pub use crate::message::reply::{AUX_ARCHIVE, AUX_ERROR, AUX_LARGE, AUX_UNENCODABLE};

/// Every message kind with its frame tag, as the real protocol numbers them.
pub const KINDS: [(&str, u16); 15] = [
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
    ("Close", Kind::Close as u16),
    ("Closing", Kind::Closing as u16),
    ("PostMessage", Kind::PostMessage as u16),
    ("PortForward", Kind::PortForward as u16),
    ("PortClosed", Kind::PortClosed as u16),
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
            // An archive is validated by its typed channel (`decode_typed_message`).
            true
        }
        Ok(FromRenderer::PostMessage { message, .. }) => {
            let values = message.to_values();
            debug_assert_eq!(values.len(), 1);
            true
        }
        Ok(
            FromRenderer::HandlerReply { .. }
            | FromRenderer::FrameOpen { .. }
            | FromRenderer::Closing
            | FromRenderer::PortForward { .. }
            | FromRenderer::PortClosed { .. },
        ) => true,
        Err(_) => false,
    }
}

/// The fixed typed contract of [`decode_typed_message`]: a struct with a string, a vector, an
/// option and an enum of every variant form.
mod contract {
    // rkyv derives the archived types (`ArchivedFuzzJob`, ...) without docs on their fields.
    #![allow(missing_docs)]

    use rkyv::{Archive, Deserialize, Serialize};
    use type_hash::TypeHash;

    /// The request and reply type of [`FUZZ_JOB`](super::FUZZ_JOB).
    #[derive(Archive, Serialize, Deserialize, TypeHash, Clone, Debug, PartialEq)]
    pub struct FuzzJob {
        /// A number.
        pub id: u64,
        /// A string (UTF-8 is checked).
        pub name: String,
        /// A vector of strings (relative pointers and lengths are checked).
        pub tags: Vec<String>,
        /// An option (its tag is checked).
        pub priority: Option<u8>,
        /// An enum (its tag is checked).
        pub shape: FuzzShape,
    }

    /// An enum of every variant form.
    #[derive(Archive, Serialize, Deserialize, TypeHash, Clone, Debug, PartialEq)]
    pub enum FuzzShape {
        /// A unit variant.
        Point,
        /// A struct variant.
        Circle {
            /// Radius.
            r: f64,
        },
        /// A tuple variant.
        Poly(Vec<(i32, i32)>),
    }
}

/// The typed channel [`decode_typed_message`] validates against (its name and fingerprint).
pub static FUZZ_JOB: InvokeChannel<FuzzJob, FuzzJob> = InvokeChannel::new("fuzz-job");

/// Run the dispatcher's decoder and then a typed receiver's check on one message from a
/// renderer: frame tag `tag`, frame payload `bytes`, read as a message on [`FUZZ_JOB`] (whatever
/// channel name it carries). Returns whether [`FUZZ_JOB`]'s handler would run on it (`true`:
/// it decoded, is an archive with the channel's fingerprint, and passed validation) or not.
/// Never panics, whatever the bytes.
///
/// The steps are main's: the private 16-byte aligned copy, `message::decode`, then
/// `typed::codec::access` (fingerprint, then rkyv bytecheck) as every typed listener and handler
/// runs it, then the owned copy an async handler takes (`request_to_owned`).
pub fn decode_typed_message(tag: u16, bytes: &[u8]) -> bool {
    typed_message(tag, bytes).is_ok()
}

/// [`decode_typed_message`] with the reason for a refusal (the text main logs or answers).
fn typed_message(tag: u16, bytes: &[u8]) -> Result<(), String> {
    let mut copy = AlignedBuf::new();
    copy.extend_from_slice(bytes);
    let payload = match decode::from_renderer(tag, copy.as_slice()) {
        Ok(
            FromRenderer::Send { payload, .. }
            | FromRenderer::SendSync { payload, .. }
            | FromRenderer::Invoke { payload, .. },
        ) => payload,
        Ok(
            FromRenderer::HandlerReply { .. }
            | FromRenderer::FrameOpen { .. }
            | FromRenderer::Closing
            | FromRenderer::PostMessage { .. }
            | FromRenderer::PortForward { .. }
            | FromRenderer::PortClosed { .. },
        ) => return Err("not a request".into()),
        Err(rejected) => return Err(rejected.why),
    };
    let (name, fingerprint) = (FUZZ_JOB.name(), FUZZ_JOB.fingerprint());
    let job = codec::access::<FuzzJob>(name, fingerprint, &payload).map_err(|r| r.logged())?;
    // Read every field, as a handler would.
    let mut seen = job.id.to_native() as usize ^ job.name.len();
    seen ^= job.tags.iter().map(|t| t.as_str().len()).sum::<usize>();
    seen ^= job.priority.as_ref().map_or(0, |p| usize::from(*p));
    seen ^= match &job.shape {
        ArchivedFuzzShape::Point => 1,
        ArchivedFuzzShape::Circle { r } => r.to_native().to_bits() as usize,
        ArchivedFuzzShape::Poly(points) => points.len(),
    };
    std::hint::black_box(seen);
    codec::request_to_owned::<FuzzJob>(name, job)
        .map(drop)
        .map_err(|r| r.logged())
}

/// An [`encode_archive_message`] of `job` on [`FUZZ_JOB`] (its fingerprint, slot 3 generation
/// 1): what a well-behaved renderer writes, for seed corpora and tests.
pub fn encode_fuzz_job(job: &FuzzJob) -> Vec<u8> {
    let archive = codec::archive(job).expect("archive a FuzzJob");
    let fields = EnvelopeFields {
        slot_index: 3,
        slot_gen: 1,
        fingerprint: FUZZ_JOB.fingerprint(),
        ..EnvelopeFields::default()
    };
    let m = encode_archive_message(fields, FUZZ_JOB.name(), archive.as_slice());
    codec::recycle(archive);
    m
}

/// Jobs covering every variant, `None` and `Some`, empty and out-of-line strings and vectors.
pub fn sample_fuzz_jobs() -> Vec<FuzzJob> {
    vec![
        FuzzJob {
            id: 0,
            name: String::new(),
            tags: vec![],
            priority: None,
            shape: FuzzShape::Point,
        },
        FuzzJob {
            id: u64::MAX,
            name: "résumé ✓ 日本 out of line".into(),
            tags: vec![
                "a".into(),
                String::new(),
                "a tag long enough to be out of line".into(),
            ],
            priority: Some(255),
            shape: FuzzShape::Circle { r: -0.5 },
        },
        FuzzJob {
            id: 7,
            name: "poly".into(),
            tags: vec!["x".into(); 5],
            priority: Some(0),
            shape: FuzzShape::Poly(vec![(i32::MIN, i32::MAX), (0, 0), (1, -1)]),
        },
    ]
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

impl EnvelopeFields {
    /// The real envelope (its codec byte is set by the encoder, from the body).
    fn envelope(self) -> Envelope {
        Envelope {
            flags: self.flags,
            codec: 0,
            frame_id: self.frame_id,
            slot_index: self.slot_index,
            slot_gen: self.slot_gen,
            request_id: self.request_id,
            fingerprint: self.fingerprint,
        }
    }
}

/// A message payload exactly as the real encoder writes it (envelope, channel, padding,
/// arguments). Panics when the message would be refused.
pub fn encode_message(fields: EnvelopeFields, channel: &str, args: &[Value]) -> Vec<u8> {
    encode::to_vec(&fields.envelope(), channel, Body::Values(args)).expect("encodable message")
}

/// A typed message payload exactly as the real encoder writes it: envelope (codec "archive",
/// set from the body), channel, padding, then `archive` as it is.
pub fn encode_archive_message(fields: EnvelopeFields, channel: &str, archive: &[u8]) -> Vec<u8> {
    encode::to_vec(&fields.envelope(), channel, Body::Archive(archive)).expect("encodable message")
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

/// Frame tags of a port's rings: the enveloped `PostMessage`, then the raw forms of a message
/// that carries no port (bytes; a typed archive).
pub const PORT_TAGS: [u16; 3] = [
    Kind::PostMessage as u16,
    crate::port::frame::TAG_BYTES,
    crate::port::frame::TAG_ARCHIVE,
];

/// Run a MessagePort end's checks on one frame its (untrusted) peer wrote: frame tag `tag`,
/// frame payload `bytes`. Returns whether the end would deliver it (`true`) or break the port
/// (`false`). Never panics, whatever the bytes.
///
/// The steps are the port's (`port::frame`, the same code): the private 16-byte aligned copy,
/// the form's validation (envelope, the `Value`'s wire format and the port records; or the raw
/// archive's head, then a typed receiver's check for [`FUZZ_JOB`]'s request type when the
/// fingerprint is its), and the owned copy of the value a listener's `data()` makes. The ports
/// a message names are not collected (that waits for fds; `hostile_port` covers it).
pub fn decode_port_message(tag: u16, bytes: &[u8]) -> bool {
    let mut copy = AlignedBuf::new();
    copy.extend_from_slice(bytes);
    let Ok(parsed) = crate::port::frame::parse(tag, copy.as_slice()) else {
        return false;
    };
    let _ = parsed.data.to_value();
    match parsed.typed {
        Some(t) if t.fingerprint == FUZZ_JOB.fingerprint() => {
            match codec::validate::<FuzzJob>("fuzz-job", t.bytes) {
                Ok(job) => codec::request_to_owned::<FuzzJob>("fuzz-job", job).is_ok(),
                Err(_) => false,
            }
        }
        _ => true,
    }
}

/// Valid port-ring frames of every form, as `(tag, payload)`: enveloped `Value`s (no ports),
/// raw bytes, [`sample_fuzz_jobs`] as raw archives and as enveloped archives on
/// [`FUZZ_JOB`]. Every one passes [`decode_port_message`] (seeds for the `port` fuzz target
/// and the hostile tests' mutations).
pub fn port_corpus() -> Vec<(u16, Vec<u8>)> {
    use crate::port::frame::{TAG_ARCHIVE, TAG_BYTES};
    let post = Kind::PostMessage as u16;
    let enveloped = |body: Body<'_>, fingerprint: u64| {
        let env = Envelope {
            fingerprint,
            ..Envelope::default()
        };
        encode::to_vec(&env, "", body).expect("a sample port message encodes")
    };
    let mut out = Vec::new();
    for v in [
        Value::Null,
        Value::from("a string"),
        Value::from(-7),
        Value::Array(vec![Value::from(1.5), Value::Bytes(vec![9; 40])]),
        Value::map([("k", Value::from(true))]),
    ] {
        out.push((
            post,
            enveloped(Body::Ported(std::slice::from_ref(&v), &[]), 0),
        ));
    }
    out.push((TAG_BYTES, Vec::new()));
    out.push((TAG_BYTES, (0..=255).collect()));
    let fp = FUZZ_JOB.fingerprint();
    for job in sample_fuzz_jobs() {
        let archive = codec::archive(&job).expect("a sample job archives");
        let mut raw = fp.to_le_bytes().to_vec();
        raw.extend_from_slice(&[0; 8]);
        raw.extend_from_slice(archive.as_slice());
        out.push((TAG_ARCHIVE, raw));
        out.push((
            post,
            enveloped(Body::PortedArchive(archive.as_slice(), &[]), fp),
        ));
    }
    out
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

    /// Where the archive starts in an [`encode_fuzz_job`] message.
    fn archive_offset() -> usize {
        crate::message::envelope::args_offset(FUZZ_JOB.name().len())
    }

    /// `job`'s message and the offset (in the message) of `field` of its archived root, found
    /// by reading the archive back.
    fn offset_of(job: &FuzzJob, field: impl Fn(&ArchivedFuzzJob) -> usize) -> (Vec<u8>, usize) {
        let m = encode_fuzz_job(job);
        let mut copy = AlignedBuf::new();
        copy.extend_from_slice(&m[archive_offset()..]);
        let root = rkyv::access::<ArchivedFuzzJob, rkyv::rancor::Error>(copy.as_slice()).unwrap();
        let at = field(root) - copy.as_slice().as_ptr() as usize;
        (m, archive_offset() + at)
    }

    fn addr<T>(r: &T) -> usize {
        r as *const T as usize
    }

    #[test]
    fn valid_archives_decode_under_every_request_kind() {
        for job in sample_fuzz_jobs() {
            let m = encode_fuzz_job(&job);
            for kind in [Kind::Send, Kind::SendSync, Kind::Invoke] {
                assert!(decode_typed_message(kind as u16, &m), "{kind:?} {job:?}");
            }
            // Not requests, or not from a renderer.
            for kind in [Kind::HandlerReply, Kind::Message, Kind::Reply] {
                assert!(!decode_typed_message(kind as u16, &m), "{kind:?}");
            }
            // The archive read back is the job.
            let mut copy = AlignedBuf::new();
            copy.extend_from_slice(&m[archive_offset()..]);
            let back: FuzzJob =
                rkyv::from_bytes::<FuzzJob, rkyv::rancor::Error>(copy.as_slice()).unwrap();
            assert_eq!(back, job);
        }
    }

    #[test]
    fn corrupted_archives_are_refused() {
        let job = &sample_fuzz_jobs()[1];
        let valid = encode_fuzz_job(job);
        let send = Kind::Send as u16;
        assert!(decode_typed_message(send, &valid));
        let patch = |mut m: Vec<u8>, at: usize, bytes: &[u8]| {
            m[at..at + bytes.len()].copy_from_slice(bytes);
            m
        };
        // (what, the reason given, message)
        let mut cases: Vec<(&str, String, Vec<u8>)> = Vec::new();
        let invalid = "channel 'fuzz-job': invalid archive: ".to_string();
        // A relative pointer far out of the archive, and one before its start.
        let (m, tags) = offset_of(job, |j| addr(&j.tags));
        let far = 0x3fff_fff0i32.to_le_bytes();
        let before = (-0x1000i32).to_le_bytes();
        cases.push((
            "tags pointer out of range",
            invalid.clone(),
            patch(m.clone(), tags, &far),
        ));
        cases.push((
            "tags pointer before the start",
            invalid.clone(),
            patch(m.clone(), tags, &before),
        ));
        // A length past the end.
        let long = 0x00ff_ffffu32.to_le_bytes();
        cases.push((
            "tags length past the end",
            invalid.clone(),
            patch(m, tags + 4, &long),
        ));
        // Enum and option tags no variant has.
        let (m, shape) = offset_of(job, |j| addr(&j.shape));
        cases.push((
            "invalid enum tag",
            invalid.clone(),
            patch(m, shape, &[0xee]),
        ));
        let (m, prio) = offset_of(job, |j| addr(&j.priority));
        cases.push(("invalid option tag", invalid.clone(), patch(m, prio, &[7])));
        // Invalid UTF-8 in the (out-of-line) name.
        let (m, name) = offset_of(job, |j| j.name.as_str().as_ptr() as usize);
        cases.push(("name not UTF-8", invalid.clone(), patch(m, name, &[0xff])));
        // Truncated (keeping 16-alignment), empty, misaligned root, smaller than the root.
        let body = valid.len() - archive_offset();
        let cut = archive_offset() + (body / 2) / 16 * 16;
        cases.push(("truncated", invalid.clone(), valid[..cut].to_vec()));
        let empty = valid[..archive_offset()].to_vec();
        cases.push(("empty archive", invalid.clone(), empty.clone()));
        let mut misaligned = valid.clone();
        misaligned.extend_from_slice(&[0; 4]);
        cases.push(("root misaligned", invalid.clone(), misaligned));
        let mut small = empty;
        small.extend_from_slice(&[0; 8]);
        cases.push(("smaller than the root", invalid, small));
        // A valid archive under another fingerprint, or as `Value` arguments.
        let fp = FUZZ_JOB.fingerprint() ^ 1;
        let mismatch = format!(
            "channel 'fuzz-job': schema fingerprint mismatch: this side has {:016x} (rkyv \
             archive), the message {fp:016x}",
            FUZZ_JOB.fingerprint()
        );
        cases.push((
            "wrong fingerprint",
            mismatch,
            patch(valid.clone(), 24, &fp.to_le_bytes()),
        ));
        let args = "arguments: argument bytes are not a valid archive".to_string();
        cases.push(("codec Value", args, patch(valid.clone(), 1, &[0])));
        cases.push((
            "unknown codec",
            "unknown codec 9".into(),
            patch(valid.clone(), 1, &[9]),
        ));
        let zero = "an archive without a schema fingerprint".to_string();
        cases.push(("fingerprint 0", zero, patch(valid.clone(), 24, &[0; 8])));
        for (what, reason, m) in &cases {
            assert!(!decode_typed_message(send, m), "{what}: accepted");
            match typed_message(send, m) {
                Err(why) => assert!(why.starts_with(reason.as_str()), "{what}: {why}"),
                Ok(()) => panic!("{what}: accepted"),
            }
        }
    }

    #[test]
    fn random_corruption_never_panics() {
        let seeds: Vec<Vec<u8>> = sample_fuzz_jobs().iter().map(encode_fuzz_job).collect();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut accepted, mut refused) = (0, 0);
        for i in 0..20_000 {
            let mut m = seeds[i % seeds.len()].clone();
            let start = archive_offset();
            for _ in 0..1 + next() % 4 {
                let at = start + (next() as usize) % (m.len() - start);
                m[at] ^= 1 << (next() % 8);
            }
            if next() % 8 == 0 {
                let keep = start + (next() as usize) % (m.len() - start);
                m.truncate(keep);
            }
            if decode_typed_message(Kind::Invoke as u16, &m) {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
        // Some flips land in bytes nobody checks (a number, padding); most break something.
        assert!(
            accepted > 0 && refused > 0,
            "accepted {accepted}, refused {refused}"
        );
    }

    #[test]
    fn kinds_table_matches_the_protocol() {
        for (i, k) in Kind::ALL.iter().enumerate() {
            assert_eq!(KINDS[i], (format!("{k:?}").leak() as &str, *k as u16));
        }
    }
}
