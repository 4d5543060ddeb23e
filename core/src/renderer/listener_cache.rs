//! [`ListenerCache`]: the receive thread's memory of its frames' listener tables and of their
//! snapshots per channel (as main's dispatcher keeps, `main/dispatcher/listener_cache.rs`), so
//! a message from main on a hot channel costs a hash lookup instead of two table locks and
//! four reference-count updates.
//!
//! Frames are never removed from (or replaced in) `Shared::frames`, so a frame's table, once
//! found, stays the one a fresh lookup would return. Snapshots are the table's own
//! copy-on-write lists: a remembered one is what a fresh lookup would return while the table's
//! version (bumped by every `on` / `once` / `remove_listener` / `remove_all_listeners` and
//! every `once` listener that ran) did not move; when it moved, that frame's channels are
//! forgotten. Channels without listeners are remembered too, in a bounded map.

use super::connection::{FrameListeners, RListener, Shared};
use crate::listeners::Snapshot;
use rustc_hash::FxBuildHasher;
use std::sync::Arc;

/// Channels (and frames) kept at most; when full the map starts over.
const CAPACITY: usize = 256;

/// A channel's listeners, with the interned channel name.
pub(crate) type Level = Option<(Arc<str>, Snapshot<RListener>)>;

struct Frame {
    table: Arc<FrameListeners>,
    version: u64,
    channels: hashbrown::HashMap<String, Level, FxBuildHasher>,
}

/// The receive thread's resolved listeners (see the module docs).
#[derive(Default)]
pub(crate) struct ListenerCache {
    frames: hashbrown::HashMap<u32, Frame, FxBuildHasher>,
}

impl ListenerCache {
    /// Frame `frame_id`'s table and its listeners of `channel`, as `Shared::frames` and
    /// `ListenerTable::snapshot` would return them now; `None` for an unknown frame.
    pub(crate) fn find(
        &mut self,
        shared: &Shared,
        frame_id: u32,
        channel: &str,
    ) -> Option<(&FrameListeners, &Level)> {
        if !self.frames.contains_key(&frame_id) {
            let table = shared.frames.read().get(&frame_id).cloned()?;
            if self.frames.len() >= CAPACITY {
                self.frames.clear();
            }
            self.frames.insert(
                frame_id,
                Frame {
                    version: table.version(),
                    table,
                    channels: Default::default(),
                },
            );
        }
        let frame = self.frames.get_mut(&frame_id)?;
        let version = frame.table.version();
        if version != frame.version || frame.channels.len() >= CAPACITY {
            frame.channels.clear();
            frame.version = version;
        }
        let table = &frame.table;
        let level = frame
            .channels
            .entry_ref(channel)
            .or_insert_with(|| table.snapshot(channel));
        Some((&**table, &*level))
    }
}
