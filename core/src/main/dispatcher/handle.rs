//! Acting on one message from a renderer: [`handle`] has it decoded (the one decoder,
//! `message::decode`), answers the requester of a rejected request at once, and otherwise
//! runs the listeners (`send` / `sendSync`: every level, WebContents hooks, the sending frame's
//! scope, the WebContents scope, the global scope) or the one handler (`invoke`: the first
//! level that has one).

use super::handler_cache::{Found, HandlerCache};
use super::listener_cache::ListenerCache;
use crate::error::{CallError, RemoteError};
use crate::guard::guard;
use crate::main::close::Closer;
use crate::main::events::{DeferredReply, IpcMainEvent, IpcMainInvokeEvent, SyncReturn};
use crate::main::link::Conn;
use crate::main::process::MainShared;
use crate::main::registry::Handler;
use crate::main::respond::Responder;
use crate::main::web_contents::WebContents;
use crate::message::body::{Data, Payload, Refusal};
use crate::message::decode::{FromRenderer, Head, Rejected, Unanswered};
use crate::message::kind::MAX_FRAMES;
use crate::message::reply::{Answer, ReplyTo};
use electrode_shm::{Futex, SlotTable};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Reply bytes taken over ahead of time, at most.
const PREFETCH_REPLY: usize = 256;

/// What the dispatcher remembers about the registries for the renderer being served.
pub(super) struct Caches<'a> {
    pub handlers: &'a mut HandlerCache,
    pub listeners: &'a mut ListenerCache,
}

/// The renderer a message came from.
#[derive(Clone, Copy)]
pub(super) struct Peer<'a> {
    pub conn: &'a Arc<Conn>,
    pub slots: Option<&'a SlotTable<Futex>>,
}

impl Peer<'_> {
    /// Answer now, from the dispatcher.
    fn answer(self, to: ReplyTo, answer: Answer) {
        self.conn.answer(self.slots, to, &answer);
        crate::typed::recycle_answer(answer);
    }

    /// The owned form, for answers given later.
    fn responder(self, to: ReplyTo) -> Responder {
        Responder {
            conn: self.conn.clone(),
            to,
        }
    }
}

/// Decode and act on one message. `Err` is the reason it was rejected (a protocol violation);
/// whoever waited for an answer to it has been answered with an error.
pub(super) fn handle(
    shared: &MainShared,
    peer: Peer<'_>,
    caches: Caches<'_>,
    tag: u16,
    bytes: &[u8],
) -> Result<(), String> {
    let head = Head::parse(tag, bytes).map_err(|r| reject(peer, *r))?;
    if let (Some(ReplyTo::Slot { index, .. }), Some(slots)) = (head.reply_to(), peer.slots) {
        // The reply's cache lines are taken over while the request is validated and
        // handled (replies are often about as large as requests).
        slots.prepare_reply(index, head.args.len().min(PREFETCH_REPLY));
    }
    let conn = peer.conn;
    if conn.life.is_closed() {
        // Closed (`main/close.rs`): what the renderer still sends is dropped, unread. Its
        // requesters fail on their side (main's `Close`, or the renderer closed itself).
        return Ok(());
    }
    match head.decode_renderer().map_err(|r| reject(peer, *r))? {
        FromRenderer::Send {
            frame_id,
            channel,
            payload,
        } => dispatch_send(
            shared,
            conn,
            caches.listeners,
            frame_id,
            channel,
            &payload,
            Origin::Send,
        )?,
        FromRenderer::SendSync {
            frame_id,
            channel,
            payload,
            reply,
        } => dispatch_send(
            shared,
            conn,
            caches.listeners,
            frame_id,
            channel,
            &payload,
            Origin::SendSync(peer.responder(reply)),
        )?,
        FromRenderer::Invoke {
            frame_id,
            channel,
            payload,
            reply,
        } => dispatch_invoke(
            shared,
            peer,
            caches.handlers,
            frame_id,
            channel,
            &payload,
            reply,
        )?,
        FromRenderer::HandlerReply { request_id, answer } => {
            conn.pending.complete(request_id, Ok(answer));
        }
        FromRenderer::FrameOpen { frame_id } => {
            conn.add_frame(frame_id, MAX_FRAMES)?;
        }
        FromRenderer::Closing => {
            conn.close(Closer::Renderer);
        }
        FromRenderer::PostMessage {
            frame_id,
            channel,
            message,
            ports,
        } => {
            let ports = crate::main::ports::arrive(conn, &ports)?;
            let payload = Payload {
                fingerprint: 0,
                data: Data::Values(message),
            };
            dispatch_send(
                shared,
                conn,
                caches.listeners,
                frame_id,
                channel,
                &payload,
                Origin::PostMessage(ports),
            )?
        }
        FromRenderer::PortForward { args } => crate::main::ports::forward(conn, &args)?,
        FromRenderer::PortClosed { args } => crate::main::ports::closed(conn, &args)?,
    }
    Ok(())
}

