//! Baseline: a busy-spin ping-pong through shared atomic words, both sides spinning without
//! ever entering the kernel. The floor for any cross-core transport on this machine (two cache
//! line transfers per direction); meaningless on one core, where it is not run.

use super::shared_page::{Signal, WordMain, GONE};
use crate::BenchError;
use std::sync::atomic::{AtomicU32, Ordering};

/// The busy-spin strategy.
pub(crate) struct SpinSignal;

/// Main's side of the busy-spin ping-pong.
pub(crate) type Main = WordMain<SpinSignal>;

impl Signal for SpinSignal {
    #[inline]
    fn post(word: &AtomicU32, value: u32) {
        // SYNC POINT: publishes the payload buffer written before it.
        word.store(value, Ordering::Release);
    }

    #[inline]
    fn wait(word: &AtomicU32, value: u32) -> Result<(), BenchError> {
        loop {
            // SYNC POINT: acquires the payload buffer published with `value`.
            let v = word.load(Ordering::Acquire);
            if v == value {
                return Ok(());
            }
            if v & GONE != 0 {
                return Err(BenchError::PeerGone);
            }
            std::hint::spin_loop();
        }
    }

    fn wake_gone(_word: &AtomicU32) {}
}
