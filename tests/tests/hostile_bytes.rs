//! Hostile renderers writing malformed bytes cannot hurt main or another renderer.
//!
//! Every test runs main (this process) with a well-behaved renderer (role `good`) that calls
//! `echo` / `echo-sync` in a loop and checks every answer, next to a hostile renderer
//! (`hostile_renderer <role>`) that lies in one way. For each class of lie:
//!
//! - main does not crash or hang (the test goes on; a watchdog turns a hang into a failure);
//! - main rejects the lie with a logged reason: tests that check the log re-run themselves in
//!   a child process whose stderr they read (`hostile_kit::rerun_for_stderr`);
//! - message-level lies are tolerated up to `max_violations` (3 here), ring-level ones not at
//!   all; then main kills the renderer and emits `render-process-gone` once, with reason
//!   `integrity-failure`;
//! - lies main cannot tell from a slow honest renderer (stale slot names, a rewritten segment
//!   header) change nothing: main keeps serving the liar correctly, and writes nothing where it
//!   was not asked to;
//! - the good renderer keeps being served while the liar runs, every answer right (it stops
//!   with exit code 0 only then).
//!
//! `double_fetch_only_delivers_validated_bytes`: a renderer rewrites frames while main reads
//! them; main copies each frame before validating it, so listeners only ever see bytes that
//! passed validation.

use electrode::{CallError, GoneReason, Main, Value};
use electrode_tests::hostile_kit::{self as kit, EchoStats, Good, Spawned, HANG_GUARD};
use electrode_tests::watchdog;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_hostile_renderer");
const DOG: Duration = Duration::from_secs(120);

fn role(args: &[&str]) -> Command {
    let mut c = Command::new(EXE);
    c.args(args);
    c
}

/// Main with the echo service and a good renderer already being served.
struct Scene {
    main: Main,
    good: Good,
}

fn scene(max_violations: u32) -> Scene {
    let main = Main::builder()
        .max_violations(max_violations)
        .build()
        .expect("start main");
    let stats: Arc<EchoStats> = kit::install_echo(&main);
    let good = Good::start(&main, &stats, role(&["good"]));
    Scene { main, good }
}

impl Scene {
    /// Run a hostile renderer to its disconnection for integrity failure, then check that the
    /// good renderer is still served.
    fn expect_disconnected(&self, args: &[&str]) -> Spawned {
        let h = Spawned::spawn(&self.main, role(args));
        h.expect_gone(GoneReason::IntegrityFailure);
        assert_eq!(
            h.gone_calls(),
            1,
            "{args:?}: render-process-gone emitted twice"
        );
        self.good.wait_more(20);
        h
    }

    /// Stop the good renderer: every one of its calls was answered right.
    fn finish(self) {
        let (calls, max_us) = self.good.stop();
        eprintln!("good renderer: {calls} calls, slowest {max_us} µs");
        drop(self.main);
    }
}

#[test]
fn garbage_payloads() {
    if let Some(log) = kit::rerun_for_stderr("garbage_payloads") {
        kit::expect_logged(&log, "arguments: argument bytes are not a valid archive");
        assert!(log.contains("(violation 3 of 3)"));
        return;
    }
    let _dog = watchdog(DOG, "garbage_payloads");
    let s = scene(3);
    let h = s.expect_disconnected(&["garbage", "1"]);
    // Requests whose arguments failed validation were still answered (with the reason).
    h.expect_ok("bad-invoke-answered-with-error");
    h.expect_ok("bad-async-invoke-answered-with-error");
    h.expect_no_failures();
    s.finish();
}

#[test]
fn rejected_requests_are_answered_at_once() {
    if let Some(log) = kit::rerun_for_stderr("rejected_requests_are_answered_at_once") {
        kit::expect_logged(&log, "channel name of 5000 bytes");
        kit::expect_logged(&log, "channel name of 4097 bytes");
        kit::expect_logged(&log, "channel name runs past the message");
        kit::expect_logged(&log, "channel name is not UTF-8");
        kit::expect_logged(&log, "arguments: argument bytes are not a valid archive");
        return;
    }
    let _dog = watchdog(DOG, "rejected_requests_are_answered_at_once");
    // Five violations tolerated: the renderer sees every answer before it could be dropped.
    let s = scene(6);
    let h = Spawned::spawn(&s.main, role(&["rejected-requests"]));
    let d = h.expect_gone(GoneReason::CleanExit);
    assert_eq!(d.exit_code, kit::EXIT_OK);
    for what in [
        "invoke-chan-too-long",
        "sync-chan-too-long",
        "sync-chan-past-end",
        "invoke-chan-utf8",
        "sync-bad-args",
    ] {
        h.expect_ok(&format!("{what}-answered"));
    }
    h.expect_no_failures();
    s.good.wait_more(20);
    s.finish();
}

