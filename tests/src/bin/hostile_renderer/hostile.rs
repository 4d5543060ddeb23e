//! A hostile connection: the segment taken with `Handoff::receive`, its ring producer and
//! slot table used directly (well framed, forged contents), main's ring read by hand, and a
//! [`Raw`] second mapping to scribble anywhere.

use crate::raw::Raw;
use electrode::Value;
use electrode_shm::{
    AlignedBuf, FdSocket, Handoff, Liveness, Producer, Receiver, Segment, SlotTable,
};
use electrode_shm::{Futex, WaitMode, Watch};
use electrode_tests::hostile_kit::{self as kit, kind, Envelope};
use memmap2::MmapMut;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Deadline of one request a hostile role expects main to answer.
pub(crate) const REPLY_DEADLINE: Duration = Duration::from_secs(30);

/// A hostile connection: the ring producer, main's ring, the slot table and a raw second
/// mapping.
pub(crate) struct Hostile {
    pub(crate) tx: Producer<Futex>,
    pub(crate) rx: Option<Receiver<Futex>>,
    pub(crate) slots: Arc<SlotTable<Futex>>,
    pub(crate) raw: Arc<Raw>,
    _watch: Watch,
    _segment: Segment,
    _fds: FdSocket,
}

impl Hostile {
    pub(crate) fn connect() -> Hostile {
        let (seg, fds, main) = match Handoff::receive(Some(Instant::now() + REPLY_DEADLINE)) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("hostile_renderer: no segment: {e}");
                std::process::exit(kit::EXIT_USAGE);
            }
        };
        // SAFETY: a second shared mapping of our own segment's memfd. Main and this process
        // may write it concurrently: it is only accessed through `Raw`'s atomics.
        let map = unsafe { MmapMut::map_mut(seg.file()) }.expect("map the segment again");
        let raw = Arc::new(Raw {
            map,
            layout: *seg.layout(),
        });
        let live = Liveness::new();
        let watch = main
            .watch(live.clone(), || std::process::exit(kit::EXIT_MAIN_GONE))
            .expect("watch main");
        let end = seg.into_renderer(live);
        Hostile {
            tx: end.tx,
            rx: Some(end.rx),
            slots: end.slots,
            raw,
            _watch: watch,
            _segment: end.segment,
            _fds: fds,
        }
    }

    /// Send one message (whole or chunked), blocking while the ring is full.
    pub(crate) fn send(&mut self, tag: u16, payload: &[u8]) {
        if let Err(e) = self.tx.send(tag, 0, payload, WaitMode::default(), None) {
            eprintln!("hostile_renderer: send failed: {e}");
            std::process::exit(kit::EXIT_MAIN_GONE);
        }
    }

    /// A request answered in a slot: `(aux, reply bytes)`.
    pub(crate) fn request(
        &mut self,
        tag: u16,
        channel: &str,
        args: &[u8],
    ) -> Result<(u32, AlignedBuf), String> {
        self.request_forged(tag, Envelope::default(), channel.as_bytes(), args)
    }

    /// [`request`](Self::request) with a forged envelope (its slot fields are filled in) and
    /// channel bytes.
    pub(crate) fn request_forged(
        &mut self,
        tag: u16,
        env: Envelope,
        channel: &[u8],
        args: &[u8],
    ) -> Result<(u32, AlignedBuf), String> {
        let deadline = Some(Instant::now() + REPLY_DEADLINE);
        let t = self
            .slots
            .acquire(deadline)
            .map_err(|e| format!("acquire a slot: {e:?}"))?;
        let env = Envelope {
            slot_index: t.index,
            slot_gen: t.generation,
            ..env
        };
        self.send(tag, &kit::message(&env, channel, args));
        let channel = String::from_utf8_lossy(channel);
        let r = self
            .slots
            .wait_reply(t, WaitMode::default(), deadline)
            .map_err(|e| format!("no reply on {channel}: {e:?}"))?;
        let mut buf = AlignedBuf::new();
        buf.resize(r.len());
        r.copy_to(buf.as_mut_slice());
        Ok((r.aux(), buf))
    }

    /// Invoke `echo` with `values` through a slot and check the answer.
    pub(crate) fn echo(&mut self, values: &[Value]) -> Result<(), String> {
        let (aux, buf) = self.request(kind::INVOKE, kit::ECHO, &kit::args(values))?;
        match kit::decode_reply(aux, buf.as_slice())? {
            Ok(v) if v == Value::Array(values.to_vec()) => Ok(()),
            other => Err(format!("echo of {values:?} answered {other:?}")),
        }
    }

    /// Invoke `echo` with a reply through the ring (an async invoke) and check the answer.
    pub(crate) fn echo_async(&mut self, values: &[Value], request_id: u64) -> Result<(), String> {
        let env = Envelope {
            flags: kit::FLAG_REPLY_VIA_RING,
            request_id,
            ..Envelope::default()
        };
        let m = kit::message(&env, kit::ECHO.as_bytes(), &kit::args(values));
        self.send(kind::INVOKE, &m);
        let (env, args) = self.recv_from_main(kind::REPLY)?;
        if env.request_id != request_id {
            return Err(format!("reply for request {}", env.request_id));
        }
        match kit::decode_reply(
            if env.flags & kit::FLAG_ERROR != 0 {
                kit::AUX_ERROR
            } else {
                0
            },
            args.as_slice(),
        )? {
            Ok(v) if v == Value::Array(values.to_vec()) => Ok(()),
            other => Err(format!("async echo answered {other:?}")),
        }
    }

    /// The next message from main, which must be of kind `want`: its envelope and arguments.
    pub(crate) fn recv_from_main(&mut self, want: u16) -> Result<(Envelope, AlignedBuf), String> {
        self.recv_from_main_until(want, Some(Instant::now() + REPLY_DEADLINE))
    }

    /// [`recv_from_main`](Self::recv_from_main) with a deadline (`None`: until main is gone,
    /// when the watcher ends the process).
    pub(crate) fn recv_from_main_until(
        &mut self,
        want: u16,
        deadline: Option<Instant>,
    ) -> Result<(Envelope, AlignedBuf), String> {
        let rx = self.rx.as_mut().expect("receiver");
        let msg = rx
            .recv(WaitMode::default(), deadline)
            .map_err(|e| format!("receive from main: {e}"))?;
        let tag = msg.tag();
        let mut buf = AlignedBuf::new();
        msg.copy_into(&mut buf);
        if tag != want {
            return Err(format!("main sent kind {tag}, expected {want}"));
        }
        kit::parse_message(buf.as_slice())
    }
}
