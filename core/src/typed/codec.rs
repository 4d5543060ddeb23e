//! How a typed channel's values travel: [`Rkyv`] (the value's own archive, read in place by the
//! receiver after validation) or [`Serde`] (the value converted to a [`Value`](crate::Value)
//! and sent in Electrode's wire format; feature `serde`).
//!
//! [`Archivable`] names what rkyv needs of a type: `#[derive(Archive, Serialize, Deserialize)]`
//! from rkyv 0.8 (bytecheck on, so every archive can be validated) and [`TypeHash`] for the
//! channel's schema fingerprint.

use crate::error::{CallError, ReplyError, SendError};
use crate::message::body::{Data, Payload, Refusal};
use crate::message::reply::{AnswerRef, Archive, Returned};
use crate::wire::EncodeError;
use rkyv::api::high::{HighDeserializer, HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::rancor;
use rkyv::ser::allocator::ArenaHandle;
use std::cell::Cell;
use type_hash::TypeHash;

/// A type a typed channel can carry as an rkyv archive: any `#[derive(Archive, Serialize,
/// Deserialize, TypeHash)]` type (and the standard types rkyv and `type_hash` both support:
/// integers, `bool`, `String`, `Vec<T>`, `Option<T>`, tuples, maps...). Implemented for every
/// such type; never implement it by hand.
///
/// Its archive is validated (bytecheck) before anyone reads it, so a malformed or hostile
/// archive is refused, never misread. Validation errors are `rancor::BoxedError`s, which keep
/// their reason in release builds too (the log and the error answer say what was wrong).
pub trait Archivable:
    TypeHash
    + rkyv::Archive<
        Archived: for<'a> CheckBytes<HighValidator<'a, rancor::BoxedError>>
                      + rkyv::Deserialize<Self, HighDeserializer<rancor::BoxedError>>,
    > + for<'a> rkyv::Serialize<HighSerializer<Archive, ArenaHandle<'a>, rancor::Error>>
    + Sized
{
}

impl<T> Archivable for T where
    T: TypeHash
        + rkyv::Archive<
            Archived: for<'a> CheckBytes<HighValidator<'a, rancor::BoxedError>>
                          + rkyv::Deserialize<T, HighDeserializer<rancor::BoxedError>>,
        > + for<'a> rkyv::Serialize<HighSerializer<Archive, ArenaHandle<'a>, rancor::Error>>
{
}

/// The archived form of `T`, as a receiver reads it in place.
pub type Archived<T> = <T as rkyv::Archive>::Archived;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Rkyv {}
    impl Sealed for super::Serde {}
}

/// How a typed channel encodes its values. Either [`Rkyv`] (the default) or [`Serde`].
pub trait Codec: sealed::Sealed + 'static {
    /// Mixed into the fingerprint: the same types under two codecs never match.
    const ID: u8;
}

/// Values travel as their rkyv archive: no encoding step beyond rkyv's, and receivers read
/// the archive in place (validated first).
#[derive(Clone, Copy, Debug)]
pub struct Rkyv;

/// Values travel as a [`Value`](crate::Value) (the `Value` wire format), converted with serde:
/// for types that derive `serde::Serialize` / `Deserialize` and not rkyv's traits. They cost
/// the conversion and the `Value` encoding both ways, and a receiver gets an owned value.
/// The converters need the `serde` feature.
#[derive(Clone, Copy, Debug)]
pub struct Serde;

impl Codec for Rkyv {
    const ID: u8 = 1;
}

impl Codec for Serde {
    const ID: u8 = 2;
}

thread_local! {
    /// One reusable serialization buffer per thread.
    static SCRATCH: Cell<Option<Archive>> = const { Cell::new(None) };
}

/// Buffers larger than this are not kept for reuse. A thread that archived a large value keeps
/// its one buffer (up to this capacity: an archive of 16 MiB grows its buffer to 32 MiB) for the
/// next one: a fresh buffer of a few MiB costs more in regrowth copies and page faults than
/// archiving into it does.
const KEEP_SCRATCH: usize = 32 << 20;

/// Serialize `value` and hand its archive to `f` (a thread's buffer, reused).
pub(crate) fn with_archive<T: Archivable, R>(
    value: &T,
    f: impl FnOnce(&[u8]) -> Result<R, SendError>,
) -> Result<R, SendError> {
    let archive = archive(value)?;
    let r = f(archive.as_slice());
    recycle(archive);
    r
}

