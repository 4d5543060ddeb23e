//! The bulk area: messages larger than a frame travel whole, once per direction, and the area
//! goes back to its producer only when the consumer releases the bulk frame. Both ends of a
//! segment in one process; every blocking wait has a deadline, so a hang fails as `TimedOut`.

#![cfg(not(loom))]

use electrode_shm::{
    heap, AlignedBuf, FrameKind, Futex, Liveness, Message, Receiver, Segment, SegmentConfig,
    TryReserveError, WaitMode, BULK_CAPACITY,
};
use std::time::{Duration, Instant};

/// 4 KiB rings: a frame carries at most 2032 bytes, so 100 KiB is a bulk message.
fn small() -> SegmentConfig {
    SegmentConfig {
        r2m_capacity: 4096,
        m2r_capacity: 4096,
        slot_count: 4,
        slot_size: 64,
    }
}

fn soon() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(10))
}

/// Message `i`, `len` bytes: recognisable per message and per byte.
fn payload(i: u8, len: usize) -> Vec<u8> {
    (0..len).map(|j| i.wrapping_mul(31) ^ (j as u8)).collect()
}

#[test]
fn a_large_message_is_one_bulk_frame_not_chunks() {
    let seg = Segment::create(small()).unwrap();
    let mut renderer = seg.reopen().unwrap().into_renderer(Liveness::new());
    let mut main = seg.into_main(Liveness::new());
    assert_eq!(renderer.tx.max_bulk(), BULK_CAPACITY);
    let big = payload(1, 100 << 10);
    renderer
        .tx
        .send(7, 42, &big, WaitMode::default(), soon())
        .unwrap();
    // One frame in the ring, naming the bulk message (a chunked one would start `First`).
    let h = main.rx.consumer().peek_header().unwrap().expect("sent");
    assert_eq!((h.kind, h.tag, h.meta), (FrameKind::Bulk, 7, 42));
    let msg = main.rx.recv(WaitMode::default(), soon()).unwrap();
    assert_eq!((msg.tag(), msg.meta()), (7, 42));
    let mut out = AlignedBuf::new();
    msg.copy_into(&mut out);
    assert_eq!(out.as_slice(), &big[..]);
    assert!(
        main.rx.try_recv().unwrap().is_none(),
        "nothing else was sent"
    );
}

#[test]
fn the_bulk_area_is_the_producers_again_only_after_release() {
    let seg = Segment::create(small()).unwrap();
    let mut renderer = seg.reopen().unwrap().into_renderer(Liveness::new());
    let mut main = seg.into_main(Liveness::new());
    let first = payload(2, 50_000);
    let mut g = renderer.tx.try_reserve_bulk(first.len()).unwrap();
    g.as_mut_slice().copy_from_slice(&first);
    g.commit(first.len(), 1, 1);
    // Main has not read it: the area is still main's.
    assert!(matches!(
        renderer.tx.try_reserve_bulk(10_000),
        Err(TryReserveError::Full)
    ));
    // Main copies it out and releases the frame: the area is the renderer's again.
    let mut out = AlignedBuf::new();
    main.rx
        .try_recv()
        .unwrap()
        .expect("sent")
        .copy_into(&mut out);
    assert_eq!(out.as_slice(), &first[..]);
    let second = payload(3, 10_000);
    let mut g = renderer.tx.try_reserve_bulk(second.len()).unwrap();
    g.as_mut_slice().copy_from_slice(&second);
    g.commit(second.len(), 2, 2);
    main.rx
        .try_recv()
        .unwrap()
        .expect("sent")
        .copy_into(&mut out);
    assert_eq!(out.as_slice(), &second[..]);
    // Past the area: refused, not truncated.
    assert!(matches!(
        renderer.tx.try_reserve_bulk(BULK_CAPACITY + 1),
        Err(TryReserveError::TooLarge)
    ));
}

