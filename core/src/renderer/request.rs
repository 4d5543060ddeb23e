//! A blocking call (`send_sync`, `invoke_blocking`): take a response slot, post the request
//! naming it, wait in the slot for main's answer. An answer too large for the slot came
//! through the ring, and the slot says only that ([`AUX_LARGE`]): it is collected from the
//! receive thread's mailbox.

use super::connection::Shared;
use super::post::post;
use crate::call::{self, CallKind};
use crate::error::{CallError, ReplyError};
use crate::message::body::Body;
use crate::message::envelope::Envelope;
use crate::message::kind::Kind;
use crate::message::reply::{self, AnswerRef, Returned, Shape, AUX_LARGE, AUX_UNENCODABLE};
use crate::value::Value;
use electrode_shm::WaitError;
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
    let slots = &shared.slots;
    let ticket = slots.acquire(deadline).map_err(wait_error)?;
    let env = Envelope {
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
    if let Err(e) = post(shared, message, &env, channel, body) {
        slots.cancel(ticket);
        return Err(e.into());
    }
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

fn wait_error(e: WaitError) -> CallError {
    match e {
        WaitError::TimedOut => CallError::TimedOut,
        WaitError::PeerGone => CallError::Disconnected,
    }
}
