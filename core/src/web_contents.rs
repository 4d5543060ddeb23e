//! [`WebContents`]: main's handle on one renderer.

use crate::completion::{Completion, CompletionFuture};
use crate::connection::Conn;
use crate::error::IpcError;
use crate::events::IpcMainEvent;
use crate::protocol::{Envelope, Kind};
use crate::registry::IpcMain;
use crate::value::Value;
use crate::wire::ArgsView;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Why a renderer went away (Electron's `render-process-gone` reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GoneReason {
    /// Exited with status 0.
    CleanExit,
    /// Exited with a non-zero status.
    AbnormalExit,
    /// Killed by SIGKILL or SIGTERM.
    Killed,
    /// Died of another signal (SIGSEGV, SIGABRT, ...).
    Crashed,
    /// Disconnected by main for breaking the protocol (Electrode's addition).
    IntegrityFailure,
    /// An in-process renderer was dropped (Electrode's addition).
    Disconnected,
}

impl GoneReason {
    /// Electron's spelling (`clean-exit`, `killed`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            GoneReason::CleanExit => "clean-exit",
            GoneReason::AbnormalExit => "abnormal-exit",
            GoneReason::Killed => "killed",
            GoneReason::Crashed => "crashed",
            GoneReason::IntegrityFailure => "integrity-failure",
            GoneReason::Disconnected => "disconnected",
        }
    }
}

impl fmt::Display for GoneReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Details of `render-process-gone`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoneDetails {
    /// Why.
    pub reason: GoneReason,
    /// The exit code, or the signal number for signal deaths (as Electron reports).
    pub exit_code: i32,
}

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

    /// The renderer's OS process id.
    pub fn pid(&self) -> u32 {
        self.conn.pid
    }

    /// Whether the renderer is gone.
    pub fn is_destroyed(&self) -> bool {
        self.conn.live.is_gone()
    }

    /// Why the renderer went away, once it has.
    pub fn gone_details(&self) -> Option<GoneDetails> {
        *self.conn.gone.lock()
    }

    /// Send to the renderer's main frame (Electron's `webContents.send`).
    pub fn send(&self, channel: &str, args: &[Value]) -> Result<(), IpcError> {
        self.send_to_frame_checked(0, channel, args)
    }

    /// Send to one frame. Returns `false` when the frame is unknown or the renderer is gone.
    pub fn send_to_frame(&self, frame_id: u32, channel: &str, args: &[Value]) -> bool {
        if !self.conn.frames.lock().contains(&frame_id) {
            return false;
        }
        self.send_to_frame_checked(frame_id, channel, args).is_ok()
    }

    pub(crate) fn send_to_frame_checked(
        &self,
        frame_id: u32,
        channel: &str,
        args: &[Value],
    ) -> Result<(), IpcError> {
        let env = Envelope {
            frame_id,
            ..Envelope::default()
        };
        self.conn.send(Kind::Message, &env, channel, args)
    }

    /// This renderer's own IPC scope (Electron's `webContents.ipc`): its listeners run before
    /// the global ones, and its handler, if any, answers instead of the global one.
    pub fn ipc(&self) -> &IpcMain {
        &self.conn.scope
    }

    /// Electron's `ipc-message` event: runs first for every `send` from this renderer.
    pub fn on_ipc_message(&self, f: impl Fn(&IpcMainEvent, &ArgsView<'_>) + Send + Sync + 'static) {
        self.conn.on_message.write().push(Arc::new(f));
    }

    /// Electron's `ipc-message-sync` event: runs first for every `sendSync` from this renderer.
    pub fn on_ipc_message_sync(
        &self,
        f: impl Fn(&IpcMainEvent, &ArgsView<'_>) + Send + Sync + 'static,
    ) {
        self.conn.on_message_sync.write().push(Arc::new(f));
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
    ///
    /// [`IpcRenderer::handle`]: crate::IpcRenderer::handle
    pub fn invoke(&self, channel: &str, args: &[Value]) -> InvokeRenderer {
        let id = self.conn.next_request.fetch_add(1, Ordering::Relaxed) + 1;
        let c = Completion::new();
        self.conn.pending.lock().insert(id, c.clone());
        let env = Envelope {
            request_id: id,
            ..Envelope::default()
        };
        if let Err(e) = self.conn.send(Kind::InvokeRenderer, &env, channel, args) {
            self.conn.pending.lock().remove(&id);
            c.complete(Err(e));
        } else if self.conn.live.is_gone() {
            // Raced with the renderer's death: make sure nobody waits forever.
            self.conn.fail_pending();
        }
        InvokeRenderer {
            conn: self.conn.clone(),
            id,
            fut: CompletionFuture(c),
        }
    }

    /// Blocking form of [`invoke`](Self::invoke), with an optional timeout. Fails with
    /// [`IpcError::WouldDeadlock`] on the dispatcher thread (the reply arrives through it).
    pub fn invoke_blocking(
        &self,
        channel: &str,
        args: &[Value],
        timeout: Option<Duration>,
    ) -> Result<Value, IpcError> {
        if crate::dispatcher::on_dispatcher_thread() {
            return Err(IpcError::WouldDeadlock);
        }
        let f = self.invoke(channel, args);
        let r = f.fut.0.wait(timeout.map(|t| Instant::now() + t));
        match r {
            Some(r) => r,
            None => {
                self.conn.pending.lock().remove(&f.id);
                Err(IpcError::TimedOut)
            }
        }
    }
}

/// The future of [`WebContents::invoke`].
pub struct InvokeRenderer {
    conn: Arc<Conn>,
    id: u64,
    fut: CompletionFuture<Result<Value, IpcError>>,
}

impl fmt::Debug for InvokeRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvokeRenderer")
            .field("id", &self.id)
            .finish()
    }
}

impl Future for InvokeRenderer {
    type Output = Result<Value, IpcError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.fut).poll(cx)
    }
}

impl Drop for InvokeRenderer {
    fn drop(&mut self) {
        self.conn.pending.lock().remove(&self.id);
    }
}
