//! [`ListenerTable`]: channel name -> listeners, copy-on-write. Shared by main's scopes
//! ([`IpcMain`](crate::IpcMain)) and the renderer's frames.
//!
//! A dispatch takes a snapshot (`Arc<[Entry]>`) with one reference-count increment, so a
//! listener may add or remove listeners while it runs; `once` listeners are removed before
//! they run, so each fires at most once even if two threads dispatch at the same time.

use parking_lot::RwLock;
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A token naming one registered listener (Electron compares functions; Rust needs a token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl ListenerId {
    fn next() -> Self {
        ListenerId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }
}

/// One registered listener.
pub(crate) struct Entry<F: ?Sized> {
    pub id: ListenerId,
    pub f: Arc<F>,
    pub once: bool,
}

impl<F: ?Sized> Clone for Entry<F> {
    fn clone(&self) -> Self {
        Entry {
            id: self.id,
            f: self.f.clone(),
            once: self.once,
        }
    }
}

/// A channel's listeners as one dispatch sees them.
pub(crate) type Snapshot<F> = Arc<[Entry<F>]>;

/// Listeners by channel.
pub(crate) struct ListenerTable<F: ?Sized> {
    map: RwLock<FxHashMap<Arc<str>, Snapshot<F>>>,
    /// Bumped (under the write lock) by every change, for caches of snapshots.
    version: AtomicU64,
}

impl<F: ?Sized> Default for ListenerTable<F> {
    fn default() -> Self {
        ListenerTable {
            map: RwLock::new(FxHashMap::default()),
            version: AtomicU64::new(0),
        }
    }
}

impl<F: ?Sized> ListenerTable<F> {
    /// Append a listener to `channel`.
    pub(crate) fn add(&self, channel: &str, f: Arc<F>, once: bool) -> ListenerId {
        let id = ListenerId::next();
        let mut map = self.map.write();
        let mut list = map.get(channel).map(|l| l.to_vec()).unwrap_or_default();
        list.push(Entry { id, f, once });
        map.insert(channel.into(), list.into());
        self.version.fetch_add(1, Ordering::Release);
        id
    }

    /// Remove one listener. Returns whether it was registered.
    pub(crate) fn remove(&self, channel: &str, id: ListenerId) -> bool {
        let mut map = self.map.write();
        let Some(list) = map.get(channel) else {
            return false;
        };
        let kept: Vec<Entry<F>> = list.iter().filter(|e| e.id != id).cloned().collect();
        let removed = kept.len() != list.len();
        if kept.is_empty() {
            map.remove(channel);
        } else if removed {
            map.insert(channel.into(), kept.into());
        }
        if removed {
            self.version.fetch_add(1, Ordering::Release);
        }
        removed
    }

    /// Remove every listener of `channel`, or of every channel when `None`.
    pub(crate) fn remove_all(&self, channel: Option<&str>) {
        let mut map = self.map.write();
        match channel {
            Some(c) => {
                map.remove(c);
            }
            None => map.clear(),
        }
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Changes whenever a listener is added or removed (a `once` listener that ran included).
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Channels that have listeners, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.map.read().keys().map(|k| k.to_string()).collect();
        v.sort();
        v
    }

    /// Number of listeners on `channel`.
    pub(crate) fn count(&self, channel: &str) -> usize {
        self.map.read().get(channel).map_or(0, |l| l.len())
    }

    /// Snapshot of `channel`'s listeners and the interned channel name.
    pub(crate) fn snapshot(&self, channel: &str) -> Option<(Arc<str>, Snapshot<F>)> {
        let map = self.map.read();
        if map.is_empty() {
            return None;
        }
        let (k, v) = map.get_key_value(channel)?;
        Some((k.clone(), v.clone()))
    }

    /// Call `run` for each entry of a snapshot, removing `once` entries first (skipping any
    /// that another dispatch already removed).
    pub(crate) fn run_each(&self, channel: &str, entries: &[Entry<F>], mut run: impl FnMut(&F)) {
        for e in entries {
            if e.once && !self.remove(channel, e.id) {
                continue;
            }
            run(&e.f);
        }
    }
}
