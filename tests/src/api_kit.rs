//! Support for the `api_*` tests: Electrode's public API between real processes.
//!
//! The test process is main (it builds an [`electrode::Main`]); each renderer is the helper
//! binary `api_renderer <role> [args]` (see `src/bin/api_renderer.rs`), spawned with
//! [`Main::spawn_renderer`]. A role is a script: it connects, calls main, checks every answer
//! and exits 0 when all checks held, 1 (with the reason on stderr) when one failed. Main learns
//! the verdict from `render-process-gone` ([`Spawned::expect_success`]).
//!
//! Both sides share here: the payload schedule, the load test's answer function, a small
//! deterministic random generator, the "ready" handshake and the check helpers.

use crate::protocol::{EXIT_FAILED, EXIT_OK, EXIT_WATCHDOG};
use electrode::{GoneDetails, GoneReason, IpcMain, IpcMainEvent, Main, Value, WebContents};
use std::fmt::Debug;
use std::process::Command;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

/// How long a test waits for anything before declaring a hang. A hang guard set far above the
/// expected time, never a performance bound.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// The self-watchdog of every `api_renderer`: a helper outliving a crashed test by this much
/// exits on its own (code [`EXIT_WATCHDOG`]).
pub const CHILD_WATCHDOG: Duration = Duration::from_secs(600);

/// What a check returns: `Err` says what differed.
pub type Check = Result<(), String>;

/// `Err(what())` unless `cond`.
pub fn ensure(cond: bool, what: impl FnOnce() -> String) -> Check {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

/// `Err` naming `what` unless `got == want`.
pub fn expect_eq<T: PartialEq + Debug>(what: &str, got: T, want: T) -> Check {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// Electron's own payload sizes (spec/api-ipc-spec.ts): 0, 1, 64 KiB - 1, 64 KiB, 64 KiB + 1,
/// 256 KiB + 3 and 3 MiB + 1 bytes.
pub const PAYLOAD_SIZES: [usize; 7] = [
    0,
    1,
    65535,
    65536,
    65537,
    256 * 1024 + 3,
    3 * 1024 * 1024 + 1,
];

/// The shapes a payload takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadForm {
    /// A string of `size` ASCII bytes.
    String,
    /// A byte buffer of `size` bytes.
    Bytes,
    /// A map nesting the bytes two levels deep, among other values.
    NestedMap,
}

/// Every [`PayloadForm`].
pub const PAYLOAD_FORMS: [PayloadForm; 3] = [
    PayloadForm::String,
    PayloadForm::Bytes,
    PayloadForm::NestedMap,
];

/// `size` bytes whose contents are a function of `size` (see [`crate::pattern`]).
pub fn payload_bytes(size: usize) -> Vec<u8> {
    let mut v = vec![0u8; size];
    crate::pattern::fill(size as u64, &mut v);
    v
}

/// The payload of `size` bytes in `form`.
pub fn payload(size: usize, form: PayloadForm) -> Value {
    match form {
        PayloadForm::String => Value::String(
            payload_bytes(size)
                .into_iter()
                .map(|b| char::from(b' ' + b % 95))
                .collect(),
        ),
        PayloadForm::Bytes => Value::Bytes(payload_bytes(size)),
        PayloadForm::NestedMap => Value::map([
            ("size", Value::from(size as i64)),
            (
                "outer",
                Value::map([
                    ("data", Value::Bytes(payload_bytes(size))),
                    (
                        "list",
                        Value::Array(vec![
                            Value::Null,
                            Value::Bool(true),
                            Value::Float(-0.5),
                            Value::from("é✓"),
                        ]),
                    ),
                ]),
            ),
        ]),
    }
}

/// The load test's answer to invoke `(renderer, i)`: a function of both, so a reply delivered
/// to the wrong renderer or the wrong call is detected.
pub fn load_answer(renderer: i64, i: i64) -> i64 {
    crate::pattern::mix(((renderer as u64) << 32) ^ i as u64) as i64
}

pub use crate::pattern::Rng;

/// The channel of the "ready" handshake: a renderer calls `send_sync(READY, [..])` once it is
/// set up, and stays blocked until main has finished its own setup and answers.
pub const READY: &str = "ready";

/// Main's side of the "ready" handshake: every `send_sync(READY)` is handed to the test thread,
/// which answers it (with [`IpcMainEvent::set_return_value`]) once its setup is done.
pub struct ReadyGate {
    rx: Receiver<(IpcMainEvent, Vec<Value>)>,
}

impl ReadyGate {
    /// Listen for [`READY`] on `ipc` (usually the global scope, before spawning).
    pub fn install(ipc: &IpcMain) -> ReadyGate {
        let (tx, rx) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        ipc.on(READY, move |e, a| {
            let _ = tx
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .send((e.clone(), a.to_values()));
        });
        ReadyGate { rx }
    }

    /// The next renderer's ready event and its arguments (panics after [`HANG_GUARD`]).
    pub fn wait(&self) -> (IpcMainEvent, Vec<Value>) {
        match self.rx.recv_timeout(HANG_GUARD) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no renderer said it was ready within {HANG_GUARD:?}")
            }
            Err(RecvTimeoutError::Disconnected) => panic!("the ready listener was dropped"),
        }
    }
}