/// Ring-level lies and the reason main logs for each (then disconnects at once).
const RING_LIES: [(&str, &str); 14] = [
    (
        "len-past-tail",
        "frame length past the published bytes or the ring end",
    ),
    (
        "len-huge",
        "frame length past the published bytes or the ring end",
    ),
    (
        "len-past-end",
        "frame length past the published bytes or the ring end",
    ),
    ("half-ring", "frame larger than half the ring"),
    ("pad-mid", "padding that does not end at the ring end"),
    ("bad-kind", "unknown frame kind"),
    ("short", "published bytes shorter than a frame header"),
    ("tail-past-end", "producer tail outside"),
    ("tail-huge", "producer tail outside"),
    ("tail-back", "producer tail outside"),
    ("chunk-orphan", "chunk out of sequence"),
    ("chunk-interleave", "chunk out of sequence"),
    ("chunk-retag", "chunk out of sequence"),
    ("too-big", "message larger than the limit"),
];

#[test]
fn ring_lies_disconnect_at_once() {
    if let Some(log) = kit::rerun_for_stderr("ring_lies_disconnect_at_once") {
        for (variant, reason) in RING_LIES {
            let reason = format!("ring integrity violation: {reason}");
            assert!(
                log.lines()
                    .any(|l| l.contains(&reason) && l.contains("(violation 1 of 1)")),
                "{variant}: main did not log `{reason}` as its one violation"
            );
        }
        assert_eq!(
            kit::count_lines(&log, "(violation 1 of 1)"),
            RING_LIES.len(),
            "one violation logged per lie"
        );
        return;
    }
    let _dog = watchdog(DOG * 2, "ring_lies_disconnect_at_once");
    let s = scene(3);
    for (variant, _) in RING_LIES {
        s.expect_disconnected(&["ring", variant]);
    }
    s.finish();
}

/// Well-framed messages whose envelope or arguments lie, and what main logs for each.
const ENVELOPE_LIES: [(&str, &str); 13] = [
    ("short", "shorter than an envelope"),
    ("chan-past-end", "channel name runs past the message"),
    ("chan-too-long", "channel name of 5000 bytes"),
    ("chan-utf8", "channel name is not UTF-8"),
    (
        "args-empty",
        "arguments: argument bytes are not a valid archive",
    ),
    (
        "args-garbage",
        "arguments: argument bytes are not a valid archive",
    ),
    (
        "args-root",
        "arguments: argument bytes are not a valid archive",
    ),
    (
        "args-child-range",
        "children at nodes 1..6 lie outside the table of 1 nodes",
    ),
    ("args-child-before", "not after the container"),
    ("args-shared", "claims node 2, which is already"),
    ("args-orphan", "node 1 belongs to no argument"),
    ("args-roots", "declares 5 arguments but holds only 1 nodes"),
    ("args-key", "not a string"),
];

#[test]
fn envelope_lies_disconnect_after_max_violations() {
    if let Some(log) = kit::rerun_for_stderr("envelope_lies_disconnect_after_max_violations") {
        for (_, reason) in ENVELOPE_LIES {
            kit::expect_logged(&log, reason);
        }
        kit::expect_logged(&log, "nested more than 128 levels deep");
        // Each liar got exactly three strikes.
        assert_eq!(
            kit::count_lines(&log, "(violation 3 of 3)"),
            ENVELOPE_LIES.len() + 1
        );
        assert_eq!(kit::count_lines(&log, "(violation 4 of 3)"), 0);
        return;
    }
    let _dog = watchdog(DOG * 2, "envelope_lies_disconnect_after_max_violations");
    let s = scene(3);
    for (variant, _) in ENVELOPE_LIES {
        s.expect_disconnected(&["envelope", variant]);
    }
    s.expect_disconnected(&["envelope", "args-deep"]);
    s.finish();
}

