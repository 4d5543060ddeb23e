//! Loom models of a port's close protocol (`closing`): two closed words and a wake of every
//! event of both rings, over a heap port ([`heap::port_pair`]).
//!
//! A waiter that sleeps through a close stays parked forever, which loom reports as a
//! deadlock; a message committed before the close but missed by the reader fails an assert
//! (and a read of bytes the close did not publish fails as a causality violation).
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p electrode-shm --release
//! --target-dir target/loom --test loom_port`.
#![cfg(loom)]

mod loom_park;

use electrode_shm::heap::port_pair;
use electrode_shm::{AlignedBuf, RecvError, SendError, WaitMode};
use loom_park::explore;

/// A sends one message, then closes; B, parked in `recv`, always gets the message first,
/// then `PeerGone`, whatever the interleaving.
#[test]
fn committed_before_close_is_delivered() {
    let explored = explore("committed_before_close_is_delivered", |park| {
        let (mut a, mut b) = port_pair(128, park);
        let closer = loom::thread::spawn(move || {
            a.tx.send(7, 70, b"bye", WaitMode::ParkOnly, None)
                .expect("send before close");
            a.close();
        });
        let mut buf = AlignedBuf::new();
        let msg =
            b.rx.recv(WaitMode::ParkOnly, None)
                .expect("the message first");
        assert_eq!((msg.tag(), msg.meta()), (7, 70));
        msg.copy_into(&mut buf);
        assert_eq!(buf.as_slice(), b"bye");
        assert_eq!(
            b.rx.recv(WaitMode::ParkOnly, None).err(),
            Some(RecvError::PeerGone)
        );
        assert!(b.live.is_gone());
        closer.join().unwrap();
    });
    assert!(explored.sleeps > 0, "the receiver never slept");
}

/// B closes while A is parked in `recv` on an empty ring: A wakes with `PeerGone` (it never
/// sleeps through the close).
#[test]
fn close_wakes_a_parked_receiver() {
    let explored = explore("close_wakes_a_parked_receiver", |park| {
        let (mut a, b) = port_pair(128, park);
        let closer = loom::thread::spawn(move || b.close());
        assert_eq!(
            a.rx.recv(WaitMode::ParkOnly, None).err(),
            Some(RecvError::PeerGone)
        );
        closer.join().unwrap();
    });
    assert!(explored.sleeps > 0, "the receiver never slept");
}

/// A's ring is full and A is parked in `send` waiting for room; B closes without reading: A
/// wakes with `PeerGone` (a blocked sender never sleeps through the close either).
#[test]
fn close_wakes_a_parked_sender() {
    let explored = explore("close_wakes_a_parked_sender", |park| {
        let (mut a, b) = port_pair(128, park);
        // A 128-byte ring holds two 48-byte frames (64 bytes each): the third must wait.
        for i in 0..2 {
            a.tx.send(i, 0, &[0u8; 48], WaitMode::ParkOnly, None)
                .expect("room");
        }
        let closer = loom::thread::spawn(move || b.close());
        assert_eq!(
            a.tx.send(2, 0, &[0u8; 48], WaitMode::ParkOnly, None).err(),
            Some(SendError::PeerGone)
        );
        closer.join().unwrap();
    });
    assert!(explored.sleeps > 0, "the sender never slept");
}
