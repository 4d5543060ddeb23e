//! Where port ends go when they leave this process: the wing that owns the process's
//! connection installs a [`Router`] (a renderer: "through main, on my fd socket"; main: "to
//! the holder of the peer end, per the broker"). Without one (a process with neither), ports
//! only move inside the process.

use super::error::PortError;
use super::local::Identity;
use electrode_shm::{PortEnd, Side};
use parking_lot::RwLock;
use std::os::fd::OwnedFd;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Moves port ends out of this process.
pub(crate) trait Router: Send + Sync {
    /// Send `end` (detached from its handle) to the process holding the `carrier_side`'s peer
    /// of the channel `carrier`, under `token`, before the port message naming it is written.
    fn forward(
        &self,
        carrier: Identity,
        carrier_side: Side,
        token: u64,
        end: PortEnd,
    ) -> Result<(), PortError>;

    /// A side of a channel whose other side is in another process was closed here.
    fn closed(&self, id: Identity, side: Side);

    /// The next fd record addressed to this process (ends forwarded by main), waiting until
    /// `deadline`; `None` when this process has no fd socket to read.
    fn recv_fds(&self, deadline: Instant) -> Option<std::io::Result<(u64, Vec<OwnedFd>)>>;
}

fn slot() -> &'static RwLock<Option<Arc<dyn Router>>> {
    static ROUTER: OnceLock<RwLock<Option<Arc<dyn Router>>>> = OnceLock::new();
    ROUTER.get_or_init(Default::default)
}

/// Install the process's router (main's replaces a renderer's; a renderer's does not replace
/// main's).
pub(crate) fn install(router: Arc<dyn Router>, is_main: bool) {
    let mut s = slot().write();
    if is_main || s.is_none() {
        *s = Some(router);
    }
}

/// The process's router, if any.
pub(crate) fn router() -> Option<Arc<dyn Router>> {
    slot().read().clone()
}
