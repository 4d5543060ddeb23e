//! An async call ([`IpcRenderer::invoke`](crate::IpcRenderer::invoke)) and its future,
//! [`Invoke`]. It is posted at once (so it keeps its place among the renderer's messages) and
//! answered in a response slot, as a blocking invoke is:
//!
//! 1. The first poll spins on the slot for the blocking form's budget
//!    ([`SlotTable::spin_reply`](electrode_shm::SlotTable::spin_reply)): a quick answer is
//!    `Ready` with no waker, no lock and no other thread involved.
//! 2. Then it parks: it registers its waker ([`SlotWakers`](crate::call::SlotWakers), by slot
//!    index and generation), *then* announces on the slot that it sleeps
//!    ([`poll_reply`](electrode_shm::SlotTable::poll_reply): WAITING -> WAITING|SLEEPING), or
//!    takes the reply that is already there.
//! 3. The request said "async slot" ([`FLAG_ASYNC_SLOT`]): main, publishing into a slot it
//!    finds announced as sleeping, also sends `SlotReady`, and the receive thread wakes the
//!    registered waker. No wake-up is lost: the announcement and the publish are one CAS and
//!    one swap of the same word, so either the publish comes first (the announcement fails and
//!    the future takes the reply) or the announcement does (main sees SLEEPING, and the waker,
//!    registered before it, is in the table when `SlotReady` arrives).
//! 4. An answer too large for the slot is collected from the mailbox, holding the slot
//!    meanwhile (parked on the mailbox's completion).
//!
//! Dropping the future gives its slot back (abandoned, or waited out if main is writing it
//! now): a late answer goes nowhere. When the connection ends, every parked future is woken and
//! finds its slot failed (`Disconnected`). When no slot is free, the invoke goes the old way
//! instead, which has no limit: registered in the pending-call table, answered by a `Reply`
//! message through the ring, completed by the receive thread. (An async invoke takes a slot
//! only while more than half are free: a future nobody polls holds its slot, and blocking
//! calls, which wait in theirs, must always find one.)

use super::connection::Shared;
use super::post::post;
use super::request::{answer_in, post_request, read_reply, wait_error};
use crate::call::{settle_returned, value_of, CallKind, CompletionFuture, Outcome, PendingCall};
use crate::error::CallError;
use crate::message::body::Body;
use crate::message::envelope::Envelope;
use crate::message::kind::{Kind, FLAG_ASYNC_SLOT, FLAG_REPLY_VIA_RING};
use crate::message::reply::Returned;
use crate::value::Value;
use electrode_shm::{Futex, HeldSlot, SlotPoll, Ticket, TrustedReply, WaitError};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The future of [`IpcRenderer::invoke`](crate::IpcRenderer::invoke). Works on any executor;
/// [`wait`](Invoke::wait) blocks for it instead. Dropping it forgets the call.
pub struct Invoke(AsyncCall);

/// An async invoke of any body (the typed futures wrap it too).
pub(crate) struct AsyncCall(Call);

enum Call {
    /// Answered in a response slot.
    Slot(SlotCall),
    /// Answered through the ring (no slot was free).
    Ring(PendingCall),
}

impl fmt::Debug for Invoke {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invoke")
            .field("channel", &self.0.channel())
            .finish()
    }
}

/// Start an async invoke of `channel` from `frame_id`.
pub(crate) fn start(shared: &Arc<Shared>, frame_id: u32, channel: &str, args: &[Value]) -> Invoke {
    Invoke(start_body(shared, frame_id, channel, 0, Body::Values(args)))
}

/// Start an async invoke with any body (typed channels give their fingerprint).
pub(crate) fn start_body(
    shared: &Arc<Shared>,
    frame_id: u32,
    channel: &str,
    fingerprint: u64,
    body: Body<'_>,
) -> AsyncCall {
    // An async invoke may hold its slot for as long as its future is kept unpolled: it takes
    // one only while more than half are free, so blocking calls (which wait in theirs, and
    // cannot wait for a future to be polled) always find one.
    let keep = (shared.slots.count() as usize / 2).max(1);
    let Some(ticket) = shared.slots.try_acquire_leaving(keep) else {
        return AsyncCall(Call::Ring(PendingCall::start(
            &shared.pending,
            channel,
            |id| {
                let env = Envelope {
                    frame_id,
                    flags: FLAG_REPLY_VIA_RING,
                    request_id: id,
                    fingerprint,
                    ..Envelope::default()
                };
                post(shared, Kind::Invoke, &env, channel, body)
            },
        )));
    };
    let kind = CallKind::Invoke;
    let state = match post_request(
        shared,
        frame_id,
        kind,
        channel,
        fingerprint,
        body,
        ticket,
        FLAG_ASYNC_SLOT,
    ) {
        Ok(()) => State::Posted(ticket),
        Err(e) => State::Failed(e),
    };
    AsyncCall(Call::Slot(SlotCall {
        shared: shared.clone(),
        channel: channel.to_string(),
        state,
    }))
}

impl AsyncCall {
    /// The channel invoked.
    pub(crate) fn channel(&self) -> &str {
        match &self.0 {
            Call::Slot(c) => &c.channel,
            Call::Ring(p) => p.channel(),
        }
    }

    /// Block for the answer of any encoding (or `timeout`).
    pub(crate) fn wait_returned(self, timeout: Option<Duration>) -> Result<Returned, CallError> {
        match self.0 {
            Call::Slot(c) => c.wait(timeout.map(|t| Instant::now() + t)),
            Call::Ring(p) => {
                let channel = p.channel().to_string();
                settle_returned(CallKind::Invoke, &channel, p.wait_outcome(timeout))
            }
        }
    }

