//! Decoding a message: [`Head::parse`] reads and checks the kind, envelope and channel;
//! [`Head::decode_renderer`] is the one decoder of what a renderer sent (main's dispatcher runs it
//! on every frame, and so do the fuzz targets and the `hostile_decode` test through
//! the hidden `fuzzing` module); [`Head::decode_main`] is the renderer's decoder of what main sent.
//!
//! The bytes are a private, 16-aligned copy (never the shared ring, which the peer may rewrite
//! while it is read). A rejected request names the requester to answer ([`Rejected::answer`]),
//! so a caller waiting in a slot is answered with an error at once, whatever the reason.

use super::body::{Data, Payload};
use super::envelope::{args_offset, Codec, Envelope, ENVELOPE_LEN};
use super::kind::{Kind, MAX_CHANNEL_LEN};
use super::ports::{self, PortRecord};
use super::reply::{self, Answer, ReplyTo, Shape};
use crate::error::ReplyError;
use crate::wire::ArgsView;

/// A message's kind, envelope and channel, checked; its arguments not yet.
#[derive(Debug)]
pub(crate) struct Head<'a> {
    pub kind: Kind,
    pub env: Envelope,
    pub channel: &'a str,
    /// The argument bytes (unvalidated).
    pub args: &'a [u8],
}

/// Why main rejected a renderer's message, and whom to answer.
#[derive(Debug)]
pub(crate) struct Rejected {
    /// The reason, for the log.
    pub why: String,
    /// Who waits for an answer to this message and must get an error now.
    pub answer: Option<Unanswered>,
}

/// A waiting party a rejected message leaves behind.
#[derive(Debug)]
pub(crate) enum Unanswered {
    /// The renderer's own request (a slot or an async invoke).
    Requester(ReplyTo),
    /// Main's `WebContents::invoke`, whose answer was broken.
    MainCall {
        /// Main's id for the call.
        request_id: u64,
        /// What was wrong with the answer.
        error: ReplyError,
    },
}

/// What a renderer sent, validated.
#[derive(Debug)]
pub(crate) enum FromRenderer<'a> {
    /// `ipcRenderer.send`.
    Send {
        frame_id: u32,
        channel: &'a str,
        payload: Payload<'a>,
    },
    /// `ipcRenderer.sendSync`.
    SendSync {
        frame_id: u32,
        channel: &'a str,
        payload: Payload<'a>,
        reply: ReplyTo,
    },
    /// `ipcRenderer.invoke`.
    Invoke {
        frame_id: u32,
        channel: &'a str,
        payload: Payload<'a>,
        reply: ReplyTo,
    },
    /// The answer of a renderer handler to main's `WebContents::invoke`.
    HandlerReply { request_id: u64, answer: Answer },
    /// A frame announced itself.
    FrameOpen { frame_id: u32 },
    /// `ipcRenderer.postMessage`: one `Value` and the port ends it transfers.
    PostMessage {
        frame_id: u32,
        channel: &'a str,
        message: ArgsView<'a>,
        ports: Vec<PortRecord>,
    },
    /// A port end to forward through main (its fields, validated `Value`s, are checked by the
    /// broker).
    PortForward { args: ArgsView<'a> },
    /// A port end that crossed through main was closed (fields checked by the broker).
    PortClosed { args: ArgsView<'a> },
}

/// What main sent, validated (main is trusted, but a renderer still never acts on bytes it
/// has not checked).
#[derive(Debug)]
pub(crate) enum FromMain<'a> {
    /// `webContents.send` / `event.reply` / `send_to_frame`.
    Message {
        frame_id: u32,
        channel: &'a str,
        payload: Payload<'a>,
    },
    /// The answer to a slot request, too large for the slot.
    LargeReply {
        slot_index: u32,
        slot_gen: u32,
        answer: Result<Answer, ReplyError>,
    },
    /// The answer to an async invoke.
    Reply {
        request_id: u64,
        answer: Result<Answer, ReplyError>,
    },
    /// Main invokes a renderer handler.
    InvokeRenderer {
        request_id: u64,
        channel: &'a str,
        payload: Payload<'a>,
    },
    /// An async slot request's reply is published (its requester must be woken).
    SlotReady { slot_index: u32, slot_gen: u32 },
    /// `webContents.postMessage`: one `Value` and the port ends it transfers.
    PostMessage {
        frame_id: u32,
        channel: &'a str,
        message: ArgsView<'a>,
        ports: Vec<PortRecord>,
    },
}

