//! Support for Electrode's multi-process tests.
//!
//! The tests in `tests/tests/transport_*.rs` run the transport between real processes: the test
//! process plays one side and the helper binary `shm_peer` (see `src/bin/shm_peer.rs`) the other.
//! This library holds what both need:
//!
//! - [`watchdog`](mod@watchdog): turns a hang into a clear failure (kills the children, aborts the process);
//! - [`child`]: [`ChildGuard`], which kills and reaps a child on drop, and adoption of orphaned
//!   grandchildren (the test process becomes a child subreaper);
//! - [`peer`]: spawning `shm_peer` with a role, as main, over a fresh segment;
//! - [`pattern`]: the deterministic frame schedule (sizes and contents) both sides check;
//! - [`procfs`]: what `/proc` says about a process (is a thread parked in a futex, which memfds
//!   does it hold, which files are in `/dev/shm`).
//!
//! Nothing here uses `unsafe`.
#![forbid(unsafe_code)]

pub mod contract;
pub use child::ChildGuard;
pub use peer::{spawn_renderer, spawn_sleeping_main, Renderer, SleepingMain};
pub use watchdog::{watchdog, Watchdog};

/// Frame tags and exit codes shared by the tests and `shm_peer`.
pub mod protocol {
    /// A data frame of the stream tests (meta = sequence number).
    pub const TAG_DATA: u16 = 1;
    /// End of a stream (meta = number of data frames sent).
    pub const TAG_DONE: u16 = 2;
    /// The renderer is set up (and, for blocking roles, blocked where the test wants it).
    pub const TAG_READY: u16 = 3;
    /// A request naming a response slot (meta = `index << 32 | generation`); never answered.
    pub const TAG_REQUEST: u16 = 4;

    /// `shm_peer` exit code: the role's checks passed.
    pub const EXIT_OK: i32 = 0;
    /// `shm_peer` exit code: a check failed (details on stderr).
    pub const EXIT_FAILED: i32 = 1;
    /// `shm_peer` exit code: bad command line.
    pub const EXIT_USAGE: i32 = 2;
    /// `shm_peer` exit code: its own watchdog fired (it outlived any sensible test).
    pub const EXIT_WATCHDOG: i32 = 124;
}

/// A watchdog that turns a hung test into a failure with a clear message.
pub mod watchdog {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use std::collections::BTreeSet;
    use std::sync::mpsc::{self, RecvTimeoutError};
    use std::sync::{Mutex, MutexGuard};
    use std::thread::JoinHandle;
    use std::time::Duration;

    /// Processes a firing watchdog kills: children (registered by [`ChildGuard`]
    /// (crate::ChildGuard) until they are reaped) and grandchildren whose pid a test learned.
    static KILL_LIST: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

