//! The answer to a request, as both ends see it: where it goes ([`ReplyTo`]), how it is
//! encoded ([`values`]: `[value]`, or `[name, message, has_data, data]` for an error) and read
//! back ([`decode`]), and the aux bits a response slot carries beside the bytes.

use super::envelope::Envelope;
use super::kind::{FLAG_ASYNC_SLOT, FLAG_REPLY_VIA_RING};
use crate::error::{RemoteError, ReplyError};
use crate::value::Value;
use crate::wire::ArgsView;
use std::borrow::Cow;

/// What a handler answered: a value or its error, whole.
pub(crate) type Answer = Result<Value, RemoteError>;

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

/// The values an answer is encoded as: `[value]` (borrowed), or
/// `[name, message, has_data, data]`.
pub(crate) fn values(answer: &Answer) -> Cow<'_, [Value]> {
    match answer {
        Ok(v) => Cow::Borrowed(std::slice::from_ref(v)),
        Err(e) => Cow::Owned(vec![
            Value::String(e.name.clone()),
            Value::String(e.message.clone()),
            Value::Bool(e.data.is_some()),
            e.data.clone().unwrap_or(Value::Null),
        ]),
    }
}

/// Read an answer written by [`values`]; `is_error` comes from the envelope flag or slot aux.
pub(crate) fn decode(bytes: &[u8], is_error: bool) -> Result<Answer, ReplyError> {
    let view = ArgsView::new(bytes).map_err(ReplyError::Invalid)?;
    if !is_error {
        return match view.get(0) {
            Some(v) => Ok(Ok(v.to_value())),
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
        let ok: Answer = Ok(Value::from("x"));
        let bytes = encode_to_vec(&values(&ok)).unwrap();
        assert_eq!(decode(&bytes, false), Ok(ok));
        let err: Answer = Err(RemoteError::named("E", "m").with_data(3));
        let bytes = encode_to_vec(&values(&err)).unwrap();
        assert_eq!(decode(&bytes, true), Ok(err));
        let bare: Answer = Err(RemoteError::bare("reply was never sent"));
        let bytes = encode_to_vec(&values(&bare)).unwrap();
        assert_eq!(decode(&bytes, true), Ok(bare));
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let none = encode_to_vec(&[]).unwrap();
        assert_eq!(decode(&none, false), Err(ReplyError::WrongShape));
        let one = encode_to_vec(&[Value::from(1)]).unwrap();
        assert_eq!(decode(&one, true), Err(ReplyError::WrongShape));
        assert!(matches!(
            decode(&[1, 2, 3], false),
            Err(ReplyError::Invalid(_))
        ));
    }
}