/// A rejection, boxed: it is rare, and a small `Result` keeps the accepting path lean.
pub(crate) type Rejection = Box<Rejected>;

#[cold]
#[inline(never)]
fn rejected(why: impl Into<String>, answer: Option<Unanswered>) -> Rejection {
    Box::new(Rejected {
        why: why.into(),
        answer,
    })
}

impl<'a> Head<'a> {
    /// Check the kind (frame `tag`), the envelope and the channel of a message payload.
    #[inline]
    pub(crate) fn parse(tag: u16, payload: &'a [u8]) -> Result<Head<'a>, Rejection> {
        let kind = Kind::from_tag(tag)
            .ok_or_else(|| rejected(format!("unknown message kind {tag}"), None))?;
        let (env, channel_len) = Envelope::read(payload).ok_or_else(|| {
            rejected(
                format!(
                    "message of {} bytes is shorter than an envelope ({ENVELOPE_LEN} bytes)",
                    payload.len()
                ),
                None,
            )
        })?;
        // From here on the requester (if any) is known: every rejection answers it.
        let requester = || match kind {
            Kind::SendSync => Some(Unanswered::Requester(ReplyTo::Slot {
                index: env.slot_index,
                generation: env.slot_gen,
                notify: false,
            })),
            Kind::Invoke => Some(Unanswered::Requester(ReplyTo::of(&env))),
            _ => None,
        };
        if channel_len > MAX_CHANNEL_LEN {
            return Err(rejected(
                format!("channel name of {channel_len} bytes (the limit is {MAX_CHANNEL_LEN})"),
                requester(),
            ));
        }
        let off = args_offset(channel_len);
        if payload.len() < off {
            return Err(rejected("channel name runs past the message", requester()));
        }
        let channel = std::str::from_utf8(&payload[ENVELOPE_LEN..ENVELOPE_LEN + channel_len])
            .map_err(|_| rejected("channel name is not UTF-8", requester()))?;
        Ok(Head {
            kind,
            env,
            channel,
            args: &payload[off..],
        })
    }

    /// Where this message asks to be answered, if it is a request (known before the arguments
    /// are validated, so main can take the slot's lines over early).
    #[inline]
    pub(crate) fn reply_to(&self) -> Option<ReplyTo> {
        match self.kind {
            Kind::SendSync | Kind::Invoke => Some(ReplyTo::of(&self.env)),
            _ => None,
        }
    }

    /// The body as the envelope describes it: `Value` arguments are validated; an archive
    /// (which needs a fingerprint) is left to its typed channel.
    fn payload(&self) -> Result<Payload<'a>, String> {
        let fingerprint = self.env.fingerprint;
        let data = match Codec::from_byte(self.env.codec) {
            Some(Codec::Values) => {
                Data::Values(ArgsView::new(self.args).map_err(|e| format!("arguments: {e}"))?)
            }
            Some(Codec::Archive) if fingerprint != 0 => Data::Archive(self.args),
            Some(Codec::Archive) => return Err("an archive without a schema fingerprint".into()),
            None => return Err(format!("unknown codec {}", self.env.codec)),
        };
        Ok(Payload { fingerprint, data })
    }

    /// A `PostMessage` body: its one `Value` and its port records.
    pub(crate) fn ported(&self) -> Result<(ArgsView<'a>, Vec<PortRecord>), String> {
        if Codec::from_byte(self.env.codec) != Some(Codec::Values) || self.env.fingerprint != 0 {
            return Err("a port message must carry one Value".into());
        }
        ports::split(self.args, self.env.request_id)
    }

