//! Every typed-channel path the report measures works across real processes and checks its
//! answers: typed invokes of 16 and 64 bytes (blocking and on tokio), the `Value` invoke on
//! tokio, the typed bytes echo read in place (small, and large enough to go through the rings
//! in chunks), the typed main → renderer invoke, and the typed one-way stream (its sequence
//! checked across runs, sharing main's count with the `Value` stream). A wrong typed answer
//! aborts the measurement with the renderer's error. No timing is asserted.
//!
//! The renderers are the `electrode-bench` binary in its renderer role. A watchdog aborts the
//! test process if anything hangs; every child dies with it (PR_SET_PDEATHSIG).

use electrode::typed::{type_hash, InvokeChannel, TypeHash};
use electrode_bench::api::{Host, RoundTrip};
use electrode_bench::BenchError;
use rkyv::{Archive, Deserialize, Serialize};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_electrode-bench");

/// Abort the whole test binary if `f` does not finish within `limit`.
fn with_watchdog<T>(name: &str, limit: Duration, f: impl FnOnce() -> T) -> T {
    let (done, wait) = mpsc::channel::<()>();
    let name = name.to_string();
    let dog = std::thread::spawn(move || {
        if wait.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
            eprintln!("watchdog: {name} hung for {limit:?}; aborting");
            std::process::abort();
        }
    });
    let out = f();
    drop(done);
    dog.join().unwrap();
    out
}

#[test]
fn every_typed_path_answers_and_is_checked() {
    with_watchdog("typed paths", Duration::from_secs(120), || {
        let mut host = Host::new(None, Path::new(EXE)).unwrap();
        let rs = host.spawn(2, None).unwrap();
        for path in [
            RoundTrip::TypedInvoke16,
            RoundTrip::TypedInvoke64,
            RoundTrip::TypedInvoke16Tokio,
            RoundTrip::InvokeTokio,
        ] {
            let s = host
                .latency(&rs[0], path, 64, 50, 5, None)
                .unwrap_or_else(|e| panic!("{path:?}: {e}"));
            assert_eq!(s.len(), 50, "{path:?}");
            assert!(s.summary().min > 0, "{path:?}");
        }
        // Inline, then through the rings in chunks both ways.
        for bytes in [8, 5000, 3 << 20] {
            let s = host
                .latency(&rs[1], RoundTrip::TypedEchoBytes, bytes, 3, 1, None)
                .unwrap_or_else(|e| panic!("typed echo of {bytes} B: {e}"));
            assert_eq!(s.len(), 3, "{bytes}");
        }
        let s = host.main_typed_invoke_latency(&rs[1], 50, 5, None).unwrap();
        assert_eq!(s.len(), 50);
        // The typed stream continues where it stopped (main checks its sequence across runs)
        // and shares main's message count with the Value stream.
        let t = host.typed_send_throughput(&rs[..1], 10_000).unwrap();
        assert_eq!((t.messages, t.payload), (10_000, 16));
        let t = host.send_throughput(&rs[..1], 1_000).unwrap();
        assert_eq!((t.messages, t.payload), (1_000, 64));
        let t = host.typed_send_throughput(&rs, 2_000).unwrap();
        assert_eq!(t.messages, 4_000);
    });
}

/// The benchmark's 16-byte request, declared again: same name, same fields, so the same
/// schema fingerprint as the benchmark's own `bench:typed-add16` channel.
#[derive(Archive, Serialize, Deserialize, TypeHash)]
struct Req16 {
    a: u64,
    b: u64,
}

static ADD16: InvokeChannel<Req16, u64> = InvokeChannel::new("bench:typed-add16");
static ECHO_BYTES: InvokeChannel<Vec<u8>, Vec<u8>> = InvokeChannel::new("bench:typed-echo-bytes");

#[test]
fn a_wrong_typed_answer_aborts_the_measurement() {
    with_watchdog("wrong typed answers", Duration::from_secs(120), || {
        let mut host = Host::new(None, Path::new(EXE)).unwrap();
        let rs = host.spawn(1, None).unwrap();
        let ipc = host.main().ipc().clone();

        // An adder that is off by one.
        ipc.remove_handler(ADD16.name());
        ADD16
            .handle(&ipc, |_e, r| {
                Ok(r.a.to_native().wrapping_add(r.b.to_native()) + 1)
            })
            .unwrap();
        let e = host
            .latency(&rs[0], RoundTrip::TypedInvoke16, 16, 10, 0, None)
            .unwrap_err();
        assert!(matches!(e, BenchError::Renderer { .. }), "{e}");
        assert!(e.to_string().contains("typed add of message"), "{e}");

        // A bytes echo that loses the last byte.
        let mut host = Host::new(None, Path::new(EXE)).unwrap();
        let rs = host.spawn(1, None).unwrap();
        let ipc = host.main().ipc().clone();
        ipc.remove_handler(ECHO_BYTES.name());
        ECHO_BYTES
            .handle(&ipc, |_e, v| {
                let v = v.as_slice();
                Ok(v[..v.len() - 1].to_vec())
            })
            .unwrap();
        let e = host
            .latency(&rs[0], RoundTrip::TypedEchoBytes, 5000, 10, 0, None)
            .unwrap_err();
        assert!(matches!(e, BenchError::Renderer { .. }), "{e}");
        assert!(e.to_string().contains("4999 bytes, expected 5000"), "{e}");
    });
}
