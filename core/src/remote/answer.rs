//! The renderer relay's half of "slots do not cross the network" (docs/REMOTE.md): main's
//! `Reply` to a rewritten request arrives as a slot answer, and is written into the
//! renderer's slot as main's `respond.rs` writes one: in place when it fits, else a
//! `LargeReply` message through the ring first and `AUX_LARGE` in the slot; then `SlotReady`
//! when an async requester had gone to sleep.
//!
//! The `Reply` message came from the network: its envelope and length are checked here, and
//! its arguments stay unread (the requester decodes, and validates, them).

use super::frame::SlotAnswer;
use crate::message::envelope::{args_offset, Codec, Envelope};
use crate::message::kind::{Kind, FLAG_ERROR};
use crate::message::reply::{AUX_ARCHIVE, AUX_ERROR, AUX_LARGE, AUX_UNENCODABLE};
use electrode_shm::{Park, SlotTable};
use std::fmt;

/// Why a slot answer was refused (a violation of the remote link).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AnswerError {
    /// Not an envelope with an empty channel.
    Malformed,
    /// The codec byte names no codec.
    Codec(u8),
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerError::Malformed => f.write_str("slot answer is not a reply message"),
            AnswerError::Codec(c) => write!(f, "slot answer has unknown codec {c}"),
        }
    }
}

impl std::error::Error for AnswerError {}

