//! The renderer's side of the MessagePort rows: the ports main posts (on [`PORT`]) wait in a
//! [`PortSlot`] for the command that uses them; round trips and one-way streams go over a
//! port (main is not on the path), and the relayed exchange goes `send` → main →
//! `WebContents::send` to the partner and back the same way ([`RELAY`]). Every message is
//! checked. Port messages are read in place with the lending `MessagePort::recv_with`.

use super::protocol::{check_echo_ref, restamp, Command, Payload, PORT, RELAY};
use super::typed_protocol::{Block64, PORT64};
use crate::pingpong::{ticks, ticks_to_ns};
use electrode::{IpcRenderer, MessagePort, PortError, Value, ValueRef};
use std::collections::VecDeque;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest wait for any one port message.
const PORT_TIMEOUT: Duration = Duration::from_secs(120);

/// The ports main posted and the relay's waiting caller.
#[derive(Default)]
pub(crate) struct PortSlot {
    posted: Mutex<VecDeque<MessagePort>>,
    relay: Mutex<Option<mpsc::Sender<Value>>>,
}

/// This renderer's port state: the slot (filled by listeners), the port in use, idle ports.
pub(crate) struct Ports {
    slot: Arc<PortSlot>,
    port: Option<MessagePort>,
    held: Vec<MessagePort>,
    /// Next sequence number of the one-way stream (sent, or expected).
    seq: u64,
}

impl Ports {
    /// Register the [`PORT`] and [`RELAY`] listeners.
    pub(crate) fn install(ipc: &IpcRenderer) -> Ports {
        let slot = Arc::new(PortSlot::default());
        let s = slot.clone();
        ipc.on(PORT, move |e, _args| {
            if let Ok(mut q) = s.posted.lock() {
                q.extend(e.ports());
            }
        });
        let s = slot.clone();
        ipc.on(RELAY, move |e, args| {
            let waiting = s.relay.lock().ok().and_then(|w| w.clone());
            match waiting {
                Some(tx) => {
                    let _ = tx.send(args.get(0).map_or(Value::Null, |v| v.to_value()));
                }
                None => {
                    let _ = e.sender().send(RELAY, &args.to_values());
                }
            }
        });
        Ports {
            slot,
            port: None,
            held: Vec::new(),
            seq: 0,
        }
    }

    /// Use the newest port main posted (replacing the one in use, and starting its stream
    /// at 0), or keep the one in use.
    fn select(&mut self) -> Result<(), String> {
        let posted = self.slot.posted.lock().map_err(|_| "poisoned")?.pop_back();
        if let Some(p) = posted {
            self.port = Some(p);
            self.seq = 0;
        }
        if self.port.is_none() {
            return Err("no port was posted".into());
        }
        Ok(())
    }

    /// `cmd.iters` timed round trips over the port (after `cmd.warmup`); closes it after.
    pub(crate) fn ping(&mut self, cmd: &Command) -> Result<Vec<u64>, String> {
        self.select()?;
        let port = self.port.as_ref().ok_or("no port")?;
        // The echo is compared inside the lending callback (64 bytes; the verdict is reported
        // after the timed call).
        let out = super::renderer::latency_with(
            cmd,
            |a| {
                port.post_message(&a[0], vec![])?;
                port.recv_with(Some(PORT_TIMEOUT), |m| {
                    check_echo_ref(a, m.data(), 0).map_err(|_| m.data().to_value())
                })
            },
            |sent, verdict, seq| match verdict {
                Ok(()) => Ok(()),
                Err(got) => super::protocol::check_echo(sent, &got, seq),
            },
        );
        self.port = None;
        out
    }

    /// `cmd.iters` timed typed round trips (`Block64`) over the port: each echo is read in
    /// place with `PORT64.recv_port` and compared whole; closes the port after.
    pub(crate) fn typed_ping(&mut self, cmd: &Command) -> Result<Vec<u64>, String> {
        self.select()?;
        let port = self.port.as_ref().ok_or("no port")?;
        let mut seq = 0u64;
        let mut block = Block64::new(0);
        let mut round = |seq: u64| -> Result<(), String> {
            block = Block64::new(seq);
            PORT64
                .post_port(port, &block, vec![])
                .map_err(|e| format!("typed port message {seq}: {e}"))?;
            let same = PORT64
                .recv_port(port, Some(PORT_TIMEOUT), |echo, _| {
                    echo.w
                        .iter()
                        .zip(&block.w)
                        .all(|(a, b)| a.to_native() == *b)
                })
                .map_err(|e| format!("typed port echo {seq}: {e}"))?;
            if same {
                Ok(())
            } else {
                Err(format!("typed port echo of message {seq} differs"))
            }
        };
        for _ in 0..cmd.warmup {
            seq += 1;
            round(seq)?;
        }
        let deadline = (cmd.cap_ms > 0).then(|| Instant::now() + Duration::from_millis(cmd.cap_ms));
        let mut out = Vec::with_capacity(cmd.iters.min(1 << 20) as usize);
        for i in 0..cmd.iters {
            seq += 1;
            let t0 = ticks();
            let r = round(seq);
            let t1 = ticks();
            r?;
            out.push(ticks_to_ns(t1.wrapping_sub(t0)));
            if i % 16 == 15 && deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
        }
        self.port = None;
        Ok(out)
    }

