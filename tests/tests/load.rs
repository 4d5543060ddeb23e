//! Load: 16 renderer processes (`load_renderer`) each send `ELECTRODE_LOAD_MESSAGES` (default
//! 20,000) randomly mixed `send` / `send_sync` / `invoke` messages at once, payloads mostly
//! under 4 KiB and one in a thousand up to 1 MiB. Main checks every message on arrival: it
//! comes from the process its index names, its sequence number is the next one of that
//! renderer (one counter across the three kinds: order is per frame across all of them), and
//! its payload matches its checksum. Main answers `send_sync` and `invoke` with data of the
//! length the renderer asked for and checksums the renderer checks. At the end main checks its
//! totals against every renderer's, every renderer must exit 0, and main's private memory
//! (RssAnon) must not have grown by more than [`ANON_GROWTH_LIMIT`] between warm-up (10% of
//! the messages) and the end (every renderer finished and still connected).
//!
//! The full run (docs/LOAD_AND_MEMCHECK.md):
//! `ELECTRODE_LOAD_MESSAGES=1000000 cargo test -p electrode-tests --release --test load -- --nocapture`.
//! Other knobs: `ELECTRODE_LOAD_SEED` (another seed; the default is fixed),
//! `ELECTRODE_LOAD_RENDERERS` (default 16) and `ELECTRODE_LOAD_WRAPPER` (a command prefix for
//! each renderer, e.g. valgrind: `tests/valgrind/memcheck.sh`). Throughput and memory figures
//! are printed, never asserted against a time.

use electrode::{ArgsView, GoneDetails, GoneReason, IpcMainEvent, Main, RemoteError, Value};
use electrode_tests::pattern::{checksum, fill, mix};
use electrode_tests::watchdog;
use std::fmt;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

const RENDERER_EXE: &str = env!("CARGO_BIN_EXE_load_renderer");
/// Renderers when `ELECTRODE_LOAD_RENDERERS` is not set.
const DEFAULT_RENDERERS: usize = 16;
/// Messages per renderer when `ELECTRODE_LOAD_MESSAGES` is not set: a CI-sized run.
const DEFAULT_MESSAGES: u64 = 20_000;
const DEFAULT_SEED: u64 = 0x10ad_5eed;

/// Bound on the growth of main's private memory (RssAnon) from warm-up to the end (every
/// renderer finished, none disconnected yet).
///
/// Main's private memory per renderer grows to the largest message, not per message: the
/// receiver's reassembly buffer and the dispatcher's validation copy each grow to the largest
/// message seen (here up to 1 MiB plus envelope) and are reused, and the outbox holds at most
/// what does not fit the main→renderer ring (one large reply). A renderer whose first 1 MiB
/// message comes after warm-up adds about 3 MiB; 16 renderers about 48 MiB in the worst case,
/// plus allocator slack. A leak of even 8 bytes per message shows in the full run (16 M
/// messages: 128 MiB); in the CI run it stays within this bound, which catches only larger
/// leaks (valgrind's leak check covers the rest, tests/valgrind/memcheck.sh).
///
/// Shared memory (RssShmem) is reported but not bounded here: it is the segments' pages
/// (3 MiB per renderer by default), first touched as the rings wrap and slots are used.
const ANON_GROWTH_LIMIT: u64 = 64 << 20;

/// No message arriving and no renderer exiting for this long means a hang (a hang guard,
/// never a performance bound).
const STALL: Duration = Duration::from_secs(60);

/// Memory figures of this process from `/proc/self/status`, in bytes.
#[derive(Clone, Copy, Debug, Default)]
struct Mem {
    rss: u64,
    anon: u64,
    shmem: u64,
    hwm: u64,
}

impl Mem {
    fn sample() -> Mem {
        let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.trim().strip_suffix("kB"))
                .and_then(|kb| kb.trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
                * 1024
        };
        Mem {
            rss: field("VmRSS:"),
            anon: field("RssAnon:"),
            shmem: field("RssShmem:"),
            hwm: field("VmHWM:"),
        }
    }
}

fn mib(b: u64) -> f64 {
    b as f64 / (1u64 << 20) as f64
}

impl fmt::Display for Mem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VmRSS {:7.1} MiB (anon {:6.1}, shmem {:6.1}), VmHWM {:7.1} MiB",
            mib(self.rss),
            mib(self.anon),
            mib(self.shmem),
            mib(self.hwm)
        )
    }
}

