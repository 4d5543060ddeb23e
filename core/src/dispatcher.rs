//! The dispatcher thread: reads every renderer's ring, validates each message, runs listeners
//! and handlers, writes replies, flushes queued output, and notices renderers that went away.
//!
//! It never blocks on a renderer: reads are non-blocking, output that does not fit waits in the
//! renderer's [`Outbox`](crate::outbox::Outbox), and each renderer gets at most [`BATCH`]
//! messages per round, so a flooding renderer cannot starve the others. When nothing is ready it
//! spins per the configured [`WaitMode`], then parks on all rings at once (`futex_waitv`).

use crate::codec;
use crate::connection::{Conn, Link};
use crate::error::RemoteError;
use crate::events::{DeferredReply, IpcMainEvent, IpcMainInvokeEvent, ReplyTarget, SyncReturn};
use crate::handler_cache::{Found, HandlerCache};
use crate::listener_cache::ListenerCache;
use crate::main_process::MainShared;
use crate::protocol::{Envelope, Kind, Malformed, FLAG_ERROR, FLAG_REPLY_VIA_RING};
use crate::registry::Handler;
use crate::value::Value;
use crate::web_contents::{GoneDetails, GoneReason, WebContents};
use crate::wire::ArgsView;
use electrode_shm::{AlignedBuf, Event, Futex, Message, Receiver, SlotTable, Waker};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Messages taken from one renderer per round.
pub(crate) const BATCH: usize = 64;
/// Reply bytes taken over ahead of time, at most.
const PREFETCH_REPLY: usize = 256;
/// Frames one renderer may announce.
const MAX_FRAMES: usize = 4096;

thread_local! {
    static ON_DISPATCHER: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is a dispatcher (blocking calls there would wait for themselves).
pub(crate) fn on_dispatcher_thread() -> bool {
    ON_DISPATCHER.with(|c| c.get())
}

/// Run user code, turning a panic into a logged `None` so the dispatcher survives it.
pub(crate) fn guard<R>(what: &str, channel: &str, f: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            eprintln!("[electrode] {what} on channel '{channel}' panicked: {msg}");
            None
        }
    }
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
        }
    }
}

