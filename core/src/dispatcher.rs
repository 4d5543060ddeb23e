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
use crate::main_process::MainShared;
use crate::protocol::{Envelope, Kind, Malformed, FLAG_ERROR, FLAG_REPLY_VIA_RING};
use crate::registry::Handler;
use crate::web_contents::{GoneDetails, GoneReason, WebContents};
use crate::wire::ArgsView;
use electrode_shm::{AlignedBuf, Event, Futex, Message, Receiver, Waker};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Messages taken from one renderer per round.
pub(crate) const BATCH: usize = 64;
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
    pub rx: Receiver<Futex>,
    /// Keeps the mapping (and so the wake words we park on) alive.
    pub waker: Waker,
    buf: AlignedBuf,
    out_pending: bool,
}

impl Serving {
    pub(crate) fn new(conn: Arc<Conn>, rx: Receiver<Futex>, waker: Waker) -> Self {
        Serving {
            conn,
            rx,
            waker,
            buf: AlignedBuf::new(),
            out_pending: false,
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
        serving.extend(shared.incoming.lock().drain(..));
        let mut worked = false;
        let mut i = 0;
        while i < serving.len() {
            let s = &mut serving[i];
            // Read before draining: whatever the renderer published before it died is drained.
            let was_gone = s.conn.live.is_gone();
            let (n, failure) = drain(&shared, s);
            worked |= n > 0;
            let flush_failed = s
                .conn
                .link
                .lock()
                .as_mut()
                .is_some_and(|l| l.out.has_pending() && l.out.flush().is_err());
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
        s.out_pending = s
            .conn
            .link
            .lock()
            .as_ref()
            .is_some_and(|l| l.out.has_pending());
    }
    let serving: &[Serving] = serving;
    let ready = || {
        shared.shutdown.load(Ordering::Relaxed)
            || !shared.incoming.lock().is_empty()
            || serving.iter().any(|s| {
                s.conn.live.is_gone()
                    || s.conn.corrupt.load(Ordering::Relaxed)
                    || s.rx.consumer_ref().may_have_data()
                    || s.conn.link.lock().as_mut().is_some_and(|l| {
                        if !l.out.has_pending() {
                            return false;
                        }
                        // Queued since `out_pending` was taken (a `send` from another thread,
                        // whose kick may already be spent): go round, so the next park also
                        // watches this ring's space.
                        if !s.out_pending {
                            return true;
                        }
                        // Room appeared since the last flush: go back and flush.
                        l.out.flush().map_or(true, |still| !still)
                    })
            })
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
        let bytes = match msg {
            // The renderer may rewrite the ring at any time: copy once, then validate the copy.
            Message::Frame(frame) => {
                s.buf.resize(frame.len());
                frame.copy_to(s.buf.as_mut_slice());
                frame.release();
                s.buf.as_slice()
            }
            // Reassembled chunks are already a private copy.
            Message::Assembled { bytes, .. } => bytes,
        };
        if let Err(Malformed(why)) = handle(shared, &s.conn, tag, bytes) {
            if s.conn.violation(&why, shared.config.max_violations) {
                return (n, Some(()));
            }
        }
    }
    (n, None)
}

/// Validate and act on one message from a renderer.
fn handle(shared: &MainShared, conn: &Arc<Conn>, tag: u16, bytes: &[u8]) -> Result<(), Malformed> {
    let kind =
        Kind::from_tag(tag).ok_or_else(|| Malformed(format!("unknown message kind {tag}")))?;
    let parsed = Envelope::parse(bytes)?;
    let env = parsed.env;
    let channel = parsed.channel;
    match kind {
        Kind::Send => {
            let args = parsed.view()?;
            dispatch_send(shared, conn, env.frame_id, channel, &args, None);
        }
        Kind::SendSync => {
            let target = ReplyTarget::Slot {
                conn: conn.clone(),
                index: env.slot_index,
                generation: env.slot_gen,
            };
            let args = rejecting(parsed.view(), target)?;
            let target = ReplyTarget::Slot {
                conn: conn.clone(),
                index: env.slot_index,
                generation: env.slot_gen,
            };
            dispatch_send(shared, conn, env.frame_id, channel, &args, Some(target));
        }
        Kind::Invoke => {
            let target = || {
                if env.flags & FLAG_REPLY_VIA_RING != 0 {
                    ReplyTarget::Ring {
                        conn: conn.clone(),
                        request_id: env.request_id,
                    }
                } else {
                    ReplyTarget::Slot {
                        conn: conn.clone(),
                        index: env.slot_index,
                        generation: env.slot_gen,
                    }
                }
            };
            let args = rejecting(parsed.view(), target())?;
            dispatch_invoke(shared, conn, env.frame_id, channel, &args, target());
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
    target: ReplyTarget,
) -> Result<ArgsView<'a>, Malformed> {
    match view {
        Ok(v) => Ok(v),
        Err(Malformed(why)) => {
            target.send(Err(RemoteError::named(
                "ProtocolError",
                format!("main rejected the message: {why}"),
            )));
            Err(Malformed(why))
        }
    }
}

/// `send` / `sendSync`: every level runs (WebContents hooks, its scope, the global scope).
fn dispatch_send(
    shared: &MainShared,
    conn: &Arc<Conn>,
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
    let scoped = conn.scope.listeners(channel);
    let global = shared.ipc.listeners(channel);
    if hooks.is_none() && scoped.is_none() && global.is_none() {
        if let Some(target) = sync {
            target.send(Err(RemoteError::new(format!(
                "No listener registered for '{channel}'"
            ))));
        }
        return;
    }
    let name: Arc<str> = match (&scoped, &global) {
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
        conn.scope.run(channel, &l, &event, args);
    }
    if let Some((_, l)) = global {
        shared.ipc.run(channel, &l, &event, args);
    }
}

/// `invoke`: the first level with a handler answers.
fn dispatch_invoke(
    shared: &MainShared,
    conn: &Arc<Conn>,
    frame_id: u32,
    channel: &str,
    args: &ArgsView<'_>,
    target: ReplyTarget,
) {
    let handler = conn
        .scope
        .take_handler(channel)
        .or_else(|| shared.ipc.take_handler(channel));
    let Some((name, handler)) = handler else {
        target.send(Err(RemoteError::new(format!(
            "No handler registered for '{channel}'"
        ))));
        return;
    };
    let event = IpcMainInvokeEvent {
        sender: WebContents { conn: conn.clone() },
        frame_id,
        channel: name,
    };
    match handler {
        Handler::Sync(f) => {
            let r = guard("handler", channel, || f(&event, args))
                .unwrap_or_else(|| Err(RemoteError::new("the handler panicked")));
            target.send(r);
        }
        Handler::Deferred(f) => {
            let reply = DeferredReply::new(target);
            guard("handler", channel, move || f(&event, args, reply));
        }
        Handler::Async(f) => {
            let values = args.to_values();
            if let Some(fut) = guard("handler", channel, || f(event, values)) {
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
    drop(s.rx);
    drop(s.waker);
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
