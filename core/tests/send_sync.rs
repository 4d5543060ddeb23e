//! Compile-time checks that every public handle can cross threads (as tokio's
//! `tests/async_send_sync.rs` does): a type that stops being `Send` or `Sync` (an `Rc`, a
//! `RefCell` or a raw pointer slipped into it) fails to build this file.

#![allow(dead_code)]

use electrode::*;

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn unpin<T: Unpin>() {}
fn static_send_sync<T: Send + Sync + 'static>() {}

/// Every handle, event, future and error is `Send + Sync` (and `'static`: it can be moved
/// into a spawned thread or task).
const _: fn() = || {
    static_send_sync::<Main>();
    static_send_sync::<MainBuilder>();
    static_send_sync::<MainConfig>();
    static_send_sync::<IpcMain>();
    static_send_sync::<WebContents>();
    static_send_sync::<IpcRenderer>();
    static_send_sync::<RendererOptions>();
    static_send_sync::<IpcMainEvent>();
    static_send_sync::<IpcMainInvokeEvent>();
    static_send_sync::<IpcRendererEvent>();
    static_send_sync::<DeferredReply>();
    static_send_sync::<Invoke>();
    static_send_sync::<InvokeRenderer>();

    static_send_sync::<ListenerId>();
    static_send_sync::<GoneDetails>();
    static_send_sync::<GoneReason>();
    static_send_sync::<Value>();
    static_send_sync::<RemoteError>();
    static_send_sync::<SendError>();
    static_send_sync::<CallError>();
    static_send_sync::<ConnectError>();
    static_send_sync::<RegisterError>();
    static_send_sync::<ReplyError>();
};

/// Views borrow a message and may be shared or sent with it.
const _: fn() = || {
    send::<ArgsView<'static>>();
    sync::<ArgsView<'static>>();
    send::<ValueRef<'static>>();
    sync::<ValueRef<'static>>();
    send::<ArrayRef<'static>>();
    send::<MapRef<'static>>();
};

/// The futures can be polled from any executor without pinning on the heap.
const _: fn() = || {
    unpin::<Invoke>();
    unpin::<InvokeRenderer>();
    // A boxed handler future is `Send` (it runs on an executor thread), not `Sync`.
    send::<HandlerFuture>();
};

#[test]
fn the_assertions_compile() {}
