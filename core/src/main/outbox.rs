//! [`Outbox`]: main's sending end to one renderer. Main must never block on a renderer (a slow
//! or hostile one would stall every other), so when the ring is full messages wait here, in
//! order, and the dispatcher flushes them as the renderer makes room.
//!
//! What waits is bounded by the `outbox_limit` in bytes of memory held, per-message overhead
//! included: each queued message counts its buffer's capacity and its queue entry, and the
//! queue counts its spare capacity. Past the limit, sends fail with [`SendError::Full`]:
//! nothing is dropped silently. A message is always accepted when nothing else waits (so a
//! message larger than the limit can still be sent, alone).

use crate::error::SendError;
use electrode_shm::{Corrupt, Futex, Producer, TryReserveError};
use std::collections::VecDeque;
use std::mem::size_of;

struct Queued {
    tag: u16,
    meta: u64,
    bytes: Vec<u8>,
    progress: usize,
}

impl Queued {
    /// Memory this entry holds beyond its place in the queue.
    fn held(&self) -> usize {
        self.bytes.capacity()
    }
}

/// Why the outbox could not take a message.
#[derive(Debug)]
pub(crate) enum OutboxError {
    /// The message was refused (too large, unencodable, or the queue is full).
    Send(SendError),
    /// The renderer broke the ring protocol (its read position is impossible).
    Corrupt(Corrupt),
}

impl From<SendError> for OutboxError {
    fn from(e: SendError) -> Self {
        OutboxError::Send(e)
    }
}

/// Buffers of sent messages kept for the next queued ones (no allocation per queued message
/// while a renderer is slower than main): at most this many ...
const SPARE_BUFFERS: usize = 16;
/// ... of at most this capacity each (larger ones are freed).
const SPARE_CAPACITY: usize = 4096;

pub(crate) struct Outbox {
    tx: Producer<Futex>,
    queue: VecDeque<Queued>,
    /// Emptied buffers for the next queued messages; counted in [`held`](Self::held).
    spare: Vec<Vec<u8>>,
    /// Sum of [`Queued::held`] over the queue.
    queued_bytes: usize,
    limit: usize,
}

impl Outbox {
    pub(crate) fn new(tx: Producer<Futex>, limit: usize) -> Self {
        Outbox {
            tx,
            queue: VecDeque::new(),
            spare: Vec::new(),
            queued_bytes: 0,
            limit,
        }
    }

