//! The renderer's receive thread: messages from main, in order. Each is copied out of the
//! ring, decoded (`message::decode`) and acted on: listeners run, main's invokes are answered
//! by the renderer's handlers, async calls complete (or, parked on their slots, are woken),
//! and answers too large for their slot are left in the mailbox for their requester.

use super::connection::Shared;
use super::event::IpcRendererEvent;
use super::listener_cache::ListenerCache;
use super::post::post;
use crate::error::{CallError, RemoteError, SendError};
use crate::guard::guard;
use crate::message::body::{Data, Payload};
use crate::message::decode::{FromMain, Head};
use crate::message::envelope::Envelope;
use crate::message::kind::{Kind, FLAG_ERROR};
use crate::message::reply::{self, Answer};
use crate::port::frame::Moved;
use crate::port::message_port::{collect_routed, ARRIVAL_TIMEOUT};
use electrode_shm::{AlignedBuf, Futex, Message, Receiver, RecvError};
use std::sync::Arc;
use std::time::Instant;

/// Receive until main is gone (or the connection closes), then fail what still waits.
pub(crate) fn receive_loop(shared: Arc<Shared>, mut rx: Receiver<Futex>) {
    let mut buf = AlignedBuf::new();
    let mut cache = ListenerCache::default();
    loop {
        let msg = match rx.recv(shared.options.wait_mode, None) {
            Ok(m) => m,
            Err(RecvError::PeerGone) => break,
            Err(e) => {
                tracing::warn!(error = %e, "renderer: receiving from main failed");
                break;
            }
        };
        let tag = msg.tag();
        let bytes = match msg {
            Message::Frame(frame) => {
                buf.resize(frame.len());
                frame.copy_to(buf.as_mut_slice());
                frame.release();
                buf.as_slice()
            }
            // Reassembled chunks are in the receiver's own buffer; a bulk message from main
            // (trusted) is read in place.
            Message::Assembled { bytes, .. } => bytes,
        };
        if let Err(why) = handle(&shared, &mut cache, tag, bytes) {
            tracing::warn!(tag, "renderer: bad message from main: {why}");
        }
        // A large message read in place goes back to main at once, so its next one can use
        // the bulk area without waiting for our next receive.
        rx.finish_message();
    }
    shared.fail_all();
}

fn handle(
    shared: &Arc<Shared>,
    cache: &mut ListenerCache,
    tag: u16,
    bytes: &[u8],
) -> Result<(), String> {
    let head = Head::parse(tag, bytes).map_err(|r| r.why)?;
    match head.decode_main()? {
        FromMain::Message {
            frame_id,
            channel,
            payload,
        } => deliver(shared, cache, frame_id, channel, &payload, None),
        FromMain::PostMessage {
            frame_id,
            channel,
            message,
            ports,
        } => {
            let moved: Vec<Moved> = ports.iter().map(|r| Moved::of(*r)).collect();
            // Main put the ends before it wrote the message (in process: our own inbox).
            let deadline = Instant::now() + ARRIVAL_TIMEOUT;
            let ports = collect_routed(&moved, deadline)?;
            let payload = Payload {
                fingerprint: 0,
                data: Data::Values(message),
            };
            let ports = Some(Arc::new(parking_lot::Mutex::new(ports)));
            deliver(shared, cache, frame_id, channel, &payload, ports);
        }
        FromMain::LargeReply {
            slot_index,
            slot_gen,
            answer,
        } => {
            shared
                .large
                .deliver(slot_index, slot_gen, answer.map_err(CallError::from));
        }
        FromMain::SlotReady {
            slot_index,
            slot_gen,
        } => shared.slot_wakers.wake(slot_index, slot_gen),
        // Main closed our WebContents: every call fails now, and the loop ends (PeerGone).
        FromMain::Close => shared.disconnect(),
        FromMain::Reply { request_id, answer } => {
            shared
                .pending
                .complete(request_id, answer.map_err(CallError::from));
        }
        FromMain::InvokeRenderer {
            request_id,
            channel,
            payload,
        } => {
            let handler = shared.handlers.read().get(channel).cloned();
            let answer: Answer = match handler {
                None => Err(RemoteError::new(format!(
                    "No handler registered for '{channel}'"
                ))),
                Some(h) => match guard("renderer handler", channel, || h(&payload)) {
                    Some(Ok(answer)) => answer,
                    Some(Err(why)) => {
                        tracing::warn!(channel, "renderer: invoke not taken: {}", why.logged());
                        Err(why.error())
                    }
                    None => Err(RemoteError::new("the handler panicked")),
                },
            };
            answer_main(shared, request_id, channel, &answer);
        }
    }
    Ok(())
}

/// Answer main's invoke. An answer that cannot be sent (nested too deep, too large) is
/// replaced by an error saying why, so main's caller never waits for ever.
fn answer_main(shared: &Shared, request_id: u64, channel: &str, answer: &Answer) {
    let env = |is_error: bool| Envelope {
        flags: if is_error { FLAG_ERROR } else { 0 },
        request_id,
        ..Envelope::default()
    };
    // Main knows which call the request id names: the reply carries no channel name.
    let sent = post(
        shared,
        Kind::HandlerReply,
        &env(answer.is_err()),
        "",
        reply::encoded(answer).body(),
    );
    match sent {
        Ok(()) | Err(SendError::Disconnected) => {}
        Err(e) => {
            let why: Answer = Err(RemoteError::new(format!(
                "the reply could not be sent: {e}"
            )));
            let fallback = post(
                shared,
                Kind::HandlerReply,
                &env(true),
                "",
                reply::encoded(&why).body(),
            );
            if let Err(e) = fallback {
                tracing::warn!(channel, error = %e, "renderer: cannot answer main's invoke");
            }
        }
    }
}

/// Run the listeners of `channel` in `frame_id` on a message from main.
fn deliver(
    shared: &Arc<Shared>,
    cache: &mut ListenerCache,
    frame_id: u32,
    channel: &str,
    payload: &Payload<'_>,
    ports: Option<Arc<parking_lot::Mutex<Vec<crate::MessagePort>>>>,
) {
    // Every user handle is gone: the connection is closing, nobody listens any more.
    if !shared.is_held() {
        return;
    }
    let Some((frame, Some((lent, entries)))) = cache.find(shared, frame_id, channel) else {
        return;
    };
    // A message with ports gets an event of its own (the ports are its); any other gets the
    // cached one.
    let own;
    let event = match ports {
        None => lent,
        Some(ports) => {
            own = IpcRendererEvent {
                ports: Some(ports),
                ..lent.clone()
            };
            &own
        }
    };
    let mut refusal = None;
    frame.run_each(channel, entries, |f| {
        if let Some(Err(why)) = guard("renderer listener", channel, || f(event, payload)) {
            refusal.get_or_insert(why);
        }
    });
    if let Some(why) = refusal {
        tracing::warn!(channel, "renderer: message not taken: {}", why.logged());
    }
}
