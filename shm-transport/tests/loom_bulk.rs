//! Loom models of the bulk area: messages larger than a frame through a 128-byte ring with a
//! 64-byte bulk area, both sides blocking (`WaitMode::ParkOnly`).
//!
//! The bulk bytes are loom cells, so a consumer reading the area before the producer's
//! Release of `tail` (the bulk frame's publication), or a producer writing it again before
//! the consumer's Release of `head` (the bulk frame's release), fails as a causality
//! violation; a lost wake-up of a producer waiting for the area fails as a deadlock.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p electrode-shm --release
//! --target-dir target/loom --test loom_bulk`.
#![cfg(loom)]

mod loom_park;

use electrode_shm::heap::ring_pair_with_bulk;
use electrode_shm::{AlignedBuf, Liveness, Message, Receiver, WaitMode};
use loom_park::explore;

/// Payload of message `i` with `len` bytes: recognisable per message and per byte.
fn payload(i: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| (i as u8).wrapping_mul(31) ^ j as u8)
        .collect()
}

// 128-byte ring: a frame carries at most 48 bytes, so these are bulk messages.
const FIRST: usize = 60;
const SECOND: usize = 50;

/// Two bulk messages back to back: the second `reserve_bulk` waits until the consumer has
/// copied the first out and released its frame. The consumer copies (as main does).
#[test]
fn the_area_is_reused_only_after_the_copy() {
    let explored = explore("the_area_is_reused_only_after_the_copy", |park| {
        let (mut producer, consumer) = ring_pair_with_bulk(128, 64, park, Liveness::new());
        let sender = loom::thread::spawn(move || {
            for (i, len) in [(1u64, FIRST), (2, SECOND)] {
                let mut g = producer
                    .reserve_bulk(len, WaitMode::ParkOnly, None)
                    .expect("reserve bulk");
                g.as_mut_slice().copy_from_slice(&payload(i, len));
                g.commit(len, i as u16, 10 * i);
            }
        });
        let mut rx = Receiver::new(consumer, 1024);
        let mut buf = AlignedBuf::new();
        for (i, len) in [(1u64, FIRST), (2, SECOND)] {
            let msg = rx.recv(WaitMode::ParkOnly, None).expect("recv");
            assert_eq!((msg.tag(), msg.meta()), (i as u16, 10 * i));
            msg.copy_into(&mut buf);
            assert_eq!(buf.as_slice(), &payload(i, len)[..], "message {i}");
        }
        sender.join().unwrap();
        assert!(rx.try_recv().unwrap().is_none(), "nothing left");
    });
    assert!(explored.sleeps > 0, "no side ever slept");
}

/// As above, but the consumer trusts the producer and reads each message in place (as the
/// renderer reads main's): the area goes back only at `finish_message`.
#[test]
fn in_place_reads_hold_the_area_until_finished() {
    let explored = explore("in_place_reads_hold_the_area_until_finished", |park| {
        let (mut producer, consumer) = ring_pair_with_bulk(128, 64, park, Liveness::new());
        let sender = loom::thread::spawn(move || {
            for (i, len) in [(1u64, FIRST), (2, SECOND)] {
                let mut g = producer
                    .reserve_bulk(len, WaitMode::ParkOnly, None)
                    .expect("reserve bulk");
                g.as_mut_slice().copy_from_slice(&payload(i, len));
                g.commit(len, i as u16, 0);
            }
        });
        let mut rx = Receiver::new(consumer, 1024);
        // SAFETY: the producer thread above keeps to the protocol.
        unsafe { rx.trust_producer() };
        for (i, len) in [(1u64, FIRST), (2, SECOND)] {
            match rx.recv(WaitMode::ParkOnly, None).expect("recv") {
                Message::Assembled { tag, bytes, .. } => {
                    assert_eq!(tag, i as u16);
                    assert_eq!(bytes, &payload(i, len)[..], "message {i}");
                }
                Message::Frame(_) => panic!("a bulk message is not a ring frame"),
            }
            rx.finish_message();
        }
        sender.join().unwrap();
    });
    assert!(explored.sleeps > 0, "no side ever slept");
}