    pub(crate) fn kill_list() -> MutexGuard<'static, BTreeSet<u32>> {
        KILL_LIST.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Have a firing watchdog kill `pid`. Only for a process that cannot be reaped (so its pid
    /// cannot be reused) while registered: an unreaped child, or a grandchild whose parent does
    /// not reap it and whose orphan this process adopts (see [`crate::child::become_subreaper`]).
    pub fn register(pid: u32) {
        kill_list().insert(pid);
    }

    /// Stop killing `pid` (it is about to be reaped).
    pub fn unregister(pid: u32) {
        kill_list().remove(&pid);
    }

    /// A running watchdog; dropping it (test finished, or panicked) disarms it.
    #[derive(Debug)]
    pub struct Watchdog {
        disarm: Option<mpsc::Sender<()>>,
        thread: Option<JoinHandle<()>>,
    }

    /// Arm a watchdog: if it is still armed after `limit`, it SIGKILLs every registered process,
    /// prints which test hung, and aborts the whole test process. `limit` is a hang detector,
    /// set far above the expected run time, never a performance bound.
    pub fn watchdog(limit: Duration, label: &str) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        let label = label.to_owned();
        let thread = std::thread::Builder::new()
            .name(format!("watchdog {label}"))
            .spawn(move || {
                if let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                    // Holding the lock: nobody reaps a registered child while we kill.
                    let list = kill_list();
                    for &pid in list.iter() {
                        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
                    }
                    eprintln!(
                        "\nWATCHDOG: test `{label}` still running after {limit:?} (hung); \
                         killed processes {list:?}; aborting"
                    );
                    std::process::abort();
                }
            })
            .expect("spawn the watchdog thread");
        Watchdog {
            disarm: Some(tx),
            thread: Some(thread),
        }
    }

    impl Drop for Watchdog {
        fn drop(&mut self) {
            drop(self.disarm.take());
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// Children that are killed and reaped on drop.
pub mod child {
    use crate::watchdog;
    use nix::errno::Errno;
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
    use nix::unistd::Pid;
    use std::io;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Child, ChildStdout, Command, ExitStatus};

    /// Make this process the reaper of its orphaned descendants: when a child dies, its
    /// children become ours, so a test can reap (and read the exit status of) a grandchild.
    pub fn become_subreaper() -> io::Result<()> {
        nix::sys::prctl::set_child_subreaper(true)?;
        Ok(())
    }

    enum Kind {
        Spawned(Child),
        /// A grandchild reparented to us (we are its subreaper).
        Adopted,
    }

    /// A child process that is SIGKILLed and reaped when the guard drops (unless already reaped
    /// by [`ChildGuard::wait`]). While unreaped it is on the watchdog's kill list.
    pub struct ChildGuard {
        kind: Kind,
        pid: u32,
        status: Option<ExitStatus>,
    }

    impl std::fmt::Debug for ChildGuard {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("ChildGuard")
                .field("pid", &self.pid)
                .field("status", &self.status)
                .finish()
        }
    }

    impl ChildGuard {
        /// Spawn `cmd` and guard the child.
        pub fn spawn(cmd: &mut Command) -> io::Result<ChildGuard> {
            let child = cmd.spawn()?;
            let pid = child.id();
            watchdog::register(pid);
            Ok(ChildGuard {
                kind: Kind::Spawned(child),
                pid,
                status: None,
            })
        }

        /// Guard a descendant that has become our child by reparenting (its parent died and
        /// this process is its subreaper, see [`become_subreaper`]).
        pub fn adopt(pid: u32) -> ChildGuard {
            watchdog::register(pid);
            ChildGuard {
                kind: Kind::Adopted,
                pid,
                status: None,
            }
        }

        /// The child's pid.
        pub fn pid(&self) -> u32 {
            self.pid
        }

        /// The child's stdout pipe, if it was spawned with `Stdio::piped()` (taken once).
        pub fn take_stdout(&mut self) -> Option<ChildStdout> {
            match &mut self.kind {
                Kind::Spawned(c) => c.stdout.take(),
                Kind::Adopted => None,
            }
        }

        /// SIGKILL the child. Safe against pid reuse: the child is not reaped before
        /// [`wait`](Self::wait) or drop, which need `&mut self`.
        pub fn kill(&self) -> io::Result<()> {
            if self.status.is_some() {
                return Ok(());
            }
            kill(Pid::from_raw(self.pid as i32), Signal::SIGKILL)?;
            Ok(())
        }

        /// Wait for the child to exit and reap it (the watchdog covers a child that never
        /// exits: it stays on the kill list until it has exited).
        pub fn wait(&mut self) -> io::Result<ExitStatus> {
            if let Some(s) = self.status {
                return Ok(s);
            }
            // Wait for the exit without reaping, so the pid stays ours while still listed.
            loop {
                match waitid(
                    Id::Pid(Pid::from_raw(self.pid as i32)),
                    WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
                ) {
                    Ok(_) => break,
                    Err(Errno::EINTR) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            watchdog::unregister(self.pid);
            let status = match &mut self.kind {
                Kind::Spawned(c) => c.wait()?,
                Kind::Adopted => loop {
                    match waitpid(Pid::from_raw(self.pid as i32), None) {
                        Ok(WaitStatus::Exited(_, code)) => break ExitStatus::from_raw(code << 8),
                        Ok(WaitStatus::Signaled(_, sig, core)) => {
                            break ExitStatus::from_raw(sig as i32 | if core { 0x80 } else { 0 })
                        }
                        Ok(_) | Err(Errno::EINTR) => continue,
                        Err(e) => return Err(e.into()),
                    }
                },
            };
            self.status = Some(status);
            Ok(status)
        }
    }

    impl Drop for ChildGuard {
        fn drop(&mut self) {
            if self.status.is_none() {
                let _ = self.kill();
                let _ = self.wait();
            }
        }
    }
}

/// Starting `shm_peer`: as a renderer of a fresh segment with this process as main, or as an
/// intermediate main (role `main-then-sleep`) with renderers of its own.
pub mod peer {
    use crate::child::{become_subreaper, ChildGuard};
    use crate::watchdog;
    use electrode_shm::{Handoff, Liveness, MainEnd, PeerProcess, Segment, SegmentConfig, Watch};
    use std::error::Error;
    use std::io::{self, BufRead, BufReader, Lines};
    use std::path::Path;
    use std::process::{ChildStdout, Command, Stdio};

    /// Environment variable telling a `main-then-sleep` which process spawned it (so it can
    /// tell whether its parent already died before it asked to die with it).
    pub const PARENT_ENV: &str = "SHM_PEER_PARENT";

    /// A renderer child connected to this process (main) over its own segment.
    pub struct Renderer {
        /// Main's endpoints of the segment.
        pub end: MainEnd,
        /// The child (killed and reaped on drop).
        pub child: ChildGuard,
        /// The pidfd watcher that marks the renderer gone and wakes every wait when it exits.
        _watch: Watch,
    }

    impl std::fmt::Debug for Renderer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Renderer")
                .field("child", &self.child)
                .finish()
        }
    }

    /// Create a segment of `config`, spawn `exe <role> <args..>` as its renderer (stdout as
    /// given, stderr inherited) and watch it, exactly as an Electrode main does.
    pub fn spawn_renderer(
        exe: &Path,
        role: &str,
        args: &[String],
        config: SegmentConfig,
        stdout: Stdio,
    ) -> Result<Renderer, Box<dyn Error>> {
        let seg = Segment::create(config)?;
        let me = PeerProcess::open(std::process::id())?;
        let mut cmd = Command::new(exe);
        cmd.arg(role).args(args).stdout(stdout);
        let fds = Handoff::prepare(&mut cmd, &me)?;
        let child = ChildGuard::spawn(&mut cmd)?;
        drop(cmd);
        // Queued until the child takes it; our end may close once it is sent.
        Handoff::send_segment(&fds, &seg)?;
        // Sound: the child is ours and unreaped, so its pid names it.
        let child_pf = PeerProcess::open(child.pid())?;
        let live = Liveness::new();
        let end = seg.into_main(live.clone());
        let waker = end.waker.clone();
        let watch = child_pf.watch(live, move || waker.wake_all())?;
        Ok(Renderer {
            end,
            child,
            _watch: watch,
        })
    }

    /// An intermediate main (`shm_peer main-then-sleep`) whose renderers are all ready.
    pub struct SleepingMain {
        /// The intermediate main (killed and reaped on drop).
        pub child: ChildGuard,
        /// Its renderers' pids (our grandchildren, on the watchdog's kill list; once main is
        /// reaped they are our children: [`ChildGuard::adopt`] them).
        pub renderers: Vec<u32>,
        /// The rest of the stdout pipe main and its renderers share (the renderers' reports).
        pub lines: Lines<BufReader<ChildStdout>>,
    }

    impl std::fmt::Debug for SleepingMain {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("SleepingMain")
                .field("child", &self.child)
                .field("renderers", &self.renderers)
                .finish()
        }
    }

    /// Make this process a child subreaper, spawn `exe main-then-sleep <renderer_role> <n>`
    /// and read its stdout up to `ready`, collecting the renderers' pids.
    pub fn spawn_sleeping_main(
        exe: &Path,
        renderer_role: &str,
        n: usize,
    ) -> io::Result<SleepingMain> {
        become_subreaper()?;
        let mut child = ChildGuard::spawn(
            Command::new(exe)
                .args(["main-then-sleep", renderer_role, &n.to_string()])
                .env(PARENT_ENV, std::process::id().to_string())
                .stdout(Stdio::piped()),
        )?;
        let stdout = child.take_stdout().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut renderers = Vec::new();
        loop {
            let Some(line) = lines.next().transpose()? else {
                return Err(io::Error::other(
                    "main-then-sleep closed stdout before `ready`",
                ));
            };
            if line == "ready" {
                break;
            }
            let pid = line
                .strip_prefix("renderer ")
                .and_then(|p| p.parse::<u32>().ok())
                .ok_or_else(|| io::Error::other(format!("unexpected line {line:?}")))?;
            // Sound: main never reaps its renderers, so the pid stays theirs until we do.
            watchdog::register(pid);
            renderers.push(pid);
        }
        Ok(SleepingMain {
            child,
            renderers,
            lines,
        })
    }
}

