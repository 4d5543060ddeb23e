//! Renderers to be killed mid-write or mid-request (the crash tests).

use crate::good::connect;
use crate::report::{fail, ok};
use electrode::Value;
use electrode_tests::hostile_kit as kit;

/// Size of the large message of the crash tests.
const BIG: usize = 16 << 20;

/// Size of `big-hold`'s message: larger than the ring's bulk area, so it goes in chunks and
/// blocks part-way once the ring is full.
const CHUNKED: usize = electrode_shm::BULK_CAPACITY + BIG;

/// Role `big-hold`: tell main to hold its dispatcher, then send an 80 MiB message, in chunks
/// (killed part-way).
pub(crate) fn big_hold() -> i32 {
    let ipc = connect();
    if let Err(e) = ipc.send("hold", &[]) {
        return fail(&format!("send hold: {e}"));
    }
    ok("big-sending");
    let r = ipc.send("big", &[Value::Bytes(vec![0x42; CHUNKED])]);
    fail(&format!("the large send returned ({r:?}) before the kill"))
}

/// Role `big-loop`: send 16 MiB messages until killed.
pub(crate) fn big_loop() -> i32 {
    let ipc = connect();
    let blob = Value::Bytes(vec![0x42; BIG]);
    loop {
        if let Err(e) = ipc.send("big", std::slice::from_ref(&blob)) {
            return fail(&format!("send big: {e}"));
        }
    }
}

/// Role `call KIND CHANNEL`: one `sync`, `invoke` or `async` call main never answers (killed
/// mid-request).
pub(crate) fn call(how: &str, channel: &str) -> i32 {
    let ipc = connect();
    let args = [Value::from("please")];
    let r = match how {
        "sync" => ipc.send_sync(channel, &args),
        "invoke" => ipc.invoke_blocking(channel, &args),
        "async" => futures::executor::block_on(ipc.invoke(channel, &args)),
        _ => return kit::EXIT_USAGE,
    };
    fail(&format!("the {how} call returned ({r:?}) before the kill"))
}
