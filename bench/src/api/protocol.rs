//! What the benchmark's main and renderer processes say to each other: channel names, the
//! command a renderer runs, and the checked payload every measured message carries.
//!
//! Every measured message carries one `Bytes` argument of `len` bytes ([`Payload`]): its
//! sequence number in the first 8 bytes (little endian), then a fixed pattern, so a lost,
//! repeated, reordered or damaged message is caught by [`Payload::check`]; echoes are compared
//! whole with what was sent ([`check_echo`]).

use electrode::{ArgsView, Value, ValueRef};

/// main → renderer: run a [`Command`].
pub(crate) const CMD: &str = "bench:cmd";
/// renderer → main: connected and listening.
pub(crate) const READY: &str = "bench:ready";
/// renderer → main: `[command id, result]`.
pub(crate) const RESULT: &str = "bench:result";
/// renderer → main: `[message]`; the benchmark aborts.
pub(crate) const ERROR: &str = "bench:error";
/// invoke (both directions): answers with its first argument.
pub(crate) const ECHO: &str = "bench:echo";
/// sendSync: the listener returns its first argument.
pub(crate) const ECHO_SYNC: &str = "bench:echo-sync";
/// send: main's listener answers with `event.reply(PONG, args)`.
pub(crate) const PING: &str = "bench:ping";
/// event.reply's channel.
pub(crate) const PONG: &str = "bench:pong";
/// renderer → main one-way stream; main's listener counts and checks the sequence.
pub(crate) const DATA: &str = "bench:data";
/// invoke: how many DATA messages main has counted from this renderer.
pub(crate) const FLUSH: &str = "bench:flush";
/// main → renderer one-way stream (`WebContents::send`); the renderer counts and checks.
pub(crate) const WC_DATA: &str = "bench:wc-data";
/// renderer → main: `[count]`, the expected WC_DATA messages all arrived.
pub(crate) const WC_DONE: &str = "bench:wc-done";
/// main → renderer `post_message`: a port for the next port command (or the idle set).
pub(crate) const PORT: &str = "bench:port";
/// renderer → main one-way flood (the fairness row); main's listener checks and works ~1 us.
pub(crate) const FLOOD: &str = "bench:flood";
/// main → renderer: stop flooding (the `Flood` command then returns its count).
pub(crate) const FLOOD_STOP: &str = "bench:flood-stop";
/// send, both ways: main forwards it to the sender's relay partner (`WebContents::send`); a
/// renderer not waiting for it sends it back.
pub(crate) const RELAY: &str = "bench:relay";

/// What a renderer is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Blocking `invoke_blocking(ECHO)` round trips, each one timed: result = samples.
    Invoke,
    /// `invoke(ECHO).await` round trips: result = samples.
    InvokeAsync,
    /// `send_sync(ECHO_SYNC)` round trips: result = samples.
    SendSync,
    /// `send(PING)` → main's `event.reply(PONG)` → renderer listener: result = samples.
    Reply,
    /// `iters` blocking invokes timed as a whole: result = nanoseconds.
    InvokeTimed,
    /// `iters` sendSyncs timed as a whole: result = nanoseconds.
    SendSyncTimed,
    /// `iters` DATA sends then one FLUSH invoke, timed as a whole: result = nanoseconds.
    SendTimed,
    /// `iters` DATA sends as fast as possible: result = nanoseconds (renderer's view).
    SendBurst,
    /// Expect `iters` WC_DATA messages, then say WC_DONE: result = 0 (armed).
    Expect,
    /// `invoke(ECHO).await` on a tokio current-thread runtime: result = samples.
    InvokeTokio,
    /// Typed `ADD16.invoke_blocking` round trips: result = samples.
    TypedInvoke16,
    /// Typed `ECHO64.invoke_blocking` round trips: result = samples.
    TypedInvoke64,
    /// Typed `ADD16.invoke(..).await` on a tokio current-thread runtime: result = samples.
    TypedInvoke16Tokio,
    /// Typed `ECHO_BYTES.invoke_with` of `payload` bytes, read in place: result = samples.
    TypedEchoBytes,
    /// `iters` typed DATA16 sends as fast as possible: result = nanoseconds.
    TypedSendBurst,
    /// Round trips over the port main posted (`post_message` + `recv` of the echo); the port
    /// is closed afterwards: result = samples.
    PortPing,
    /// Echo every message on the port main posted until its other end closes: result = count.
    PortEcho,
    /// `iters` one-way messages on the port main posted (kept for the next burst): result =
    /// nanoseconds.
    PortBurst,
    /// Take (`recv`) and check `iters` messages on the port main posted (kept): result =
    /// nanoseconds.
    PortCount,
    /// `send(RELAY)` round trips through main to the relay partner and back: result = samples.
    RelayPing,
    /// Start every port main posted so far and keep them (idle): result = ports held.
    PortIdle,
    /// Typed round trips over the port main posted (`PORT64.post_port` + `recv_port` of the
    /// echo, read in place); the port is closed afterwards: result = samples.
    TypedPortPing,
    /// Echo every typed message on the port main posted until its other end closes: result =
    /// count.
    TypedPortEcho,
    /// `FLOOD` sends as fast as the ring takes them until `FLOOD_STOP` arrives (or `iters`
    /// were sent): result = messages sent.
    Flood,
}

