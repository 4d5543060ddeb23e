//! Fuzz main's ring consumer: a hostile renderer writes anything into the renderer-to-main
//! ring (frame headers, payloads, its `tail` position) while main takes messages out with
//! `Receiver::try_recv` and decodes them. Nothing may panic, hang or read outside the ring;
//! corruption must come back as `Corrupt`.
//!
//! The input is a script of operations on a fresh 4 KiB ring (a real memfd segment, mapped a
//! second time for the renderer's writes):
//!
//! - `0x00 | 0x80`: publish: `tail += 16 * n` (next byte `n`); with bit 7 set, store the next
//!   eight bytes as `tail` instead (a lie);
//! - `0x01`: write: offset (two bytes, within the ring), length (one byte), then the bytes;
//! - `0x02`, `0x03`: main takes one message (at most 64 times), and decodes it as the
//!   dispatcher does.
#![no_main]

use electrode_shm::{AlignedBuf, Liveness, Segment, SegmentConfig};
use libfuzzer_sys::fuzz_target;
use memmap2::MmapMut;
use std::sync::atomic::{AtomicU64, Ordering};

const CONFIG: SegmentConfig = SegmentConfig {
    r2m_capacity: 4096,
    m2r_capacity: 4096,
    slot_count: 1,
    slot_size: 16,
};
/// Offsets in a ring's page: the producer position, and the data one page later.
const TAIL: usize = 128;
const DATA: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let seg = Segment::create(CONFIG).expect("create a segment");
    let layout = *seg.layout();
    // SAFETY: a second shared mapping of a memfd this process owns; the consumer reads its
    // own mapping of the same pages on this thread only, between our writes.
    let mut map = unsafe { MmapMut::map_mut(seg.file()) }.expect("map it again");
    let base = map.as_mut_ptr();
    let main = seg.into_main(Liveness::new());
    let mut rx = main.rx;
    let tail_at = layout.r2m + TAIL;
    let data_at = layout.r2m + DATA;
    let cap = CONFIG.r2m_capacity;
    assert!(tail_at.is_multiple_of(8) && data_at + cap <= map.len());
    // SAFETY: in bounds and 8-aligned (asserted) in a mapping that outlives this reference;
    // the consumer only loads the word atomically.
    let tail = unsafe { &*base.add(tail_at).cast::<AtomicU64>() };
    let mut published = 0u64;
    let mut buf = AlignedBuf::new();
    let (mut i, mut takes) = (0usize, 0);
    while i < data.len() && takes < 64 {
        let op = data[i];
        i += 1;
        match op & 0x7f {
            0 => {
                if op & 0x80 != 0 {
                    let Some(b) = data.get(i..i + 8) else { break };
                    i += 8;
                    published = u64::from_le_bytes(b.try_into().unwrap());
                } else {
                    let Some(&n) = data.get(i) else { break };
                    i += 1;
                    published = published.wrapping_add(16 * u64::from(n));
                }
                tail.store(published, Ordering::Release);
            }
            1 => {
                let Some(h) = data.get(i..i + 3) else { break };
                i += 3;
                let off = usize::from(u16::from_le_bytes([h[0], h[1]])) % cap;
                let len = usize::from(h[2]).min(cap - off).min(data.len() - i);
                // SAFETY: `off + len <= cap`, so the range lies in the ring's data, inside our
                // mapping; nothing holds a reference to those bytes (main copies out of its
                // own mapping, on this thread, only inside `try_recv`).
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        data.as_ptr().add(i),
                        base.add(data_at + off),
                        len,
                    )
                };
                i += len;
            }
            2 | 3 => {
                takes += 1;
                match rx.try_recv() {
                    Ok(Some(msg)) => {
                        let tag = msg.tag();
                        msg.copy_into(&mut buf);
                        let _ = electrode::fuzzing::decode_message(tag, buf.as_slice());
                    }
                    Ok(None) => {}
                    // Main disconnects the renderer here: the ring is not read again.
                    Err(_) => break,
                }
            }
            _ => {}
        }
    }
});
