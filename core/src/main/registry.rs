//! [`IpcMain`]: the listener and handler tables of one scope (the global `ipcMain`, or one
//! WebContents' `ipc`).
//!
//! Listener lists are copy-on-write (`Arc<[Entry]>`): the dispatcher takes a snapshot with one
//! reference-count increment, so listeners may add or remove listeners while they run.
//!
//! One table serves `Value` and typed listeners and handlers alike: each is stored as a closure
//! over the message's [`Payload`] that first checks the payload is of its type (a `Value`
//! listener takes only `Value` messages; a typed one only archives with its channel's
//! fingerprint) and says why not otherwise ([`Refusal`]).

use super::events::{DeferredReply, IpcMainEvent, IpcMainInvokeEvent};
use crate::error::{RegisterError, RemoteError};
use crate::guard::guard;
use crate::listeners::{Entry, ListenerId, ListenerTable, Snapshot};
use crate::message::body::{Data, Payload, Refusal};
use crate::message::reply::Answer;
use crate::value::Value;
use crate::wire::ArgsView;
use parking_lot::RwLock;
use rustc_hash::FxHashMap as HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A `send` / `sendSync` listener (or `ipc-message` hook) as the tables hold it.
pub(crate) type Listener = dyn Fn(&IpcMainEvent, &Payload<'_>) -> Result<(), Refusal> + Send + Sync;

/// A boxed future answering an invoke.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, RemoteError>> + Send>>;

/// A boxed future of any answer (typed handlers too).
pub(crate) type AnswerFuture = Pin<Box<dyn Future<Output = Answer> + Send>>;

pub(crate) type SyncHandler =
    dyn Fn(&IpcMainInvokeEvent, &Payload<'_>) -> Result<Answer, Refusal> + Send + Sync;
pub(crate) type DeferredHandler =
    dyn Fn(&IpcMainInvokeEvent, &Payload<'_>, DeferredReply) -> Result<(), Refusal> + Send + Sync;
pub(crate) type BlockingHandler = dyn Fn(IpcMainInvokeEvent, &Payload<'_>) -> Result<super::blocking::BlockingJob, Refusal>
    + Send
    + Sync;
pub(crate) type AsyncHandler =
    dyn Fn(IpcMainInvokeEvent, &Payload<'_>) -> Result<AnswerFuture, Refusal> + Send + Sync;

/// A `Value` listener, as the tables hold it.
pub(crate) fn value_listener(
    f: impl Fn(&IpcMainEvent, &ArgsView<'_>) + Send + Sync + 'static,
) -> Arc<Listener> {
    Arc::new(move |event: &IpcMainEvent, payload: &Payload<'_>| {
        let args = payload.as_values(event.channel()).map_err(Refusal::Type)?;
        f(event, args);
        Ok(())
    })
}

/// A `Value` `ipc-message` hook: it sees every `Value` message of its renderer and skips typed
/// ones (they belong to their channels' own hooks).
pub(crate) fn value_hook(
    f: impl Fn(&IpcMainEvent, &ArgsView<'_>) + Send + Sync + 'static,
) -> Arc<Listener> {
    Arc::new(move |event: &IpcMainEvent, payload: &Payload<'_>| {
        if let (Data::Values(args), 0) = (&payload.data, payload.fingerprint) {
            f(event, args);
        }
        Ok(())
    })
}

#[derive(Clone)]
pub(crate) enum Handler {
    Sync(Arc<SyncHandler>),
    Deferred(Arc<DeferredHandler>),
    Async(Arc<AsyncHandler>),
    Blocking(Arc<BlockingHandler>),
}

#[derive(Clone)]
struct HandlerEntry {
    handler: Handler,
    once: bool,
}

#[derive(Default)]
struct Tables {
    listeners: ListenerTable<Listener>,
    handlers: RwLock<HashMap<Arc<str>, HandlerEntry>>,
    /// Bumped (under the `handlers` write lock) whenever the handler table changes, so the
    /// dispatcher's [`HandlerCache`](super::handler_cache::HandlerCache) knows when to drop
    /// what it remembers.
    handlers_version: AtomicU64,
}

/// Listeners and handlers of one scope: Electron's `ipcMain` (from [`Main::ipc`]) or a
/// WebContents' own `ipc` (from [`WebContents::ipc`]). Cheap to clone; clones share the tables.
///
/// [`Main::ipc`]: crate::Main::ipc
/// [`WebContents::ipc`]: crate::WebContents::ipc
#[derive(Clone, Default)]
pub struct IpcMain {
    tables: Arc<Tables>,
}

impl std::fmt::Debug for IpcMain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpcMain")
            .field("event_names", &self.event_names())
            .finish()
    }
}

impl IpcMain {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Listen for `send` and `sendSync` messages on `channel`. Listeners of a channel run in
    /// registration order on the dispatcher thread.
    pub fn on(
        &self,
        channel: &str,
        f: impl Fn(&IpcMainEvent, &ArgsView<'_>) + Send + Sync + 'static,
    ) -> ListenerId {
        self.add_listener(channel, value_listener(f), false)
    }

    /// As [`on`](Self::on), but removed before it first runs: fires at most once.
    pub fn once(
        &self,
        channel: &str,
        f: impl Fn(&IpcMainEvent, &ArgsView<'_>) + Send + Sync + 'static,
    ) -> ListenerId {
        self.add_listener(channel, value_listener(f), true)
    }

    /// Add a listener of any type.
    pub(crate) fn add_listener(&self, channel: &str, f: Arc<Listener>, once: bool) -> ListenerId {
        self.tables.listeners.add(channel, f, once)
    }

    /// Remove one listener. Returns whether it was registered.
    pub fn remove_listener(&self, channel: &str, id: ListenerId) -> bool {
        self.tables.listeners.remove(channel, id)
    }

    /// Remove every listener of `channel`, or of every channel when `None`.
    pub fn remove_all_listeners(&self, channel: Option<&str>) {
        self.tables.listeners.remove_all(channel)
    }

    /// Channels that have listeners, sorted.
    pub fn event_names(&self) -> Vec<String> {
        self.tables.listeners.names()
    }

    /// Number of listeners on `channel`.
    pub fn listener_count(&self, channel: &str) -> usize {
        self.tables.listeners.count(channel)
    }

    pub(crate) fn set_handler(
        &self,
        channel: &str,
        handler: Handler,
        once: bool,
    ) -> Result<(), RegisterError> {
        let mut map = self.tables.handlers.write();
        if map.contains_key(channel) {
            return Err(RegisterError::SecondHandler {
                channel: channel.to_string(),
            });
        }
        map.insert(channel.into(), HandlerEntry { handler, once });
        self.tables.handlers_version.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Register the one handler for `invoke` on `channel`. It answers synchronously: its
    /// `Ok` is the reply, its `Err` rejects the invoke. A second handler on the channel fails
    /// with `Attempted to register a second handler for '<channel>'`.
    pub fn handle(
        &self,
        channel: &str,
        f: impl Fn(&IpcMainInvokeEvent, &ArgsView<'_>) -> Result<Value, RemoteError>
            + Send
            + Sync
            + 'static,
    ) -> Result<(), RegisterError> {
        self.set_handler(channel, Handler::Sync(value_handler(f)), false)
    }

    /// As [`handle`](Self::handle), removed before it first runs.
    pub fn handle_once(
        &self,
        channel: &str,
        f: impl Fn(&IpcMainInvokeEvent, &ArgsView<'_>) -> Result<Value, RemoteError>
            + Send
            + Sync
            + 'static,
    ) -> Result<(), RegisterError> {
        self.set_handler(channel, Handler::Sync(value_handler(f)), true)
    }

    /// Register a handler that answers later, from any thread, through the [`DeferredReply`] it
    /// is given. Dropping the reply unanswered rejects the invoke with `reply was never sent`.
    pub fn handle_deferred(
        &self,
        channel: &str,
        f: impl Fn(&IpcMainInvokeEvent, &ArgsView<'_>, DeferredReply) + Send + Sync + 'static,
    ) -> Result<(), RegisterError> {
        let f = move |event: &IpcMainInvokeEvent, payload: &Payload<'_>, reply: DeferredReply| {
            match payload.as_values(event.channel()) {
                Ok(args) => {
                    f(event, args, reply);
                    Ok(())
                }
                Err(why) => refuse_deferred(reply, Refusal::Type(why)),
            }
        };
        self.set_handler(channel, Handler::Deferred(Arc::new(f)), false)
    }

    /// Register an async handler: it gets owned arguments and returns a future, which runs on
    /// main's executor (the application's tokio runtime when main was given its handle, with
    /// feature `tokio`; otherwise a private pool of two threads); its output is the reply.
    pub fn handle_async<F, Fut>(&self, channel: &str, f: F) -> Result<(), RegisterError>
    where
        F: Fn(IpcMainInvokeEvent, Vec<Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, RemoteError>> + Send + 'static,
    {
        let f = move |event: IpcMainInvokeEvent, payload: &Payload<'_>| {
            let args = payload
                .as_values(event.channel())
                .map_err(Refusal::Type)?
                .to_values();
            let fut = f(event, args);
            Ok(Box::pin(async move { fut.await.map(Value::into) }) as AnswerFuture)
        };
        self.set_handler(channel, Handler::Async(Arc::new(f)), false)
    }

    /// Register a handler that runs on main's pool of blocking threads instead of the
    /// dispatcher ([`MainBuilder::blocking_threads`](crate::MainBuilder::blocking_threads),
    /// default 2): while it works, only its own caller waits, and the dispatcher goes on
    /// serving every other renderer and channel. Not Electron's model (its handlers all run on
    /// main's one thread, as [`handle`](Self::handle)'s do): use it for a handler that may be
    /// slow (file or network I/O, heavy computation).
    ///
    /// It gets owned arguments (copied out of the ring). Jobs wait in a bounded queue
    /// ([`MainBuilder::blocking_queue`](crate::MainBuilder::blocking_queue), default 1024);
    /// an invoke that finds it full is rejected at once with
    /// `the blocking handlers' queue is full` (the dispatcher never waits for the pool). A
    /// handler that panics rejects its invoke with `the handler panicked`.
    ///
    /// ```
    /// use electrode::{args, Main, Value};
    ///
    /// let main = Main::builder().blocking_threads(2).build()?;
    /// main.ipc().handle_blocking("slow-sum", |_event, args| {
    ///     // Runs on an `electrode-blocking-N` thread: blocking here holds only this caller.
    ///     let sum: i64 = args.iter().filter_map(|v| v.as_i64()).sum();
    ///     Ok(Value::from(sum))
    /// })?;
    ///
    /// let (_web_contents, renderer) = main.connect_in_process()?;
    /// assert_eq!(renderer.invoke_blocking("slow-sum", &args![1, 2, 3])?, Value::from(6));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_blocking<F>(&self, channel: &str, f: F) -> Result<(), RegisterError>
    where
        F: Fn(&IpcMainInvokeEvent, Vec<Value>) -> Result<Value, RemoteError>
            + Send
            + Sync
            + 'static,
    {
        let f = Arc::new(f);
        let h = move |event: IpcMainInvokeEvent, payload: &Payload<'_>| {
            let args = payload
                .as_values(event.channel())
                .map_err(Refusal::Type)?
                .to_values();
            let f = f.clone();
            Ok(Box::new(move || f(&event, args).map(Value::into)) as super::blocking::BlockingJob)
        };
        self.set_handler(channel, Handler::Blocking(Arc::new(h)), false)
    }

    /// Remove the handler of `channel` (no error when there is none).
    pub fn remove_handler(&self, channel: &str) {
        let mut map = self.tables.handlers.write();
        if map.remove(channel).is_some() {
            self.tables.handlers_version.fetch_add(1, Ordering::Release);
        }
    }

    /// Snapshot of `channel`'s listeners and the interned channel name.
    pub(crate) fn listeners(&self, channel: &str) -> Option<(Arc<str>, Snapshot<Listener>)> {
        self.tables.listeners.snapshot(channel)
    }

    /// Changes whenever a listener is added or removed.
    pub(crate) fn listeners_version(&self) -> u64 {
        self.tables.listeners.version()
    }

    /// Changes whenever a handler is added or removed.
    pub(crate) fn handlers_version(&self) -> u64 {
        self.tables.handlers_version.load(Ordering::Acquire)
    }

    /// Take the handler of `channel` (removing it when it was registered with `handle_once`),
    /// with the interned channel name and whether it was a `handle_once` one.
    pub(crate) fn take_handler_entry(&self, channel: &str) -> Option<(Arc<str>, Handler, bool)> {
        let map = self.tables.handlers.read();
        if map.is_empty() {
            return None;
        }
        let (k, e) = map.get_key_value(channel)?;
        if !e.once {
            return Some((k.clone(), e.handler.clone(), false));
        }
        drop(map);
        let mut map = self.tables.handlers.write();
        match map.get_key_value(channel) {
            Some((_, e)) if e.once => {
                self.tables.handlers_version.fetch_add(1, Ordering::Release);
                map.remove_entry(channel).map(|(k, e)| (k, e.handler, true))
            }
            Some((k, e)) => Some((k.clone(), e.handler.clone(), false)),
            None => None,
        }
    }

    /// Run `entries` (a snapshot) for one event, removing `once` listeners before they run.
    pub(crate) fn run(
        &self,
        channel: &str,
        entries: &[Entry<Listener>],
        event: &IpcMainEvent,
        payload: &Payload<'_>,
        refused: &mut Option<Refusal>,
    ) {
        self.tables.listeners.run_each(channel, entries, |f| {
            if let Some(Err(why)) = guard("listener", channel, || f(event, payload)) {
                refused.get_or_insert(why);
            }
        });
    }
}

/// A deferred handler refusing its message answers through its reply (with the type error)
/// before the reply is dropped, then reports the refusal.
pub(crate) fn refuse_deferred(reply: DeferredReply, why: Refusal) -> Result<(), Refusal> {
    reply.send(Err(why.error()));
    Err(why)
}

/// A `Value` handler, as the tables hold it.
fn value_handler(
    f: impl Fn(&IpcMainInvokeEvent, &ArgsView<'_>) -> Result<Value, RemoteError> + Send + Sync + 'static,
) -> Arc<SyncHandler> {
    Arc::new(move |event: &IpcMainInvokeEvent, payload: &Payload<'_>| {
        let args = payload.as_values(event.channel()).map_err(Refusal::Type)?;
        Ok(f(event, args).map(Value::into))
    })
}
