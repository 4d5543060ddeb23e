//! The shared mapping behind the word-based baselines (raw futex, busy-spin), and their common
//! ping-pong loop, parameterized by how a side waits for a word ([`Signal`]).
//!
//! ```text
//!   offset 0    ping word (main -> peer: sequence number of the message in the ping buffer)
//!   offset 128  pong word (peer -> main: sequence number of the echo in the pong buffer)
//!   offset 256  ping buffer (payload bytes), then the pong buffer, each 128-byte aligned
//! ```
//!
//! Main writes the ping buffer, then stores the sequence number in the ping word (Release);
//! the peer sees it (Acquire), copies the ping buffer into the pong buffer and stores the
//! number in the pong word; main sees that and copies the pong buffer out. Each buffer has one
//! writer at a time by construction. A watcher thread on each side sets [`GONE`] in the word
//! its side waits on (and wakes it) when the other process exits.

use super::handoff::PeerSpec;
use super::RoundTrip;
use crate::role::RoleChild;
use crate::BenchError;
use electrode_shm::{Liveness, PeerProcess, Watch};
use memmap2::{MmapOptions, MmapRaw};
use std::ffi::CString;
use std::fs::File;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Set in a word when the process that writes it is gone.
pub(crate) const GONE: u32 = 1 << 31;
/// Sequence numbers live in the low 31 bits.
const SEQ_MASK: u32 = GONE - 1;
const LINE: usize = 128;
const PAGE: usize = 4096;

/// How one side publishes a word and waits for the other's.
pub(crate) trait Signal {
    /// Store `value` in `word` (Release) and make sure a waiter notices.
    fn post(word: &AtomicU32, value: u32);
    /// Return once `word` holds `value` (Acquire), or with [`BenchError::PeerGone`] once it
    /// has [`GONE`] set.
    fn wait(word: &AtomicU32, value: u32) -> Result<(), BenchError>;
    /// Wake anything waiting on `word` after [`GONE`] was set in it.
    fn wake_gone(word: &AtomicU32);
}

/// Which half of the page.
#[derive(Clone, Copy)]
enum Dir {
    /// Main to peer.
    Ping,
    /// Peer to main.
    Pong,
}

/// A memfd mapping laid out as in the module docs.
pub(crate) struct SharedPage {
    map: MmapRaw,
    file: File,
    payload: usize,
}

// SAFETY: the mapping is only touched through atomics and through the buffers, whose single
// writer at any moment is fixed by the ping-pong protocol.
unsafe impl Send for SharedPage {}
// SAFETY: as above.
unsafe impl Sync for SharedPage {}

fn len_for(payload: usize) -> usize {
    (2 * LINE + 2 * payload.div_ceil(LINE) * LINE).div_ceil(PAGE) * PAGE
}

impl SharedPage {
    fn create(payload: usize) -> Result<Self, BenchError> {
        let name = CString::new("electrode-bench-pingpong").expect("no NUL");
        let fd =
            nix::sys::memfd::memfd_create(&name, nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC)
                .map_err(|e| BenchError::io("memfd_create")(e.into()))?;
        let file = File::from(fd);
        file.set_len(len_for(payload) as u64)
            .map_err(BenchError::io("sizing the shared page"))?;
        Self::map(file, payload)
    }

    fn open(fd: RawFd, payload: usize) -> Result<Self, BenchError> {
        // SAFETY: F_GETFD on any integer only reports whether it is an open fd.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(BenchError::wrong("inherited fd is not open"));
        }
        // SAFETY: the fd was inherited for exactly this purpose and is open (checked); nothing
        // else in the peer process takes ownership of it.
        let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        let len = file
            .metadata()
            .map_err(BenchError::io("fstat on the shared page"))?
            .len();
        if len != len_for(payload) as u64 {
            return Err(BenchError::wrong("shared page size does not match payload"));
        }
        Self::map(file, payload)
    }

    fn map(file: File, payload: usize) -> Result<Self, BenchError> {
        let map = MmapOptions::new()
            .len(len_for(payload))
            .map_raw(&file)
            .map_err(BenchError::io("mapping the shared page"))?;
        Ok(SharedPage { map, file, payload })
    }

    fn word(&self, dir: Dir) -> &AtomicU32 {
        let at = match dir {
            Dir::Ping => 0,
            Dir::Pong => LINE,
        };
        // SAFETY: `at` is inside the mapping (at least one page) and 4-byte aligned; the
        // mapping lives as long as `self`, and the word is only accessed atomically.
        unsafe { &*self.map.as_mut_ptr().add(at).cast::<AtomicU32>() }
    }

    fn buf(&self, dir: Dir) -> *mut u8 {
        let stride = self.payload.div_ceil(LINE) * LINE;
        let at = 2 * LINE
            + match dir {
                Dir::Ping => 0,
                Dir::Pong => stride,
            };
        // SAFETY: `at + payload` is within `len_for(payload)`, the mapping's length.
        unsafe { self.map.as_mut_ptr().add(at) }
    }

    /// Copy `src` (exactly `payload` bytes) into the buffer of `dir`.
    ///
    /// # Safety
    /// The caller must be the side that may write `dir`'s buffer now (it has seen the echo of
    /// its previous message, or it is the peer answering the message it just saw).
    unsafe fn write(&self, dir: Dir, src: &[u8]) {
        assert_eq!(src.len(), self.payload);
        // SAFETY: in bounds (see `buf`); no one else accesses the buffer now (caller contract).
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.buf(dir), src.len()) }
    }

    /// Copy the buffer of `dir` into `dst` (exactly `payload` bytes).
    ///
    /// # Safety
    /// The other side must have published the buffer (the word was seen with Acquire) and
    /// must not write it again until this side answers.
    unsafe fn read(&self, dir: Dir, dst: &mut [u8]) {
        assert_eq!(dst.len(), self.payload);
        // SAFETY: in bounds; the writer has finished and waits for us (caller contract).
        unsafe { std::ptr::copy_nonoverlapping(self.buf(dir), dst.as_mut_ptr(), dst.len()) }
    }
}

