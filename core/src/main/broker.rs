//! The broker: main's table of every channel whose ends crossed a process boundary through
//! main, keyed by the segment's identity (its memfd's device and inode), with a handle on the
//! segment (so main can mark a side closed) and who holds each side. When a renderer is gone,
//! every side it held is marked closed, so the other end's `close` fires at once; a record is
//! freed once either side is closed (the channel is dead: its other side sees the close). A renderer may hold at most
//! [`MAX_PORTS_PER_RENDERER`] sides.

use super::link::Conn;
use crate::port::local::{self, Identity};
use electrode_shm::{PortSegment, Side};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};

/// Most port sides one renderer may hold through main, by default
/// ([`MainBuilder::max_ports_per_renderer`](crate::MainBuilder::max_ports_per_renderer)).
pub const MAX_PORTS_PER_RENDERER: usize = 1024;

/// Who holds one side of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Holder {
    /// Main itself.
    Main,
    /// The renderer with this id.
    Renderer(u32),
    /// Nobody: closed (or its holder is gone).
    Closed,
}

struct Record {
    segment: PortSegment,
    holders: [Holder; 2],
}

/// The table.
pub(crate) struct Broker {
    /// Sides one renderer may hold.
    limit: usize,
    records: HashMap<Identity, Record>,
    /// The connections of this `Main`, to pass ends to.
    conns: HashMap<u32, Weak<Conn>>,
}

/// Every live `Main`'s broker (a port main holds may need any of them to find its peer).
fn brokers() -> &'static Mutex<Vec<Weak<Mutex<Broker>>>> {
    static ALL: OnceLock<Mutex<Vec<Weak<Mutex<Broker>>>>> = OnceLock::new();
    ALL.get_or_init(Default::default)
}

/// A new broker for one `Main`, letting each renderer hold `limit` sides.
pub(crate) fn new_shared(limit: usize) -> Arc<Mutex<Broker>> {
    let b = Arc::new(Mutex::new(Broker::new(limit)));
    let mut all = brokers().lock();
    all.retain(|w| w.strong_count() > 0);
    all.push(Arc::downgrade(&b));
    b
}

/// The connection `id` of the `Main` whose broker is `b`.
pub(crate) fn conn_of(b: &Mutex<Broker>, id: u32) -> Option<Arc<Conn>> {
    b.lock().conns.get(&id).and_then(Weak::upgrade)
}

/// The connection of the renderer holding `side` of channel `id`, in any `Main` of this
/// process, with its id.
pub(crate) fn find_holder(id: Identity, side: Side) -> Option<(Arc<Conn>, u32)> {
    let all: Vec<_> = brokers().lock().iter().filter_map(Weak::upgrade).collect();
    for b in all {
        let b = b.lock();
        if let Some(Holder::Renderer(r)) = b.records.get(&id).map(|rec| rec.holders[side as usize])
        {
            if let Some(c) = b.conns.get(&r).and_then(Weak::upgrade) {
                return Some((c, r));
            }
        }
    }
    None
}

/// Why the broker refused a move.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The renderer would hold more than [`MAX_PORTS_PER_RENDERER`] sides.
    TooMany,
    /// The renderer does not hold the side it claims to send through.
    NotHeld,
}

impl Broker {
    pub(crate) fn new(limit: usize) -> Broker {
        Broker {
            limit,
            records: HashMap::new(),
            conns: HashMap::new(),
        }
    }

    /// A renderer connected.
    pub(crate) fn register(&mut self, conn: &Arc<Conn>) {
        self.conns.insert(conn.id, Arc::downgrade(conn));
    }
    /// Sides `renderer` holds of channels still open at both ends (a channel one end of
    /// which closed is dead: it does not count).
    fn held_by(&self, renderer: u32) -> usize {
        self.records
            .values()
            .filter(|r| !r.segment.is_closed(Side::A) && !r.segment.is_closed(Side::B))
            .map(|r| {
                r.holders
                    .iter()
                    .filter(|h| **h == Holder::Renderer(renderer))
                    .count()
            })
            .sum()
    }

