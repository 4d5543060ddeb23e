//! [`MessageChannel`]: a new channel, made where it is asked for (main or a renderer alike):
//! one port segment (two rings), whose two ends become two [`MessagePort`]s.

use super::error::PortError;
use super::message_port::MessagePort;
use electrode_shm::{PortConfig, PortSegment, Side};

/// Electron's `MessageChannelMain` (and the DOM's `MessageChannel`).
#[derive(Debug)]
pub struct MessageChannel;

impl MessageChannel {
    /// A new channel: its two entangled ports.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Result<(MessagePort, MessagePort), PortError> {
        let segment = PortSegment::create(PortConfig::default())
            .map_err(|e| PortError::Create(e.to_string()))?;
        let end = |side| {
            segment
                .end(side)
                .map_err(|e| PortError::Create(e.to_string()))
        };
        Ok((
            MessagePort::from_end(end(Side::A)?),
            MessagePort::from_end(end(Side::B)?),
        ))
    }
}
