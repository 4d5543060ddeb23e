//! Typed-channel lies: rkyv archives on the contract's typed channels (`electrode_tests::
//! contract`) that fail validation (a relative pointer out of range, an enum tag no variant
//! has, a string that is not UTF-8, a length past the end, a truncated archive, a misaligned or
//! undersized one) and a valid archive under another build's fingerprint. Each goes through
//! the real ring as an `invoke` waiting in a response slot (main must answer it with an
//! error, at once) and as a one-way `send`. Role `typed-good` is the well-behaved typed
//! renderer that runs next to them.

use crate::hostile::{Hostile, REPLY_DEADLINE};
use crate::report::{fail, ok, say, until_disconnected};
use electrode::fuzzing::{encode_archive_message, EnvelopeFields, AUX_ARCHIVE};
use electrode::IpcRenderer;
use electrode_shm::{AlignedBuf, WaitMode};
use electrode_tests::contract::{self, echoed, sample_jobs, ArchivedJob, Job, ECHO_JOB, NOTE};
use electrode_tests::hostile_kit::{self as kit, kind};
use rkyv::rancor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The job every lie is made from (out-of-line name that is not ASCII, tags, 300 bytes of
/// data, a struct variant): small enough for a response slot.
fn base_job() -> Job {
    sample_jobs().swap_remove(1)
}

/// The `id` of the one valid note the attacker sends after its lies.
pub(crate) const SENTINEL_ID: u64 = 4242;

/// Every typed lie, by name (the test's table has the same names).
pub(crate) const TYPED_LIES: [&str; 8] = [
    "rel-ptr",
    "enum-tag",
    "utf8",
    "len-past-end",
    "truncated",
    "misaligned",
    "undersized",
    "wrong-fingerprint",
];

/// What main answers (and logs) for every lie but the fingerprint.
fn invalid_archive(channel: &str) -> String {
    format!("channel '{channel}': invalid archive")
}

/// `job`'s archive and the offset in it of the field `field` picks from the archived root.
fn archive_with_offset(job: &Job, field: impl Fn(&ArchivedJob) -> usize) -> (Vec<u8>, usize) {
    let bytes = rkyv::to_bytes::<rancor::Error>(job).expect("archive a job");
    let root = rkyv::access::<ArchivedJob, rancor::Error>(&bytes).expect("a valid archive");
    let at = field(root) - bytes.as_ptr() as usize;
    (bytes.to_vec(), at)
}

fn addr<T>(r: &T) -> usize {
    r as *const T as usize
}

fn patch(mut bytes: Vec<u8>, at: usize, with: &[u8]) -> Vec<u8> {
    bytes[at..at + with.len()].copy_from_slice(with);
    bytes
}

/// The archive of lie `variant` and the fingerprint it is sent under (`right` unless the
/// lie is the fingerprint, then `wrong`).
fn forged_archive(variant: &str, right: u64, wrong: u64) -> Option<(Vec<u8>, u64)> {
    let job = base_job();
    let valid = rkyv::to_bytes::<rancor::Error>(&job)
        .expect("archive a job")
        .to_vec();
    Some(match variant {
        "rel-ptr" => {
            // `tags` is an ArchivedVec: a relative pointer (i32), then the length.
            let (a, at) = archive_with_offset(&job, |j| addr(&j.tags));
            (patch(a, at, &0x3fff_fff0i32.to_le_bytes()), right)
        }
        "enum-tag" => {
            let (a, at) = archive_with_offset(&job, |j| addr(&j.shape));
            (patch(a, at, &[0xee]), right)
        }
        "utf8" => {
            let (a, at) = archive_with_offset(&job, |j| j.name.as_str().as_ptr() as usize);
            (patch(a, at, &[0xff]), right)
        }
        "len-past-end" => {
            let (a, at) = archive_with_offset(&job, |j| addr(&j.data));
            (patch(a, at + 4, &0x00ff_ffffu32.to_le_bytes()), right)
        }
        // Half of it, still a multiple of 16 bytes: the root is read from the wrong place.
        "truncated" => (valid[..valid.len() / 2 / 16 * 16].to_vec(), right),
        // Four bytes more: the root (at the end) is no longer 8-aligned.
        "misaligned" => {
            let mut a = valid;
            a.extend_from_slice(&[0; 4]);
            (a, right)
        }
        // Smaller than the root.
        "undersized" => (vec![0; 8], right),
        "wrong-fingerprint" => (valid, wrong),
        _ => return None,
    })
}

/// A typed request through a response slot: the forged message (`fingerprint`, `archive`) on
/// `channel`, sent through the ring; waits for the answer in the slot. `(aux, reply bytes)`.
fn typed_request(
    h: &mut Hostile,
    tag: u16,
    channel: &str,
    fingerprint: u64,
    archive: &[u8],
) -> Result<(u32, AlignedBuf), String> {
    let deadline = Some(Instant::now() + REPLY_DEADLINE);
    let t = h
        .slots
        .acquire(deadline)
        .map_err(|e| format!("acquire a slot: {e:?}"))?;
    let fields = EnvelopeFields {
        slot_index: t.index,
        slot_gen: t.generation,
        fingerprint,
        ..EnvelopeFields::default()
    };
    h.send(tag, &encode_archive_message(fields, channel, archive));
    let r = h
        .slots
        .wait_reply(t, WaitMode::default(), deadline)
        .map_err(|e| format!("no reply on {channel}: {e:?}"))?;
    let mut buf = AlignedBuf::new();
    buf.resize(r.len());
    r.copy_to(buf.as_mut_slice());
    Ok((r.aux(), buf))
}

/// A one-way typed send, forged.
fn typed_send(h: &mut Hostile, channel: &str, fingerprint: u64, archive: &[u8]) {
    let fields = EnvelopeFields {
        fingerprint,
        ..EnvelopeFields::default()
    };
    h.send(
        kind::SEND,
        &encode_archive_message(fields, channel, archive),
    );
}

/// Check that an answer is main's `TypeError` containing every one of `needles`.
fn expect_type_error(
    what: &str,
    answer: (u32, AlignedBuf),
    needles: &[&str],
) -> Result<(), String> {
    let (aux, buf) = answer;
    match kit::decode_reply(aux, buf.as_slice()) {
        // Main never tells a renderer where its memory is (the validator's reasons name
        // addresses: they go to main's log only).
        Ok(Err((_, msg))) if msg.contains("0x") => {
            Err(format!("{what}: the answer leaks an address: {msg}"))
        }
        Ok(Err((name, msg))) if name == "TypeError" && needles.iter().all(|n| msg.contains(n)) => {
            say(&format!("answer {what}: {msg}"));
            Ok(())
        }
        other => Err(format!(
            "{what}: answered {other:?}, expected a TypeError with {needles:?}"
        )),
    }
}

/// The text main's answer to lie `variant` on `channel` must contain.
fn expected_answer(variant: &str, channel: &str, right: u64, wrong: u64) -> Vec<String> {
    if variant == "wrong-fingerprint" {
        vec![
            format!("channel '{channel}': schema fingerprint mismatch"),
            format!("{right:016x}"),
            format!("{wrong:016x}"),
        ]
    } else {
        vec![invalid_archive(channel)]
    }
}

/// A valid typed invoke of `job` on [`ECHO_JOB`] through a slot; checks main's echo.
fn valid_invoke(h: &mut Hostile, job: &Job) -> Result<(), String> {
    let archive = rkyv::to_bytes::<rancor::Error>(job).map_err(|e| e.to_string())?;
    let (aux, buf) = typed_request(
        h,
        kind::INVOKE,
        ECHO_JOB.name(),
        ECHO_JOB.fingerprint(),
        &archive,
    )?;
    if aux & AUX_ARCHIVE == 0 {
        return Err(format!(
            "valid invoke answered {:?}",
            kit::decode_reply(aux, buf.as_slice())
        ));
    }
    let got = rkyv::from_bytes::<Job, rancor::Error>(buf.as_slice()).map_err(|e| e.to_string())?;
    if got != echoed(job) {
        return Err(format!("valid invoke answered {got:?}"));
    }
    Ok(())
}

/// Role `typed VARIANT..` (no variant: all of [`TYPED_LIES`]): each lie as an invoke on
/// [`ECHO_JOB`] waiting in a slot (the answer must be a `TypeError` saying why) and as a send
/// on [`NOTE`]; a malformed async invoke (answered through the ring); then one valid note ([`SENTINEL_ID`]) and a valid invoke, which main must
/// still serve. Exits 0 when every check held (main tolerated the violations).
pub(crate) fn typed(variants: &[String]) -> i32 {
    let all: Vec<String> = TYPED_LIES.iter().map(|v| v.to_string()).collect();
    let variants = if variants.is_empty() {
        &all[..]
    } else {
        variants
    };
    let mut h = Hostile::connect();
    for variant in variants {
        let (inv_fp, inv_wrong) = (ECHO_JOB.fingerprint(), contract::v2::ECHO_JOB.fingerprint());
        let Some((archive, fp)) = forged_archive(variant, inv_fp, inv_wrong) else {
            eprintln!("typed: unknown variant {variant}");
            return kit::EXIT_USAGE;
        };
        let needles = expected_answer(variant, ECHO_JOB.name(), inv_fp, inv_wrong);
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        let answered = typed_request(&mut h, kind::INVOKE, ECHO_JOB.name(), fp, &archive)
            .and_then(|a| expect_type_error(variant, a, &needles));
        match answered {
            Ok(()) => ok(&format!("typed-invoke-{variant}-answered")),
            Err(e) => return fail(&e),
        }
        let (note_fp, note_wrong) = (NOTE.fingerprint(), contract::v2::NOTE.fingerprint());
        let (archive, fp) = forged_archive(variant, note_fp, note_wrong).expect("a known variant");
        typed_send(&mut h, NOTE.name(), fp, &archive);
        ok(&format!("typed-send-{variant}-sent"));
    }
    // An async invoke (answered through main's ring) with a malformed archive: answered too.
    let (bad, fp) = forged_archive("rel-ptr", ECHO_JOB.fingerprint(), 0).expect("a variant");
    let fields = EnvelopeFields {
        flags: kit::FLAG_REPLY_VIA_RING,
        request_id: 77,
        fingerprint: fp,
        ..EnvelopeFields::default()
    };
    h.send(
        kind::INVOKE,
        &encode_archive_message(fields, ECHO_JOB.name(), &bad),
    );
    let answered = match h.recv_from_main(kind::REPLY) {
        Ok((env, args)) if env.request_id == 77 && env.flags & kit::FLAG_ERROR != 0 => {
            let needles = [invalid_archive(ECHO_JOB.name())];
            let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
            expect_type_error("async rel-ptr", (kit::AUX_ERROR, args), &needles)
        }
        other => Err(format!("async invoke: {:?}", other.map(|r| r.0))),
    };
    match answered {
        Ok(()) => ok("typed-async-invoke-answered"),
        Err(e) => return fail(&e),
    }
    // Main still serves us: a valid note (the listener's only call from us), then an invoke
    // (answered after the note was handled: one ring, in order).
    let sentinel = Job {
        id: SENTINEL_ID,
        ..base_job()
    };
    let archive = rkyv::to_bytes::<rancor::Error>(&sentinel).expect("archive a job");
    typed_send(&mut h, NOTE.name(), NOTE.fingerprint(), &archive);
    match valid_invoke(&mut h, &base_job()) {
        Ok(()) => ok("typed-valid-invoke-after-lies"),
        Err(e) => return fail(&e),
    }
    kit::EXIT_OK
}

/// Role `typed-flood N`: `N` invokes under the other build's fingerprint (each answered with
/// the mismatch; not violations, so main keeps serving), then malformed archives (`rel-ptr`)
/// as invokes and sends, alternately, until main disconnects us.
pub(crate) fn typed_flood(mismatches: u64) -> i32 {
    let mut h = Hostile::connect();
    let (right, wrong) = (ECHO_JOB.fingerprint(), contract::v2::ECHO_JOB.fingerprint());
    let (archive, fp) = forged_archive("wrong-fingerprint", right, wrong).expect("a variant");
    let needles = expected_answer("wrong-fingerprint", ECHO_JOB.name(), right, wrong);
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    for i in 0..mismatches {
        let answered = typed_request(&mut h, kind::INVOKE, ECHO_JOB.name(), fp, &archive)
            .and_then(|a| expect_type_error(&format!("mismatch {i}"), a, &needles));
        if let Err(e) = answered {
            return fail(&e);
        }
    }
    match valid_invoke(&mut h, &base_job()) {
        Ok(()) => ok(&format!("served-after-{mismatches}-mismatches")),
        Err(e) => return fail(&e),
    }
    let (bad, fp) = forged_archive("rel-ptr", right, wrong).expect("a variant");
    let (bad_note, note_fp) = forged_archive("rel-ptr", NOTE.fingerprint(), 0).expect("a variant");
    until_disconnected("malformed typed archives", |i| {
        if i % 2 == 0 {
            let fields = EnvelopeFields {
                fingerprint: fp,
                slot_index: u32::MAX,
                ..EnvelopeFields::default()
            };
            // An invoke naming no slot of ours: rejected all the same (nobody waits).
            h.send(
                kind::INVOKE,
                &encode_archive_message(fields, ECHO_JOB.name(), &bad),
            );
        } else {
            typed_send(&mut h, NOTE.name(), note_fp, &bad_note);
        }
    })
}

/// Role `typed-good`: [`ECHO_JOB`] invoked in a loop (blocking and async, every sample job),
/// every answer checked, a valid [`NOTE`] every 16th call, until main says `stop`; then
/// `ok typed-good calls=N`.
pub(crate) fn typed_good() -> i32 {
    let ipc = match IpcRenderer::connect() {
        Ok(r) => r,
        Err(e) => return fail(&format!("connect: {e}")),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ipc.on(kit::STOP, move |_, _| s.store(true, Ordering::SeqCst));
    let jobs = sample_jobs();
    let mut i = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let job = &jobs[i as usize % jobs.len()];
        let got = if i % 4 == 1 {
            futures::executor::block_on(ECHO_JOB.invoke(&ipc, job))
        } else {
            ECHO_JOB.invoke_blocking(&ipc, job)
        };
        match got {
            Ok(reply) if reply == echoed(job) => {}
            other => return fail(&format!("typed call {i}: answer {other:?}")),
        }
        if i.is_multiple_of(16) {
            if let Err(e) = NOTE.send(&ipc, job) {
                return fail(&format!("typed note {i}: {e}"));
            }
        }
        i += 1;
    }
    ok(&format!("typed-good calls={i}"));
    kit::EXIT_OK
}
