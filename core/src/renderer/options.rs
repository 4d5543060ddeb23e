//! [`RendererOptions`]: how a renderer connection waits.

use electrode_shm::WaitMode;
use std::time::Duration;

/// Settings of a renderer connection.
#[derive(Clone, Copy, Debug)]
pub struct RendererOptions {
    /// How blocking calls (`send_sync`, blocking `invoke`, a full ring) wait.
    pub wait_mode: WaitMode,
    /// How long `send` waits for room in a full ring: `None` blocks until there is room
    /// (backpressure); `Some(Duration::ZERO)` fails at once with
    /// [`SendError::Full`](crate::SendError::Full).
    pub send_timeout: Option<Duration>,
}

impl Default for RendererOptions {
    fn default() -> Self {
        RendererOptions {
            wait_mode: crate::DEFAULT_WAIT_MODE,
            send_timeout: None,
        }
    }
}
