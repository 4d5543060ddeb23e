//! Port segments in one process: two mappings of one file stand in for the two processes
//! that would hold the ends. Both ends are untrusted by each other: a third mapping plays the
//! hostile peer that scribbles the header, the ring positions and the closed words.

use electrode_shm::{
    AlignedBuf, ClosedState, OpenError, PortConfig, PortEnd, PortSegment, RecvError, SendError,
    Side, WaitMode, PORT_LAYOUT_VERSION, PORT_MAGIC,
};
use memmap2::MmapMut;
use std::fs::File;
use std::time::{Duration, Instant};

const PAGE: usize = 4096;

fn small() -> PortConfig {
    PortConfig { capacity: 4096 }
}

/// A port's two ends, each on its own mapping of the file.
fn pair(config: PortConfig) -> (PortEnd, PortEnd) {
    let seg = PortSegment::create(config).unwrap();
    let other = PortSegment::open(seg.file().try_clone().unwrap()).unwrap();
    (seg.end(Side::A).unwrap(), other.end(Side::B).unwrap())
}

/// Far enough away that reaching it means a hang (the test then fails instead of hanging).
fn watchdog() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(20))
}

/// A writable mapping of the whole file: what a hostile peer can do to the shared bytes.
fn scribbler(file: &File) -> MmapMut {
    // SAFETY: the test owns the file; the mapping is only written at offsets the test picks,
    // standing in for a hostile process (the ends read these bytes only through atomics and
    // validated copies).
    unsafe { MmapMut::map_mut(file).unwrap() }
}

fn payload(i: u64, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i as usize * 31 + j) as u8).collect()
}

fn recv_into(end: &mut PortEnd, buf: &mut AlignedBuf) -> Result<(u16, u64), RecvError> {
    let msg = end.rx.recv(WaitMode::default(), watchdog())?;
    let (tag, meta) = (msg.tag(), msg.meta());
    msg.copy_into(buf);
    Ok((tag, meta))
}

/// Send one message of each length from `tx` to `rx` (on a thread), checking every byte.
fn exchange(tx: &mut PortEnd, rx: &mut PortEnd, lens: &[usize]) {
    let mut buf = AlignedBuf::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            for (i, &len) in lens.iter().enumerate() {
                let p = payload(i as u64, len);
                tx.tx
                    .send(i as u16, len as u64, &p, WaitMode::default(), watchdog())
                    .unwrap();
            }
        });
        for (i, &len) in lens.iter().enumerate() {
            let (tag, meta) = recv_into(rx, &mut buf).unwrap();
            assert_eq!((tag, meta), (i as u16, len as u64));
            assert!(buf.as_slice() == &payload(i as u64, len)[..], "message {i}");
        }
    });
}

#[test]
fn create_open_round_trip_both_ways_small_and_large() {
    let (mut a, mut b) = pair(small());
    assert_eq!((a.side, b.side), (Side::A, Side::B));
    assert_eq!(b.segment.capacity(), 4096);
    let max = a.tx.max_frame_payload();
    // Small, larger than a frame (bulk area), and larger than the bulk area (chunks).
    let lens = [0, 1, 100, max, max + 1, 100_000, (16 << 20) + 5];
    exchange(&mut a, &mut b, &lens);
    exchange(&mut b, &mut a, &lens);
    assert!(!a.live.is_gone() && !b.live.is_gone());
}

#[test]
fn sent_before_close_is_delivered_then_peer_gone() {
    let (mut a, mut b) = pair(small());
    // A frame, a bulk message (larger than a frame) and a frame: all fit without a reader.
    let lens = [500, 3000, 100];
    for (i, &len) in lens.iter().enumerate() {
        a.tx.send(
            1,
            i as u64,
            &payload(i as u64, len),
            WaitMode::default(),
            None,
        )
        .unwrap();
    }
    a.close();
    assert!(b.segment.is_closed(Side::A) && !b.segment.is_closed(Side::B));
    assert!(b.peer_closed() && b.live.is_gone() && a.live.is_gone());
    let mut buf = AlignedBuf::new();
    for (i, &len) in lens.iter().enumerate() {
        assert_eq!(recv_into(&mut b, &mut buf), Ok((1, i as u64)));
        assert_eq!(buf.as_slice(), &payload(i as u64, len)[..]);
    }
    assert_eq!(recv_into(&mut b, &mut buf), Err(RecvError::PeerGone));
    // The closed side's own waits end too.
    assert_eq!(recv_into(&mut a, &mut buf), Err(RecvError::PeerGone));
    // Closing again is harmless.
    a.close();
    b.close();
    assert!(a.segment.is_closed(Side::B));
}

