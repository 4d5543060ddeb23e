//! Hostile renderers on typed channels: archives that fail validation, and valid archives of
//! another build of the contract, cannot hurt main, another renderer, or the typed code.
//!
//! Main (this process) registers the contract's typed handler (`ECHO_JOB`, which echoes the
//! job with `id + 1`) and listener (`NOTE`), both of which record what they were given. A
//! well-behaved typed renderer (`hostile_renderer typed-good`) invokes `ECHO_JOB` in a loop
//! (checking every answer) and sends valid notes, during and after the attack. The hostile
//! renderer (`hostile_renderer typed` / `typed-flood`) writes its frames itself through the
//! real ring: a relative pointer out of range, an invalid enum tag, a string that is not
//! UTF-8, a length past the end, a truncated archive, a misaligned and an undersized one (the
//! *malformed* lies), and a perfectly valid archive under the other build's fingerprint
//! (`contract::v2`). Each as an `invoke` waiting in a response slot and as a one-way `send`
//! (and one malformed async `invoke`, answered through main's ring).
//!
//! What the tests show:
//! - each malformed archive is refused with a logged reason naming the channel (a protocol
//!   violation, counted); the wrong fingerprint is logged as a type mismatch naming the
//!   channel and both fingerprints;
//! - the hostile requester is answered at once, in its slot (or its ring, for the async
//!   invoke), with a `TypeError` saying why (the role checks the text; for the fingerprint,
//!   both fingerprints);
//! - the typed handler and listener never ran on any of it (they saw only the liar's valid
//!   messages), and main kept serving the liar and the good renderer, whose every answer was
//!   right;
//! - the decision past the limit: a malformed archive counts like any other violation, so
//!   after `max_violations` the liar is disconnected with `integrity-failure` (once); a
//!   fingerprint mismatch is a versioning error, not a violation (a renderer from another
//!   build is not hostile), so any number of them leaves the renderer connected and served.

use electrode::{GoneReason, Main};
use electrode_tests::contract::{self, echoed, sample_jobs, Job, ECHO_JOB, NOTE};
use electrode_tests::hostile_kit::{self as kit, Spawned, HANG_GUARD};
use electrode_tests::watchdog;
use rkyv::rancor;
use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_hostile_renderer");
const DOG: Duration = Duration::from_secs(120);

/// The malformed lies (every one a violation, for the invoke and for the send).
const MALFORMED: [&str; 7] = [
    "rel-ptr",
    "enum-tag",
    "utf8",
    "len-past-end",
    "truncated",
    "misaligned",
    "undersized",
];

/// The `typed` role's violations: 7 malformed lies, each as a slot invoke and a send, and one
/// malformed async invoke.
const TYPED_VIOLATIONS: u32 = 2 * MALFORMED.len() as u32 + 1;

/// Violations tolerated: the `typed` role's and one more.
const MAX_VIOLATIONS: u32 = TYPED_VIOLATIONS + 1;

/// The `id` of the one valid note the `typed` role sends after its lies.
const SENTINEL_ID: u64 = 4242;

/// Wrong-fingerprint invokes the flood role makes before its malformed ones: more than
/// [`MAX_VIOLATIONS`], so they would have disconnected it if they counted.
const MISMATCHES: u32 = 40;

fn role(args: &[&str]) -> Command {
    let mut c = Command::new(EXE);
    c.args(args);
    c
}

/// What main's typed handler and listener were given, by renderer pid.
#[derive(Default)]
struct Seen {
    invoked: Mutex<HashMap<u32, Vec<Job>>>,
    noted: Mutex<HashMap<u32, Vec<Job>>>,
    changed: Condvar,
}

impl Seen {
    fn record(&self, table: &Mutex<HashMap<u32, Vec<Job>>>, pid: u32, job: Job) {
        table
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(pid)
            .or_default()
            .push(job);
        self.changed.notify_all();
    }

    fn invoked(&self, pid: u32) -> Vec<Job> {
        let t = self.invoked.lock().unwrap_or_else(|e| e.into_inner());
        t.get(&pid).cloned().unwrap_or_default()
    }

    fn noted(&self, pid: u32) -> Vec<Job> {
        let t = self.noted.lock().unwrap_or_else(|e| e.into_inner());
        t.get(&pid).cloned().unwrap_or_default()
    }

