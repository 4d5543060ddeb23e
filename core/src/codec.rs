//! Turning messages and replies into bytes and back (on top of [`crate::wire`]).

use crate::error::{IpcError, RemoteError};
use crate::protocol::Envelope;
use crate::value::Value;
use crate::wire::{self, ArgsView};

/// A message sized once, before the buffer for it exists: its size bound (`hint`), and the
/// arguments' encoding plan (`None` when they cannot be encoded; writing then fails).
pub(crate) struct MessagePlan {
    pub hint: usize,
    args: Option<wire::Plan>,
}

/// Size a message (see [`MessagePlan`]).
pub(crate) fn plan_message(channel: &str, args: &[Value]) -> MessagePlan {
    let planned = wire::plan(args).ok();
    let args_len = planned.map_or_else(|| wire::encoded_len_hint(args), |p| p.len());
    MessagePlan {
        hint: Envelope::prefix_len(channel) + args_len,
        args: planned,
    }
}

/// Write a message (envelope, channel, args) sized by [`plan_message`] into `buf` (the values
/// are walked once); returns its length.
pub(crate) fn write_message_planned(
    env: &Envelope,
    channel: &str,
    args: &[Value],
    plan: &MessagePlan,
    buf: &mut [u8],
) -> Option<usize> {
    let p = Envelope::prefix_len(channel);
    if buf.len() < p {
        return None;
    }
    env.write_prefix(channel, buf);
    wire::encode_planned(args, plan.args?, &mut buf[p..])
        .ok()
        .map(|n| p + n)
}

/// A message as an owned, 16-aligned byte vector.
pub(crate) fn message_bytes(
    env: &Envelope,
    channel: &str,
    args: &[Value],
) -> Result<Vec<u8>, IpcError> {
    let plan = plan_message(channel, args);
    let hint = plan.hint;
    let mut v = vec![0u8; hint];
    let n = write_message_planned(env, channel, args, &plan, &mut v)
        .ok_or(IpcError::TooLarge { size: hint })?;
    v.truncate(n);
    Ok(v)
}

/// The values a reply is encoded as: `[value]`, or `[name, message, has_data, data]`.
pub(crate) fn result_values(result: &Result<Value, RemoteError>) -> Vec<Value> {
    match result {
        Ok(v) => vec![v.clone()],
        Err(e) => vec![
            Value::String(e.name.clone()),
            Value::String(e.message.clone()),
            Value::Bool(e.data.is_some()),
            e.data.clone().unwrap_or(Value::Null),
        ],
    }
}

/// Decode a reply written by [`result_values`].
pub(crate) fn decode_result(
    bytes: &[u8],
    is_error: bool,
) -> Result<Result<Value, RemoteError>, IpcError> {
    let view = ArgsView::new(bytes).map_err(|e| IpcError::Protocol(format!("reply: {e}")))?;
    let bad = || IpcError::Protocol("reply has the wrong shape".into());
    if !is_error {
        return Ok(Ok(view.get(0).ok_or_else(bad)?.to_value()));
    }
    let s = |i: usize| match view.get(i).map(|v| v.to_value()) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(bad()),
    };
    let has_data = matches!(view.get(2).map(|v| v.to_value()), Some(Value::Bool(true)));
    Ok(Err(RemoteError {
        name: s(0)?,
        message: s(1)?,
        data: if has_data {
            Some(view.get(3).ok_or_else(bad)?.to_value())
        } else {
            None
        },
    }))
}
