//! [`WebContents`]: main's handle on one renderer.

use super::close::Closer;
use super::events::IpcMainEvent;
use super::frame::WebFrameMain;
use super::gone::GoneDetails;
use super::link::Conn;
use super::registry::{value_hook, IpcMain, Listener};
use super::sandbox::SandboxReport;
use crate::call::PendingCall;
use crate::error::{CallError, SendError};
use crate::message::body::Body;
use crate::message::envelope::Envelope;
use crate::message::kind::Kind;
use crate::value::Value;
use crate::wire::ArgsView;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Main's handle on one renderer (Electron's `webContents`). Cheap to clone.
#[derive(Clone)]
pub struct WebContents {
    pub(crate) conn: Arc<Conn>,
}

impl fmt::Debug for WebContents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebContents")
            .field("id", &self.conn.id)
            .field("pid", &self.conn.pid)
            .finish()
    }
}

impl PartialEq for WebContents {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.conn, &other.conn)
    }
}

impl WebContents {
    /// A unique id (within this main).
    pub fn id(&self) -> u32 {
        self.conn.id
    }

    /// The renderer's OS process id. For a renderer in its own PID namespace (a
    /// [`Sandbox`](crate::Sandbox)), the waiting intermediate's: the process main signals and
    /// reaps; the renderer itself is [`SandboxReport::renderer_pid`](crate::SandboxReport).
    pub fn pid(&self) -> u32 {
        self.conn.pid
    }

    /// What was set up for a renderer spawned with a [`Sandbox`](crate::Sandbox) (`None`
    /// otherwise): ids, namespaces, `no_new_privs`, and why an `IfPermitted` part is missing.
    pub fn sandbox(&self) -> Option<SandboxReport> {
        self.conn.sandbox.get().copied()
    }

    /// Whether this WebContents is destroyed: closed (by [`close`](Self::close),
    /// [`destroy`](Self::destroy) or the renderer's own [`IpcRenderer::close`]) or its renderer
    /// gone. Sends then fail with [`SendError::Disconnected`].
    ///
    /// [`IpcRenderer::close`]: crate::IpcRenderer::close
    pub fn is_destroyed(&self) -> bool {
        self.conn.life.is_closed() || self.conn.live.is_gone()
    }