    /// Poll for the answer of any encoding.
    pub(crate) fn poll_returned(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Returned, CallError>> {
        match &mut self.0 {
            Call::Slot(c) => c.poll(cx),
            Call::Ring(p) => p
                .poll_outcome(cx)
                .map(|outcome| settle_returned(CallKind::Invoke, p.channel(), outcome)),
        }
    }
}

impl Invoke {
    /// Block until the answer (or `timeout`: then the call is forgotten).
    pub fn wait(self, timeout: Option<Duration>) -> Result<Value, CallError> {
        value_of(self.0.wait_returned(timeout)?)
    }
}

impl Future for Invoke {
    type Output = Result<Value, CallError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll_returned(cx).map(|r| value_of(r?))
    }
}

/// An async invoke answered in a response slot.
struct SlotCall {
    shared: Arc<Shared>,
    channel: String,
    state: State,
}

enum State {
    /// Posted, not polled yet: the first poll spins.
    Posted(Ticket),
    /// Its waker registered and the slot announced as sleeping (or about to be).
    Parked(Ticket),
    /// The answer was too large for the slot: collected from the mailbox, the slot held.
    Large {
        _held: HeldSlot<Futex>,
        ticket: Ticket,
        answer: CompletionFuture<Outcome>,
    },
    /// The request could not be posted (the slot was given back).
    Failed(CallError),
    /// The answer was returned.
    Done,
}

/// What a reply in the slot gives: the answer, or where to collect it.
enum Read {
    Answer(Outcome),
    Large(State),
}

fn read(shared: &Shared, reply: TrustedReply<'_, Futex>) -> Read {
    match answer_in(&reply) {
        Some(outcome) => Read::Answer(outcome),
        None => {
            let ticket = reply.ticket();
            let completion = shared.large.expect(ticket.index, ticket.generation);
            Read::Large(State::Large {
                _held: shared.slots.hold(reply),
                ticket,
                answer: CompletionFuture::new(completion, shared.options.wait_mode),
            })
        }
    }
}

/// The call is over with `outcome`.
fn done(state: &mut State, channel: &str, outcome: Outcome) -> Poll<Result<Returned, CallError>> {
    *state = State::Done;
    Poll::Ready(settle_returned(CallKind::Invoke, channel, outcome))
}

impl SlotCall {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<Returned, CallError>> {
        loop {
            let shared = &*self.shared;
            let reply = match &mut self.state {
                State::Posted(t) => {
                    let t = *t;
                    match shared.slots.spin_reply(t, shared.options.wait_mode) {
                        Some(reply) => reply,
                        None => {
                            self.state = State::Parked(t);
                            continue;
                        }
                    }
                }
                State::Parked(t) => {
                    let t = *t;
                    // The waker first, then the announcement (see the module docs). Refused
                    // once the connection ended: then nobody would wake us, so give up.
                    let closed = !shared.slot_wakers.register(t, cx.waker());
                    let polled = shared
                        .slots
                        .poll_reply(t, closed.then_some(WaitError::PeerGone));
                    match polled {
                        SlotPoll::Sleeping => return Poll::Pending,
                        SlotPoll::Ready(reply) => {
                            shared.slot_wakers.remove(t);
                            reply
                        }
                        SlotPoll::Failed(e) => {
                            shared.slot_wakers.remove(t);
                            return done(&mut self.state, &self.channel, Err(wait_error(e)));
                        }
                    }
                }
                State::Large { ticket, answer, .. } => {
                    let outcome = std::task::ready!(Pin::new(answer).poll(cx));
                    shared.large.collected(ticket.index, ticket.generation);
                    return done(&mut self.state, &self.channel, outcome);
                }
                State::Failed(_) => {
                    let State::Failed(e) = std::mem::replace(&mut self.state, State::Done) else {
                        unreachable!()
                    };
                    return Poll::Ready(Err(e));
                }
                State::Done => panic!("`Invoke` polled after it completed"),
            };
            match read(shared, reply) {
                Read::Answer(outcome) => return done(&mut self.state, &self.channel, outcome),
                Read::Large(state) => self.state = state,
            }
        }
    }

    /// Block until the answer, or `deadline` (then the slot is given up).
    fn wait(mut self, deadline: Option<Instant>) -> Result<Returned, CallError> {
        let state = std::mem::replace(&mut self.state, State::Done);
        let shared = &*self.shared;
        let outcome = match state {
            State::Posted(t) | State::Parked(t) => {
                // A parked future's SLEEPING bit is harmless: the blocking wait parks on the
                // slot's futex, which main's publish wakes whenever the bit is set.
                shared.slot_wakers.remove(t);
                match shared
                    .slots
                    .wait_reply(t, shared.options.wait_mode, deadline)
                {
                    Ok(reply) => read_reply(shared, reply, deadline),
                    Err(e) => Err(wait_error(e)),
                }
            }
            State::Large { ticket, answer, .. } => {
                let outcome = answer
                    .completion
                    .wait(shared.options.wait_mode, deadline)
                    .unwrap_or(Err(CallError::TimedOut));
                shared.large.collected(ticket.index, ticket.generation);
                outcome
            }
            State::Failed(e) => Err(e),
            State::Done => panic!("`Invoke` waited for after it completed"),
        };
        settle_returned(CallKind::Invoke, &self.channel, outcome)
    }
}

impl Drop for SlotCall {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Posted(t) | State::Parked(t) => {
                self.shared.slot_wakers.remove(t);
                // Abandoned (or, if main is writing the answer now, waited out): a late answer
                // goes nowhere, and the slot is free again.
                self.shared.slots.cancel(t);
            }
            State::Large { ticket, .. } => {
                self.shared.large.collected(ticket.index, ticket.generation);
            }
            State::Failed(_) | State::Done => {}
        }
    }
}