/// Watch `peer`; when it exits, set [`GONE`] in `dir`'s word and wake it.
fn watch<S: Signal + 'static>(
    peer: PeerProcess,
    page: &Arc<SharedPage>,
    dir: Dir,
) -> Result<Watch, BenchError> {
    let page = page.clone();
    peer.watch(Liveness::new(), move || {
        let w = page.word(dir);
        w.fetch_or(GONE, Ordering::SeqCst);
        S::wake_gone(w);
    })
    .map_err(BenchError::io("starting the watcher thread"))
}

/// The main side of a word-based ping-pong.
pub(crate) struct WordMain<S> {
    // Field order is drop order: the watcher stops before the child is killed.
    _watch: Watch,
    page: Arc<SharedPage>,
    child: RoleChild,
    payload: Vec<u8>,
    reply: Vec<u8>,
    _signal: PhantomData<fn() -> S>,
}

impl<S: Signal + 'static> WordMain<S> {
    pub(crate) fn start(spec: &PeerSpec<'_>) -> Result<Self, BenchError> {
        let page = Arc::new(SharedPage::create(spec.payload)?);
        let fd = page.file.as_raw_fd();
        let child = spec.spawn(Some(fd), |_| {})?;
        let peer =
            PeerProcess::open(child.pid()).map_err(BenchError::io("pidfd_open on the peer"))?;
        let watch = watch::<S>(peer, &page, Dir::Pong)?;
        Ok(WordMain {
            _watch: watch,
            page,
            child,
            payload: (0..spec.payload).map(|i| i as u8).collect(),
            reply: vec![0; spec.payload],
            _signal: PhantomData,
        })
    }
}

impl<S: Signal> RoundTrip for WordMain<S> {
    fn peer_pid(&self) -> u32 {
        self.child.pid()
    }

    #[inline]
    fn round_trip(&mut self, seq: u64) -> Result<(), BenchError> {
        let seq = (seq as u32) & SEQ_MASK;
        // SAFETY: the previous message's echo was received, so the peer no longer reads ping.
        unsafe { self.page.write(Dir::Ping, &self.payload) };
        S::post(self.page.word(Dir::Ping), seq);
        S::wait(self.page.word(Dir::Pong), seq)?;
        // SAFETY: the pong word holds `seq` (seen with Acquire): the echo is complete and the
        // peer waits for the next ping before it writes pong again.
        unsafe { self.page.read(Dir::Pong, &mut self.reply) };
        Ok(())
    }
}

/// The peer side: echo every ping until main is gone.
pub(crate) fn serve<S: Signal + 'static>(
    fd: RawFd,
    payload: usize,
    main: PeerProcess,
    ready: impl FnOnce() -> Result<(), BenchError>,
) -> Result<(), BenchError> {
    let page = Arc::new(SharedPage::open(fd, payload)?);
    let _watch = watch::<S>(main, &page, Dir::Ping)?;
    let mut buf = vec![0u8; payload];
    let mut expected = page.word(Dir::Ping).load(Ordering::Acquire) & SEQ_MASK;
    ready()?;
    loop {
        // Main sends consecutive numbers (mod 2^31) starting from 1.
        expected = expected.wrapping_add(1) & SEQ_MASK;
        match S::wait(page.word(Dir::Ping), expected) {
            Ok(()) => {}
            Err(BenchError::PeerGone) => return Ok(()),
            Err(e) => return Err(e),
        }
        // SAFETY: ping holds `expected` (Acquire): main finished writing and waits for pong.
        unsafe { page.read(Dir::Ping, &mut buf) };
        // SAFETY: main reads pong only after we publish it below.
        unsafe { page.write(Dir::Pong, &buf) };
        S::post(page.word(Dir::Pong), expected);
    }
}
