//! The dispatcher thread: reads every renderer's ring, has each message decoded and acted on
//! ([`handle`]), flushes queued output, and notices renderers that went away ([`finish`]).
//!
//! It never blocks on a renderer: reads are non-blocking, output that does not fit waits in the
//! renderer's [`Outbox`](super::outbox::Outbox). When nothing is ready it spins per the
//! configured [`WaitMode`](electrode_shm::WaitMode), then parks on all rings at once
//! (`futex_waitv`).
//!
//! # Scheduling: fair to every renderer
//!
//! The loop serves the renderers in rounds, one turn each, in a fixed order. A turn takes
//! messages from that renderer's ring in ring order and ends when the ring is empty, after
//! [`BATCH`] messages, or, while *another* renderer is waiting for answers, when the turn's
//! work budget of 1 µs is spent ([`turn`]): the time its messages took to decode and handle,
//! listeners and handlers included. A renderer counts as waiting for answers ("asking") while
//! one of its last 64 turns took a request (`sendSync`, `invoke`, or its answer to main's
//! `WebContents::invoke`). So a request arriving while another renderer floods waits for about
//! one budget and the message in progress per renderer ahead of it, not for a batch of the
//! flooder's messages (64 × its listener's time, before). When nobody else is asking (a single
//! renderer, or any number sending one-way traffic), a turn is a batch and the clock is never
//! read: there short turns would only add the cost of switching rings.
//!
//! Order: within one ring nothing is reordered, so the messages of one frame (and all of one
//! renderer's) are handled exactly in the order they were sent, whatever kind they are (`send`,
//! `sendSync`, `invoke`). Between renderers no order exists to keep (Electron's main has none
//! either: each renderer is its own pipe). `tests/tests/ordering_frames.rs` checks both under a
//! flood; `tests/tests/fair_flood.rs` that the other renderer's calls are all answered.

mod finish;
mod handle;
mod handler_cache;
mod listener_cache;
mod turn;

use super::link::Conn;
use super::process::MainShared;
use crate::guard::enter_dispatcher;
use crate::main::gone::GoneReason;
use electrode_shm::{AlignedBuf, Event, Futex, Message, Receiver, SlotTable, Waker};
use handler_cache::HandlerCache;
use listener_cache::ListenerCache;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use turn::{Budget, Turn, TurnEnd, BATCH};

pub(crate) use finish::finish;

/// What the dispatcher counts about its own scheduling (read by tests and diagnostics).
#[derive(Debug, Default)]
pub(crate) struct DispatchStats {
    /// Turns that ended because their work budget was spent.
    pub budget_yields: AtomicU64,
}

/// One renderer as the dispatcher holds it.
pub(crate) struct Serving {
    pub conn: Arc<Conn>,
    /// The renderer's response slots, held here so a reply needs no lock.
    slots: Option<Arc<SlotTable<Futex>>>,
    pub rx: Receiver<Futex>,
    /// Keeps the mapping (and so the wake words we park on) alive.
    pub waker: Waker,
    buf: AlignedBuf,
    out_pending: bool,
    handlers: HandlerCache,
    listeners: ListenerCache,
    /// What one of its messages cost to handle when last measured (ns; 0: not yet).
    cost_ns: u32,
    /// Turns left during which this renderer counts as asking (waiting for answers): set to
    /// [`turn::ASK_MEMORY`] by a turn that took a request, one less after every other turn.
    asking: u8,
}

impl Serving {
    pub(crate) fn new(conn: Arc<Conn>, rx: Receiver<Futex>, waker: Waker) -> Self {
        let slots = conn.link.lock().as_ref().map(|l| l.slots.clone());
        Serving {
            conn,
            slots,
            rx,
            waker,
            buf: AlignedBuf::new(),
            out_pending: false,
            handlers: HandlerCache::default(),
            listeners: ListenerCache::default(),
            cost_ns: 0,
            asking: 0,
        }
    }
}

/// The dispatcher's main loop.
pub(crate) fn run(shared: Arc<MainShared>) {
    enter_dispatcher();
    let mut serving: Vec<Serving> = Vec::new();
    loop {
        if shared.shutdown.load(Ordering::SeqCst) {
            break;
        }
        if shared.has_incoming.load(Ordering::Acquire) {
            let mut incoming = shared.incoming.lock();
            shared.has_incoming.store(false, Ordering::Relaxed);
            serving.extend(incoming.drain(..));
        }
        // Renderers waiting for answers, as of the last turns (kept up to date as turns end).
        let mut askers = serving.iter().filter(|s| s.asking > 0).count();
        let mut worked = false;
        let mut i = 0;
        while i < serving.len() {
            let s = &mut serving[i];
            // Read before draining: whatever the renderer published before it died is drained.
            let was_gone = s.conn.live.is_gone();
            let was_asking = s.asking > 0;
            let budget = Budget::for_turn(askers.saturating_sub(usize::from(was_asking)));
            let (n, end, broken) = drain(&shared, s, budget);
            worked |= n > 0;
            askers = (askers + usize::from(s.asking > 0)).saturating_sub(usize::from(was_asking));
            let flush_failed = s.conn.out_queued.load(Ordering::Acquire) && flush(&s.conn).is_err();
            if broken || flush_failed || s.conn.corrupt.load(Ordering::SeqCst) {
                finish(
                    &shared,
                    serving.swap_remove(i),
                    Some(GoneReason::IntegrityFailure),
                );
                worked = true;
                continue;
            }
            // Gone before this drain, and the drain emptied the ring: nothing more will come.
            // A message still half received (killed mid-write) never completes; drop it.
            if was_gone && end == TurnEnd::Empty {
                finish(&shared, serving.swap_remove(i), None);
                worked = true;
                continue;
            }
            i += 1;
        }
        if worked {
            continue;
        }
        idle(&shared, &mut serving);
    }
    for s in serving.drain(..) {
        finish(&shared, s, None);
    }
}

