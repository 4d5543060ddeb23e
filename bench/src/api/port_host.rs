//! Main's side of the MessagePort rows: it makes a channel, posts one end to each of two
//! renderers (`WebContents::post_message`) and steps aside (the port's messages never pass
//! through main); for the relayed exchange it forwards each renderer's `RELAY` send to its
//! partner with `WebContents::send`; for idle ports it posts many ends to one renderer.

use super::protocol::{decode_samples, Op, PORT, RELAY};
use super::{BenchError, Host, Throughput};
use crate::pingpong::Samples;
use electrode::{Main, MessageChannel, MessagePort, Value, WebContents};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Main's relay table: renderer id → its partner.
#[derive(Default)]
pub struct Relay {
    partner: Mutex<HashMap<u32, WebContents>>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("pairs", &self.lock().len())
            .finish()
    }
}

impl Relay {
    fn lock(&self) -> MutexGuard<'_, HashMap<u32, WebContents>> {
        self.partner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Register main's `RELAY` listener (forwards to the sender's partner).
    pub(super) fn install(main: &Main) -> Arc<Relay> {
        let relay = Arc::new(Relay::default());
        let r = relay.clone();
        main.ipc().on(RELAY, move |e, args| {
            let to = r.lock().get(&e.sender().id()).cloned();
            if let Some(to) = to {
                let _ = to.send(RELAY, &args.to_values());
            }
        });
        relay
    }

    fn pair(&self, a: &WebContents, b: &WebContents) {
        let mut p = self.lock();
        p.insert(a.id(), b.clone());
        p.insert(b.id(), a.clone());
    }

    fn clear(&self) {
        self.lock().clear();
    }
}

fn post(wc: &WebContents, port: MessagePort) -> Result<(), BenchError> {
    wc.post_message(PORT, &Value::Null, vec![port])
        .map_err(|e| BenchError::wrong(format!("WebContents::post_message: {e}")))
}

fn number(v: &Value, what: &str) -> Result<u64, BenchError> {
    v.as_i64()
        .map(|n| n.max(0) as u64)
        .ok_or_else(|| BenchError::wrong(format!("{what}: not a number")))
}

impl Host {
    /// Round trips of `payload` bytes over a port between renderers `a` (which times them)
    /// and `b` (which echoes), after `warmup` untimed ones, stopping after `cap`; main is not
    /// on the path. Every echo is checked.
    /// With `typed`, the messages are `Block64`s of the typed `PORT64` channel (64 bytes,
    /// read in place) instead of `Value::Bytes` of `payload` bytes.
    #[allow(clippy::too_many_arguments)]
    pub fn port_latency(
        &mut self,
        a: &WebContents,
        b: &WebContents,
        typed: bool,
        payload: usize,
        iters: u64,
        warmup: u64,
        cap: Option<Duration>,
    ) -> Result<Samples, BenchError> {
        let (pa, pb) = MessageChannel::new()
            .map_err(|e| BenchError::wrong(format!("MessageChannel::new: {e}")))?;
        post(b, pb)?;
        post(a, pa)?;
        let (echo_op, ping_op) = if typed {
            (Op::TypedPortEcho, Op::TypedPortPing)
        } else {
            (Op::PortEcho, Op::PortPing)
        };
        let echo = self.start(b, echo_op, 0, payload, 0, None)?;
        let ping = self.start(a, ping_op, iters, payload, warmup, cap)?;
        let v = self.result(a, ping)?;
        let echoed = number(&self.result(b, echo)?, "port echo count")?;
        let ns =
            decode_samples(&v).ok_or_else(|| BenchError::wrong("samples are not a byte buffer"))?;
        if echoed != warmup + ns.len() as u64 {
            return Err(BenchError::wrong(format!(
                "the port echoed {echoed} messages, {} were timed after {warmup}",
                ns.len()
            )));
        }
        Ok(Samples::from_nanos(ns))
    }

    /// The same exchange relayed through main: `a` sends, main's listener
    /// `WebContents::send`s to `b`, whose listener sends it back, and main forwards it to
    /// `a` the same way. Timed by `a`; every answer checked.
    pub fn relay_latency(
        &mut self,
        a: &WebContents,
        b: &WebContents,
        payload: usize,
        iters: u64,
        warmup: u64,
        cap: Option<Duration>,
    ) -> Result<Samples, BenchError> {
        self.relay.pair(a, b);
        let out = self.renderer_latency(a, Op::RelayPing, payload, iters, warmup, cap);
        self.relay.clear();
        out
    }

    /// One-way port throughput from renderer `a` to renderer `b` over a port main posted to
    /// both (reused across calls on the same pair): `a` posts `count` messages of `payload`
    /// bytes, `b` takes and checks them; the time runs from main's start order to `b`'s
    /// result (every message counted).
    pub fn port_throughput(
        &mut self,
        a: &WebContents,
        b: &WebContents,
        count: u64,
        payload: usize,
        fresh: bool,
    ) -> Result<Throughput, BenchError> {
        if fresh {
            let (pa, pb) = MessageChannel::new()
                .map_err(|e| BenchError::wrong(format!("MessageChannel::new: {e}")))?;
            post(b, pb)?;
            post(a, pa)?;
        }
        let start = Instant::now();
        let counting = self.start(b, Op::PortCount, count, payload, 0, None)?;
        let sending = self.start(a, Op::PortBurst, count, payload, 0, None)?;
        self.result(b, counting)?;
        let elapsed = start.elapsed();
        self.result(a, sending)?;
        Ok(Throughput {
            messages: count,
            payload,
            elapsed,
        })
    }

    /// Post `n` started-to-be ports to `wc` and have it start them all; returns main's ends
    /// (keep them: dropping one closes its channel).
    pub fn idle_ports(
        &mut self,
        wc: &WebContents,
        n: usize,
    ) -> Result<Vec<MessagePort>, BenchError> {
        let mut mine = Vec::with_capacity(n);
        for _ in 0..n {
            let (p1, p2) = MessageChannel::new()
                .map_err(|e| BenchError::wrong(format!("MessageChannel::new: {e}")))?;
            post(wc, p2)?;
            mine.push(p1);
        }
        let id = self.start(wc, Op::PortIdle, 0, 0, 0, None)?;
        let held = number(&self.result(wc, id)?, "ports held")?;
        if held != n as u64 {
            return Err(BenchError::wrong(format!(
                "the renderer holds {held} ports, {n} were posted"
            )));
        }
        Ok(mine)
    }
}