const OPS: [(Op, &str); 24] = [
    (Op::Invoke, "invoke"),
    (Op::InvokeAsync, "invoke-async"),
    (Op::SendSync, "send-sync"),
    (Op::Reply, "reply"),
    (Op::InvokeTimed, "invoke-timed"),
    (Op::SendSyncTimed, "send-sync-timed"),
    (Op::SendTimed, "send-timed"),
    (Op::SendBurst, "send-burst"),
    (Op::Expect, "expect"),
    (Op::InvokeTokio, "invoke-tokio"),
    (Op::TypedInvoke16, "typed-invoke16"),
    (Op::TypedInvoke64, "typed-invoke64"),
    (Op::TypedInvoke16Tokio, "typed-invoke16-tokio"),
    (Op::TypedEchoBytes, "typed-echo-bytes"),
    (Op::TypedSendBurst, "typed-send-burst"),
    (Op::PortPing, "port-ping"),
    (Op::PortEcho, "port-echo"),
    (Op::PortBurst, "port-burst"),
    (Op::PortCount, "port-count"),
    (Op::RelayPing, "relay-ping"),
    (Op::PortIdle, "port-idle"),
    (Op::TypedPortPing, "typed-port-ping"),
    (Op::TypedPortEcho, "typed-port-echo"),
    (Op::Flood, "flood"),
];

impl Op {
    pub(crate) fn name(self) -> &'static str {
        OPS.iter().find(|(o, _)| *o == self).map_or("?", |(_, n)| n)
    }

    fn parse(s: &str) -> Option<Op> {
        OPS.iter().find(|(_, n)| *n == s).map(|(o, _)| *o)
    }
}

/// One order to a renderer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Command {
    /// Echoed in the result.
    pub id: u64,
    pub op: Op,
    /// Operations to measure (an upper bound when `cap_ms` is set).
    pub iters: u64,
    /// Argument bytes per message.
    pub payload: u64,
    /// Untimed operations first.
    pub warmup: u64,
    /// Stop measuring after this many milliseconds even if `iters` are not done (0: no cap).
    pub cap_ms: u64,
}

impl Command {
    pub(crate) fn to_values(self) -> Vec<Value> {
        vec![
            Value::from(self.id as i64),
            Value::from(self.op.name()),
            Value::from(self.iters as i64),
            Value::from(self.payload as i64),
            Value::from(self.warmup as i64),
            Value::from(self.cap_ms as i64),
        ]
    }

    pub(crate) fn parse(args: &ArgsView<'_>) -> Option<Command> {
        let int = |i: usize| args.get(i)?.as_i64().and_then(|v| u64::try_from(v).ok());
        Some(Command {
            id: int(0)?,
            op: Op::parse(args.get(1)?.as_str()?)?,
            iters: int(2)?,
            payload: int(3)?,
            warmup: int(4)?,
            cap_ms: int(5)?,
        })
    }
}

/// The payload of every message of one stream: `len` bytes (at least 8), the sequence number
/// in the first 8, then a fixed pattern. Restamping a message touches only 8 bytes, and a
/// check is one comparison with the template.
#[derive(Clone, Debug)]
pub(crate) struct Payload {
    template: Vec<u8>,
}

