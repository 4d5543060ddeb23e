//! # Electrode: Electron's IPC model over shared memory
//!
//! Electrode gives a multi-process Rust application the IPC API Electron users know —
//! `ipcMain` / `ipcRenderer` with `on`, `once`, `handle`, `send`, `sendSync`, `invoke`,
//! `event.reply` and `webContents.send` — carried over shared memory instead of pipes: each
//! renderer shares one region with main, holding a ring per direction and a table of response
//! slots; messages are written straight into the rings, readers wake by futex, and main's
//! dispatcher thread writes `sendSync` / `invoke` answers into the requester's own slot.
//!
//! This page is a tutorial. Every example runs (the renderer lives on threads of the same
//! process here, [`Main::connect_in_process`]; a real renderer process behaves the same and is
//! started with [`Main::spawn_renderer`]).
//!
//! ## 1. Main handles, the renderer invokes
//!
//! ```
//! use electrode::{args, Main, Value};
//!
//! let main = Main::new()?;
//! main.ipc().handle("add", |_event, args| {
//!     let a = args.get(0).and_then(|v| v.as_i64()).unwrap_or(0);
//!     let b = args.get(1).and_then(|v| v.as_i64()).unwrap_or(0);
//!     Ok(Value::from(a + b))
//! })?;
//!
//! let (_web_contents, renderer) = main.connect_in_process()?;
//! assert_eq!(renderer.invoke_blocking("add", &args![2, 3])?, Value::from(5));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `invoke` also comes as a future that works on any executor:
//! `renderer.invoke("add", &args![2, 3]).await`.
//!
//! ## 2. Arguments are read in place
//!
//! A listener gets an [`ArgsView`]: the arguments as they lie in memory, validated before your
//! code sees them (renderers are untrusted). Strings and bytes are borrowed, not copied;
//! [`ArgsView::to_values`] makes owned [`Value`]s when you need them.
//!
//! ```
//! use electrode::{args, Main, Value};
//! use std::sync::mpsc;
//!
//! let main = Main::new()?;
//! let (tx, rx) = mpsc::channel();
//! main.ipc().on("log", move |event, args| {
//!     let line: &str = args.get(0).and_then(|v| v.as_str()).unwrap_or("");
//!     tx.send((event.frame_id(), line.len())).unwrap();
//! });
//! let (_wc, renderer) = main.connect_in_process()?;
//! renderer.send("log", &args!["hello"])?;
//! assert_eq!(rx.recv()?, (0, 5));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## 3. `sendSync` and `event.reply`
//!
//! A `sendSync` listener answers with [`IpcMainEvent::set_return_value`] (the first value set
//! wins; it may be set later, from another thread, through a clone of the event). Unlike
//! Electron, a `sendSync` nobody listens to fails at once instead of hanging.
//!
//! ```
//! use electrode::{args, Main, Value};
//! use std::sync::mpsc;
//!
//! let main = Main::new()?;
//! main.ipc().on("config", |event, _args| {
//!     event.set_return_value("dark-mode");
//! });
//! main.ipc().on("ping", |event, args| {
//!     event.reply("pong", &args.to_values()).unwrap();
//! });
//! let (_wc, renderer) = main.connect_in_process()?;
//! assert_eq!(renderer.send_sync("config", &args![])?, Value::from("dark-mode"));
//! assert!(renderer.send_sync("nobody-listens", &args![]).is_err());
//!
//! let (tx, rx) = mpsc::channel();
//! renderer.on("pong", move |_event, args| tx.send(args.to_values()).unwrap());
//! renderer.send("ping", &args![1, "two"])?;
//! assert_eq!(rx.recv()?, args![1, "two"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## 4. Errors keep their shape
//!
//! A handler's error reaches the renderer with Electron's text
//! (`Error invoking remote method '<channel>': <name>: <message>`), and also whole: name,
//! message and optional data.
//!
//! ```
//! use electrode::{args, Main, RemoteError};
//!
//! let main = Main::new()?;
//! main.ipc().handle("open", |_e, _a| {
//!     Err(RemoteError::named("NotFound", "no such file").with_data("/tmp/x"))
//! })?;
//! let (_wc, renderer) = main.connect_in_process()?;
//! let err = renderer.invoke_blocking("open", &args![]).unwrap_err();
//! assert_eq!(err.to_string(), "Error invoking remote method 'open': NotFound: no such file");
//! assert_eq!(err.remote().unwrap().data, Some("/tmp/x".into()));
//!
//! let err = renderer.invoke_blocking("missing", &args![]).unwrap_err();
//! assert!(err.to_string().contains("No handler registered for 'missing'"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each operation has its own error type: [`SendError`] for one-way messages, [`CallError`]
//! for calls that wait for an answer, [`RegisterError`] for `handle`, [`ConnectError`] for
//! connecting. Whatever the other side would reject is refused at the call, before anything is
//! encoded, and the error's [`source`](std::error::Error::source) says where:
//!
//! ```
//! use electrode::{args, CallError, Main, SendError, Value, MAX_CHANNEL_LEN};
//! use std::error::Error;
//!
//! let main = Main::new()?;
//! let (_wc, renderer) = main.connect_in_process()?;
//! let long = "x".repeat(MAX_CHANNEL_LEN + 1);
//! assert!(matches!(
//!     renderer.send(&long, &args![]),
//!     Err(SendError::ChannelTooLong { .. })
//! ));
//!
//! let mut deep = Value::Null;
//! for _ in 0..=electrode::wire::MAX_DEPTH {
//!     deep = Value::Array(vec![deep]);
//! }
//! let err = renderer.invoke_blocking("anything", &[deep]).unwrap_err();
//! assert!(matches!(err, CallError::Send(SendError::Unencodable(_))));
//! let why = err.source().unwrap().source().unwrap().to_string();
//! assert!(why.contains("args[0][0]"), "{why}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## 5. Answering later
//!
//! [`IpcMain::handle_deferred`] hands the handler a [`DeferredReply`] to complete from any
//! thread; [`IpcMain::handle_async`] takes a future. Dropping a reply unanswered rejects the
//! invoke with `reply was never sent`. Handlers registered with [`IpcMain::handle`] run on the
//! dispatcher, one at a time, as Electron's run on main's thread: a slow one holds every
//! renderer. [`IpcMain::handle_blocking`] runs its handler on a small pool of worker threads
//! instead ([`MainBuilder::blocking_threads`]), so only its own caller waits.
//!
//! ```
//! use electrode::{args, Main, Value};
//!
//! let main = Main::new()?;
//! main.ipc().handle_deferred("slow", |_e, _a, reply| {
//!     std::thread::spawn(move || reply.resolve("done"));
//! })?;
//! main.ipc().handle_async("double", |_e, args| async move {
//!     Ok(Value::from(args[0].as_i64().unwrap_or(0) * 2))
//! })?;
//! main.ipc().handle_deferred("forgetful", |_e, _a, reply| drop(reply))?;
//!
//! let (_wc, renderer) = main.connect_in_process()?;
//! assert_eq!(renderer.invoke_blocking("slow", &args![])?, Value::from("done"));
//! assert_eq!(renderer.invoke_blocking("double", &args![21])?, Value::from(42));
//! let err = renderer.invoke_blocking("forgetful", &args![]).unwrap_err();
//! assert!(err.to_string().ends_with("reply was never sent"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## 6. Main invokes the renderer
//!
//! Beyond Electron: a renderer can [`handle`](IpcRenderer::handle) a channel and main can
//! [`invoke`](WebContents::invoke) it.
//!
//! ```
//! use electrode::{args, Main, Value};
//!
//! let main = Main::new()?;
//! let (web_contents, renderer) = main.connect_in_process()?;
//! renderer.handle("title", |_args| Ok(Value::from("Untitled")))?;
//! let title = web_contents.invoke_blocking("title", &args![], None)?;
//! assert_eq!(title, Value::from("Untitled"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## 7. Real renderer processes
//!
//! ```no_run
//! use electrode::{GoneReason, IpcRenderer, Main};
//! use std::process::Command;
//!
//! // In main:
//! let main = Main::new()?;
//! let web_contents = main.spawn_renderer(Command::new("./renderer"))?;
//! web_contents.on_render_process_gone(|details| {
//!     if details.reason == GoneReason::Crashed {
//!         tracing::warn!(signal = details.exit_code, "renderer crashed");
//!     }
//! });
//!
//! // In ./renderer (its segment arrives on an inherited fd socket, once it is non-dumpable):
//! let ipc = IpcRenderer::connect()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! If main dies, every pending call in the renderer returns [`CallError::Disconnected`]; if a
//! renderer dies, main emits `render-process-gone` with Electron's reason and goes on serving the
//! others. A renderer that writes garbage into its rings is disconnected with
//! [`GoneReason::IntegrityFailure`]; it cannot crash main or reach another renderer's memory.
//!
//! To keep a compromised renderer from signalling (or even seeing) main and its siblings, spawn
//! it in a [`Sandbox`] with [`Main::spawn_renderer_with`]: its own uid/gid (as root), a new PID
//! namespace with a fresh `/proc`, a user namespace when main is unprivileged,
//! `PR_SET_NO_NEW_PRIVS`. [`WebContents::sandbox`] reports what was set up; docs/SECURITY.md
//! says what holds at each privilege level.
//!
//! ## 8. MessagePorts
//!
//! [`MessageChannel::new`] makes two entangled [`MessagePort`]s, in main or in a renderer.
//! Their rings live in one shared-memory segment mapped by the two processes holding the ends:
//! port messages do not pass through main. [`WebContents::post_message`] and
//! [`IpcRenderer::post_message`] move ports to the other side (its listeners take them with
//! `event.ports()`), and ports travel inside port messages too; a moved port leaves its old
//! handle neutered. Messages queue until [`start`](MessagePort::start) (or are taken with
//! [`recv`](MessagePort::recv), or read in place with [`recv_with`](MessagePort::recv_with));
//! closing one end (or the death of its process) emits `close` on the other. A typed
//! channel's messages travel through ports too ([`typed::SendChannel::post_port`], read in
//! place with [`on_port`](typed::SendChannel::on_port) or
//! [`recv_port`](typed::SendChannel::recv_port)); bytes and archives that carry no port go
//! raw, without an envelope.
//!
//! ```
//! use electrode::{Main, MessageChannel, Value};
//! use std::sync::mpsc;
//! use std::time::Duration;
//!
//! let main = Main::new()?;
//! let (web_contents, renderer) = main.connect_in_process()?;
//! let (tx, rx) = mpsc::channel();
//! renderer.on("port", move |event, _args| {
//!     for port in event.ports() {
//!         tx.send(port).unwrap();
//!     }
//! });
//! let (mine, theirs) = MessageChannel::new()?;
//! web_contents.post_message("port", &Value::Null, vec![theirs])?;
//! let theirs = rx.recv()?;
//!
//! mine.post_message(&Value::from("hello"), vec![])?;
//! assert_eq!(theirs.recv(Some(Duration::from_secs(5)))?.data, Value::from("hello"));
//!
//! let (closed_tx, closed_rx) = mpsc::channel();
//! theirs.on_close(move || closed_tx.send(()).unwrap());
//! theirs.start();
//! mine.close();
//! closed_rx.recv()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Typed arguments (feature `serde`)
//!
//! With the `serde` feature, `ArgsView::deserialize` reads the arguments straight into a
//! tuple or struct (strings and bytes still borrowed from the message), and
//! `electrode::serde::to_value` / `from_value` convert between [`Value`] and any `Serialize` /
//! `Deserialize` type. A decoding error reaches the renderer as a `TypeError` naming the
//! argument (`args[1]: invalid type: ...`). The rules are in the `serde` module's docs.
//!
//! ```
//! # #[cfg(feature = "serde")] {
//! use electrode::serde::to_value;
//! use electrode::{Main, Value};
//!
//! let main = Main::new()?;
//! main.ipc().handle("add", |_event, args| {
//!     let (a, b): (i64, i64) = args.deserialize()?;
//!     Ok(to_value(&(a + b))?)
//! })?;
//! let (_wc, renderer) = main.connect_in_process()?;
//! let sum = renderer.invoke_blocking("add", &[to_value(&2)?, to_value(&3)?])?;
//! assert_eq!(sum, Value::from(5));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Your tokio runtime (feature `tokio`)
//!
//! `handle_async` futures run on a private pool of two threads unless main is given a tokio
//! runtime's handle: with the `tokio` feature, `MainBuilder::tokio_handle` makes them tasks of
//! the application's runtime, where tokio's own API works (`tokio::spawn`, and the timers and
//! I/O the runtime was built with). The renderer needs no feature: its invoke futures, like
//! main's, work on any executor.
//!
//! ## Logs
//!
//! Electrode logs through [`tracing`](https://docs.rs/tracing): rejected messages (with the
//! renderer's id and pid and the reason), renderers gone, panicking listeners. Install a
//! subscriber to see them; without one nothing is printed.
//!
//! ## Where things are
//!
//! | Electron | Electrode |
//! | --- | --- |
//! | `ipcMain` | [`Main::ipc`] → [`IpcMain`] |
//! | `webContents` | [`WebContents`] |
//! | `ipcRenderer` | [`IpcRenderer`] |
//! | `IpcMainEvent` / `IpcMainInvokeEvent` | [`IpcMainEvent`] / [`IpcMainInvokeEvent`] |
//! | `MessageChannelMain` / `MessagePortMain` | [`MessageChannel`] / [`MessagePort`] |
//!
//! The full table is `docs/ELECTRON_MAPPING.md`; the transport underneath is the
//! `electrode-shm` crate.
#![forbid(unsafe_code)]
// `main` is the main process's wing; this is a library, with no `main.rs` to clash with.
#![allow(special_module_name)]
#![warn(missing_docs)]

