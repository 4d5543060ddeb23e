//! `typed_renderer <role>`: the renderer processes of the `typed_*` tests, built against the
//! shared contract (`electrode_tests::contract`) like a user's worker against its protocol
//! crate.
//!
//! Roles:
//! - `paths`: registers the `ASK` handler and a `JOB_BACK` listener, says ready (main then
//!   invokes `ASK`), then round-trips every sample job and every Electron payload size through
//!   every typed path: blocking invoke (owned and read in place), the invoke future, async and
//!   deferred handlers, `send_sync` (owned and in place), and `send` + `event.reply`.
//! - `mismatch-v2`: built against contract `v2`: its calls on v1 channels fail with a
//!   `TypeError` naming the channel and both fingerprints; v1 calls keep working; main's v1
//!   invoke of its v2 `ASK` handler is refused the same way.
//! - `mixing`: `Value` calls on typed channels and typed calls on `Value` channels fail with
//!   a `TypeError`; each kind still works on its own channels.

use electrode::typed::{Archived, InvokeChannel, SendSyncChannel};
use electrode::{args, CallError, IpcRenderer, RemoteError, Value};
use electrode_tests::api_kit::{ensure, expect_eq, run_role, Check, HANG_GUARD, READY};
use electrode_tests::contract::{self, bytes, echoed, sample_jobs, Job, TYPED_SIZES};
use electrode_tests::protocol::EXIT_USAGE;
use std::sync::mpsc;
use std::sync::Mutex;

fn connect() -> Result<IpcRenderer, String> {
    IpcRenderer::connect().map_err(|e| format!("connect: {e}"))
}

fn owned(job: &Archived<Job>) -> Job {
    rkyv::deserialize::<Job, rkyv::rancor::Error>(job).expect("a validated job deserializes")
}

fn ready(r: &IpcRenderer) -> Check {
    r.send_sync(READY, &[])
        .map(drop)
        .map_err(|e| format!("ready: {e}"))
}

/// The remote error of a failed call.
fn remote(what: &str, r: Result<impl std::fmt::Debug, CallError>) -> Result<RemoteError, String> {
    match r {
        Err(CallError::Invoke { error, .. } | CallError::SendSync { error, .. }) => Ok(error),
        other => Err(format!("{what}: expected a remote error, got {other:?}")),
    }
}

fn expect_type_error(what: &str, error: &RemoteError, needles: &[&str]) -> Check {
    expect_eq(
        &format!("{what}: error name"),
        error.name.as_str(),
        "TypeError",
    )?;
    for n in needles {
        ensure(error.message.contains(n), || {
            format!("{what}: {:?} does not say {n:?}", error.message)
        })?;
    }
    Ok(())
}

