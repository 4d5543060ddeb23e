//! Loom models of the response-slot state machine: a reply racing the requester's timeout,
//! a late reply to an abandoned slot that has been reused (stale generation), and the watcher
//! failing every pending slot when the responder dies (before its claim, or while writing).
//!
//! Slot payloads are loom cells, so a reply written into a slot the requester is reading (or
//! a reply read before the responder's Release of READY) fails as a causality violation; a
//! parked requester that is never woken fails as a deadlock.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p electrode-shm --release
//! --target-dir target/loom --test loom_slots`.
#![cfg(loom)]

mod loom_park;

use electrode_shm::{Liveness, ReplyError, SlotTable, Ticket, WaitError, WaitMode};
use loom::sync::Arc;
use loom_park::{explore, LoomPark};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Slot payload bytes in every model.
const SLOT: u32 = 4;

fn table(park: LoomPark, live: Liveness) -> Arc<SlotTable<LoomPark>> {
    Arc::new(SlotTable::new_heap(1, SLOT, park, live))
}

/// Reply to `t` with `body` and `aux`, from another thread: claim the slot, write the body
/// into the grant, publish it. `Ok` if it was published.
fn respond(
    slots: &Arc<SlotTable<LoomPark>>,
    t: Ticket,
    body: &'static [u8],
    aux: u32,
) -> loom::thread::JoinHandle<Result<(), ReplyError>> {
    let slots = slots.clone();
    loom::thread::spawn(move || {
        let mut grant = slots.start_reply(t.index, t.generation, body.len())?;
        grant.as_mut_slice().copy_from_slice(body);
        grant.publish(body.len(), aux);
        Ok(())
    })
}

/// The requester's watcher on a responder that died, from another thread: mark the peer gone
/// and fail every request in flight.
fn watch_die(slots: &Arc<SlotTable<LoomPark>>, live: Liveness) -> loom::thread::JoinHandle<()> {
    let slots = slots.clone();
    loom::thread::spawn(move || {
        live.mark_gone();
        slots.fail_all_pending();
    })
}

/// The requester's deadline has already passed when the responder replies concurrently.
/// Exactly one side wins: either the requester gets the reply (and the responder reports
/// `Ok`), or it gets `TimedOut` (and the responder reports `Stale`); both happen in some
/// interleaving. Then the slot is reused for a new request: the late reply was never written
/// into the new generation, whose own wait times out empty-handed.
#[test]
fn reply_races_timeout() {
    let wins = std::sync::Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let w = wins.clone();
    explore("reply_races_timeout", move |park| {
        let slots = table(park, Liveness::new());
        let t = slots.try_acquire().expect("a free slot");
        let responder = respond(&slots, t, b"abc", 7);
        let got = match slots.wait_reply(t, WaitMode::ParkOnly, Some(Instant::now())) {
            Ok(reply) => {
                let mut body = [0u8; 3];
                reply.copy_to(&mut body);
                assert_eq!((&body, reply.aux(), reply.ticket()), (b"abc", 7, t));
                Ok(())
            }
            Err(e) => Err(e),
        };
        // The slot is free again either way; reuse it while the reply may still be in flight.
        let t2 = slots.try_acquire().expect("the slot was given back");
        assert_eq!(t2.index, t.index);
        assert_ne!(t2.generation, t.generation);
        let outcome = responder.join().unwrap();
        match got {
            Ok(()) => assert_eq!(outcome, Ok(())),
            Err(e) => {
                assert_eq!(e, WaitError::TimedOut);
                assert_eq!(outcome, Err(ReplyError::Stale));
            }
        }
        w[usize::from(got.is_err())].fetch_add(1, Ordering::Relaxed);
        assert_eq!(
            slots
                .wait_reply(t2, WaitMode::ParkOnly, Some(Instant::now()))
                .err(),
            Some(WaitError::TimedOut),
            "a reply landed in the newer generation"
        );
    });
    let [replied, timed_out] = [0, 1].map(|i| wins[i].load(Ordering::Relaxed));
    assert!(
        replied > 0 && timed_out > 0,
        "replied {replied}, timed out {timed_out}"
    );
}

/// A request is cancelled while its reply is being written; the slot is reused at once and
/// answered again. `cancel` waits out a reply it finds half-written, so the old responder's
/// bytes never overlap the new reply, and the requester reads exactly the new one.
#[test]
fn cancel_races_reply() {
    explore("cancel_races_reply", |park| {
        let slots = table(park, Liveness::new());
        let old = slots.try_acquire().expect("a free slot");
        let late = respond(&slots, old, b"old!", 1);
        slots.cancel(old);
        let new = slots.try_acquire().expect("the cancelled slot is free");
        assert_ne!(new.generation, old.generation);
        let fresh = respond(&slots, new, b"new", 2);
        let reply = slots
            .wait_reply(new, WaitMode::ParkOnly, None)
            .expect("the new request's reply");
        let mut body = [0u8; 3];
        reply.copy_to(&mut body);
        assert_eq!((&body, reply.aux()), (b"new", 2));
        drop(reply);
        assert_eq!(fresh.join().unwrap(), Ok(()));
        let late = late.join().unwrap();
        assert!(matches!(late, Ok(()) | Err(ReplyError::Stale)));
    });
}

