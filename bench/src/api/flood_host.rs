//! Main's side of the fairness row: renderer A floods main with one-way `FLOOD` sends whose
//! listener does [`LISTENER_WORK`] of real work per message (a spin on the clock: that is the
//! workload, a listener doing a little computation), while renderer B times blocking invokes.
//! The same B is timed quiet first (A connected, idle), so both figures come from the same
//! processes in the same run.
//!
//! Every flood message is checked: in sequence (per sender), intact, and all of them counted
//! before the measurement returns (A reports how many it sent).

use super::protocol::{Op, Payload, FLOOD, FLOOD_STOP};
use super::{BenchError, Host};
use crate::pingpong::Samples;
use electrode::{Main, WebContents};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What main's `FLOOD` listener spends on each message.
pub const LISTENER_WORK: Duration = Duration::from_micros(1);

/// Flood messages main handles before B's timed invokes start.
const FLOOD_LEAD: u64 = 2_000;

/// Longest wait for the flood to start or to be counted in full.
const PATIENCE: Duration = Duration::from_secs(60);

/// Main's bookkeeping of the flood streams (touched by the dispatcher thread's listener).
#[derive(Default)]
pub struct Flood {
    state: Mutex<FloodState>,
}

#[derive(Default)]
struct FloodState {
    /// Next expected sequence number per renderer id.
    next: HashMap<u32, u64>,
    /// The first broken message, if any.
    failure: Option<String>,
}

impl std::fmt::Debug for Flood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flood")
            .field("streams", &self.lock().next.len())
            .finish()
    }
}

/// Spin on the clock for `d` (the listener's work).
fn work(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

impl Flood {
    fn lock(&self) -> MutexGuard<'_, FloodState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Register main's `FLOOD` listener: check the sequence, then work.
    pub(super) fn install(main: &Main, payload: usize) -> Arc<Flood> {
        let flood = Arc::new(Flood::default());
        let f = flood.clone();
        let p = Payload::new(payload);
        main.ipc().on(FLOOD, move |e, args| {
            {
                let mut st = f.lock();
                let st = &mut *st;
                let next = st.next.entry(e.sender().id()).or_insert(0);
                match p.check_args(args, *next) {
                    Ok(()) => *next += 1,
                    Err(why) => {
                        st.failure.get_or_insert(format!("flood stream: {why}"));
                    }
                }
            }
            work(LISTENER_WORK);
        });
        flood
    }

    fn counted(&self, wc: u32) -> u64 {
        self.lock().next.get(&wc).copied().unwrap_or(0)
    }

    fn failure(&self) -> Option<String> {
        self.lock().failure.clone()
    }

    /// Wait until main has handled `at_least` flood messages from `wc`.
    fn wait_counted(&self, wc: u32, at_least: u64, what: &'static str) -> Result<(), BenchError> {
        let deadline = Instant::now() + PATIENCE;
        while self.counted(wc) < at_least {
            if let Some(f) = self.failure() {
                return Err(BenchError::wrong(f));
            }
            if Instant::now() >= deadline {
                return Err(BenchError::Timeout(what));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }
}

/// One round of the fairness row.
#[derive(Clone, Debug, Default)]
pub struct FloodSamples {
    /// B's invokes with A connected and idle.
    pub quiet: Samples,
    /// B's invokes while A floods.
    pub flooded: Samples,
    /// Flood messages A sent (all counted, in order, by main's listener).
    pub flood_messages: u64,
    /// How long A flooded.
    pub flood_time: Duration,
}

impl Host {
    /// The fairness row, one round: `b` times `iters` blocking invokes of `payload` bytes
    /// (after `warmup`, capped by `cap`) with `a` idle, then again while `a` floods main's
    /// `FLOOD` listener ([`LISTENER_WORK`] per message). Every invoke answer and every flood
    /// message is checked.
    pub fn flood_latency(
        &mut self,
        a: &WebContents,
        b: &WebContents,
        payload: usize,
        iters: u64,
        warmup: u64,
        cap: Option<Duration>,
    ) -> Result<FloodSamples, BenchError> {
        let quiet = self.renderer_latency(b, Op::Invoke, payload, iters, warmup, cap)?;
        let before = self.flood.counted(a.id());
        let start = Instant::now();
        let flooding = self.start(a, Op::Flood, u64::MAX >> 2, payload, 0, None)?;
        self.flood
            .wait_counted(a.id(), before + FLOOD_LEAD, "the flood to start")?;
        let flooded = self.renderer_latency(b, Op::Invoke, payload, iters, warmup, cap);
        // Stopped whatever happened to B, so the processes can be torn down.
        a.send(FLOOD_STOP, &[])
            .map_err(BenchError::ipc("stopping the flood"))?;
        let flooded = flooded?;
        let sent = self.result(a, flooding)?;
        let flood_time = start.elapsed();
        let sent = sent
            .as_i64()
            .ok_or_else(|| BenchError::wrong("flood: the count is not a number"))?
            .max(0) as u64;
        // The result travelled behind the flood in A's ring: every message was handled.
        let counted = self.flood.counted(a.id()) - before;
        if let Some(f) = self.flood.failure() {
            return Err(BenchError::wrong(f));
        }
        if counted != sent {
            return Err(BenchError::wrong(format!(
                "flood: main counted {counted} messages, the renderer sent {sent}"
            )));
        }
        Ok(FloodSamples {
            quiet,
            flooded,
            flood_messages: sent,
            flood_time,
        })
    }
}
