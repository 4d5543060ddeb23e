//! The bulk area of a ring: where a message larger than a frame travels whole, written once by
//! the producer and read once by the consumer, instead of in chunks that each wait for the
//! consumer to drain the ring.
//!
//! ```text
//!  ring:  ... | Bulk frame (tag, meta; payload = message length, u64 LE) | ...
//!  bulk:  | message bytes (length) | unused ...                          |
//! ```
//!
//! Ownership of the area rides on the ring, so there is no new shared word: the producer
//! writes the area only while no bulk frame of its own is unreleased (its validated view of
//! `head` has reached [`Producer::bulk_until`](crate::Producer), the ring position just past its
//! last bulk frame), then commits a [`FrameKind::Bulk`] frame naming the length. The consumer
//! reads the area while it holds that frame and releases the frame after it is done; the
//! `head` Release that hands the frame back hands the area back with it (and the producer's
//! Acquire of `head` is what lets it write the area again). The bulk frame's own publication
//! (the `tail` Release) publishes the area's bytes.
//!
//! A hostile consumer that releases early only spoils what it reads itself. A hostile producer
//! can rewrite the area while the consumer reads it, exactly as it can the ring: the consumer
//! copies the bytes out once and validates the copy ([`ReadGrant::copy_bulk_to`]).
//!
//! The area is mapped without populating it: a page is faulted in the first time a message
//! reaches it, and stays (the segment's file keeps it) for every later message, so repeated
//! large messages fault nothing.

use crate::bytes::Lease;
use crate::frame::{FrameKind, BULK_FRAME_PAYLOAD};
use crate::ring::{Consumer, Corrupt, Producer, ReadGrant, SendError, TryReserveError, WriteGrant};
use crate::wait::{Park, WaitMode};
use std::time::Instant;

/// Room reserved in the bulk area by [`Producer::try_reserve_bulk`]: write the message, then
/// [`commit`](Self::commit). Dropping it without committing publishes nothing (and the area
/// stays free).
pub struct BulkGrant<'a, P: Park> {
    /// The ring frame that will name the message.
    frame: WriteGrant<'a, P>,
    /// The bulk bytes, ours until the frame is committed and then released by the consumer.
    payload: Lease,
    len: usize,
}

impl<P: Park> Producer<P> {
    /// Largest message the bulk area takes whole (0 when the ring has none).
    pub fn max_bulk(&self) -> usize {
        self.ring.bulk.as_ref().map_or(0, |(_, len)| *len)
    }

    /// Whether the consumer has released our last bulk frame (re-reading its position if not).
    fn bulk_free(&mut self) -> Result<bool, Corrupt> {
        if self.head >= self.bulk_until {
            return Ok(true);
        }
        self.refresh_head()?;
        Ok(self.head >= self.bulk_until)
    }

    /// Reserve `len` bytes of the bulk area (and the ring frame that will name them) without
    /// blocking: [`TryReserveError::Full`] while the consumer still holds the last bulk message
    /// or the ring has no room for a frame, [`TryReserveError::TooLarge`] past
    /// [`max_bulk`](Self::max_bulk).
    pub fn try_reserve_bulk(&mut self, len: usize) -> Result<BulkGrant<'_, P>, TryReserveError> {
        // `Bytes` is `Copy` outside loom only (under loom it shares its cells through an Arc).
        #[allow(clippy::clone_on_copy)]
        let Some((bulk, cap)) = self.ring.bulk.clone() else {
            return Err(TryReserveError::TooLarge);
        };
        if len > cap {
            return Err(TryReserveError::TooLarge);
        }
        if !self.bulk_free().map_err(TryReserveError::Corrupt)? {
            return Err(TryReserveError::Full);
        }
        let frame = self.try_reserve(BULK_FRAME_PAYLOAD)?;
        // SAFETY: the consumer has released every bulk frame of ours (checked above, with an
        // Acquire of its position), so no honest reader uses the area; the grant borrows the
        // producer mutably (through `frame`), so this is the only lease over it; the ring,
        // held by the producer, keeps it mapped.
        let payload = unsafe { bulk.lease(0, len) };
        Ok(BulkGrant {
            frame,
            payload,
            len,
        })
    }

    /// As [`try_reserve_bulk`](Self::try_reserve_bulk), waiting per `mode` until `deadline`
    /// for the consumer to release the last bulk message and make room for a frame.
    pub fn reserve_bulk(
        &mut self,
        len: usize,
        mode: WaitMode,
        deadline: Option<Instant>,
    ) -> Result<BulkGrant<'_, P>, SendError> {
        if len > self.max_bulk() {
            return Err(SendError::TooLarge);
        }
        let (_, need) = self
            .placement(BULK_FRAME_PAYLOAD)
            .ok_or(SendError::TooLarge)?;
        self.wait_for_space(mode, deadline, |p| Ok(p.bulk_free()? && p.fits(need)?))?;
        match self.try_reserve_bulk(len) {
            Ok(g) => Ok(g),
            Err(TryReserveError::Corrupt(c)) => Err(SendError::Corrupt(c)),
            Err(TryReserveError::TooLarge) => Err(SendError::TooLarge),
            Err(TryReserveError::Full) => unreachable!("room was just observed by this producer"),
        }
    }
}

