//! [`ListenerCache`]: the dispatcher's memory of one renderer's listener snapshots per channel
//! (the WebContents scope's and the global `IpcMain`'s), so a `send` on a hot channel costs a
//! hash lookup instead of two table locks and four reference-count updates.
//!
//! Snapshots are the tables' own copy-on-write lists, so a remembered one is exactly what a
//! fresh lookup would return while neither table changed. Each table has a version that every
//! `on` / `once` / `remove_listener` / `remove_all_listeners` (and every `once` listener that
//! runs) bumps; the cache forgets everything when either version moved. Channels without
//! listeners are remembered too (a `send` nobody listens to is common), in a bounded map.

use crate::listeners::Snapshot;
use crate::main::registry::{IpcMain, Listener};
use rustc_hash::FxBuildHasher;
use std::sync::Arc;

/// Entries kept at most; when full the cache starts over.
const CAPACITY: usize = 256;

/// A channel's listeners on one level, with the interned channel name.
pub(crate) type Level = Option<(Arc<str>, Snapshot<Listener>)>;

/// One renderer's resolved listeners.
#[derive(Default)]
pub(crate) struct ListenerCache {
    versions: (u64, u64),
    map: hashbrown::HashMap<String, (Level, Level), FxBuildHasher>,
}

impl ListenerCache {
    /// The listeners of `channel` in `scope` and in `global`, as
    /// [`IpcMain::listeners`] would return them now.
    pub(crate) fn find(
        &mut self,
        scope: &IpcMain,
        global: &IpcMain,
        channel: &str,
    ) -> &(Level, Level) {
        let versions = (scope.listeners_version(), global.listeners_version());
        if versions != self.versions || self.map.len() >= CAPACITY {
            self.map.clear();
            self.versions = versions;
        }
        // One hash lookup when the channel is known (the hot path).
        self.map
            .entry_ref(channel)
            .or_insert_with(|| (scope.listeners(channel), global.listeners(channel)))
    }
}
