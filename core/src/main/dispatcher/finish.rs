//! A renderer is gone (exited, killed, or disconnected by main): unmap its segment, fail what
//! waits on it, reap the process and tell everyone, once.

use super::Serving;
use crate::guard::guard;
use crate::main::gone::{exit_code, GoneDetails, GoneReason};
use crate::main::link::Link;
use crate::main::process::MainShared;
use std::sync::atomic::Ordering;

/// Finish serving `s`; `reason` is main's own (integrity failure) when it disconnects it.
pub(crate) fn finish(shared: &MainShared, s: Serving, reason: Option<GoneReason>) {
    let conn = s.conn;
    conn.live.mark_gone();
    // Every port side the renderer held closes now: the other ends' `close` fires.
    shared.broker.lock().gone(conn.id);
    let link: Option<Link> = conn.link.lock().take();
    if let Some(l) = &link {
        l.waker.wake_all();
    }
    drop(link);
    drop(conn.fds.lock().take());
    // Port memfds read ahead of messages that will never be handled.
    conn.ports.stash.lock().clear();
    // Everything that keeps the segment mapped goes before anyone is told.
    drop(s.rx);
    drop(s.waker);
    drop(s.slots);
    drop(s.handlers);
    drop(s.listeners);
    conn.pending.fail_all();
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
            reason: GoneReason::of_status(status),
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
    tracing::info!(
        renderer = conn.id,
        pid = conn.pid,
        reason = %details.reason,
        exit_code = details.exit_code,
        "renderer gone"
    );
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