impl<P: Park> BulkGrant<'_, P> {
    /// Bytes reserved.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether zero bytes were reserved.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The reserved bytes (page aligned), to serialize into in place.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.payload.as_mut_slice()
    }

    /// Publish the first `len` bytes as one whole message.
    ///
    /// # Panics
    /// If `len` exceeds the reservation.
    pub fn commit(mut self, len: usize, tag: u16, meta: u64) {
        assert!(len <= self.len, "commit longer than the reservation");
        self.payload.finish(len);
        self.frame.write(0, &(len as u64).to_le_bytes());
        // The frame's `tail` Release publishes the bulk bytes written above with it.
        let p = self
            .frame
            .commit_kind(BULK_FRAME_PAYLOAD, FrameKind::Bulk, tag, meta);
        p.bulk_until = p.tail;
    }
}

impl<P: Park> Consumer<P> {
    /// Bulk area size (0 when the ring has none).
    pub fn max_bulk(&self) -> usize {
        self.ring.bulk.as_ref().map_or(0, |(_, len)| *len)
    }
}

impl<P: Park> ReadGrant<'_, P> {
    /// For a [`FrameKind::Bulk`] frame: the length of the message in the bulk area, validated
    /// against the area's size.
    pub fn bulk_len(&self) -> Result<usize, Corrupt> {
        if self.header().kind != FrameKind::Bulk {
            return Err(Corrupt("not a bulk frame"));
        }
        if self.len() != BULK_FRAME_PAYLOAD {
            return Err(Corrupt("bulk frame of the wrong size"));
        }
        let mut raw = [0u8; BULK_FRAME_PAYLOAD];
        self.copy_to(&mut raw);
        let len = u64::from_le_bytes(raw);
        if self.consumer.ring.bulk.is_none() {
            return Err(Corrupt("bulk frame on a ring without a bulk area"));
        }
        if len > self.consumer.max_bulk() as u64 {
            return Err(Corrupt("bulk message larger than the bulk area"));
        }
        Ok(len as usize)
    }

    /// Copy the first `dst.len()` bytes of the bulk area into `dst` (which must be no longer
    /// than [`bulk_len`](Self::bulk_len)). A hostile producer may rewrite the area meanwhile:
    /// validate the copy.
    ///
    /// # Panics
    /// If `dst` is longer than the bulk area or this is not a bulk frame.
    pub fn copy_bulk_to(&self, dst: &mut [u8]) {
        assert_eq!(self.header().kind, FrameKind::Bulk, "not a bulk frame");
        let (bulk, _) = self
            .consumer
            .ring
            .bulk
            .as_ref()
            .expect("a bulk frame was validated against the bulk area");
        // SAFETY: the producer published the area with this frame, which we hold; reads are
        // bounds-checked against the area, and only copied out (then validated by the caller).
        unsafe { bulk.read(0, dst) }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::frame::{FrameKind, BULK_FRAME_PAYLOAD};
    use crate::{heap, Futex, Liveness, Receiver};

    /// A bulk frame written by hand: `len` in its payload, `payload_len` payload bytes.
    fn hand_made(len: u64, payload_len: usize) -> Receiver<Futex> {
        let (mut tx, rx) = heap::ring_pair_with_bulk(4096, 1024, Futex, Liveness::new());
        let mut g = tx.try_reserve(payload_len).unwrap();
        g.write(0, &len.to_le_bytes()[..payload_len.min(8)]);
        g.commit_kind(payload_len, FrameKind::Bulk, 1, 2);
        Receiver::new(rx, 1 << 20)
    }

    #[test]
    fn a_bulk_frame_naming_more_than_the_area_is_corrupt() {
        let mut rx = hand_made(1025, BULK_FRAME_PAYLOAD);
        let err = rx.try_recv().err().expect("past the area");
        assert_eq!(err.0, "bulk message larger than the bulk area");
        // The whole area is fine.
        let mut rx = hand_made(1024, BULK_FRAME_PAYLOAD);
        assert_eq!(rx.try_recv().unwrap().expect("whole area").tag(), 1);
    }

    #[test]
    fn a_bulk_frame_of_the_wrong_size_is_corrupt() {
        let mut rx = hand_made(16, 4);
        let err = rx.try_recv().err().expect("short bulk frame");
        assert_eq!(err.0, "bulk frame of the wrong size");
    }

    #[test]
    fn a_bulk_frame_over_the_message_limit_is_corrupt() {
        let (mut tx, rx) = heap::ring_pair_with_bulk(4096, 1024, Futex, Liveness::new());
        let mut g = tx.try_reserve_bulk(1000).unwrap();
        g.as_mut_slice().fill(1);
        g.commit(1000, 1, 2);
        let mut rx = Receiver::new(rx, 999);
        let err = rx.try_recv().err().expect("over the limit");
        assert_eq!(err.0, "message larger than the limit");
    }

    #[test]
    fn a_ring_without_a_bulk_area_refuses_bulk() {
        let (mut tx, rx) = heap::ring_pair(4096, Futex, Liveness::new());
        assert_eq!(tx.max_bulk(), 0);
        assert!(matches!(
            tx.try_reserve_bulk(1),
            Err(crate::TryReserveError::TooLarge)
        ));
        // And a bulk frame sent to it anyway is corrupt, not a read out of bounds.
        let mut g = tx.try_reserve(BULK_FRAME_PAYLOAD).unwrap();
        g.write(0, &0u64.to_le_bytes());
        g.commit_kind(BULK_FRAME_PAYLOAD, FrameKind::Bulk, 1, 2);
        let mut rx = Receiver::new(rx, 1 << 20);
        let err = rx.try_recv().err().expect("no bulk area");
        assert_eq!(err.0, "bulk frame on a ring without a bulk area");
    }
}
