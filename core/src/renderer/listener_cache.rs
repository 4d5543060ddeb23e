//! [`ListenerCache`]: the receive thread's memory of each frame's listener snapshots per
//! channel and the event its listeners get, so a message from main on a hot channel costs two
//! hash lookups instead of two table locks and a dozen reference-count updates (main's dispatcher keeps the same for its
//! side: `main/dispatcher/listener_cache.rs`).
//!
//! A frame's table, once made, stays in `Shared::frames` for the connection's life (frames are
//! added, never replaced or removed), so a remembered table is the one a lookup would find.
//! Snapshots are the table's own copy-on-write lists: a remembered one is exactly what a fresh
//! lookup would return while the table's version (bumped by every `on` / `once` /
//! `remove_listener` / `remove_all_listeners`, and every `once` listener that runs) has not
//! moved; the frame's channels are forgotten when it moved. Channels without listeners are
//! remembered too, in bounded maps.

use super::connection::{FrameListeners, RListener, Shared};
use super::event::IpcRendererEvent;
use crate::listeners::Snapshot;
use rustc_hash::FxBuildHasher;
use std::sync::Arc;

/// Frames, and channels per frame, kept at most; when full that map starts over.
const CAPACITY: usize = 256;

/// A channel's listeners in one frame, with the event they get: the interned channel name and
/// a lent `sender` (it does not keep the connection open: `ipc_renderer::Hold::Lent`), made
/// once, so a message costs no reference-count update for them.
pub(crate) type Level = Option<(IpcRendererEvent, Snapshot<RListener>)>;

struct FrameEntry {
    table: Arc<FrameListeners>,
    version: u64,
    channels: hashbrown::HashMap<String, Level, FxBuildHasher>,
}

/// The receive thread's resolved listeners.
#[derive(Default)]
pub(crate) struct ListenerCache {
    frames: hashbrown::HashMap<u32, FrameEntry, FxBuildHasher>,
}

impl ListenerCache {
    /// Frame `frame_id`'s table and the listeners of `channel` in it, as a lookup in `shared`
    /// would return them now; `None` for a frame that has no table.
    pub(crate) fn find(
        &mut self,
        shared: &Arc<Shared>,
        frame_id: u32,
        channel: &str,
    ) -> Option<(&Arc<FrameListeners>, &Level)> {
        if !self.frames.contains_key(&frame_id) {
            let table = shared.frames.read().get(&frame_id).cloned()?;
            if self.frames.len() >= CAPACITY {
                self.frames.clear();
            }
            self.frames.insert(
                frame_id,
                FrameEntry {
                    version: table.version(),
                    table,
                    channels: Default::default(),
                },
            );
        }
        let entry = self.frames.get_mut(&frame_id)?;
        let version = entry.table.version();
        if version != entry.version || entry.channels.len() >= CAPACITY {
            entry.channels.clear();
            entry.version = version;
        }
        let table = &entry.table;
        let level = entry.channels.entry_ref(channel).or_insert_with(|| {
            table.snapshot(channel).map(|(name, entries)| {
                let event = IpcRendererEvent {
                    frame_id,
                    channel: name,
                    sender: shared.lent_handle(frame_id),
                    ports: None,
                };
                (event, entries)
            })
        });
        Some((&entry.table, level))
    }
}
