//! # Electrode: Electron's IPC model over shared memory
//!
//! (Tutorial: see below; written as doctests.)
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod codec;
mod completion;
mod connection;
mod dispatcher;
mod error;
mod events;
mod main_process;
mod outbox;
mod protocol;
mod registry;
mod renderer;
pub mod value;
mod web_contents;
pub mod wire;

pub use electrode_shm::{SpinBudget, WaitMode};
pub use error::{IpcError, RemoteError};
pub use events::{DeferredReply, IpcMainEvent, IpcMainInvokeEvent};
pub use main_process::{Main, MainBuilder, MainConfig};
pub use protocol::MAX_CHANNEL_LEN;
pub use registry::{HandlerFuture, IpcMain, Listener, ListenerId};
pub use renderer::{Invoke, IpcRenderer, IpcRendererEvent, RendererOptions};
pub use value::Value;
pub use web_contents::{GoneDetails, GoneReason, InvokeRenderer, WebContents};
pub use wire::{ArgsView, ArrayRef, MapRef, ValueRef};