/// Answer whoever waits on a rejected message; returns the reason.
#[cold]
fn reject(peer: Peer<'_>, rejected: Rejected) -> String {
    let Rejected { why, answer } = rejected;
    match answer {
        Some(Unanswered::Requester(to)) => peer.answer(
            to,
            Err(RemoteError::named(
                "ProtocolError",
                format!("main rejected the message: {why}"),
            )),
        ),
        Some(Unanswered::MainCall { request_id, error }) => {
            peer.conn
                .pending
                .complete(request_id, Err(CallError::BrokenReply(error)));
        }
        None => {}
    }
    why
}

/// Type mismatches from one renderer logged in full; after that, only the `n`th for `n` a
/// power of two (a renderer built from another contract, or a hostile one, cannot flood
/// main's log: a mismatch is not a violation, so it is never disconnected for them).
pub(crate) const MISMATCHES_LOGGED: u64 = 64;

/// What a refusal means for the renderer: a type mismatch is the caller's error (logged, and
/// answered when someone waits); a malformed archive is a protocol violation.
#[cold]
fn refused(conn: &Conn, channel: &str, why: Refusal) -> Result<(), String> {
    match why {
        Refusal::Type(why) => {
            let n = conn.mismatches.fetch_add(1, Ordering::Relaxed) + 1;
            if n <= MISMATCHES_LOGGED {
                tracing::warn!(
                    renderer = conn.id,
                    pid = conn.pid,
                    channel,
                    "type mismatch: {why}"
                );
            } else if n.is_power_of_two() {
                tracing::warn!(
                    renderer = conn.id,
                    pid = conn.pid,
                    channel,
                    "type mismatches: {n} from this renderer so far (the first \
                     {MISMATCHES_LOGGED} logged, then every power of two); the latest: {why}"
                );
            }
            Ok(())
        }
        malformed @ Refusal::Malformed { .. } => Err(malformed.logged()),
    }
}

/// Which call a message to listeners came from.
enum Origin {
    /// `ipcRenderer.send`.
    Send,
    /// `ipcRenderer.sendSync`, answered through this responder.
    SendSync(Responder),
    /// `ipcRenderer.postMessage`, with the ports it moved.
    PostMessage(Vec<crate::MessagePort>),
}