    /// `side` of `segment` now belongs to `to`; `from` is whoever held it (and, for a channel
    /// new to the table, holds the other side unless this process does).
    pub(crate) fn moved(
        &mut self,
        segment: &PortSegment,
        side: Side,
        from: Holder,
        to: Holder,
    ) -> Result<(), Refused> {
        self.sweep();
        if let Holder::Renderer(r) = to {
            if self.held_by(r) >= self.limit {
                return Err(Refused::TooMany);
            }
        }
        let id = local::identity(segment);
        let other = side.other();
        let rec = self.records.entry(id).or_insert_with(|| {
            let mut holders = [Holder::Closed; 2];
            holders[other as usize] = if local::holds(id, other as usize) {
                Holder::Main
            } else {
                from
            };
            Record {
                segment: segment.clone(),
                holders,
            }
        });
        rec.holders[side as usize] = to;
        Ok(())
    }

    /// Who holds the peer of `side` of channel `id`, if `renderer` holds `side` itself.
    pub(crate) fn peer_of(
        &mut self,
        id: Identity,
        side: Side,
        renderer: u32,
    ) -> Result<Holder, Refused> {
        let rec = self.records.get(&id).ok_or(Refused::NotHeld)?;
        if rec.holders[side as usize] != Holder::Renderer(renderer) {
            return Err(Refused::NotHeld);
        }
        Ok(rec.holders[side.other() as usize])
    }

    /// `renderer` closed its `side` of `id`.
    pub(crate) fn closed(&mut self, id: Identity, side: Side, renderer: u32) {
        if let Some(rec) = self.records.get_mut(&id) {
            if rec.holders[side as usize] == Holder::Renderer(renderer) {
                rec.holders[side as usize] = Holder::Closed;
                rec.segment.mark_closed(side);
            }
        }
        self.sweep();
    }

    /// `renderer` is gone: every side it held is marked closed (the other ends' `close`
    /// fires), and its records freed once both sides are closed.
    pub(crate) fn gone(&mut self, renderer: u32) {
        self.conns.remove(&renderer);
        for rec in self.records.values_mut() {
            for side in [Side::A, Side::B] {
                if rec.holders[side as usize] == Holder::Renderer(renderer) {
                    rec.holders[side as usize] = Holder::Closed;
                    rec.segment.mark_closed(side);
                }
            }
        }
        self.sweep();
    }

    /// Free the records of dead channels: once either side is closed, nobody is left to tell
    /// when the other side's holder goes (that side already sees the close).
    pub(crate) fn sweep(&mut self) {
        self.records.retain(|_, r| {
            let open = |s: Side| r.holders[s as usize] != Holder::Closed && !r.segment.is_closed(s);
            open(Side::A) && open(Side::B)
        });
    }

    /// Channels in the table.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use electrode_shm::PortConfig;

    #[test]
    fn sides_are_tracked_bounded_and_freed() {
        // A small bound: every segment is an open fd (an ordinary user's limit may be 1024).
        const BOUND: usize = 16;
        let mut b = Broker::new(BOUND);
        let seg = PortSegment::create(PortConfig::default()).unwrap();
        let id = local::identity(&seg);
        b.moved(&seg, Side::B, Holder::Renderer(1), Holder::Main)
            .unwrap();
        assert_eq!(b.peer_of(id, Side::A, 1), Ok(Holder::Main));
        assert_eq!(b.peer_of(id, Side::A, 2), Err(Refused::NotHeld));
        b.moved(&seg, Side::B, Holder::Main, Holder::Renderer(2))
            .unwrap();
        assert_eq!(b.peer_of(id, Side::B, 2), Ok(Holder::Renderer(1)));
        b.gone(2);
        assert!(seg.is_closed(Side::B) && !seg.is_closed(Side::A));
        // Dead (one side closed): freed.
        assert_eq!(b.len(), 0);
        // Bounded per renderer.
        let segs: Vec<PortSegment> = (0..BOUND)
            .map(|_| PortSegment::create(PortConfig { capacity: 4096 }).unwrap())
            .collect();
        for s in &segs {
            b.moved(s, Side::A, Holder::Main, Holder::Renderer(3))
                .unwrap();
        }
        let one_more = PortSegment::create(PortConfig { capacity: 4096 }).unwrap();
        assert_eq!(
            b.moved(&one_more, Side::A, Holder::Main, Holder::Renderer(3)),
            Err(Refused::TooMany)
        );
        // A channel closed by main's side frees the renderer's place.
        segs[0].mark_closed(Side::B);
        b.moved(&one_more, Side::A, Holder::Main, Holder::Renderer(3))
            .unwrap();
        b.gone(3);
        assert_eq!(b.len(), 0);
    }
}
