//! Encoding a message: [`plan`] checks and sizes it (one walk over the values), [`Planned::write`]
//! writes it into the buffer the caller reserved (one more walk). Everything the receiver would
//! reject is refused here, at the call, before a byte is allocated or written: a channel name
//! over [`MAX_CHANNEL_LEN`], arguments nested too deep (with the value's path), a message over
//! [`MAX_MESSAGE_LEN`].

use super::body::Body;
use super::envelope::{args_offset, Envelope};
use super::kind::{MAX_CHANNEL_LEN, MAX_MESSAGE_LEN};
use crate::error::SendError;
use crate::wire::{self, EncodeError};

/// A message that passed every check, sized: it will fit `len()` bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Planned {
    prefix: usize,
    body: BodyPlan,
}

/// How the body will be written.
#[derive(Clone, Copy, Debug)]
enum BodyPlan {
    Values(wire::Plan),
    /// An archive of this many bytes, copied as it is.
    Archive(usize),
    /// `Value`s, then a trailer of this many bytes copied as it is.
    Ported(wire::Plan, usize),
    /// An archive of this many bytes, then a trailer of that many, both copied as they are.
    PortedArchive(usize, usize),
}

/// Check a message and size it. `limit` is the largest message the receiver accepts
/// ([`MAX_MESSAGE_LEN`] for both sides today).
pub(crate) fn plan(channel: &str, body: Body<'_>) -> Result<Planned, SendError> {
    plan_within(channel, body, MAX_MESSAGE_LEN)
}

/// [`plan`] against a given size limit.
pub(crate) fn plan_within(
    channel: &str,
    body: Body<'_>,
    limit: usize,
) -> Result<Planned, SendError> {
    if channel.len() > MAX_CHANNEL_LEN {
        return Err(SendError::ChannelTooLong {
            len: channel.len(),
            limit: MAX_CHANNEL_LEN,
        });
    }
    let prefix = args_offset(channel.len());
    let values = |args| {
        wire::plan(args).map_err(|e| match e {
            EncodeError::TooLarge { size } => SendError::TooLarge {
                size: prefix + size,
                limit,
            },
            e => SendError::Unencodable(e),
        })
    };
    let body = match body {
        Body::Values(args) => BodyPlan::Values(values(args)?),
        Body::Archive(bytes) => BodyPlan::Archive(bytes.len()),
        Body::Ported(args, trailer) => BodyPlan::Ported(values(args)?, trailer.len()),
        Body::PortedArchive(bytes, trailer) => BodyPlan::PortedArchive(bytes.len(), trailer.len()),
    };
    let planned = Planned { prefix, body };
    if planned.len() > limit {
        return Err(SendError::TooLarge {
            size: planned.len(),
            limit,
        });
    }
    Ok(planned)
}

