//! Large output main produces off its dispatcher thread reaches the renderer whole: a 3 MiB
//! `webContents.send` from another thread, and 3 MiB invoke replies from an async handler
//! (main's executor) and from a `DeferredReply` resolved on another thread.
//!
//! Such a message does not fit the 1 MiB ring: part of it waits in main's outbox, and the
//! dispatcher must keep flushing it as the renderer makes room, however idle main is. Main
//! here idles with a long yield phase before parking (`SpinBudget { yield_for: 200 ms }`, a
//! legal setting), which widens the window between the dispatcher's last look at the outbox
//! and its sleep; with the default budget the same window is a few tens of microseconds
//! (`api_invoke`'s 3 MiB echo then hangs only now and then).

use electrode::{Main, SpinBudget, Value, WaitMode};
use electrode_tests::api_kit::{payload, spawn, PayloadForm};
use electrode_tests::watchdog;
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_api_renderer");
const LIMIT: Duration = Duration::from_secs(120);

fn big() -> Value {
    payload(3 * 1024 * 1024 + 1, PayloadForm::Bytes)
}

/// A main whose dispatcher re-checks for work (yielding) for 200 ms before it parks.
fn slow_to_park_main() -> Main {
    Main::builder()
        .wait_mode(WaitMode::SpinThenPark(SpinBudget {
            spin: Duration::ZERO,
            yield_for: Duration::from_millis(200),
        }))
        .build()
        .unwrap()
}

#[test]
fn a_3mib_send_from_another_thread_arrives_whole() {
    let _dog = watchdog(LIMIT, "a_3mib_send_from_another_thread_arrives_whole");
    let main = slow_to_park_main();
    main.ipc().on("send-me-big", |e, _| {
        let wc = e.sender().clone();
        std::thread::spawn(move || wc.send("big", &[big()]).unwrap());
    });
    spawn(&main, RENDERER, "big-receive", &[]).expect_success();
}

#[test]
fn a_3mib_reply_from_another_thread_arrives_whole() {
    let _dog = watchdog(LIMIT, "a_3mib_reply_from_another_thread_arrives_whole");
    let main = slow_to_park_main();
    main.ipc()
        .handle_async("big-async", |_, _| async { Ok(big()) })
        .unwrap();
    main.ipc()
        .handle_deferred("big-deferred", |_, _, reply| {
            std::thread::spawn(move || reply.resolve(big()));
        })
        .unwrap();
    spawn(&main, RENDERER, "big-replies", &[]).expect_success();
}