fn paths() -> Check {
    let r = connect()?;
    contract::ASK
        .handle(&r, |job| {
            let mut job = owned(job);
            job.id = job.id.wrapping_mul(2);
            Ok(job)
        })
        .map_err(|e| format!("handle ASK: {e}"))?;
    let (tx, back) = mpsc::channel();
    let tx = Mutex::new(tx);
    contract::JOB_BACK.on(&r, move |_event, job| {
        let _ = tx.lock().unwrap().send(owned(job));
    });
    ready(&r)?;
    let note = |job: &Job| -> Check {
        contract::NOTE
            .send(&r, job)
            .map_err(|e| format!("NOTE.send: {e}"))?;
        let got = back
            .recv_timeout(HANG_GUARD)
            .map_err(|e| format!("no JOB_BACK: {e}"))?;
        expect_eq("send + event.reply", &got, &echoed(job))
    };
    let mut jobs = sample_jobs();
    for size in TYPED_SIZES {
        jobs.push(Job {
            id: size as u64,
            data: bytes(size),
            ..sample_jobs().remove(1)
        });
    }
    for job in &jobs {
        let want = echoed(job);
        let id = job.id;
        let e = |what: &'static str| move |err: CallError| format!("{what} (job {id}): {err}");
        expect_eq(
            "invoke_blocking",
            contract::ECHO_JOB
                .invoke_blocking(&r, job)
                .map_err(e("invoke_blocking"))?,
            want.clone(),
        )?;
        let (id, name_ok, data_ok) = contract::ECHO_JOB
            .invoke_with(&r, job, |a| {
                (
                    a.id.to_native(),
                    a.name.as_str() == job.name,
                    a.data.as_slice() == job.data.as_slice(),
                )
            })
            .map_err(e("invoke_with"))?;
        expect_eq("invoke_with: id read in place", id, want.id)?;
        ensure(name_ok && data_ok, || {
            "invoke_with: fields read in place".into()
        })?;
        expect_eq(
            "invoke future",
            futures::executor::block_on(contract::ECHO_JOB.invoke(&r, job)).map_err(e("invoke"))?,
            want.clone(),
        )?;
        expect_eq(
            "handle_async",
            contract::ECHO_ASYNC
                .invoke_blocking(&r, job)
                .map_err(e("async"))?,
            want.clone(),
        )?;
        expect_eq(
            "handle_deferred",
            contract::ECHO_DEFERRED
                .invoke_blocking(&r, job)
                .map_err(e("deferred"))?,
            want.clone(),
        )?;
        expect_eq(
            "send_sync",
            contract::SYNC_JOB
                .send_sync(&r, job)
                .map_err(e("send_sync"))?,
            want.clone(),
        )?;
        let tags = contract::SYNC_JOB
            .send_sync_with(&r, job, |a| a.tags.len())
            .map_err(e("send_sync_with"))?;
        expect_eq("send_sync_with", tags, job.tags.len())?;
        note(job)?;
    }
    for size in TYPED_SIZES {
        let b = bytes(size);
        expect_eq(
            &format!("bytes {size}: invoke_blocking"),
            contract::ECHO_BYTES
                .invoke_blocking(&r, &b)
                .map_err(|e| e.to_string())?,
            b.clone(),
        )?;
        let same = contract::ECHO_BYTES
            .invoke_with(&r, &b, |a| a.as_slice() == b.as_slice())
            .map_err(|e| e.to_string())?;
        ensure(same, || {
            format!("bytes {size}: invoke_with read a different reply")
        })?;
        expect_eq(
            &format!("bytes {size}: invoke future"),
            futures::executor::block_on(contract::ECHO_BYTES.invoke(&r, &b))
                .map_err(|e| e.to_string())?,
            b,
        )?;
    }
    Ok(())
}

fn mismatch_v2() -> Check {
    let r = connect()?;
    contract::v2::ASK
        .handle(&r, |job| {
            Ok(contract::v2::Job {
                id: job.id.to_native(),
                name: job.name.to_string(),
            })
        })
        .map_err(|e| format!("handle v2 ASK: {e}"))?;
    ready(&r)?;
    let v2_job = contract::v2::Job {
        id: 1,
        name: "v2".into(),
    };
    let ours = format!("{:016x}", contract::v2::ECHO_JOB.fingerprint());
    let theirs = format!("{:016x}", contract::ECHO_JOB.fingerprint());
    let needles = ["typed-echo-job", "fingerprint mismatch", &ours, &theirs];
    let error = remote(
        "v2 invoke_blocking",
        contract::v2::ECHO_JOB.invoke_blocking(&r, &v2_job),
    )?;
    expect_type_error("v2 invoke_blocking", &error, &needles)?;
    let error = remote(
        "v2 invoke future",
        futures::executor::block_on(contract::v2::ECHO_JOB.invoke(&r, &v2_job)),
    )?;
    expect_type_error("v2 invoke future", &error, &needles)?;
    // A one-way message of the wrong version is refused by main (logged); nothing to answer.
    contract::v2::NOTE
        .send(&r, &v2_job)
        .map_err(|e| format!("v2 NOTE.send: {e}"))?;
    // Both sides keep working: the v1 channel, with the v1 types.
    for job in sample_jobs() {
        expect_eq(
            "v1 invoke after the mismatch",
            contract::ECHO_JOB
                .invoke_blocking(&r, &job)
                .map_err(|e| e.to_string())?,
            echoed(&job),
        )?;
    }
    // Tell main we are done (it checks its NOTE listener never ran on the v2 message).
    r.send_sync("done", &[]).map_err(|e| format!("done: {e}"))?;
    Ok(())
}