    /// A port message's body (one `Value`, validated; or an archive with its fingerprint, for
    /// its typed channel to validate) and its port records.
    pub(crate) fn ported_payload(&self) -> Result<(Payload<'a>, Vec<PortRecord>), String> {
        let fingerprint = self.env.fingerprint;
        match Codec::from_byte(self.env.codec) {
            Some(Codec::Values) if fingerprint == 0 => {
                let (view, records) = ports::split(self.args, self.env.request_id)?;
                Ok((
                    Payload {
                        fingerprint,
                        data: Data::Values(view),
                    },
                    records,
                ))
            }
            Some(Codec::Archive) if fingerprint != 0 => {
                let (bytes, records) = ports::split_trailer(self.args, self.env.request_id)?;
                Ok((
                    Payload {
                        fingerprint,
                        data: Data::Archive(bytes),
                    },
                    records,
                ))
            }
            _ => Err("a port message must carry one Value or one archive".into()),
        }
    }

    /// Decode a message a renderer sent (main's side).
    #[inline]
    pub(crate) fn decode_renderer(self) -> Result<FromRenderer<'a>, Rejection> {
        let shape = Shape::of_message(&self.env);
        #[cold]
        fn invalid(why: String, answer: Option<Unanswered>) -> Rejection {
            rejected(why, answer)
        }
        let payload =
            |answer: Option<Unanswered>| self.payload().map_err(|why| invalid(why, answer));
        let ported = || self.ported().map_err(|why| invalid(why, None));
        let Head {
            kind,
            env,
            channel,
            args,
        } = self;
        if !kind.sent_by_renderer() {
            return Err(rejected(
                format!("{kind:?} is not a renderer-to-main message"),
                None,
            ));
        }
        Ok(match kind {
            Kind::Send => FromRenderer::Send {
                frame_id: env.frame_id,
                channel,
                payload: payload(None)?,
            },
            Kind::SendSync => {
                // A sendSync is always answered in its slot, whatever its flags say.
                let reply = ReplyTo::Slot {
                    index: env.slot_index,
                    generation: env.slot_gen,
                    notify: false,
                };
                FromRenderer::SendSync {
                    frame_id: env.frame_id,
                    channel,
                    payload: payload(Some(Unanswered::Requester(reply)))?,
                    reply,
                }
            }
            Kind::Invoke => {
                let reply = ReplyTo::of(&env);
                FromRenderer::Invoke {
                    frame_id: env.frame_id,
                    channel,
                    payload: payload(Some(Unanswered::Requester(reply)))?,
                    reply,
                }
            }
            Kind::HandlerReply => {
                let request_id = env.request_id;
                let answer = reply::decode(args, shape).map_err(|error| {
                    rejected(
                        format!("handler reply: {error}"),
                        Some(Unanswered::MainCall { request_id, error }),
                    )
                })?;
                FromRenderer::HandlerReply { request_id, answer }
            }
            Kind::FrameOpen => FromRenderer::FrameOpen {
                frame_id: env.frame_id,
            },
            Kind::PostMessage => {
                let (message, ports) = ported()?;
                FromRenderer::PostMessage {
                    frame_id: env.frame_id,
                    channel,
                    message,
                    ports,
                }
            }
            Kind::PortForward | Kind::PortClosed => {
                let args = match payload(None)?.data {
                    Data::Values(args) => args,
                    Data::Archive(_) => {
                        return Err(rejected("a port control message must carry Values", None))
                    }
                };
                if kind == Kind::PortForward {
                    FromRenderer::PortForward { args }
                } else {
                    FromRenderer::PortClosed { args }
                }
            }
            Kind::Message
            | Kind::LargeReply
            | Kind::Reply
            | Kind::InvokeRenderer
            | Kind::SlotReady => {
                unreachable!("main's kinds were refused above")
            }
        })
    }

    /// Decode a message main sent (the renderer's side). The error is the reason, for the log.
    pub(crate) fn decode_main(self) -> Result<FromMain<'a>, String> {
        let shape = Shape::of_message(&self.env);
        let payload = || self.payload();
        let ported = || self.ported();
        let Head {
            kind,
            env,
            channel,
            args,
        } = self;
        Ok(match kind {
            Kind::Message => FromMain::Message {
                frame_id: env.frame_id,
                channel,
                payload: payload()?,
            },
            Kind::LargeReply => FromMain::LargeReply {
                slot_index: env.slot_index,
                slot_gen: env.slot_gen,
                answer: reply::decode(args, shape),
            },
            Kind::Reply => FromMain::Reply {
                request_id: env.request_id,
                answer: reply::decode(args, shape),
            },
            Kind::InvokeRenderer => FromMain::InvokeRenderer {
                request_id: env.request_id,
                channel,
                payload: payload()?,
            },
            Kind::SlotReady => FromMain::SlotReady {
                slot_index: env.slot_index,
                slot_gen: env.slot_gen,
            },
            Kind::PostMessage => {
                let (message, ports) = ported()?;
                FromMain::PostMessage {
                    frame_id: env.frame_id,
                    channel,
                    message,
                    ports,
                }
            }
            other => return Err(format!("{other:?} is not a main-to-renderer message")),
        })
    }
}