/// Main's account of one renderer.
#[derive(Debug, Default)]
struct Account {
    /// The next sequence number due (= messages accepted so far).
    next: u64,
    /// Messages accepted per kind: send, send_sync, invoke.
    kinds: [u64; 3],
    /// Payload bytes accepted.
    bytes: u64,
    /// Payloads larger than 512 KiB (sent in chunks through a default 1 MiB ring).
    chunked: u64,
    /// Checks that failed (the first few, and how many in all).
    errors: Vec<String>,
    error_count: u64,
}

impl Account {
    fn fail(&mut self, why: String) -> String {
        self.error_count += 1;
        if self.errors.len() < 8 {
            self.errors.push(why.clone());
        }
        why
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Send = 0,
    SendSync = 1,
    Invoke = 2,
}

/// What main's listeners share with the test thread.
struct Books {
    renderers: usize,
    messages: u64,
    /// The renderers' pids by index (set once every renderer is spawned, before they start).
    pids: OnceLock<Vec<u32>>,
    accounts: Mutex<Vec<Account>>,
    /// Messages that named no valid renderer.
    stray: Mutex<Vec<String>>,
    /// Messages accepted, all renderers.
    total: AtomicU64,
    /// Memory and time at warm-up (10% of the messages accepted).
    warm: OnceLock<(Mem, Instant)>,
    /// When the last message was accepted.
    last: OnceLock<Instant>,
}

impl Books {
    fn accounts(&self) -> MutexGuard<'_, Vec<Account>> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn total_messages(&self) -> u64 {
        self.messages * self.renderers as u64
    }
}

/// One message's arguments: `[index, seq, checksum, payload, reply_len]`.
struct Msg<'a> {
    index: usize,
    seq: u64,
    sum: u64,
    payload: &'a [u8],
    reply_len: usize,
}

fn parse<'a>(renderers: usize, a: &ArgsView<'a>) -> Result<Msg<'a>, String> {
    let int = |i: usize| a.get(i).and_then(|v| v.as_i64());
    let (Some(index), Some(seq), Some(sum), Some(payload), Some(reply_len)) = (
        int(0),
        int(1),
        int(2),
        a.get(3).and_then(|v| v.as_bytes()),
        int(4),
    ) else {
        return Err(format!("malformed arguments {a:.200?}"));
    };
    let index = usize::try_from(index)
        .ok()
        .filter(|&k| k < renderers)
        .ok_or_else(|| format!("bad renderer index {index}"))?;
    let reply_len = usize::try_from(reply_len)
        .ok()
        .filter(|&n| n <= 1 << 20)
        .ok_or_else(|| format!("bad reply length {reply_len}"))?;
    Ok(Msg {
        index,
        seq: seq as u64,
        sum: sum as u64,
        payload,
        reply_len,
    })
}

/// Check one arriving message and enter it in the books.
fn arrive<'a>(books: &Books, kind: Kind, pid: u32, a: &ArgsView<'a>) -> Result<Msg<'a>, String> {
    let m = match parse(books.renderers, a) {
        Ok(m) => m,
        Err(why) => {
            let why = format!("{kind:?} from pid {pid}: {why}");
            books
                .stray
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(why.clone());
            return Err(why);
        }
    };
    let mut accounts = books.accounts();
    let acc = &mut accounts[m.index];
    let want_pid = books.pids.get().map(|p| p[m.index]);
    if want_pid != Some(pid) {
        return Err(acc.fail(format!(
            "renderer {}: {kind:?} {} came from pid {pid}, renderer {} is pid {want_pid:?}",
            m.index, m.seq, m.index
        )));
    }
    if m.seq != acc.next {
        let why = format!(
            "renderer {}: {kind:?} {} arrived when {} was due",
            m.index, m.seq, acc.next
        );
        // Resynchronise, so one slip is reported once, not for every later message.
        acc.next = m.seq.wrapping_add(1);
        return Err(acc.fail(why));
    }
    let sum = checksum(m.payload);
    if sum != m.sum {
        acc.next += 1;
        return Err(acc.fail(format!(
            "renderer {}: {kind:?} {} ({} bytes): payload checksum {sum:#x}, message says {:#x}",
            m.index,
            m.seq,
            m.payload.len(),
            m.sum
        )));
    }
    acc.next += 1;
    acc.kinds[kind as usize] += 1;
    acc.bytes += m.payload.len() as u64;
    acc.chunked += u64::from(m.payload.len() > 512 * 1024);
    drop(accounts);
    let total = books.total.fetch_add(1, Ordering::Relaxed) + 1;
    if total == (books.total_messages() / 10).max(1) {
        let _ = books.warm.set((Mem::sample(), Instant::now()));
    }
    if total == books.total_messages() {
        let _ = books.last.set(Instant::now());
    }
    Ok(m)
}

