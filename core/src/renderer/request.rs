//! A blocking call (`send_sync`, `invoke_blocking`): take a response slot, post the request
//! naming it, wait in the slot for main's answer. An answer too large for the slot came
//! through the ring, and the slot says only that ([`AUX_LARGE`]): it is collected from the
//! receive thread's mailbox.

use super::connection::Shared;
use super::post::post;
use crate::call::{self, CallKind, Outcome};
use crate::error::{CallError, ReplyError};
use crate::message::body::Body;
use crate::message::envelope::Envelope;
use crate::message::kind::Kind;
use crate::message::reply::{self, AnswerRef, Returned, Shape, AUX_LARGE, AUX_UNENCODABLE};
use crate::value::Value;
use electrode_shm::{Futex, Ticket, TrustedReply, WaitError};
use std::time::Instant;

/// Call `channel` with `Value` arguments and wait for the answer until `deadline`.
pub(crate) fn request(
    shared: &Shared,
    frame_id: u32,
    kind: CallKind,
    channel: &str,
    args: &[Value],
    deadline: Option<Instant>,
) -> Result<Value, CallError> {
    let call = Call {
        frame_id,
        kind,
        channel,
        fingerprint: 0,
        deadline,
    };
    request_with(shared, &call, Body::Values(args), |answer| match answer {
        AnswerRef::Value(v) => Ok(v),
        AnswerRef::Archive(_) => Err(CallError::BrokenReply(ReplyError::WrongShape)),
    })
}

/// One blocking call, as [`request_with`] makes it.
pub(crate) struct Call<'a> {
    pub frame_id: u32,
    pub kind: CallKind,
    pub channel: &'a str,
    /// 0 for `Value` calls.
    pub fingerprint: u64,
    pub deadline: Option<Instant>,
}

/// Make a blocking call with any body; `read` takes the answer where it lies (an archive in
/// the response slot itself, or in the mailbox entry of a large answer).
pub(crate) fn request_with<T>(
    shared: &Shared,
    call: &Call<'_>,
    body: Body<'_>,
    read: impl FnOnce(AnswerRef<'_>) -> Result<T, CallError>,
) -> Result<T, CallError> {
    let Call {
        frame_id,
        kind,
        channel,
        fingerprint,
        deadline,
    } = *call;
    if crate::guard::on_dispatcher_thread() {
        // An in-process renderer called from one of main's listeners: main's dispatcher,
        // which would answer, is the thread that would wait.
        return Err(CallError::WouldDeadlock);
    }
    let slots = &shared.slots;
    let ticket = slots.acquire(deadline).map_err(wait_error)?;
    post_request(
        shared,
        frame_id,
        kind,
        channel,
        fingerprint,
        body,
        ticket,
        0,
    )?;
    let reply = slots
        .wait_reply(ticket, shared.options.wait_mode, deadline)
        .map_err(wait_error)?;
    let aux = reply.aux();
    if aux & AUX_UNENCODABLE != 0 {
        return Err(CallError::BrokenReply(ReplyError::Unencodable));
    }
    if aux & AUX_LARGE != 0 {
        // The slot stays ours (`reply` alive) until the answer is collected: freed earlier,
        // another call could take the same slot index and its large answer the same mailbox.
        let outcome = shared
            .large
            .collect(ticket.index, ticket.generation, deadline);
        drop(reply);
        let mut keep = None;
        return match call::settle_returned(kind, channel, outcome)? {
            Returned::Value(v) => read(AnswerRef::Value(v)),
            Returned::Archive(a) => read(AnswerRef::Archive(keep.insert(a).as_slice())),
        };
    }
    // Read in place, in the slot (main is trusted; an archive is still validated by `read`).
    match reply::decode_ref(reply.as_slice(), Shape::of_aux(aux)) {
        Ok(Ok(answer)) => read(answer),
        Ok(Err(error)) => Err(call::remote_error(kind, channel, error)),
        Err(e) => Err(CallError::BrokenReply(e)),
    }
}

/// Post the request for `channel` naming the slot of `ticket`, with envelope `flags`. When it
/// cannot be posted, the slot is given back.
#[allow(clippy::too_many_arguments)]
pub(super) fn post_request(
    shared: &Shared,
    frame_id: u32,
    kind: CallKind,
    channel: &str,
    fingerprint: u64,
    body: Body<'_>,
    ticket: Ticket,
    flags: u8,
) -> Result<(), CallError> {
    let env = Envelope {
        flags,
        frame_id,
        slot_index: ticket.index,
        slot_gen: ticket.generation,
        fingerprint,
        ..Envelope::default()
    };
    let message = match kind {
        CallKind::Invoke => Kind::Invoke,
        CallKind::SendSync => Kind::SendSync,
    };
    post(shared, message, &env, channel, body).map_err(|e| {
        shared.slots.cancel(ticket);
        e.into()
    })
}

/// The answer a reply in the slot carries (owned), or `None` when it says "large"
/// ([`AUX_LARGE`]): then the answer is in the mailbox, and the slot must stay taken (the
/// reply, or a held slot, alive) until it is collected: freed earlier, another call could take
/// the same slot index and its large answer the same mailbox entry.
pub(super) fn answer_in(reply: &TrustedReply<'_, Futex>) -> Option<Outcome> {
    let aux = reply.aux();
    if aux & AUX_UNENCODABLE != 0 {
        Some(Err(CallError::BrokenReply(ReplyError::Unencodable)))
    } else if aux & AUX_LARGE != 0 {
        None
    } else {
        Some(reply::decode(reply.as_slice(), Shape::of_aux(aux)).map_err(CallError::from))
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