#[test]
fn unknown_and_main_only_kinds() {
    if let Some(log) = kit::rerun_for_stderr("unknown_and_main_only_kinds") {
        for t in [0, 6, 65535] {
            kit::expect_logged(&log, &format!("unknown message kind {t} "));
        }
        for k in ["Message", "LargeReply", "Reply", "InvokeRenderer"] {
            kit::expect_logged(&log, &format!("{k} is not a renderer-to-main message"));
        }
        return;
    }
    let _dog = watchdog(DOG, "unknown_and_main_only_kinds");
    let s = scene(3);
    s.expect_disconnected(&["kinds", "0", "6", "65535"]);
    s.expect_disconnected(&["kinds", "16", "17", "18"]);
    s.expect_disconnected(&["kinds", "19"]);
    s.finish();
}

#[test]
fn frame_announcements_are_bounded() {
    if let Some(log) = kit::rerun_for_stderr("frame_announcements_are_bounded") {
        kit::expect_logged(&log, "more than 4096 frames");
        return;
    }
    let _dog = watchdog(DOG, "frame_announcements_are_bounded");
    let s = scene(3);
    s.expect_disconnected(&["frames"]);
    s.finish();
}

#[test]
fn forged_slot_names_are_never_written() {
    let _dog = watchdog(DOG, "forged_slot_names_are_never_written");
    let s = scene(3);
    let h = Spawned::spawn(&s.main, role(&["slots"]));
    // Not a violation main could tell from a slow renderer: it drops the stale replies.
    h.expect_clean_exit();
    h.expect_ok("forged-slots-never-written");
    assert!(h.output().contains("ok flipper-bounded"), "{}", h.output());
    s.finish();
}

#[test]
fn rewritten_segment_header_is_ignored() {
    let _dog = watchdog(DOG, "rewritten_segment_header_is_ignored");
    let s = scene(3);
    let h = Spawned::spawn(&s.main, role(&["seg-header"]));
    h.expect_clean_exit();
    h.expect_ok("segment-header-rewritten");
    h.expect_ok("served-after-header-rewrite");
    s.finish();
}

#[test]
fn forged_handler_replies_fail_mains_invoke() {
    if let Some(log) = kit::rerun_for_stderr("forged_handler_replies_fail_mains_invoke") {
        kit::expect_logged(
            &log,
            "handler reply: the reply is not valid: argument bytes are not a valid archive",
        );
        kit::expect_logged(&log, "reply has the wrong shape");
        return;
    }
    let _dog = watchdog(DOG, "forged_handler_replies_fail_mains_invoke");
    let s = scene(3);
    // An honest reply through the same path works.
    let fine = Spawned::spawn(&s.main, role(&["handler-reply", "fine"]));
    let got = fine.wc.invoke_blocking("anything", &[], Some(HANG_GUARD));
    assert_eq!(got, Ok(Value::from("fine")));
    // Forged replies: main's invoke fails with a protocol error at once (it does not hang),
    // and the third one disconnects the liar.
    let bad = Spawned::spawn(&s.main, role(&["handler-reply", "bad-args"]));
    for i in 0..2 {
        let r = bad.wc.invoke_blocking("anything", &[], Some(HANG_GUARD));
        assert!(
            matches!(r, Err(CallError::BrokenReply(_))),
            "forged reply {i}: {r:?}"
        );
    }
    let r = bad.wc.invoke_blocking("anything", &[], Some(HANG_GUARD));
    assert!(
        matches!(r, Err(CallError::BrokenReply(_) | CallError::Disconnected)),
        "third forged reply: {r:?}"
    );
    bad.expect_gone(GoneReason::IntegrityFailure);
    for variant in ["wrong-shape", "bad-error"] {
        let liar = Spawned::spawn(&s.main, role(&["handler-reply", variant]));
        let r = liar.wc.invoke_blocking("anything", &[], Some(HANG_GUARD));
        assert!(
            matches!(r, Err(CallError::BrokenReply(_))),
            "{variant}: {r:?}"
        );
    }
    // The honest one is still served.
    let got = fine.wc.invoke_blocking("again", &[], Some(HANG_GUARD));
    assert_eq!(got, Ok(Value::from("fine")));
    s.finish();
}

