//! The system under test: a MessagePort's rings alone (`electrode_shm::PortSegment`), between
//! main and a peer process, with the discipline the port protocol imposes: neither end trusts
//! the other, so **both** copy every frame out before reading it.
//!
//! This is the transport a MessagePort is built on, and the baseline its API is measured
//! against. It differs from the renderer transport ([`super::shm_transport`]) in one way that
//! costs: there the renderer trusts main and echoes each ping ring to ring in place, here the
//! peer copies the ping out, releases it, and writes the echo from its copy.
//!
//! Main creates the segment and sends its memfd on the fd socket the peer inherits
//! (`Handoff`); the peer opens it (seals, magic, sizes checked) and takes side B. Each side
//! watches the other's pidfd and marks the other's side closed when it exits, so a blocked
//! receive ends with `PeerGone`.

use super::handoff::PeerSpec;
use super::shm_transport::{recv_err, reserve_err};
use super::RoundTrip;
use crate::role::RoleChild;
use crate::BenchError;
use electrode_shm::{
    AlignedBuf, Handoff, Message, PeerProcess, PortConfig, PortEnd, PortSegment, RecvError, Side,
    WaitMode, Watch,
};
use std::fs::File;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// Frame tag of a ping (and its echo).
const TAG: u16 = 1;
/// Tag of the fd-socket record carrying the port segment.
const TAG_PORT: u64 = 0x5052_5453; // "PRTS"

/// Ring sizes: as the renderer transport's rows (64 KiB per direction).
fn config() -> PortConfig {
    PortConfig { capacity: 64 << 10 }
}

/// Watch `process`; when it exits, mark `side` (its side) closed, which wakes every waiter.
fn watch_peer(
    process: PeerProcess,
    seg: &PortSegment,
    end: &PortEnd,
    side: Side,
) -> Result<Watch, BenchError> {
    let seg = seg.clone();
    process
        .watch(end.live.clone(), move || seg.mark_closed(side))
        .map_err(BenchError::io("watching the other process"))
}

/// Main's side of the port-rings ping-pong.
pub(crate) struct Main {
    // Field order is drop order: the watcher stops, the endpoints unmap, the peer is killed.
    _watch: Watch,
    end: PortEnd,
    _seg: PortSegment,
    child: RoleChild,
    mode: WaitMode,
    payload: Vec<u8>,
    reply: AlignedBuf,
}

impl Main {
    pub(crate) fn start(spec: &PeerSpec<'_>) -> Result<Self, BenchError> {
        let seg = PortSegment::create(config())?;
        let me = PeerProcess::open(std::process::id())
            .map_err(BenchError::io("pidfd_open on ourselves"))?;
        let mut fds = None;
        let mut child = spec.launch(None, |cmd| fds = Some(Handoff::prepare(cmd, &me)))?;
        let fds = fds
            .expect("spawn configures the command")
            .map_err(BenchError::io("creating the fd socket"))?;
        fds.send(TAG_PORT, &[seg.file().as_fd()])
            .map_err(BenchError::io("sending the port segment"))?;
        child.expect(crate::role::READY)?;
        drop((me, fds));
        let end = seg
            .end(Side::A)
            .map_err(|_| BenchError::wrong("a fresh segment is corrupt"))?;
        let peer =
            PeerProcess::open(child.pid()).map_err(BenchError::io("pidfd_open on the peer"))?;
        let watch = watch_peer(peer, &seg, &end, Side::B)?;
        Ok(Main {
            _watch: watch,
            end,
            _seg: seg,
            child,
            mode: WaitMode::default(),
            payload: (0..spec.payload).map(|i| i as u8).collect(),
            reply: AlignedBuf::new(),
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
                self.reply.resize(len);
                echo.copy_to(self.reply.as_mut_slice());
                echo.release();
                Ok(())
            }
            Message::Assembled { .. } => Err(BenchError::wrong("echo arrived in chunks")),
        }
    }
}

/// The peer side: echo every frame (copied out first: main is a port peer, untrusted) until
/// main is gone.
pub(crate) fn serve(ready: impl FnOnce() -> Result<(), BenchError>) -> Result<(), BenchError> {
    let (fds, main) = Handoff::from_env()?;
    let (tag, got) = fds
        .recv(Some(Instant::now() + Duration::from_secs(10)))
        .map_err(BenchError::io("receiving the port segment"))?;
    if tag != TAG_PORT || got.len() != 1 {
        return Err(BenchError::wrong(
            "the first fd record is not one port segment",
        ));
    }
    let file = File::from(got.into_iter().next().expect("one fd"));
    let seg = PortSegment::open(file)?;
    let mut end = seg
        .end(Side::B)
        .map_err(|_| BenchError::wrong("the segment's rings are corrupt"))?;
    let _watch = watch_peer(main, &seg, &end, Side::A)?;
    let mode = WaitMode::default();
    let mut copy = AlignedBuf::new();
    ready()?;
    loop {
        let (tag, meta) = match end.rx.recv(mode, None) {
            Ok(Message::Frame(ping)) => {
                let h = ping.header();
                copy.resize(ping.len());
                ping.copy_to(copy.as_mut_slice());
                ping.release();
                (h.tag, h.meta)
            }
            Ok(Message::Assembled { .. }) => {
                return Err(BenchError::wrong("ping arrived in chunks"))
            }
            Err(RecvError::PeerGone) => return Ok(()),
            Err(e) => return Err(recv_err(e)),
        };
        let len = copy.len();
        let mut echo = end.tx.try_reserve(len).map_err(reserve_err)?;
        echo.as_mut_slice().copy_from_slice(copy.as_slice());
        echo.commit(len, tag, meta);
    }
}