#[test]
fn the_renderer_reads_mains_bulk_message_in_place_and_hands_it_back() {
    let seg = Segment::create(small()).unwrap();
    let mut renderer = seg.reopen().unwrap().into_renderer(Liveness::new());
    let mut main = seg.into_main(Liveness::new());
    let big = payload(4, 300_000);
    main.tx
        .send(5, 6, &big, WaitMode::default(), soon())
        .unwrap();
    match renderer.rx.recv(WaitMode::default(), soon()).unwrap() {
        Message::Assembled { tag, meta, bytes } => {
            assert_eq!((tag, meta), (5, 6));
            assert_eq!(bytes, &big[..]);
        }
        Message::Frame(_) => panic!("a bulk message is not a ring frame"),
    }
    // Held while (possibly) still read: main may not write the area yet.
    assert!(matches!(
        main.tx.try_reserve_bulk(1000),
        Err(TryReserveError::Full)
    ));
    renderer.rx.finish_message();
    let mut g = main.tx.try_reserve_bulk(1000).unwrap();
    g.as_mut_slice().fill(9);
    g.commit(1000, 8, 9);
    let msg = renderer.rx.recv(WaitMode::default(), soon()).unwrap();
    let mut out = AlignedBuf::new();
    msg.copy_into(&mut out);
    assert_eq!(out.as_slice(), &[9u8; 1000][..]);
}

#[test]
fn while_the_area_is_held_large_messages_go_in_chunks_in_order() {
    let (mut tx, rx) = heap::ring_pair_with_bulk(4096, 64 << 10, Futex, Liveness::new());
    let mut rx = Receiver::new(rx, 1 << 20);
    let (a, b, c) = (payload(5, 40_000), payload(6, 30_000), payload(7, 20_000));
    let mut progress = 0;
    assert!(tx.try_send_partial(1, 0, &a, &mut progress).unwrap());
    // The area holds `a`: `b` starts in chunks instead (as much as the ring takes).
    let mut progress = 0;
    assert!(!tx.try_send_partial(2, 0, &b, &mut progress).unwrap());
    assert!(progress > 0 && progress < b.len(), "chunks went out");
    let mut out = AlignedBuf::new();
    let msg = rx.try_recv().unwrap().expect("a is whole");
    assert_eq!(msg.tag(), 1);
    msg.copy_into(&mut out);
    assert_eq!(out.as_slice(), &a[..]);
    // Chunks resume where they stopped, the area being free again changes nothing for `b`.
    let mut got_b = None;
    for _ in 0..1000 {
        tx.try_send_partial(2, 0, &b, &mut progress).unwrap();
        if let Some(msg) = rx.try_recv().unwrap() {
            assert_eq!(msg.tag(), 2);
            msg.copy_into(&mut out);
            got_b = Some(out.as_slice().to_vec());
            break;
        }
    }
    assert_eq!(got_b.expect("b arrives in chunks"), b);
    // The next one takes the (free) area again.
    let mut progress = 0;
    assert!(tx.try_send_partial(3, 0, &c, &mut progress).unwrap());
    let h = rx.consumer().peek_header().unwrap().expect("sent");
    assert_eq!(h.kind, FrameKind::Bulk);
    rx.try_recv()
        .unwrap()
        .expect("c is whole")
        .copy_into(&mut out);
    assert_eq!(out.as_slice(), &c[..]);
}

#[test]
fn a_blocked_bulk_sender_wakes_when_the_consumer_releases() {
    let seg = Segment::create(small()).unwrap();
    let mut renderer = seg.reopen().unwrap().into_renderer(Liveness::new());
    let mut main = seg.into_main(Liveness::new());
    let msgs: Vec<Vec<u8>> = (0..8).map(|i| payload(i, 20_000 + i as usize)).collect();
    let sent = msgs.clone();
    let sender = std::thread::spawn(move || {
        for (i, m) in sent.iter().enumerate() {
            let mut g = renderer
                .tx
                .reserve_bulk(m.len(), WaitMode::ParkOnly, soon())
                .expect("the consumer releases every message");
            g.as_mut_slice().copy_from_slice(m);
            g.commit(m.len(), i as u16, 0);
        }
    });
    let mut out = AlignedBuf::new();
    for (i, m) in msgs.iter().enumerate() {
        let msg = main.rx.recv(WaitMode::ParkOnly, soon()).unwrap();
        assert_eq!(msg.tag(), i as u16);
        msg.copy_into(&mut out);
        assert_eq!(out.as_slice(), &m[..], "message {i}");
    }
    sender.join().unwrap();
}