    /// Whether messages wait for room.
    pub(crate) fn has_pending(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Memory the queue holds now (buffers, entries, spare entries, spare buffers).
    pub(crate) fn held(&self) -> usize {
        self.queued_bytes
            + self.queue.capacity() * size_of::<Queued>()
            + self.spare.iter().map(Vec::capacity).sum::<usize>()
    }

    /// Send a message of at most `hint` bytes that `fill` writes (returning its length).
    /// Straight into the ring when it is free; otherwise queued. Returns whether it queued.
    pub(crate) fn send(
        &mut self,
        tag: u16,
        meta: u64,
        hint: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, SendError>,
    ) -> Result<bool, OutboxError> {
        // Output waits: move what the ring now has room for first (the dispatcher does the
        // same, but the sender is here already), so this message may go straight in.
        if !self.queue.is_empty() {
            self.flush().map_err(OutboxError::Corrupt)?;
        }
        if self.queue.is_empty() && hint <= self.tx.max_frame_payload() {
            match self.tx.try_reserve(hint) {
                Ok(mut g) => {
                    let n = fill(g.as_mut_slice())?;
                    g.commit(n, tag, meta);
                    return Ok(false);
                }
                Err(TryReserveError::Corrupt(c)) => return Err(OutboxError::Corrupt(c)),
                Err(TryReserveError::Full) | Err(TryReserveError::TooLarge) => {}
            }
        } else if self.queue.is_empty() && hint <= self.tx.max_bulk() {
            // Too large for a frame: encoded straight into the bulk area if the renderer has
            // released the last bulk message (else queued below, and sent in bulk or chunks).
            match self.tx.try_reserve_bulk(hint) {
                Ok(mut g) => {
                    let n = fill(g.as_mut_slice())?;
                    g.commit(n, tag, meta);
                    return Ok(false);
                }
                Err(TryReserveError::Corrupt(c)) => return Err(OutboxError::Corrupt(c)),
                Err(TryReserveError::Full) | Err(TryReserveError::TooLarge) => {}
            }
        }
        // Refused before the buffer is allocated when it could not be queued anyway.
        if !self.queue.is_empty() && !self.fits(hint) {
            return Err(SendError::Full.into());
        }
        let mut v = match self.spare.pop() {
            Some(mut v) => {
                v.clear();
                v.resize(hint, 0);
                v
            }
            None => vec![0u8; hint],
        };
        let n = match fill(&mut v) {
            Ok(n) => n,
            Err(e) => {
                self.recycle(v);
                return Err(e.into());
            }
        };
        v.truncate(n);
        self.enqueue(tag, meta, v)
    }

    /// Whether a message whose buffer holds `capacity` bytes may join a non-empty queue.
    fn fits(&self, capacity: usize) -> bool {
        let growth = if self.queue.len() == self.queue.capacity() {
            self.queue.capacity().max(4) * size_of::<Queued>()
        } else {
            0
        };
        self.held() + growth + capacity <= self.limit
    }

    /// Send an encoded message behind the queued ones ([`send`](Self::send) checked that it
    /// fits a non-empty queue); as much of it as the ring takes goes in at once when nothing
    /// waits.
    fn enqueue(&mut self, tag: u16, meta: u64, bytes: Vec<u8>) -> Result<bool, OutboxError> {
        let mut progress = 0;
        if self.queue.is_empty() {
            let done = self
                .tx
                .try_send_partial(tag, meta, &bytes, &mut progress)
                .map_err(OutboxError::Corrupt)?;
            if done {
                self.recycle(bytes);
                return Ok(false);
            }
        }
        let q = Queued {
            tag,
            meta,
            bytes,
            progress,
        };
        self.queued_bytes += q.held();
        self.queue.push_back(q);
        Ok(true)
    }

    /// The connection closes with `bytes` as its last message: what still waits is dropped
    /// (but a message already part-way into the ring, which must complete), and `bytes` goes
    /// behind it whatever the limit (one small message, once). Returns whether it queued.
    pub(crate) fn close_with(
        &mut self,
        tag: u16,
        meta: u64,
        bytes: Vec<u8>,
    ) -> Result<bool, Corrupt> {
        let keep = usize::from(self.queue.front().is_some_and(|q| q.progress > 0));
        for q in self.queue.drain(keep..) {
            self.queued_bytes -= q.held();
        }
        match self.enqueue(tag, meta, bytes) {
            Ok(queued) => Ok(queued),
            Err(OutboxError::Corrupt(c)) => Err(c),
            // `enqueue` fails only on corruption.
            Err(OutboxError::Send(_)) => Ok(false),
        }
    }

    /// Keep a sent message's buffer for the next queued one, if it is small and few are kept.
    fn recycle(&mut self, bytes: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS && bytes.capacity() <= SPARE_CAPACITY {
            self.spare.push(bytes);
        }
    }

    /// Move queued messages into the ring while it has room. Returns whether any still wait.
    pub(crate) fn flush(&mut self) -> Result<bool, Corrupt> {
        while let Some(q) = self.queue.front_mut() {
            let done = self
                .tx
                .try_send_partial(q.tag, q.meta, &q.bytes, &mut q.progress)?;
            if !done {
                return Ok(true);
            }
            let q = self.queue.pop_front().expect("the front entry");
            self.queued_bytes -= q.held();
            self.recycle(q.bytes);
        }
        // An emptied queue gives its memory back (the spare buffers are bounded).
        if self.queue.capacity() > 64 {
            self.queue.shrink_to_fit();
        }
        Ok(false)
    }
}
