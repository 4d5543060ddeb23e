//! 1,000 channels between main and a renderer process, each used (a message each way) and
//! closed, leave nothing behind in main: its fds, mappings and memfds come back to where they
//! were (a small constant slack, nothing proportional to 1,000). One test per binary, so no
//! other test's fds are counted.

use electrode::{Main, MessageChannel, Value};
use electrode_tests::api_kit::{spawn, ReadyGate, HANG_GUARD};
use electrode_tests::watchdog;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_port_renderer");
const CHANNELS: usize = 1000;
const SLACK: usize = 16;

fn count(dir_or_file: &str, lines: bool) -> usize {
    if lines {
        std::fs::read_to_string(dir_or_file)
            .unwrap()
            .lines()
            .count()
    } else {
        std::fs::read_dir(dir_or_file).unwrap().count()
    }
}

fn memfds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|l| l.to_string_lossy().starts_with("/memfd:"))
        .count()
}

#[test]
fn a_thousand_channels_leave_nothing_behind_in_main() {
    let _dog = watchdog(Duration::from_secs(300), "ports_no_leak");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let (tx, closed) = mpsc::channel();
    let tx = Mutex::new(tx);
    main.ipc().on("port-closed", move |_, _| {
        let _ = tx.lock().unwrap().send(());
    });
    let r = spawn(&main, RENDERER, "echo", &[]);
    gate.wait();
    let warm = || {
        let (a, b) = MessageChannel::new().unwrap();
        r.wc.post_message("port", &Value::Null, vec![b]).unwrap();
        a.post_message(&Value::from(1), vec![]).unwrap();
        assert_eq!(a.recv(Some(HANG_GUARD)).unwrap().data, Value::from(1));
        a.close();
        closed.recv_timeout(HANG_GUARD).unwrap();
    };
    warm();
    let before = (
        count("/proc/self/fd", false),
        count("/proc/self/maps", true),
        memfds(),
    );
    for _ in 0..CHANNELS {
        warm();
    }
    let after = (
        count("/proc/self/fd", false),
        count("/proc/self/maps", true),
        memfds(),
    );
    assert!(after.0 <= before.0 + SLACK, "fds {before:?} -> {after:?}");
    assert!(
        after.1 <= before.1 + SLACK,
        "mappings {before:?} -> {after:?}"
    );
    assert!(
        after.2 <= before.2 + SLACK,
        "memfds {before:?} -> {after:?}"
    );
    let _ = r.wc.send("bye", &[]);
    r.expect_success();
}
