//! Which port sides this process holds, by segment identity (the memfd's device and inode): a
//! port message whose receiving end is held here moves the ports it carries as they are; one
//! whose receiving end is elsewhere sends them through main ([`route`](super::route)).

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::OnceLock;

/// A segment's identity: (device, inode) of its memfd.
pub(crate) type Identity = (u64, u64);

/// The identity of `segment`.
pub(crate) fn identity(segment: &electrode_shm::PortSegment) -> Identity {
    use std::os::unix::fs::MetadataExt;
    match segment.file().metadata() {
        Ok(m) => (m.dev(), m.ino()),
        // fstat of an open memfd does not fail; if it did, a unique identity keeps the
        // channel apart from every other one (its ends then never move locally).
        Err(_) => {
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
            (
                u64::MAX,
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            )
        }
    }
}

fn table() -> &'static Mutex<HashMap<Identity, [u32; 2]>> {
    static HELD: OnceLock<Mutex<HashMap<Identity, [u32; 2]>>> = OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// This process now holds `side` (0 or 1) of `id`.
pub(crate) fn hold(id: Identity, side: usize) {
    table().lock().entry(id).or_default()[side] += 1;
}

/// This process no longer holds `side` of `id` (closed or moved).
pub(crate) fn release(id: Identity, side: usize) {
    let mut t = table().lock();
    if let Some(n) = t.get_mut(&id) {
        n[side] = n[side].saturating_sub(1);
        if n == &[0, 0] {
            t.remove(&id);
        }
    }
}

/// Whether this process holds `side` of `id`.
pub(crate) fn holds(id: Identity, side: usize) -> bool {
    table().lock().get(&id).is_some_and(|n| n[side] > 0)
}
