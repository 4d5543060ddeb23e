//! Main's answers to a renderer's requests: the one place a reply is written, for both ways a
//! request asks to be answered ([`ReplyTo`]).
//!
//! - **Slot** (blocking `sendSync` / `invoke`): the answer is encoded into a private scratch
//!   buffer, then copied into the requester's response slot, which is claimed only for that
//!   copy, through a write grant (reserve, write, publish; the requester polls the slot's
//!   ready word, and a short claim keeps its line from bouncing). An answer larger than the
//!   slot goes through the ring as a `LargeReply` message while main holds the slot's grant,
//!   and the slot is then published with [`AUX_LARGE`] alone: the requester, woken by its slot,
//!   collects the answer from its receive thread (see `call::SlotMailbox`). The renderer never
//!   writes its own slot table, and a requester that gave up is sent nothing.
//! - **Ring** (async `invoke`): a `Reply` message carrying the request id.
//!
//! An answer that cannot be sent (nested too deep, or over the message limit) is replaced by
//! an error saying why: a requester is always answered (once the connection is closed, by its
//! own side: main writes nothing more, see `main/close.rs`).
//!
//! [`Responder`] is the owned form, for answers given later or from another thread
//! (`DeferredReply`, a `sendSync` event's clones, async handlers).

use super::link::Conn;
use crate::error::{RemoteError, SendError};
use crate::message::body::Body;
use crate::message::envelope::Envelope;
use crate::message::kind::{Kind, FLAG_ERROR};
use crate::message::reply::{
    self, Answer, Encoded, ReplyTo, AUX_ERROR, AUX_LARGE, AUX_UNENCODABLE,
};
use crate::wire;
use electrode_shm::{AlignedBuf, Futex, SlotTable};
use std::cell::RefCell;
use std::sync::Arc;

/// An answer owed to one renderer's request, to give once, from any thread.
pub(crate) struct Responder {
    pub conn: Arc<Conn>,
    pub to: ReplyTo,
}

impl Responder {
    /// Give the answer.
    pub(crate) fn send(self, answer: Answer) {
        self.conn.answer(None, self.to, &answer);
        crate::typed::recycle_answer(answer);
    }
}

fn failed(why: impl std::fmt::Display) -> Answer {
    Err(RemoteError::new(format!(
        "the reply could not be sent: {why}"
    )))
}

impl Conn {
    /// Answer a request. `slots` is the renderer's slot table when the caller holds it (the
    /// dispatcher does, so the common answer takes no lock).
    /// Nothing is written once the connection is closed: the requester fails on its side
    /// (main's `Close`), and a late answer must not beat that message to it.
    pub(crate) fn answer(&self, slots: Option<&SlotTable<Futex>>, to: ReplyTo, answer: &Answer) {
        if self.life.is_closed() {
            return;
        }
        match to {
            ReplyTo::Slot {
                index,
                generation,
                notify,
            } => {
                let slept = match slots {
                    Some(slots) => self.answer_slot(slots, index, generation, answer),
                    None => {
                        let slots = match self.link.lock().as_ref() {
                            Some(l) => l.slots.clone(),
                            None => return,
                        };
                        self.answer_slot(&slots, index, generation, answer)
                    }
                };
                if slept && notify {
                    self.slot_ready(index, generation);
                }
            }
            ReplyTo::Ring { request_id } => self.answer_ring(request_id, answer),
        }
    }

    /// Tell the renderer that the reply in slot `(index, generation)` is published and its
    /// requester, a future, had announced that it sleeps. Sent after the publish, so the
    /// future, woken by it, finds the reply (see `SlotTable::poll_reply` for why no wake-up
    /// is lost).
    fn slot_ready(&self, index: u32, generation: u32) {
        let env = Envelope {
            slot_index: index,
            slot_gen: generation,
            ..Envelope::default()
        };
        match self.send(Kind::SlotReady, &env, "", Body::Values(&[])) {
            Ok(()) | Err(SendError::Disconnected) => {}
            Err(e) => tracing::warn!(renderer = self.id, error = %e, "cannot wake an async invoke"),
        }
    }

