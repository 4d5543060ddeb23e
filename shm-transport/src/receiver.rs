//! [`Receiver`]: whole messages out of a [`Consumer`], reassembling chunked ones.
//!
//! A message that fits a frame is handed out in place ([`Message::Frame`]). A larger one
//! arrives as `First, Middle*, Last` chunks that all carry the same tag and meta; the receiver
//! copies them into its own buffer as they arrive (never blocking on a partial message, so one
//! slow producer cannot stall a dispatcher that serves many) and hands out the whole
//! ([`Message::Assembled`]). A message in the ring's bulk area (`crate::bulk`) is copied
//! into the same buffer in one go and handed out the same way, or, by a receiver that trusts
//! its producer ([`Receiver::trust_producer`]), handed out in place. Any break in the chunk
//! sequence, or a message beyond the size limit, is a [`Corrupt`] error.

use crate::aligned::AlignedBuf;
use crate::bytes::InPlace;
use crate::frame::{FrameHeader, FrameKind};
use crate::ring::{Consumer, Corrupt, ReadGrant, RecvError};
use crate::wait::{Park, WaitMode};
use std::time::Instant;

/// Default limit on one message (128 MiB).
pub const DEFAULT_MAX_MESSAGE: usize = 128 << 20;

/// A message taken from a [`Receiver`].
pub enum Message<'a, P: Park> {
    /// A message in one frame, still in the ring: read it, then [`ReadGrant::release`] it.
    Frame(ReadGrant<'a, P>),
    /// A reassembled or bulk message in the receiver's private buffer, or, for a receiver
    /// that trusts its producer, a bulk message in place.
    Assembled {
        /// The message's tag.
        tag: u16,
        /// The message's meta word.
        meta: u64,
        /// The payload (16-byte aligned).
        bytes: &'a [u8],
    },
}

impl<P: Park> Message<'_, P> {
    /// The message's tag.
    pub fn tag(&self) -> u16 {
        match self {
            Message::Frame(g) => g.header().tag,
            Message::Assembled { tag, .. } => *tag,
        }
    }

    /// The message's meta word.
    pub fn meta(&self) -> u64 {
        match self {
            Message::Frame(g) => g.header().meta,
            Message::Assembled { meta, .. } => *meta,
        }
    }

    /// Copy the payload into `out` (replacing its contents) and release the frame.
    pub fn copy_into(self, out: &mut AlignedBuf) {
        match self {
            Message::Frame(g) => {
                out.resize(g.len());
                g.copy_to(out.as_mut_slice());
                g.release();
            }
            Message::Assembled { bytes, .. } => {
                out.clear();
                out.extend_from_slice(bytes);
            }
        }
    }

    /// Release the message (frees the frame; a reassembled buffer is reused on the next call).
    pub fn release(self) {
        if let Message::Frame(g) = self {
            g.release();
        }
    }
}

enum Progress {
    Empty,
    Partial,
    Whole,
    Assembled(u16, u64),
    /// A bulk message read in place (its frame is held until the next step).
    BulkInPlace(u16, u64, usize),
}

/// Reads whole messages from a ring (see the module docs).
pub struct Receiver<P: Park> {
    consumer: Consumer<P>,
    buf: AlignedBuf,
    partial: Option<(u16, u64)>,
    ready: Option<(u16, u64)>,
    max_message: usize,
    /// Whether bulk messages are read in place ([`trust_producer`](Self::trust_producer)).
    trusted: bool,
    /// A bulk frame handed out in place, to release before anything else is read.
    held_bulk: bool,
    in_place: InPlace,
}

impl<P: Park> std::fmt::Debug for Receiver<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("consumer", &self.consumer)
            .field("partial", &self.partial)
            .finish()
    }
}

impl<P: Park> Receiver<P> {
    /// Wrap a consumer, accepting messages up to `max_message` bytes.
    pub fn new(consumer: Consumer<P>, max_message: usize) -> Self {
        Receiver {
            consumer,
            buf: AlignedBuf::new(),
            partial: None,
            ready: None,
            max_message,
            trusted: false,
            held_bulk: false,
            in_place: InPlace::new(),
        }
    }

    /// Hand out bulk messages in place ([`Message::Assembled`] then borrows the bulk area)
    /// instead of copying them into the receiver's buffer. The bulk frame is released, and the
    /// area handed back to the producer, by [`finish_message`](Self::finish_message) or the
    /// next receive.
    ///
    /// # Safety
    /// The producer must be trusted not to write the bulk area while it is handed out: the
    /// protocol gives the area to the consumer from the bulk frame's publication until its
    /// release, but only an honest producer keeps to it (see [`ReadGrant::as_slice`]).
    pub unsafe fn trust_producer(&mut self) {
        self.trusted = true;
    }