/// A request times out and its slot is reused by a new request; the old reply and the new one
/// then arrive concurrently while the requester is parked on the new one. The old reply is
/// `Stale` and never touches the slot; the requester gets exactly its own reply.
#[test]
fn stale_generation_is_never_written() {
    let explored = explore("stale_generation_is_never_written", |park| {
        let slots = table(park, Liveness::new());
        let old = slots.try_acquire().expect("a free slot");
        assert_eq!(
            slots
                .wait_reply(old, WaitMode::ParkOnly, Some(Instant::now()))
                .err(),
            Some(WaitError::TimedOut)
        );
        let new = slots.try_acquire().expect("the abandoned slot is free");
        assert_eq!(new.index, old.index);
        let late = respond(&slots, old, b"old!", 1);
        let fresh = respond(&slots, new, b"new", 2);
        let reply = slots
            .wait_reply(new, WaitMode::ParkOnly, None)
            .expect("the new request's reply");
        let mut body = [0u8; 3];
        reply.copy_to(&mut body);
        assert_eq!((&body, reply.aux(), reply.len()), (b"new", 2, 3));
        drop(reply);
        assert_eq!(late.join().unwrap(), Err(ReplyError::Stale));
        assert_eq!(fresh.join().unwrap(), Ok(()));
    });
    assert!(explored.sleeps > 0, "the requester never slept");
}

/// The responder's process dies while a request is pending: the watcher marks the liveness
/// gone and calls `fail_all_pending`, which wakes the parked requester with `PeerGone`. The
/// slot goes back to the free list.
#[test]
fn fail_all_pending_wakes_a_parked_requester() {
    let explored = explore("fail_all_pending_wakes_a_parked_requester", |park| {
        let live = Liveness::new();
        let slots = table(park, live.clone());
        let t = slots.try_acquire().expect("a free slot");
        let watcher = watch_die(&slots, live);
        assert_eq!(
            slots.wait_reply(t, WaitMode::ParkOnly, None).err(),
            Some(WaitError::PeerGone)
        );
        watcher.join().unwrap();
        let again = slots.try_acquire().expect("the slot was given back");
        assert_ne!(again.generation, t.generation);
    });
    assert!(explored.sleeps > 0, "the requester never slept");
}

/// The responder's process dies after claiming a slot and before its reply is READY (the claim
/// is WRITING for good), while the requester is parked on the slot: the watcher's
/// `fail_all_pending` wakes it with `PeerGone` whichever came first, the claim or the watcher
/// (then the claim fails). The requester never waits for a reply that cannot come.
#[test]
fn responder_dies_while_writing() {
    let claims = std::sync::Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let c = claims.clone();
    let explored = explore("responder_dies_while_writing", move |park| {
        let live = Liveness::new();
        let slots = table(park, live.clone());
        let t = slots.try_acquire().expect("a free slot");
        let dying = {
            let slots = slots.clone();
            // Dies holding the grant: the claim is won and the grant is neither published nor
            // dropped (a dead process runs no destructor).
            loom::thread::spawn(move || {
                slots
                    .start_reply(t.index, t.generation, 1)
                    .map(std::mem::forget)
                    .is_ok()
            })
        };
        let watcher = watch_die(&slots, live);
        assert_eq!(
            slots.wait_reply(t, WaitMode::ParkOnly, None).err(),
            Some(WaitError::PeerGone)
        );
        watcher.join().unwrap();
        let claimed = dying.join().unwrap();
        c[usize::from(claimed)].fetch_add(1, Ordering::Relaxed);
        let again = slots.try_acquire().expect("the slot was given back");
        assert_ne!(again.generation, t.generation);
    });
    assert!(explored.sleeps > 0, "the requester never slept");
    assert!(
        claims.iter().all(|n| n.load(Ordering::Relaxed) > 0),
        "both orders (claimed first, watcher first) were explored: {claims:?}"
    );
}

/// A responder claims a slot and drops its grant without publishing (an early return, a panic
/// while encoding) while the requester is parked: the dropped grant publishes an empty reply
/// marked `responder_dropped`, which wakes the requester; it never waits for a reply that will
/// not come. The slot is then free for the next request.
#[test]
fn dropped_grant_wakes_the_requester() {
    let explored = explore("dropped_grant_wakes_the_requester", |park| {
        let slots = table(park, Liveness::new());
        let t = slots.try_acquire().expect("a free slot");
        let responder = {
            let slots = slots.clone();
            loom::thread::spawn(move || {
                let mut grant = slots
                    .start_reply(t.index, t.generation, 2)
                    .expect("the request waits");
                grant.as_mut_slice().copy_from_slice(b"no");
                drop(grant);
            })
        };
        let reply = slots
            .wait_reply(t, WaitMode::ParkOnly, None)
            .expect("a reply, even if empty");
        assert!(reply.responder_dropped());
        assert_eq!(
            (reply.len(), reply.aux()),
            (0, electrode_shm::RESPONDER_DROPPED)
        );
        drop(reply);
        responder.join().unwrap();
        let again = slots.try_acquire().expect("the slot was given back");
        assert_ne!(again.generation, t.generation);
    });
    assert!(explored.sleeps > 0, "the requester never slept");
}
