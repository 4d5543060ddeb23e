//! [`HandlerCache`]: the dispatcher's memory of which handler answers `invoke` on a channel for
//! one renderer, so a call on a hot channel costs a hash lookup instead of two table locks and
//! reference-count traffic.
//!
//! An entry is the result of the cascade (the WebContents scope first, then the global
//! `IpcMain`) for a channel whose handler is a lasting one. It is valid while neither table
//! changed: each table has a version that every `handle` / `remove_handler` / `handle_once`
//! use bumps, and the cache forgets everything when either version moved. `handle_once`
//! handlers are never cached (they must be taken, exactly once), nor are misses (a renderer
//! could otherwise grow the cache without bound by invoking made-up channels).

use crate::main::events::IpcMainInvokeEvent;
use crate::main::link::Conn;
use crate::main::registry::{Handler, IpcMain};
use crate::main::web_contents::WebContents;
use hashbrown::hash_map::EntryRef;
use rustc_hash::FxBuildHasher;
use std::sync::Arc;

/// Entries kept at most; when full the cache starts over (an app has few invoke channels).
const CAPACITY: usize = 256;

/// One renderer's resolved invoke handlers.
#[derive(Default)]
pub(crate) struct HandlerCache {
    versions: (u64, u64),
    map: hashbrown::HashMap<String, (IpcMainInvokeEvent, Handler), FxBuildHasher>,
}

/// A handler found for one call, with the event to hand it.
pub(crate) enum Found<'a> {
    /// A lasting handler, borrowed from the cache with a ready event (only the frame id is
    /// left to set), so a call builds nothing.
    Cached(&'a mut IpcMainInvokeEvent, &'a Handler),
    /// A `handle_once` handler, taken out of its table, with the interned channel name.
    Taken(Arc<str>, Handler),
}

impl HandlerCache {
    /// The handler for `channel`: `scope`'s if it has one, else `global`'s, else `None`.
    /// `handle_once` handlers are removed from their table, as [`IpcMain::take_handler`] does.
    pub(crate) fn find(
        &mut self,
        conn: &Arc<Conn>,
        global: &IpcMain,
        channel: &str,
    ) -> Option<Found<'_>> {
        let scope = &conn.scope;
        let versions = (scope.handlers_version(), global.handlers_version());
        if versions != self.versions {
            self.map.clear();
            self.versions = versions;
        }
        if self.map.len() >= CAPACITY {
            self.map.clear();
        }
        // One hash lookup when the channel is known (the hot path).
        let (event, handler) = match self.map.entry_ref(channel) {
            EntryRef::Occupied(known) => known.into_mut(),
            EntryRef::Vacant(vacant) => {
                // The cascade: the scope's handler, of whatever kind, wins over the global one.
                let (name, handler, once) = scope
                    .take_handler_entry(channel)
                    .or_else(|| global.take_handler_entry(channel))?;
                if once {
                    return Some(Found::Taken(name, handler));
                }
                let event = IpcMainInvokeEvent {
                    sender: WebContents { conn: conn.clone() },
                    frame_id: 0,
                    channel: name,
                };
                vacant.insert((event, handler))
            }
        };
        Some(Found::Cached(event, handler))
    }
}
