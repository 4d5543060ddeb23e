//! The five kinds of typed channel, one per way a message goes, each in its own file with
//! both sides' methods: [`SendChannel`] (renderer → main, one way), [`SendSyncChannel`] and
//! [`InvokeChannel`] (renderer → main, answered), [`EventChannel`] (main → renderer, one way:
//! `webContents.send`, `event.reply`) and [`RendererInvokeChannel`] (main → renderer,
//! answered). A channel is a `static` of a contract module both sides compile: its name and
//! types are written once.

mod event;
mod invoke;
mod port;
mod renderer_invoke;
mod send;
mod send_sync;

pub use invoke::TypedReply;

use super::codec::Codec;
use super::fingerprint::{fingerprint, ChannelKind};
use std::marker::PhantomData;
use std::sync::OnceLock;
use type_hash::TypeHash;

/// What every channel kind holds: its name and its fingerprint, computed once.
struct Contract {
    name: &'static str,
    fingerprint: OnceLock<u64>,
}

impl Contract {
    const fn new(name: &'static str) -> Self {
        Contract {
            name,
            fingerprint: OnceLock::new(),
        }
    }

    fn fingerprint<Req: TypeHash, Rep: TypeHash, C: Codec>(&self, kind: ChannelKind) -> u64 {
        *self
            .fingerprint
            .get_or_init(|| fingerprint::<Req, Rep>(kind, C::ID))
    }
}

macro_rules! channel {
    (
        $(#[$doc:meta])*
        $name:ident <$req:ident $(, $rep:ident)?>, $kind:ident, $example:literal
    ) => {
        $(#[$doc])*
        pub struct $name<$req $(, $rep)?, C: Codec = super::codec::Rkyv> {
            contract: Contract,
            _types: PhantomData<fn($req, C) $(-> $rep)?>,
        }

        impl<$req: TypeHash $(, $rep: TypeHash)?, C: Codec> $name<$req $(, $rep)?, C> {
            /// The channel called `name`. A `const fn`: declare channels as `static`s of a
            /// contract module.
            #[doc = concat!("\n\n```\n", $example, "\n```")]
            pub const fn new(name: &'static str) -> Self {
                $name {
                    contract: Contract::new(name),
                    _types: PhantomData,
                }
            }

            /// The channel's name.
            pub fn name(&self) -> &'static str {
                self.contract.name
            }

            /// The schema fingerprint every message on this channel carries.
            pub fn fingerprint(&self) -> u64 {
                self.contract
                    .fingerprint::<$req, channel!(@rep $($rep)?), C>(ChannelKind::$kind)
            }
        }

        impl<$req $(, $rep)?, C: Codec> std::fmt::Debug for $name<$req $(, $rep)?, C> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("name", &self.contract.name)
                    .finish()
            }
        }
    };
    (@rep $rep:ident) => { $rep };
    (@rep) => { () };
}

channel! {
    /// A renderer → main one-way channel (`ipcRenderer.send` / `ipcMain.on`) carrying `T`.
    SendChannel<T>, Send,
    "use electrode::typed::SendChannel;\npub static LOG: SendChannel<String> = SendChannel::new(\"log\");"
}

channel! {
    /// A renderer → main channel answered synchronously (`ipcRenderer.sendSync` / a listener
    /// returning a value): request `Req`, reply `Rep`.
    SendSyncChannel<Req, Rep>, SendSync,
    "use electrode::typed::SendSyncChannel;\npub static CONFIG: SendSyncChannel<(), String> = SendSyncChannel::new(\"config\");"
}

channel! {
    /// A renderer → main channel answered by one handler (`ipcRenderer.invoke` /
    /// `ipcMain.handle`): request `Req`, reply `Rep`.
    InvokeChannel<Req, Rep>, Invoke,
    "use electrode::typed::InvokeChannel;\npub static ADD: InvokeChannel<(i64, i64), i64> = InvokeChannel::new(\"add\");"
}

channel! {
    /// A main → renderer one-way channel (`webContents.send`, `event.reply` /
    /// `ipcRenderer.on`) carrying `T`.
    EventChannel<T>, Event,
    "use electrode::typed::EventChannel;\npub static PROGRESS: EventChannel<u32> = EventChannel::new(\"progress\");"
}

channel! {
    /// A main → renderer channel answered by a renderer handler (`WebContents::invoke` /
    /// `IpcRenderer::handle`, beyond Electron): request `Req`, reply `Rep`.
    RendererInvokeChannel<Req, Rep>, RendererInvoke,
    "use electrode::typed::RendererInvokeChannel;\npub static TITLE: RendererInvokeChannel<(), String> = RendererInvokeChannel::new(\"title\");"
}