    /// Wait (up to [`HANG_GUARD`]) until the handler has run `n` times for `pid`.
    fn wait_invoked(&self, pid: u32, n: usize) {
        let t = self.invoked.lock().unwrap_or_else(|e| e.into_inner());
        let (t, timeout) = self
            .changed
            .wait_timeout_while(t, HANG_GUARD, |t| t.get(&pid).map_or(0, Vec::len) < n)
            .unwrap_or_else(|e| e.into_inner());
        assert!(
            !timeout.timed_out(),
            "renderer {pid}: {} typed invokes in {HANG_GUARD:?}, expected {n}",
            t.get(&pid).map_or(0, Vec::len)
        );
    }
}

/// Main with the contract's typed handler and listener, recording what they are given.
fn typed_main() -> (Main, Arc<Seen>) {
    let main = Main::builder()
        .max_violations(MAX_VIOLATIONS)
        .build()
        .expect("start main");
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    ECHO_JOB
        .handle(main.ipc(), move |e, request| {
            let job = rkyv::deserialize::<Job, rancor::Error>(request)
                .expect("a validated archive deserializes");
            let reply = echoed(&job);
            s.record(&s.invoked, e.sender().pid(), job);
            Ok(reply)
        })
        .expect("register ECHO_JOB");
    let s = seen.clone();
    NOTE.on(main.ipc(), move |e, note| {
        let job = rkyv::deserialize::<Job, rancor::Error>(note)
            .expect("a validated archive deserializes");
        s.record(&s.noted, e.sender().pid(), job);
    });
    (main, seen)
}

/// The well-behaved typed renderer, started and served 50 times.
fn start_good(main: &Main, seen: &Seen) -> Spawned {
    let good = Spawned::spawn(main, role(&["typed-good"]));
    seen.wait_invoked(good.pid(), 50);
    good
}

/// The good renderer is still served: 20 more calls.
fn good_served_more(seen: &Seen, good: &Spawned) {
    let now = seen.invoked(good.pid()).len();
    seen.wait_invoked(good.pid(), now + 20);
}

/// Stop the good renderer: it exits 0 (every answer was right), and main's handler and
/// listener saw only the valid jobs it sent.
fn stop_good(seen: &Seen, good: Spawned) {
    good.wc.send(kit::STOP, &[]).expect("send stop");
    good.expect_clean_exit();
    assert!(
        good.output()
            .lines()
            .any(|l| l.starts_with("ok typed-good calls=")),
        "typed-good's report:\n{}",
        good.output()
    );
    let jobs = sample_jobs();
    let (invoked, noted) = (seen.invoked(good.pid()), seen.noted(good.pid()));
    assert!(
        !noted.is_empty(),
        "the good renderer's notes reached the listener"
    );
    for job in invoked.iter().chain(&noted) {
        assert!(jobs.contains(job), "the good renderer never sent {job:?}");
    }
}

/// The base job the hostile roles forge from (and send once, valid).
fn base_job() -> Job {
    sample_jobs().swap_remove(1)
}

/// The log line of a fingerprint mismatch on `channel` between main's `ours` and `theirs`.
fn mismatch_logged(log: &str, channel: &str, ours: u64, theirs: u64) -> usize {
    let want = format!(
        "type mismatch: channel '{channel}': schema fingerprint mismatch: this side has \
         {ours:016x} (rkyv archive), the message {theirs:016x} (rkyv archive)"
    );
    kit::count_lines(log, &want)
}

#[test]
fn typed_lies_are_refused_answered_and_never_reach_the_typed_code() {
    let name = "typed_lies_are_refused_answered_and_never_reach_the_typed_code";
    if let Some(log) = kit::rerun_for_stderr(name) {
        // Every malformed archive: refused with the channel named, counted as a violation.
        for (channel, n) in [
            (ECHO_JOB.name(), MALFORMED.len() + 1),
            (NOTE.name(), MALFORMED.len()),
        ] {
            let reason = format!("rejected message: channel '{channel}': invalid archive");
            assert_eq!(
                kit::count_lines(&log, &reason),
                n,
                "one `{reason}` per malformed lie"
            );
        }
        let n = TYPED_VIOLATIONS as usize;
        assert!(log.contains(&format!("(violation {n} of {MAX_VIOLATIONS})")));
        assert_eq!(kit::count_lines(&log, "(violation "), n, "only they count");
        // The wrong fingerprint: logged with the channel and both fingerprints.
        let (ours, theirs) = (ECHO_JOB.fingerprint(), contract::v2::ECHO_JOB.fingerprint());
        assert_eq!(mismatch_logged(&log, ECHO_JOB.name(), ours, theirs), 1);
        let (ours, theirs) = (NOTE.fingerprint(), contract::v2::NOTE.fingerprint());
        assert_eq!(mismatch_logged(&log, NOTE.name(), ours, theirs), 1);
        return;
    }
    let _dog = watchdog(DOG, name);
    let (main, seen) = typed_main();
    let good = start_good(&main, &seen);

    let h = Spawned::spawn(&main, role(&["typed"]));
    let d = h.expect_gone(GoneReason::CleanExit);
    assert_eq!(d.exit_code, kit::EXIT_OK, "{}", h.output());
    h.expect_no_failures();
    // Each lie as an invoke was answered in its slot with a TypeError saying why (the role
    // checked the text: "invalid archive" and the channel, or both fingerprints).
    for variant in MALFORMED.iter().chain(&["wrong-fingerprint"]) {
        h.expect_ok(&format!("typed-invoke-{variant}-answered"));
        h.expect_ok(&format!("typed-send-{variant}-sent"));
    }
    h.expect_ok("typed-async-invoke-answered");
    h.expect_ok("typed-valid-invoke-after-lies");
    // The typed code ran only on the liar's two valid messages.
    assert_eq!(seen.invoked(h.pid()), vec![base_job()]);
    let sentinel = Job {
        id: SENTINEL_ID,
        ..base_job()
    };
    assert_eq!(seen.noted(h.pid()), vec![sentinel]);

    good_served_more(&seen, &good);
    stop_good(&seen, good);
    drop(main);
}

