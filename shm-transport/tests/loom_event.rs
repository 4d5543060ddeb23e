//! Loom models of the [`Event`] sleep/wake handshake (an event count).
//!
//! A lost wake-up leaves the waiter parked forever, which loom reports as a deadlock; a missing
//! Acquire/Release on the published condition shows up as a wrong value read.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p electrode-shm --release
//! --target-dir target/loom --test loom_event`.
#![cfg(loom)]

mod loom_park;

use electrode_shm::heap::ring_pair;
use electrode_shm::{Event, Liveness, RecvError, WaitError, WaitMode};
use loom::sync::atomic::AtomicU32;
use loom::sync::Arc;
use loom_park::{explore, LoomPark};
use std::sync::atomic::Ordering;

/// What the waiter and the notifier share.
struct Shared {
    event: Event,
    /// The published condition: how many values the notifier has published.
    count: AtomicU32,
    /// The value published with each count (Relaxed: only the Release/Acquire on `count`
    /// orders it).
    value: AtomicU32,
    /// Whether the peer is gone.
    gone: Liveness,
}

fn shared() -> Arc<Shared> {
    Arc::new(Shared {
        event: Event::new(),
        count: AtomicU32::new(0),
        value: AtomicU32::new(0),
        gone: Liveness::new(),
    })
}

/// Wait until at least `n` values are published; returns the latest value.
fn wait_for(s: &Shared, park: &LoomPark, mode: WaitMode, n: u32) -> Result<u32, WaitError> {
    s.event.wait_until(park, mode, None, &s.gone, || {
        (s.count.load(Ordering::Acquire) >= n).then(|| s.value.load(Ordering::Relaxed))
    })
}

/// Publish value `v` as number `n`, then notify.
fn publish(s: &Shared, park: &LoomPark, n: u32, v: u32) {
    s.value.store(v, Ordering::Relaxed);
    s.count.store(n, Ordering::Release);
    s.event.notify(park);
}

/// Two publications, each waited for with `ParkOnly`: the waiter sleeps, wakes, withdraws its
/// announcement and sleeps again; no interleaving loses a wake-up or shows a stale value.
#[test]
fn no_lost_wakeup_park_only() {
    let explored = explore("no_lost_wakeup_park_only", |park| {
        let s = shared();
        let (s2, park2) = (s.clone(), park.clone());
        let notifier = loom::thread::spawn(move || {
            publish(&s2, &park2, 1, 10);
            publish(&s2, &park2, 2, 20);
        });
        let first = wait_for(&s, &park, WaitMode::ParkOnly, 1).unwrap();
        assert!(first == 10 || first == 20, "first value {first}");
        assert_eq!(wait_for(&s, &park, WaitMode::ParkOnly, 2), Ok(20));
        notifier.join().unwrap();
    });
    assert!(explored.sleeps > 0, "the waiter never slept");
}

/// The default mode (spin, then park) goes through the spin phase first and must still park
/// safely afterwards.
#[test]
fn no_lost_wakeup_spin_then_park() {
    let explored = explore("no_lost_wakeup_spin_then_park", |park| {
        let s = shared();
        let (s2, park2) = (s.clone(), park.clone());
        let notifier = loom::thread::spawn(move || publish(&s2, &park2, 1, 7));
        assert_eq!(wait_for(&s, &park, WaitMode::default(), 1), Ok(7));
        notifier.join().unwrap();
    });
    assert!(explored.sleeps > 0, "the waiter never slept");
}

/// The peer dies without publishing: marking it gone and `notify_all` wakes the parked waiter
/// with `PeerGone`.
#[test]
fn peer_gone_wakes_the_waiter() {
    let explored = explore("peer_gone_wakes_the_waiter", |park| {
        let s = shared();
        let (s2, park2) = (s.clone(), park.clone());
        let watcher = loom::thread::spawn(move || {
            // What the watcher does: mark the peer gone, then (its callback) wake.
            s2.gone.mark_gone();
            s2.event.notify_all(&park2);
        });
        assert_eq!(
            wait_for(&s, &park, WaitMode::ParkOnly, 1),
            Err(WaitError::PeerGone)
        );
        watcher.join().unwrap();
    });
    assert!(explored.sleeps > 0, "the waiter never slept");
}

/// The peer publishes, then dies: what it published before dying is still delivered (the
/// waiter takes a last look at its condition before it reports `PeerGone`).
#[test]
fn published_before_death_is_delivered() {
    let explored = explore("published_before_death_is_delivered", |park| {
        let s = shared();
        let (s2, park2) = (s.clone(), park.clone());
        let peer = loom::thread::spawn(move || {
            s2.value.store(5, Ordering::Relaxed);
            s2.count.store(1, Ordering::Release);
            s2.gone.mark_gone();
            s2.event.notify_all(&park2);
        });
        assert_eq!(wait_for(&s, &park, WaitMode::ParkOnly, 1), Ok(5));
        peer.join().unwrap();
    });
    assert!(explored.sleeps > 0, "the waiter never slept");
}

/// The same through a ring and a real [`Liveness`]: a consumer parked on an empty ring is woken
/// by `mark_gone` plus `notify_all` on its data event and returns `RecvError::PeerGone`.
#[test]
fn liveness_gone_wakes_a_parked_consumer() {
    let explored = explore("liveness_gone_wakes_a_parked_consumer", |park| {
        let live = Liveness::new();
        let (producer, mut consumer) = ring_pair(64, park.clone(), live.clone());
        let watcher = loom::thread::spawn(move || {
            live.mark_gone();
            producer.data_event().notify_all(&park);
        });
        assert_eq!(
            consumer.wait_for_data(WaitMode::ParkOnly, None),
            Err(RecvError::PeerGone)
        );
        watcher.join().unwrap();
    });
    assert!(explored.sleeps > 0, "the consumer never slept");
}
