//! Baseline: a raw futex ping-pong. Each message is a store plus an unconditional
//! `FUTEX_WAKE`; each wait that does not find its word already set is a `FUTEX_WAIT` at once
//! (no spinning, no sleeper flag, no timeout). This is the cost of the kernel round trip that
//! Electrode's park-only mode should approach.

use super::shared_page::{Signal, WordMain, GONE};
use crate::BenchError;
use std::sync::atomic::{AtomicU32, Ordering};

/// The raw futex strategy.
pub(crate) struct FutexSignal;

/// Main's side of the raw futex ping-pong.
pub(crate) type Main = WordMain<FutexSignal>;

/// `FUTEX_WAIT` (shared, no timeout) while `*word == expected`.
fn futex_wait(word: &AtomicU32, expected: u32) {
    // SAFETY: `word` is a valid, aligned 32-bit word for the duration of the call; the kernel
    // only reads it. A null timeout means wait until woken.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// `FUTEX_WAKE` (shared) of up to `count` waiters.
fn futex_wake(word: &AtomicU32, count: i32) {
    // SAFETY: FUTEX_WAKE uses the address only as a key.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            count,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

impl Signal for FutexSignal {
    #[inline]
    fn post(word: &AtomicU32, value: u32) {
        // SYNC POINT: publishes the payload buffer written before it.
        word.store(value, Ordering::Release);
        futex_wake(word, 1);
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
            futex_wait(word, v);
        }
    }

    fn wake_gone(word: &AtomicU32) {
        futex_wake(word, i32::MAX);
    }
}