#[test]
fn past_the_violation_limit_a_typed_liar_is_disconnected() {
    let name = "past_the_violation_limit_a_typed_liar_is_disconnected";
    if let Some(log) = kit::rerun_for_stderr(name) {
        let (ours, theirs) = (ECHO_JOB.fingerprint(), contract::v2::ECHO_JOB.fingerprint());
        assert_eq!(
            mismatch_logged(&log, ECHO_JOB.name(), ours, theirs),
            MISMATCHES as usize
        );
        let last = format!("(violation {MAX_VIOLATIONS} of {MAX_VIOLATIONS})");
        assert_eq!(kit::count_lines(&log, &last), 1);
        assert_eq!(
            kit::count_lines(&log, "(violation "),
            MAX_VIOLATIONS as usize,
            "mismatches are not violations; nothing counted after the limit"
        );
        for channel in [ECHO_JOB.name(), NOTE.name()] {
            kit::expect_logged(&log, &format!("channel '{channel}': invalid archive"));
        }
        return;
    }
    let _dog = watchdog(DOG, name);
    let (main, seen) = typed_main();
    let good = start_good(&main, &seen);

    let h = Spawned::spawn(&main, role(&["typed-flood", &MISMATCHES.to_string()]));
    h.expect_gone(GoneReason::IntegrityFailure);
    assert_eq!(h.gone_calls(), 1, "render-process-gone emitted once");
    // More mismatches than the limit, and still served.
    h.expect_ok(&format!("served-after-{MISMATCHES}-mismatches"));
    h.expect_no_failures();
    assert_eq!(seen.invoked(h.pid()), vec![base_job()]);
    assert!(seen.noted(h.pid()).is_empty());

    good_served_more(&seen, &good);
    stop_good(&seen, good);
    drop(main);
}

/// Mismatches are never violations, so a renderer is never disconnected for them: their log
/// lines are what is limited (the first 64 in full, then only the n-th for n a power of two).
const FLOOD: u32 = 300;

#[test]
fn a_flood_of_type_mismatches_cannot_flood_mains_log() {
    let name = "a_flood_of_type_mismatches_cannot_flood_mains_log";
    if let Some(log) = kit::rerun_for_stderr(name) {
        let (ours, theirs) = (ECHO_JOB.fingerprint(), contract::v2::ECHO_JOB.fingerprint());
        assert_eq!(mismatch_logged(&log, ECHO_JOB.name(), ours, theirs), 64);
        for n in [128, 256] {
            let line = format!("type mismatches: {n} from this renderer so far");
            assert_eq!(kit::count_lines(&log, &line), 1, "{line}");
        }
        assert_eq!(
            kit::count_lines(&log, "type mismatches: "),
            2,
            "only powers of two"
        );
        return;
    }
    let _dog = watchdog(DOG, name);
    let (main, seen) = typed_main();
    let h = Spawned::spawn(&main, role(&["typed-flood", &FLOOD.to_string()]));
    h.expect_gone(GoneReason::IntegrityFailure);
    // Every mismatch was still answered, and the renderer served after all of them.
    h.expect_ok(&format!("served-after-{FLOOD}-mismatches"));
    h.expect_no_failures();
    assert_eq!(seen.invoked(h.pid()), vec![base_job()]);
    drop(main);
}