// The layers, bottom to top (docs/ARCHITECTURE.md): values and their wire format; errors;
// listener tables and the user-code guard; messages; calls; then the two wings.
pub mod value;
pub mod wire;

mod error;
mod guard;
mod listeners;

mod message;

mod call;

mod port;

mod main;
mod renderer;

#[cfg(feature = "zenoh")]
mod remote;

pub mod typed;

#[cfg(feature = "serde")]
pub mod serde;

#[doc(hidden)]
pub mod fuzzing;

pub use electrode_shm::{SpinBudget, WaitMode};

/// The wait mode `Main` and `IpcRenderer` use unless told otherwise: spin 2 µs, then yield for
/// up to 50 µs, then park. A `sendSync` / `invoke` round trip takes about a microsecond across
/// cores, so the requester usually sees its answer while still spinning, and the dispatcher
/// sees the next request before it parks. On a machine where main and renderers share cores,
/// a shorter spin (`SpinBudget { spin: Duration::ZERO, .. }`) or [`WaitMode::ParkOnly`] gives
/// the CPU to the peer sooner.
pub const DEFAULT_WAIT_MODE: WaitMode = WaitMode::SpinThenPark(SpinBudget {
    spin: std::time::Duration::from_micros(2),
    yield_for: std::time::Duration::from_micros(50),
});
pub use error::{CallError, ConnectError, RegisterError, RemoteError, ReplyError, SendError};
pub use listeners::ListenerId;
pub use main::config::{MainBuilder, MainConfig};
pub use main::events::{DeferredReply, IpcMainEvent, IpcMainInvokeEvent};
pub use main::frame::WebFrameMain;
pub use main::gone::{GoneDetails, GoneReason};
pub use main::process::Main;
pub use main::registry::{HandlerFuture, IpcMain};
pub use main::sandbox::{
    Mode as SandboxMode, Sandbox, SandboxError, SandboxReport, Setup as SandboxSetup, SpawnOptions,
    Step as SandboxStep,
};
pub use main::web_contents::{InvokeRenderer, WebContents};
pub use message::kind::{MAX_CHANNEL_LEN, MAX_FRAMES, MAX_MESSAGE_LEN};
pub use message::ports::MAX_PORTS_PER_MESSAGE;
pub use port::channel::MessageChannel;
pub use port::error::PortError;
pub use port::message_port::{MessageEvent, MessagePort, PortMessage, PortMessageRef};
/// Electron's name for a channel made in main.
pub type MessageChannelMain = MessageChannel;
/// Electron's name for a port held in main.
pub type MessagePortMain = MessagePort;
pub use renderer::{Invoke, IpcRenderer, IpcRendererEvent, RendererOptions};
pub use value::Value;
pub use wire::{ArgsView, ArrayRef, MapRef, ValueRef};
