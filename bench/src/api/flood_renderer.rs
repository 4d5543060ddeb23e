//! A renderer's side of the fairness row: the `Flood` command sends `FLOOD` messages (checked
//! payloads, in sequence) as fast as the ring takes them, until main says `FLOOD_STOP` (heard
//! on the receive thread) or `iters` were sent.

use super::protocol::{restamp, Command, Payload, FLOOD, FLOOD_STOP};
use electrode::IpcRenderer;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The flood's state in one renderer.
pub(super) struct Flooder {
    stop: Arc<AtomicBool>,
    /// Next sequence number (main expects them in order from 0, across commands).
    seq: u64,
}

impl Flooder {
    /// Listen for `FLOOD_STOP`.
    pub(super) fn install(ipc: &IpcRenderer) -> Flooder {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        ipc.on(FLOOD_STOP, move |_e, _args| {
            s.store(true, Ordering::Release)
        });
        Flooder { stop, seq: 0 }
    }

    /// Flood until stopped; returns how many were sent.
    pub(super) fn run(&mut self, ipc: &IpcRenderer, cmd: &Command) -> Result<u64, String> {
        let payload = Payload::new(cmd.payload as usize);
        let mut args = payload.args(self.seq);
        let mut sent = 0;
        while sent < cmd.iters && !self.stop.load(Ordering::Acquire) {
            restamp(&mut args, self.seq);
            ipc.send(FLOOD, &args)
                .map_err(|e| format!("flood send: {e}"))?;
            self.seq += 1;
            sent += 1;
        }
        self.stop.store(false, Ordering::Release);
        Ok(sent)
    }
}
