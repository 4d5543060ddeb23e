//! What the report measures and how much: [`Settings`] (full or `--quick`) and the latency
//! rows ([`Subject`] on a [`Placement`]).

use crate::api::RoundTrip;
use crate::peers::Library;
use crate::pingpong::{Placement, System};
use std::time::Duration;

/// How much the report measures.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Interleaved rounds of the latency and large-payload rows.
    pub rounds: usize,
    /// Most round trips per latency row per round.
    pub iters: u64,
    /// Untimed round trips before each latency measurement.
    pub warmup: u64,
    /// Time cap per latency measurement (slow systems make fewer round trips).
    pub cap: Duration,
    /// Large-payload echoes (`Value` invoke): `(bytes, echoes per round, warm-up echoes)`.
    pub large: Vec<(usize, u64, u64)>,
    /// Large-payload echoes over the typed `InvokeChannel<Vec<u8>, Vec<u8>>`, read in place:
    /// `(bytes, echoes per round, warm-up echoes)`; interleaved with `large`.
    pub typed_large: Vec<(usize, u64, u64)>,
    /// Interleaved rounds of the throughput rows.
    pub throughput_rounds: usize,
    /// Messages per throughput measurement (split across renderers in the fan-in).
    pub messages: u64,
    /// Renderers in the fan-in and in the idle test.
    pub renderers: usize,
    /// How long the connected renderers sit idle.
    pub idle: Duration,
    /// Started ports held idle by one renderer in the idle-ports check.
    pub idle_ports: usize,
    /// How long those ports sit idle.
    pub port_idle: Duration,
}

impl Settings {
    /// The default run (about a minute on two cores).
    pub fn full() -> Settings {
        Settings {
            rounds: 8,
            iters: 20_000,
            warmup: 1_000,
            cap: Duration::from_millis(250),
            large: vec![(64 << 10, 200, 20), (1 << 20, 40, 4), (16 << 20, 4, 1)],
            typed_large: vec![(1 << 20, 40, 4), (16 << 20, 4, 1)],
            throughput_rounds: 5,
            messages: 1_000_000,
            renderers: 8,
            idle: Duration::from_secs(5),
            idle_ports: 64,
            port_idle: Duration::from_secs(1),
        }
    }

    /// `--quick` (under 20 seconds).
    pub fn quick() -> Settings {
        Settings {
            rounds: 2,
            iters: 5_000,
            warmup: 300,
            cap: Duration::from_millis(60),
            large: vec![(64 << 10, 40, 5), (1 << 20, 10, 2), (16 << 20, 2, 1)],
            typed_large: vec![(1 << 20, 10, 2), (16 << 20, 2, 1)],
            throughput_rounds: 2,
            messages: 200_000,
            renderers: 8,
            idle: Duration::from_secs(2),
            idle_ports: 64,
            port_idle: Duration::from_secs(1),
        }
    }
}

/// What one latency row measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A round trip through Electrode's API, started and timed by the renderer.
    Api(RoundTrip),
    /// `WebContents::invoke` (main → renderer handler → main), timed by main.
    MainInvoke,
    /// Typed `RendererInvokeChannel<Block64, Block64>` (main → renderer handler → main, 64
    /// bytes each way), timed by main.
    MainTypedInvoke,
    /// A MessagePort round trip between two renderer processes (`post_message` and `recv`
    /// of the echo; main not on the path), timed by the first.
    PortRenderers,
    /// The same over the typed `SendChannel<Block64>` (`post_port` + `recv_port`, 64 bytes
    /// read in place).
    TypedPortRenderers,
    /// The same exchange relayed through main (`send` → main's listener
    /// `WebContents::send` → the other renderer, and back the same way).
    RelayRenderers,
    /// A transport ping-pong of [`crate::pingpong`] (Electrode's rings, or a baseline).
    Transport(System),
    /// A peer library.
    Peer(Library),
}

/// How a row is used in the comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Electrode's API.
    Electrode,
    /// Electrode's transport alone (what the API is built on).
    Transport,
    /// A lower bound no IPC library reaches (busy-spin, raw futex).
    Floor,
    /// What a user would pick instead (Unix socket, ipc-channel, iceoryx2, shmipc).
    Peer,
}

impl Role {
    /// Lower-case name (JSON, tables).
    pub fn name(self) -> &'static str {
        match self {
            Role::Electrode => "electrode",
            Role::Transport => "transport",
            Role::Floor => "floor",
            Role::Peer => "peer",
        }
    }
}