impl Payload {
    /// Payloads of `len` bytes (8 at least: the sequence number must fit).
    pub(crate) fn new(len: usize) -> Payload {
        let len = len.max(8);
        let mut template: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(7))
            .collect();
        template[..8].fill(0);
        Payload { template }
    }

    /// Bytes per message.
    pub(crate) fn bytes(&self) -> usize {
        self.template.len()
    }

    /// Message `seq` as an argument list (one `Bytes` value).
    pub(crate) fn args(&self, seq: u64) -> Vec<Value> {
        let mut v = self.template.clone();
        v[..8].copy_from_slice(&seq.to_le_bytes());
        vec![Value::Bytes(v)]
    }

    /// Check that `bytes` is message `seq`.
    pub(crate) fn check(&self, bytes: &[u8], seq: u64) -> Result<(), String> {
        if bytes.len() != self.template.len() {
            return Err(format!(
                "message {seq}: {} payload bytes, expected {}",
                bytes.len(),
                self.template.len()
            ));
        }
        let mut got = [0u8; 8];
        got.copy_from_slice(&bytes[..8]);
        let got = u64::from_le_bytes(got);
        if got != seq {
            return Err(format!(
                "expected message {seq}, got message {got} (lost, repeated or reordered)"
            ));
        }
        if bytes[8..] != self.template[8..] {
            return Err(format!("message {seq}: payload damaged"));
        }
        Ok(())
    }

    /// Check that `args` is exactly one `Bytes` argument holding message `seq`.
    pub(crate) fn check_args(&self, args: &ArgsView<'_>, seq: u64) -> Result<(), String> {
        if args.len() != 1 {
            return Err(format!("{} arguments, expected 1", args.len()));
        }
        match args.get(0).and_then(|v| v.as_bytes()) {
            Some(b) => self.check(b, seq),
            None => Err("the argument is not a byte buffer".into()),
        }
    }
}

/// Re-stamp an argument list made by [`Payload::args`] as message `seq`, in place.
pub(crate) fn restamp(args: &mut [Value], seq: u64) {
    if let Some(Value::Bytes(v)) = args.first_mut() {
        if v.len() >= 8 {
            v[..8].copy_from_slice(&seq.to_le_bytes());
        }
    }
}

/// Check an echoed value against the argument list it answers.
pub(crate) fn check_echo(sent: &[Value], got: &Value, seq: u64) -> Result<(), String> {
    match (sent.first(), got) {
        (Some(Value::Bytes(a)), Value::Bytes(b)) if a == b => Ok(()),
        (Some(Value::Bytes(a)), Value::Bytes(b)) => Err(format!(
            "echo of message {seq} differs ({} bytes sent, {} back)",
            a.len(),
            b.len()
        )),
        (_, other) => Err(format!(
            "echo of message {seq} is a {}, not bytes",
            other.kind()
        )),
    }
}

/// [`check_echo`] of an echo read in place.
pub(crate) fn check_echo_ref(sent: &[Value], got: ValueRef<'_>, seq: u64) -> Result<(), String> {
    match (sent.first(), got) {
        (Some(Value::Bytes(a)), ValueRef::Bytes(b)) if a.as_slice() == b => Ok(()),
        (Some(Value::Bytes(a)), ValueRef::Bytes(b)) => Err(format!(
            "echo of message {seq} differs ({} bytes sent, {} back)",
            a.len(),
            b.len()
        )),
        (_, other) => Err(format!(
            "echo of message {seq} is a {}, not bytes",
            other.to_value().kind()
        )),
    }
}

/// Samples (nanoseconds) as one `Bytes` value, 8 bytes each, little endian.
pub(crate) fn encode_samples(ns: &[u64]) -> Value {
    let mut v = Vec::with_capacity(ns.len() * 8);
    for x in ns {
        v.extend_from_slice(&x.to_le_bytes());
    }
    Value::Bytes(v)
}

/// The inverse of [`encode_samples`].
pub(crate) fn decode_samples(v: &Value) -> Option<Vec<u64>> {
    let b = v.as_bytes()?;
    if b.len() % 8 != 0 {
        return None;
    }
    Some(
        b.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_check_and_catch_damage() {
        for len in [8usize, 64, 1000, 70_000] {
            let p = Payload::new(len);
            let mut args = p.args(41);
            restamp(&mut args, 42);
            let Value::Bytes(b) = &mut args[0] else {
                unreachable!()
            };
            assert_eq!(p.check(b, 42), Ok(()));
            assert!(p.check(b, 43).is_err());
            assert!(p.check(&b[..len - 1], 42).is_err());
            if len > 8 {
                b[len - 1] ^= 1;
                assert!(p.check(b, 42).is_err());
            }
        }
        assert_eq!(
            Payload::new(3).args(0)[0].as_bytes().map(<[u8]>::len),
            Some(8)
        );
    }

    #[test]
    fn samples_and_commands_round_trip() {
        let s = vec![1u64, 2, u64::MAX];
        assert_eq!(decode_samples(&encode_samples(&s)), Some(s));
        assert_eq!(decode_samples(&Value::Bytes(vec![1, 2, 3])), None);
        let c = Command {
            id: 7,
            op: Op::SendSync,
            iters: 1000,
            payload: 64,
            warmup: 10,
            cap_ms: 250,
        };
        let bytes = electrode::wire::encode_to_vec(&c.to_values()).unwrap();
        let view = ArgsView::new(&bytes).unwrap();
        assert_eq!(Command::parse(&view), Some(c));
        for (op, name) in OPS {
            assert_eq!(Op::parse(name), Some(op));
            assert_eq!(op.name(), name);
        }
    }
}
