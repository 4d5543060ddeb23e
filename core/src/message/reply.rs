//! The answer to a request, as both ends see it: where it goes ([`ReplyTo`]), how it is
//! encoded ([`encoded`]: `[value]` in the wire format, the archive of a typed reply as it is, or
//! `[name, message, has_data, data]` for an error) and read back ([`decode`], [`decode_ref`]),
//! and the aux bits a response slot carries beside the bytes.

use super::body::Body;
use super::envelope::{Codec, Envelope};
use super::kind::{FLAG_ASYNC_SLOT, FLAG_REPLY_VIA_RING};
use crate::error::{RemoteError, ReplyError};
use crate::value::Value;
use crate::wire::ArgsView;
use std::borrow::Cow;

/// What a handler answered: a value or its error, whole.
pub(crate) type Answer = Result<Returned, RemoteError>;

/// An answer's value: a `Value` (Electron's dynamic calls, serde channels) or the archive of a
/// typed channel's reply (16-aligned; validated by the typed caller before it is read).
#[derive(Debug)]
pub(crate) enum Returned {
    /// A `Value`.
    Value(Value),
    /// An rkyv archive.
    Archive(Archive),
}

/// An owned archive: 16-aligned bytes.
pub(crate) type Archive = rkyv::util::AlignedVec<16>;

impl PartialEq for Returned {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Returned::Value(a), Returned::Value(b)) => a == b,
            (Returned::Archive(a), Returned::Archive(b)) => a.as_slice() == b.as_slice(),
            _ => false,
        }
    }
}

impl From<Value> for Returned {
    fn from(v: Value) -> Self {
        Returned::Value(v)
    }
}

/// An answer read in place: the archive borrowed from where it lies (a response slot, a
/// mailbox entry).
#[derive(Debug)]
pub(crate) enum AnswerRef<'a> {
    /// A `Value`, decoded.
    Value(Value),
    /// An archive, not yet validated.
    Archive(&'a [u8]),
}

/// Slot aux bit: the reply is an rkyv archive (a typed channel's), not `Value`s.
pub const AUX_ARCHIVE: u32 = 8;

/// Slot aux bit: the reply is an error.
pub const AUX_ERROR: u32 = 1;
/// Slot aux bit: the reply was too large for the slot and came as a `LargeReply` message
/// through the ring, committed before the slot was published.
pub const AUX_LARGE: u32 = 2;
/// Slot aux bit: main could not send the reply (a bug in main, or a reply over the message
/// limit); the slot holds no answer.
pub const AUX_UNENCODABLE: u32 = 4;

/// Where the answer to one request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReplyTo {
    /// The requester's response slot (`sendSync`, `invoke`).
    Slot {
        /// Slot index.
        index: u32,
        /// The request's generation of that slot.
        generation: u32,
        /// The requester is a future ([`FLAG_ASYNC_SLOT`]): a publish that finds it asleep
        /// is followed by a `SlotReady` message.
        notify: bool,
    },
    /// A `Reply` message through the ring (an async `invoke` that found no free slot).
    Ring {
        /// The requester's id for the call.
        request_id: u64,
    },
}

impl ReplyTo {
    /// Where a request's envelope asks to be answered.
    pub(crate) fn of(env: &Envelope) -> ReplyTo {
        if env.flags & FLAG_REPLY_VIA_RING != 0 {
            ReplyTo::Ring {
                request_id: env.request_id,
            }
        } else {
            ReplyTo::Slot {
                index: env.slot_index,
                generation: env.slot_gen,
                notify: env.flags & FLAG_ASYNC_SLOT != 0,
            }
        }
    }
}

/// An answer, ready to encode.
pub(crate) enum Encoded<'a> {
    /// `[value]` (borrowed), or `[name, message, has_data, data]`.
    Values(Cow<'a, [Value]>),
    /// A typed reply's archive.
    Archive(&'a [u8]),
}

impl Encoded<'_> {
    /// The message body.
    pub(crate) fn body(&self) -> Body<'_> {
        match self {
            Encoded::Values(v) => Body::Values(v),
            Encoded::Archive(a) => Body::Archive(a),
        }
    }

    /// The slot aux bit for the codec.
    pub(crate) fn aux(&self) -> u32 {
        match self {
            Encoded::Values(_) => 0,
            Encoded::Archive(_) => AUX_ARCHIVE,
        }
    }
}

/// How an answer is encoded.
pub(crate) fn encoded(answer: &Answer) -> Encoded<'_> {
    match answer {
        Ok(Returned::Archive(a)) => Encoded::Archive(a.as_slice()),
        Ok(Returned::Value(v)) => Encoded::Values(Cow::Borrowed(std::slice::from_ref(v))),
        Err(e) => Encoded::Values(values_of_error(e)),
    }
}

/// The values an error answer is encoded as: `[name, message, has_data, data]`.
pub(crate) fn values_of_error(e: &RemoteError) -> Cow<'static, [Value]> {
    Cow::Owned(vec![
        Value::String(e.name.clone()),
        Value::String(e.message.clone()),
        Value::Bool(e.data.is_some()),
        e.data.clone().unwrap_or(Value::Null),
    ])
}

