//! The system under test: Electrode's shared-memory transport (`electrode_shm`).
//!
//! Main reserves a frame on the main-to-renderer ring, writes the payload in place and commits
//! it (the sequence number travels in the frame's meta word); the peer, a renderer, receives
//! it, reserves a frame on the renderer-to-main ring, copies the payload across ring to ring,
//! commits, and only then releases the incoming frame; main receives the echo, checks meta and
//! length, copies the payload out (main never reads a renderer's bytes in place) and releases
//! it. Both sides wait in the same [`WaitMode`]. Each side watches the other's pidfd, so a
//! blocked receive ends with `PeerGone` when the other process exits.

use super::handoff::PeerSpec;
use super::RoundTrip;
use crate::role::RoleChild;
use crate::BenchError;
use electrode_shm::{
    Handoff, Liveness, MainEnd, Message, PeerProcess, RecvError, Segment, SegmentConfig,
    TryReserveError, WaitMode, Watch,
};
use std::time::{Duration, Instant};

/// Frame tag of a ping (and its echo).
const TAG: u16 = 1;

/// Ring sizes for the benchmark: large enough for [`super::MAX_PAYLOAD`], small enough to stay
/// in cache.
fn config() -> SegmentConfig {
    SegmentConfig {
        r2m_capacity: 64 << 10,
        m2r_capacity: 64 << 10,
        slot_count: 1,
        slot_size: 64,
    }
}

pub(super) fn recv_err(e: RecvError) -> BenchError {
    match e {
        RecvError::PeerGone => BenchError::PeerGone,
        RecvError::TimedOut => BenchError::wrong("receive timed out without a deadline"),
        RecvError::Corrupt(_) => BenchError::wrong("corrupt ring"),
    }
}

pub(super) fn reserve_err(e: TryReserveError) -> BenchError {
    match e {
        // In a ping-pong a ring holds at most two small frames, so it is never full.
        TryReserveError::Full => BenchError::wrong("ring full during a ping-pong"),
        TryReserveError::TooLarge => BenchError::Unsupported("payload larger than a frame"),
        TryReserveError::Corrupt(_) => BenchError::wrong("corrupt ring"),
    }
}

/// Main's side of the Electrode ping-pong.
pub(crate) struct Main {
    // Field order is drop order: the watcher stops, the endpoints unmap, the peer is killed.
    _watch: Watch,
    end: MainEnd,
    child: RoleChild,
    mode: WaitMode,
    payload: Vec<u8>,
    reply: Vec<u8>,
}

impl Main {
    pub(crate) fn start(spec: &PeerSpec<'_>, mode: WaitMode) -> Result<Self, BenchError> {
        let seg = Segment::create(config())?;
        let me = PeerProcess::open(std::process::id())
            .map_err(BenchError::io("pidfd_open on ourselves"))?;
        let mut fds = None;
        // The peer says ready only once it has the segment: send it before waiting.
        let mut child = spec.launch(None, |cmd| fds = Some(Handoff::prepare(cmd, &me)))?;
        let fds = fds
            .expect("spawn configures the command")
            .map_err(BenchError::io("creating the fd socket"))?;
        Handoff::send_segment(&fds, &seg).map_err(BenchError::io("sending the segment"))?;
        child.expect(crate::role::READY)?;
        drop((me, fds));
        let live = Liveness::new();
        let end = seg.into_main(live.clone());
        let waker = end.waker.clone();
        let peer =
            PeerProcess::open(child.pid()).map_err(BenchError::io("pidfd_open on the peer"))?;
        let watch = peer
            .watch(live, move || waker.wake_all())
            .map_err(BenchError::io("starting the watcher thread"))?;
        Ok(Main {
            _watch: watch,
            end,
            child,
            mode,
            payload: (0..spec.payload).map(|i| i as u8).collect(),
            reply: vec![0; spec.payload],
        })
    }
}

impl RoundTrip for Main {
    fn peer_pid(&self) -> u32 {
        self.child.pid()
    }

    #[inline]
    fn round_trip(&mut self, seq: u64) -> Result<(), BenchError> {
        let len = self.payload.len();
        let mut g = self.end.tx.try_reserve(len).map_err(reserve_err)?;
        g.as_mut_slice().copy_from_slice(&self.payload);
        g.commit(len, TAG, seq);
        match self.end.rx.recv(self.mode, None).map_err(recv_err)? {
            Message::Frame(echo) => {
                let h = echo.header();
                if h.meta != seq || h.tag != TAG || echo.len() != len {
                    return Err(BenchError::wrong("echo differs from the ping"));
                }
                echo.copy_to(&mut self.reply);
                echo.release();
                Ok(())
            }
            Message::Assembled { .. } => Err(BenchError::wrong("echo arrived in chunks")),
        }
    }
}

/// The peer side (a renderer): echo every frame until main is gone.
pub(crate) fn serve(
    mode: WaitMode,
    ready: impl FnOnce() -> Result<(), BenchError>,
) -> Result<(), BenchError> {
    let (seg, _fds, main) = Handoff::receive(Some(Instant::now() + Duration::from_secs(10)))?;
    let live = Liveness::new();
    let mut end = seg.into_renderer(live.clone());
    let waker = end.waker.clone();
    let _watch = main
        .watch(live, move || waker.wake_all())
        .map_err(BenchError::io("starting the watcher thread"))?;
    ready()?;
    loop {
        let msg = match end.rx.recv(mode, None) {
            Ok(m) => m,
            Err(RecvError::PeerGone) => return Ok(()),
            Err(e) => return Err(recv_err(e)),
        };
        let Message::Frame(ping) = msg else {
            return Err(BenchError::wrong("ping arrived in chunks"));
        };
        let h = ping.header();
        let mut echo = end.tx.try_reserve(ping.len()).map_err(reserve_err)?;
        // Main is trusted by its renderers, so the ping is read in place.
        ping.copy_to(echo.as_mut_slice());
        echo.commit(ping.len(), h.tag, h.meta);
        ping.release();
    }
}
