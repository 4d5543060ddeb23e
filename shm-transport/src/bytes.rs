//! [`Bytes`]: a range of shared memory that the ring and slot protocols read and write, and
//! the loom facade for it.
//!
//! Outside loom it is a raw pointer and a length into a mapping. Under loom it is a buffer of
//! loom `UnsafeCell`s, so a model in which a reader touches bytes the writer has not published
//! (a missing Acquire/Release) fails as a causality violation.
//!
//! Besides copies in and out, the protocols hand out bytes in place, through two types that
//! look the same to them in both builds:
//!
//! - [`Lease`]: a range the caller holds exclusively (a ring reservation, a claimed reply
//!   slot), as `&mut [u8]`. Outside loom it is the mapped bytes themselves; under loom a
//!   private staging buffer that [`Lease::finish`] writes into the cells (before the
//!   publishing Release, so the model still checks the publication).
//! - [`InPlace`]: where a shared slice over published bytes is kept while it is read
//!   ([`Bytes::slice`]). Outside loom it is nothing and the slice is the mapped bytes; under
//!   loom it holds a copy read once through the cells.
//!
//! [`Bytes::heap`] allocates a region on the heap instead of in a mapping (loom models,
//! in-process tables).

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

        /// A shared slice over `off..off+n`, kept in `keep` (nothing, outside loom).
        ///
        /// # Safety
        /// As [`Bytes::read`], and the bytes must not change while the slice lives (true when
        /// the writer is trusted and the protocol has handed the range to the reader).
        #[inline]
        pub(crate) unsafe fn slice<'a>(
            &'a self,
            off: usize,
            n: usize,
            keep: &'a InPlace,
        ) -> &'a [u8] {
            let _ = keep;
            self.check(off, n);
            // SAFETY: in bounds of a live mapping; the caller guarantees no concurrent writer.
            unsafe { std::slice::from_raw_parts(self.ptr.add(off), n) }
        }

        /// The range `off..off+len`, held exclusively by the caller.
        ///
        /// # Safety
        /// As [`Bytes::write`] for the whole range, for as long as the lease lives (the
        /// protocol gives the caller these bytes and nobody else holds a lease or slice over
        /// them), and the region stays mapped that long.
        #[inline]
        pub(crate) unsafe fn lease(&self, off: usize, len: usize) -> Lease {
            self.check(off, len);
            Lease {
                // `wrapping_add` keeps the computation free of UB; it is in bounds (checked).
                ptr: self.ptr.wrapping_add(off),
                len,
            }
        }

        /// `len` zeroed bytes on the heap, 64-byte aligned, and what keeps them allocated.
        pub(crate) fn heap(len: usize) -> (Bytes, std::sync::Arc<dyn std::any::Any + Send + Sync>) {
            let block = HeapBlock::new(len);
            // SAFETY: the block is `len` bytes, readable and writable, and lives as long as the
            // returned owner, which its users keep with every copy of the `Bytes`.
            let bytes = unsafe { Bytes::new(block.ptr, len) };
            (bytes, std::sync::Arc::new(block))
        }
    }

    /// Bytes a protocol holds exclusively (see the module docs).
    #[derive(Debug)]
    pub(crate) struct Lease {
        ptr: *mut u8,
        len: usize,
    }

    // SAFETY: a lease is an exclusive range of a mapping (by its constructor's contract); moving
    // it to another thread moves that exclusivity with it.
    unsafe impl Send for Lease {}
    // SAFETY: only `&mut self` methods touch the bytes.
    unsafe impl Sync for Lease {}

    impl Lease {
        /// The leased bytes.
        #[inline]
        pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
            // SAFETY: the range is in bounds of a live mapping and held by this lease alone
            // (constructor contract); `&mut self` makes the slice unique.
            unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
        }

        /// Copy `src` in at `off`.
        ///
        /// # Panics
        /// If `off + src.len()` exceeds the lease.
        #[inline]
        pub(crate) fn write(&mut self, off: usize, src: &[u8]) {
            self.as_mut_slice()[off..off + src.len()].copy_from_slice(src);
        }

        /// Done writing; the first `len` bytes are about to be published (nothing to do here:
        /// they are in the mapping already).
        #[inline]
        pub(crate) fn finish(self, len: usize) {
            debug_assert!(len <= self.len);
        }
    }

    /// Where an in-place slice is kept: nothing, outside loom.
    #[derive(Debug)]
    pub(crate) struct InPlace;

    impl InPlace {
        /// Nowhere yet.
        pub(crate) const fn new() -> Self {
            InPlace
        }
    }

    /// A heap region standing in for a mapping.
    struct HeapBlock {
        ptr: *mut u8,
        layout: std::alloc::Layout,
    }

    // SAFETY: the block is only ever accessed through `Bytes`, under the protocols' rules.
    unsafe impl Send for HeapBlock {}
    // SAFETY: as above.
    unsafe impl Sync for HeapBlock {}

    impl HeapBlock {
        fn new(len: usize) -> Self {
            let layout =
                std::alloc::Layout::from_size_align(len.max(1), 64).expect("heap region size");
            // SAFETY: the layout has a non-zero size.
            let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
            if ptr.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            HeapBlock { ptr, layout }
        }
    }

    impl Drop for HeapBlock {
        fn drop(&mut self) {
            // SAFETY: allocated in `new` with this layout, freed once.
            unsafe { std::alloc::dealloc(self.ptr, self.layout) }
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
        /// `len` zeroed, tracked bytes (they keep themselves alive).
        pub(crate) fn heap(len: usize) -> (Bytes, Arc<dyn std::any::Any + Send + Sync>) {
            let bytes = Bytes {
                cells: (0..len).map(|_| UnsafeCell::new(0)).collect(),
            };
            (bytes, Arc::new(()))
        }

        /// As the real `Bytes::write`.
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

        /// As the real `Bytes::read`.
        pub(crate) unsafe fn read(&self, off: usize, dst: &mut [u8]) {
            for (i, b) in dst.iter_mut().enumerate() {
                // SAFETY: loom checks that this read does not race a write.
                *b = self.cells[off + i].with(|p| unsafe { *p });
            }
        }

        /// As the real `Bytes::slice`: the bytes are read through the cells once, into `keep`.
        pub(crate) unsafe fn slice<'a>(
            &'a self,
            off: usize,
            n: usize,
            keep: &'a InPlace,
        ) -> &'a [u8] {
            keep.0.get_or_init(|| {
                let mut v = vec![0u8; n];
                // SAFETY: the caller's contract, as for the real `slice`.
                unsafe { self.read(off, &mut v) };
                v
            })
        }

        /// As the real `Bytes::lease`: writes are staged and reach the cells in `finish`.
        pub(crate) unsafe fn lease(&self, off: usize, len: usize) -> Lease {
            assert!(
                off + len <= self.cells.len(),
                "shared-memory access out of bounds"
            );
            Lease {
                bytes: self.clone(),
                off,
                staged: vec![0; len],
            }
        }
    }

    /// As the real `Lease`, staged in a private buffer.
    pub(crate) struct Lease {
        bytes: Bytes,
        off: usize,
        staged: Vec<u8>,
    }

    impl Lease {
        /// The staging buffer.
        pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
            &mut self.staged
        }

        /// Copy `src` into the staging buffer at `off`.
        pub(crate) fn write(&mut self, off: usize, src: &[u8]) {
            self.staged[off..off + src.len()].copy_from_slice(src);
        }

        /// Write the first `len` staged bytes into the cells (the model checks these writes).
        pub(crate) fn finish(self, len: usize) {
            // SAFETY: the lease's contract gives the holder these bytes until they are
            // published, which comes after this.
            unsafe { self.bytes.write(self.off, &self.staged[..len]) }
        }
    }

    /// As the real `InPlace`: the copy an in-place slice reads.
    pub(crate) struct InPlace(std::cell::OnceCell<Vec<u8>>);

    impl InPlace {
        /// Nothing read yet.
        pub(crate) const fn new() -> Self {
            InPlace(std::cell::OnceCell::new())
        }
    }
}

pub(crate) use imp::{Bytes, InPlace, Lease};