#[test]
fn lying_about_mains_ring_hurts_only_the_liar() {
    let _dog = watchdog(DOG, "lying_about_mains_ring_hurts_only_the_liar");
    let s = scene(3);
    let h = Spawned::spawn(&s.main, role(&["m2r-head"]));
    let d = h.wait_gone();
    eprintln!("m2r-head liar: {d:?}; its output:\n{}", h.output());
    // Main either disconnects the liar or keeps answering it through its slots; the liar's
    // replies through its own ring are lost either way, nobody else's.
    match d.reason {
        GoneReason::CleanExit => h.expect_ok("slot-echo-after-m2r-lie"),
        GoneReason::IntegrityFailure => {}
        other => panic!("m2r-head liar: {other:?}\n{}", h.output()),
    }
    s.good.wait_more(20);
    s.finish();
}

/// What main's listener saw of the double-fetch stream.
#[derive(Debug, Default)]
struct Seen {
    delivered: u64,
    /// Delivered messages whose string the flipper had changed (to another valid string).
    mixed: u64,
    last: Option<i64>,
    problems: Vec<String>,
    done: Option<i64>,
}

#[test]
fn double_fetch_only_delivers_validated_bytes() {
    const N: i64 = 100_000;
    if let Some(log) = kit::rerun_for_stderr("double_fetch_only_delivers_validated_bytes") {
        let rejected = kit::count_lines(&log, "rejected message: ");
        eprintln!("double fetch: main rejected {rejected} rewritten messages");
        return;
    }
    let _dog = watchdog(DOG, "double_fetch_only_delivers_validated_bytes");
    // Main keeps reading whatever the flipper leaves, valid or not.
    let main = Main::builder()
        .max_violations(1_000_000)
        .ring_capacity(64 * 1024)
        .build()
        .unwrap();
    let stats = kit::install_echo(&main);
    let good = Good::start(&main, &stats, role(&["good"]));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s = seen.clone();
    main.ipc().on("dbl", move |_, args| {
        let mut seen = s.lock().unwrap();
        let text = args.get(0).and_then(|v| v.as_str());
        let seq = args.get(1).and_then(|v| v.as_i64());
        let (Some(text), Some(seq)) = (text, seq) else {
            seen.problems.push(format!("shape: {args:?}"));
            return;
        };
        // What validation guarantees: UTF-8 (the flipper also writes 0xff), the sender's
        // length, and bytes that no longer change (they are main's private copy).
        let first = text.as_bytes().to_vec();
        if text.len() != 64 || !first.iter().all(|&b| b == b'A' || b == b'B') {
            seen.problems
                .push(format!("unvalidated string {first:02x?}"));
        }
        if std::str::from_utf8(&first).is_err() {
            seen.problems.push("invalid UTF-8 delivered".into());
        }
        for _ in 0..200 {
            std::hint::spin_loop();
        }
        if text.as_bytes() != first.as_slice() {
            seen.problems
                .push("delivered bytes changed under the listener".into());
        }
        if !(0..N).contains(&seq) || seen.last.is_some_and(|l| l >= seq) {
            let why = format!("sequence {seq} after {:?}", seen.last);
            seen.problems.push(why);
        }
        seen.last = Some(seq);
        seen.delivered += 1;
        seen.mixed += u64::from(first.contains(&b'B'));
    });
    let s = seen.clone();
    main.ipc().on("dbl-done", move |_, args| {
        s.lock().unwrap().done = args.get(0).and_then(|v| v.as_i64());
    });
    let h = Spawned::spawn(&main, role(&["double-fetch", &N.to_string()]));
    h.expect_clean_exit();
    let seen = seen.lock().unwrap();
    eprintln!(
        "double fetch: {} of {N} delivered, {} of them rewritten to another valid string; {}",
        seen.delivered,
        seen.mixed,
        h.output().trim()
    );
    assert!(
        seen.problems.is_empty(),
        "{:?}",
        &seen.problems[..seen.problems.len().min(10)]
    );
    assert_eq!(
        seen.done,
        Some(N),
        "main still served the renderer afterwards"
    );
    assert!(seen.delivered > 0 && seen.delivered <= N as u64);
    drop(seen);
    good.wait_more(20);
    let (calls, _) = good.stop();
    eprintln!("good renderer: {calls} calls");
}
