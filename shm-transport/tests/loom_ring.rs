//! Loom models of the SPSC byte ring: frames of several sizes through a ring so small that
//! padding and wrap-around happen, with both sides blocking (`WaitMode::ParkOnly`) on the
//! ring's data and space events.
//!
//! The ring bytes are loom cells, so a frame read before the producer's Release of `tail`, or
//! written before the consumer's Release of `head`, fails as a causality violation; a lost
//! wake-up on either event fails as a deadlock.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p electrode-shm --release
//! --target-dir target/loom --test loom_ring`.
#![cfg(loom)]

mod loom_park;

use electrode_shm::heap::ring_pair;
use electrode_shm::{frame_size, AlignedBuf, FrameKind, Liveness, Receiver, WaitMode};
use loom_park::explore;

/// Payload of message `i` with `len` bytes: recognisable per message and per byte.
fn payload(i: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| (i as u8).wrapping_mul(31) ^ j as u8)
        .collect()
}

/// Seven frames through a 64-byte ring (frames of 32, 16, 32, 32, 16, 32 and 32 bytes): the
/// third and the seventh do not fit before the ring end, so the producer writes a 16-byte
/// padding frame and wraps to offset 0 (twice, three and a half laps in all), waiting for the
/// consumer to free space. Reserve/commit on one side, peek/release on the other; order,
/// header fields and every byte are checked, and the final positions prove the padding was
/// written and skipped.
#[test]
fn frames_wrap_around_a_tiny_ring() {
    const LENS: [usize; 7] = [10, 0, 16, 3, 0, 1, 16];
    // The layout the model relies on: 32 + 16 fill 48 bytes, leaving 16 at the end.
    assert_eq!(frame_size(10) + frame_size(0), 48);
    assert_eq!(frame_size(16), 32);
    let explored = explore("frames_wrap_around_a_tiny_ring", |park| {
        let (mut producer, mut consumer) = ring_pair(64, park, Liveness::new());
        let sender = loom::thread::spawn(move || {
            for (i, &len) in LENS.iter().enumerate() {
                let mut g = producer
                    .reserve(len, WaitMode::ParkOnly, None)
                    .expect("reserve");
                assert_eq!(g.len(), len);
                g.write(0, &payload(i as u64, len));
                g.commit(len, 40 + i as u16, 1000 + i as u64);
            }
        });
        for (i, &len) in LENS.iter().enumerate() {
            let g = consumer.peek(WaitMode::ParkOnly, None).expect("peek");
            let h = g.header();
            assert_eq!(
                (h.kind, h.tag, h.meta, g.len()),
                (FrameKind::Whole, 40 + i as u16, 1000 + i as u64, len)
            );
            let mut got = vec![0u8; len];
            g.copy_to(&mut got);
            assert_eq!(got, payload(i as u64, len), "payload of frame {i}");
            g.release();
        }
        sender.join().unwrap();
        assert!(consumer.try_peek().unwrap().is_none(), "nothing left");
        // 32 + 16 + 16 (pad) + 32 + 32 + 16 + 32 + 16 (pad) + 32.
        let state = format!("{consumer:?}");
        assert!(state.contains("head: 224,"), "{state}");
    });
    assert!(explored.sleeps > 0, "no side ever slept");
}

/// A whole message, then one larger than a frame, through a 128-byte ring with
/// `Producer::send` and `Receiver::recv`: the large one goes as four 16-byte chunks (the third
/// after a padding frame at the ring end), which the receiver reassembles.
#[test]
fn chunked_message_through_send_and_recv() {
    // 128-byte ring: a frame carries at most 48 bytes, a chunk 16.
    const SMALL: usize = 20;
    const LARGE: usize = 49;
    let explored = explore("chunked_message_through_send_and_recv", |park| {
        let (mut producer, consumer) = ring_pair(128, park, Liveness::new());
        assert_eq!(
            (producer.max_frame_payload(), producer.chunk_payload()),
            (48, 16)
        );
        let sender = loom::thread::spawn(move || {
            producer
                .send(1, 11, &payload(1, SMALL), WaitMode::ParkOnly, None)
                .expect("send small");
            producer
                .send(2, 22, &payload(2, LARGE), WaitMode::ParkOnly, None)
                .expect("send large");
        });
        let mut rx = Receiver::new(consumer, 1024);
        let mut buf = AlignedBuf::new();
        for (i, tag, meta, len) in [(1u64, 1u16, 11u64, SMALL), (2, 2, 22, LARGE)] {
            let msg = rx.recv(WaitMode::ParkOnly, None).expect("recv");
            assert_eq!((msg.tag(), msg.meta()), (tag, meta));
            msg.copy_into(&mut buf);
            assert_eq!(buf.as_slice(), &payload(i, len)[..], "message {i}");
        }
        assert!(!rx.is_mid_message());
        sender.join().unwrap();
        assert!(rx.try_recv().unwrap().is_none(), "nothing left");
        // 48 + 32 + 32 + 16 (padding) + 32 + 32.
        let state = format!("{:?}", rx.consumer());
        assert!(state.contains("head: 192,"), "{state}");
    });
    assert!(explored.sleeps > 0, "no side ever slept");
}
