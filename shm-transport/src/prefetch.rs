//! Prefetching: ask for a cache line before it is needed, in the exclusive state before writing
//! it, or simply before reading it.
//!
//! A line the peer read last sits in the peer's cache; the first write to it has to take it
//! over (a cross-core "request for ownership", ~60-100 ns here) and whatever comes after the
//! write in program order waits for that. Where the code knows early which lines it will write
//! (a reply slot, as soon as the request is seen), `PREFETCHW` starts the takeover at once, in
//! the background, so it overlaps with other work instead of adding to the round trip.
//!
//! Reads benefit the same way where the code knows which lines it is about to read but reads
//! them through dependent loads (an rkyv archive is read from its root, at the end, back to
//! its data): fetching all of them at once turns several cross-core transfers in a row into
//! one.
//!
//! It is a hint: it never faults, whatever the address, and changes no architectural state.
//! CPUs without it (Intel before Broadwell) execute it as a no-op. Other architectures get a
//! no-op here.

/// Prefetch the cache line holding `ptr` for writing.
#[inline(always)]
pub(crate) fn for_write(ptr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHW only hints the cache; it cannot fault on any address and neither reads
    // nor writes memory architecturally (`readonly`, no stack, flags preserved).
    unsafe {
        std::arch::asm!(
            "prefetchw [{0}]",
            in(reg) ptr,
            options(nostack, preserves_flags, readonly)
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}

/// Prefetch the cache line holding `ptr` for reading.
#[inline(always)]
pub(crate) fn for_read(ptr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 only hints the cache; it cannot fault on any address and neither
    // reads nor writes memory architecturally (`readonly`, no stack, flags preserved).
    unsafe {
        std::arch::asm!(
            "prefetcht0 [{0}]",
            in(reg) ptr,
            options(nostack, preserves_flags, readonly)
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}