/// A typed channel on the name of main's `Value` handler.
static TYPED_ON_VALUE: InvokeChannel<Job, Job> = InvokeChannel::new(contract::VALUE_CHANNEL);
/// A typed sendSync on the name of main's `Value` listener.
static TYPED_SYNC_ON_VALUE: SendSyncChannel<Job, Job> = SendSyncChannel::new("value-sync");

fn mixing() -> Check {
    let r = connect()?;
    r.handle(contract::RENDERER_VALUE_CHANNEL, |a| {
        Ok(Value::Array(a.to_values()))
    })
    .map_err(|e| format!("handle: {e}"))?;
    contract::ASK
        .handle(&r, |job| Ok(owned(job)))
        .map_err(|e| format!("handle ASK: {e}"))?;
    ready(&r)?;
    let job = sample_jobs().remove(1);
    let value_on_typed = ["typed-echo-job", "carries Value arguments"];
    let error = remote(
        "Value invoke on a typed channel",
        r.invoke_blocking("typed-echo-job", &args![1]),
    )?;
    expect_type_error("Value invoke on a typed channel", &error, &value_on_typed)?;
    let error = remote(
        "Value invoke future on a typed channel",
        futures::executor::block_on(r.invoke("typed-echo-job", &args![1])),
    )?;
    expect_type_error(
        "Value invoke future on a typed channel",
        &error,
        &value_on_typed,
    )?;
    let error = remote(
        "Value sendSync on a typed channel",
        r.send_sync("typed-sync-job", &args![1]),
    )?;
    expect_type_error(
        "Value sendSync on a typed channel",
        &error,
        &["typed-sync-job", "carries Value arguments"],
    )?;
    let typed_on_value = [contract::VALUE_CHANNEL, "takes Value arguments"];
    let error = remote(
        "typed invoke on a Value channel",
        TYPED_ON_VALUE.invoke_blocking(&r, &job),
    )?;
    expect_type_error("typed invoke on a Value channel", &error, &typed_on_value)?;
    let error = remote(
        "typed sendSync on a Value channel",
        TYPED_SYNC_ON_VALUE.send_sync(&r, &job),
    )?;
    expect_type_error(
        "typed sendSync on a Value channel",
        &error,
        &["value-sync", "takes Value arguments"],
    )?;
    // Each kind still works on its own channels.
    expect_eq(
        "Value invoke on a Value channel",
        r.invoke_blocking(contract::VALUE_CHANNEL, &args![1, "x"])
            .map_err(|e| e.to_string())?,
        Value::Array(args![1, "x"]),
    )?;
    expect_eq(
        "typed invoke on a typed channel",
        contract::ECHO_JOB
            .invoke_blocking(&r, &job)
            .map_err(|e| e.to_string())?,
        echoed(&job),
    )?;
    r.send_sync("done", &[]).map_err(|e| format!("done: {e}"))?;
    Ok(())
}

fn main() {
    electrode_tests::logs::to_stderr();
    let role = std::env::args().nth(1).unwrap_or_default();
    match role.as_str() {
        "paths" => run_role(&role, paths),
        "mismatch-v2" => run_role(&role, mismatch_v2),
        "mixing" => run_role(&role, mixing),
        other => {
            eprintln!("typed_renderer: unknown role {other:?}");
            std::process::exit(EXIT_USAGE);
        }
    }
}
