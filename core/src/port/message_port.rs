//! [`MessagePort`]: one end of a channel, in any process. Its two rings live in the channel's
//! segment, mapped only by the two processes holding its ends; main is not on the data path.
//!
//! A port is open until it is closed (by [`close`](MessagePort::close) or drop), moved (its
//! old handle is then neutered), or broken (its peer wrote something invalid: the port closes
//! and emits `close`). Messages queue in the ring until [`start`](MessagePort::start); a
//! started port delivers on its own thread, parked on the ring's futex while idle.

use super::deliver;
use super::error::PortError;
use super::exclusive::Exclusive;
use super::frame;
use super::inbox::inbox;
use super::local::{self, Identity};
use super::route;
use super::transfer::forward;
pub(crate) use super::transfer::{check_transfer, collect, collect_routed, leaving, move_local};
use crate::message::body::{Data, Payload};
use crate::value::Value;
use crate::wire::ValueRef;
use electrode_shm::WaitMode;
use electrode_shm::{AlignedBuf, Event, Futex, Liveness, Message, Producer, Receiver, RecvError};
use electrode_shm::{PortEnd, PortSegment, Side};
use parking_lot::{Mutex, RwLock};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(crate) const OPEN: u8 = 0;
pub(crate) const CLOSED: u8 = 1;
pub(crate) const MOVED: u8 = 2;
pub(crate) const BROKEN: u8 = 3;

/// How long a receiver waits for the ends a message names to arrive.
pub(crate) const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(2);

/// Largest copy buffer [`MessagePort::recv_with`] keeps for its thread's next call.
const KEPT_BUFFER: usize = 1 << 20;

/// The wait mode of port waits (spin briefly, then park).
pub(crate) const PORT_WAIT: WaitMode = crate::DEFAULT_WAIT_MODE;

pub(crate) type MessageListener = dyn Fn(&MessageEvent<'_>) + Send + Sync;
pub(crate) type CloseListener = dyn Fn() + Send + Sync;

/// A typed port message's archive (inside the port's private, 16-aligned copy of the message)
/// and fingerprint, for its typed channel to check and validate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TypedRef<'a> {
    pub fingerprint: u64,
    pub bytes: &'a [u8],
}

impl TypedRef<'_> {
    pub(crate) fn payload(&self) -> Payload<'_> {
        Payload {
            fingerprint: self.fingerprint,
            data: Data::Archive(self.bytes),
        }
    }
}

/// A `message` event: the data and the ports it carried. It lends the message, which was
/// copied out of the ring and validated before any listener runs; [`data`](Self::data) makes
/// an owned copy on first use, [`data_ref`](Self::data_ref) reads in place.
pub struct MessageEvent<'a> {
    pub(crate) view: ValueRef<'a>,
    pub(crate) owned: OnceLock<Value>,
    pub(crate) ports: Mutex<Vec<MessagePort>>,
    pub(crate) typed: Option<TypedRef<'a>>,
}

impl<'a> MessageEvent<'a> {
    /// The message as an owned `Value`, built on the first call (`Value::Null` for a typed
    /// channel's message: its listener reads it).
    pub fn data(&self) -> &Value {
        self.owned.get_or_init(|| self.view.to_value())
    }

    /// The message, read in place (no copy; [`ValueRef::Null`] for a typed channel's message).
    pub fn data_ref(&self) -> ValueRef<'a> {
        self.view
    }

    /// A typed message's body, for its channel's check (`None` for a `Value` message).
    pub(crate) fn payload(&self) -> Option<Payload<'_>> {
        self.typed.as_ref().map(|t| t.payload())
    }

    /// The ports the message carried. The first call takes them (later calls, and other
    /// listeners, get none); ports nobody takes are closed.
    pub fn ports(&self) -> Vec<MessagePort> {
        std::mem::take(&mut *self.ports.lock())
    }
}

impl std::fmt::Debug for MessageEvent<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageEvent")
            .field("data", &self.view)
            .field("ports", &self.ports.lock().len())
            .finish()
    }
}

/// A message taken with [`MessagePort::recv`].
#[derive(Debug)]
#[non_exhaustive]
pub struct PortMessage {
    /// The message (`Value::Null` for a typed channel's message).
    pub data: Value,
    /// The ports it carried.
    pub ports: Vec<MessagePort>,
}

/// A message lent by [`MessagePort::recv_with`]: read in place from the port's private copy
/// (taken out of the ring, then validated, before the callback runs), valid inside the
/// callback only. Ports nobody takes are closed when the callback returns.
pub struct PortMessageRef<'a> {
    pub(crate) data: ValueRef<'a>,
    pub(crate) ports: Vec<MessagePort>,
    pub(crate) typed: Option<TypedRef<'a>>,
}