/// The dispatcher's main loop.
pub(crate) fn run(shared: Arc<MainShared>) {
    ON_DISPATCHER.with(|c| c.set(true));
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
        let mut worked = false;
        let mut i = 0;
        while i < serving.len() {
            let s = &mut serving[i];
            // Read before draining: whatever the renderer published before it died is drained.
            let was_gone = s.conn.live.is_gone();
            let (n, failure) = drain(&shared, s);
            worked |= n > 0;
            let flush_failed = s.conn.out_queued.load(Ordering::Acquire) && flush(&s.conn).is_err();
            if failure.is_some() || flush_failed || s.conn.corrupt.load(Ordering::SeqCst) {
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
            if was_gone && n < BATCH {
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
fn flush(conn: &Conn) -> Result<bool, crate::IpcError> {
    let mut link = conn.link.lock();
    let Some(l) = link.as_mut() else {
        conn.out_queued.store(false, Ordering::Release);
        return Ok(false);
    };
    let r = l.out.flush();
    conn.out_queued
        .store(l.out.has_pending(), Ordering::Release);
    r
}

/// Take up to [`BATCH`] messages from one renderer. Returns how many, and whether the renderer
/// must be disconnected.
fn drain(shared: &MainShared, s: &mut Serving) -> (usize, Option<()>) {
    let mut n = 0;
    while n < BATCH {
        let msg = match s.rx.try_recv() {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(corrupt) => {
                s.conn.violation(&corrupt.to_string(), 1);
                return (n, Some(()));
            }
        };
        let tag = msg.tag();
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
        let peer = Peer {
            conn: &s.conn,
            slots: s.slots.as_deref(),
        };
        let caches = Caches {
            handlers: &mut s.handlers,
            listeners: &mut s.listeners,
        };
        let handled = handle(shared, peer, caches, tag, bytes);
        if let Some(frame) = frame {
            frame.release();
        }
        if let Err(Malformed(why)) = handled {
            if s.conn.violation(&why, shared.config.max_violations) {
                return (n, Some(()));
            }
        }
    }
    (n, None)
}

/// What the dispatcher remembers about the registries for the renderer being served.
struct Caches<'a> {
    handlers: &'a mut HandlerCache,
    listeners: &'a mut ListenerCache,
}

/// The renderer a message came from, as [`handle`] needs it.
#[derive(Clone, Copy)]
struct Peer<'a> {
    conn: &'a Arc<Conn>,
    slots: Option<&'a SlotTable<Futex>>,
}

/// Where a request is answered, before anything needs to own that (most replies are written
/// by the dispatcher at once, with no reference counting or locking).
#[derive(Clone, Copy)]
enum Answer {
    /// The requester's response slot.
    Slot { index: u32, generation: u32 },
    /// A `Reply` message through the ring (async invoke).
    Ring { request_id: u64 },
}

impl Answer {
    fn of(env: &Envelope) -> Answer {
        if env.flags & FLAG_REPLY_VIA_RING != 0 {
            Answer::Ring {
                request_id: env.request_id,
            }
        } else {
            Answer::Slot {
                index: env.slot_index,
                generation: env.slot_gen,
            }
        }
    }

    /// An owned target, for replies given later or from another thread.
    fn target(self, conn: &Arc<Conn>) -> ReplyTarget {
        match self {
            Answer::Slot { index, generation } => ReplyTarget::Slot {
                conn: conn.clone(),
                index,
                generation,
            },
            Answer::Ring { request_id } => ReplyTarget::Ring {
                conn: conn.clone(),
                request_id,
            },
        }
    }

    /// Answer now, from the dispatcher.
    fn send(self, peer: Peer<'_>, result: Result<Value, RemoteError>) {
        match (self, peer.slots) {
            (Answer::Slot { index, generation }, Some(slots)) => {
                peer.conn.reply_slot_in(slots, index, generation, &result)
            }
            (Answer::Slot { index, generation }, None) => {
                peer.conn.reply_slot(index, generation, &result)
            }
            (Answer::Ring { request_id }, _) => peer.conn.reply_ring(request_id, &result),
        }
    }
}

/// Validate and act on one message from a renderer.
fn handle(
    shared: &MainShared,
    peer: Peer<'_>,
    caches: Caches<'_>,
    tag: u16,
    bytes: &[u8],
) -> Result<(), Malformed> {
    let conn = peer.conn;
    let kind =
        Kind::from_tag(tag).ok_or_else(|| Malformed(format!("unknown message kind {tag}")))?;
    let parsed = Envelope::parse(bytes)?;
    let env = parsed.env;
    let channel = parsed.channel;
    if matches!(kind, Kind::Invoke | Kind::SendSync) && env.flags & FLAG_REPLY_VIA_RING == 0 {
        if let Some(slots) = peer.slots {
            // The reply's cache lines are taken over while the request is validated and
            // handled (replies are often about as large as requests).
            slots.prepare_reply(env.slot_index, parsed.args.len().min(PREFETCH_REPLY));
        }
    }
    match kind {
        Kind::Send => {
            let args = parsed.view()?;
            dispatch_send(
                shared,
                conn,
                caches.listeners,
                env.frame_id,
                channel,
                &args,
                None,
            );
        }
        Kind::SendSync => {
            let answer = Answer::Slot {
                index: env.slot_index,
                generation: env.slot_gen,
            };
            let args = rejecting(parsed.view(), answer, peer)?;
            dispatch_send(
                shared,
                conn,
                caches.listeners,
                env.frame_id,
                channel,
                &args,
                Some(answer.target(conn)),
            );
        }
        Kind::Invoke => {
            let answer = Answer::of(&env);
            let args = rejecting(parsed.view(), answer, peer)?;
            dispatch_invoke(
                shared,
                peer,
                caches.handlers,
                env.frame_id,
                channel,
                &args,
                answer,
            );
        }
        Kind::HandlerReply => {
            let pending = conn.pending.lock().remove(&env.request_id);
            if let Some(c) = pending {
                match codec::decode_result(parsed.args, env.flags & FLAG_ERROR != 0) {
                    Ok(r) => {
                        c.complete(r.map_err(|error| crate::IpcError::Invoke {
                            channel: channel.to_string(),
                            error,
                        }));
                    }
                    Err(e) => {
                        // The invoke was taken off the pending table: answer it, or its
                        // caller would wait forever.
                        let why = e.to_string();
                        c.complete(Err(e));
                        return Err(Malformed(why));
                    }
                }
            }
        }
        Kind::FrameOpen => {
            let mut frames = conn.frames.lock();
            if frames.len() >= MAX_FRAMES && !frames.contains(&env.frame_id) {
                return Err(Malformed(format!("more than {MAX_FRAMES} frames")));
            }
            frames.insert(env.frame_id);
        }
        Kind::Message | Kind::LargeReply | Kind::Reply | Kind::InvokeRenderer => {
            return Err(Malformed(format!(
                "{kind:?} is not a renderer-to-main message"
            )));
        }
    }
    Ok(())
}

/// A request whose arguments fail validation still gets an answer (the error), so a buggy
/// renderer's caller does not wait forever.
fn rejecting<'a>(
    view: Result<ArgsView<'a>, Malformed>,
    answer: Answer,
    peer: Peer<'_>,
) -> Result<ArgsView<'a>, Malformed> {
    match view {
        Ok(v) => Ok(v),
        Err(Malformed(why)) => {
            answer.send(
                peer,
                Err(RemoteError::named(
                    "ProtocolError",
                    format!("main rejected the message: {why}"),
                )),
            );
            Err(Malformed(why))
        }
    }
}

