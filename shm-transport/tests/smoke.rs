//! In-process checks of the transport: both ends of a segment in one process, on threads.

use electrode_shm::{
    AlignedBuf, Liveness, Message, OpenError, ReplyOutcome, Segment, SegmentConfig, WaitError,
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
    assert_eq!(
        m.slots.reply(t.index, t.generation, 3, |b| {
            b.copy_from_slice(b"abc");
            9
        }),
        ReplyOutcome::Written
    );
    let reply = r.slots.wait_reply(t, WaitMode::ParkOnly, None).unwrap();
    assert_eq!((reply.as_slice(), reply.aux()), (&b"abc"[..], 9));
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
        m.slots.reply(t1.index, t1.generation, 1, |_| 0),
        ReplyOutcome::Stale
    );
    assert_eq!(m.slots.reply(99, 1, 1, |_| 0), ReplyOutcome::Stale);
    assert_eq!(m.slots.reply(0, 1, 65, |_| 0), ReplyOutcome::TooLarge);
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