impl<'a> PortMessageRef<'a> {
    /// The message, read in place ([`ValueRef::Null`] for a typed channel's message).
    pub fn data(&self) -> ValueRef<'a> {
        self.data
    }

    /// The ports the message carried (still to be taken).
    pub fn ports(&self) -> &[MessagePort] {
        &self.ports
    }

    /// Take the ports the message carried (later calls get none).
    pub fn take_ports(&mut self) -> Vec<MessagePort> {
        std::mem::take(&mut self.ports)
    }

    /// An owned copy of the message (its ports are taken).
    pub(crate) fn take_message(&mut self) -> PortMessage {
        PortMessage {
            data: self.data.to_value(),
            ports: self.take_ports(),
        }
    }
}

impl std::fmt::Debug for PortMessageRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortMessageRef")
            .field("data", &self.data)
            .field("ports", &self.ports.len())
            .finish()
    }
}

/// The state a port handle and its delivery thread share.
pub(crate) struct Core {
    pub side: Side,
    pub segment: PortSegment,
    pub id: Identity,
    pub live: Liveness,
    pub tx: Exclusive<Option<Producer<Futex>>>,
    /// Taken by the delivery thread while it runs (and given back when it stops).
    pub rx: Exclusive<Option<Receiver<Futex>>>,
    pub state: AtomicU8,
    pub started: AtomicBool,
    /// Asks the delivery thread to stop (with `wake`).
    pub stop: AtomicBool,
    pub wake: Event,
    pub thread: Mutex<Option<JoinHandle<()>>>,
    pub on_message: RwLock<Vec<Arc<MessageListener>>>,
    pub on_close: RwLock<Vec<Arc<CloseListener>>>,
}

/// One end of a message channel (Electron's `MessagePortMain` in main, the DOM `MessagePort`
/// in a renderer). `Send`, not `Clone`; dropping it closes it.
pub struct MessagePort {
    pub(crate) core: Arc<Core>,
}

impl std::fmt::Debug for MessagePort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessagePort")
            .field("side", &self.core.side)
            .field("state", &self.core.state.load(Ordering::Relaxed))
            .finish()
    }
}

impl MessagePort {
    /// A port over one side's endpoints.
    pub(crate) fn from_end(end: PortEnd) -> MessagePort {
        let id = local::identity(&end.segment);
        local::hold(id, end.side as usize);
        MessagePort {
            core: Arc::new(Core {
                id,
                side: end.side,
                segment: end.segment,
                live: end.live,
                tx: Exclusive::new(Some(end.tx)),
                rx: Exclusive::new(Some(end.rx)),
                state: AtomicU8::new(OPEN),
                started: AtomicBool::new(false),
                stop: AtomicBool::new(false),
                wake: Event::new(),
                thread: Mutex::new(None),
                on_message: RwLock::new(Vec::new()),
                on_close: RwLock::new(Vec::new()),
            }),
        }
    }

    /// Send `message` and move `transfer` to the other end. On a port this side closed, a
    /// no-op (as in Electron); when the other end closed, [`PortError::PeerClosed`]. A
    /// transfer list with a closed port fails with Electron's text (`Port at index 0 is
    /// already neutered.`), and nothing is sent; a duplicate cannot be expressed (the list owns
    /// its ports). Blocks while the ring is full (backpressure).
    pub fn post_message(
        &self,
        message: &Value,
        transfer: Vec<MessagePort>,
    ) -> Result<(), PortError> {
        self.post(frame::Outgoing::Value(message), transfer)
    }

    /// [`post_message`](Self::post_message) with any body (typed channels give an archive).
    pub(crate) fn post(
        &self,
        out: frame::Outgoing<'_>,
        transfer: Vec<MessagePort>,
    ) -> Result<(), PortError> {
        match self.core.state.load(Ordering::SeqCst) {
            OPEN => {}
            CLOSED | MOVED => return Ok(()),
            _ => {
                return Err(PortError::Broken(
                    "the port was closed after a fault".into(),
                ))
            }
        }
        if self.core.segment.is_closed(self.core.side.other()) {
            return Err(PortError::PeerClosed);
        }
        check_transfer(&transfer, Some(self.core.id))?;
        let records = if transfer.is_empty() {
            Vec::new()
        } else if local::holds(self.core.id, self.core.side.other() as usize) {
            move_local(transfer)?
        } else {
            forward(transfer, self.core.id, self.core.side)?
        };
        let sent = {
            let mut tx = self.core.tx.take();
            match tx.as_mut() {
                Some(tx) => frame::post(tx, out, &records),
                None => Ok(()), // closed meanwhile: a no-op
            }
        };
        if let Err(e) = sent {
            for r in &records {
                inbox().discard(r.token);
            }
            // Blocked on a full ring while another thread closed this end.
            if matches!(e, PortError::PeerClosed) && self.core.state.load(Ordering::SeqCst) != OPEN
            {
                return Err(PortError::Closed);
            }
            // The peer broke the ring (e.g. a lying read index): close the port, as a read does.
            if let PortError::Broken(why) = e {
                return Err(self.broken(why));
            }
            return Err(e);
        }
        Ok(())
    }

