//! Starting the peer process: its orders ([`Role::PingPongPeer`]), the fd it inherits, and the
//! "ready" handshake. The process is a [`RoleChild`]: killed and reaped on drop.

use super::System;
use crate::role::{self, Role, RoleChild};
use crate::BenchError;
use std::os::fd::RawFd;
use std::path::Path;
use std::process::Command;

/// What the peer is asked to do.
pub(crate) struct PeerSpec<'a> {
    pub exe: &'a Path,
    pub system: System,
    pub peer_cpu: Option<usize>,
    pub payload: usize,
}

impl PeerSpec<'_> {
    /// Spawn the peer, handing it `fd` (if any) and whatever `configure` adds, and wait until
    /// it reports ready.
    pub(crate) fn spawn(
        &self,
        fd: Option<RawFd>,
        configure: impl FnOnce(&mut Command),
    ) -> Result<RoleChild, BenchError> {
        let mut child = self.launch(fd, configure)?;
        // A peer that fails before it is ready exits, which ends the wait with `PeerGone`.
        child.expect(role::READY)?;
        Ok(child)
    }

    /// [`spawn`](Self::spawn) without waiting for ready (for a peer that needs something
    /// from main first: call `child.expect(role::READY)` after giving it).
    pub(crate) fn launch(
        &self,
        fd: Option<RawFd>,
        configure: impl FnOnce(&mut Command),
    ) -> Result<RoleChild, BenchError> {
        let role = Role::PingPongPeer {
            system: self.system,
            payload: self.payload,
            fd,
        };
        RoleChild::spawn(self.exe, self.peer_cpu, role, |cmd| {
            if let Some(fd) = fd {
                role::inherit_fd(cmd, fd);
            }
            configure(cmd);
        })
    }
}
