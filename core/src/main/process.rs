//! [`Main`]: the broker process's side. It owns the dispatcher thread, spawns renderers (or
//! connects in-process ones), and holds the global [`IpcMain`] scope; [`MainShared`] is what
//! the dispatcher shares with it.

use super::broker::Broker;
use super::config::{MainBuilder, MainConfig};
use super::dispatcher::{self, Serving};
use super::executor::Executor;
use super::link::{Conn, Link};
use super::outbox::Outbox;
use super::ports::ConnPorts;
use super::registry::IpcMain;
use super::sandbox::SpawnOptions;
use super::web_contents::WebContents;
use crate::call::PendingCalls;
use crate::error::ConnectError;
use crate::renderer::{IpcRenderer, RendererOptions};
use electrode_shm::sandbox;
use electrode_shm::{
    Event, FdSocket, Futex, Handoff, Liveness, MainEnd, PeerProcess, Segment, Waker, Watcher,
};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::io;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub(crate) struct MainShared {
    pub ipc: IpcMain,
    pub config: MainConfig,
    pub event: Arc<Event>,
    pub incoming: Mutex<Vec<Serving>>,
    /// Whether `incoming` is non-empty (written under its lock), so the dispatcher's idle
    /// polling reads one word instead of taking the lock.
    pub has_incoming: AtomicBool,
    pub shutdown: AtomicBool,
    self_process: PeerProcess,
    /// The one thread that watches every spawned renderer's pidfd.
    watcher: Watcher,
    next_id: AtomicU32,
    conns: Mutex<HashMap<u32, Arc<Conn>>>,
    /// In-process renderers: (their view of main's liveness, their waker), to disconnect them.
    in_process: Mutex<Vec<(Liveness, Waker)>>,
    /// Where async handlers run.
    pub executor: Executor,
    /// Where blocking handlers run.
    pub blocking: super::blocking::BlockingPool,
    /// Who holds each side of the channels that crossed through this `Main`.
    pub broker: Arc<Mutex<Broker>>,
    /// The dispatcher's own counters (fair scheduling).
    pub dispatch: dispatcher::DispatchStats,
}

impl MainShared {
    pub(crate) fn kick(&self) {
        self.event.notify_all(&Futex);
    }

    pub(crate) fn forget(&self, id: u32) {
        self.conns.lock().remove(&id);
    }
}

/// The main (broker) process's side of Electrode. Dropping it stops the dispatcher and kills
/// the renderers it spawned.
///
/// See the [crate docs](crate) for a walk-through.
pub struct Main {
    shared: Arc<MainShared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Main {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Main")
            .field("renderers", &self.shared.conns.lock().len())
            .finish()
    }
}

impl Main {
    pub(crate) fn start(config: MainConfig) -> io::Result<Main> {
        electrode_shm::Layout::new(config.segment)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // Keep other same-user processes out of our fds and memory (docs/SECURITY.md).
        electrode_shm::harden_process()?;
        let shared = Arc::new(MainShared {
            ipc: IpcMain::new(),
            event: Arc::new(Event::new()),
            incoming: Mutex::new(Vec::new()),
            has_incoming: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            self_process: PeerProcess::open(std::process::id())?,
            watcher: Watcher::new("electrode-watcher")?,
            next_id: AtomicU32::new(1),
            conns: Mutex::new(HashMap::new()),
            in_process: Mutex::new(Vec::new()),
            executor: Executor::new(&config),
            blocking: super::blocking::BlockingPool::new(
                config.blocking_threads,
                config.blocking_queue,
            ),
            broker: super::broker::new_shared(config.max_ports_per_renderer),
            dispatch: dispatcher::DispatchStats::default(),
            config,
        });
        // Port ends held here whose peers are in renderers go through the broker.
        crate::port::route::install(Arc::new(super::ports::MainRouter), true);
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("electrode-dispatcher".into())
            .spawn(move || dispatcher::run(s))?;
        Ok(Main {
            shared,
            thread: Some(thread),
        })
    }

    /// A builder with default settings.
    pub fn builder() -> MainBuilder {
        MainBuilder::default()
    }

    /// Start with default settings.
    pub fn new() -> io::Result<Main> {
        MainBuilder::default().build()
    }

