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

use electrode_shm::{Liveness, ReplyOutcome, SlotTable, Ticket, WaitError, WaitMode};
use loom::sync::Arc;
use loom_park::{explore, LoomPark};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Slot payload bytes in every model.
const SLOT: u32 = 4;

fn table(park: LoomPark, live: Liveness) -> Arc<SlotTable<LoomPark>> {
    Arc::new(SlotTable::new_heap(1, SLOT, park, live))
}

/// Reply to `t` with `body` and `aux`, from another thread.
fn respond(
    slots: &Arc<SlotTable<LoomPark>>,
    t: Ticket,
    body: &'static [u8],
    aux: u32,
) -> loom::thread::JoinHandle<ReplyOutcome> {
    let slots = slots.clone();
    loom::thread::spawn(move || {
        slots.reply(t.index, t.generation, body.len(), |b| {
            b.copy_from_slice(body);
            aux
        })
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
/// `Written`), or it gets `TimedOut` (and the responder reports `Stale`); both happen in some
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
            Ok(()) => assert_eq!(outcome, ReplyOutcome::Written),
            Err(e) => {
                assert_eq!(e, WaitError::TimedOut);
                assert_eq!(outcome, ReplyOutcome::Stale);
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
        assert_eq!(fresh.join().unwrap(), ReplyOutcome::Written);
        let late = late.join().unwrap();
        assert!(matches!(late, ReplyOutcome::Written | ReplyOutcome::Stale));
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
        assert_eq!(late.join().unwrap(), ReplyOutcome::Stale);
        assert_eq!(fresh.join().unwrap(), ReplyOutcome::Written);
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
            loom::thread::spawn(move || slots.claim_only(t.index, t.generation))
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
