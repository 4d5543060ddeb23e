//! Loom models of an asynchronous requester on a response slot (an async invoke's future):
//! it registers its waker, then announces that it sleeps ([`SlotTable::poll_reply`]: CAS
//! WAITING -> WAITING|SLEEPING), racing the responder's publish (one swap of the same word).
//! A responder whose publish reports `true` wakes the registered waker (as main's `SlotReady`
//! message has the renderer's receive thread do).
//!
//! - `arm_races_publish`: no lost wake-up. Either the requester sees the reply on its look, or
//!   the responder sees SLEEPING, and then the waker is registered (it was registered before
//!   the CAS) and the woken requester finds the reply. A requester that waits for a wake-up
//!   that never comes fails as a deadlock; a publish that reports SLEEPING with no waker
//!   registered fails the assertion.
//! - `parked_requester_gives_up`: a parked future is dropped (the slot is cancelled) while the
//!   reply is published: the slot is free at once and is reused, and the late reply never
//!   lands in the new generation.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p electrode-shm --release
//! --target-dir target/loom --test loom_async_slot`.
#![cfg(loom)]

mod loom_park;

use electrode_shm::{Liveness, ReplyError, SlotPoll, SlotTable, WaitMode};
use loom::sync::{Arc, Condvar, Mutex};
use loom_park::explore;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The future's waker slot, as the renderer's waker table holds it: (registered, woken).
#[derive(Default)]
struct WakerTable {
    state: Mutex<(bool, bool)>,
    woken: Condvar,
}

impl WakerTable {
    fn register(&self) {
        self.state.lock().unwrap().0 = true;
    }

    /// The responder's notice (main's `SlotReady`, handled by the receive thread).
    fn wake(&self) {
        let mut s = self.state.lock().unwrap();
        assert!(
            s.0,
            "SLEEPING was announced before the waker was registered"
        );
        s.1 = true;
        self.woken.notify_all();
    }

    /// The executor parks the task until its waker is woken.
    fn park(&self) {
        let mut s = self.state.lock().unwrap();
        while !s.1 {
            s = self.woken.wait(s).unwrap();
        }
    }
}

#[test]
fn arm_races_publish() {
    let outcomes = std::sync::Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let o = outcomes.clone();
    let explored = explore("arm_races_publish", move |park| {
        let slots = Arc::new(SlotTable::new_heap(1, 4, park, Liveness::new()));
        let wakers = Arc::new(WakerTable::default());
        let t = slots.try_acquire().expect("a free slot");
        let responder = {
            let (slots, wakers) = (slots.clone(), wakers.clone());
            loom::thread::spawn(move || {
                let mut grant = slots.start_reply(t.index, t.generation, 3).unwrap();
                grant.as_mut_slice().copy_from_slice(b"abc");
                if grant.publish(3, 5) {
                    wakers.wake();
                }
            })
        };
        // The future's first poll: the spin phase (one look under loom), then park.
        let reply = match slots.spin_reply(t, WaitMode::ParkOnly) {
            Some(reply) => reply,
            None => {
                wakers.register();
                match slots.poll_reply(t, None) {
                    SlotPoll::Ready(reply) => reply,
                    SlotPoll::Sleeping => {
                        o[1].fetch_add(1, Ordering::Relaxed);
                        wakers.park();
                        match slots.poll_reply(t, None) {
                            SlotPoll::Ready(reply) => reply,
                            other => panic!("woken without the reply: {other:?}"),
                        }
                    }
                    SlotPoll::Failed(e) => panic!("failed: {e}"),
                }
            }
        };
        let mut body = [0u8; 3];
        reply.copy_to(&mut body);
        assert_eq!((&body, reply.aux()), (b"abc", 5));
        if o[1].load(Ordering::Relaxed) == 0 {
            o[0].fetch_add(1, Ordering::Relaxed);
        }
        drop(reply);
        responder.join().unwrap();
    });
    let [_, slept] = [0, 1].map(|i| outcomes[i].load(Ordering::Relaxed));
    assert!(slept > 0, "the requester never parked");
    assert_eq!(
        explored.sleeps, 0,
        "an async requester never sleeps on the futex"
    );
}

#[test]
fn parked_requester_gives_up() {
    let outcomes = std::sync::Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let o = outcomes.clone();
    explore("parked_requester_gives_up", move |park| {
        let slots = Arc::new(SlotTable::new_heap(1, 4, park, Liveness::new()));
        let t = slots.try_acquire().expect("a free slot");
        let responder = {
            let slots = slots.clone();
            loom::thread::spawn(move || {
                let mut grant = slots.start_reply(t.index, t.generation, 4)?;
                grant.as_mut_slice().copy_from_slice(b"old!");
                grant.publish(4, 1);
                Ok::<(), ReplyError>(())
            })
        };
        // One poll (it may find the reply already there), then the future is dropped.
        match slots.poll_reply(t, None) {
            SlotPoll::Ready(reply) => drop(reply),
            SlotPoll::Sleeping => slots.cancel(t),
            SlotPoll::Failed(e) => panic!("failed: {e}"),
        }
        // The slot is free at once, and a new request on it is never answered by the old reply.
        let t2 = slots
            .try_acquire()
            .expect("the dropped future gave its slot back");
        assert_ne!(t2.generation, t.generation);
        let late = responder.join().unwrap();
        o[usize::from(late.is_err())].fetch_add(1, Ordering::Relaxed);
        match slots.poll_reply(t2, None) {
            SlotPoll::Sleeping => slots.cancel(t2),
            other => panic!("the old reply reached the new request: {other:?}"),
        }
        assert!(slots.try_acquire().is_some());
    });
    let [published, stale] = [0, 1].map(|i| outcomes[i].load(Ordering::Relaxed));
    assert!(
        published > 0 && stale > 0,
        "published {published}, stale {stale}"
    );
}