    /// Close this WebContents (Electron's `webContents.close()`): the renderer is told, and
    /// every call pending on either side fails at once with a disconnected error (main's
    /// [`invoke`](Self::invoke)s to it, and the renderer's own `invoke`, `send_sync` and typed
    /// calls); later sends fail on both sides; `destroyed` fires. The process itself is left
    /// to exit on its own: `render-process-gone` still fires when it does. Closing twice does
    /// nothing more.
    ///
    /// ```
    /// use electrode::{args, CallError, Main, SendError};
    ///
    /// let main = Main::new()?;
    /// let (wc, renderer) = main.connect_in_process()?;
    /// let pending = wc.invoke("never-answered", &args![]);
    /// wc.close();
    /// assert!(wc.is_destroyed());
    /// assert!(matches!(pending.wait(None), Err(CallError::Disconnected)));
    /// assert_eq!(wc.send("x", &args![]), Err(SendError::Disconnected));
    /// // The renderer learns it at once: its calls fail instead of waiting.
    /// while !renderer.is_disconnected() {
    ///     std::thread::yield_now();
    /// }
    /// assert!(matches!(renderer.invoke_blocking("x", &args![]), Err(CallError::Disconnected)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(&self) {
        self.conn.close(Closer::Main);
    }

    /// Close (as [`close`](Self::close)), then kill the renderer's process (Electron's
    /// `webContents.destroy()`, beyond which nothing of the page survives). An in-process
    /// renderer is only closed. `render-process-gone` fires once the process is reaped.
    pub fn destroy(&self) {
        self.conn.close(Closer::Main);
        if let Some(child) = self.conn.child.lock().as_mut() {
            if let Err(e) = child.kill() {
                tracing::debug!(renderer = self.conn.id, "destroy: kill failed: {e}");
            }
        }
    }

    /// Electron's `destroyed` event: `f` runs once, when this WebContents is closed (by either
    /// side) or, failing that, when its renderer goes away (right after
    /// `render-process-gone`). If it already is destroyed, `f` runs at once.
    pub fn on_destroyed(&self, f: impl Fn() + Send + Sync + 'static) {
        self.conn.life.on_destroyed(Arc::new(f));
    }

    /// Main's handle on frame `frame_id` of this renderer (Electron's `WebFrameMain`), with its
    /// own `ipc` scope. `None` when the renderer has not announced that frame
    /// ([`IpcRenderer::frame`]); frame 0 is always known (see
    /// [`main_frame`](Self::main_frame)).
    ///
    /// [`IpcRenderer::frame`]: crate::IpcRenderer::frame
    pub fn frame(&self, frame_id: u32) -> Option<WebFrameMain> {
        self.has_frame(frame_id)
            .then(|| WebFrameMain::new(self, frame_id))
    }

    /// The renderer's main frame (frame 0; Electron's `webContents.mainFrame`).
    pub fn main_frame(&self) -> WebFrameMain {
        WebFrameMain::new(self, 0)
    }

    /// Why the renderer went away, once it has.
    pub fn gone_details(&self) -> Option<GoneDetails> {
        *self.conn.gone.lock()
    }

    /// Send to the renderer's main frame (Electron's `webContents.send`).
    pub fn send(&self, channel: &str, args: &[Value]) -> Result<(), SendError> {
        self.send_to_frame_checked(0, channel, args)
    }

    /// Send `message` to the renderer's main frame on `channel`, moving `transfer` to it
    /// (Electron's `webContents.postMessage`): the renderer's listeners see the ports with
    /// [`IpcRendererEvent::ports`](crate::IpcRendererEvent::ports). A closed port in the list
    /// fails with Electron's text and nothing is sent.
    pub fn post_message(
        &self,
        channel: &str,
        message: &Value,
        transfer: Vec<crate::MessagePort>,
    ) -> Result<(), crate::PortError> {
        let moved = super::ports::send(&self.conn, transfer)?;
        let trailer = crate::port::frame::trailer(&moved);
        let env = Envelope {
            request_id: moved.len() as u64,
            ..Envelope::default()
        };
        let body = Body::Ported(std::slice::from_ref(message), &trailer);
        self.conn
            .send(Kind::PostMessage, &env, channel, body)
            .map_err(|e| {
                for m in &moved {
                    crate::port::inbox::inbox().discard(m.token);
                }
                crate::PortError::Send(e)
            })
    }

    /// Send to one frame. Returns `false` when the frame is unknown or the renderer is gone.
    pub fn send_to_frame(&self, frame_id: u32, channel: &str, args: &[Value]) -> bool {
        if !self.conn.has_frame(frame_id) {
            return false;
        }
        self.send_to_frame_checked(frame_id, channel, args).is_ok()
    }

    pub(crate) fn send_to_frame_checked(
        &self,
        frame_id: u32,
        channel: &str,
        args: &[Value],
    ) -> Result<(), SendError> {
        self.send_body(frame_id, channel, 0, Body::Values(args))
    }

    /// Send any body (typed channels give their fingerprint).
    pub(crate) fn send_body(
        &self,
        frame_id: u32,
        channel: &str,
        fingerprint: u64,
        body: Body<'_>,
    ) -> Result<(), SendError> {
        let env = Envelope {
            frame_id,
            fingerprint,
            ..Envelope::default()
        };
        self.conn.send(Kind::Message, &env, channel, body)
    }

    /// Whether the renderer announced `frame_id`.
    pub(crate) fn has_frame(&self, frame_id: u32) -> bool {
        self.conn.has_frame(frame_id)
    }

    /// This renderer's own IPC scope (Electron's `webContents.ipc`): its listeners run before
    /// the global ones, and its handler, if any, answers instead of the global one.
    pub fn ipc(&self) -> &IpcMain {
        &self.conn.scope
    }

    /// Electron's `ipc-message` event: runs first for every `send` from this renderer with
    /// `Value` arguments (typed channels have their own hooks: `typed::Send::on_ipc_message`).
    pub fn on_ipc_message(&self, f: impl Fn(&IpcMainEvent, &ArgsView<'_>) + Send + Sync + 'static) {
        self.conn.on_message.write().push(value_hook(f));
    }

    /// Electron's `ipc-message-sync` event: runs first for every `sendSync` from this renderer
    /// with `Value` arguments.
    pub fn on_ipc_message_sync(
        &self,
        f: impl Fn(&IpcMainEvent, &ArgsView<'_>) + Send + Sync + 'static,
    ) {
        self.conn.on_message_sync.write().push(value_hook(f));
    }

    /// Add a hook of any type (typed channels) for `send` (`sync` false) or `sendSync`.
    pub(crate) fn add_hook(&self, sync: bool, hook: Arc<Listener>) {
        match sync {
            false => self.conn.on_message.write().push(hook),
            true => self.conn.on_message_sync.write().push(hook),
        }
    }

    /// Electron's `render-process-gone`: called once when the renderer goes away. If it is
    /// already gone, called at once.
    pub fn on_render_process_gone(&self, f: impl Fn(&GoneDetails) + Send + Sync + 'static) {
        let mut hooks = self.conn.on_gone.lock();
        if let Some(d) = *self.conn.gone.lock() {
            drop(hooks);
            f(&d);
            return;
        }
        hooks.push(Arc::new(f));
    }

    /// Invoke a handler the renderer registered with [`IpcRenderer::handle`] (beyond Electron).
    /// The future resolves with the handler's value or rejects like a renderer's invoke.
    /// Dropping it forgets the call: a late answer goes nowhere.
    ///
    /// [`IpcRenderer::handle`]: crate::IpcRenderer::handle
    pub fn invoke(&self, channel: &str, args: &[Value]) -> InvokeRenderer {
        InvokeRenderer(self.start_invoke(channel, 0, Body::Values(args)))
    }

    /// Start main's invoke of a renderer handler with any body.
    pub(crate) fn start_invoke(
        &self,
        channel: &str,
        fingerprint: u64,
        body: Body<'_>,
    ) -> PendingCall {
        let conn = &self.conn;
        PendingCall::start(&conn.pending, channel, |id| {
            let env = Envelope {
                request_id: id,
                fingerprint,
                ..Envelope::default()
            };
            conn.send(Kind::InvokeRenderer, &env, channel, body)
        })
    }

    /// Blocking form of [`invoke`](Self::invoke), with an optional timeout. Fails with
    /// [`CallError::WouldDeadlock`] on the dispatcher thread (the reply arrives through it).
    pub fn invoke_blocking(
        &self,
        channel: &str,
        args: &[Value],
        timeout: Option<Duration>,
    ) -> Result<Value, CallError> {
        if crate::guard::on_dispatcher_thread() {
            return Err(CallError::WouldDeadlock);
        }
        self.invoke(channel, args).wait(timeout)
    }

    /// Memory main holds now in messages queued for this renderer (its ring was full),
    /// bounded by [`MainBuilder::outbox_limit`](crate::MainBuilder::outbox_limit).
    pub fn queued_memory(&self) -> usize {
        self.conn.queued_memory()
    }
}

/// The future of [`WebContents::invoke`]. Works on any executor; [`wait`](Self::wait) blocks
/// for it instead. Dropping it forgets the call.
pub struct InvokeRenderer(PendingCall);

impl fmt::Debug for InvokeRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvokeRenderer")
            .field("channel", &self.0.channel())
            .finish()
    }
}

impl InvokeRenderer {
    /// Block until the answer (or `timeout`: then the call is forgotten).
    pub fn wait(self, timeout: Option<Duration>) -> Result<Value, CallError> {
        self.0.wait(timeout)
    }
}

impl Future for InvokeRenderer {
    type Output = Result<Value, CallError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}
