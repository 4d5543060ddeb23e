//! A blocking call (`send_sync`, `invoke_blocking`): take a response slot, post the request
//! naming it, wait in the slot for main's answer. An answer too large for the slot came
//! through the ring, and the slot says only that ([`AUX_LARGE`]): it is collected from the
//! receive thread's mailbox.

use super::connection::Shared;
use super::post::post;
use crate::call::{self, CallKind};
use crate::error::{CallError, ReplyError};
use crate::message::envelope::Envelope;
use crate::message::kind::Kind;
use crate::message::reply::{self, AUX_ERROR, AUX_LARGE, AUX_UNENCODABLE};
use crate::value::Value;
use electrode_shm::WaitError;
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
    let env = Envelope {
        frame_id,
        slot_index: ticket.index,
        slot_gen: ticket.generation,
        ..Envelope::default()
    };
    let message = match kind {
        CallKind::Invoke => Kind::Invoke,
        CallKind::SendSync => Kind::SendSync,
    };
    if let Err(e) = post(shared, message, &env, channel, args) {
        slots.cancel(ticket);
        return Err(e.into());
    }
    let reply = slots
        .wait_reply(ticket, shared.options.wait_mode, deadline)
        .map_err(wait_error)?;
    let aux = reply.aux();
    let outcome = if aux & AUX_UNENCODABLE != 0 {
        Err(CallError::BrokenReply(ReplyError::Unencodable))
    } else if aux & AUX_LARGE != 0 {
        // The slot stays ours (`reply` alive) until the answer is collected: freed earlier,
        // another call could take the same slot index and its large answer the same mailbox.
        let outcome = shared
            .large
            .collect(ticket.index, ticket.generation, deadline);
        drop(reply);
        outcome
    } else {
        reply::decode(reply.as_slice(), aux & AUX_ERROR != 0).map_err(CallError::from)
    };
    call::settle(kind, channel, outcome)
}

fn wait_error(e: WaitError) -> CallError {
    match e {
        WaitError::TimedOut => CallError::TimedOut,
        WaitError::PeerGone => CallError::Disconnected,
    }
}
