//! Backpressure both ways: a renderer that floods main (blocking, or never blocking and
//! counting `Full`), and one that reads main's messages slowly.

use crate::good::connect;
use crate::report::fail;
use electrode::{CallError, IpcRenderer, RendererOptions, SendError, Value};
use electrode_tests::hostile_kit as kit;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Bytes of padding in each flood message (so a 16 KiB ring holds about a hundred).
const FLOOD_PAD: usize = 64;

/// Role `flood N`: `N` sends as fast as the ring takes them, then `flood-done`.
pub(crate) fn flood(n: u64) -> i32 {
    let ipc = connect();
    let pad = Value::Bytes(vec![0u8; FLOOD_PAD]);
    for i in 0..n {
        if let Err(e) = ipc.send("seq", &[Value::from(i as i64), pad.clone()]) {
            return fail(&format!("send {i}: {e}"));
        }
    }
    match ipc.send_sync("flood-done", &[Value::from(n as i64), Value::from(0)]) {
        Ok(_) => kit::EXIT_OK,
        Err(e) => fail(&format!("report: {e}")),
    }
}

/// Role `flood-full N FIFO`: `N` sends that never block (counting `Full`, opening the gate
/// `FIFO` on the first), then `flood-done`.
pub(crate) fn flood_full(n: u64, fifo: &str) -> i32 {
    let ipc = match IpcRenderer::connect_with(RendererOptions {
        send_timeout: Some(Duration::ZERO),
        ..RendererOptions::default()
    }) {
        Ok(r) => r,
        Err(e) => return fail(&format!("connect: {e}")),
    };
    let pad = Value::Bytes(vec![0u8; FLOOD_PAD]);
    let mut fulls = 0i64;
    let mut i = 0u64;
    while i < n {
        match ipc.send("seq", &[Value::from(i as i64), pad.clone()]) {
            Ok(()) => i += 1,
            Err(SendError::Full) => {
                if fulls == 0 {
                    // Main's listener holds the dispatcher until we say we saw `Full`.
                    match fs::OpenOptions::new().write(true).open(fifo) {
                        Ok(mut f) => {
                            let _ = f.write_all(b"F");
                        }
                        Err(e) => return fail(&format!("open the gate: {e}")),
                    }
                }
                fulls += 1;
                std::thread::sleep(Duration::from_micros(100));
            }
            Err(e) => return fail(&format!("send {i}: {e}")),
        }
    }
    loop {
        match ipc.send_sync("flood-done", &[Value::from(n as i64), Value::from(fulls)]) {
            Ok(_) => return kit::EXIT_OK,
            Err(CallError::Send(SendError::Full)) => std::thread::sleep(Duration::from_micros(100)),
            Err(e) => return fail(&format!("report: {e}")),
        }
    }
}

/// Role `slow-reader FIFO N`: a receive thread held at the gate `FIFO`, then slow for `N`
/// messages, checking each; then `reader-done`.
pub(crate) fn slow_reader(fifo: &str, slow: u64) -> i32 {
    let ipc = connect();
    let received = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let end = Arc::new(AtomicU64::new(u64::MAX));
    let (r, e, path) = (received.clone(), errors.clone(), fifo.to_string());
    ipc.on("m2r", move |_, args| {
        let n = r.load(Ordering::SeqCst);
        if n == 0 {
            // Block the receive thread until the test opens the gate.
            match File::open(&path) {
                Ok(mut f) => {
                    let mut b = [0u8; 1];
                    let _ = f.read(&mut b);
                }
                Err(_) => {
                    e.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        if n < slow {
            std::thread::sleep(Duration::from_millis(1));
        }
        let seq = args.get(0).and_then(|v| v.as_i64());
        let len = args.get(1).and_then(|v| v.as_bytes()).map(<[u8]>::len);
        if seq != Some(n as i64) || len != Some(1024) {
            e.fetch_add(1, Ordering::SeqCst);
        }
        r.store(n + 1, Ordering::SeqCst);
    });
    let en = end.clone();
    ipc.on("m2r-end", move |_, args| {
        let total = args.get(0).and_then(|v| v.as_i64()).unwrap_or(-1);
        en.store(total as u64, Ordering::SeqCst);
    });
    if let Err(e) = ipc.send_sync("reader-ready", &[]) {
        return fail(&format!("ready: {e}"));
    }
    while end.load(Ordering::SeqCst) == u64::MAX {
        if ipc.is_disconnected() {
            return kit::EXIT_MAIN_GONE;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let report = [
        Value::from(received.load(Ordering::SeqCst) as i64),
        Value::from(errors.load(Ordering::SeqCst) as i64),
    ];
    match ipc.send_sync("reader-done", &report) {
        Ok(_) => kit::EXIT_OK,
        Err(e) => fail(&format!("report: {e}")),
    }
}
