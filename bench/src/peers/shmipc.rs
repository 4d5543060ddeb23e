//! Peer library: CloudWeGo `shmipc` 0.2 (async shared-memory IPC on tokio), used as a user
//! would for request/response between two processes: one stream of a `SessionManager`
//! (client, main) to a `Listener` (server, the peer), each side on a tokio current-thread
//! runtime.
//!
//! Configuration: the crate's recommended low-latency mode for small messages, protocol V4
//! with `eventfd` wake-ups over memfd shared memory (`Config::with_v4_eventfd`), with the
//! silent fall-back to the legacy protocol turned off, so the row always measures V4 eventfd.
//! shmipc does not spin: a side with nothing to read sleeps in tokio's `epoll_wait` until the
//! other side's `eventfd` write, on one core and across cores alike.
//!
//! Round trip: main writes 64 bytes into the stream's shared-memory send buffer and flushes
//! (queue element + eventfd wake-up), then awaits exactly 64 bytes back and compares them;
//! the peer reads 64 bytes, releases its read buffer, writes them back and flushes. Each of
//! main's round trips is one `Runtime::block_on`, which is also what drives shmipc's own
//! background tasks (its eventfd and socket loops run on the same thread).
//!
//! Files: the handshake goes over a Unix socket (fds passed with `SCM_RIGHTS`) at a path
//! unique to this user, process and session under [`std::env::temp_dir`]; main removes it as
//! soon as the session is connected (and on any failure before that). The shared memory is
//! memfd only: nothing is left under `/dev/shm`. The peer exits when main closes the stream
//! or, failing that, by `PR_SET_PDEATHSIG`.

use crate::role::{self, Role, RoleChild};
use crate::BenchError;
use shmipc::buffer::BufferReader;
use shmipc::config::{Config, ProtocolMode};
use shmipc::session::{SessionManager, SessionManagerConfig};
use shmipc::stream::Stream;
use shmipc::transport::{DefaultUnixConnect, DefaultUnixListen};
use shmipc::{Error, Listener};
use std::os::unix::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::runtime::Runtime;

/// Request and response payload bytes.
const MSG: usize = 64;

/// Longest wait for the session to connect and the first echo to come back.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for main's orderly close of the session when it ends.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Shared memory per session: ample for one 64-byte request in flight (the default is 32 MiB).
const SHARE_MEMORY_CAP: u32 = 4 << 20;

