//! The main relay's table of requests in flight (docs/REMOTE.md, "Slots do not cross the
//! network"): every request from the remote renderer is rewritten to ask for a ring reply
//! under a relay-chosen id, and the table remembers where the answer really goes.
//!
//! The table is bounded: a remote renderer with more requests outstanding than it could have
//! (its slots plus its async invokes) breaks the protocol, and is refused.

use crate::message::envelope::{Envelope, ENVELOPE_LEN};
use crate::message::kind::{Kind, FLAG_ASYNC_SLOT, FLAG_REPLY_VIA_RING};
use crate::message::reply::ReplyTo;
use rustc_hash::FxHashMap;
use std::fmt;

/// Why a request could not be rewritten (a violation of the remote link).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RewriteError {
    /// The message is shorter than its envelope.
    Short,
    /// More requests outstanding than the limit.
    TooMany(usize),
}

impl fmt::Display for RewriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RewriteError::Short => f.write_str("request shorter than its envelope"),
            RewriteError::TooMany(max) => write!(f, "more than {max} requests outstanding"),
        }
    }
}

impl std::error::Error for RewriteError {}

/// Requests sent on to main and not answered yet.
#[derive(Debug)]
pub(crate) struct Outstanding {
    next: u64,
    origins: FxHashMap<u64, ReplyTo>,
    max: usize,
}

impl Outstanding {
    /// A table of at most `max` requests.
    pub(crate) fn new(max: usize) -> Outstanding {
        Outstanding {
            next: 1,
            origins: FxHashMap::default(),
            max,
        }
    }

    /// Requests outstanding.
    pub(crate) fn len(&self) -> usize {
        self.origins.len()
    }

    /// Rewrite message `bytes` of ring tag `tag` in place when it is a request: it then asks
    /// for a ring reply under a fresh id, which is returned (the ring meta to send it with).
    /// Other messages are left alone (`Ok(None)`).
    pub(crate) fn rewrite(
        &mut self,
        tag: u16,
        bytes: &mut [u8],
    ) -> Result<Option<u64>, RewriteError> {
        if !matches!(Kind::from_tag(tag), Some(Kind::Invoke | Kind::SendSync)) {
            return Ok(None);
        }
        if bytes.len() < ENVELOPE_LEN {
            return Err(RewriteError::Short);
        }
        if self.origins.len() >= self.max {
            return Err(RewriteError::TooMany(self.max));
        }
        let (env, _) = Envelope::read(bytes).ok_or(RewriteError::Short)?;
        let id = self.next;
        self.next += 1;
        self.origins.insert(id, ReplyTo::of(&env));
        bytes[0] = (env.flags | FLAG_REPLY_VIA_RING) & !FLAG_ASYNC_SLOT;
        bytes[16..24].copy_from_slice(&id.to_le_bytes());
        Ok(Some(id))
    }

    /// Where the answer with relay id `id` goes, once (`None`: not a request of ours, e.g.
    /// main answered after the renderer was gone, or a second answer).
    pub(crate) fn answered(&mut self, id: u64) -> Option<ReplyTo> {
        self.origins.remove(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: Kind, env: Envelope) -> (u16, Vec<u8>) {
        let mut bytes = vec![0u8; 48];
        env.write_prefix("ch", &mut bytes);
        (kind as u16, bytes)
    }

    #[test]
    fn slot_requests_become_ring_requests_and_their_answers_find_the_slot() {
        let mut t = Outstanding::new(8);
        let env = Envelope {
            flags: FLAG_ASYNC_SLOT,
            frame_id: 3,
            slot_index: 5,
            slot_gen: 9,
            ..Envelope::default()
        };
        let (tag, mut bytes) = request(Kind::Invoke, env);
        let id = t.rewrite(tag, &mut bytes).unwrap().unwrap();
        let (seen, _) = Envelope::read(&bytes).unwrap();
        assert_eq!(seen.flags, FLAG_REPLY_VIA_RING);
        assert_eq!(seen.request_id, id);
        assert_eq!(
            (seen.frame_id, seen.slot_index),
            (3, 5),
            "the rest is untouched"
        );
        assert_eq!(
            t.answered(id),
            Some(ReplyTo::Slot {
                index: 5,
                generation: 9,
                notify: true
            })
        );
        assert_eq!(t.answered(id), None, "answered once");
    }

    #[test]
    fn ring_requests_keep_their_own_id_behind_the_relay_one() {
        let mut t = Outstanding::new(8);
        let env = Envelope {
            flags: FLAG_REPLY_VIA_RING,
            request_id: 77,
            ..Envelope::default()
        };
        let (tag, mut bytes) = request(Kind::SendSync, env);
        let id = t.rewrite(tag, &mut bytes).unwrap().unwrap();
        assert_eq!(t.answered(id), Some(ReplyTo::Ring { request_id: 77 }));
    }

    #[test]
    fn other_messages_pass_and_floods_and_short_requests_are_refused() {
        let mut t = Outstanding::new(2);
        let (_, mut bytes) = request(Kind::Send, Envelope::default());
        let before = bytes.clone();
        assert_eq!(t.rewrite(Kind::Send as u16, &mut bytes), Ok(None));
        assert_eq!(bytes, before);
        let mut short = vec![0u8; ENVELOPE_LEN - 1];
        assert_eq!(
            t.rewrite(Kind::Invoke as u16, &mut short),
            Err(RewriteError::Short)
        );
        for _ in 0..2 {
            let (tag, mut b) = request(Kind::Invoke, Envelope::default());
            t.rewrite(tag, &mut b).unwrap();
        }
        let (tag, mut b) = request(Kind::Invoke, Envelope::default());
        assert_eq!(t.rewrite(tag, &mut b), Err(RewriteError::TooMany(2)));
        assert_eq!(t.len(), 2);
    }
}