    /// Answer in the slot; returns whether the requester had announced that it sleeps.
    fn answer_slot(
        &self,
        slots: &SlotTable<Futex>,
        index: u32,
        generation: u32,
        answer: &Answer,
    ) -> bool {
        let encoded = reply::encoded(answer);
        let aux = encoded.aux() | if answer.is_err() { AUX_ERROR } else { 0 };
        let (values, plan) = match &encoded {
            Encoded::Values(values) => match wire::plan(values) {
                Ok(plan) => (values, plan),
                Err(e) => return self.answer_slot(slots, index, generation, &failed(e)),
            },
            Encoded::Archive(bytes) => {
                return self.answer_slot_archive(slots, index, generation, bytes, aux)
            }
        };
        let hint = plan.len();
        if hint > slots.slot_size() {
            // Claimed first: a requester that gave up (a stale slot) is sent nothing.
            let Ok(grant) = slots.start_reply(index, generation, slots.slot_size()) else {
                return false;
            };
            let env = Envelope {
                flags: if answer.is_err() { FLAG_ERROR } else { 0 },
                slot_index: index,
                slot_gen: generation,
                ..Envelope::default()
            };
            // The ring message is committed (or queued in order) before the slot says
            // "large", so the requester's receive thread always gets it.
            return match self.send(Kind::LargeReply, &env, "", encoded.body()) {
                Ok(()) => grant.publish(0, AUX_LARGE | aux),
                Err(e) => publish_failure(grant, e),
            };
        }
        thread_local! {
            static SCRATCH: RefCell<AlignedBuf> = RefCell::new(AlignedBuf::new());
        }
        SCRATCH.with(|scratch| {
            let mut buf = scratch.borrow_mut();
            buf.resize(hint);
            // The plan ruled out every encoding failure but a bug, which the requester then
            // reports as a broken reply.
            let (n, aux) = match wire::encode_planned(values, plan, buf.as_mut_slice()) {
                Ok(n) => (n, aux),
                Err(e) => {
                    tracing::error!(renderer = self.id, error = %e, "cannot encode a reply");
                    (0, AUX_UNENCODABLE)
                }
            };
            // A stale slot (the requester gave up) is left alone.
            match slots.start_reply(index, generation, n) {
                Ok(mut grant) => {
                    grant.as_mut_slice().copy_from_slice(&buf.as_slice()[..n]);
                    grant.publish(n, aux)
                }
                Err(_) => false,
            }
        })
    }

    /// A typed reply: its archive is copied into the slot as it is, or sent through the ring
    /// when larger than the slot.
    fn answer_slot_archive(
        &self,
        slots: &SlotTable<Futex>,
        index: u32,
        generation: u32,
        bytes: &[u8],
        aux: u32,
    ) -> bool {
        if bytes.len() > slots.slot_size() {
            let Ok(grant) = slots.start_reply(index, generation, slots.slot_size()) else {
                return false;
            };
            let env = Envelope {
                slot_index: index,
                slot_gen: generation,
                ..Envelope::default()
            };
            return match self.send(Kind::LargeReply, &env, "", Body::Archive(bytes)) {
                Ok(()) => grant.publish(0, AUX_LARGE | aux),
                Err(e) => publish_failure(grant, e),
            };
        }
        // A stale slot (the requester gave up) is left alone.
        match slots.start_reply(index, generation, bytes.len()) {
            Ok(mut grant) => {
                grant.as_mut_slice().copy_from_slice(bytes);
                grant.publish(bytes.len(), aux)
            }
            Err(_) => false,
        }
    }

    fn answer_ring(&self, request_id: u64, answer: &Answer) {
        let env = Envelope {
            flags: if answer.is_err() { FLAG_ERROR } else { 0 },
            request_id,
            ..Envelope::default()
        };
        match self.send(Kind::Reply, &env, "", reply::encoded(answer).body()) {
            Ok(()) => {}
            Err(SendError::Disconnected) => {}
            Err(e) => {
                let why = failed(&e);
                let env = Envelope {
                    flags: FLAG_ERROR,
                    ..env
                };
                if let Err(e) = self.send(Kind::Reply, &env, "", reply::encoded(&why).body()) {
                    tracing::warn!(renderer = self.id, error = %e, "cannot answer an invoke");
                }
            }
        }
    }
}

/// A large reply could not be sent through the ring: the slot says why instead.
fn publish_failure(mut grant: electrode_shm::ReplyGrant<'_, Futex>, e: SendError) -> bool {
    let why = RemoteError::new(format!("the reply could not be sent: {e}"));
    match wire::encode_into(&reply::values_of_error(&why), grant.as_mut_slice()) {
        Ok(n) => grant.publish(n, AUX_ERROR),
        Err(_) => grant.publish(0, AUX_UNENCODABLE),
    }
}
