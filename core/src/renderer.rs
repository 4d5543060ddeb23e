//! [`IpcRenderer`]: the renderer's side. Sends to main, waits for replies in response slots,
//! and runs listeners for messages from main on a receive thread.

use crate::codec;
use crate::completion::{Completion, CompletionFuture};
use crate::error::{IpcError, RemoteError};
use crate::listeners::{ListenerId, ListenerTable};
use crate::protocol::{
    Envelope, Kind, AUX_ERROR, AUX_LARGE, AUX_UNENCODABLE, FLAG_ERROR, FLAG_REPLY_VIA_RING,
};
use crate::value::Value;
use crate::wire::ArgsView;
use electrode_shm::{
    AlignedBuf, Futex, Liveness, PeerProcess, Producer, RecvError, RendererEnd, Segment, SendError,
    SlotTable, WaitError, WaitMode, Watch,
};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Settings of a renderer connection.
#[derive(Clone, Copy, Debug)]
pub struct RendererOptions {
    /// How blocking calls (`send_sync`, blocking `invoke`, a full ring) wait.
    pub wait_mode: WaitMode,
    /// How long `send` waits for room in a full ring: `None` blocks until there is room
    /// (backpressure); `Some(Duration::ZERO)` fails at once with [`IpcError::Full`].
    pub send_timeout: Option<Duration>,
}

impl Default for RendererOptions {
    fn default() -> Self {
        RendererOptions {
            wait_mode: crate::DEFAULT_WAIT_MODE,
            send_timeout: None,
        }
    }
}

/// What a renderer-side listener receives with a message from main.
#[derive(Clone, Debug)]
pub struct IpcRendererEvent {
    frame_id: u32,
    channel: Arc<str>,
    sender: IpcRenderer,
}

impl IpcRendererEvent {
    /// The frame the message was sent to.
    pub fn frame_id(&self) -> u32 {
        self.frame_id
    }

    /// The channel.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The receiving frame's `IpcRenderer` (to answer with `send`).
    pub fn sender(&self) -> &IpcRenderer {
        &self.sender
    }
}

