//! Every path the report measures works across real processes and checks its answers: the API
//! round trips (invoke blocking and async, sendSync, event.reply, WebContents::invoke), the
//! one-way streams both ways (one and several renderers), large payloads, the criterion
//! batches, and the ipc-channel, iceoryx2 and shmipc peers. A renderer or a shmipc peer killed
//! mid-measurement is an error, not a hang; the shmipc peer's socket file does not outlive its
//! handshake. No timing is asserted.
//!
//! The renderers and peers are the `electrode-bench` binary in its hidden roles. A watchdog
//! aborts the test process if anything hangs; every child dies with it (PR_SET_PDEATHSIG).

use electrode_bench::api::{Batch, Host, RoundTrip};
use electrode_bench::peers::{Library, PeerSession};
use electrode_bench::pingpong::Placement;
use electrode_bench::BenchError;
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
fn every_api_path_answers_and_is_checked() {
    with_watchdog("api paths", Duration::from_secs(120), || {
        let mut host = Host::new(None, Path::new(EXE)).unwrap();
        let rs = host.spawn(3, None).unwrap();
        for path in [
            RoundTrip::Invoke,
            RoundTrip::InvokeAsync,
            RoundTrip::SendSync,
            RoundTrip::Reply,
        ] {
            for payload in [8, 64, 5000] {
                let s = host
                    .latency(&rs[0], path, payload, 50, 5, None)
                    .unwrap_or_else(|e| panic!("{path:?} {payload}: {e}"));
                assert_eq!(s.len(), 50, "{path:?}");
                assert!(s.summary().min > 0);
            }
        }
        let s = host.main_invoke_latency(&rs[1], 64, 50, 5, None).unwrap();
        assert_eq!(s.len(), 50);
        // Large echoes go through the rings in chunks both ways.
        let s = host
            .latency(&rs[2], RoundTrip::Invoke, 3 << 20, 2, 0, None)
            .unwrap();
        assert_eq!(s.len(), 2);
        // One renderer, then all three at once: main counts and checks every message.
        let t = host.send_throughput(&rs[..1], 10_000).unwrap();
        assert_eq!(t.messages, 10_000);
        let t = host.send_throughput(&rs, 5_000).unwrap();
        assert_eq!(t.messages, 15_000);
        // The stream continues where it stopped: the sequence is checked across runs.
        let t = host
            .web_contents_send_throughput(&rs[0], 20_000, 64)
            .unwrap();
        assert_eq!(t.messages, 20_000);
        let t = host.web_contents_send_throughput(&rs[0], 100, 64).unwrap();
        assert_eq!(t.messages, 100);
        for b in [Batch::Invoke, Batch::SendSync, Batch::Send] {
            let d = host.batch(&rs[1], b, 200).unwrap();
            assert!(d > Duration::ZERO, "{b:?}");
        }
        // A cap ends a measurement early but keeps what was measured.
        let s = host
            .latency(
                &rs[0],
                RoundTrip::Invoke,
                64,
                u32::MAX as u64,
                0,
                Some(Duration::from_millis(20)),
            )
            .unwrap();
        assert!(!s.is_empty() && s.len() < u32::MAX as usize);
    });
}

#[test]
fn every_port_path_answers_and_is_checked() {
    with_watchdog("port paths", Duration::from_secs(120), || {
        let mut host = Host::new(None, Path::new(EXE)).unwrap();
        let a = host.spawn(1, None).unwrap().remove(0);
        let b = host.spawn(1, None).unwrap().remove(0);
        // Port round trips (renderer ↔ renderer), twice: each makes a fresh channel.
        for _ in 0..2 {
            let s = host.port_latency(&a, &b, false, 64, 300, 20, None).unwrap();
            assert_eq!(s.summary().count, 300);
        }
        // Typed (`Block64` read in place), both directions.
        let s = host.port_latency(&a, &b, true, 64, 300, 20, None).unwrap();
        assert_eq!(s.summary().count, 300);
        let s = host.port_latency(&b, &a, true, 64, 300, 20, None).unwrap();
        assert_eq!(s.summary().count, 300);
        // The same exchange relayed through main, both directions.
        let s = host.relay_latency(&a, &b, 64, 200, 10, None).unwrap();
        assert_eq!(s.summary().count, 200);
        let s = host.relay_latency(&b, &a, 64, 200, 10, None).unwrap();
        assert_eq!(s.summary().count, 200);
        // One-way: a fresh port, then the same port again (sequence numbers continue).
        let t = host.port_throughput(&a, &b, 5_000, 64, true).unwrap();
        assert_eq!((t.messages, t.payload), (5_000, 64));
        let t = host.port_throughput(&a, &b, 20_000, 64, false).unwrap();
        assert_eq!(t.messages, 20_000);
        // Idle ports: all held and started.
        let mine = host.idle_ports(&b, 16).unwrap();
        assert_eq!(mine.len(), 16);
    });
}

