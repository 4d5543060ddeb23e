//! The credit window of one direction of a relay link (docs/REMOTE.md, "Backpressure").
//!
//! The sender ([`Credit`]) sends a record only while less than `window` bytes are
//! unacknowledged (a message taken from a ring cannot be put back, so the record that crosses
//! the window still goes: at most `window` plus one message is ever in flight). The
//! receiver ([`Intake`]) checks that the peer keeps to that, counts what it has written into
//! its ring, and says when an acknowledgement is due. A network callback never blocks: what
//! does not fit the ring yet waits in the receiver's backlog, which the window bounds.

use std::fmt;

/// A peer broke the window protocol (a violation: it is disconnected).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FlowError {
    /// It sent past its window.
    PastWindow { in_flight: u64, window: u64 },
    /// It acknowledged bytes never sent, or went backwards.
    BadAck { acked: u64, sent: u64, before: u64 },
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowError::PastWindow { in_flight, window } => write!(
                f,
                "peer has {in_flight} bytes in flight, past its {window}-byte window"
            ),
            FlowError::BadAck {
                acked,
                sent,
                before,
            } => write!(
                f,
                "peer acknowledged {acked} bytes (sent {sent}, acknowledged before {before})"
            ),
        }
    }
}

impl std::error::Error for FlowError {}

/// The sending side: how much may go now.
#[derive(Debug)]
pub(crate) struct Credit {
    window: u64,
    sent: u64,
    acked: u64,
}

impl Credit {
    /// A sender with `window` bytes of credit.
    pub(crate) fn new(window: u64) -> Credit {
        Credit {
            window,
            sent: 0,
            acked: 0,
        }
    }

    /// Bytes sent and not yet acknowledged.
    pub(crate) fn in_flight(&self) -> u64 {
        self.sent - self.acked
    }

    /// Whether another record may go (of any size: the one that crosses the window is the
    /// last until an acknowledgement; the receiver allows the same).
    pub(crate) fn may_send(&self) -> bool {
        self.in_flight() < self.window
    }

    /// `size` bytes went.
    pub(crate) fn sent(&mut self, size: u64) {
        debug_assert!(self.may_send());
        self.sent += size;
    }

    /// The peer says it has written `total` bytes in all.
    pub(crate) fn acked(&mut self, total: u64) -> Result<(), FlowError> {
        if total < self.acked || total > self.sent {
            return Err(FlowError::BadAck {
                acked: total,
                sent: self.sent,
                before: self.acked,
            });
        }
        self.acked = total;
        Ok(())
    }
}

/// The receiving side: checks the peer's window, and says when to acknowledge.
#[derive(Debug)]
pub(crate) struct Intake {
    window: u64,
    received: u64,
    written: u64,
    told: u64,
}

impl Intake {
    /// A receiver that granted `window` bytes.
    pub(crate) fn new(window: u64) -> Intake {
        Intake {
            window,
            received: 0,
            written: 0,
            told: 0,
        }
    }

    /// `size` bytes arrived. Refused when the peer already had its whole window
    /// unacknowledged, as [`Credit::may_send`] would not have sent it.
    pub(crate) fn arrived(&mut self, size: u64) -> Result<(), FlowError> {
        let in_flight = self.received - self.told;
        if in_flight >= self.window {
            return Err(FlowError::PastWindow {
                in_flight: in_flight + size,
                window: self.window,
            });
        }
        self.received += size;
        Ok(())
    }

    /// `size` bytes of what arrived are now in the ring.
    pub(crate) fn written(&mut self, size: u64) {
        self.written += size;
        debug_assert!(self.written <= self.received);
    }

    /// Bytes arrived and not yet in the ring (the backlog).
    pub(crate) fn backlog(&self) -> u64 {
        self.received - self.written
    }

    /// The total to acknowledge now, if one is due: once half the window was written since
    /// the last acknowledgement, or once the backlog is empty with anything unacknowledged
    /// (so a sender waiting for credit always hears, however small the window's use).
    pub(crate) fn ack_due(&self) -> Option<u64> {
        let unacked = self.written - self.told;
        let due = unacked > 0 && (unacked >= self.window / 2 || self.backlog() == 0);
        due.then_some(self.written)
    }

    /// An acknowledgement of `total` went.
    pub(crate) fn told(&mut self, total: u64) {
        debug_assert!(total >= self.told && total <= self.written);
        self.told = total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sender and a receiver kept in step: whatever the sender may send, the receiver takes.
    #[test]
    fn a_sender_that_keeps_its_window_is_never_refused_and_always_hears_back() {
        let window = 1000;
        let (mut credit, mut intake) = (Credit::new(window), Intake::new(window));
        let sizes = [16u64, 400, 999, 1000, 2500, 16, 16, 600, 8];
        let mut queue: Vec<u64> = sizes.iter().copied().cycle().take(200).collect();
        let mut delivered = 0;
        let mut rounds = 0;
        while delivered < 200 {
            rounds += 1;
            assert!(
                rounds < 10_000,
                "stalled: credit {credit:?}, intake {intake:?}"
            );
            // Send all the credit allows.
            while let Some(&size) = queue.first() {
                if !credit.may_send() {
                    break;
                }
                credit.sent(size);
                intake.arrived(size).expect("within the window");
                queue.remove(0);
            }
            // The receiver writes one record's worth of its backlog, then acknowledges if due.
            let backlog = intake.backlog();
            if backlog > 0 {
                intake.written(backlog.min(700));
                if intake.backlog() == 0 {
                    delivered = 200 - queue.len();
                }
            }
            if let Some(total) = intake.ack_due() {
                intake.told(total);
                credit.acked(total).unwrap();
            }
            assert!(credit.in_flight() < window + 2500);
        }
        assert_eq!(credit.in_flight(), 0);
    }

    #[test]
    fn a_peer_past_its_window_is_refused() {
        let mut intake = Intake::new(100);
        intake.arrived(60).unwrap();
        // The record that crosses the window is allowed: it was sent with credit left.
        intake.arrived(5000).unwrap();
        assert_eq!(
            intake.arrived(1),
            Err(FlowError::PastWindow {
                in_flight: 5061,
                window: 100
            })
        );
    }

    #[test]
    fn acknowledgements_of_unsent_or_earlier_bytes_are_refused() {
        let mut c = Credit::new(100);
        c.sent(50);
        c.acked(20).unwrap();
        assert!(c.acked(10).is_err(), "backwards");
        assert!(c.acked(51).is_err(), "never sent");
        c.acked(50).unwrap();
        assert_eq!(c.in_flight(), 0);
    }

    #[test]
    fn acknowledgements_wait_for_half_the_window_while_a_backlog_remains() {
        let mut i = Intake::new(100);
        i.arrived(90).unwrap();
        i.written(30);
        assert_eq!(i.ack_due(), None, "30 written, 60 still to write");
        i.written(30);
        assert_eq!(i.ack_due(), Some(60));
        i.told(60);
        i.written(30);
        assert_eq!(i.ack_due(), Some(90), "backlog empty: tell the rest");
    }
}
