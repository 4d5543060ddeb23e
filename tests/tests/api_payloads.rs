//! Electron's payload sizes (0, 1, 65535, 65536, 65537, 256 KiB + 3 and 3 MiB + 1 bytes), as a
//! string, a byte buffer and a nested map, echo unchanged between real processes through every
//! path: blocking invoke (reply in a response slot, or through the ring when too large), the
//! invoke future (reply through the ring), `send_sync`, and `send` + `event.reply`.

use electrode::{Main, Value};
use electrode_tests::api_kit::spawn;
use electrode_tests::watchdog;
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_api_renderer");
const LIMIT: Duration = Duration::from_secs(180);

fn echo_all_paths(main: &Main) {
    main.ipc()
        .handle("echo", |_, a| Ok(Value::Array(a.to_values())))
        .unwrap();
    main.ipc().on("echo-sync", |e, a| {
        assert!(e.set_return_value(Value::Array(a.to_values())));
    });
    main.ipc().on("echo-send", |e, a| {
        e.reply("echo-reply", &a.to_values()).unwrap();
    });
    spawn(main, RENDERER, "payloads", &[]).expect_success_within(LIMIT);
}

#[test]
fn payloads_echo_unchanged_through_every_path() {
    let _dog = watchdog(LIMIT, "payloads_echo_unchanged_through_every_path");
    echo_all_paths(&Main::new().unwrap());
}

/// The same through 4 KiB rings and 1 KiB response slots: nearly everything is chunked and
/// most replies overflow their slot.
#[test]
fn payloads_echo_unchanged_through_small_rings() {
    let _dog = watchdog(LIMIT, "payloads_echo_unchanged_through_small_rings");
    let main = Main::builder()
        .ring_capacity(4096)
        .slot_size(1024)
        .build()
        .unwrap();
    echo_all_paths(&main);
}
