//! The helper-role entry point (`electrode_bench::role::serve_if_role`): a bench binary started
//! with orders that do not parse refuses them and exits with status 2, instead of going on to
//! run as the program it would be without orders (here: the report).
//!
//! A watchdog kills the child if it does not exit (it would be running the report).

use electrode_bench::role::ROLE_ENV;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Run `exe args` with `orders` in the role variable; its exit code and stderr, or a panic
/// (after killing it) if it is still running after `limit`.
fn run_with_orders(exe: &str, args: &[&str], orders: &str, limit: Duration) -> (i32, String) {
    let mut child = Command::new(exe)
        .args(args)
        .env(ROLE_ENV, orders)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.code().unwrap_or(-1), err);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{exe} {args:?} with orders {orders:?} did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn bad_orders_are_refused_not_ignored() {
    let limit = Duration::from_secs(60);
    for exe in [
        env!("CARGO_BIN_EXE_electrode-bench"),
        env!("CARGO_BIN_EXE_bench_peer"),
    ] {
        for orders in [
            "not json",
            r#"{"parent":1,"cpu":null,"role":{"kind":"no-such-role"}}"#,
        ] {
            let (code, err) = run_with_orders(exe, &["report", "--quick"], orders, limit);
            assert_eq!(code, 2, "{exe}: {err}");
            assert!(err.contains("bad orders"), "{exe}: {err}");
        }
    }
    // Orders naming another parent: the helper notices it is not that process's child.
    let orders = r#"{"parent":1,"cpu":null,"role":{"kind":"ipc-channel-peer"}}"#;
    let (code, err) = run_with_orders(env!("CARGO_BIN_EXE_bench_peer"), &[], orders, limit);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("parent"), "{err}");
}
