//! In-process checks of the transport: both ends of a segment in one process, on threads.

use electrode_shm::{
    AlignedBuf, Liveness, Message, OpenError, ReplyError, Segment, SegmentConfig, WaitError,
    WaitMode,
};
use std::time::{Duration, Instant};

fn small() -> SegmentConfig {
    SegmentConfig {
        r2m_capacity: 4096,
        m2r_capacity: 4096,
        slot_count: 4,
        slot_size: 64,
    }
}

#[test]
fn frames_cross_both_ways_with_wraparound_and_chunks() {
    let seg = Segment::create(small()).unwrap();
    let r = seg.reopen().unwrap().into_renderer(Liveness::new());
    let m = seg.into_main(Liveness::new());
    let (mut rtx, mut mrx) = (r.tx, m.rx);
    let t = std::thread::spawn(move || {
        for i in 0..20_000u64 {
            let len = (i * 7919 % 5000) as usize; // up to 5000: some exceed a frame (2032)
            let payload: Vec<u8> = (0..len).map(|j| (i as usize + j) as u8).collect();
            rtx.send(7, i, &payload, WaitMode::default(), None).unwrap();
        }
    });
    let mut buf = AlignedBuf::new();
    for i in 0..20_000u64 {
        let msg = mrx
            .recv(
                WaitMode::default(),
                Some(Instant::now() + Duration::from_secs(20)),
            )
            .unwrap();
        assert_eq!((msg.tag(), msg.meta()), (7, i));
        msg.copy_into(&mut buf);
        let len = (i * 7919 % 5000) as usize;
        assert_eq!(buf.len(), len);
        assert!(buf
            .as_slice()
            .iter()
            .enumerate()
            .all(|(j, b)| *b == (i as usize + j) as u8));
    }
    t.join().unwrap();
    assert!(matches!(mrx.try_recv(), Ok(None)));
}

#[test]
fn slot_reply_and_timeout_and_stale() {
    let seg = Segment::create(small()).unwrap();
    let r = seg.reopen().unwrap().into_renderer(Liveness::new());
    let m = seg.into_main(Liveness::new());
    let t = r.slots.try_acquire().unwrap();
    let mut grant = m.slots.start_reply(t.index, t.generation, 8).unwrap();
    assert_eq!((grant.ticket(), grant.len()), (t, 8));
    grant.as_mut_slice()[..3].copy_from_slice(b"abc");
    grant.publish(3, 9);
    let trusting = r.slots_trusting_main();
    let reply = trusting.wait_reply(t, WaitMode::ParkOnly, None).unwrap();
    assert_eq!((reply.as_slice(), reply.aux()), (&b"abc"[..], 9));
    assert!(!reply.responder_dropped());
    drop(reply);
    // A timed-out request's late reply is dropped, and the reused slot is not written.
    let t1 = r.slots.try_acquire().unwrap();
    let err = r.slots.wait_reply(
        t1,
        WaitMode::ParkOnly,
        Some(Instant::now() + Duration::from_millis(5)),
    );
    assert_eq!(err.err(), Some(WaitError::TimedOut));
    assert_eq!(
        m.slots.start_reply(t1.index, t1.generation, 1).err(),
        Some(ReplyError::Stale)
    );
    assert_eq!(m.slots.start_reply(99, 1, 1).err(), Some(ReplyError::Stale));
    assert_eq!(
        m.slots.start_reply(0, 1, 65).err(),
        Some(ReplyError::TooLarge)
    );
}