/// The deterministic frame schedule of the stream tests: frame `seq`'s length and contents are
/// functions of `seq` alone, so the receiver detects any lost, duplicated, reordered, truncated
/// or corrupted frame.
pub mod pattern {
    /// One frame in this many is larger than the ring (sent in chunks).
    pub const LARGE_EVERY: u64 = 10_000;

    /// splitmix64's finalizer: a good 64-bit mix.
    pub fn mix(mut x: u64) -> u64 {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    /// A small deterministic random generator (xorshift64, seeded through [`mix`]), shared by
    /// the tests and their helper binaries.
    #[derive(Clone, Debug)]
    pub struct Rng(u64);

    impl Rng {
        /// A generator for `seed`.
        pub fn new(seed: u64) -> Self {
            Rng(mix(seed) | 1)
        }

        /// The next number.
        pub fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        /// A number in `0..n` (`n > 0`).
        pub fn below(&mut self, n: u64) -> u64 {
            self.next_u64() % n
        }

        /// An index in `0..n` (`n > 0`).
        pub fn index(&mut self, n: usize) -> usize {
            self.below(n as u64) as usize
        }

        /// True with probability `num / den`.
        pub fn chance(&mut self, num: u64, den: u64) -> bool {
            self.next_u64() % den < num
        }

        /// `n` random bytes.
        pub fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next_u64() as u8).collect()
        }

