//! Reading replies in place, for a requester that trusts its responder: [`TrustingRequester`]
//! and the [`TrustedReply`] it waits for.
//!
//! A reply's bytes are in shared memory, and the responder's process could write them again
//! while the requester reads them. The slot protocol forbids that (READY hands the payload to
//! the requester until it frees the slot), but only an honest responder keeps to it, and a
//! `&[u8]` over bytes another process rewrites is a data race: undefined behaviour, not just
//! wrong bytes. So [`Reply`] only copies out; in-place bytes come only from a handle whose
//! type says the responder is trusted. The renderer gets one for its slots, whose responder is
//! main ([`RendererEnd::slots_trusting_main`](crate::RendererEnd::slots_trusting_main));
//! anyone else needs [`TrustingRequester::new`], which is `unsafe`. See docs/SAFETY.md.

use crate::bytes::InPlace;
use crate::slots::{HeldSlot, Reply, SlotPoll, SlotTable, Ticket};
use crate::wait::{Park, WaitError, WaitMode};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

/// A requester's handle on a [`SlotTable`] whose responder it trusts not to write a reply
/// after publishing it. Everything else is the table's ([`Deref`]); only
/// [`wait_reply`](Self::wait_reply) differs: its replies can be read in place.
pub struct TrustingRequester<P: Park> {
    table: Arc<SlotTable<P>>,
}

impl<P: Park> Clone for TrustingRequester<P> {
    fn clone(&self) -> Self {
        TrustingRequester {
            table: self.table.clone(),
        }
    }
}

impl<P: Park> fmt::Debug for TrustingRequester<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TrustingRequester")
            .field(&self.table)
            .finish()
    }
}

impl<P: Park> TrustingRequester<P> {
    /// Trust `table`'s responder.
    ///
    /// # Safety
    /// Every thread or process that answers requests in `table` must keep to the slot
    /// protocol: once it has published a reply it does not write that slot's payload again
    /// until the requester has dropped the reply and armed the slot for a new request.
    pub unsafe fn new(table: Arc<SlotTable<P>>) -> Self {
        TrustingRequester { table }
    }

    /// The table, for handles that need no trust (a watcher, a responder thread).
    pub fn table(&self) -> &Arc<SlotTable<P>> {
        &self.table
    }

    /// [`SlotTable::wait_reply`], with a reply that can be read in place.
    pub fn wait_reply(
        &self,
        ticket: Ticket,
        mode: WaitMode,
        deadline: Option<Instant>,
    ) -> Result<TrustedReply<'_, P>, WaitError> {
        self.table
            .wait_reply(ticket, mode, deadline)
            .map(TrustedReply::new)
    }

    /// [`SlotTable::spin_reply`], with a reply that can be read in place.
    pub fn spin_reply(&self, ticket: Ticket, mode: WaitMode) -> Option<TrustedReply<'_, P>> {
        self.table.spin_reply(ticket, mode).map(TrustedReply::new)
    }

    /// [`SlotTable::poll_reply`], with a reply that can be read in place.
    pub fn poll_reply(
        &self,
        ticket: Ticket,
        give_up: Option<WaitError>,
    ) -> SlotPoll<TrustedReply<'_, P>> {
        match self.table.poll_reply(ticket, give_up) {
            SlotPoll::Ready(reply) => SlotPoll::Ready(TrustedReply::new(reply)),
            SlotPoll::Sleeping => SlotPoll::Sleeping,
            SlotPoll::Failed(e) => SlotPoll::Failed(e),
        }
    }

    /// [`SlotTable::hold`] for a trusted reply.
    pub fn hold(&self, reply: TrustedReply<'_, P>) -> HeldSlot<P> {
        self.table.hold(reply.reply)
    }
}

impl<P: Park> Deref for TrustingRequester<P> {
    type Target = SlotTable<P>;

    fn deref(&self) -> &SlotTable<P> {
        &self.table
    }
}

/// A [`Reply`] from a trusted responder: [`as_slice`](Self::as_slice) reads it in place.
/// Everything else is the reply's ([`Deref`]); the slot is freed when this is dropped.
pub struct TrustedReply<'a, P: Park> {
    reply: Reply<'a, P>,
    in_place: InPlace,
}

impl<'a, P: Park> TrustedReply<'a, P> {
    fn new(reply: Reply<'a, P>) -> Self {
        TrustedReply {
            reply,
            in_place: InPlace::new(),
        }
    }

    /// The reply in place (16-byte aligned when the slot stride is), without copying it.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the responder is trusted not to write the slot until the requester frees it,
        // which is after this borrow of the reply ends (`TrustingRequester::new`'s contract).
        unsafe { self.reply.in_place(&self.in_place) }
    }
}

impl<'a, P: Park> Deref for TrustedReply<'a, P> {
    type Target = Reply<'a, P>;

    fn deref(&self) -> &Reply<'a, P> {
        &self.reply
    }
}

impl<P: Park> fmt::Debug for TrustedReply<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TrustedReply").field(&self.reply).finish()
    }
}
