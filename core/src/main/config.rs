//! [`MainConfig`] and its [`MainBuilder`]: the settings main starts with.

use super::process::Main;
use electrode_shm::{SegmentConfig, WaitMode};
use std::io;

/// Settings of a [`Main`] (see [`MainBuilder`]).
#[derive(Clone, Debug)]
pub struct MainConfig {
    /// Sizes of each renderer's segment.
    pub segment: SegmentConfig,
    /// How the dispatcher (and main's blocking calls) wait.
    pub wait_mode: WaitMode,
    /// Protocol violations tolerated from one renderer before it is disconnected.
    pub max_violations: u32,
    /// Bytes of output that may wait for one renderer's ring before sends fail with `Full`.
    pub outbox_limit: usize,
    /// Port sides one renderer may hold through main (MessagePorts); a transfer past it fails.
    pub max_ports_per_renderer: usize,
    /// Threads that run [`IpcMain::handle_blocking`](crate::IpcMain::handle_blocking)
    /// handlers (started on first use). Default 2.
    pub blocking_threads: usize,
    /// Blocking handler jobs that may wait for a thread; an invoke past it is rejected at
    /// once. Default 1024.
    pub blocking_queue: usize,
    /// The tokio runtime that runs [`IpcMain::handle_async`](crate::IpcMain::handle_async)
    /// futures; `None` runs them on a private pool of two threads (feature `tokio`, see
    /// [`MainBuilder::tokio_handle`]).
    #[cfg(feature = "tokio")]
    pub tokio_handle: Option<tokio::runtime::Handle>,
}

impl Default for MainConfig {
    fn default() -> Self {
        MainConfig {
            segment: SegmentConfig::default(),
            wait_mode: crate::DEFAULT_WAIT_MODE,
            max_violations: 3,
            outbox_limit: 64 << 20,
            max_ports_per_renderer: crate::main::broker::MAX_PORTS_PER_RENDERER,
            blocking_threads: 2,
            blocking_queue: 1024,
            #[cfg(feature = "tokio")]
            tokio_handle: None,
        }
    }
}

/// Builds a [`Main`].
#[derive(Clone, Debug, Default)]
pub struct MainBuilder {
    config: MainConfig,
}

impl MainBuilder {
    /// Capacity of each ring (both directions), a power of two >= 4 KiB. Default 1 MiB.
    pub fn ring_capacity(mut self, bytes: usize) -> Self {
        self.config.segment.r2m_capacity = bytes;
        self.config.segment.m2r_capacity = bytes;
        self
    }

    /// Response slots per renderer (requests in flight at once). Default 256.
    pub fn slot_count(mut self, n: u32) -> Self {
        self.config.segment.slot_count = n;
        self
    }

    /// Reply bytes a slot holds (a multiple of 16); larger replies go through the ring.
    /// Default 4 KiB.
    pub fn slot_size(mut self, bytes: u32) -> Self {
        self.config.segment.slot_size = bytes;
        self
    }

    /// How the dispatcher waits when idle. Default spin-then-park.
    pub fn wait_mode(mut self, mode: WaitMode) -> Self {
        self.config.wait_mode = mode;
        self
    }

    /// Violations tolerated from one renderer before it is disconnected. Default 3.
    pub fn max_violations(mut self, n: u32) -> Self {
        self.config.max_violations = n.max(1);
        self
    }

    /// Port sides one renderer may hold through main (MessagePorts it was given or gave, not
    /// yet closed). Default 1024; a transfer past it fails (from a renderer: a violation).
    pub fn max_ports_per_renderer(mut self, n: usize) -> Self {
        self.config.max_ports_per_renderer = n;
        self
    }

    /// Bytes of output that may queue for one renderer. Default 64 MiB.
    pub fn outbox_limit(mut self, bytes: usize) -> Self {
        self.config.outbox_limit = bytes;
        self
    }

    /// Threads that run [`IpcMain::handle_blocking`](crate::IpcMain::handle_blocking)
    /// handlers (at least 1; started when the first such invoke arrives). Default 2.
    pub fn blocking_threads(mut self, n: usize) -> Self {
        self.config.blocking_threads = n.max(1);
        self
    }

    /// Blocking handler invokes that may wait for a free thread (at least 1). Default 1024;
    /// an invoke that finds the queue full is rejected at once with
    /// `the blocking handlers' queue is full` (the dispatcher never waits for the pool).
    pub fn blocking_queue(mut self, n: usize) -> Self {
        self.config.blocking_queue = n.max(1);
        self
    }

    /// Run [`IpcMain::handle_async`](crate::IpcMain::handle_async) futures on the
    /// application's tokio runtime instead of main's private pool of two threads (feature
    /// `tokio`). The handler's future may then use the runtime (`tokio::spawn`,
    /// `Handle::current()`, and the timers and I/O the runtime was built with).
    ///
    /// The runtime must outlive the invokes it serves: once it is shut down, it drops each
    /// future it is handed unfinished, and that invoke rejects with `reply was never sent`.
    /// A current-thread runtime runs the futures only while some thread drives it
    /// (`Runtime::block_on`).
    ///
    /// ```
    /// use electrode::{args, Main, RemoteError, Value};
    ///
    /// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    /// let main = Main::builder().tokio_handle(runtime.handle().clone()).build()?;
    /// main.ipc().handle_async("on-tokio", |_event, _args| async {
    ///     // The future runs on `runtime`: tokio's own API works inside it.
    ///     let inner = tokio::spawn(async { 40 + 2 });
    ///     let answer = inner.await.map_err(|e| RemoteError::new(e.to_string()))?;
    ///     Ok(Value::from(answer))
    /// })?;
    ///
    /// let (_web_contents, renderer) = main.connect_in_process()?;
    /// // A current-thread runtime runs the handler while it is driven, here by `block_on`.
    /// let answer = runtime.block_on(renderer.invoke("on-tokio", &args![]))?;
    /// assert_eq!(answer, Value::from(42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "tokio")]
    pub fn tokio_handle(mut self, handle: tokio::runtime::Handle) -> Self {
        self.config.tokio_handle = Some(handle);
        self
    }

    /// Start main: checks the sizes, makes the process non-dumpable and starts the
    /// dispatcher thread.
    pub fn build(self) -> io::Result<Main> {
        Main::start(self.config)
    }
}