/// Serialize `value` into an owned archive (a reused buffer when one is free).
pub(crate) fn archive<T: Archivable>(value: &T) -> Result<Archive, SendError> {
    let mut buf = SCRATCH.take().unwrap_or_default();
    buf.clear();
    rkyv::util::with_arena(|arena| {
        rkyv::api::high::to_bytes_in_with_alloc::<_, _, rancor::Error>(value, buf, arena.acquire())
    })
    .map_err(|e| SendError::Unencodable(EncodeError::Serialize(e.to_string())))
}

/// Give a serialization buffer back for reuse.
pub(crate) fn recycle(buf: Archive) {
    if buf.capacity() <= KEEP_SCRATCH {
        SCRATCH.set(Some(buf));
    }
}

/// Give the archive of a sent answer back for reuse.
pub(crate) fn recycle_answer(answer: crate::message::reply::Answer) {
    if let Ok(Returned::Archive(buf)) = answer {
        recycle(buf);
    }
}

/// A typed reply as main sends it.
pub(crate) fn returned<T: Archivable>(value: &T) -> Result<Returned, SendError> {
    archive(value).map(Returned::Archive)
}

/// What a receiver's fingerprint check and validation say of a payload for a channel of
/// `fingerprint`.
pub(crate) fn access<'a, T: Archivable>(
    channel: &str,
    fingerprint: u64,
    payload: &'a Payload<'_>,
) -> Result<&'a Archived<T>, Refusal> {
    match payload.data {
        Data::Archive(bytes) if payload.fingerprint == fingerprint => validate::<T>(channel, bytes),
        _ => Err(Refusal::Type(mismatch(
            channel,
            Rkyv::ID,
            fingerprint,
            payload,
        ))),
    }
}

/// Validate `bytes` (an archive whose fingerprint matched) and read it in place: the result
/// borrows the bytes, not a [`Payload`] around them.
pub(crate) fn validate<'a, T: Archivable>(
    channel: &str,
    bytes: &'a [u8],
) -> Result<&'a Archived<T>, Refusal> {
    rkyv::access::<Archived<T>, rancor::BoxedError>(bytes).map_err(|e| Refusal::Malformed {
        why: format!("channel '{channel}': invalid archive"),
        detail: e.to_string(),
    })
}

/// The type error for a payload that is not of a channel's type.
#[cold]
pub(crate) fn mismatch(
    channel: &str,
    codec: u8,
    fingerprint: u64,
    payload: &Payload<'_>,
) -> String {
    let expected = match codec {
        c if c == Rkyv::ID => "rkyv archive",
        _ => "serde value",
    };
    if payload.fingerprint == 0 {
        format!(
            "channel '{channel}' is typed ({expected}, fingerprint {fingerprint:016x}), \
             but the message carries Value arguments"
        )
    } else {
        format!(
            "channel '{channel}': schema fingerprint mismatch: this side has {fingerprint:016x} \
             ({expected}), the message {:016x} ({}); the two sides were built from different \
             versions of the channel's contract",
            payload.fingerprint,
            payload.codec_name()
        )
    }
}

/// Validate a typed reply and read it with `read`.
pub(crate) fn read_reply<T: Archivable, R>(
    answer: AnswerRef<'_>,
    read: impl FnOnce(&Archived<T>) -> R,
) -> Result<R, CallError> {
    match answer {
        AnswerRef::Archive(bytes) => rkyv::access::<Archived<T>, rancor::BoxedError>(bytes)
            .map(read)
            .map_err(|e| CallError::BrokenReply(ReplyError::InvalidArchive(e.to_string()))),
        AnswerRef::Value(_) => Err(CallError::BrokenReply(ReplyError::WrongShape)),
    }
}

/// Deserialize an archived value into an owned one.
pub(crate) fn to_owned<T: Archivable>(archived: &Archived<T>) -> Result<T, CallError> {
    rkyv::deserialize::<T, rancor::BoxedError>(archived)
        .map_err(|e| CallError::BrokenReply(ReplyError::InvalidArchive(e.to_string())))
}

/// Deserialize an archived request into an owned value (async handlers, which outlive the
/// message). The archive was validated, so this fails only for types whose deserialization
/// itself can fail.
pub(crate) fn request_to_owned<T: Archivable>(
    channel: &str,
    archived: &Archived<T>,
) -> Result<T, Refusal> {
    rkyv::deserialize::<T, rancor::BoxedError>(archived).map_err(|e| Refusal::Malformed {
        why: format!("channel '{channel}': cannot deserialize the request"),
        detail: e.to_string(),
    })
}
