//! Where the two sides run: [`Placement`], and pinning a thread to one CPU
//! (`sched_setaffinity(2)` on the calling thread).

use crate::BenchError;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

/// Which CPUs the main side and the peer run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Placement {
    /// Main pinned to CPU 0, the peer to CPU 1.
    CrossCore,
    /// Both pinned to CPU 0: every hand-over is a context switch.
    SameCore,
    /// Neither pinned (the scheduler decides).
    Unpinned,
}

impl Placement {
    /// `(main cpu, peer cpu)`, or `None` when unpinned.
    pub fn cores(self) -> Option<(usize, usize)> {
        match self {
            Placement::CrossCore => Some((0, 1)),
            Placement::SameCore => Some((0, 0)),
            Placement::Unpinned => None,
        }
    }

    /// Short name: `cross`, `same`, `unpinned`.
    pub fn name(self) -> &'static str {
        match self {
            Placement::CrossCore => "cross",
            Placement::SameCore => "same",
            Placement::Unpinned => "unpinned",
        }
    }

    /// Parse [`Placement::name`].
    pub fn parse(s: &str) -> Option<Placement> {
        [
            Placement::CrossCore,
            Placement::SameCore,
            Placement::Unpinned,
        ]
        .into_iter()
        .find(|p| p.name() == s)
    }

    /// The cores, after checking that this thread may run on them.
    pub(crate) fn check(self) -> Result<Option<(usize, usize)>, BenchError> {
        if let Some((main, peer)) = self.cores() {
            let allowed = allowed_cpus()?;
            for cpu in [main, peer] {
                if !allowed.contains(&cpu) {
                    return Err(BenchError::CpuUnavailable(cpu));
                }
            }
        }
        Ok(self.cores())
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn get_mask() -> io::Result<libc::cpu_set_t> {
    let mut set = MaybeUninit::<libc::cpu_set_t>::zeroed();
    // SAFETY: `set` is a writable cpu_set_t of the size passed; pid 0 is the calling thread.
    let r = unsafe {
        libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set.as_mut_ptr())
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: zero-initialized (a valid cpu_set_t) and filled in by the kernel.
    Ok(unsafe { set.assume_init() })
}

fn set_mask(set: &libc::cpu_set_t) -> io::Result<()> {
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is the calling thread.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn is_set(set: &libc::cpu_set_t, cpu: usize) -> bool {
    // SAFETY: CPU_ISSET only reads the bitmask; `cpu` is bounded by CPU_SETSIZE by the caller.
    unsafe { libc::CPU_ISSET(cpu, set) }
}

/// The CPUs the calling thread may run on.
pub fn allowed_cpus() -> Result<Vec<usize>, BenchError> {
    let set = get_mask().map_err(BenchError::io("sched_getaffinity"))?;
    Ok((0..libc::CPU_SETSIZE as usize)
        .filter(|&c| is_set(&set, c))
        .collect())
}

fn only(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET writes one bit of `set`; callers pass cpu < CPU_SETSIZE (checked below).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set
}

/// Pin the calling thread to `cpu` for good (the peer process does this once).
pub(crate) fn pin_self(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    set_mask(&only(cpu))
}

/// Restores the thread's previous affinity when dropped. Not `Send`: it must be dropped on the
/// thread it pinned (which makes a pinned [`Session`](super::Session) stay on its thread too).
pub(crate) struct PinGuard {
    saved: libc::cpu_set_t,
    _this_thread: PhantomData<*const ()>,
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        // Best effort: failing to widen the mask again only affects later measurements.
        let _ = set_mask(&self.saved);
    }
}

/// Pin the calling thread to `cpu` until the guard is dropped.
pub(crate) fn pin_current_thread(cpu: usize) -> Result<PinGuard, BenchError> {
    let saved = get_mask().map_err(BenchError::io("sched_getaffinity"))?;
    if cpu >= libc::CPU_SETSIZE as usize || !is_set(&saved, cpu) {
        return Err(BenchError::CpuUnavailable(cpu));
    }
    set_mask(&only(cpu)).map_err(BenchError::io("sched_setaffinity"))?;
    Ok(PinGuard {
        saved,
        _this_thread: PhantomData,
    })
}
