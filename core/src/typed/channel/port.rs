//! A typed channel's messages through a [`MessagePort`]: [`SendChannel::post_port`] archives
//! the message into the port's ring (with the channel's fingerprint), and
//! [`SendChannel::on_port`] listens on a port: the listener reads the message in place
//! (`&Archived<T>`, validated by the receiver: a port's peer is untrusted).

use super::SendChannel;
use crate::port::error::PortError;
use crate::port::frame::Outgoing;
use crate::port::message_port::{MessageEvent, MessagePort};
use crate::typed::codec::{self, Archivable, Archived, Rkyv};

impl<T: Archivable> SendChannel<T, Rkyv> {
    /// Send `message` through `port`, moving `transfer` with it (as
    /// [`MessagePort::post_message`], typed).
    ///
    /// ```
    /// use electrode::typed::{SendChannel, TypeHash};
    /// use electrode::MessageChannel;
    /// use rkyv::{Archive, Deserialize, Serialize};
    /// use std::sync::mpsc;
    ///
    /// #[derive(Archive, Serialize, Deserialize, TypeHash)]
    /// struct Tick {
    ///     n: u64,
    /// }
    /// static TICKS: SendChannel<Tick> = SendChannel::new("ticks");
    ///
    /// let (a, b) = MessageChannel::new()?;
    /// let (tx, rx) = mpsc::channel();
    /// TICKS.on_port(&b, move |_event, tick| tx.send(tick.n.to_native()).unwrap());
    /// b.start();
    /// TICKS.post_port(&a, &Tick { n: 7 }, vec![])?;
    /// assert_eq!(rx.recv()?, 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn post_port(
        &self,
        port: &MessagePort,
        message: &T,
        transfer: Vec<MessagePort>,
    ) -> Result<(), PortError> {
        let fingerprint = self.fingerprint();
        codec::with_archive(message, |bytes| {
            Ok(port.post(Outgoing::Archive { bytes, fingerprint }, transfer))
        })?
    }

    /// Listen for this channel's messages on `port` (delivered once it is started). Messages
    /// of another type (a `Value`, another fingerprint) are skipped and logged; a malformed
    /// archive is logged and skipped. The ports a message carried are in `event.ports()`.
    pub fn on_port<F>(&self, port: &MessagePort, f: F)
    where
        F: Fn(&MessageEvent<'_>, &Archived<T>) + Send + Sync + 'static,
    {
        let name = self.name();
        let fingerprint = self.fingerprint();
        port.on_message(move |event| {
            let Some(payload) = event.payload() else {
                tracing::warn!(
                    channel = name,
                    "port: a Value message, not this channel's type"
                );
                return;
            };
            match codec::access::<T>(name, fingerprint, &payload) {
                Ok(message) => f(event, message),
                Err(why) => {
                    tracing::warn!(channel = name, "port: message not taken: {}", why.logged())
                }
            }
        });
    }
}
