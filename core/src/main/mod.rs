//! Main's wing: the broker process's side of the API.
//!
//! From the outside in: [`config`] (the builder), [`process`] (`Main`: spawning and connecting
//! renderers, the dispatcher thread), [`executor`] (where async handlers run), [`blocking`] (where blocking handlers run), [`web_contents`] (main's handle on one
//! renderer), [`registry`] (`IpcMain`: listener and handler tables of one scope), [`events`]
//! (what listeners and handlers receive), [`gone`] (`render-process-gone`), [`sandbox`] (spawn options: a
//! sandboxed renderer). Underneath:
//! [`link`] (`Conn`: the per-renderer state and its sending end, [`outbox`]), [`respond`] (the
//! one place answers are written), [`ports`] (ports crossing between main and a renderer), and
//! the [`broker`] (main's table of the channels that crossed through it), and the [`dispatcher`]
//! thread that reads every renderer.
//!
//! `WebContents`, `IpcMain`, the events and `Conn` refer to one another, as Electron's own types
//! do; nothing outside this folder is imported back into it except the layers below (`message`,
//! `call`, `wire`, `value`, `error`) and the renderer's handle for in-process renderers.

pub(crate) mod blocking;
pub(crate) mod broker;
pub(crate) mod close;
pub(crate) mod config;
pub(crate) mod dispatcher;
pub(crate) mod events;
pub(crate) mod executor;
pub(crate) mod frame;
pub(crate) mod gone;
pub(crate) mod link;
pub(crate) mod outbox;
pub(crate) mod ports;
pub(crate) mod process;
pub(crate) mod registry;
pub(crate) mod respond;
pub(crate) mod sandbox;
pub(crate) mod web_contents;