impl Subject {
    /// Row label.
    pub fn label(self) -> String {
        match self {
            Subject::Api(RoundTrip::Invoke) => "electrode invoke (blocking)".into(),
            Subject::Api(RoundTrip::InvokeAsync) => "electrode invoke (async)".into(),
            Subject::Api(RoundTrip::SendSync) => "electrode sendSync".into(),
            Subject::Api(RoundTrip::Reply) => "electrode send + event.reply".into(),
            Subject::Api(RoundTrip::InvokeTokio) => "electrode invoke (async, tokio)".into(),
            Subject::Api(RoundTrip::TypedInvoke16) => {
                "electrode typed invoke, 16-byte request, 8-byte reply".into()
            }
            Subject::Api(RoundTrip::TypedInvoke64) => {
                "electrode typed invoke, 64-byte request and reply".into()
            }
            Subject::Api(RoundTrip::TypedInvoke16Tokio) => {
                "electrode typed invoke 16 B (async, tokio)".into()
            }
            Subject::Api(RoundTrip::TypedEchoBytes) => "electrode typed bytes echo".into(),
            Subject::MainInvoke => "electrode WebContents::invoke".into(),
            Subject::MainTypedInvoke => "electrode typed RendererInvokeChannel, 64 B".into(),
            Subject::PortRenderers => "electrode port, renderer ↔ renderer".into(),
            Subject::TypedPortRenderers => {
                "electrode typed port (Block64), renderer ↔ renderer".into()
            }
            Subject::RelayRenderers => "electrode send relayed by main, renderer ↔ renderer".into(),
            Subject::Transport(System::BusySpin) => "busy-spin (floor)".into(),
            Subject::Transport(System::RawFutex) => "raw futex (floor)".into(),
            Subject::Transport(System::UnixSocket) => "unix socket".into(),
            Subject::Transport(s) => format!("transport: {s}"),
            Subject::Peer(l) => l.to_string(),
        }
    }

    /// Request bytes of the row's round trips (the `Value` rows carry one 64-byte argument;
    /// the 16-byte typed rows a `Req16`).
    pub fn request_bytes(self) -> usize {
        match self {
            Subject::Api(RoundTrip::TypedInvoke16 | RoundTrip::TypedInvoke16Tokio) => 16,
            _ => super::measure::PAYLOAD,
        }
    }

    /// The row's role.
    pub fn role(self) -> Role {
        match self {
            Subject::Api(_)
            | Subject::MainInvoke
            | Subject::MainTypedInvoke
            | Subject::PortRenderers
            | Subject::TypedPortRenderers
            | Subject::RelayRenderers => Role::Electrode,
            Subject::Transport(System::Shm(_) | System::PortRings) => Role::Transport,
            Subject::Transport(System::BusySpin | System::RawFutex) => Role::Floor,
            Subject::Transport(System::UnixSocket) | Subject::Peer(_) => Role::Peer,
        }
    }
}

/// The latency rows, in table order.
pub fn latency_rows() -> Vec<(Subject, Placement)> {
    use Placement::{CrossCore, SameCore};
    let cross = [
        Subject::Api(RoundTrip::Invoke),
        Subject::Api(RoundTrip::TypedInvoke16),
        Subject::Api(RoundTrip::TypedInvoke64),
        Subject::Api(RoundTrip::InvokeAsync),
        Subject::Api(RoundTrip::InvokeTokio),
        Subject::Api(RoundTrip::TypedInvoke16Tokio),
        Subject::Api(RoundTrip::SendSync),
        Subject::Api(RoundTrip::Reply),
        Subject::MainInvoke,
        Subject::MainTypedInvoke,
        Subject::PortRenderers,
        Subject::TypedPortRenderers,
        Subject::RelayRenderers,
        Subject::Transport(System::shm_default()),
        Subject::Transport(System::PortRings),
        Subject::Transport(System::BusySpin),
        Subject::Transport(System::RawFutex),
        Subject::Transport(System::UnixSocket),
        Subject::Peer(Library::IpcChannel),
        Subject::Peer(Library::Iceoryx2),
        Subject::Peer(Library::Shmipc),
    ];
    let same = [
        Subject::Api(RoundTrip::Invoke),
        Subject::Api(RoundTrip::SendSync),
        Subject::Transport(System::shm_default()),
        Subject::Transport(System::RawFutex),
        Subject::Transport(System::UnixSocket),
        Subject::Peer(Library::IpcChannel),
        Subject::Peer(Library::Iceoryx2),
        Subject::Peer(Library::Shmipc),
    ];
    cross
        .into_iter()
        .map(|s| (s, CrossCore))
        .chain(same.into_iter().map(|s| (s, SameCore)))
        .collect()
}

/// Electron's published Linux `invoke` echo figures (ms) for a payload size, if any: the
/// range quoted in the brief (64 KiB 0.40 ms, 1 MiB 2.8-3.3 ms, 4 MiB 9.2 ms).
pub fn electron_reference_ms(bytes: usize) -> Option<(f64, f64)> {
    match bytes {
        b if b == 64 << 10 => Some((0.40, 0.40)),
        b if b == 1 << 20 => Some((2.8, 3.3)),
        b if b == 4 << 20 => Some((9.2, 9.2)),
        _ => None,
    }
}