#[test]
fn close_wakes_a_blocked_recv_on_the_other_end() {
    let (a, mut b) = pair(small());
    let waiter = std::thread::spawn(move || {
        let r = b.rx.recv(WaitMode::ParkOnly, watchdog()).err();
        (r, b)
    });
    // Give the waiter a chance to park (not needed for correctness: if it has not parked yet
    // it sees the close on its first check).
    std::thread::yield_now();
    a.close();
    let (r, _b) = waiter.join().unwrap();
    assert_eq!(r, Some(RecvError::PeerGone));
}

#[test]
fn close_wakes_a_blocked_send_on_a_full_ring() {
    let (mut a, b) = pair(small());
    let frame = a.tx.max_frame_payload();
    // Two frames of half the ring fill it.
    for _ in 0..2 {
        a.tx.send(1, 0, &vec![0u8; frame], WaitMode::default(), None)
            .unwrap();
    }
    let waiter = std::thread::spawn(move || {
        let r =
            a.tx.send(2, 0, &vec![0u8; frame], WaitMode::ParkOnly, watchdog())
                .err();
        (r, a)
    });
    std::thread::yield_now();
    b.close();
    let (r, _a) = waiter.join().unwrap();
    assert_eq!(r, Some(SendError::PeerGone));
}

#[test]
fn any_nonzero_closed_word_counts_as_closed() {
    let (a, b) = pair(small());
    let mut evil = scribbler(a.segment.file());
    // The closed words are at offset 40 of the header (A at 40, B at 44).
    evil[44..48].copy_from_slice(&0xdead_beef_u32.to_ne_bytes());
    assert!(a.peer_closed() && a.live.is_gone() && b.segment.is_closed(Side::B));
    assert!(ClosedState(7).is_closed() && !ClosedState(ClosedState::OPEN).is_closed());
}

#[test]
fn lying_ring_positions_give_corrupt_not_a_panic() {
    // The A -> B ring's header is at one page, B -> A's at 2 pages + capacity; in each, head
    // is at +0 and tail at +128.
    let (mut a, mut b) = pair(small());
    let mut evil = scribbler(a.segment.file());
    let ab = PAGE;
    let ba = 2 * PAGE + 4096;

    // B's view: A publishes a tail far past anything the ring could hold.
    evil[ab + 128..ab + 136].copy_from_slice(&(1u64 << 40).to_ne_bytes());
    assert!(matches!(
        b.rx.recv(WaitMode::default(), watchdog()),
        Err(RecvError::Corrupt(_))
    ));

    // A's view: B publishes a head beyond A's tail while A's ring is full.
    let frame = a.tx.max_frame_payload();
    for _ in 0..2 {
        a.tx.send(1, 0, &vec![0u8; frame], WaitMode::default(), None)
            .unwrap();
    }
    evil[ab..ab + 8].copy_from_slice(&u64::MAX.to_ne_bytes());
    assert!(matches!(
        a.tx.send(1, 0, &vec![0u8; frame], WaitMode::default(), watchdog()),
        Err(SendError::Corrupt(_))
    ));

    // A's view of the other ring: a plausible tail over garbage frame bytes.
    evil[ba + PAGE..ba + PAGE + 16].fill(0xff);
    evil[ba + 128..ba + 136].copy_from_slice(&64u64.to_ne_bytes());
    assert!(matches!(
        a.rx.recv(WaitMode::default(), watchdog()),
        Err(RecvError::Corrupt(_))
    ));
}

