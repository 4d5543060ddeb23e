//! The renderer's wing: [`IpcRenderer`] and what stands behind it.
//!
//! Outgoing, in the order a call runs: [`ipc_renderer`] (the API: `send`, `send_sync`,
//! `invoke`, listeners, handlers) → [`post`] (encode one message straight into the ring) →
//! [`request`] (a blocking call: take a response slot, post, wait in the slot) or [`invoke`]
//! (an async call: a response slot too, polled by its future, which parks with its waker;
//! without a free slot, the pending-call table and a `Reply` through the ring). Incoming:
//! [`receive`], the receive thread, which decodes what main sent and runs listeners and
//! handlers, wakes or completes async calls and delivers answers too large for their slot. [`connection`] holds the state
//! they share and ends the connection when the last handle goes. [`ports`] routes port ends that
//! leave a renderer process through main.

pub(crate) mod connection;
pub(crate) mod event;
pub(crate) mod invoke;
pub(crate) mod ipc_renderer;
pub(crate) mod listener_cache;
pub(crate) mod options;
pub(crate) mod ports;
pub(crate) mod post;
pub(crate) mod receive;
pub(crate) mod request;

pub use event::IpcRendererEvent;
pub use invoke::Invoke;
pub use ipc_renderer::IpcRenderer;
pub use options::RendererOptions;
