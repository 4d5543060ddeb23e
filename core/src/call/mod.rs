//! Calls that wait for an answer, for both wings: the one-shot [`Completion`] a waiter blocks
//! on or awaits, the one table of [`PendingCalls`] (ids, fail-all when the peer goes) behind
//! the renderer's async `invoke` and main's `WebContents::invoke`, the [`SlotMailbox`] where a
//! renderer's receive thread leaves answers too large for their response slot, the
//! [`SlotWakers`] of async invokes parked on their response slots, and [`settle`],
//! which turns what came back into the caller's result.

mod completion;
mod mailbox;
mod pending;
mod slot_wakers;

pub(crate) use completion::{Completion, CompletionFuture};
pub(crate) use mailbox::SlotMailbox;
pub(crate) use pending::{PendingCall, PendingCalls};
pub(crate) use slot_wakers::SlotWakers;

use crate::error::{CallError, ReplyError};
use crate::message::reply::{Answer, Returned};
use crate::value::Value;

/// What a call's waiter receives: the other side's answer, or why none came.
pub(crate) type Outcome = Result<Answer, CallError>;

/// Which call an answer belongs to (it decides how a remote error displays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// `invoke` (either direction).
    Invoke,
    /// `sendSync`.
    SendSync,
}

/// The caller's result for an outcome of a `Value` call on `channel`.
pub(crate) fn settle(kind: CallKind, channel: &str, outcome: Outcome) -> Result<Value, CallError> {
    value_of(settle_returned(kind, channel, outcome)?)
}

/// The `Value` a `Value` call's answer carries (a typed archive is a broken reply).
pub(crate) fn value_of(returned: Returned) -> Result<Value, CallError> {
    match returned {
        Returned::Value(v) => Ok(v),
        Returned::Archive(_) => Err(CallError::BrokenReply(ReplyError::WrongShape)),
    }
}

/// The caller's result for an outcome of any call on `channel`: a remote error becomes the
/// call's error.
pub(crate) fn settle_returned(
    kind: CallKind,
    channel: &str,
    outcome: Outcome,
) -> Result<Returned, CallError> {
    outcome?.map_err(|error| remote_error(kind, channel, error))
}

/// A remote error as the caller of `kind` on `channel` sees it.
pub(crate) fn remote_error(kind: CallKind, channel: &str, error: crate::RemoteError) -> CallError {
    let channel = channel.to_string();
    match kind {
        CallKind::Invoke => CallError::Invoke { channel, error },
        CallKind::SendSync => CallError::SendSync { channel, error },
    }
}
