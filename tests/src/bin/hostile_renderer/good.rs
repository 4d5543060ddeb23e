//! The well-behaved side: `IpcRenderer`'s connection (which every non-forging role uses) and
//! role `good`, which calls main's echo service in a loop and checks every answer.

use crate::report::{fail, ok};
use electrode::{IpcRenderer, Value};
use electrode_tests::hostile_kit as kit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Connect as a well-behaved renderer; exit [`kit::EXIT_USAGE`] without a segment.
pub(crate) fn connect() -> IpcRenderer {
    match IpcRenderer::connect() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hostile_renderer: connect: {e}");
            std::process::exit(kit::EXIT_USAGE);
        }
    }
}

/// Role `good`: `echo` / `echo-sync` in a loop, every answer checked, until main says `stop`;
/// then the report `[calls, max latency in µs]`.
pub(crate) fn good() -> i32 {
    let ipc = match IpcRenderer::connect() {
        Ok(r) => r,
        Err(e) => return fail(&format!("connect: {e}")),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ipc.on(kit::STOP, move |_, _| s.store(true, Ordering::SeqCst));
    let mut i: i64 = 0;
    let mut max_lat = Duration::ZERO;
    while !stop.load(Ordering::SeqCst) {
        let mut blob = vec![0u8; (i % 300) as usize];
        electrode_tests::pattern::fill(i as u64, &mut blob);
        let values = vec![
            Value::from(i),
            Value::from(format!("good-{i}")),
            Value::Bytes(blob),
        ];
        let t = Instant::now();
        let got = match i % 8 {
            0 => ipc.send_sync(kit::ECHO_SYNC, &values),
            1 => futures::executor::block_on(ipc.invoke(kit::ECHO, &values)),
            _ => ipc.invoke_blocking(kit::ECHO, &values),
        };
        max_lat = max_lat.max(t.elapsed());
        match got {
            Ok(v) if v == Value::Array(values.clone()) => {}
            other => return fail(&format!("call {i}: answer {other:?}")),
        }
        i += 1;
    }
    let report = [Value::from(i), Value::from(max_lat.as_micros() as i64)];
    match ipc.send_sync(kit::GOOD_REPORT, &report) {
        Ok(_) => {
            ok(&format!(
                "good calls={i} max-latency-us={}",
                max_lat.as_micros()
            ));
            kit::EXIT_OK
        }
        Err(e) => fail(&format!("report: {e}")),
    }
}