        /// An interesting 32-bit value: 0, 1, a boundary, or random.
        pub fn edgy_u32(&mut self) -> u32 {
            const EDGES: [u32; 10] = [
                0,
                1,
                15,
                16,
                4096,
                0x7fff,
                0xffff,
                0x7fff_ffff,
                0xffff_fff0,
                u32::MAX,
            ];
            if self.chance(1, 2) {
                EDGES[self.index(EDGES.len())]
            } else {
                self.next_u64() as u32
            }
        }
    }

    /// A 64-bit checksum of `data` (length-seeded, word at a time, then [`mix`]): what the
    /// load test's renderers and main both compute over payloads and replies.
    pub fn checksum(data: &[u8]) -> u64 {
        let mut h = data.len() as u64;
        let mut words = data.chunks_exact(8);
        for w in &mut words {
            let mut word = [0u8; 8];
            word.copy_from_slice(w);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        let mut last = [0u8; 8];
        last[..words.remainder().len()].copy_from_slice(words.remainder());
        mix(h ^ u64::from_le_bytes(last))
    }

    /// Payload length of frame `seq` over a ring of `ring` bytes: 1 B to 4 KiB, log-uniform
    /// (most frames small), except every [`LARGE_EVERY`]th, which is 1.5 ring capacities and up
    /// to 4 KiB more (so it goes in chunks, ending at an arbitrary offset).
    pub fn frame_len(seq: u64, ring: usize) -> usize {
        let h = mix(seq);
        if seq % LARGE_EVERY == LARGE_EVERY - 1 {
            ring + ring / 2 + (h % 4096) as usize
        } else {
            let bits = (h % 13) as u32; // 0..=12
            1 + ((h >> 8) % (1u64 << bits)) as usize
        }
    }

    /// The xorshift64 stream that fills frame `seq`.
    struct Stream(u64);

    impl Stream {
        fn new(seq: u64) -> Self {
            Stream(mix(seq ^ 0x5eed_5eed_5eed_5eed) | 1)
        }

        #[inline]
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
    }

    /// Fill `out` with frame `seq`'s contents.
    pub fn fill(seq: u64, out: &mut [u8]) {
        let mut s = Stream::new(seq);
        let mut words = out.chunks_exact_mut(8);
        for w in &mut words {
            w.copy_from_slice(&s.next().to_le_bytes());
        }
        let rest = words.into_remainder();
        let last = s.next().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }

    /// Check a received frame against the schedule: `Err` describes the first difference.
    pub fn check(seq: u64, ring: usize, data: &[u8]) -> Result<(), String> {
        let want = frame_len(seq, ring);
        if data.len() != want {
            return Err(format!(
                "frame {seq}: length {} but the schedule says {want}",
                data.len()
            ));
        }
        let mut s = Stream::new(seq);
        let mut words = data.chunks_exact(8);
        for (i, w) in (&mut words).enumerate() {
            let expect = s.next().to_le_bytes();
            if w != expect {
                return Err(format!(
                    "frame {seq} (len {want}): corrupt at byte {}: {w:02x?} != {expect:02x?}",
                    i * 8
                ));
            }
        }
        let rest = words.remainder();
        let expect = s.next().to_le_bytes();
        if rest != &expect[..rest.len()] {
            return Err(format!(
                "frame {seq} (len {want}): corrupt in the last bytes"
            ));
        }
        Ok(())
    }
}

/// What `/proc` and `/dev/shm` say about processes and shared memory.
pub mod procfs {
    use std::collections::BTreeSet;
    use std::ffi::OsString;
    use std::fs;
    use std::io;
    use std::os::unix::fs::MetadataExt;
    use std::time::Duration;

    /// The name every Electrode segment's memfd carries (`/proc/<pid>/fd` shows it as
    /// `/memfd:electrode-segment (deleted)`).
    pub const SEGMENT_MEMFD: &str = "/memfd:electrode-segment";

