//! A typed channel's messages through a [`MessagePort`]: [`SendChannel::post_port`] archives
//! the message into the port's ring (with the channel's fingerprint);
//! [`SendChannel::on_port`] listens on a started port and [`SendChannel::recv_port`] takes the
//! next message of one that is not started. Either way the message is read in place
//! (`&Archived<T>`, validated by the receiver first: a port's peer is untrusted).

use super::SendChannel;
use crate::message::body::Refusal;
use crate::port::error::PortError;
use crate::port::frame::Outgoing;
use crate::port::message_port::{MessageEvent, MessagePort, PortMessageRef};
use crate::typed::codec::{self, Archivable, Archived, Codec, Rkyv};
use std::time::Duration;

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

    /// Take the next message of `port` (not started), waiting up to `timeout`, and lend it to
    /// `f` read in place: `&Archived<T>` inside the port's private copy of the message (copied
    /// out of the ring, then validated: no deserialization, no allocation in a receive loop).
    /// The ports the message carried are in the [`PortMessageRef`] (closed unless `f` takes
    /// them).
    ///
    /// A message of another type (a `Value`, or another schema fingerprint) is consumed and
    /// fails with [`PortError::Type`]; the port stays open. An archive with this channel's
    /// fingerprint that fails validation is the peer's fault: the port breaks
    /// ([`PortError::Broken`], and the other end's `close` fires).
    ///
    /// ```
    /// use electrode::typed::{SendChannel, TypeHash};
    /// use electrode::MessageChannel;
    /// use rkyv::{Archive, Deserialize, Serialize};
    /// use std::time::Duration;
    ///
    /// #[derive(Archive, Serialize, Deserialize, TypeHash)]
    /// struct Frame {
    ///     seq: u64,
    ///     pixels: [u8; 32],
    /// }
    /// static FRAMES: SendChannel<Frame> = SendChannel::new("frames");
    ///
    /// let (a, b) = MessageChannel::new()?;
    /// FRAMES.post_port(&a, &Frame { seq: 1, pixels: [9; 32] }, vec![])?;
    /// let wait = Some(Duration::from_secs(5));
    /// let sum = FRAMES.recv_port(&b, wait, |frame, _message| {
    ///     frame.seq.to_native() + frame.pixels.iter().map(|&p| u64::from(p)).sum::<u64>()
    /// })?;
    /// assert_eq!(sum, 1 + 9 * 32);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_port<R>(
        &self,
        port: &MessagePort,
        timeout: Option<Duration>,
        f: impl FnOnce(&Archived<T>, &mut PortMessageRef<'_>) -> R,
    ) -> Result<R, PortError> {
        let name = self.name();
        let fingerprint = self.fingerprint();
        let read = port.recv_with(timeout, |m| {
            let Some(typed) = m.typed else {
                return Err(Refusal::Type(codec::mismatch(
                    name,
                    Rkyv::ID,
                    fingerprint,
                    &crate::message::body::Payload {
                        fingerprint: 0,
                        data: crate::message::body::Data::Archive(&[]),
                    },
                )));
            };
            if typed.fingerprint != fingerprint {
                return Err(Refusal::Type(codec::mismatch(
                    name,
                    Rkyv::ID,
                    fingerprint,
                    &typed.payload(),
                )));
            }
            codec::validate::<T>(name, typed.bytes).map(|archived| f(archived, m))
        })?;
        read.map_err(|refusal| match refusal {
            Refusal::Type(why) => PortError::Type(why),
            Refusal::Malformed { .. } => port.broken(refusal.logged()),
        })
    }
}
