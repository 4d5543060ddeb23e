//! Typed channels between real processes: every path (renderer → main invoke blocking, read in
//! place and async; async and deferred handlers; `send_sync`; `send` + `event.reply`; main →
//! renderer invoke) round-trips structs, enums, `Option`, `Vec`, `String`, nested maps and
//! Electron's payload sizes as typed bytes; two builds of a contract disagree with a clear error
//! and keep working; `Value` and typed calls on each other's channels fail with a type error.

use electrode::typed::Archived;
use electrode::{CallError, Main, Value};
use electrode_tests::api_kit::{spawn, ReadyGate};
use electrode_tests::contract::{self, echoed, sample_jobs, Job};
use electrode_tests::watchdog;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_typed_renderer");
const LIMIT: Duration = Duration::from_secs(240);

fn owned(job: &Archived<Job>) -> Job {
    rkyv::deserialize::<Job, rkyv::rancor::Error>(job).unwrap()
}

/// Main's side of the contract: echo handlers on every path. Returns how often `NOTE`'s
/// listener ran.
fn serve(main: &Main) -> Arc<AtomicUsize> {
    let ipc = main.ipc();
    contract::ECHO_JOB
        .handle(ipc, |_e, job| Ok(echoed(&owned(job))))
        .unwrap();
    contract::ECHO_BYTES
        .handle(ipc, |_e, b| Ok(b.as_slice().to_vec()))
        .unwrap();
    contract::ECHO_ASYNC
        .handle_async(ipc, |_e, job| async move { Ok(echoed(&job)) })
        .unwrap();
    contract::ECHO_DEFERRED
        .handle_deferred(ipc, |_e, job, reply| {
            let answer = echoed(&owned(job));
            std::thread::spawn(move || reply.resolve(&answer));
        })
        .unwrap();
    contract::SYNC_JOB.on(ipc, |_e, job| Some(echoed(&owned(job))));
    let notes = Arc::new(AtomicUsize::new(0));
    let n = notes.clone();
    contract::NOTE.on(ipc, move |e, job| {
        n.fetch_add(1, Ordering::SeqCst);
        contract::JOB_BACK.reply(e, &echoed(&owned(job))).unwrap();
    });
    ipc.handle(contract::VALUE_CHANNEL, |_e, a| {
        Ok(Value::Array(a.to_values()))
    })
    .unwrap();
    ipc.on("value-sync", |e, a| {
        e.set_return_value(Value::Array(a.to_values()));
    });
    ipc.on("done", |e, _| {
        e.set_return_value(true);
    });
    notes
}

fn every_path(main: Main) {
    let gate = ReadyGate::install(main.ipc());
    let notes = serve(&main);
    let renderer = spawn(&main, RENDERER, "paths", &[]);
    let (ready, _) = gate.wait();
    // Main invokes the renderer's typed handler, blocking and through the future.
    for job in sample_jobs() {
        let want = Job {
            id: job.id.wrapping_mul(2),
            ..job.clone()
        };
        let got = contract::ASK
            .invoke_blocking(&renderer.wc, &job, Some(Duration::from_secs(60)))
            .unwrap();
        assert_eq!(got, want);
        let got = futures::executor::block_on(contract::ASK.invoke(&renderer.wc, &job)).unwrap();
        assert_eq!(got, want);
    }
    assert!(ready.set_return_value(true));
    renderer.expect_success_within(LIMIT);
    let sent = sample_jobs().len() + contract::TYPED_SIZES.len();
    assert_eq!(
        notes.load(Ordering::SeqCst),
        sent,
        "one NOTE per job, none lost or doubled"
    );
}

#[test]
fn typed_values_round_trip_through_every_path() {
    let _dog = watchdog(LIMIT, "typed_values_round_trip_through_every_path");
    every_path(Main::new().unwrap());
}

/// The same through 4 KiB rings and 1 KiB response slots: nearly every archive is chunked and
/// most replies overflow their slot (read from the mailbox instead).
#[test]
fn typed_values_round_trip_through_small_rings() {
    let _dog = watchdog(LIMIT, "typed_values_round_trip_through_small_rings");
    let main = Main::builder()
        .ring_capacity(4096)
        .slot_size(1024)
        .build()
        .unwrap();
    every_path(main);
}

fn type_error(r: Result<Job, CallError>) -> electrode::RemoteError {
    match r {
        Err(CallError::Invoke { error, .. }) => {
            assert_eq!(error.name, "TypeError", "{error:?}");
            error
        }
        other => panic!("expected a TypeError, got {other:?}"),
    }
}

#[test]
fn two_builds_of_a_contract_disagree_clearly_and_keep_working() {
    let _dog = watchdog(
        LIMIT,
        "two_builds_of_a_contract_disagree_clearly_and_keep_working",
    );
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let notes = serve(&main);
    let renderer = spawn(&main, RENDERER, "mismatch-v2", &[]);
    let (ready, _) = gate.wait();
    let job = sample_jobs().remove(1);
    let error = type_error(contract::ASK.invoke_blocking(&renderer.wc, &job, None));
    for needle in [
        "typed-ask".to_string(),
        "fingerprint mismatch".to_string(),
        format!("{:016x}", contract::ASK.fingerprint()),
        format!("{:016x}", contract::v2::ASK.fingerprint()),
    ] {
        assert!(
            error.message.contains(&needle),
            "{:?} lacks {needle:?}",
            error.message
        );
    }
    assert!(ready.set_return_value(true));
    renderer.expect_success_within(LIMIT);
    assert_eq!(
        notes.load(Ordering::SeqCst),
        0,
        "NOTE never ran on a v2 message"
    );
    assert!(!renderer.wc.is_destroyed() || renderer.wc.gone_details().is_some());
}

#[test]
fn value_and_typed_calls_on_each_others_channels_are_type_errors() {
    let _dog = watchdog(
        LIMIT,
        "value_and_typed_calls_on_each_others_channels_are_type_errors",
    );
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    serve(&main);
    let renderer = spawn(&main, RENDERER, "mixing", &[]);
    let (ready, _) = gate.wait();
    // Main's Value invoke of the renderer's typed handler, and its typed invoke of a Value one.
    match renderer
        .wc
        .invoke_blocking("typed-ask", &[Value::from(1)], None)
    {
        Err(CallError::Invoke { error, .. }) => {
            assert_eq!(error.name, "TypeError");
            assert!(
                error.message.contains("carries Value arguments"),
                "{error:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    static TYPED_ON_VALUE: electrode::typed::RendererInvokeChannel<Job, Job> =
        electrode::typed::RendererInvokeChannel::new(contract::RENDERER_VALUE_CHANNEL);
    let error = type_error(TYPED_ON_VALUE.invoke_blocking(&renderer.wc, &sample_jobs()[0], None));
    assert!(error.message.contains("takes Value arguments"), "{error:?}");
    // Both still work on their own channels.
    let job = sample_jobs().remove(2);
    assert_eq!(
        contract::ASK
            .invoke_blocking(&renderer.wc, &job, None)
            .unwrap(),
        job
    );
    assert_eq!(
        renderer
            .wc
            .invoke_blocking(contract::RENDERER_VALUE_CHANNEL, &[Value::from(5)], None)
            .unwrap(),
        Value::Array(vec![Value::from(5)])
    );
    assert!(ready.set_return_value(true));
    renderer.expect_success_within(LIMIT);
}