    /// Done with the last message: a bulk message read in place goes back to the producer now
    /// rather than at the next receive (so the producer can send the next one sooner).
    pub fn finish_message(&mut self) {
        if self.held_bulk {
            self.held_bulk = false;
            if let Ok(Some(g)) = self.consumer.try_peek() {
                g.release();
            }
        }
    }

    /// The underlying consumer (its events, its liveness).
    pub fn consumer(&mut self) -> &mut Consumer<P> {
        &mut self.consumer
    }

    /// The underlying consumer, shared.
    pub fn consumer_ref(&self) -> &Consumer<P> {
        &self.consumer
    }

    /// Whether a message is only partly received.
    pub fn is_mid_message(&self) -> bool {
        self.partial.is_some()
    }

    fn step(&mut self) -> Result<Progress, Corrupt> {
        self.finish_message();
        if self.ready.take().is_some() {
            self.buf.clear();
        }
        loop {
            let Some(FrameHeader {
                kind, tag, meta, ..
            }) = self.consumer.peek_header()?
            else {
                return Ok(if self.partial.is_some() {
                    Progress::Partial
                } else {
                    Progress::Empty
                });
            };
            match (kind, self.partial) {
                (FrameKind::Whole, None) => return Ok(Progress::Whole),
                (FrameKind::Bulk, None) => return self.take_bulk(tag, meta),
                (FrameKind::First, None) => {
                    self.partial = Some((tag, meta));
                    self.buf.clear();
                }
                (FrameKind::Middle | FrameKind::Last, Some(p)) if p == (tag, meta) => {}
                _ => return Err(Corrupt("chunk out of sequence")),
            }
            let g = self.consumer.try_peek()?.expect("header just peeked");
            if self.buf.len() + g.len() > self.max_message {
                return Err(Corrupt("message larger than the limit"));
            }
            let old = self.buf.len();
            self.buf.resize(old + g.len());
            g.copy_to(&mut self.buf.as_mut_slice()[old..]);
            g.release();
            if kind == FrameKind::Last {
                self.partial = None;
                self.ready = Some((tag, meta));
                return Ok(Progress::Assembled(tag, meta));
            }
        }
    }

    /// Copy the bulk message named by the frame at the head into our buffer, then release
    /// the frame (which hands the bulk area back to the producer).
    fn take_bulk(&mut self, tag: u16, meta: u64) -> Result<Progress, Corrupt> {
        let g = self.consumer.try_peek()?.expect("header just peeked");
        let len = g.bulk_len()?;
        if len > self.max_message {
            return Err(Corrupt("message larger than the limit"));
        }
        if self.trusted {
            // Kept (not released) while it is read in place; `finish_message` releases it.
            self.held_bulk = true;
            return Ok(Progress::BulkInPlace(tag, meta, len));
        }
        // The buffer is reused: once it has grown, this writes no new pages and zeroes nothing.
        self.buf.resize(len);
        g.copy_bulk_to(self.buf.as_mut_slice());
        g.release();
        self.ready = Some((tag, meta));
        Ok(Progress::Assembled(tag, meta))
    }

    fn message(&mut self, p: Progress) -> Result<Option<Message<'_, P>>, Corrupt> {
        Ok(match p {
            Progress::Empty | Progress::Partial => None,
            Progress::Whole => {
                // The consumer caches the header `step` validated: no second read.
                let g = self.consumer.try_peek()?.ok_or(Corrupt("frame vanished"))?;
                Some(Message::Frame(g))
            }
            Progress::Assembled(tag, meta) => Some(Message::Assembled {
                tag,
                meta,
                bytes: self.buf.as_slice(),
            }),
            Progress::BulkInPlace(tag, meta, len) => {
                let (bulk, _) = self
                    .consumer
                    .ring
                    .bulk
                    .as_ref()
                    .ok_or(Corrupt("bulk frame on a ring without a bulk area"))?;
                self.in_place = InPlace::new();
                // SAFETY: `len` was validated against the area, which the producer published
                // with the bulk frame we hold until `finish_message`, after this borrow of the
                // receiver ends; the producer is trusted not to write it meanwhile
                // (`trust_producer`'s contract).
                let bytes = unsafe { bulk.slice(0, len, &self.in_place) };
                Some(Message::Assembled { tag, meta, bytes })
            }
        })
    }

    /// The next whole message, if one is complete, without blocking.
    pub fn try_recv(&mut self) -> Result<Option<Message<'_, P>>, Corrupt> {
        let p = self.step()?;
        self.message(p)
    }

    /// The next whole message, waiting per `mode` until `deadline`.
    pub fn recv(
        &mut self,
        mode: WaitMode,
        deadline: Option<Instant>,
    ) -> Result<Message<'_, P>, RecvError> {
        loop {
            match self.step()? {
                Progress::Empty | Progress::Partial => {
                    self.consumer.wait_for_data(mode, deadline)?;
                }
                p => return Ok(self.message(p)?.expect("progress is a message")),
            }
        }
    }
}
