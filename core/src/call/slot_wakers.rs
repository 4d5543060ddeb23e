//! [`SlotWakers`]: the wakers of a renderer's async invokes parked on their response slots,
//! by slot index and generation. A future registers its waker *before* it announces on the
//! slot that it sleeps; main, publishing into a slot so announced, sends a `SlotReady`
//! message, and the receive thread wakes the waker registered for that slot and generation.
//! When the connection ends, [`close`](SlotWakers::close) wakes every one (each then finds its
//! slot failed or its peer gone) and refuses later registrations.

use electrode_shm::Ticket;
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use std::task::Waker;

struct Table {
    by_slot: FxHashMap<u32, (u32, Waker)>,
    closed: bool,
}

/// Parked async invokes, by response slot.
pub(crate) struct SlotWakers {
    table: Mutex<Table>,
}

impl Default for SlotWakers {
    fn default() -> Self {
        SlotWakers {
            table: Mutex::new(Table {
                by_slot: FxHashMap::default(),
                closed: false,
            }),
        }
    }
}

impl SlotWakers {
    /// Register (or refresh) the waker of the request `ticket`. `false` once closed: nobody
    /// will wake it, the caller must not wait.
    pub(crate) fn register(&self, ticket: Ticket, waker: &Waker) -> bool {
        let mut t = self.table.lock();
        if t.closed {
            return false;
        }
        match t.by_slot.get_mut(&ticket.index) {
            Some((g, w)) if *g == ticket.generation => {
                if !w.will_wake(waker) {
                    *w = waker.clone();
                }
            }
            _ => {
                t.by_slot
                    .insert(ticket.index, (ticket.generation, waker.clone()));
            }
        }
        true
    }

    /// Forget the waker of `ticket` (its future finished or was dropped).
    pub(crate) fn remove(&self, ticket: Ticket) {
        let mut t = self.table.lock();
        if t.by_slot
            .get(&ticket.index)
            .is_some_and(|(g, _)| *g == ticket.generation)
        {
            t.by_slot.remove(&ticket.index);
        }
    }

    /// The reply in slot `index`, generation `generation`, is published: wake its future, if
    /// one is registered (a late or made-up notice finds none and does nothing).
    pub(crate) fn wake(&self, index: u32, generation: u32) {
        let waker = {
            let mut t = self.table.lock();
            match t.by_slot.get(&index) {
                Some((g, _)) if *g == generation => t.by_slot.remove(&index).map(|(_, w)| w),
                _ => None,
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The connection ended: wake every parked future and refuse later registrations.
    pub(crate) fn close(&self) {
        let wakers: Vec<Waker> = {
            let mut t = self.table.lock();
            t.closed = true;
            t.by_slot.drain().map(|(_, (_, w))| w).collect()
        };
        for w in wakers {
            w.wake();
        }
    }

    /// Wakers registered now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.lock().by_slot.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn wakes_only_the_named_generation_and_all_on_close() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let w = SlotWakers::default();
        let t = |index, generation| Ticket { index, generation };
        assert!(w.register(t(1, 5), &waker));
        assert!(w.register(t(1, 5), &waker), "refreshing is fine");
        w.wake(1, 4);
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            0,
            "a stale notice wakes nobody"
        );
        w.wake(1, 5);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        w.wake(1, 5);
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken once");
        assert!(w.register(t(2, 1), &waker));
        assert!(w.register(t(3, 1), &waker));
        w.remove(t(3, 1));
        w.remove(t(2, 0));
        assert_eq!(w.len(), 1, "a stale remove leaves the newer waker");
        w.close();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert!(!w.register(t(4, 1), &waker), "closed");
        assert_eq!(w.len(), 0);
    }
}
