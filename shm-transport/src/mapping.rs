//! [`Mapping`]: one shared-memory file mapped in two parts, a populated front (headers, rings,
//! slots) and a lazily faulted tail (the bulk areas). Segments and port segments both map
//! their files this way.

use memmap2::{MmapOptions, MmapRaw};
use std::fs::File;
use std::io;

/// The two mappings of one file, shared (through an `Arc`) by every endpoint made from them.
pub(crate) struct Mapping {
    front: MmapRaw,
    bulk: MmapRaw,
}

impl Mapping {
    /// Map `file`, whose size was checked to be `total`: bytes `0..front` populated, the rest
    /// (`front..total`, page aligned, non-empty) faulted in on use.
    pub(crate) fn new(file: &File, front: usize, total: usize) -> io::Result<Mapping> {
        // Populated (MAP_POPULATE): every page is allocated and mapped now, not on first touch
        // in the middle of the first lap through the rings, where each fault would add
        // microseconds to one message (and a renderer's first ~10,000 invokes would carry
        // them). The bulk areas are not: populating them would make every mapping cost their
        // full size in memory whether or not a large message is ever sent.
        let head = MmapOptions::new().len(front).populate().map_raw(file)?;
        let bulk = MmapOptions::new()
            .offset(front as u64)
            .len(total - front)
            .map_raw(file)?;
        Ok(Mapping { front: head, bulk })
    }

    /// The start of the populated front.
    pub(crate) fn ptr(&self) -> *mut u8 {
        self.front.as_mut_ptr()
    }

    /// The start of the bulk part (file offset `front`).
    pub(crate) fn bulk_ptr(&self) -> *mut u8 {
        self.bulk.as_mut_ptr()
    }
}