/// `send` / `sendSync`: every level runs (WebContents hooks, its scope, the global scope).
fn dispatch_send(
    shared: &MainShared,
    conn: &Arc<Conn>,
    listeners: &mut ListenerCache,
    frame_id: u32,
    channel: &str,
    args: &ArgsView<'_>,
    sync: Option<ReplyTarget>,
) {
    let hooks = if sync.is_some() {
        &conn.on_message_sync
    } else {
        &conn.on_message
    };
    let hooks: Option<Vec<_>> = {
        let h = hooks.read();
        (!h.is_empty()).then(|| h.clone())
    };
    let (scoped, global) = listeners.find(&conn.scope, &shared.ipc, channel);
    if hooks.is_none() && scoped.is_none() && global.is_none() {
        if let Some(target) = sync {
            target.send(Err(RemoteError::new(format!(
                "No listener registered for '{channel}'"
            ))));
        }
        return;
    }
    let name: Arc<str> = match (scoped, global) {
        (Some((k, _)), _) | (None, Some((k, _))) => k.clone(),
        _ => Arc::from(channel),
    };
    let event = IpcMainEvent {
        sender: WebContents { conn: conn.clone() },
        frame_id,
        channel: name,
        sync: sync.map(|t| Arc::new(SyncReturn::new(t))),
    };
    for h in hooks.iter().flatten() {
        guard("ipc-message hook", channel, || h(&event, args));
    }
    if let Some((_, l)) = scoped {
        conn.scope.run(channel, l, &event, args);
    }
    if let Some((_, l)) = global {
        shared.ipc.run(channel, l, &event, args);
    }
}

/// `invoke`: the first level with a handler answers.
fn dispatch_invoke(
    shared: &MainShared,
    peer: Peer<'_>,
    handlers: &mut HandlerCache,
    frame_id: u32,
    channel: &str,
    args: &ArgsView<'_>,
    answer: Answer,
) {
    let conn = peer.conn;
    let Some(found) = handlers.find(conn, &shared.ipc, channel) else {
        answer.send(
            peer,
            Err(RemoteError::new(format!(
                "No handler registered for '{channel}'"
            ))),
        );
        return;
    };
    let mut taken_event;
    let (event, handler) = match found {
        Found::Cached(event, handler) => (event, handler),
        Found::Taken(name, handler) => {
            taken_event = (
                IpcMainInvokeEvent {
                    sender: WebContents { conn: conn.clone() },
                    frame_id,
                    channel: name,
                },
                handler,
            );
            (&mut taken_event.0, &taken_event.1)
        }
    };
    event.frame_id = frame_id;
    let event = &*event;
    match handler {
        Handler::Sync(f) => {
            let r = guard("handler", channel, || f(event, args))
                .unwrap_or_else(|| Err(RemoteError::new("the handler panicked")));
            answer.send(peer, r);
        }
        Handler::Deferred(f) => {
            let reply = DeferredReply::new(answer.target(conn));
            guard("handler", channel, move || f(event, args, reply));
        }
        Handler::Async(f) => {
            let values = args.to_values();
            let target = answer.target(conn);
            if let Some(fut) = guard("handler", channel, || f(event.clone(), values)) {
                shared.spawn(async move { target.send(fut.await) });
            } else {
                target.send(Err(RemoteError::new("the handler panicked")));
            }
        }
    }
}

/// The renderer is gone (or being disconnected): unmap, tell everyone, once.
pub(crate) fn finish(shared: &MainShared, s: Serving, reason: Option<GoneReason>) {
    let conn = s.conn;
    conn.live.mark_gone();
    let link: Option<Link> = conn.link.lock().take();
    if let Some(l) = &link {
        l.waker.wake_all();
    }
    drop(link);
    // Everything that keeps the segment mapped goes before anyone is told.
    drop(s.rx);
    drop(s.waker);
    drop(s.slots);
    drop(s.handlers);
    drop(s.listeners);
    conn.fail_pending();
    let mut child = conn.child.lock().take();
    if reason == Some(GoneReason::IntegrityFailure) || shared.shutdown.load(Ordering::SeqCst) {
        if let Some(c) = child.as_mut() {
            let _ = c.kill();
        }
    }
    let details = match (reason, child.as_mut().map(|c| c.wait())) {
        (Some(r), status) => GoneDetails {
            reason: r,
            exit_code: status.and_then(|s| s.ok()).map_or(0, exit_code),
        },
        (None, Some(Ok(status))) => GoneDetails {
            reason: reason_of(status),
            exit_code: exit_code(status),
        },
        (None, Some(Err(_))) => GoneDetails {
            reason: GoneReason::AbnormalExit,
            exit_code: -1,
        },
        (None, None) => GoneDetails {
            reason: GoneReason::Disconnected,
            exit_code: 0,
        },
    };
    drop(conn.watch.lock().take());
    let hooks = {
        let mut hooks = conn.on_gone.lock();
        *conn.gone.lock() = Some(details);
        std::mem::take(&mut *hooks)
    };
    for h in hooks {
        guard("render-process-gone hook", "", || h(&details));
    }
    shared.forget(conn.id);
}

fn reason_of(status: std::process::ExitStatus) -> GoneReason {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => GoneReason::CleanExit,
        (Some(_), _) => GoneReason::AbnormalExit,
        (None, Some(libc_sig)) if libc_sig == 9 || libc_sig == 15 => GoneReason::Killed,
        _ => GoneReason::Crashed,
    }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or(status.signal()).unwrap_or(-1)
}
