//! What a message carries after its channel name: Electron's dynamic arguments ([`Value`]s in
//! the wire format) or one rkyv archive of a typed channel. [`Body`] is the sender's side (what
//! to encode), [`Payload`] the receiver's (checked as far as the message layer can: `Value`
//! arguments are validated here; an archive is validated by the typed channel that knows its
//! type, before anyone reads it).

use super::envelope::Codec;
use crate::value::Value;
use crate::wire::ArgsView;

/// The body to encode.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Body<'a> {
    /// `Value` arguments.
    Values(&'a [Value]),
    /// An archive, already serialized (16-aligned bytes).
    Archive(&'a [u8]),
    /// `Value` arguments followed by a trailer of transferred-port records
    /// (`port::frame`): `PostMessage` messages, to a renderer, to main, or through a port.
    Ported(&'a [Value], &'a [u8]),
    /// An archive followed by a trailer of transferred-port records: a typed port message.
    PortedArchive(&'a [u8], &'a [u8]),
}

impl<'a> From<&'a [Value]> for Body<'a> {
    fn from(v: &'a [Value]) -> Self {
        Body::Values(v)
    }
}

impl<'a> From<&'a Vec<Value>> for Body<'a> {
    fn from(v: &'a Vec<Value>) -> Self {
        Body::Values(v)
    }
}

impl Body<'_> {
    /// The codec the envelope names for this body.
    pub(crate) fn codec(&self) -> Codec {
        match self {
            Body::Values(_) | Body::Ported(..) => Codec::Values,
            Body::Archive(_) | Body::PortedArchive(..) => Codec::Archive,
        }
    }
}

/// A received body and the schema fingerprint its envelope carried.
#[derive(Debug)]
pub(crate) struct Payload<'a> {
    /// 0 for a `Value` message, else the typed channel's fingerprint.
    pub fingerprint: u64,
    /// The body.
    pub data: Data<'a>,
}

/// A received body.
#[derive(Debug)]
pub(crate) enum Data<'a> {
    /// `Value` arguments, validated.
    Values(ArgsView<'a>),
    /// An archive, not yet validated (only its channel knows the type): a 16-aligned private
    /// copy.
    Archive(&'a [u8]),
}

impl<'a> Payload<'a> {
    /// The `Value` arguments of a message sent to a `Value` listener or handler; otherwise the
    /// type error to report.
    pub(crate) fn as_values(&self, channel: &str) -> Result<&ArgsView<'a>, String> {
        match (&self.data, self.fingerprint) {
            (Data::Values(args), 0) => Ok(args),
            _ => Err(format!(
                "channel '{channel}' takes Value arguments, but the message is typed \
                 ({}, fingerprint {:016x})",
                self.codec_name(),
                self.fingerprint
            )),
        }
    }

    /// How the body is encoded, for error messages.
    pub(crate) fn codec_name(&self) -> &'static str {
        match self.data {
            Data::Values(_) => "Value encoding",
            Data::Archive(_) => "rkyv archive",
        }
    }
}

/// Why a listener or handler did not take a message.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The message is not of the listener's type (a `Value` message on a typed channel, the
    /// reverse, or another fingerprint). The text says what each side has.
    Type(String),
    /// An archive with the right fingerprint that failed validation: a protocol violation.
    Malformed {
        /// What the sender is told (no addresses of the receiver's memory).
        why: String,
        /// The validator's reason, for the receiver's log only (it may name addresses).
        detail: String,
    },
}

impl Refusal {
    /// The whole reason, for the receiver's log (a malformed archive's detail included).
    pub(crate) fn logged(&self) -> String {
        match self {
            Refusal::Type(s) => s.clone(),
            Refusal::Malformed { why, detail } => format!("{why}: {detail}"),
        }
    }

    /// The error a waiting requester is answered with (a `TypeError` carrying [`why`](Self::why)).
    #[cold]
    pub(crate) fn error(&self) -> crate::error::RemoteError {
        crate::error::RemoteError::named("TypeError", self.why())
    }

    /// The text an error answer carries.
    pub(crate) fn why(&self) -> &str {
        match self {
            Refusal::Type(s) | Refusal::Malformed { why: s, .. } => s,
        }
    }
}