#[test]
fn open_rejects_bad_magic_version_sizes_and_unsealed_files() {
    let seg = PortSegment::create(small()).unwrap();
    let file = || seg.file().try_clone().unwrap();
    let mut evil = scribbler(seg.file());
    let original: Vec<u8> = evil[..48].to_vec();
    let mut with = |at: usize, bytes: &[u8]| {
        evil[..48].copy_from_slice(&original);
        evil[at..at + bytes.len()].copy_from_slice(bytes);
        PortSegment::open(file()).err()
    };
    assert!(matches!(
        with(0, &0u64.to_le_bytes()),
        Some(OpenError::BadMagic(0))
    ));
    // A renderer segment is not a port segment.
    assert!(matches!(
        with(0, &electrode_shm::MAGIC.to_le_bytes()),
        Some(OpenError::BadMagic(_))
    ));
    assert!(matches!(
        with(8, &(PORT_LAYOUT_VERSION + 1).to_le_bytes()),
        Some(OpenError::BadVersion { .. })
    ));
    assert!(matches!(
        with(12, &7u32.to_le_bytes()),
        Some(OpenError::BadLayout(_))
    ));
    // total_size, capacity (not a power of two; too small; larger than the file), bulk.
    assert!(matches!(
        with(16, &12345u64.to_le_bytes()),
        Some(OpenError::BadLayout(_))
    ));
    for cap in [5000u64, 1024, 8192, 1 << 40] {
        assert!(
            matches!(with(24, &cap.to_le_bytes()), Some(OpenError::BadLayout(_))),
            "{cap}"
        );
    }
    assert!(matches!(
        with(32, &4096u64.to_le_bytes()),
        Some(OpenError::BadLayout(_))
    ));
    // Restored, it opens again.
    assert!(with(0, &PORT_MAGIC.to_le_bytes()).is_none());

    // Unsealed: a memfd the peer could shrink under our mapping.
    let fd =
        nix::sys::memfd::memfd_create(c"unsealed", nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC)
            .unwrap();
    let unsealed = File::from(fd);
    unsealed.set_len(1 << 20).unwrap();
    assert!(matches!(
        PortSegment::open(unsealed),
        Err(OpenError::NotSealed)
    ));
    // Not a memfd at all (no seals to read).
    let plain = File::open("/proc/self/exe").unwrap();
    assert!(PortSegment::open(plain).is_err());
    // Invalid config on create.
    assert!(matches!(
        PortSegment::create(PortConfig { capacity: 3000 }),
        Err(OpenError::BadLayout(_))
    ));
}

#[test]
fn handles_and_ends_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<PortSegment>();
    send::<PortEnd>();
}

#[test]
fn a_moved_end_resumes_where_its_earlier_holder_stopped() {
    let (mut a, mut b) = pair(small());
    let mut buf = AlignedBuf::new();
    for i in 0..3u64 {
        a.tx.send(1, i, &payload(i, 700), WaitMode::default(), None)
            .unwrap();
    }
    b.tx.send(2, 0, b"from the first holder", WaitMode::default(), None)
        .unwrap();
    assert_eq!(recv_into(&mut b, &mut buf), Ok((1, 0)));
    // B moves: dropped here, reopened from the file elsewhere.
    let file = b.segment.file().try_clone().unwrap();
    drop(b);
    let mut b2 = PortSegment::open(file).unwrap().end(Side::B).unwrap();
    for i in 1..3u64 {
        assert_eq!(recv_into(&mut b2, &mut buf), Ok((1, i)));
        assert_eq!(buf.as_slice(), &payload(i, 700)[..]);
    }
    b2.tx
        .send(2, 1, b"from the second", WaitMode::default(), None)
        .unwrap();
    for meta in 0..2 {
        assert_eq!(recv_into(&mut a, &mut buf), Ok((2, meta)));
    }
    // Many laps after the move, so the resumed positions wrap around correctly.
    exchange(&mut a, &mut b2, &[3000; 20]);
    exchange(&mut b2, &mut a, &[1500; 20]);
}

#[test]
fn impossible_positions_to_resume_from_are_corrupt() {
    let seg = PortSegment::create(small()).unwrap();
    let mut evil = scribbler(seg.file());
    // B -> A ring (B's producer): head past tail.
    let ba = 2 * PAGE + 4096;
    evil[ba..ba + 8].copy_from_slice(&64u64.to_ne_bytes());
    assert!(seg.end(Side::B).is_err());
    // More published than the ring holds.
    evil[ba..ba + 8].copy_from_slice(&0u64.to_ne_bytes());
    evil[ba + 128..ba + 136].copy_from_slice(&8192u64.to_ne_bytes());
    assert!(seg.end(Side::B).is_err());
    // A position no ring reaches (A's consumer of that ring).
    evil[ba..ba + 8].copy_from_slice(&u64::MAX.to_ne_bytes());
    assert!(seg.end(Side::A).is_err());
    // Restored, both ends open.
    evil[ba..ba + 8].copy_from_slice(&0u64.to_ne_bytes());
    evil[ba + 128..ba + 136].copy_from_slice(&0u64.to_ne_bytes());
    assert!(seg.end(Side::A).is_ok() && seg.end(Side::B).is_ok());
}
