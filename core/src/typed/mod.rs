//! # Typed channels
//!
//! A typed channel names a channel and the Rust types it carries, once, in a contract module
//! that main and the renderer both compile. Both sides register and call through it, so a
//! mismatch is a compile error; and every message carries the channel's **schema
//! fingerprint**, so two binaries built from different versions of the contract get a clear
//! error naming the channel and both fingerprints, never a misread.
//!
//! ```
//! use electrode::typed::{type_hash, InvokeChannel, TypeHash};
//! use rkyv::{Archive, Deserialize, Serialize};
//!
//! // The contract (e.g. a `protocol` crate both binaries depend on).
//! #[derive(Archive, Serialize, Deserialize, TypeHash, Debug, PartialEq)]
//! pub struct Resize {
//!     pub width: u32,
//!     pub height: u32,
//! }
//!
//! #[derive(Archive, Serialize, Deserialize, TypeHash, Debug, PartialEq)]
//! pub enum Outcome {
//!     Resized { pixels: u64 },
//!     TooLarge,
//! }
//!
//! pub static RESIZE: InvokeChannel<Resize, Outcome> = InvokeChannel::new("resize");
//!
//! // Main: the handler reads the request in place (`&ArchivedResize`, validated first).
//! let main = electrode::Main::new()?;
//! RESIZE.handle(main.ipc(), |_event, request| {
//!     let (w, h) = (request.width.to_native(), request.height.to_native());
//!     Ok(if w > 10_000 { Outcome::TooLarge } else { Outcome::Resized { pixels: u64::from(w * h) } })
//! })?;
//!
//! // A renderer: owned reply, or read in place.
//! let (_web_contents, renderer) = main.connect_in_process()?;
//! let outcome = RESIZE.invoke_blocking(&renderer, &Resize { width: 4, height: 3 })?;
//! assert_eq!(outcome, Outcome::Resized { pixels: 12 });
//! let too_large = RESIZE.invoke_with(&renderer, &Resize { width: 20_000, height: 1 }, |reply| {
//!     matches!(reply, ArchivedOutcome::TooLarge)
//! })?;
//! assert!(too_large);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The five kinds
//!
//! | channel | sender | receiver |
//! | --- | --- | --- |
//! | [`SendChannel<T>`] | renderer: `send` | main: `on`, `once`, `on_ipc_message` |
//! | [`SendSyncChannel<Req, Rep>`] | renderer: `send_sync`, `send_sync_with` | main: `on` (returns the reply) |
//! | [`InvokeChannel<Req, Rep>`] | renderer: `invoke` (async), `invoke_blocking`, `invoke_with` | main: `handle`, `handle_once`, `handle_deferred`, `handle_async` |
//! | [`EventChannel<T>`] | main: `send`, `send_to_frame`, `reply` | renderer: `on`, `once` |
//! | [`RendererInvokeChannel<Req, Rep>`] | main: `invoke` (async), `invoke_blocking` | renderer: `handle` |
//!
//! Main's receivers take an `&IpcMain`: the global `main.ipc()` or a WebContents' own scope
//! `web_contents.ipc()`. Typed and `Value` listeners and handlers share those tables and
//! their cascade (hooks, a frame's scope `frame.ipc()`, the WebContents scope, the global scope;
//! the first handler wins).
//!
//! ## Types
//!
//! With the default codec ([`Rkyv`]) a type derives rkyv 0.8's `Archive`, `Serialize` and
//! `Deserialize` and [`TypeHash`] (which the fingerprint is computed from: names, fields,
//! variants, recursively). Standard types work as they are: integers, `bool`, `String`,
//! `Vec<T>`, `Option<T>`, tuples, `HashMap` / `BTreeMap`. The derive refers to `type_hash`
//! by name: bring it into scope with `use electrode::typed::type_hash;` (or depend on the
//! `type_hash` crate).
//!
//! Receivers get `&Archived<T>`: the archive where it lies, **validated** (bytecheck) before
//! your code sees it, nothing deserialized. Main reads a private copy of what a renderer wrote
//! (a renderer may rewrite shared memory at any time); a malformed archive is a protocol
//! violation: logged, the requester answered with an error, and counted against the renderer
//! like any other.
//!
//! For serde types, the [`Serde`] codec (`InvokeChannel<Req, Rep, Serde>`, feature `serde`)
//! carries values as [`Value`](crate::Value)s: no rkyv derives, but the conversion and the
//! `Value` encoding cost on both sides, and receivers get owned values.
//!
//! ## Errors
//!
//! A `Value` call on a typed channel, a typed call on a `Value` channel, and a fingerprint
//! mismatch are answered with a `TypeError` that says what each side has:
//!
//! ```
//! use electrode::typed::InvokeChannel;
//! use electrode::{args, CallError};
//!
//! static DOUBLE: InvokeChannel<u64, u64> = InvokeChannel::new("double");
//!
//! let main = electrode::Main::new()?;
//! DOUBLE.handle(main.ipc(), |_e, n| Ok(n.to_native() * 2))?;
//! let (_wc, renderer) = main.connect_in_process()?;
//! assert_eq!(DOUBLE.invoke_blocking(&renderer, &21)?, 42);
//!
//! let err = renderer.invoke_blocking("double", &args![21]).unwrap_err();
//! let CallError::Invoke { error, .. } = err else { panic!() };
//! assert_eq!(error.name, "TypeError");
//! assert!(error.message.contains("carries Value arguments"), "{}", error.message);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod call;
mod channel;
pub(crate) mod codec;
mod fingerprint;
#[cfg(feature = "serde")]
mod serde_channels;

pub use call::TypedInvoke;
pub use channel::{
    EventChannel, InvokeChannel, RendererInvokeChannel, SendChannel, SendSyncChannel, TypedReply,
};
pub(crate) use codec::recycle_answer;
pub use codec::{Archivable, Archived, Codec, Rkyv, Serde};
pub use type_hash::{self, TypeHash};

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}

    /// Channels are `static`s shared by every thread; futures move between executor threads.
    #[test]
    fn public_types_are_send_and_sync() {
        send_sync::<SendChannel<String>>();
        send_sync::<SendSyncChannel<u32, String>>();
        send_sync::<InvokeChannel<Vec<u8>, Vec<u8>>>();
        send_sync::<EventChannel<u64>>();
        send_sync::<RendererInvokeChannel<(), String>>();
        send_sync::<InvokeChannel<u32, u32, Serde>>();
        send::<TypedInvoke<String>>();
        send::<TypedInvoke<String, Serde>>();
        send::<TypedReply<u64>>();
    }
}