    /// Echo every typed message (read in place, copied into one reused block) until the
    /// other end closes; returns how many.
    pub(crate) fn typed_echo(&mut self) -> Result<u64, String> {
        self.select()?;
        let port = self.port.as_ref().ok_or("no port")?;
        let mut n = 0;
        loop {
            match PORT64.recv_port(port, Some(PORT_TIMEOUT), |b, _| Block64::from_archived(b)) {
                Ok(block) => PORT64
                    .post_port(port, &block, vec![])
                    .map_err(|e| format!("typed port echo {n}: {e}"))?,
                Err(PortError::PeerClosed) => break,
                Err(e) => return Err(format!("typed port echo after {n}: {e}")),
            }
            n += 1;
        }
        self.port = None;
        Ok(n)
    }

    /// Echo every message until the other end closes; returns how many.
    pub(crate) fn echo(&mut self) -> Result<u64, String> {
        self.select()?;
        let port = self.port.as_ref().ok_or("no port")?;
        let mut n = 0;
        // The echo is copied from the lent message into one reused buffer (no allocation).
        let mut echo = Value::Bytes(Vec::new());
        loop {
            let got = port.recv_with(Some(PORT_TIMEOUT), |m| match (m.data(), &mut echo) {
                (ValueRef::Bytes(b), Value::Bytes(out)) => {
                    out.clear();
                    out.extend_from_slice(b);
                    Ok(())
                }
                (other, _) => Err(format!(
                    "port echo {n}: a {}, not bytes",
                    other.to_value().kind()
                )),
            });
            match got {
                Ok(checked) => {
                    checked?;
                    port.post_message(&echo, vec![])
                        .map_err(|e| format!("port echo {n}: {e}"))?
                }
                Err(PortError::PeerClosed) => break,
                Err(e) => return Err(format!("port echo after {n}: {e}")),
            }
            n += 1;
        }
        self.port = None;
        Ok(n)
    }

    /// `cmd.iters` one-way messages of `cmd.payload` bytes; returns the nanoseconds taken.
    pub(crate) fn burst(&mut self, cmd: &Command) -> Result<u64, String> {
        let payload = Payload::new(cmd.payload as usize);
        self.select()?;
        let mut seq = self.seq;
        let port = self.port.as_ref().ok_or("no port")?;
        let mut args = payload.args(seq);
        let start = Instant::now();
        for _ in 0..cmd.iters {
            restamp(&mut args, seq);
            port.post_message(&args[0], vec![])
                .map_err(|e| format!("port message {seq}: {e}"))?;
            seq += 1;
        }
        self.seq = seq;
        Ok(start.elapsed().as_nanos() as u64)
    }

    /// Take and check `cmd.iters` messages of `cmd.payload` bytes, in sequence.
    pub(crate) fn count(&mut self, cmd: &Command) -> Result<u64, String> {
        let payload = Payload::new(cmd.payload as usize);
        self.select()?;
        let mut seq = self.seq;
        let port = self.port.as_ref().ok_or("no port")?;
        let start = Instant::now();
        for _ in 0..cmd.iters {
            port.recv_with(Some(PORT_TIMEOUT), |m| match m.data().as_bytes() {
                Some(b) => payload.check(b, seq),
                None => Err(format!("port message {seq} is not bytes")),
            })
            .map_err(|e| format!("port stream at {seq}: {e}"))??;
            seq += 1;
        }
        self.seq = seq;
        Ok(start.elapsed().as_nanos() as u64)
    }

    /// `send(RELAY)` round trips: main forwards to the partner, which sends it back.
    pub(crate) fn relay_ping(
        &mut self,
        ipc: &IpcRenderer,
        cmd: &Command,
    ) -> Result<Vec<u64>, String> {
        let (tx, rx) = mpsc::channel();
        *self.slot.relay.lock().map_err(|_| "poisoned")? = Some(tx);
        let out = super::renderer::latency(cmd, |a| {
            ipc.send(RELAY, a).map_err(|e| e.to_string())?;
            rx.recv_timeout(PORT_TIMEOUT)
                .map_err(|_| "no relayed answer".to_string())
        });
        *self.slot.relay.lock().map_err(|_| "poisoned")? = None;
        out
    }

    /// Start every posted port (a listener that does nothing) and keep it; returns how many
    /// are held.
    pub(crate) fn idle(&mut self) -> Result<u64, String> {
        let posted: Vec<MessagePort> = self
            .slot
            .posted
            .lock()
            .map_err(|_| "poisoned")?
            .drain(..)
            .collect();
        for p in posted {
            p.on_message(|_| {});
            p.start();
            self.held.push(p);
        }
        Ok(self.held.len() as u64)
    }
}