    /// Whether thread `tid` of process `pid` is asleep in `futex(2)` / `futex_waitv(2)`
    /// (`/proc/<pid>/task/<tid>/syscall`), i.e. parked, not spinning or yielding.
    pub fn parked_in_futex(pid: u32, tid: i32) -> io::Result<bool> {
        let base = format!("/proc/{pid}/task/{tid}");
        let stat = fs::read_to_string(format!("{base}/stat"))?;
        // The state follows the command name, which is in parentheses and may contain spaces.
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or("?");
        if state != "S" {
            return Ok(false);
        }
        let syscall = fs::read_to_string(format!("{base}/syscall"))?;
        let nr = syscall
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<i64>().ok());
        Ok(matches!(nr, Some(n) if n == libc::SYS_futex || n == libc::SYS_futex_waitv))
    }

    /// Poll (every millisecond) until every thread in `tids` of `pid` is parked in a futex.
    /// There is no time limit: the caller's watchdog turns a thread that never parks into a
    /// failure.
    pub fn wait_until_parked(pid: u32, tids: &[i32]) -> io::Result<()> {
        loop {
            let mut all = true;
            for &tid in tids {
                all &= parked_in_futex(pid, tid)?;
            }
            if all {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Identity of an open file: device and inode.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct FileId {
        /// `st_dev`.
        pub dev: u64,
        /// `st_ino`.
        pub ino: u64,
    }

    /// Every fd of `pid` with its link target (`/proc/<pid>/fd/*`) and, where it can be
    /// stat'ed, the identity of the file it refers to.
    pub fn fds(pid: u32) -> io::Result<Vec<(String, Option<FileId>)>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(format!("/proc/{pid}/fd"))? {
            let path = entry?.path();
            let Ok(target) = fs::read_link(&path) else {
                continue; // closed meanwhile
            };
            let id = fs::metadata(&path).ok().map(|m| FileId {
                dev: m.dev(),
                ino: m.ino(),
            });
            out.push((target.to_string_lossy().into_owned(), id));
        }
        Ok(out)
    }

    /// The Electrode segment memfds `pid` holds open.
    pub fn segment_fds(pid: u32) -> io::Result<BTreeSet<FileId>> {
        Ok(fds(pid)?
            .into_iter()
            .filter(|(t, _)| t.starts_with(SEGMENT_MEMFD))
            .filter_map(|(_, id)| id)
            .collect())
    }

    /// Lines of `/proc/<pid>/maps` naming a file (the path column is present).
    pub fn mapped_files(pid: u32) -> io::Result<Vec<(u64, String)>> {
        let maps = fs::read_to_string(format!("/proc/{pid}/maps"))?;
        Ok(maps
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let ino = f.nth(4)?.parse::<u64>().ok()?;
                let path: Vec<&str> = f.collect();
                (!path.is_empty()).then(|| (ino, path.join(" ")))
            })
            .collect())
    }

    /// Inodes of the Electrode segments `pid` has mapped.
    pub fn mapped_segments(pid: u32) -> io::Result<BTreeSet<u64>> {
        Ok(mapped_files(pid)?
            .into_iter()
            .filter(|(_, p)| p.starts_with(SEGMENT_MEMFD))
            .map(|(ino, _)| ino)
            .collect())
    }

    /// Every process (that we may inspect) holding one of `ids` open or mapped, with how.
    pub fn holders(ids: &BTreeSet<FileId>) -> Vec<(u32, String)> {
        let inodes: BTreeSet<u64> = ids.iter().map(|i| i.ino).collect();
        let mut found = Vec::new();
        let Ok(dir) = fs::read_dir("/proc") else {
            return found;
        };
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Ok(fds) = fds(pid) {
                for (target, id) in fds {
                    if id.is_some_and(|id| ids.contains(&id)) {
                        found.push((pid, format!("fd -> {target}")));
                    }
                }
            }
            if let Ok(maps) = mapped_files(pid) {
                for (ino, path) in maps {
                    if path.starts_with(SEGMENT_MEMFD) && inodes.contains(&ino) {
                        found.push((pid, format!("mapping of {path} (inode {ino})")));
                    }
                }
            }
        }
        found
    }

    /// The names in `/dev/shm`.
    pub fn dev_shm() -> io::Result<BTreeSet<OsString>> {
        fs::read_dir("/dev/shm")?
            .map(|e| e.map(|e| e.file_name()))
            .collect()
    }
}
pub mod api_kit;
pub mod async_kit;
pub mod hostile_kit;

/// Electrode logs through `tracing`; a test that reads what main logged installs a subscriber.
pub mod logs {
    /// Send every `tracing` event of this process to stderr, one line each (idempotent).
    pub fn to_stderr() {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .try_init();
    }
}