/// Nothing to do: spin briefly, then park on every ring's wake word and our own.
fn idle(shared: &MainShared, serving: &mut [Serving]) {
    for s in serving.iter_mut() {
        s.out_pending = s.conn.out_queued.load(Ordering::Acquire);
    }
    let serving: &[Serving] = serving;
    // Polled in a tight loop while spinning: plain loads, the likeliest first; a lock only
    // when output is queued.
    let ready = || {
        serving.iter().any(|s| {
            s.rx.consumer_ref().may_have_data()
                || s.conn.live.is_gone()
                || s.conn.corrupt.load(Ordering::Relaxed)
                || (s.conn.out_queued.load(Ordering::Acquire)
                    // Queued since `out_pending` was taken (a `send` from another thread,
                    // whose kick may already be spent): go round, so the next park also
                    // watches this ring's space. Otherwise: has room appeared?
                    && (!s.out_pending || flush(&s.conn).map_or(true, |still| !still)))
        }) || shared.shutdown.load(Ordering::Relaxed)
            || shared.has_incoming.load(Ordering::Acquire)
    };
    if electrode_shm::spin_phase(shared.config.wait_mode, || ready().then_some(())).is_some() {
        return;
    }
    let mut events: Vec<&Event> = Vec::with_capacity(1 + serving.len() * 2);
    events.push(&shared.event);
    for s in serving {
        events.push(s.waker.r2m_data());
        if s.out_pending {
            events.push(s.waker.m2r_space());
        }
    }
    electrode_shm::wait_any(&events, None, ready);
}

/// Move the renderer's queued output into its ring while there is room. Returns whether output
/// still waits; an error when the renderer broke the protocol.
fn flush(conn: &Conn) -> Result<bool, electrode_shm::Corrupt> {
    let mut link = conn.link.lock();
    let Some(l) = link.as_mut() else {
        conn.out_queued.store(false, Ordering::Release);
        return Ok(false);
    };
    let r = l.out.flush();
    conn.out_queued
        .store(l.out.has_pending(), Ordering::Release);
    if let Err(c) = &r {
        conn.violation(&c.to_string(), 1);
    }
    r
}

/// One renderer's turn: take up to [`BATCH`] messages, fewer when `budget`'s work is spent
/// ([`turn`]), noting whether the renderer is asking. Returns how many, why the turn ended, and
/// whether the renderer must be disconnected (then the reason given is `Empty`: nothing more is
/// read from it). Messages are handled in ring order: the order of one frame's messages (and of
/// all the renderer's) is the order it sent them.
fn drain(shared: &MainShared, s: &mut Serving, budget: Budget) -> (usize, TurnEnd, bool) {
    s.asking = s.asking.saturating_sub(1);
    let mut n = 0;
    let mut turn = Turn::new(budget);
    while n < BATCH {
        let msg = match s.rx.try_recv() {
            Ok(Some(m)) => m,
            Ok(None) => return (n, TurnEnd::Empty, false),
            Err(corrupt) => {
                s.conn.violation(&corrupt.to_string(), 1);
                return (n, TurnEnd::Empty, true);
            }
        };
        turn.started(s.cost_ns);
        let tag = msg.tag();
        if turn::is_request(tag) {
            s.asking = turn::ASK_MEMORY;
        }
        n += 1;
        let (bytes, frame) = match msg {
            // The renderer may rewrite the ring at any time: copy once, then validate the copy.
            // The frame goes back to the renderer after the message is handled: releasing
            // costs a fence, which is better paid once the reply is on its way.
            Message::Frame(frame) => {
                s.buf.resize(frame.len());
                frame.copy_to(s.buf.as_mut_slice());
                (s.buf.as_slice(), Some(frame))
            }
            // Reassembled chunks are already a private copy.
            Message::Assembled { bytes, .. } => (bytes, None),
        };
        let peer = handle::Peer {
            conn: &s.conn,
            slots: s.slots.as_deref(),
        };
        let caches = handle::Caches {
            handlers: &mut s.handlers,
            listeners: &mut s.listeners,
        };
        let handled = handle::handle(shared, peer, caches, tag, bytes);
        if let Some(frame) = frame {
            frame.release();
        }
        if let Err(why) = handled {
            if s.conn.violation(&why, shared.config.max_violations) {
                return (n, TurnEnd::Empty, true);
            }
        }
        if turn.spent(n, &mut s.cost_ns) {
            shared
                .dispatch
                .budget_yields
                .fetch_add(1, Ordering::Relaxed);
            return (n, TurnEnd::Budget, false);
        }
    }
    (n, TurnEnd::Batch, false)
}
