//! [`Outbox`]: main's sending end to one renderer. Main must never block on a renderer (a slow
//! or hostile one would stall every other), so when the ring is full messages wait here, in
//! order, up to a byte limit, and the dispatcher flushes them as the renderer makes room.
//! Past the limit, sends fail with [`IpcError::Full`]: nothing is dropped silently.

use crate::error::IpcError;
use electrode_shm::{Futex, Producer, TryReserveError};
use std::collections::VecDeque;

struct Queued {
    tag: u16,
    meta: u64,
    bytes: Vec<u8>,
    progress: usize,
}

pub(crate) struct Outbox {
    tx: Producer<Futex>,
    queue: VecDeque<Queued>,
    queued_bytes: usize,
    limit: usize,
}

impl Outbox {
    pub(crate) fn new(tx: Producer<Futex>, limit: usize) -> Self {
        Outbox {
            tx,
            queue: VecDeque::new(),
            queued_bytes: 0,
            limit,
        }
    }

    /// Whether messages wait for room.
    pub(crate) fn has_pending(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Send a message of at most `hint` bytes that `fill` writes (returning its length).
    /// Straight into the ring when it is free; otherwise queued. Returns whether it queued.
    pub(crate) fn send(
        &mut self,
        tag: u16,
        meta: u64,
        hint: usize,
        fill: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> Result<bool, IpcError> {
        if self.queue.is_empty() && hint <= self.tx.max_frame_payload() {
            match self.tx.try_reserve(hint) {
                Ok(mut g) => {
                    let Some(n) = fill(g.as_mut_slice()) else {
                        return Err(IpcError::TooLarge { size: hint });
                    };
                    g.commit(n, tag, meta);
                    return Ok(false);
                }
                Err(TryReserveError::Full) => {
                    let mut v = vec![0u8; hint];
                    let n = fill(&mut v).ok_or(IpcError::TooLarge { size: hint })?;
                    v.truncate(n);
                    return self.send_bytes(tag, meta, v);
                }
                Err(TryReserveError::Corrupt(c)) => return Err(IpcError::Protocol(c.to_string())),
                Err(TryReserveError::TooLarge) => {}
            }
        }
        let mut v = vec![0u8; hint];
        let n = fill(&mut v).ok_or(IpcError::TooLarge { size: hint })?;
        v.truncate(n);
        self.send_bytes(tag, meta, v)
    }

    /// Send an already encoded message (queued behind earlier ones).
    pub(crate) fn send_bytes(
        &mut self,
        tag: u16,
        meta: u64,
        bytes: Vec<u8>,
    ) -> Result<bool, IpcError> {
        let mut progress = 0;
        if self.queue.is_empty() {
            let done = self
                .tx
                .try_send_partial(tag, meta, &bytes, &mut progress)
                .map_err(|c| IpcError::Protocol(c.to_string()))?;
            if done {
                return Ok(false);
            }
        } else if self.queued_bytes + bytes.len() > self.limit {
            return Err(IpcError::Full);
        }
        self.queued_bytes += bytes.len() - progress;
        self.queue.push_back(Queued {
            tag,
            meta,
            bytes,
            progress,
        });
        Ok(true)
    }

    /// Move queued messages into the ring while it has room. Returns whether any still wait.
    pub(crate) fn flush(&mut self) -> Result<bool, IpcError> {
        while let Some(q) = self.queue.front_mut() {
            let before = q.progress;
            let done = self
                .tx
                .try_send_partial(q.tag, q.meta, &q.bytes, &mut q.progress)
                .map_err(|c| IpcError::Protocol(c.to_string()))?;
            self.queued_bytes -= q.progress - before;
            if !done {
                return Ok(true);
            }
            self.queue.pop_front();
        }
        Ok(false)
    }
}