type RListener = dyn Fn(&IpcRendererEvent, &ArgsView<'_>) + Send + Sync;
type RHandler = dyn Fn(&ArgsView<'_>) -> Result<Value, RemoteError> + Send + Sync;

type FrameListeners = ListenerTable<RListener>;

struct Shared {
    tx: Mutex<Producer<Futex>>,
    slots: Arc<SlotTable<Futex>>,
    live: Liveness,
    options: RendererOptions,
    frames: RwLock<HashMap<u32, Arc<FrameListeners>>>,
    handlers: RwLock<HashMap<String, Arc<RHandler>>>,
    /// Replies too large for their slot, parked by the receive thread: slot index -> (gen, bytes).
    large: Mutex<HashMap<u32, (u32, AlignedBuf)>>,
    /// Async invokes waiting for a `Reply` message.
    pending: Mutex<HashMap<u64, Completion<Result<Value, IpcError>>>>,
    next_request: AtomicU64,
    /// The user-held lifetime, weakly (so the receive thread does not keep it alive).
    lifetime: std::sync::OnceLock<std::sync::Weak<Lifetime>>,
}

/// Stops the receive thread and (in-process) tells main, when the last handle goes.
struct Lifetime {
    shared: Arc<Shared>,
    waker: electrode_shm::Waker,
    on_drop: Option<Box<dyn FnOnce() + Send + Sync>>,
    _watch: Option<Watch>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Lifetime {
    fn drop(&mut self) {
        if let Some(f) = self.on_drop.take() {
            f();
        }
        // Stop our own receive thread: it exits on PeerGone.
        self.shared.live.mark_gone();
        self.waker.wake_all();
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

/// The renderer's IPC handle (Electron's `ipcRenderer`), bound to one frame. Cheap to clone;
/// the connection closes when the last clone of every frame is dropped.
#[derive(Clone)]
pub struct IpcRenderer {
    shared: Arc<Shared>,
    lifetime: Arc<Lifetime>,
    frame_id: u32,
}

impl fmt::Debug for IpcRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IpcRenderer")
            .field("frame_id", &self.frame_id)
            .finish()
    }
}

impl IpcRenderer {
    /// Connect to main from a process that [`Main::spawn_renderer`] started.
    ///
    /// [`Main::spawn_renderer`]: crate::Main::spawn_renderer
    pub fn connect() -> Result<IpcRenderer, IpcError> {
        Self::connect_with(RendererOptions::default())
    }

    /// [`connect`](Self::connect) with options.
    pub fn connect_with(options: RendererOptions) -> Result<IpcRenderer, IpcError> {
        // Keep other same-user processes out of our fds and memory (docs/SECURITY.md).
        electrode_shm::harden_process().map_err(|e| IpcError::Protocol(e.to_string()))?;
        let (seg, main): (Segment, PeerProcess) =
            Segment::from_env().map_err(|e| IpcError::Protocol(e.to_string()))?;
        let live = Liveness::new();
        let end = seg.into_renderer(live);
        Self::from_end(end, options, Some(main), None)
            .map_err(|e| IpcError::Protocol(e.to_string()))
    }

    pub(crate) fn from_end(
        end: RendererEnd,
        options: RendererOptions,
        main: Option<PeerProcess>,
        on_drop: Option<Box<dyn FnOnce() + Send + Sync>>,
    ) -> std::io::Result<IpcRenderer> {
        let RendererEnd {
            tx,
            rx,
            slots,
            live,
            waker,
            segment,
        } = end;
        drop(segment);
        let shared = Arc::new(Shared {
            tx: Mutex::new(tx),
            slots,
            live: live.clone(),
            options,
            frames: RwLock::new(HashMap::new()),
            handlers: RwLock::new(HashMap::new()),
            large: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            next_request: AtomicU64::new(0),
            lifetime: std::sync::OnceLock::new(),
        });
        shared.frames.write().insert(0, Arc::default());
        let watch = match main {
            Some(p) => {
                let w = waker.clone();
                let s = shared.clone();
                Some(p.watch(live, move || {
                    w.wake_all();
                    fail_pending(&s);
                })?)
            }
            None => None,
        };
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("electrode-receive".into())
            .spawn(move || receive_loop(s, rx))?;
        let lifetime = Arc::new(Lifetime {
            shared: shared.clone(),
            waker,
            on_drop,
            _watch: watch,
            thread: Some(thread),
        });
        let _ = shared.lifetime.set(Arc::downgrade(&lifetime));
        Ok(IpcRenderer {
            shared,
            lifetime,
            frame_id: 0,
        })
    }

    /// This handle's frame id (0 is the main frame).
    pub fn frame_id(&self) -> u32 {
        self.frame_id
    }

    /// Whether main is gone.
    pub fn is_disconnected(&self) -> bool {
        self.shared.live.is_gone()
    }

    /// A handle for another frame of this renderer: it sends as that frame and has its own
    /// listeners. Main learns of the frame (so `send_to_frame` reaches it).
    pub fn frame(&self, frame_id: u32) -> Result<IpcRenderer, IpcError> {
        self.shared.frames.write().entry(frame_id).or_default();
        let r = IpcRenderer {
            shared: self.shared.clone(),
            lifetime: self.lifetime.clone(),
            frame_id,
        };
        r.post(Kind::FrameOpen, &r.envelope(), "", &[])?;
        Ok(r)
    }

    fn envelope(&self) -> Envelope {
        Envelope {
            frame_id: self.frame_id,
            ..Envelope::default()
        }
    }

    /// Write one message into the ring (straight into the reservation when it fits a frame).
    fn post(
        &self,
        kind: Kind,
        env: &Envelope,
        channel: &str,
        args: &[Value],
    ) -> Result<(), IpcError> {
        if self.shared.live.is_gone() {
            return Err(IpcError::Disconnected);
        }
        let deadline = self.shared.options.send_timeout.map(|t| Instant::now() + t);
        let mode = self.shared.options.wait_mode;
        let plan = codec::plan_message(channel, args);
        let hint = plan.hint;
        let mut tx = self.shared.tx.lock();
        if hint <= tx.max_frame_payload() {
            let mut g = tx.reserve(hint, mode, deadline).map_err(send_error)?;
            // (`let else`, not `ok_or`: building an error value on the hot path costs a drop.)
            let Some(n) = codec::write_message_planned(env, channel, args, &plan, g.as_mut_slice())
            else {
                return Err(IpcError::TooLarge { size: hint });
            };
            g.commit(n, kind as u16, env.request_id);
            return Ok(());
        }
        drop(tx);
        let bytes = codec::message_bytes(env, channel, args)?;
        if bytes.len() > electrode_shm::DEFAULT_MAX_MESSAGE {
            return Err(IpcError::TooLarge { size: bytes.len() });
        }
        self.shared
            .tx
            .lock()
            .send(kind as u16, env.request_id, &bytes, mode, deadline)
            .map_err(send_error)
    }

    /// Send a one-way message to main (Electron's `ipcRenderer.send`). Blocks while the ring
    /// is full (or fails per [`RendererOptions::send_timeout`]).
    pub fn send(&self, channel: &str, args: &[Value]) -> Result<(), IpcError> {
        self.post(Kind::Send, &self.envelope(), channel, args)
    }

    /// Send and wait for a listener's return value (Electron's `sendSync`). Fails at once when
    /// no listener exists on any level, and when the event is dropped without a value.
    pub fn send_sync(&self, channel: &str, args: &[Value]) -> Result<Value, IpcError> {
        self.request(Kind::SendSync, channel, args, None)
    }

    /// [`send_sync`](Self::send_sync) with a deadline.
    pub fn send_sync_timeout(
        &self,
        channel: &str,
        args: &[Value],
        timeout: Duration,
    ) -> Result<Value, IpcError> {
        self.request(
            Kind::SendSync,
            channel,
            args,
            Some(Instant::now() + timeout),
        )
    }

    /// Invoke main's handler for `channel` and block for the answer.
    pub fn invoke_blocking(&self, channel: &str, args: &[Value]) -> Result<Value, IpcError> {
        self.request(Kind::Invoke, channel, args, None)
    }

    /// [`invoke_blocking`](Self::invoke_blocking) with a deadline.
    pub fn invoke_timeout(
        &self,
        channel: &str,
        args: &[Value],
        timeout: Duration,
    ) -> Result<Value, IpcError> {
        self.request(Kind::Invoke, channel, args, Some(Instant::now() + timeout))
    }

    fn request(
        &self,
        kind: Kind,
        channel: &str,
        args: &[Value],
        deadline: Option<Instant>,
    ) -> Result<Value, IpcError> {
        let slots = &self.shared.slots;
        let ticket = slots.acquire(deadline).map_err(wait_error)?;
        let env = Envelope {
            frame_id: self.frame_id,
            slot_index: ticket.index,
            slot_gen: ticket.generation,
            ..Envelope::default()
        };
        if let Err(e) = self.post(kind, &env, channel, args) {
            slots.cancel(ticket);
            return Err(e);
        }
        let reply = slots
            .wait_reply(ticket, self.shared.options.wait_mode, deadline)
            .map_err(wait_error)?;
        let aux = reply.aux();
        let result = if aux & AUX_UNENCODABLE != 0 {
            return Err(IpcError::Protocol("main could not encode the reply".into()));
        } else if aux & AUX_LARGE != 0 {
            let big = self.shared.large.lock().remove(&ticket.index);
            drop(reply);
            match big {
                Some((g, bytes)) if g == ticket.generation => {
                    codec::decode_result(bytes.as_slice(), aux & AUX_ERROR != 0)?
                }
                _ => return Err(IpcError::Protocol("large reply went missing".into())),
            }
        } else {
            codec::decode_result(reply.as_slice(), aux & AUX_ERROR != 0)?
        };
        result.map_err(|error| match kind {
            Kind::SendSync => IpcError::SendSync {
                channel: channel.to_string(),
                error,
            },
            _ => IpcError::Invoke {
                channel: channel.to_string(),
                error,
            },
        })
    }

    /// Invoke main's handler for `channel` (Electron's `ipcRenderer.invoke`): a future that
    /// works on any executor (the receive thread completes it).
    pub fn invoke(&self, channel: &str, args: &[Value]) -> Invoke {
        let id = self.shared.next_request.fetch_add(1, Ordering::Relaxed) + 1;
        let c = Completion::new();
        self.shared.pending.lock().insert(id, c.clone());
        let env = Envelope {
            frame_id: self.frame_id,
            flags: FLAG_REPLY_VIA_RING,
            request_id: id,
            ..Envelope::default()
        };
        if let Err(e) = self.post(Kind::Invoke, &env, channel, args) {
            self.shared.pending.lock().remove(&id);
            c.complete(Err(e));
        } else if self.shared.live.is_gone() {
            fail_pending(&self.shared);
        }
        Invoke {
            shared: self.shared.clone(),
            id,
            channel: channel.to_string(),
            fut: CompletionFuture(c),
        }
    }

    fn listeners(&self) -> Arc<FrameListeners> {
        self.shared
            .frames
            .write()
            .entry(self.frame_id)
            .or_default()
            .clone()
    }

    /// Listen for messages from main on `channel` (`webContents.send`, `event.reply`).
    /// Listeners run on the receive thread.
    pub fn on(
        &self,
        channel: &str,
        f: impl Fn(&IpcRendererEvent, &ArgsView<'_>) + Send + Sync + 'static,
    ) -> ListenerId {
        self.listeners().add(channel, Arc::new(f), false)
    }

    /// As [`on`](Self::on), fires at most once.
    pub fn once(
        &self,
        channel: &str,
        f: impl Fn(&IpcRendererEvent, &ArgsView<'_>) + Send + Sync + 'static,
    ) -> ListenerId {
        self.listeners().add(channel, Arc::new(f), true)
    }

    /// Remove one listener. Returns whether it was registered.
    pub fn remove_listener(&self, channel: &str, id: ListenerId) -> bool {
        self.listeners().remove(channel, id)
    }

    /// Remove every listener of `channel`, or all.
    pub fn remove_all_listeners(&self, channel: Option<&str>) {
        self.listeners().remove_all(channel)
    }

    /// Channels with listeners on this frame, sorted.
    pub fn event_names(&self) -> Vec<String> {
        self.listeners().names()
    }

    /// Handle main's [`WebContents::invoke`] on `channel` (beyond Electron). One handler per
    /// channel; it runs on the receive thread.
    ///
    /// [`WebContents::invoke`]: crate::WebContents::invoke
    pub fn handle(
        &self,
        channel: &str,
        f: impl Fn(&ArgsView<'_>) -> Result<Value, RemoteError> + Send + Sync + 'static,
    ) -> Result<(), IpcError> {
        let mut h = self.shared.handlers.write();
        if h.contains_key(channel) {
            return Err(IpcError::SecondHandler {
                channel: channel.to_string(),
            });
        }
        h.insert(channel.to_string(), Arc::new(f));
        Ok(())
    }

    /// Remove the handler of `channel`.
    pub fn remove_handler(&self, channel: &str) {
        self.shared.handlers.write().remove(channel);
    }
}

/// The future of [`IpcRenderer::invoke`].
pub struct Invoke {
    shared: Arc<Shared>,
    id: u64,
    channel: String,
    fut: CompletionFuture<Result<Value, IpcError>>,
}

impl fmt::Debug for Invoke {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invoke")
            .field("channel", &self.channel)
            .finish()
    }
}

impl Invoke {
    /// Block until the answer (or `timeout`).
    pub fn wait(self, timeout: Option<Duration>) -> Result<Value, IpcError> {
        self.fut
            .0
            .wait(timeout.map(|t| Instant::now() + t))
            .unwrap_or(Err(IpcError::TimedOut))
    }
}

impl Future for Invoke {
    type Output = Result<Value, IpcError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let channel = self.channel.clone();
        Pin::new(&mut self.fut).poll(cx).map(|r| {
            r.map_err(|e| match e {
                IpcError::Invoke { error, .. } => IpcError::Invoke { channel, error },
                other => other,
            })
        })
    }
}

impl Drop for Invoke {
    fn drop(&mut self) {
        self.shared.pending.lock().remove(&self.id);
    }
}

fn send_error(e: SendError) -> IpcError {
    match e {
        SendError::TimedOut => IpcError::Full,
        SendError::PeerGone => IpcError::Disconnected,
        SendError::TooLarge => IpcError::TooLarge { size: 0 },
        SendError::Corrupt(c) => IpcError::Protocol(c.to_string()),
    }
}

fn wait_error(e: WaitError) -> IpcError {
    match e {
        WaitError::TimedOut => IpcError::TimedOut,
        WaitError::PeerGone => IpcError::Disconnected,
    }
}

fn fail_pending(shared: &Shared) {
    let pending: Vec<_> = shared.pending.lock().drain().collect();
    for (_, c) in pending {
        c.complete(Err(IpcError::Disconnected));
    }
}

/// The receive thread: messages from main, in order.
fn receive_loop(shared: Arc<Shared>, mut rx: electrode_shm::Receiver<Futex>) {
    let mut buf = AlignedBuf::new();
    loop {
        let msg = match rx.recv(shared.options.wait_mode, None) {
            Ok(m) => m,
            Err(RecvError::PeerGone) => break,
            Err(e) => {
                eprintln!("[electrode] renderer: receive failed: {e}");
                break;
            }
        };
        let tag = msg.tag();
        let bytes = match msg {
            electrode_shm::Message::Frame(frame) => {
                buf.resize(frame.len());
                frame.copy_to(buf.as_mut_slice());
                frame.release();
                buf.as_slice()
            }
            // Reassembled chunks are already in the receiver's own buffer.
            electrode_shm::Message::Assembled { bytes, .. } => bytes,
        };
        if let Err(e) = handle_from_main(&shared, tag, bytes) {
            eprintln!("[electrode] renderer: bad message from main: {e}");
        }
    }
    fail_pending(&shared);
}

fn handle_from_main(shared: &Arc<Shared>, tag: u16, bytes: &[u8]) -> Result<(), IpcError> {
    let kind =
        Kind::from_tag(tag).ok_or_else(|| IpcError::Protocol(format!("unknown kind {tag}")))?;
    let parsed = Envelope::parse(bytes).map_err(|m| IpcError::Protocol(m.0))?;
    let env = parsed.env;
    match kind {
        Kind::Message => {
            let args = parsed.view().map_err(|m| IpcError::Protocol(m.0))?;
            let frame = shared.frames.read().get(&env.frame_id).cloned();
            let Some(frame) = frame else { return Ok(()) };
            let Some((name, entries)) = frame.snapshot(parsed.channel) else {
                return Ok(());
            };
            let Some(sender) = handle_for(shared, env.frame_id) else {
                return Ok(());
            };
            let event = IpcRendererEvent {
                frame_id: env.frame_id,
                channel: name,
                sender,
            };
            frame.run_each(parsed.channel, &entries, |f| {
                crate::dispatcher::guard("renderer listener", parsed.channel, || f(&event, &args));
            });
        }
        Kind::LargeReply => {
            let mut bytes = AlignedBuf::new();
            bytes.extend_from_slice(parsed.args);
            shared
                .large
                .lock()
                .insert(env.slot_index, (env.slot_gen, bytes));
            let aux = AUX_LARGE
                | if env.flags & FLAG_ERROR != 0 {
                    AUX_ERROR
                } else {
                    0
                };
            let outcome = shared.slots.reply(env.slot_index, env.slot_gen, 0, |_| aux);
            if outcome != electrode_shm::ReplyOutcome::Written {
                shared.large.lock().remove(&env.slot_index);
            }
        }
        Kind::Reply => {
            let c = shared.pending.lock().remove(&env.request_id);
            if let Some(c) = c {
                let r = codec::decode_result(parsed.args, env.flags & FLAG_ERROR != 0)?;
                c.complete(r.map_err(|error| IpcError::Invoke {
                    channel: String::new(),
                    error,
                }));
            }
        }
        Kind::InvokeRenderer => {
            let args = parsed.view().map_err(|m| IpcError::Protocol(m.0))?;
            let handler = shared.handlers.read().get(parsed.channel).cloned();
            let result = match handler {
                None => Err(RemoteError::new(format!(
                    "No handler registered for '{}'",
                    parsed.channel
                ))),
                Some(h) => {
                    crate::dispatcher::guard("renderer handler", parsed.channel, || h(&args))
                        .unwrap_or_else(|| Err(RemoteError::new("the handler panicked")))
                }
            };
            let values = codec::result_values(&result);
            let reply_env = Envelope {
                flags: if result.is_err() { FLAG_ERROR } else { 0 },
                request_id: env.request_id,
                ..Envelope::default()
            };
            if let Some(h) = handle_for(shared, 0) {
                h.post(Kind::HandlerReply, &reply_env, parsed.channel, &values)?;
            }
        }
        other => {
            return Err(IpcError::Protocol(format!(
                "{other:?} is not a main-to-renderer message"
            )))
        }
    }
    Ok(())
}

/// A handle for `frame_id`, for the receive thread to give listeners; `None` once the user
/// has dropped every handle (the connection is closing).
fn handle_for(shared: &Arc<Shared>, frame_id: u32) -> Option<IpcRenderer> {
    let lifetime = shared.lifetime.get()?.upgrade()?;
    Some(IpcRenderer {
        shared: shared.clone(),
        lifetime,
        frame_id,
    })
}
