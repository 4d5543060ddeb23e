//! A started port's delivery thread: takes whole messages from the ring in order, validates
//! them (a private copy) and runs the `message` listeners; parks on the ring's futex (and the
//! port's own wake word) while idle, so an idle port uses no CPU. When the other end closes it
//! delivers what was sent before, then emits `close`; when the peer breaks the ring it logs,
//! closes the port and emits `close`.

use super::frame;
use super::message_port::{close_core, Core, MessageEvent, BROKEN, OPEN, PORT_WAIT};
use crate::guard::guard;
use electrode_shm::{spin_phase, wait_any, AlignedBuf, Futex, Receiver};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// How the delivery loop ended.
enum End {
    /// Asked to stop (the port is closing or moving): the receiver goes back to the port.
    Stopped,
    /// The other end closed (or this one did).
    Gone,
    /// The peer broke the ring or sent a malformed message.
    Broken(String),
}

/// Start the delivery thread of `core` (once).
pub(crate) fn spawn(core: &Arc<Core>) {
    let Some(rx) = core.rx.take().take() else {
        return;
    };
    let c = core.clone();
    let t = std::thread::Builder::new()
        .name("electrode-port".into())
        .spawn(move || run(c, rx));
    match t {
        Ok(t) => *core.thread.lock() = Some(t),
        Err(e) => tracing::warn!(error = %e, "port: cannot start its delivery thread"),
    }
}

/// Stop the delivery thread (if any) and wait for it to hand the receiver back; from a
/// listener on that very thread, only ask.
pub(crate) fn stop(core: &Arc<Core>) {
    core.stop.store(true, Ordering::SeqCst);
    core.wake.notify_all(&Futex);
    let t = core.thread.lock().take();
    if let Some(t) = t {
        if t.thread().id() != std::thread::current().id() {
            let _ = t.join();
        }
    }
}

fn run(core: Arc<Core>, mut rx: Receiver<Futex>) {
    let end = deliver(&core, &mut rx);
    *core.rx.take() = Some(rx);
    match end {
        End::Stopped => {}
        End::Gone => {
            // Our own close stops us quietly; the peer's emits `close`.
            if core.state.load(Ordering::SeqCst) == OPEN {
                emit_close(&core);
            }
        }
        End::Broken(why) => {
            tracing::warn!("port: the peer broke the port ({why}); closing it");
            if core.state.swap(BROKEN, Ordering::SeqCst) == OPEN {
                // Close without joining ourselves (`stop` skips the current thread).
                close_core(&core);
                emit_close(&core);
            }
        }
    }
}

fn emit_close(core: &Core) {
    let listeners = core.on_close.read().clone();
    for f in listeners {
        guard("port close listener", "", || f());
    }
}

fn deliver(core: &Core, rx: &mut Receiver<Futex>) -> End {
    let mut buf = AlignedBuf::new();
    loop {
        if core.stop.load(Ordering::SeqCst) {
            return End::Stopped;
        }
        // Read `gone` before looking: what the peer sent before closing is then visible.
        let gone = core.live.is_gone();
        let tag = match rx.try_recv() {
            Err(c) => return End::Broken(c.to_string()),
            Ok(Some(msg)) => {
                let tag = msg.tag();
                msg.copy_into(&mut buf);
                Some(tag)
            }
            Ok(None) => None,
        };
        if let Some(tag) = tag {
            rx.finish_message();
            let msg = match frame::lend(tag, buf.as_slice()) {
                Ok(m) => m,
                Err(why) => return End::Broken(why),
            };
            // Lent to the listeners: an owned `Value` only if one asks for `data()`.
            let event = MessageEvent {
                view: msg.data,
                owned: std::sync::OnceLock::new(),
                ports: parking_lot::Mutex::new(msg.ports),
                typed: msg.typed,
            };
            let listeners = core.on_message.read().clone();
            for f in listeners {
                guard("port message listener", "", || f(&event));
            }
            continue;
        }
        if gone {
            return End::Gone;
        }
        let ready = |rx: &Receiver<Futex>| {
            rx.consumer_ref().may_have_data()
                || core.stop.load(Ordering::SeqCst)
                || core.live.is_gone()
        };
        if spin_phase(PORT_WAIT, &mut || ready(rx).then_some(())).is_some() {
            continue;
        }
        let events = [rx.consumer_ref().data_event(), &core.wake];
        wait_any(&events, None, || ready(rx));
    }
}
