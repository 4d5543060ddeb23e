//! [`Bytes`]: a range of shared memory that the ring and slot protocols read and write.
//!
//! Outside loom it is a raw pointer and a length into a mapping. Under loom it is a buffer of
//! loom `UnsafeCell`s, so a model in which a reader touches bytes the writer has not published
//! (a missing Acquire/Release) fails as a causality violation.

#[cfg(not(loom))]
mod imp {
    /// A raw, bounds-checked window into mapped memory.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Bytes {
        ptr: *mut u8,
        len: usize,
    }

    // SAFETY: `Bytes` is an address range in a shared mapping; who may touch which bytes when is
    // governed by the ring and slot protocols, not by the type.
    unsafe impl Send for Bytes {}
    // SAFETY: as above.
    unsafe impl Sync for Bytes {}

    impl Bytes {
        /// # Safety
        /// `ptr..ptr+len` must stay mapped, readable and writable while any copy of this value
        /// is used.
        pub(crate) unsafe fn new(ptr: *mut u8, len: usize) -> Self {
            Bytes { ptr, len }
        }

        #[inline]
        fn check(&self, off: usize, n: usize) {
            assert!(
                off.checked_add(n).is_some_and(|end| end <= self.len),
                "shared-memory access out of bounds"
            );
        }

        /// Copy `src` in at `off`.
        ///
        /// # Safety
        /// The protocol must give the caller these bytes now (no honest peer reads them).
        #[inline]
        pub(crate) unsafe fn write(&self, off: usize, src: &[u8]) {
            self.check(off, src.len());
            // SAFETY: in bounds (checked above) of a live mapping; the caller owns the range.
            unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.add(off), src.len()) }
        }

        /// Copy `dst.len()` bytes out from `off`.
        ///
        /// # Safety
        /// The protocol must have published these bytes to the caller. A hostile peer may still
        /// change them concurrently: callers copy out once and validate the copy.
        #[inline]
        pub(crate) unsafe fn read(&self, off: usize, dst: &mut [u8]) {
            self.check(off, dst.len());
            // SAFETY: in bounds of a live mapping; published to the caller.
            unsafe { std::ptr::copy_nonoverlapping(self.ptr.add(off), dst.as_mut_ptr(), dst.len()) }
        }

        /// Ask the CPU to fetch the cache lines of `off..off+n` for writing (`PREFETCHW` on
        /// x86-64; nothing elsewhere), so that writes there later do not wait for another core
        /// to give the lines up. Out-of-bounds parts are ignored.
        #[inline]
        pub(crate) fn prefetch_write(&self, off: usize, n: usize) {
            self.each_line(off, n, crate::prefetch::for_write);
        }

        /// Ask the CPU to fetch the cache lines of `off..off+n` for reading, all at once.
        /// Out-of-bounds parts are ignored.
        #[inline]
        pub(crate) fn prefetch_read(&self, off: usize, n: usize) {
            self.each_line(off, n, crate::prefetch::for_read);
        }

        /// `hint` at an address in every 64-byte cache line of `off..off+n` (clamped to the
        /// region).
        #[inline]
        fn each_line(&self, off: usize, n: usize, hint: impl Fn(*const u8)) {
            const LINE: usize = 64;
            let end = off.saturating_add(n).min(self.len);
            let mut at = off;
            while at < end {
                // `wrapping_add` keeps the address computation free of UB; it is in bounds.
                hint(self.ptr.wrapping_add(at));
                at += LINE - (at % LINE);
            }
        }

        /// A shared slice over `off..off+n`.
        ///
        /// # Safety
        /// As [`Bytes::read`], and the bytes must not change while the slice lives (true when
        /// the writer is trusted and the protocol has handed the range to the reader).
        #[inline]
        pub(crate) unsafe fn slice(&self, off: usize, n: usize) -> &[u8] {
            self.check(off, n);
            // SAFETY: in bounds of a live mapping; the caller guarantees no concurrent writer.
            unsafe { std::slice::from_raw_parts(self.ptr.add(off), n) }
        }

        /// A mutable slice over `off..off+n`.
        ///
        /// # Safety
        /// As [`Bytes::write`], and no other slice over the range may exist.
        #[allow(clippy::mut_from_ref)]
        #[inline]
        pub(crate) unsafe fn slice_mut(&self, off: usize, n: usize) -> &mut [u8] {
            self.check(off, n);
            // SAFETY: in bounds of a live mapping; the caller owns the range exclusively.
            unsafe { std::slice::from_raw_parts_mut(self.ptr.add(off), n) }
        }
    }
}

#[cfg(loom)]
mod imp {
    use loom::cell::UnsafeCell;
    use std::sync::Arc;

    /// Loom stand-in: every byte is a tracked cell.
    #[derive(Clone)]
    pub(crate) struct Bytes {
        cells: Arc<[UnsafeCell<u8>]>,
    }

    impl Bytes {
        pub(crate) fn new_loom(len: usize) -> Self {
            Bytes {
                cells: (0..len).map(|_| UnsafeCell::new(0)).collect(),
            }
        }

        pub(crate) unsafe fn write(&self, off: usize, src: &[u8]) {
            for (i, b) in src.iter().enumerate() {
                // SAFETY: loom checks that this write does not race a read.
                self.cells[off + i].with_mut(|p| unsafe { *p = *b });
            }
        }

        /// A hint only: nothing to model.
        pub(crate) fn prefetch_write(&self, _off: usize, _n: usize) {}

        /// A hint only: nothing to model.
        pub(crate) fn prefetch_read(&self, _off: usize, _n: usize) {}

        pub(crate) unsafe fn read(&self, off: usize, dst: &mut [u8]) {
            for (i, b) in dst.iter_mut().enumerate() {
                // SAFETY: loom checks that this read does not race a write.
                *b = self.cells[off + i].with(|p| unsafe { *p });
            }
        }
    }
}

pub(crate) use imp::Bytes;