/// `send` / `sendSync` / `postMessage`: every level runs (WebContents hooks, the frame's
/// scope, the WebContents scope, the global scope).
/// Listeners of another type than the message are skipped, and the mismatch reported.
fn dispatch_send(
    shared: &MainShared,
    conn: &Arc<Conn>,
    listeners: &mut ListenerCache,
    frame_id: u32,
    channel: &str,
    payload: &Payload<'_>,
    origin: Origin,
) -> Result<(), String> {
    let (sync, ports) = match origin {
        Origin::Send => (None, None),
        Origin::SendSync(r) => (Some(r), None),
        Origin::PostMessage(p) => (None, Some(Arc::new(parking_lot::Mutex::new(p)))),
    };
    let hooks = if sync.is_some() {
        &conn.on_message_sync
    } else {
        &conn.on_message
    };
    let hooks: Option<Vec<_>> = {
        let h = hooks.read();
        (!h.is_empty()).then(|| h.clone())
    };
    let frame_scope = conn.frame_scopes.get(frame_id);
    let framed = frame_scope.as_ref().and_then(|f| f.listeners(channel));
    let (scoped, global) = listeners.find(&conn.scope, &shared.ipc, channel);
    if hooks.is_none() && framed.is_none() && scoped.is_none() && global.is_none() {
        if let Some(responder) = sync {
            responder.send(Err(RemoteError::new(format!(
                "No listener registered for '{channel}'"
            ))));
        }
        return Ok(());
    }
    let name: Arc<str> = match (&framed, scoped, global) {
        (Some((k, _)), _, _) | (None, Some((k, _)), _) | (None, None, Some((k, _))) => k.clone(),
        _ => Arc::from(channel),
    };
    let event = IpcMainEvent {
        sender: WebContents { conn: conn.clone() },
        frame_id,
        channel: name,
        sync: sync.map(|r| Arc::new(SyncReturn::new(r))),
        ports,
    };
    let mut refusal = None;
    for h in hooks.iter().flatten() {
        if let Some(Err(why)) = guard("ipc-message hook", channel, || h(&event, payload)) {
            refusal.get_or_insert(why);
        }
    }
    if let (Some(scope), Some((_, l))) = (&frame_scope, &framed) {
        scope.run(channel, l, &event, payload, &mut refusal);
    }
    if let Some((_, l)) = scoped {
        conn.scope.run(channel, l, &event, payload, &mut refusal);
    }
    if let Some((_, l)) = global {
        shared.ipc.run(channel, l, &event, payload, &mut refusal);
    }
    match refusal {
        None => Ok(()),
        Some(why) => {
            // A waiting sendSync learns why, unless a listener of its type answered.
            event.set_error(why.error());
            refused(conn, channel, why)
        }
    }
}

/// `invoke`: the first level with a handler answers (the frame's scope, the WebContents scope,
/// the global one).
fn dispatch_invoke(
    shared: &MainShared,
    peer: Peer<'_>,
    handlers: &mut HandlerCache,
    frame_id: u32,
    channel: &str,
    payload: &Payload<'_>,
    reply: ReplyTo,
) -> Result<(), String> {
    let conn = peer.conn;
    // The sending frame's scope first (never cached: frame scopes are rare), then the cached
    // cascade of the WebContents scope and the global one.
    let framed = conn
        .frame_scopes
        .get(frame_id)
        .and_then(|f| f.take_handler_entry(channel))
        .map(|(name, handler, _once)| Found::Taken(name, handler));
    let Some(found) = framed.or_else(|| handlers.find(conn, &shared.ipc, channel)) else {
        peer.answer(
            reply,
            Err(RemoteError::new(format!(
                "No handler registered for '{channel}'"
            ))),
        );
        return Ok(());
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
    let panicked = || Err(RemoteError::new("the handler panicked"));
    let refusal = match handler {
        Handler::Sync(f) => match guard("handler", channel, || f(event, payload)) {
            Some(Ok(answer)) => {
                peer.answer(reply, answer);
                return Ok(());
            }
            Some(Err(why)) => why,
            None => {
                peer.answer(reply, panicked());
                return Ok(());
            }
        },
        Handler::Deferred(f) => {
            let deferred = DeferredReply::new(peer.responder(reply));
            // A refusing handler answered through the reply it was given (see
            // `registry::refuse_deferred`); a panicking one dropped it, which answers too.
            return match guard("handler", channel, move || f(event, payload, deferred)) {
                Some(Err(why)) => refused(conn, channel, why),
                _ => Ok(()),
            };
        }
        Handler::Async(f) => match guard("handler", channel, || f(event.clone(), payload)) {
            Some(Ok(fut)) => {
                let reply = DeferredReply::new(peer.responder(reply));
                shared
                    .executor
                    .run_handler(event.channel.clone(), fut, reply);
                return Ok(());
            }
            Some(Err(why)) => why,
            None => {
                peer.answer(reply, panicked());
                return Ok(());
            }
        },
        Handler::Blocking(f) => match guard("handler", channel, || f(event.clone(), payload)) {
            Some(Ok(job)) => {
                let reply = DeferredReply::new(peer.responder(reply));
                shared.blocking.run(event.channel.clone(), job, reply);
                return Ok(());
            }
            Some(Err(why)) => why,
            None => {
                peer.answer(reply, panicked());
                return Ok(());
            }
        },
    };
    peer.answer(reply, Err(refusal.error()));
    refused(conn, channel, refusal)
}