/// Decode one message a renderer sent: frame `tag`, `payload` a private 16-aligned copy.
pub(crate) fn from_renderer(tag: u16, payload: &[u8]) -> Result<FromRenderer<'_>, Rejection> {
    Head::parse(tag, payload)?.decode_renderer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args;
    use crate::message::encode;
    use crate::message::kind::FLAG_REPLY_VIA_RING;

    fn msg(env: Envelope, channel: &str) -> Vec<u8> {
        encode::to_vec(&env, channel, (&args![1, "two"]).into()).unwrap()
    }

    #[test]
    fn decodes_what_a_renderer_writes() {
        let env = Envelope {
            frame_id: 2,
            slot_index: 5,
            slot_gen: 6,
            ..Envelope::default()
        };
        let m = msg(env, "chan");
        match from_renderer(Kind::Invoke as u16, &m).unwrap() {
            FromRenderer::Invoke {
                frame_id,
                channel,
                payload,
                reply,
            } => {
                let args = payload.as_values(channel).unwrap();
                assert_eq!((frame_id, channel, args.len()), (2, "chan", 2));
                assert_eq!(
                    reply,
                    ReplyTo::Slot {
                        index: 5,
                        generation: 6,
                        notify: false
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        let ring = Envelope {
            flags: FLAG_REPLY_VIA_RING,
            request_id: 9,
            ..env
        };
        let m = msg(ring, "chan");
        assert!(matches!(
            from_renderer(Kind::Invoke as u16, &m),
            Ok(FromRenderer::Invoke {
                reply: ReplyTo::Ring { request_id: 9 },
                ..
            })
        ));
    }

    #[test]
    fn a_rejected_request_names_its_requester() {
        let env = Envelope {
            slot_index: 3,
            slot_gen: 4,
            ..Envelope::default()
        };
        let mut m = msg(env, "chan");
        // Garbage arguments.
        let off = args_offset(4);
        m[off..].fill(0xAB);
        let r = from_renderer(Kind::SendSync as u16, &m).unwrap_err();
        assert!(matches!(
            r.answer,
            Some(Unanswered::Requester(ReplyTo::Slot {
                index: 3,
                generation: 4,
                notify: false
            }))
        ));
        // A channel length past the message.
        let mut m = msg(env, "chan");
        m[2..4].copy_from_slice(&4000u16.to_le_bytes());
        let r = from_renderer(Kind::Invoke as u16, &m).unwrap_err();
        assert!(r.answer.is_some(), "{}", r.why);
        // Too short to name anyone.
        let r = from_renderer(Kind::Invoke as u16, &m[..8]).unwrap_err();
        assert!(r.answer.is_none());
        // Main's kinds are refused.
        let m = msg(env, "chan");
        for k in [
            Kind::Message,
            Kind::LargeReply,
            Kind::Reply,
            Kind::InvokeRenderer,
            Kind::SlotReady,
        ] {
            assert!(from_renderer(k as u16, &m).is_err(), "{k:?}");
            assert!(!k.sent_by_renderer());
        }
    }
}
