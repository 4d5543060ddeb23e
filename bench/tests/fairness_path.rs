//! The fairness row's measurement works across real processes and checks what it measured:
//! renderer B's invokes are all answered (quiet and while renderer A floods), and every flood
//! message A sent was counted by main, in order, twice over on the same pair of renderers (the
//! flood's sequence continues across rounds). No timing is asserted.
//!
//! The renderers are the `electrode-bench` binary in its renderer role. A watchdog aborts the
//! test process if anything hangs; every child dies with it (PR_SET_PDEATHSIG).

use electrode_bench::api::Host;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_electrode-bench");

#[test]
fn the_flood_row_answers_every_call_and_counts_every_flood_message() {
    let (done, wait) = mpsc::channel::<()>();
    let dog = std::thread::spawn(move || {
        if wait.recv_timeout(Duration::from_secs(120)) == Err(mpsc::RecvTimeoutError::Timeout) {
            eprintln!("watchdog: the flood row hung for 120 s; aborting");
            std::process::abort();
        }
    });
    let mut host = Host::new(None, Path::new(EXE)).unwrap();
    let a = host.spawn(1, None).unwrap().remove(0);
    let b = host.spawn(1, None).unwrap().remove(0);
    for round in 0..2 {
        let r = host
            .flood_latency(&a, &b, 64, 500, 20, None)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(r.quiet.len(), 500, "round {round}");
        assert_eq!(r.flooded.len(), 500, "round {round}");
        // The flood was under way (2,000 messages handled) before B's timed invokes began.
        assert!(
            r.flood_messages >= 2_000,
            "round {round}: {}",
            r.flood_messages
        );
    }
    drop(host);
    drop(done);
    dog.join().unwrap();
}