/// A renderer spawned by a test, with its `render-process-gone` report.
pub struct Spawned {
    /// Main's handle on it.
    pub wc: WebContents,
    /// The role it runs.
    pub role: String,
    gone: Receiver<GoneDetails>,
}

impl std::fmt::Debug for Spawned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawned")
            .field("wc", &self.wc)
            .field("role", &self.role)
            .finish()
    }
}

/// Spawn `exe <role> <args..>` as a renderer of `main` (stdio inherited).
pub fn spawn(main: &Main, exe: &str, role: &str, args: &[&str]) -> Spawned {
    let mut cmd = Command::new(exe);
    cmd.arg(role).args(args);
    let wc = main
        .spawn_renderer(cmd)
        .unwrap_or_else(|e| panic!("spawn renderer {role}: {e}"));
    let (tx, gone) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    wc.on_render_process_gone(move |d| {
        let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send(*d);
    });
    Spawned {
        wc,
        role: role.to_owned(),
        gone,
    }
}

impl Spawned {
    /// Wait (up to `limit`, a hang guard) for the renderer to go away; its gone details.
    pub fn wait_gone_for(&self, limit: Duration) -> GoneDetails {
        match self.gone.recv_timeout(limit) {
            Ok(d) => d,
            Err(e) => panic!(
                "renderer `{}` (pid {}) not gone after {limit:?} ({e:?})",
                self.role,
                self.wc.pid()
            ),
        }
    }

    /// [`wait_gone_for`](Self::wait_gone_for) with [`HANG_GUARD`].
    pub fn wait_gone(&self) -> GoneDetails {
        self.wait_gone_for(HANG_GUARD)
    }

    /// Wait for the renderer to exit and assert that its script passed (exit 0).
    pub fn expect_success(&self) {
        self.expect_success_within(HANG_GUARD)
    }

    /// [`expect_success`](Self::expect_success) with a custom hang guard.
    pub fn expect_success_within(&self, limit: Duration) {
        let d = self.wait_gone_for(limit);
        let verdict = match (d.reason, d.exit_code) {
            (GoneReason::CleanExit, _) => return,
            (GoneReason::AbnormalExit, EXIT_FAILED) => "a check failed",
            (GoneReason::AbnormalExit, EXIT_WATCHDOG) => "its self-watchdog fired",
            _ => "it died",
        };
        panic!(
            "renderer `{}` (pid {}): {verdict}: render-process-gone {} (exit code {}); \
             its stderr above says why",
            self.role,
            self.wc.pid(),
            d.reason,
            d.exit_code
        );
    }

    /// Whether a gone report beyond those already taken arrives within `limit`.
    pub fn another_gone_within(&self, limit: Duration) -> Option<GoneDetails> {
        self.gone.recv_timeout(limit).ok()
    }
}

/// Child side: run a role's script under a self-watchdog and exit with its verdict
/// ([`EXIT_OK`] or [`EXIT_FAILED`], the reason on stderr). A panic counts as a failure.
pub fn run_role(role: &str, script: impl FnOnce() -> Check) -> ! {
    let label = format!("api_renderer[{}] {role}", std::process::id());
    let dog_label = label.clone();
    let _ = std::thread::Builder::new()
        .name("self-watchdog".into())
        .spawn(move || {
            std::thread::sleep(CHILD_WATCHDOG);
            eprintln!("{dog_label}: self-watchdog fired after {CHILD_WATCHDOG:?}");
            std::process::exit(EXIT_WATCHDOG);
        });
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(script));
    match outcome {
        Ok(Ok(())) => std::process::exit(EXIT_OK),
        Ok(Err(why)) => {
            eprintln!("{label}: FAILED: {why}");
            std::process::exit(EXIT_FAILED)
        }
        Err(_) => {
            eprintln!("{label}: FAILED: panicked (see above)");
            std::process::exit(EXIT_FAILED)
        }
    }
}

/// The structured error the error tests send across (name, message and data must survive).
pub fn typed_error() -> electrode::RemoteError {
    electrode::RemoteError::named("TypeError", "bad").with_data(Value::map([
        ("code", Value::from(42)),
        ("path", Value::Array(vec![Value::from("a"), Value::from(1)])),
    ]))
}