#[test]
fn a_killed_renderer_is_an_error_not_a_hang() {
    with_watchdog("killed renderer", Duration::from_secs(120), || {
        let mut host = Host::new(None, Path::new(EXE)).unwrap();
        let rs = host.spawn(1, None).unwrap();
        host.latency(&rs[0], RoundTrip::Invoke, 64, 10, 0, None)
            .unwrap();
        let pid = nix::unistd::Pid::from_raw(rs[0].pid() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
        let e = host
            .latency(&rs[0], RoundTrip::Invoke, 64, 1_000_000, 0, None)
            .unwrap_err();
        assert!(
            matches!(e, BenchError::RendererGone { .. } | BenchError::Ipc { .. }),
            "{e}"
        );
    });
}

#[test]
fn peer_libraries_echo_on_every_placement() {
    with_watchdog("peers", Duration::from_secs(120), || {
        let _shmipc = SHMIPC_SESSIONS.lock().unwrap_or_else(|e| e.into_inner());
        let cpus = electrode_bench::pingpong::allowed_cpus().unwrap();
        let mut placements = vec![Placement::Unpinned];
        if cpus.contains(&0) {
            placements.push(Placement::SameCore);
        }
        if cpus.contains(&0) && cpus.contains(&1) {
            placements.push(Placement::CrossCore);
        }
        for placement in placements {
            for lib in [Library::IpcChannel, Library::Iceoryx2, Library::Shmipc] {
                let mut s = PeerSession::start(Path::new(EXE), lib, placement)
                    .unwrap_or_else(|e| panic!("{lib} {placement}: {e}"));
                s.warm_up(20).unwrap();
                let m = s.measure(200, None).unwrap();
                assert_eq!(m.len(), 200, "{lib} {placement}");
            }
        }
        assert_eq!(shmipc_socket_files(), Vec::<String>::new());
    });
}

/// Held by each test that starts shmipc sessions, so that one test's check for left-over
/// socket files never sees another test's session in its handshake.
static SHMIPC_SESSIONS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// This user's and this process's shmipc socket files in the temporary directory.
fn shmipc_socket_files() -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").unwrap().uid();
    let prefix = format!("electrode-shmipc-{uid}-{}-", std::process::id());
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

#[test]
fn a_killed_shmipc_peer_is_an_error_not_a_hang() {
    with_watchdog("killed shmipc peer", Duration::from_secs(120), || {
        let _shmipc = SHMIPC_SESSIONS.lock().unwrap_or_else(|e| e.into_inner());
        let mut s =
            PeerSession::start(Path::new(EXE), Library::Shmipc, Placement::Unpinned).unwrap();
        s.measure(10, None).unwrap();
        // Connected: the handshake socket is gone already.
        assert_eq!(shmipc_socket_files(), Vec::<String>::new());
        let pid = nix::unistd::Pid::from_raw(s.peer_pid() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
        let e = s.measure(1_000_000, None).unwrap_err();
        assert!(matches!(e, BenchError::PeerGone), "{e}");
        drop(s);
        assert_eq!(shmipc_socket_files(), Vec::<String>::new());
    });
}

#[test]
fn a_wrong_answer_aborts_the_measurement() {
    with_watchdog("wrong answers", Duration::from_secs(120), || {
        // Main's echo handler damages one byte.
        let mut host = Host::new(None, Path::new(EXE)).unwrap();
        let rs = host.spawn(1, None).unwrap();
        let ipc = host.main().ipc().clone();
        ipc.remove_handler("bench:echo");
        ipc.handle("bench:echo", |_e, args| {
            let mut v = args.get(0).unwrap().as_bytes().unwrap().to_vec();
            let last = v.len() - 1;
            v[last] ^= 1;
            Ok(electrode::Value::Bytes(v))
        })
        .unwrap();
        let e = host
            .latency(&rs[0], RoundTrip::Invoke, 64, 10, 0, None)
            .unwrap_err();
        assert!(matches!(e, BenchError::Renderer { .. }), "{e}");
        assert!(e.to_string().contains("differs"), "{e}");

        // Main's sendSync listener returns something else.
        let mut host = Host::new(None, Path::new(EXE)).unwrap();
        let rs = host.spawn(1, None).unwrap();
        let ipc = host.main().ipc().clone();
        ipc.remove_all_listeners(Some("bench:echo-sync"));
        ipc.on("bench:echo-sync", |e, _args| {
            e.set_return_value("not an echo");
        });
        let e = host
            .latency(&rs[0], RoundTrip::SendSync, 64, 10, 0, None)
            .unwrap_err();
        assert!(matches!(e, BenchError::Renderer { .. }), "{e}");
        assert!(e.to_string().contains("not bytes"), "{e}");
    });
}
