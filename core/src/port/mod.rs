//! MessagePorts: [`MessageChannel`] makes two entangled [`MessagePort`]s over one port
//! segment (two shared-memory rings mapped only by the two processes holding the ends; main
//! is not on the data path). Ports travel inside port messages, `WebContents::post_message`
//! and `IpcRenderer::post_message`; a moved port leaves its old handle neutered.
//!
//! Data flows one way: [`token`] (names for ends in flight), [`local`] (which sides this
//! process holds), [`inbox`] (where moving ends wait for their receiver), [`route`] (where
//! ends leaving the process go: installed by the wing that owns the connection), [`frame`] (a
//! port message in a ring), [`exclusive`] (an end's endpoint, one thread at a time), [`message_port`] (the handle), [`transfer`] (ports in transit), [`deliver`] (a started port's
//! thread), [`channel`] (making a channel).

pub(crate) mod channel;
pub(crate) mod deliver;
pub(crate) mod error;
pub(crate) mod exclusive;
pub(crate) mod frame;
pub(crate) mod inbox;
pub(crate) mod local;
pub(crate) mod message_port;
pub(crate) mod route;
pub(crate) mod token;
pub(crate) mod transfer;

#[cfg(test)]
mod tests;
