//! Writing one message into the renderer's ring to main: checked and sized first (nothing over
//! the limits is encoded), then encoded straight into the ring's reservation when it fits one
//! frame, or straight into the ring's bulk area when it fits that (once main has released the
//! last bulk message), or encoded once and sent in chunks when it fits neither.

use super::connection::Shared;
use crate::error::SendError;
use crate::message::body::Body;
use crate::message::encode;
use crate::message::envelope::Envelope;
use crate::message::kind::Kind;
use std::time::Instant;

/// Post one message (blocking while the ring is full, per the connection's options).
pub(crate) fn post(
    shared: &Shared,
    kind: Kind,
    env: &Envelope,
    channel: &str,
    body: Body<'_>,
) -> Result<(), SendError> {
    if shared.live.is_gone() {
        return Err(SendError::Disconnected);
    }
    let planned = encode::plan(channel, body)?;
    let deadline = shared.options.send_timeout.map(|t| Instant::now() + t);
    let mode = shared.options.wait_mode;
    let hint = planned.len();
    let mut tx = shared.tx.lock();
    if hint <= tx.max_frame_payload() {
        let mut g = tx
            .reserve(hint, mode, deadline)
            .map_err(|e| ring_error(e, hint))?;
        let n = planned.write(env, channel, body, g.as_mut_slice())?;
        g.commit(n, kind as u16, env.request_id);
        return Ok(());
    }
    if hint <= tx.max_bulk() {
        let mut g = tx
            .reserve_bulk(hint, mode, deadline)
            .map_err(|e| ring_error(e, hint))?;
        let n = planned.write(env, channel, body, g.as_mut_slice())?;
        g.commit(n, kind as u16, env.request_id);
        return Ok(());
    }
    drop(tx);
    let bytes = planned.to_vec(env, channel, body)?;
    shared
        .tx
        .lock()
        .send(kind as u16, env.request_id, &bytes, mode, deadline)
        .map_err(|e| ring_error(e, bytes.len()))
}

/// Post a message that fits one frame now, or not at all: never waits, neither for the
/// producer's lock nor for room (on main's dispatcher thread, where an in-process renderer
/// waiting for main would wait for itself). `SendError::Full` when it cannot go now.
pub(crate) fn try_post(
    shared: &Shared,
    kind: Kind,
    env: &Envelope,
    channel: &str,
    body: Body<'_>,
) -> Result<(), SendError> {
    if shared.live.is_gone() {
        return Err(SendError::Disconnected);
    }
    let planned = encode::plan(channel, body)?;
    let mut tx = shared.tx.try_lock().ok_or(SendError::Full)?;
    let mut g = tx.try_reserve(planned.len()).map_err(|e| match e {
        electrode_shm::TryReserveError::Full | electrode_shm::TryReserveError::TooLarge => {
            SendError::Full
        }
        electrode_shm::TryReserveError::Corrupt(_) => SendError::Disconnected,
    })?;
    let n = planned.write(env, channel, body, g.as_mut_slice())?;
    g.commit(n, kind as u16, env.request_id);
    Ok(())
}

/// The ring's refusal of a message of `size` bytes.
fn ring_error(e: electrode_shm::SendError, size: usize) -> SendError {
    match e {
        electrode_shm::SendError::TimedOut => SendError::Full,
        // Main broke its own ring: nothing more can be said to it.
        electrode_shm::SendError::PeerGone | electrode_shm::SendError::Corrupt(_) => {
            SendError::Disconnected
        }
        electrode_shm::SendError::TooLarge => SendError::TooLarge {
            size,
            limit: crate::MAX_MESSAGE_LEN,
        },
    }
}