/// A grant dropped unpublished (here: by a panic while the reply is written) publishes an empty
/// reply marked `responder_dropped`, so a requester with no deadline is not left waiting.
#[test]
fn dropped_grant_publishes_an_empty_marked_reply() {
    let seg = Segment::create(small()).unwrap();
    let r = seg.reopen().unwrap().into_renderer(Liveness::new());
    let m = seg.into_main(Liveness::new());
    let t = r.slots.try_acquire().unwrap();
    let slots = m.slots.clone();
    let responder = std::thread::spawn(move || {
        let mut grant = slots.start_reply(t.index, t.generation, 4).unwrap();
        grant.as_mut_slice().copy_from_slice(b"half");
        panic!("the handler failed while writing its reply");
    });
    let reply = r.slots.wait_reply(t, WaitMode::default(), None).unwrap();
    assert!(responder.join().is_err());
    assert!(reply.responder_dropped());
    assert_eq!(
        (reply.len(), reply.aux()),
        (0, electrode_shm::RESPONDER_DROPPED)
    );
    drop(reply);
    // The request was answered (by the drop): it cannot be answered again.
    assert_eq!(
        m.slots.start_reply(t.index, t.generation, 0).err(),
        Some(ReplyError::Stale)
    );
}

/// `publish` refuses the transport's aux bit; the refused grant is dropped, which publishes
/// the marked empty reply.
#[test]
fn publish_rejects_the_reserved_aux_bit() {
    let seg = Segment::create(small()).unwrap();
    let r = seg.reopen().unwrap().into_renderer(Liveness::new());
    let m = seg.into_main(Liveness::new());
    let t = r.slots.try_acquire().unwrap();
    let grant = m.slots.start_reply(t.index, t.generation, 0).unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        grant.publish(0, electrode_shm::RESPONDER_DROPPED | 1)
    }));
    assert!(caught.is_err());
    let reply = r.slots.wait_reply(t, WaitMode::ParkOnly, None).unwrap();
    assert_eq!(reply.aux(), electrode_shm::RESPONDER_DROPPED);
}

/// Heap rings and slot tables (one process, no segment) run the same protocols.
#[test]
fn heap_ring_and_slot_table_round_trip() {
    use electrode_shm::{heap, Futex, SlotTable};
    let (mut tx, mut rx) = heap::ring_pair(4096, Futex, Liveness::new());
    let mut g = tx.try_reserve(3).unwrap();
    g.write(0, b"xyz");
    g.commit(3, 1, 2);
    let f = rx.try_peek().unwrap().unwrap();
    let mut b = [0u8; 3];
    f.copy_to(&mut b);
    assert_eq!(&b, b"xyz");
    f.release();
    assert!(rx.try_peek().unwrap().is_none());

    let slots = SlotTable::new_heap(2, 16, Futex, Liveness::new());
    let t = slots.try_acquire().unwrap();
    let mut grant = slots.start_reply(t.index, t.generation, 2).unwrap();
    grant.as_mut_slice().copy_from_slice(b"ok");
    grant.publish(2, 5);
    let reply = slots.wait_reply(t, WaitMode::ParkOnly, None).unwrap();
    let mut b = [0u8; 2];
    reply.copy_to(&mut b);
    assert_eq!((&b, reply.aux()), (b"ok", 5));
}

#[test]
fn open_rejects_foreign_files() {
    let f = tempfile_memfd();
    assert!(matches!(
        Segment::open(f),
        Err(OpenError::NotSealed) | Err(OpenError::BadMagic(_))
    ));
}

fn tempfile_memfd() -> std::fs::File {
    let seg = Segment::create(small()).unwrap();
    // Not sealed? It is; so corrupt the magic through a second mapping instead.
    let f = seg.file().try_clone().unwrap();
    use std::os::unix::fs::FileExt;
    f.write_all_at(&[0u8; 8], 0).unwrap();
    f
}

#[test]
fn peer_gone_wakes_a_blocked_receiver() {
    let seg = Segment::create(small()).unwrap();
    let live = Liveness::new();
    let mut r = seg.reopen().unwrap().into_renderer(live.clone());
    let _m = seg.into_main(Liveness::new());
    let waker = r.waker.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        live.mark_gone();
        waker.wake_all();
    });
    let start = Instant::now();
    let e = r.rx.recv(WaitMode::default(), None).err();
    assert_eq!(e, Some(electrode_shm::RecvError::PeerGone));
    assert!(start.elapsed() < Duration::from_secs(5));
    t.join().unwrap();
    let _ = Message::<electrode_shm::Futex>::release;
}