/// How a reply says it is encoded: the envelope's codec byte, or the slot's aux bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    /// The answer is an error (always `Value`-encoded).
    pub is_error: bool,
    /// The answer is an archive.
    pub is_archive: bool,
}

impl Shape {
    /// A reply message's shape.
    pub(crate) fn of_message(env: &Envelope) -> Shape {
        Shape {
            is_error: env.flags & super::kind::FLAG_ERROR != 0,
            is_archive: env.codec == Codec::Archive as u8,
        }
    }

    /// A slot reply's shape.
    pub(crate) fn of_aux(aux: u32) -> Shape {
        Shape {
            is_error: aux & AUX_ERROR != 0,
            is_archive: aux & AUX_ARCHIVE != 0,
        }
    }
}

/// Read an answer written by [`encoded`], owned (an archive is copied, 16-aligned).
pub(crate) fn decode(bytes: &[u8], shape: Shape) -> Result<Answer, ReplyError> {
    match decode_ref(bytes, shape)? {
        Ok(AnswerRef::Value(v)) => Ok(Ok(Returned::Value(v))),
        Ok(AnswerRef::Archive(a)) => {
            let mut owned = Archive::with_capacity(a.len());
            owned.extend_from_slice(a);
            Ok(Ok(Returned::Archive(owned)))
        }
        Err(e) => Ok(Err(e)),
    }
}

/// Read an answer written by [`encoded`] where it lies: an archive stays borrowed.
pub(crate) fn decode_ref(
    bytes: &[u8],
    shape: Shape,
) -> Result<Result<AnswerRef<'_>, RemoteError>, ReplyError> {
    if shape.is_archive && !shape.is_error {
        return Ok(Ok(AnswerRef::Archive(bytes)));
    }
    if shape.is_archive {
        return Err(ReplyError::WrongShape);
    }
    let view = ArgsView::new(bytes).map_err(ReplyError::Invalid)?;
    if !shape.is_error {
        return match view.get(0) {
            Some(v) => Ok(Ok(AnswerRef::Value(v.to_value()))),
            None => Err(ReplyError::WrongShape),
        };
    }
    let text = |i: usize| match view.get(i).and_then(|v| v.as_str()) {
        Some(s) => Ok(s.to_string()),
        None => Err(ReplyError::WrongShape),
    };
    let has_data = matches!(view.get(2).map(|v| v.to_value()), Some(Value::Bool(true)));
    Ok(Err(RemoteError {
        name: text(0)?,
        message: text(1)?,
        data: if has_data {
            Some(view.get(3).ok_or(ReplyError::WrongShape)?.to_value())
        } else {
            None
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::encode_to_vec;

    #[test]
    fn answers_round_trip() {
        let ok: Answer = Ok(Value::from("x").into());
        let bytes = encode_to_vec(&values(&ok)).unwrap();
        assert_eq!(decode(&bytes, VALUE), Ok(ok));
        let err: Answer = Err(RemoteError::named("E", "m").with_data(3));
        let bytes = encode_to_vec(&values(&err)).unwrap();
        assert_eq!(decode(&bytes, ERROR), Ok(err));
        let bare: Answer = Err(RemoteError::bare("reply was never sent"));
        let bytes = encode_to_vec(&values(&bare)).unwrap();
        assert_eq!(decode(&bytes, ERROR), Ok(bare));
        let mut archive = Archive::new();
        archive.extend_from_slice(&[1, 2, 3]);
        let shape = Shape::of_aux(AUX_ARCHIVE);
        assert!(matches!(
            decode_ref(&archive, shape),
            Ok(Ok(AnswerRef::Archive(&[1, 2, 3])))
        ));
        assert_eq!(
            decode(&archive, shape),
            Ok(Ok(Returned::Archive(archive.clone())))
        );
        assert_eq!(
            decode(&archive, Shape::of_aux(AUX_ARCHIVE | AUX_ERROR)),
            Err(ReplyError::WrongShape)
        );
    }

    const VALUE: Shape = Shape {
        is_error: false,
        is_archive: false,
    };
    const ERROR: Shape = Shape {
        is_error: true,
        is_archive: false,
    };

    fn values(answer: &Answer) -> Vec<Value> {
        match encoded(answer) {
            Encoded::Values(v) => v.into_owned(),
            Encoded::Archive(_) => panic!("an archive"),
        }
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let none = encode_to_vec(&[]).unwrap();
        assert_eq!(decode(&none, VALUE), Err(ReplyError::WrongShape));
        let one = encode_to_vec(&[Value::from(1)]).unwrap();
        assert_eq!(decode(&one, ERROR), Err(ReplyError::WrongShape));
        assert!(matches!(
            decode(&[1, 2, 3], VALUE),
            Err(ReplyError::Invalid(_))
        ));
    }
}