    /// Deliver queued and future messages to the `message` listeners, on the port's own
    /// thread (parked on the ring's futex while idle). Starting twice is a no-op.
    pub fn start(&self) {
        if self.core.state.load(Ordering::SeqCst) != OPEN
            || self.core.started.swap(true, Ordering::SeqCst)
        {
            return;
        }
        deliver::spawn(&self.core);
    }

    /// Close this end: the other end's `close` fires; later `post_message`s here are no-ops.
    pub fn close(&self) {
        close_core(&self.core);
    }

    /// Listen for messages (delivered once the port is [`start`](Self::start)ed).
    pub fn on_message(&self, f: impl Fn(&MessageEvent<'_>) + Send + Sync + 'static) {
        self.core.on_message.write().push(Arc::new(f));
    }

    /// Listen for the other end closing (or its process dying, or the port breaking).
    /// Delivered by a started port.
    pub fn on_close(&self, f: impl Fn() + Send + Sync + 'static) {
        self.core.on_close.write().push(Arc::new(f));
    }

    /// Whether this end is still open (not closed, moved or broken).
    pub fn is_open(&self) -> bool {
        self.core.state.load(Ordering::SeqCst) == OPEN
    }

    /// Take the next message of a port that is not started, waiting up to `timeout` (Node's
    /// `receiveMessageOnPort`, with a wait). An owned copy of what
    /// [`recv_with`](Self::recv_with) lends.
    pub fn recv(&self, timeout: Option<Duration>) -> Result<PortMessage, PortError> {
        self.recv_with(timeout, |m| m.take_message())
    }

    /// Take the next message of a port that is not started, waiting up to `timeout`, and lend
    /// it to `f`: the message is copied out of the ring into this thread's private buffer
    /// (the peer is untrusted), validated as [`recv`](Self::recv) does (a malformed one breaks
    /// the port), and read in place. No `Value` is built and, in a receive loop, nothing is
    /// allocated for a message that carries no port. The ports it carried are closed unless
    /// `f` takes them.
    ///
    /// ```
    /// use electrode::{MessageChannel, Value, ValueRef};
    /// use std::time::Duration;
    ///
    /// let (ours, theirs) = MessageChannel::new()?;
    /// ours.post_message(&Value::Bytes(vec![1, 2, 3]), vec![])?;
    /// let sum = theirs.recv_with(Some(Duration::from_secs(5)), |m| match m.data() {
    ///     ValueRef::Bytes(b) => b.iter().map(|&x| u32::from(x)).sum(),
    ///     _ => 0,
    /// })?;
    /// assert_eq!(sum, 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_with<R>(
        &self,
        timeout: Option<Duration>,
        f: impl FnOnce(&mut PortMessageRef<'_>) -> R,
    ) -> Result<R, PortError> {
        if self.core.started.load(Ordering::SeqCst) {
            return Err(PortError::Started);
        }
        if self.core.state.load(Ordering::SeqCst) != OPEN {
            return Err(PortError::Closed);
        }
        // One copy buffer per thread, reused: a receive loop allocates nothing for the copy.
        thread_local! {
            static BUF: RefCell<AlignedBuf> = RefCell::new(AlignedBuf::new());
        }
        BUF.with(|b| match b.try_borrow_mut() {
            Ok(mut buf) => {
                let got = self.lend_from(timeout, &mut buf, f);
                if buf.len() > KEPT_BUFFER {
                    *buf = AlignedBuf::new(); // keep no large buffer per thread
                }
                got
            }
            // Re-entered (a receive inside `f`, or inside a receive's port collection): a
            // buffer of its own.
            Err(_) => self.lend_from(timeout, &mut AlignedBuf::new(), f),
        })
    }

    fn lend_from<R>(
        &self,
        timeout: Option<Duration>,
        buf: &mut AlignedBuf,
        f: impl FnOnce(&mut PortMessageRef<'_>) -> R,
    ) -> Result<R, PortError> {
        let got = {
            // Another thread receiving on this end has the receiver: wait for it, within the
            // deadline.
            let mut guard = match self.core.rx.try_take() {
                Some(g) => g,
                None => self
                    .core
                    .rx
                    .take_until(timeout.map(|t| Instant::now() + t))
                    .ok_or(PortError::TimedOut)?,
            };
            let Some(rx) = guard.as_mut() else {
                return Err(PortError::Closed);
            };
            let mut copy = |msg: Message<'_, Futex>| {
                let tag = msg.tag();
                msg.copy_into(buf);
                tag
            };
            // A message already there, or one that comes while we spin, needs no deadline
            // (no clock read); only a wait that will park does.
            if !rx.consumer_ref().may_have_data() {
                let _ = electrode_shm::spin_phase(PORT_WAIT, || {
                    rx.consumer_ref().may_have_data().then_some(())
                });
            }
            let got = match rx.try_recv() {
                Ok(Some(msg)) => Ok(copy(msg)),
                Ok(None) => {
                    let deadline = timeout.map(|t| Instant::now() + t);
                    rx.recv(PORT_WAIT, deadline).map(copy)
                }
                Err(c) => Err(RecvError::Corrupt(c)),
            };
            rx.finish_message();
            got
        };
        let tag = match got {
            Ok(tag) => tag,
            Err(RecvError::TimedOut) => return Err(PortError::TimedOut),
            Err(RecvError::PeerGone) => {
                return Err(if self.core.state.load(Ordering::SeqCst) == OPEN {
                    PortError::PeerClosed
                } else {
                    PortError::Closed
                })
            }
            Err(RecvError::Corrupt(c)) => return Err(self.broken(c.to_string())),
        };
        let mut msg = frame::lend(tag, buf.as_slice()).map_err(|why| self.broken(why))?;
        Ok(f(&mut msg))
    }

    /// The peer broke the port (`why`): close it, and say so.
    pub(crate) fn broken(&self, why: String) -> PortError {
        tracing::warn!("port: the peer broke the port ({why}); closing it");
        self.core.state.store(BROKEN, Ordering::SeqCst);
        close_core(&self.core);
        PortError::Broken(why)
    }

    /// Take this end's endpoints out (it is being moved): the handle is neutered.
    pub(crate) fn detach(&self) -> Option<PortEnd> {
        if self
            .core
            .state
            .compare_exchange(OPEN, MOVED, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return None;
        }
        deliver::stop(&self.core);
        // Another thread blocked in `recv` or `post_message` on this end holds its endpoint:
        // the port cannot move now (the transfer fails), and it stays open.
        let (Some(mut tx), Some(mut rx)) = (self.core.tx.try_take(), self.core.rx.try_take())
        else {
            self.core.state.store(OPEN, Ordering::SeqCst);
            return None;
        };
        if tx.is_none() || rx.is_none() {
            return None;
        }
        let (tx, rx) = (tx.take()?, rx.take()?);
        local::release(self.core.id, self.core.side as usize);
        Some(PortEnd {
            side: self.core.side,
            tx,
            rx,
            live: self.core.live.clone(),
            segment: self.core.segment.clone(),
        })
    }
}

impl Drop for MessagePort {
    fn drop(&mut self) {
        close_core(&self.core);
    }
}

/// Close a port's side (idempotent): stop its thread, mark the side closed, wake every waiter.
///
/// The side is marked closed *before* the endpoints are taken: a thread blocked in `recv`
/// (or in `post_message` on a full ring) holds its endpoint's lock while it waits, and the
/// mark is what wakes it (its wait then ends with `Closed`), so closing never waits for it.
pub(crate) fn close_core(core: &Arc<Core>) {
    let prev = core
        .state
        .compare_exchange(OPEN, CLOSED, Ordering::SeqCst, Ordering::SeqCst);
    if prev.is_err() && core.state.load(Ordering::SeqCst) != BROKEN {
        return;
    }
    deliver::stop(core);
    core.segment.mark_closed(core.side);
    let tx = core.tx.take().take();
    let rx = core.rx.take().take();
    if tx.is_none() && rx.is_none() {
        return;
    }
    local::release(core.id, core.side as usize);
    if !local::holds(core.id, core.side.other() as usize) {
        if let Some(r) = route::router() {
            r.closed(core.id, core.side);
        }
    }
    if let (Some(tx), Some(rx)) = (tx, rx) {
        PortEnd {
            side: core.side,
            tx,
            rx,
            live: core.live.clone(),
            segment: core.segment.clone(),
        }
        .close();
    }
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MessagePort>();
    assert_send_sync::<MessageEvent<'static>>();
    assert_send_sync::<PortMessage>();
    assert_send_sync::<PortMessageRef<'static>>();
};