/// Main's answer to a `send_sync` / `invoke`: `[seq, checksum of the payload as main computed
/// it, checksum(data), data]` with `reply_len` bytes of data.
fn answer(m: &Msg<'_>) -> Value {
    let mut data = vec![0u8; m.reply_len];
    fill(mix(((m.index as u64) << 40) ^ m.seq), &mut data);
    Value::Array(vec![
        Value::Int(m.seq as i64),
        Value::Int(checksum(m.payload) as i64),
        Value::Int(checksum(&data) as i64),
        Value::Bytes(data),
    ])
}

/// Main's verdict on `load-done [index, messages, sends, syncs, invokes]`.
fn verdict(books: &Books, a: &ArgsView<'_>) -> String {
    let ints: Vec<i64> = (0..5).filter_map(|i| a.get(i)?.as_i64()).collect();
    let &[index, messages, sends, syncs, invokes] = ints.as_slice() else {
        return format!("malformed load-done {a:?}");
    };
    let Some(acc) = usize::try_from(index).ok().and_then(|k| {
        books
            .accounts()
            .get(k)
            .map(|acc| (acc.next, acc.kinds, acc.error_count))
    }) else {
        return format!("bad renderer index {index}");
    };
    let (next, kinds, errors) = acc;
    let theirs = [sends as u64, syncs as u64, invokes as u64];
    if errors > 0 {
        format!("main found {errors} bad messages (see the test's output)")
    } else if next != messages as u64 || kinds != theirs {
        format!(
            "main accepted {next} messages {kinds:?} (send, send_sync, invoke), \
             renderer sent {messages} {theirs:?}"
        )
    } else {
        "ok".to_owned()
    }
}

/// A count from the environment, if set.
fn env_count(name: &str) -> Option<u64> {
    let s = std::env::var(name).ok()?;
    Some(
        s.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={s:?} is not a count")),
    )
}

