//! `futex(2)` and `futex_waitv(2)` on 32-bit words that may live in memory shared between
//! processes (so the non-private operations are used).

use std::io;
use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

/// Block while `*word == expected`, at most `timeout`. Returns on wake, timeout, signal, or when
/// the word already differs; the caller re-checks its condition in every case.
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(to_timespec);
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned 32-bit word for the duration of the call; the kernel
    // only reads it. A null or valid timespec pointer is what FUTEX_WAIT expects.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            ts_ptr,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wake up to `count` waiters blocked on `word`. Returns how many were woken.
pub(crate) fn wake(word: &AtomicU32, count: u32) -> usize {
    let count = count.min(i32::MAX as u32) as libc::c_int;
    // SAFETY: FUTEX_WAKE only uses the address as a key; it does not dereference user memory
    // beyond validating the mapping.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            count,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        )
    };
    r.max(0) as usize
}

/// One entry of a [`wait_many`] call.
#[derive(Clone, Copy)]
pub(crate) struct WaitvEntry<'a> {
    pub word: &'a AtomicU32,
    pub expected: u32,
    /// The word lives in process-private memory.
    pub private: bool,
}

/// Maximum entries of one `futex_waitv` call (the kernel's `FUTEX_WAITV_MAX`).
pub(crate) const WAITV_MAX: usize = 128;

#[repr(C)]
struct RawWaitv {
    val: u64,
    uaddr: u64,
    flags: u32,
    reserved: u32,
}

/// Block until any entry's word differs from its expected value, a wake arrives on one of them,
/// or `deadline` passes. At most [`WAITV_MAX`] entries (extra entries are ignored).
pub(crate) fn wait_many(entries: &[WaitvEntry<'_>], deadline: Option<Instant>) -> io::Result<()> {
    let mut raw = [const { EMPTY }; WAITV_MAX];
    let n = entries.len().min(WAITV_MAX);
    for (slot, e) in raw.iter_mut().zip(&entries[..n]) {
        *slot = raw_entry(e.word.as_ptr() as usize, e.expected, e.private);
    }
    waitv(&raw[..n], deadline)
}

/// A futex word named by its address (for a wait on another thread's behalf; see
/// `wide_wait`). Always a shared (non-private) word, like those of [`wake`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct WaitvAddr {
    pub addr: usize,
    pub expected: u32,
}

impl WaitvAddr {
    pub(crate) fn of(word: &AtomicU32, expected: u32) -> WaitvAddr {
        WaitvAddr {
            addr: word.as_ptr() as usize,
            expected,
        }
    }
}

/// [`wait_many`] on words named by address. The kernel reads each word itself (an address
/// that is no longer mapped fails the call with `EFAULT`, it never touches our memory); the
/// caller keeps the words mapped for the call so that the wait means what it says.
pub(crate) fn wait_many_addrs(entries: &[WaitvAddr], deadline: Option<Instant>) -> io::Result<()> {
    let mut raw = [const { EMPTY }; WAITV_MAX];
    let n = entries.len().min(WAITV_MAX);
    for (slot, e) in raw.iter_mut().zip(&entries[..n]) {
        *slot = raw_entry(e.addr, e.expected, false);
    }
    waitv(&raw[..n], deadline)
}

const EMPTY: RawWaitv = RawWaitv {
    val: 0,
    uaddr: 0,
    flags: 0,
    reserved: 0,
};

fn raw_entry(addr: usize, expected: u32, private: bool) -> RawWaitv {
    RawWaitv {
        val: u64::from(expected),
        uaddr: addr as u64,
        flags: (libc::FUTEX2_SIZE_U32 | if private { libc::FUTEX2_PRIVATE } else { 0 }) as u32,
        reserved: 0,
    }
}

fn waitv(raw: &[RawWaitv], deadline: Option<Instant>) -> io::Result<()> {
    let abs = deadline.map(|d| {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid out-pointer for clock_gettime.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
        let rel = d.saturating_duration_since(Instant::now());
        let mut sec = now.tv_sec + rel.as_secs() as libc::time_t;
        let mut nsec = now.tv_nsec + rel.subsec_nanos() as libc::c_long;
        if nsec >= 1_000_000_000 {
            sec += 1;
            nsec -= 1_000_000_000;
        }
        libc::timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        }
    });
    let ts_ptr = abs
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `raw` is a valid array of at most WAITV_MAX futex_waitv records; the kernel only
    // reads the words they name (copy_from_user: an unmapped address is EFAULT, no access to
    // our memory is made on our behalf), and the timeout pointer is null or valid.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex_waitv,
            raw.as_ptr(),
            raw.len() as libc::c_uint,
            0u32,
            ts_ptr,
            libc::CLOCK_MONOTONIC,
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::ETIMEDOUT) | Some(libc::EINTR) => Ok(()),
            _ => Err(e),
        }
    } else {
        Ok(())
    }
}

fn to_timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}