/// Write `reply` (a whole `Reply` message: envelope, empty channel, answer) into the slot
/// `to` names. `ring(kind, message)` puts a message into the renderer's ring (committed, or
/// queued in order) and says whether it could. A stale slot (its requester gave up) is left
/// alone, as main leaves it.
pub(crate) fn answer_slot<P: Park>(
    slots: &SlotTable<P>,
    to: SlotAnswer,
    reply: &[u8],
    mut ring: impl FnMut(Kind, &[u8]) -> bool,
) -> Result<(), AnswerError> {
    let (env, channel_len) = Envelope::read(reply).ok_or(AnswerError::Malformed)?;
    let start = args_offset(0);
    if channel_len != 0 || reply.len() < start {
        return Err(AnswerError::Malformed);
    }
    let codec = Codec::from_byte(env.codec).ok_or(AnswerError::Codec(env.codec))?;
    let mut aux = if env.flags & FLAG_ERROR != 0 {
        AUX_ERROR
    } else {
        0
    };
    if codec == Codec::Archive {
        aux |= AUX_ARCHIVE;
    }
    let answer = &reply[start..];
    let slept = if answer.len() > slots.slot_size() {
        let Ok(grant) = slots.start_reply(to.index, to.generation, slots.slot_size()) else {
            return Ok(());
        };
        // The same message as main's `LargeReply`: the reply's envelope naming the slot.
        let mut large = reply.to_vec();
        Envelope {
            slot_index: to.index,
            slot_gen: to.generation,
            request_id: 0,
            ..env
        }
        .write_prefix("", &mut large);
        if ring(Kind::LargeReply, &large) {
            grant.publish(0, AUX_LARGE | aux)
        } else {
            grant.publish(0, AUX_UNENCODABLE)
        }
    } else {
        match slots.start_reply(to.index, to.generation, answer.len()) {
            Ok(mut grant) => {
                grant.as_mut_slice().copy_from_slice(answer);
                grant.publish(answer.len(), aux)
            }
            Err(_) => false,
        }
    };
    if slept && to.notify {
        let mut ready = vec![0u8; start + 64];
        Envelope {
            slot_index: to.index,
            slot_gen: to.generation,
            ..Envelope::default()
        }
        .write_prefix("", &mut ready);
        let n =
            crate::wire::encode_into(&[], &mut ready[start..]).expect("no arguments fit 64 bytes");
        ready.truncate(start + n);
        if !ring(Kind::SlotReady, &ready) {
            tracing::warn!("remote relay: cannot wake an async invoke");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RemoteError;
    use crate::message::encode;
    use crate::message::reply::{self, Answer, Returned, Shape};
    use crate::value::Value;
    use electrode_shm::{Futex, Liveness, WaitMode};
    use std::time::{Duration, Instant};

    /// The `Reply` message main's `answer_ring` writes for `answer`.
    fn reply_message(answer: &Answer) -> Vec<u8> {
        let env = Envelope {
            flags: if answer.is_err() { FLAG_ERROR } else { 0 },
            request_id: 42,
            ..Envelope::default()
        };
        let encoded = reply::encoded(answer);
        let planned = encode::plan("", encoded.body()).unwrap();
        let mut buf = vec![0u8; planned.len()];
        let n = planned.write(&env, "", encoded.body(), &mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    /// Answer through the relay, then read the slot as the renderer does.
    fn through_slot(answer: &Answer, slot_size: u32) -> (Answer, Vec<(Kind, Vec<u8>)>) {
        let slots = SlotTable::new_heap(4, slot_size, Futex, Liveness::new());
        let ticket = slots.try_acquire().unwrap();
        let to = SlotAnswer {
            index: ticket.index,
            generation: ticket.generation,
            notify: false,
        };
        let mut sent = Vec::new();
        answer_slot(&slots, to, &reply_message(answer), |kind, m| {
            sent.push((kind, m.to_vec()));
            true
        })
        .unwrap();
        let deadline = Some(Instant::now() + Duration::from_secs(10));
        let r = slots
            .wait_reply(ticket, WaitMode::ParkOnly, deadline)
            .unwrap();
        let aux = r.aux();
        if aux & AUX_LARGE != 0 {
            // The answer is in the `LargeReply` message, as the receive thread reads it.
            let (env, _) = Envelope::read(&sent[0].1).unwrap();
            assert_eq!(
                (env.slot_index, env.slot_gen),
                (ticket.index, ticket.generation)
            );
            let got = reply::decode(&sent[0].1[args_offset(0)..], Shape::of_message(&env));
            return (got.unwrap(), sent);
        }
        let mut bytes = vec![0u8; r.len()];
        r.copy_to(&mut bytes);
        (reply::decode(&bytes, Shape::of_aux(aux)).unwrap(), sent)
    }

    #[test]
    fn a_ring_reply_lands_in_the_slot_as_main_would_have_written_it() {
        let answer: Answer = Ok(Returned::Value(Value::String("pong".into())));
        let (got, sent) = through_slot(&answer, 256);
        assert!(sent.is_empty());
        match got {
            Ok(Returned::Value(v)) => assert_eq!(v, Value::String("pong".into())),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_error_answer_keeps_its_name_and_message() {
        let answer: Answer = Err(RemoteError::new("no handler"));
        let (got, _) = through_slot(&answer, 256);
        assert_eq!(got.unwrap_err().message, "no handler");
    }

    #[test]
    fn an_answer_larger_than_the_slot_goes_through_the_ring_first() {
        let big = Value::Bytes(vec![7u8; 5000]);
        let answer: Answer = Ok(Returned::Value(big.clone()));
        let (got, sent) = through_slot(&answer, 256);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, Kind::LargeReply);
        match got {
            Ok(Returned::Value(v)) => assert_eq!(v, big),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_answers_and_stale_slots_are_handled() {
        let slots = SlotTable::new_heap(2, 64, Futex, Liveness::new());
        let to = SlotAnswer {
            index: 0,
            generation: 0,
            notify: true,
        };
        assert_eq!(
            answer_slot(&slots, to, &[0u8; 10], |_, _| true),
            Err(AnswerError::Malformed)
        );
        let mut m = reply_message(&Ok(Returned::Value(Value::Null)));
        m[1] = 9;
        assert_eq!(
            answer_slot(&slots, to, &m, |_, _| true),
            Err(AnswerError::Codec(9))
        );
        // No request waits in slot 0: nothing is written and nothing sent.
        let m = reply_message(&Ok(Returned::Value(Value::Null)));
        let mut sent = 0;
        answer_slot(&slots, to, &m, |_, _| {
            sent += 1;
            true
        })
        .unwrap();
        assert_eq!(sent, 0);
    }
}
