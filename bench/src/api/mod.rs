//! Electrode's public API measured end to end, between a real [`electrode::Main`] and real
//! renderer processes.
//!
//! A [`Host`] is the main process: its dispatcher thread is pinned to one CPU, and it answers
//! every path for real (an `invoke` handler that echoes, a `sendSync` listener that returns
//! its argument, a listener answering with `event.reply`, a listener counting one-way sends).
//! Its renderers are this executable re-executed in the renderer role
//! ([`crate::role`]), pinned to a CPU of the caller's choosing; they take commands over
//! `WebContents::send`, time their own calls, check every answer, and send the samples back
//! as one `Bytes` value.
//!
//! ```no_run
//! use electrode_bench::api::{Host, RoundTrip};
//!
//! let exe = std::env::current_exe()?; // must call electrode_bench::role::serve_if_role()
//! let mut host = Host::new(Some(0), &exe)?;
//! let renderers = host.spawn(1, Some(1))?;
//! let s = host.latency(&renderers[0], RoundTrip::Invoke, 64, 10_000, 1_000, None)?;
//! println!("invoke p50 {} ns", s.summary().p50);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod block_on;
mod flood_host;
mod flood_renderer;
mod host;
mod port_host;
mod port_renderer;
pub(crate) mod protocol;
mod renderer;
pub(crate) mod typed_protocol;
mod typed_renderer;

pub use flood_host::{FloodSamples, LISTENER_WORK};
pub use host::{Host, Throughput, DATA_PAYLOAD};
/// Payload bytes of every typed one-way message (`Msg16`).
pub const TYPED_SEND_PAYLOAD: usize = typed_protocol::MSG16_PAYLOAD;
pub(crate) use renderer::serve_renderer;

use crate::pingpong::Samples;
use crate::BenchError;
use electrode::WebContents;
use protocol::Op;
use std::time::Duration;

/// A round trip a renderer starts and times itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoundTrip {
    /// `ipcRenderer.invoke_blocking` → main's `handle` (answer in the renderer's response slot).
    Invoke,
    /// `ipcRenderer.invoke(...).await` (answer through the main → renderer ring).
    InvokeAsync,
    /// `ipcRenderer.send_sync` → main's listener `set_return_value`.
    SendSync,
    /// `ipcRenderer.send` → main's listener `event.reply` → the renderer's listener.
    Reply,
    /// `ipcRenderer.invoke(...).await` on a tokio current-thread runtime.
    InvokeTokio,
    /// Typed `InvokeChannel<Req16, u64>::invoke_blocking` (16-byte request, 8-byte reply; the
    /// `payload` argument is ignored).
    TypedInvoke16,
    /// Typed `InvokeChannel<Block64, Block64>::invoke_blocking` (64 bytes each way; `payload`
    /// ignored).
    TypedInvoke64,
    /// Typed `InvokeChannel<Req16, u64>::invoke(...).await` on a tokio current-thread runtime.
    TypedInvoke16Tokio,
    /// Typed `InvokeChannel<Vec<u8>, Vec<u8>>::invoke_with` of `payload` bytes, the reply read
    /// in place (main's handler reads the request in place and returns a copy).
    TypedEchoBytes,
}

impl RoundTrip {
    fn op(self) -> Op {
        match self {
            RoundTrip::Invoke => Op::Invoke,
            RoundTrip::InvokeAsync => Op::InvokeAsync,
            RoundTrip::SendSync => Op::SendSync,
            RoundTrip::Reply => Op::Reply,
            RoundTrip::InvokeTokio => Op::InvokeTokio,
            RoundTrip::TypedInvoke16 => Op::TypedInvoke16,
            RoundTrip::TypedInvoke64 => Op::TypedInvoke64,
            RoundTrip::TypedInvoke16Tokio => Op::TypedInvoke16Tokio,
            RoundTrip::TypedEchoBytes => Op::TypedEchoBytes,
        }
    }
}

/// A batch of operations a renderer times as a whole (for criterion's `iter_custom`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Batch {
    /// `iters` blocking invokes of 64 B, each answer checked.
    Invoke,
    /// `iters` sendSyncs of 64 B, each answer checked.
    SendSync,
    /// `iters` one-way sends of 64 B, then one invoke that returns main's count of them (so the
    /// time covers main receiving and checking all of them).
    Send,
}

impl Host {
    /// Have renderer `wc` make `iters` round trips of kind `path` with a `payload`-byte
    /// argument, after `warmup` untimed ones, stopping early after `cap`; every answer is
    /// checked. Returns the renderer's timings (one timestamp pair around each call).
    pub fn latency(
        &mut self,
        wc: &WebContents,
        path: RoundTrip,
        payload: usize,
        iters: u64,
        warmup: u64,
        cap: Option<Duration>,
    ) -> Result<Samples, BenchError> {
        self.renderer_latency(wc, path.op(), payload, iters, warmup, cap)
    }

    /// Have renderer `wc` run `iters` operations of kind `batch` (64-byte arguments) and
    /// return the time it took, measured by the renderer.
    pub fn batch(
        &mut self,
        wc: &WebContents,
        batch: Batch,
        iters: u64,
    ) -> Result<Duration, BenchError> {
        let op = match batch {
            Batch::Invoke => Op::InvokeTimed,
            Batch::SendSync => Op::SendSyncTimed,
            Batch::Send => Op::SendTimed,
        };
        self.renderer_timed(wc, op, iters, DATA_PAYLOAD)
    }
}
