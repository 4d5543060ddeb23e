//! [`IpcRenderer`]: the renderer's handle (Electron's `ipcRenderer`), bound to one frame.

use super::connection::{FrameListeners, Lifetime, RHandler, RListener, Shared};
use super::event::IpcRendererEvent;
use super::invoke::{self, Invoke};
use super::options::RendererOptions;
use super::post::post;
use super::receive::receive_loop;
use super::request::request;
use crate::call::{CallKind, PendingCalls, SlotMailbox, SlotWakers};
use crate::error::{CallError, ConnectError, RegisterError, RemoteError, SendError};
use crate::listeners::ListenerId;
use crate::message::body::{Body, Payload, Refusal};
use crate::message::envelope::Envelope;
use crate::message::kind::{Kind, MAX_FRAMES};
use crate::value::Value;
use crate::wire::ArgsView;
use electrode_shm::{FdSocket, Handoff, PeerProcess, RendererEnd};
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long [`IpcRenderer::connect`] waits for main to send the segment (main sends it right
/// after spawning; a main that dies first closes the socket, which ends the wait at once).
const SEGMENT_WAIT: Duration = Duration::from_secs(10);

/// The renderer's IPC handle (Electron's `ipcRenderer`), bound to one frame. Cheap to clone;
/// the connection closes when the last clone of every frame is dropped.
pub struct IpcRenderer {
    pub(crate) shared: Arc<Shared>,
    pub(crate) lifetime: Hold,
    pub(crate) frame_id: u32,
}

/// Whether a handle keeps the connection open.
pub(crate) enum Hold {
    /// A user's handle: the connection lives while one does.
    Strong(Arc<Lifetime>),
    /// The `sender` of an event the receive thread lends to its listeners (made once per frame
    /// and channel, `renderer/listener_cache.rs`): it does not keep the connection open, and
    /// a clone of it is a user's handle again.
    Lent,
}

impl Hold {
    /// A strong hold on `shared`'s connection, if it is still open.
    fn upgrade(&self, shared: &Shared) -> Hold {
        match self {
            Hold::Strong(l) => Hold::Strong(l.clone()),
            Hold::Lent => match shared.lifetime.get().and_then(std::sync::Weak::upgrade) {
                Some(l) => Hold::Strong(l),
                // Every user handle is gone: the connection is closing, and so is this one.
                None => Hold::Lent,
            },
        }
    }
}

impl Clone for IpcRenderer {
    fn clone(&self) -> Self {
        IpcRenderer {
            shared: self.shared.clone(),
            lifetime: self.lifetime.upgrade(&self.shared),
            frame_id: self.frame_id,
        }
    }
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
    pub fn connect() -> Result<IpcRenderer, ConnectError> {
        Self::connect_with(RendererOptions::default())
    }

    /// [`connect`](Self::connect) with options.
    pub fn connect_with(options: RendererOptions) -> Result<IpcRenderer, ConnectError> {
        // Keep other same-user processes out of our fds and memory (docs/SECURITY.md).
        // This comes first: the segment's memfd enters this process's fd table only below,
        // once no same-user process can reach it through /proc or ptrace.
        electrode_shm::harden_process().map_err(ConnectError::Harden)?;
        let (fds, main) = Handoff::from_env()?;
        let seg = Handoff::recv_segment(&fds, Some(Instant::now() + SEGMENT_WAIT))?;
        let live = electrode_shm::Liveness::new();
        let end = seg.into_renderer(live);
        Self::from_end(end, fds, options, Some(main), None).map_err(ConnectError::Io)
    }

    pub(crate) fn from_end(
        end: RendererEnd,
        fds: FdSocket,
        options: RendererOptions,
        main: Option<PeerProcess>,
        on_drop: Option<Box<dyn FnOnce() + Send + Sync>>,
    ) -> std::io::Result<IpcRenderer> {
        // The renderer trusts main, which answers in these slots (docs/SAFETY.md).
        let slots = end.slots_trusting_main();
        let RendererEnd {
            tx,
            rx,
            slots: _,
            live,
            waker,
            segment,
        } = end;
        drop(segment);
        let in_process = main.is_none();
        let shared = Arc::new(Shared {
            in_process,
            tx: Mutex::new(tx),
            slots,
            live: live.clone(),
            options,
            frames: RwLock::new(HashMap::new()),
            announced: Mutex::new(HashSet::from([0])),
            handlers: RwLock::new(HashMap::new()),
            large: SlotMailbox::default(),
            pending: Arc::new(PendingCalls::new(options.wait_mode)),
            slot_wakers: SlotWakers::default(),
            lifetime: OnceLock::new(),
            fds,
            waker: waker.clone(),
        });
        shared.frames.write().insert(0, Arc::default());
        if main.is_some() {
            // A renderer process: port ends leaving it go through main.
            crate::port::route::install(
                Arc::new(super::ports::RendererRouter {
                    shared: Arc::downgrade(&shared),
                }),
                false,
            );
        }
        let watch = match main {
            Some(p) => {
                let w = waker.clone();
                let s = shared.clone();
                Some(p.watch(live, move || {
                    w.wake_all();
                    s.fail_all();
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
            lifetime: Hold::Strong(lifetime),
            frame_id: 0,
        })
    }

    /// This handle's frame id (0 is the main frame).
    pub fn frame_id(&self) -> u32 {
        self.frame_id
    }

    /// Whether main is gone, or the connection was closed (by [`close`](Self::close) or by
    /// main's `WebContents::close`): every call then fails with `Disconnected`.
    pub fn is_disconnected(&self) -> bool {
        self.shared.live.is_gone()
    }

    /// Close the connection, for every frame and handle, while this process lives on (what
    /// dropping the last handle does too). Main is told at once: its pending
    /// `WebContents::invoke`s to this renderer fail, the WebContents is destroyed, and its
    /// `render-process-gone` still fires when the process exits. Calls pending here fail
    /// with [`CallError::Disconnected`], and so does every later call.
    ///
    /// ```
    /// use electrode::{args, CallError, Main};
    ///
    /// let main = Main::new()?;
    /// let (wc, renderer) = main.connect_in_process()?;
    /// let destroyed = std::sync::Arc::new(std::sync::Barrier::new(2));
    /// let d = destroyed.clone();
    /// wc.on_destroyed(move || { d.wait(); });
    /// renderer.close();
    /// destroyed.wait(); // main's dispatcher handled the close
    /// assert!(wc.is_destroyed());
    /// assert!(matches!(wc.invoke("x", &args![]).wait(None), Err(CallError::Disconnected)));
    /// assert!(matches!(renderer.send_sync("x", &args![]), Err(CallError::Disconnected)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(&self) {
        self.shared.close();
    }

    /// A handle for another frame of this renderer: it sends as that frame and has its own
    /// listeners. Main learns of the frame (so `send_to_frame` reaches it). A renderer may have
    /// at most [`MAX_FRAMES`](crate::MAX_FRAMES) frames.
    pub fn frame(&self, frame_id: u32) -> Result<IpcRenderer, SendError> {
        {
            let mut announced = self.shared.announced.lock();
            if !announced.contains(&frame_id) && announced.len() >= MAX_FRAMES {
                return Err(SendError::TooManyFrames { limit: MAX_FRAMES });
            }
            announced.insert(frame_id);
        }
        self.shared.frames.write().entry(frame_id).or_default();
        let r = IpcRenderer {
            shared: self.shared.clone(),
            lifetime: self.lifetime.upgrade(&self.shared),
            frame_id,
        };
        post(
            &self.shared,
            Kind::FrameOpen,
            &r.envelope(),
            "",
            Body::Values(&[]),
        )?;
        Ok(r)
    }

    fn envelope(&self) -> Envelope {
        Envelope {
            frame_id: self.frame_id,
            ..Envelope::default()
        }
    }

    /// Send a one-way message to main (Electron's `ipcRenderer.send`). Blocks while the ring
    /// is full (or fails per [`RendererOptions::send_timeout`]).
    pub fn send(&self, channel: &str, args: &[Value]) -> Result<(), SendError> {
        self.post_body(channel, 0, Body::Values(args))
    }

    /// Send `message` to main on `channel`, moving `transfer` there (Electron's
    /// `ipcRenderer.postMessage`): main's `on` listeners see the ports with
    /// [`IpcMainEvent::ports`](crate::IpcMainEvent::ports). A closed port in the list fails
    /// with Electron's text and nothing is sent.
    pub fn post_message(
        &self,
        channel: &str,
        message: &Value,
        transfer: Vec<crate::MessagePort>,
    ) -> Result<(), crate::PortError> {
        crate::port::message_port::check_transfer(&transfer, None)?;
        let moved = if self.shared.in_process {
            crate::port::message_port::move_local(transfer)?
        } else {
            super::ports::send_ends(&self.shared, transfer)?
        };
        let trailer = crate::port::frame::trailer(&moved);
        let env = Envelope {
            request_id: moved.len() as u64,
            ..self.envelope()
        };
        let body = Body::Ported(std::slice::from_ref(message), &trailer);
        post(&self.shared, Kind::PostMessage, &env, channel, body).map_err(|e| {
            for m in &moved {
                crate::port::inbox::inbox().discard(m.token);
            }
            crate::PortError::Send(e)
        })
    }

    /// Send with any body (typed channels give their fingerprint).
    pub(crate) fn post_body(
        &self,
        channel: &str,
        fingerprint: u64,
        body: Body<'_>,
    ) -> Result<(), SendError> {
        let env = Envelope {
            fingerprint,
            ..self.envelope()
        };
        post(&self.shared, Kind::Send, &env, channel, body)
    }

    /// Send and wait for a listener's return value (Electron's `sendSync`). Fails at once when
    /// no listener exists on any level, and when the event is dropped without a value.
    pub fn send_sync(&self, channel: &str, args: &[Value]) -> Result<Value, CallError> {
        self.call(CallKind::SendSync, channel, args, None)
    }

    /// [`send_sync`](Self::send_sync) with a deadline.
    pub fn send_sync_timeout(
        &self,
        channel: &str,
        args: &[Value],
        timeout: Duration,
    ) -> Result<Value, CallError> {
        let deadline = Some(Instant::now() + timeout);
        self.call(CallKind::SendSync, channel, args, deadline)
    }

    /// Invoke main's handler for `channel` and block for the answer.
    pub fn invoke_blocking(&self, channel: &str, args: &[Value]) -> Result<Value, CallError> {
        self.call(CallKind::Invoke, channel, args, None)
    }

    /// [`invoke_blocking`](Self::invoke_blocking) with a deadline.
    pub fn invoke_timeout(
        &self,
        channel: &str,
        args: &[Value],
        timeout: Duration,
    ) -> Result<Value, CallError> {
        let deadline = Some(Instant::now() + timeout);
        self.call(CallKind::Invoke, channel, args, deadline)
    }

    fn call(
        &self,
        kind: CallKind,
        channel: &str,
        args: &[Value],
        deadline: Option<Instant>,
    ) -> Result<Value, CallError> {
        request(&self.shared, self.frame_id, kind, channel, args, deadline)
    }

    /// Invoke main's handler for `channel` (Electron's `ipcRenderer.invoke`): a future that
    /// works on any executor. The request is posted now; the answer comes in a response slot,
    /// which the future's first poll spins on as `invoke_blocking` does, and which wakes it
    /// (through the receive thread) when it had to park.
    pub fn invoke(&self, channel: &str, args: &[Value]) -> Invoke {
        invoke::start(&self.shared, self.frame_id, channel, args)
    }

    pub(crate) fn listeners(&self) -> Arc<FrameListeners> {
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
        self.listeners().add(channel, value_listener(f), false)
    }

    /// As [`on`](Self::on), fires at most once.
    pub fn once(
        &self,
        channel: &str,
        f: impl Fn(&IpcRendererEvent, &ArgsView<'_>) + Send + Sync + 'static,
    ) -> ListenerId {
        self.listeners().add(channel, value_listener(f), true)
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
    ) -> Result<(), RegisterError> {
        let channel_name: Arc<str> = channel.into();
        self.set_handler(
            channel,
            Arc::new(move |payload: &Payload<'_>| {
                let args = payload.as_values(&channel_name).map_err(Refusal::Type)?;
                Ok(f(args).map(Value::into))
            }),
        )
    }

    /// Register a handler of any type.
    pub(crate) fn set_handler(&self, channel: &str, f: Arc<RHandler>) -> Result<(), RegisterError> {
        let mut h = self.shared.handlers.write();
        if h.contains_key(channel) {
            return Err(RegisterError::SecondHandler {
                channel: channel.to_string(),
            });
        }
        h.insert(channel.to_string(), f);
        Ok(())
    }

    /// Remove the handler of `channel`.
    pub fn remove_handler(&self, channel: &str) {
        self.shared.handlers.write().remove(channel);
    }
}

/// A `Value` listener, as the frame tables hold it.
fn value_listener(
    f: impl Fn(&IpcRendererEvent, &ArgsView<'_>) + Send + Sync + 'static,
) -> Arc<RListener> {
    Arc::new(move |event: &IpcRendererEvent, payload: &Payload<'_>| {
        let args = payload.as_values(event.channel()).map_err(Refusal::Type)?;
        f(event, args);
        Ok(())
    })
}