    /// The global scope (Electron's `ipcMain`).
    pub fn ipc(&self) -> &IpcMain {
        &self.shared.ipc
    }

    /// The settings in force.
    pub fn config(&self) -> &MainConfig {
        &self.shared.config
    }

    /// Hidden, for tests and diagnostics: how many renderer turns the dispatcher has cut short
    /// because their work budget was spent while other renderers were served (see
    /// `docs/ARCHITECTURE.md`, "Fair dispatch").
    #[doc(hidden)]
    pub fn dispatcher_budget_yields(&self) -> u64 {
        self.shared.dispatch.budget_yields.load(Ordering::Relaxed)
    }

    /// Every connected renderer, except those closed (`WebContents::close`, or the renderer's
    /// own `IpcRenderer::close`) whose process has not exited yet.
    pub fn web_contents(&self) -> Vec<WebContents> {
        let mut v: Vec<WebContents> = self
            .shared
            .conns
            .lock()
            .values()
            .filter(|c| !c.life.is_closed())
            .map(|c| WebContents { conn: c.clone() })
            .collect();
        v.sort_by_key(|w| w.id());
        v
    }

    fn register(
        &self,
        end: MainEnd,
        pid: u32,
        child: Option<Child>,
        fds: Option<FdSocket>,
    ) -> Arc<Conn> {
        let MainEnd {
            rx,
            tx,
            slots,
            live,
            waker,
            segment,
        } = end;
        drop(segment);
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            pid,
            link: Mutex::new(Some(Link {
                out: Outbox::new(tx, self.shared.config.outbox_limit),
                slots,
                waker: waker.clone(),
            })),
            live,
            scope: IpcMain::new(),
            on_message: Default::default(),
            on_message_sync: Default::default(),
            on_gone: Mutex::new(Vec::new()),
            gone: Mutex::new(None),
            frames: Mutex::new([0u32].into_iter().collect()),
            frame_bits: AtomicU64::new(1),
            life: super::close::Lifecycle::new(),
            frame_scopes: Default::default(),
            pending: Arc::new(PendingCalls::new(self.shared.config.wait_mode)),
            child: Mutex::new(child),
            watch: Mutex::new(None),
            violations: AtomicU32::new(0),
            mismatches: AtomicU64::new(0),
            corrupt: AtomicBool::new(false),
            out_queued: AtomicBool::new(false),
            dispatcher: self.shared.event.clone(),
            ports: ConnPorts::new(self.shared.broker.clone()),
            fds: Mutex::new(fds),
            sandbox: Default::default(),
        });
        self.shared.broker.lock().register(&conn);
        self.shared.conns.lock().insert(id, conn.clone());
        {
            let mut incoming = self.shared.incoming.lock();
            incoming.push(Serving::new(conn.clone(), rx, waker));
            self.shared.has_incoming.store(true, Ordering::Release);
        }
        self.shared.kick();
        conn
    }

    /// Spawn `cmd` as a renderer, already connected: the child calls
    /// [`IpcRenderer::connect`] to pick up its segment (sent on an inherited fd socket once
    /// it has made itself non-dumpable; docs/SECURITY.md).
    pub fn spawn_renderer(&self, cmd: Command) -> Result<WebContents, ConnectError> {
        self.spawn_renderer_with(cmd, SpawnOptions::default())
    }

    /// [`spawn_renderer`](Self::spawn_renderer) with options: e.g. a [`Sandbox`](crate::Sandbox)
    /// (another uid/gid, namespaces; see its docs for an example). A sandbox's `Required`
    /// part that cannot be set up fails with [`ConnectError::Sandbox`]; what was set up is
    /// [`WebContents::sandbox`].
    pub fn spawn_renderer_with(
        &self,
        mut cmd: Command,
        options: SpawnOptions,
    ) -> Result<WebContents, ConnectError> {
        let seg = Segment::create(self.shared.config.segment)?;
        let fds =
            Handoff::prepare(&mut cmd, &self.shared.self_process).map_err(ConnectError::Io)?;
        // After the handoff's own pre-exec hook (hooks run in registration order).
        let receipt = match &options.sandbox {
            Some(s) => Some(sandbox::install(&mut cmd, s.plan()).map_err(ConnectError::Io)?),
            None => None,
        };
        let spawned = cmd.spawn();
        // The child's end of the fd socket leaves this process with `cmd`.
        drop(cmd);
        let report = receipt.map(|r| r.collect(spawned.is_ok()));
        let (child, report) = match (spawned, report) {
            // A required sandbox step failed: say which, not just the errno.
            (Err(_), Some(Err(e @ sandbox::SandboxError::Step { .. }))) => {
                return Err(ConnectError::Sandbox(e))
            }
            (Err(e), _) => return Err(ConnectError::Spawn(e)),
            (Ok(mut child), Some(Err(e))) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ConnectError::Sandbox(e));
            }
            (Ok(child), Some(Ok(report))) => (child, Some(report)),
            (Ok(child), None) => (child, None),
        };
        let pid = child.id();
        let process = match PeerProcess::open(pid)
            .and_then(|p| Handoff::send_segment(&fds, &seg).map(|()| p))
        {
            Ok(p) => p,
            Err(e) => {
                let mut child = child;
                let _ = child.kill();
                let _ = child.wait();
                return Err(ConnectError::Io(e));
            }
        };
        let live = Liveness::new();
        let end = seg.into_main(live.clone());
        let waker = end.waker.clone();
        let conn = self.register(end, pid, Some(child), Some(fds));
        let event = self.shared.event.clone();
        let watch = self.shared.watcher.watch(process, live, move || {
            waker.wake_all();
            event.notify_all(&Futex);
        });
        let watch = match watch {
            Ok(w) => w,
            Err(e) => {
                // Without a watcher main would not notice the renderer's death: it goes.
                if let Some(c) = conn.child.lock().as_mut() {
                    let _ = c.kill();
                }
                // The dispatcher then finishes the connection (reaps, unmaps, reports).
                conn.live.mark_gone();
                self.shared.kick();
                return Err(ConnectError::Io(e));
            }
        };
        if let Some(report) = report {
            tracing::debug!(renderer = conn.id, pid, %report, "renderer sandboxed");
            let _ = conn.sandbox.set(report);
        }
        tracing::debug!(renderer = conn.id, pid, "renderer spawned");
        *conn.watch.lock() = Some(watch);
        Ok(WebContents { conn })
    }

    /// Connect a renderer that runs on threads of this process (same semantics, no child
    /// process): fast tests, or plugins that share the address space.
    pub fn connect_in_process(&self) -> Result<(WebContents, IpcRenderer), ConnectError> {
        self.connect_in_process_with(RendererOptions::default())
    }

    /// [`connect_in_process`](Self::connect_in_process) with renderer options.
    pub fn connect_in_process_with(
        &self,
        options: RendererOptions,
    ) -> Result<(WebContents, IpcRenderer), ConnectError> {
        let seg = Segment::create(self.shared.config.segment)?;
        let rseg = seg.reopen()?;
        let renderer_live = Liveness::new();
        let end = seg.into_main(renderer_live.clone());
        let main_waker = end.waker.clone();
        let (main_fds, renderer_fds) = FdSocket::pair().map_err(ConnectError::Io)?;
        let conn = self.register(end, std::process::id(), None, Some(main_fds));
        let main_live = Liveness::new();
        let rend = rseg.into_renderer(main_live.clone());
        self.shared
            .in_process
            .lock()
            .push((main_live, rend.waker.clone()));
        let event = self.shared.event.clone();
        let on_drop = Box::new(move || {
            renderer_live.mark_gone();
            main_waker.wake_all();
            event.notify_all(&Futex);
        });
        let r = IpcRenderer::from_end(rend, renderer_fds, options, None, Some(on_drop))
            .map_err(ConnectError::Io)?;
        Ok((WebContents { conn }, r))
    }
}

impl Drop for Main {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        for c in self.shared.conns.lock().values() {
            if let Some(child) = c.child.lock().as_mut() {
                let _ = child.kill();
            }
        }
        self.shared.kick();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for (live, waker) in self.shared.in_process.lock().drain(..) {
            live.mark_gone();
            waker.wake_all();
        }
    }
}