/// A name unique to this user, process and session: `electrode-shmipc-<uid>-<pid>-<n>`.
fn unique_name() -> Result<String, BenchError> {
    use std::os::unix::fs::MetadataExt;
    static N: AtomicU64 = AtomicU64::new(0);
    let uid = std::fs::metadata("/proc/self")
        .map_err(BenchError::io("reading this process's uid"))?
        .uid();
    Ok(format!(
        "electrode-shmipc-{uid}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// The tokio runtime of either side: current-thread, with its I/O and timer drivers.
fn runtime() -> Result<Runtime, BenchError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BenchError::io("starting a tokio runtime"))
}

/// The client's configuration (the server takes the protocol from the client's request).
fn client_config(name: &str) -> SessionManagerConfig {
    let mut config = Config::default().with_v4_eventfd();
    config.protocol.mode = ProtocolMode::V4 { fallback: false };
    config.share_memory_buffer_cap = SHARE_MEMORY_CAP;
    // Names the memfds, and keys shmipc's per-process table of buffer managers: unique per
    // session so that sessions one after another in one process never share one.
    config.share_memory_path_prefix = name.to_string();
    SessionManagerConfig::new()
        .with_config(config)
        .with_session_num(1)
}

fn socket_addr(path: &Path) -> Result<SocketAddr, BenchError> {
    SocketAddr::from_pathname(path).map_err(BenchError::io("shmipc socket address"))
}

/// `map_err` adapter for shmipc's errors: a closed stream or session means the peer is gone.
fn shm_err(what: &'static str) -> impl FnOnce(Error) -> BenchError {
    move |e| match e {
        Error::StreamClosed | Error::EndOfStream | Error::SessionShutdown => BenchError::PeerGone,
        e => BenchError::Library {
            what,
            message: e.to_string(),
        },
    }
}

/// The handshake socket's path; removes the file when dropped (if it is still there).
struct SocketFile(PathBuf);

impl SocketFile {
    fn remove(&self) {
        // Not found is fine: the peer never bound it, or it was removed already.
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Main's side: the client.
pub(crate) struct Main {
    // Field order is drop order: the stream and the session (closed in `drop`), then the
    // runtime (which ends shmipc's tasks), then the peer, then the socket file.
    stream: Stream,
    manager: SessionManager<DefaultUnixConnect>,
    rt: Runtime,
    child: RoleChild,
    _socket: SocketFile,
    message: [u8; MSG],
}

impl Main {
    pub(crate) fn start(
        exe: &Path,
        peer_cpu: Option<usize>,
        template: &[u8],
    ) -> Result<Main, BenchError> {
        let name = unique_name()?;
        let socket = SocketFile(std::env::temp_dir().join(format!("{name}.sock")));
        let rt = runtime()?;
        let role = Role::ShmipcPeer {
            socket: socket.0.display().to_string(),
        };
        let mut child = RoleChild::spawn(exe, peer_cpu, role, |_| {})?;
        // The peer says ready once it listens on the socket.
        child.expect(role::READY)?;
        let addr = socket_addr(&socket.0)?;
        let manager = rt
            .block_on(async {
                tokio::time::timeout(
                    CONNECT_TIMEOUT,
                    SessionManager::new(client_config(&name), DefaultUnixConnect, addr),
                )
                .await
            })
            .map_err(|_| BenchError::Timeout("the shmipc session to connect"))?
            .map_err(shm_err("shmipc connect"))?;
        // Connected: nobody else may connect, and the file is not needed any more.
        socket.remove();
        let stream = manager
            .get_stream()
            .map_err(shm_err("shmipc open stream"))?;
        let mut message = [0u8; MSG];
        message.copy_from_slice(&template[..MSG]);
        let mut m = Main {
            stream,
            manager,
            rt,
            child,
            _socket: socket,
            message,
        };
        // The peer accepts the stream when its first message arrives.
        m.echo(0, Some(CONNECT_TIMEOUT))?;
        Ok(m)
    }

    /// Send the message, await its echo (at most `limit`) and compare.
    fn echo(&mut self, seq: u64, limit: Option<Duration>) -> Result<(), BenchError> {
        let stream = &mut self.stream;
        let message = &self.message;
        let trip = async move {
            stream.write_bytes(message)?;
            stream.flush(false).await?;
            let same = *stream.read_exact_bytes(MSG).await? == message[..];
            stream.release_read_and_reuse();
            Ok::<bool, Error>(same)
        };
        let same = match limit {
            None => self.rt.block_on(trip),
            Some(l) => self
                .rt
                .block_on(async { tokio::time::timeout(l, trip).await })
                .map_err(|_| BenchError::Timeout("the first shmipc echo"))?,
        }
        .map_err(shm_err("shmipc round trip"))?;
        if !same {
            return Err(BenchError::wrong(format!(
                "shmipc echo of message {seq} differs"
            )));
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn round_trip(&mut self, seq: u64) -> Result<(), BenchError> {
        self.message[..8].copy_from_slice(&seq.to_le_bytes());
        self.echo(seq, None)
    }

    /// The peer's process id.
    pub(crate) fn peer_pid(&self) -> u32 {
        self.child.pid()
    }
}

impl Drop for Main {
    fn drop(&mut self) {
        // Closing the stream ends the peer's echo loop; closing the session releases the
        // shared memory in this process, which outlives the measurement.
        let (stream, manager) = (&mut self.stream, &self.manager);
        let _ = self.rt.block_on(async {
            tokio::time::timeout(CLOSE_TIMEOUT, async {
                let _ = stream.close().await;
                manager.close().await;
            })
            .await
        });
        self.child.wait_exit(CLOSE_TIMEOUT);
    }
}

/// The peer's side: listen on `socket`, say ready, accept one stream and echo every 64-byte
/// message on it until main closes it.
pub(crate) fn serve_shmipc(socket: &str) -> Result<(), BenchError> {
    let rt = runtime()?;
    let addr = socket_addr(Path::new(socket))?;
    rt.block_on(async {
        let mut listener = Listener::new(DefaultUnixListen, addr, Config::default())
            .await
            .map_err(BenchError::io("shmipc listen"))?;
        role::say(role::READY)?;
        let mut stream = tokio::time::timeout(role::HANDSHAKE_TIMEOUT, listener.accept())
            .await
            .map_err(|_| BenchError::Timeout("main's shmipc stream"))?
            .map_err(BenchError::io("shmipc accept"))?;
        let mut m = [0u8; MSG];
        loop {
            match stream.read_exact_bytes(MSG).await {
                Ok(b) => m.copy_from_slice(&b),
                // Main closed the stream (or its session): the measurement is over.
                Err(Error::StreamClosed | Error::EndOfStream | Error::SessionShutdown) => {
                    return Ok(());
                }
                Err(e) => return Err(shm_err("shmipc read")(e)),
            }
            stream.recv_buf().release_previous_read();
            stream.write_bytes(&m).map_err(shm_err("shmipc write"))?;
            stream.flush(false).await.map_err(shm_err("shmipc flush"))?;
        }
    })
}
