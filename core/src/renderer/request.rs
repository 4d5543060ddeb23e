//! A slot call: take a response slot, post the request naming it, wait in the slot for main's
//! answer. The blocking calls (`send_sync`, `invoke_blocking`) wait here ([`request`]); the
//! async invoke's future posts and reads its reply with the same pieces ([`post_request`],
//! [`answer_in`]). An answer too large for the slot came through the ring, and the slot says
//! only that ([`AUX_LARGE`]): it is collected from the receive thread's mailbox.

use super::connection::Shared;
use super::post::post;
use crate::call::{self, CallKind, Outcome};
use crate::error::{CallError, ReplyError};
use crate::message::envelope::Envelope;
use crate::message::kind::Kind;
use crate::message::reply::{self, AUX_ERROR, AUX_LARGE, AUX_UNENCODABLE};
use crate::value::Value;
use electrode_shm::{Futex, Ticket, TrustedReply, WaitError};
use std::time::Instant;

/// Call `channel` and wait for the answer until `deadline`.
pub(crate) fn request(
    shared: &Shared,
    frame_id: u32,
    kind: CallKind,
    channel: &str,
    args: &[Value],
    deadline: Option<Instant>,
) -> Result<Value, CallError> {
    let slots = &shared.slots;
    let ticket = slots.acquire(deadline).map_err(wait_error)?;
    post_request(shared, frame_id, kind, channel, args, ticket, 0)?;
    let reply = slots
        .wait_reply(ticket, shared.options.wait_mode, deadline)
        .map_err(wait_error)?;
    call::settle(kind, channel, read_reply(shared, reply, deadline))
}

/// Post the request for `channel` naming the slot of `ticket`, with envelope `flags`. When it
/// cannot be posted, the slot is given back.
pub(super) fn post_request(
    shared: &Shared,
    frame_id: u32,
    kind: CallKind,
    channel: &str,
    args: &[Value],
    ticket: Ticket,
    flags: u8,
) -> Result<(), CallError> {
    let env = Envelope {
        flags,
        frame_id,
        slot_index: ticket.index,
        slot_gen: ticket.generation,
        ..Envelope::default()
    };
    let message = match kind {
        CallKind::Invoke => Kind::Invoke,
        CallKind::SendSync => Kind::SendSync,
    };
    post(shared, message, &env, channel, args).map_err(|e| {
        shared.slots.cancel(ticket);
        e.into()
    })
}

/// The answer a reply in the slot carries, or `None` when it says "large" ([`AUX_LARGE`]):
/// then the answer is in the mailbox, and the slot must stay taken (the reply, or a held
/// slot, alive) until it is collected: freed earlier, another call could take the same slot
/// index and its large answer the same mailbox entry.
pub(super) fn answer_in(reply: &TrustedReply<'_, Futex>) -> Option<Outcome> {
    let aux = reply.aux();
    if aux & AUX_UNENCODABLE != 0 {
        Some(Err(CallError::BrokenReply(ReplyError::Unencodable)))
    } else if aux & AUX_LARGE != 0 {
        None
    } else {
        Some(reply::decode(reply.as_slice(), aux & AUX_ERROR != 0).map_err(CallError::from))
    }
}

/// The answer of a reply in the slot, collected from the mailbox (until `deadline`) when it
/// was too large for the slot.
pub(super) fn read_reply(
    shared: &Shared,
    reply: TrustedReply<'_, Futex>,
    deadline: Option<Instant>,
) -> Outcome {
    match answer_in(&reply) {
        Some(outcome) => outcome,
        None => {
            let t = reply.ticket();
            let outcome = shared.large.collect(t.index, t.generation, deadline);
            drop(reply);
            outcome
        }
    }
}

/// The caller's error for a wait in the slot that ended without a reply.
pub(super) fn wait_error(e: WaitError) -> CallError {
    match e {
        WaitError::TimedOut => CallError::TimedOut,
        WaitError::PeerGone => CallError::Disconnected,
    }
}
