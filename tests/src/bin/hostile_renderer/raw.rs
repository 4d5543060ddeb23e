//! The segment mapped a second time, for writes the transport would never make: ring
//! positions, frame headers, slot words, the segment header. Every access is atomic (main
//! reads and writes the same memory concurrently).

use electrode_shm::Layout;
use electrode_tests::hostile_kit::{ring, slot};
use memmap2::MmapMut;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

/// The segment mapped a second time, for writes the transport would never make.
pub(crate) struct Raw {
    pub(crate) map: MmapMut,
    pub(crate) layout: Layout,
}

impl Raw {
    pub(crate) fn check(&self, off: usize, n: usize, align: usize) {
        assert!(
            off.is_multiple_of(align) && off + n <= self.map.len(),
            "raw access {off}+{n} outside the segment"
        );
    }

    pub(crate) fn u64_at(&self, off: usize) -> &AtomicU64 {
        self.check(off, 8, 8);
        // SAFETY: in bounds and 8-aligned (checked) inside a live shared mapping; every bit
        // pattern is a valid u64 and all access from this process is atomic.
        unsafe { &*self.map.as_ptr().add(off).cast::<AtomicU64>() }
    }

    pub(crate) fn u32_at(&self, off: usize) -> &AtomicU32 {
        self.check(off, 4, 4);
        // SAFETY: as in `u64_at`, 4-aligned.
        unsafe { &*self.map.as_ptr().add(off).cast::<AtomicU32>() }
    }

    pub(crate) fn u8_at(&self, off: usize) -> &AtomicU8 {
        self.check(off, 1, 1);
        // SAFETY: as in `u64_at`; a byte is always aligned.
        unsafe { &*self.map.as_ptr().add(off).cast::<AtomicU8>() }
    }

    pub(crate) fn write(&self, off: usize, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            self.u8_at(off + i).store(*b, Ordering::Relaxed);
        }
    }

    pub(crate) fn read(&self, off: usize, n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| self.u8_at(off + i).load(Ordering::Relaxed))
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn cap(&self) -> u64 {
        self.layout.config.r2m_capacity as u64
    }

    /// Main's consumer position in the renderer-to-main ring.
    pub(crate) fn head(&self) -> u64 {
        self.u64_at(self.layout.r2m + ring::HEAD)
            .load(Ordering::Acquire)
    }

    /// Our published producer position.
    pub(crate) fn tail(&self) -> u64 {
        self.u64_at(self.layout.r2m + ring::TAIL)
            .load(Ordering::Acquire)
    }

    pub(crate) fn set_tail(&self, t: u64) {
        self.u64_at(self.layout.r2m + ring::TAIL)
            .store(t, Ordering::Release);
    }

    /// Offset in the segment of ring position `pos` (renderer-to-main data).
    pub(crate) fn data_off(&self, pos: u64) -> usize {
        self.layout.r2m + ring::DATA + (pos % self.cap()) as usize
    }

    /// Write a frame header and payload at the published tail, then publish `advance` bytes.
    pub(crate) fn push(&self, header: [u8; 16], payload: &[u8], advance: u64) {
        let t = self.tail();
        let off = self.data_off(t);
        let room = self.cap() as usize - (t % self.cap()) as usize;
        self.write(off, &header);
        let n = payload.len().min(room.saturating_sub(16));
        self.write(off + 16, &payload[..n]);
        self.set_tail(t + advance);
    }

    /// Slot `i`'s claim word (the one main compare-and-swaps before it writes a reply).
    pub(crate) fn slot_state(&self, i: u32) -> &AtomicU32 {
        self.u32_at(self.layout.slot_headers + i as usize * slot::HEADER + slot::CLAIM)
    }

    pub(crate) fn slot_payload_off(&self, i: u32) -> usize {
        self.layout.slot_payloads + i as usize * self.layout.slot_stride
    }
}