impl Planned {
    /// An upper bound of the message's size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.prefix
            + match self.body {
                BodyPlan::Values(p) => p.len(),
                BodyPlan::Archive(n) => n,
                BodyPlan::Ported(p, n) => p.len() + n,
                BodyPlan::PortedArchive(a, t) => a + t,
            }
    }

    /// Write the message planned for `channel` and `body` into `buf` (at least
    /// [`len`](Self::len) bytes); returns its exact length. The envelope's codec byte is set
    /// from the body.
    pub(crate) fn write(
        &self,
        env: &Envelope,
        channel: &str,
        body: Body<'_>,
        buf: &mut [u8],
    ) -> Result<usize, SendError> {
        debug_assert_eq!(self.prefix, args_offset(channel.len()));
        if buf.len() < self.prefix {
            return Err(SendError::TooLarge {
                size: self.len(),
                limit: buf.len(),
            });
        }
        let env = Envelope {
            codec: body.codec() as u8,
            ..*env
        };
        env.write_prefix(channel, buf);
        match (body, self.body) {
            // The plan ruled out every failure but a buffer shorter than the plan said.
            (Body::Values(args), BodyPlan::Values(plan)) => {
                wire::encode_planned(args, plan, &mut buf[self.prefix..])
                    .map(|n| self.prefix + n)
                    .map_err(SendError::Unencodable)
            }
            (Body::Archive(bytes), BodyPlan::Archive(n)) if n == bytes.len() => {
                let end = self.prefix + n;
                let Some(out) = buf.get_mut(self.prefix..end) else {
                    return Err(SendError::TooLarge {
                        size: end,
                        limit: buf.len(),
                    });
                };
                out.copy_from_slice(bytes);
                Ok(end)
            }
            (Body::Ported(args, trailer), BodyPlan::Ported(plan, n)) if n == trailer.len() => {
                let at = self.prefix
                    + wire::encode_planned(args, plan, &mut buf[self.prefix..])
                        .map_err(SendError::Unencodable)?;
                let Some(out) = buf.get_mut(at..at + n) else {
                    return Err(SendError::TooLarge {
                        size: at + n,
                        limit: buf.len(),
                    });
                };
                out.copy_from_slice(trailer);
                Ok(at + n)
            }
            (Body::PortedArchive(bytes, trailer), BodyPlan::PortedArchive(a, t))
                if a == bytes.len() && t == trailer.len() =>
            {
                let end = self.prefix + a + t;
                let Some(out) = buf.get_mut(self.prefix..end) else {
                    return Err(SendError::TooLarge {
                        size: end,
                        limit: buf.len(),
                    });
                };
                out[..a].copy_from_slice(bytes);
                out[a..].copy_from_slice(trailer);
                Ok(end)
            }
            _ => unreachable!("a message is written with the body it was planned for"),
        }
    }

    /// The message as an owned byte vector (for queues and chunked sends).
    pub(crate) fn to_vec(
        self,
        env: &Envelope,
        channel: &str,
        body: Body<'_>,
    ) -> Result<Vec<u8>, SendError> {
        let mut v = vec![0u8; self.len()];
        let n = self.write(env, channel, body, &mut v)?;
        v.truncate(n);
        Ok(v)
    }
}

/// Plan and write a message into an owned vector.
pub(crate) fn to_vec(env: &Envelope, channel: &str, body: Body<'_>) -> Result<Vec<u8>, SendError> {
    plan(channel, body)?.to_vec(env, channel, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args;
    use crate::value::Value;

    #[test]
    fn refuses_what_the_receiver_would_reject() {
        let long = "x".repeat(MAX_CHANNEL_LEN + 1);
        assert_eq!(
            plan(&long, Body::Values(&[])).unwrap_err(),
            SendError::ChannelTooLong {
                len: MAX_CHANNEL_LEN + 1,
                limit: MAX_CHANNEL_LEN
            }
        );
        assert!(plan(&long[1..], Body::Values(&[])).is_ok());
        let mut deep = Value::Null;
        for _ in 0..wire::MAX_DEPTH + 1 {
            deep = Value::Array(vec![deep]);
        }
        match plan("c", Body::Values(&[deep])).unwrap_err() {
            SendError::Unencodable(EncodeError::TooDeep { path }) => {
                assert!(path.starts_with("args[0][0]"), "{path}")
            }
            other => panic!("{other:?}"),
        }
        let big = args![vec![0u8; 4096]];
        match plan_within("c", (&big).into(), 1024).unwrap_err() {
            SendError::TooLarge { size, limit } => {
                assert!(size > 4096, "{size}");
                assert_eq!(limit, 1024);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn writes_what_it_planned() {
        let args = args!["hello", 1, vec![1u8, 2]];
        let p = plan("chan", (&args).into()).unwrap();
        let env = Envelope {
            frame_id: 3,
            ..Envelope::default()
        };
        let v = p.to_vec(&env, "chan", (&args).into()).unwrap();
        assert!(v.len() <= p.len());
        assert_eq!(Envelope::read(&v).unwrap(), (env, 4));
    }
}