fn seed() -> u64 {
    std::env::var("ELECTRODE_LOAD_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// What main's listeners tell the test thread after the start.
enum Note {
    /// A renderer finished (`load-done`): the event to answer, with main's verdict.
    Done(IpcMainEvent, String),
    /// A renderer exited.
    Gone(usize, GoneDetails),
}

fn install(
    main: &Main,
    books: &Arc<Books>,
    ready: mpsc::Sender<IpcMainEvent>,
    notes: &mpsc::Sender<Note>,
) {
    let b = books.clone();
    main.ipc().on("load-send", move |e, a| {
        if e.is_sync() {
            let why = format!("load-send from pid {} arrived as sendSync", e.process_id());
            b.stray.lock().unwrap_or_else(|e| e.into_inner()).push(why);
        }
        // A failed check is in the books; a plain send has nobody to tell.
        let _ = arrive(&b, Kind::Send, e.process_id(), a);
    });
    let b = books.clone();
    main.ipc().on("load-sync", move |e, a| {
        match arrive(&b, Kind::SendSync, e.process_id(), a) {
            Ok(m) => {
                e.set_return_value(answer(&m));
            }
            Err(why) => {
                e.set_error(RemoteError::new(why));
            }
        }
    });
    let b = books.clone();
    main.ipc()
        .handle("load-invoke", move |e, a| {
            arrive(&b, Kind::Invoke, e.process_id(), a)
                .map(|m| answer(&m))
                .map_err(RemoteError::new)
        })
        .unwrap();
    let b = books.clone();
    let done = Mutex::new(notes.clone());
    main.ipc().on("load-done", move |e, a| {
        let _ = done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(Note::Done(e.clone(), verdict(&b, a)));
    });
    let ready = Mutex::new(ready);
    main.ipc().on("load-ready", move |e, _| {
        let _ = ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(e.clone());
    });
}

#[test]
fn mixed_load_from_many_renderers_in_order_with_flat_memory() {
    let messages = env_count("ELECTRODE_LOAD_MESSAGES").unwrap_or(DEFAULT_MESSAGES);
    let seed = seed();
    let renderers = env_count("ELECTRODE_LOAD_RENDERERS").map_or(DEFAULT_RENDERERS, |n| n as usize);
    let wrapper = std::env::var("ELECTRODE_LOAD_WRAPPER").unwrap_or_default();
    let wrapper: Vec<&str> = wrapper.split_whitespace().collect();
    let total = messages * renderers as u64;
    // A backstop for a hung test thread; the stall check below catches a hung pipeline first.
    let limit = Duration::from_secs(300) + Duration::from_millis(total);
    let _dog = watchdog(
        limit,
        "mixed_load_from_many_renderers_in_order_with_flat_memory",
    );
    eprintln!("load: {renderers} renderers x {messages} messages, seed {seed}");
    if !wrapper.is_empty() {
        eprintln!("load: renderers run under {wrapper:?}");
    }

    let main = Main::new().unwrap();
    let before = Mem::sample();
    let books = Arc::new(Books {
        renderers,
        messages,
        pids: OnceLock::new(),
        accounts: Mutex::new((0..renderers).map(|_| Account::default()).collect()),
        stray: Mutex::new(Vec::new()),
        total: AtomicU64::new(0),
        warm: OnceLock::new(),
        last: OnceLock::new(),
    });
    let (ready_tx, ready_rx) = mpsc::channel();
    let (notes_tx, notes_rx) = mpsc::channel::<Note>();
    install(&main, &books, ready_tx, &notes_tx);

    let mut pids = Vec::new();
    let mut web_contents = Vec::new();
    for k in 0..renderers {
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(RENDERER_EXE);
                c
            }
            None => Command::new(RENDERER_EXE),
        };
        cmd.args([
            k.to_string(),
            messages.to_string(),
            seed.to_string(),
            (limit.as_secs() + 60).to_string(),
        ]);
        let wc = main
            .spawn_renderer(cmd)
            .unwrap_or_else(|e| panic!("spawn renderer {k}: {e}"));
        let tx = Mutex::new(notes_tx.clone());
        wc.on_render_process_gone(move |d| {
            let _ = tx
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .send(Note::Gone(k, *d));
        });
        pids.push(wc.pid());
        web_contents.push(wc);
    }
    books.pids.set(pids).unwrap();

    // Hold every renderer at the gate, then release them together.
    let mut gate = Vec::new();
    for _ in 0..renderers {
        match ready_rx.recv_timeout(STALL) {
            Ok(e) => gate.push(e),
            Err(e) => panic!(
                "only {} of {renderers} renderers said ready ({e:?})",
                gate.len()
            ),
        }
    }
    let start = Instant::now();
    for e in &gate {
        e.set_return_value(true);
    }
    drop(gate);

    // Wait for every renderer to finish (and to exit), sampling main's memory and watching
    // for a stall. Finished renderers wait in `load-done` until all have finished, so the end
    // sample is taken with every renderer still connected, like the warm-up sample.
    let mut gone: Vec<Option<GoneDetails>> = vec![None; renderers];
    let mut done: Vec<(IpcMainEvent, String)> = Vec::new();
    let mut end: Option<Mem> = None;
    let mut peak_rss_after_warm = 0u64;
    let mut last_progress = (0u64, 0usize, Instant::now());
    while gone.iter().any(Option::is_none) {
        match notes_rx.recv_timeout(Duration::from_millis(250)) {
            Ok(Note::Gone(k, d)) => gone[k] = Some(d),
            Ok(Note::Done(e, verdict)) => {
                if verdict != "ok" {
                    eprintln!("renderer pid {}: main's verdict: {verdict}", e.process_id());
                }
                // Answered once every renderer has finished (or died).
                done.push((e, verdict));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => unreachable!("the test holds a sender"),
        }
        let finished = done.len() + gone.iter().flatten().count();
        if end.is_none() && finished >= renderers {
            end = Some(Mem::sample());
            for (e, verdict) in done.drain(..) {
                e.set_return_value(verdict);
            }
        }
        if books.warm.get().is_some() {
            peak_rss_after_warm = peak_rss_after_warm.max(Mem::sample().rss);
        }
        let now = (books.total.load(Ordering::Relaxed), finished);
        if (now.0, now.1) != (last_progress.0, last_progress.1) {
            last_progress = (now.0, now.1, Instant::now());
        } else if last_progress.2.elapsed() > STALL {
            let accounts = books.accounts();
            let progress: Vec<_> = accounts.iter().map(|a| a.next).collect();
            panic!(
                "no progress for {STALL:?}: {} of {total} messages accepted; per renderer \
                 {progress:?}; gone {gone:?}",
                now.0
            );
        }
    }
    let after = Mem::sample();
    drop(web_contents);
    drop(main);

    // Report first, so the figures are there even when a check below fails.
    let accounts = books.accounts();
    let kinds = accounts.iter().fold([0u64; 3], |mut t, a| {
        (0..3).for_each(|i| t[i] += a.kinds[i]);
        t
    });
    let bytes: u64 = accounts.iter().map(|a| a.bytes).sum();
    let chunked: u64 = accounts.iter().map(|a| a.chunked).sum();
    let accepted = books.total.load(Ordering::Relaxed);
    eprintln!(
        "load: accepted {accepted} of {total} messages (send {}, send_sync {}, invoke {}), \
         {:.1} MiB of payload, {chunked} chunked (> 512 KiB)",
        kinds[0],
        kinds[1],
        kinds[2],
        mib(bytes)
    );
    for (k, a) in accounts
        .iter()
        .enumerate()
        .filter(|(_, a)| a.error_count > 0)
    {
        eprintln!(
            "renderer {k}: main found {} bad messages, the first: {:#?}",
            a.error_count, a.errors
        );
    }
    eprintln!("memory before spawning:    {before}");
    if let (Some((warm, t_warm)), Some(end)) = (books.warm.get(), end) {
        eprintln!("memory at warm-up (10%):   {warm}");
        eprintln!("memory at the end:         {end}");
        eprintln!("memory after all exited:   {after}");
        eprintln!(
            "growth warm-up -> end: VmRSS {:+.1} MiB, anon {:+.1} MiB, shmem {:+.1} MiB; \
             peak VmRSS after warm-up {:.1} MiB",
            mib(end.rss) - mib(warm.rss),
            mib(end.anon) - mib(warm.anon),
            mib(end.shmem) - mib(warm.shmem),
            mib(peak_rss_after_warm)
        );
        if let Some(t_last) = books.last.get() {
            let took = t_last.duration_since(start);
            let after_warm = t_last.duration_since(*t_warm);
            eprintln!(
                "throughput: {total} messages in {took:.2?} = {:.0} messages/s, {:.1} MiB/s \
                 of payload ({:.0} messages/s after warm-up)",
                total as f64 / took.as_secs_f64(),
                mib(bytes) / took.as_secs_f64(),
                (total - total / 10) as f64 / after_warm.as_secs_f64()
            );
        }
    }

    for (k, d) in gone.iter().enumerate() {
        let d = d.expect("every renderer is gone");
        assert!(
            d.reason == GoneReason::CleanExit,
            "renderer {k} (pid {}): {} with exit code {} (1: a check failed, see its stderr \
             above; 124: its self-watchdog fired)",
            books.pids.get().unwrap()[k],
            d.reason,
            d.exit_code
        );
    }
    let stray = books.stray.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        stray.is_empty(),
        "messages main could not attribute: {stray:?}"
    );
    for (k, a) in accounts.iter().enumerate() {
        assert!(
            a.error_count == 0,
            "renderer {k}: {} bad messages, the first: {:#?}",
            a.error_count,
            a.errors
        );
        assert_eq!(a.next, messages, "messages main accepted from renderer {k}");
        assert_eq!(
            a.kinds.iter().sum::<u64>(),
            messages,
            "renderer {k}'s kinds"
        );
    }
    assert_eq!(accepted, total, "messages accepted in all");
    for (i, name) in ["send", "send_sync", "invoke"].iter().enumerate() {
        assert!(kinds[i] > 0, "no {name} in the mix");
    }
    let (warm, _) = books
        .warm
        .get()
        .expect("a warm-up sample (10% of the messages)");
    let end = end.expect("a sample once every renderer finished");
    let growth = end.anon.saturating_sub(warm.anon);
    assert!(
        growth < ANON_GROWTH_LIMIT,
        "main's private memory grew by {:.1} MiB from warm-up to the end \
         (bound {:.0} MiB): {warm} -> {end}",
        mib(growth),
        mib(ANON_GROWTH_LIMIT)
    );
}
