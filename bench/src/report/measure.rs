//! One measurement of each kind, each in fresh processes: a latency row for one round, a
//! large-payload echo, a throughput run, and the idle-CPU check.
//!
//! Main (the electrode dispatcher, or the calling thread for the transports and peers) runs on
//! CPU 0; a peer or renderer runs on CPU 1 (cross-core) or CPU 0 (same core).

use super::plan::{Settings, Subject};
use super::proc_stat;
use crate::api::{Host, RoundTrip, Throughput};
use crate::peers::{PeerSession, PEER_PAYLOAD};
use crate::pingpong::{Placement, Samples, Session, WARMUP_ITERS};
use crate::BenchError;
use std::path::Path;
use std::time::Duration;

/// Payload bytes of the latency rows.
pub const PAYLOAD: usize = 64;

/// CPU of main's side.
pub(crate) const MAIN_CPU: usize = 0;

fn peer_cpu(placement: Placement) -> Option<usize> {
    placement.cores().map(|(_, p)| p)
}

/// One round of one latency row.
pub fn latency_once(
    exe: &Path,
    subject: Subject,
    placement: Placement,
    s: &Settings,
) -> Result<Samples, BenchError> {
    let what = format!("{placement} / {}", subject.label());
    let cap = Some(s.cap);
    match subject {
        Subject::Api(path) => {
            let mut host = Host::new(Some(MAIN_CPU), exe).map_err(BenchError::during(&what))?;
            let r = host
                .spawn(1, peer_cpu(placement))
                .map_err(BenchError::during(&what))?;
            host.latency(&r[0], path, PAYLOAD, s.iters, s.warmup, cap)
                .map_err(BenchError::during(what))
        }
        Subject::MainInvoke => {
            let mut host = Host::new(Some(MAIN_CPU), exe).map_err(BenchError::during(&what))?;
            let r = host
                .spawn(1, peer_cpu(placement))
                .map_err(BenchError::during(&what))?;
            host.main_invoke_latency(&r[0], PAYLOAD, s.iters, s.warmup, cap)
                .map_err(BenchError::during(what))
        }
        Subject::MainTypedInvoke => {
            let mut host = Host::new(Some(MAIN_CPU), exe).map_err(BenchError::during(&what))?;
            let r = host
                .spawn(1, peer_cpu(placement))
                .map_err(BenchError::during(&what))?;
            host.main_typed_invoke_latency(&r[0], s.iters, s.warmup, cap)
                .map_err(BenchError::during(what))
        }
        Subject::PortRenderers | Subject::TypedPortRenderers | Subject::RelayRenderers => {
            let mut host = Host::new(Some(MAIN_CPU), exe).map_err(BenchError::during(&what))?;
            let (a, b) = renderer_pair(&mut host, placement).map_err(BenchError::during(&what))?;
            let r = match subject {
                Subject::RelayRenderers => {
                    host.relay_latency(&a, &b, PAYLOAD, s.iters, s.warmup, cap)
                }
                _ => {
                    let typed = subject == Subject::TypedPortRenderers;
                    host.port_latency(&a, &b, typed, PAYLOAD, s.iters, s.warmup, cap)
                }
            };
            r.map_err(BenchError::during(what))
        }
        Subject::Transport(system) => {
            let mut session = Session::start_with(exe, system, placement, PAYLOAD)
                .map_err(BenchError::during(&what))?;
            let warm = s.warmup.max(WARMUP_ITERS as u64 / 4);
            let t = session.time(warm).map_err(BenchError::during(&what))?;
            let iters = capped_iters(s, t, warm);
            session
                .measure(iters as usize)
                .map_err(BenchError::during(what))
        }
        Subject::Peer(lib) => {
            debug_assert_eq!(PEER_PAYLOAD, PAYLOAD);
            let mut session =
                PeerSession::start(exe, lib, placement).map_err(BenchError::during(&what))?;
            session
                .warm_up(s.warmup)
                .map_err(BenchError::during(&what))?;
            session
                .measure(s.iters, cap)
                .map_err(BenchError::during(what))
        }
    }
}

/// One round of the fairness row: the timed renderer B on CPU 1 (cross-core, as in the invoke
/// rows), the flooding renderer A on CPU 0 with main's dispatcher. (On two CPUs A shares a core
/// with someone: with B, B's latency is the kernel's time slicing between two busy processes,
/// milliseconds, whatever main does; with main, it is what the issue is about, main's
/// dispatcher sharing its time between A's flood and B's requests.)
pub fn flood_once(exe: &Path, s: &Settings) -> Result<crate::api::FloodSamples, BenchError> {
    let what = "fairness: invoke while another renderer floods";
    let mut host = Host::new(Some(MAIN_CPU), exe).map_err(BenchError::during(what))?;
    let a = host
        .spawn(1, Some(MAIN_CPU))
        .map_err(BenchError::during(what))?
        .remove(0);
    let b = host
        .spawn(1, peer_cpu(Placement::CrossCore))
        .map_err(BenchError::during(what))?
        .remove(0);
    host.flood_latency(&a, &b, PAYLOAD, s.iters, s.warmup, Some(s.cap))
        .map_err(BenchError::during(what))
}

/// Two renderers: the first on the peer CPU of `placement` (CPU 1 cross-core), the second on
/// main's CPU (so cross-core, the two renderers run on different cores).
fn renderer_pair(
    host: &mut Host,
    placement: Placement,
) -> Result<(electrode::WebContents, electrode::WebContents), BenchError> {
    let a = host.spawn(1, peer_cpu(placement))?.remove(0);
    let b = host.spawn(1, Some(MAIN_CPU))?.remove(0);
    Ok((a, b))
}

/// Round trips that fit the time cap, judged from the warm-up's pace (at least 200).
fn capped_iters(s: &Settings, warmup_took: Duration, warmup: u64) -> u64 {
    let per = warmup_took.as_nanos() as f64 / warmup.max(1) as f64;
    let fit = (s.cap.as_nanos() as f64 / per.max(1.0)) as u64;
    fit.clamp(200, s.iters.max(200))
}

/// How a large echo travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Echo {
    /// `invoke_blocking(ECHO, [Bytes])`: one `Value::Bytes` argument, copied out both ways.
    Value,
    /// The typed `InvokeChannel<Vec<u8>, Vec<u8>>`: main's handler reads the request in
    /// place and returns a copy; the renderer reads the reply in place (`invoke_with`).
    Typed,
}

impl Echo {
    /// Short name (tables, JSON).
    pub fn name(self) -> &'static str {
        match self {
            Echo::Value => "Value",
            Echo::Typed => "typed",
        }
    }
}

/// `echoes` blocking invoke echoes of `bytes` bytes (after `warmup`), cross-core.
pub fn large_once(
    exe: &Path,
    echo: Echo,
    bytes: usize,
    echoes: u64,
    warmup: u64,
) -> Result<Samples, BenchError> {
    let what = format!("{} invoke echo of {bytes} bytes", echo.name());
    let path = match echo {
        Echo::Value => RoundTrip::Invoke,
        Echo::Typed => RoundTrip::TypedEchoBytes,
    };
    let mut host = Host::new(Some(MAIN_CPU), exe).map_err(BenchError::during(&what))?;
    let r = host
        .spawn(1, peer_cpu(Placement::CrossCore))
        .map_err(BenchError::during(&what))?;
    host.latency(&r[0], path, bytes, echoes, warmup, None)
        .map_err(BenchError::during(what))
}

/// The throughput measurements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flow {
    /// One renderer `send`s into main's listener.
    SendOne,
    /// `n` renderers `send` at once into main's listener (fan-in).
    SendFanIn(usize),
    /// Main `WebContents::send`s to one renderer's listener.
    WebContentsSend,
    /// One renderer sends 16-byte messages over a typed `SendChannel<Msg16>` into main's
    /// listener (which reads each in place).
    TypedSendOne,
    /// Renderer A (CPU 1) posts 64-byte messages on a port to renderer B (CPU 0), which takes
    /// and checks each (main not on the path).
    PortOneWay,
}

impl Flow {
    /// Row label.
    pub fn label(self) -> String {
        match self {
            Flow::SendOne => "send, 1 renderer → main".into(),
            Flow::SendFanIn(n) => format!("send, {n} renderers → main (fan-in)"),
            Flow::WebContentsSend => "WebContents::send, main → 1 renderer".into(),
            Flow::TypedSendOne => "typed send (16 B), 1 renderer → main".into(),
            Flow::PortOneWay => "port, renderer → renderer".into(),
        }
    }

    /// Payload bytes per message.
    pub fn payload(self) -> usize {
        match self {
            Flow::TypedSendOne => crate::api::TYPED_SEND_PAYLOAD,
            _ => PAYLOAD,
        }
    }

    /// Renderers involved.
    pub fn renderers(self) -> usize {
        match self {
            Flow::SendFanIn(n) => n,
            Flow::PortOneWay => 2,
            _ => 1,
        }
    }
}

/// One throughput run of `messages` messages (renderers on CPU 1, main on CPU 0),
/// after an untimed warm-up of a tenth as many.
pub fn throughput_once(exe: &Path, flow: Flow, messages: u64) -> Result<Throughput, BenchError> {
    let what = flow.label();
    let mut host = Host::new(Some(MAIN_CPU), exe).map_err(BenchError::during(&what))?;
    if flow == Flow::PortOneWay {
        let (a, b) =
            renderer_pair(&mut host, Placement::CrossCore).map_err(BenchError::during(&what))?;
        let warm = (messages / 10).max(1);
        host.port_throughput(&a, &b, warm, PAYLOAD, true)
            .map_err(BenchError::during(&what))?;
        return host
            .port_throughput(&a, &b, messages, PAYLOAD, false)
            .map_err(BenchError::during(what));
    }
    let rs = host
        .spawn(flow.renderers(), peer_cpu(Placement::CrossCore))
        .map_err(BenchError::during(&what))?;
    let per = (messages / rs.len() as u64).max(1);
    let warm = (per / 10).max(1);
    match flow {
        Flow::SendOne | Flow::SendFanIn(_) => {
            host.send_throughput(&rs, warm)
                .map_err(BenchError::during(&what))?;
            host.send_throughput(&rs, per)
                .map_err(BenchError::during(what))
        }
        Flow::TypedSendOne => {
            host.typed_send_throughput(&rs, warm)
                .map_err(BenchError::during(&what))?;
            host.typed_send_throughput(&rs, per)
                .map_err(BenchError::during(what))
        }
        Flow::PortOneWay => unreachable!("handled above"),
        Flow::WebContentsSend => {
            host.web_contents_send_throughput(&rs[0], warm, PAYLOAD)
                .map_err(BenchError::during(&what))?;
            host.web_contents_send_throughput(&rs[0], per, PAYLOAD)
                .map_err(BenchError::during(what))
        }
    }
}

/// CPU used while `renderers` connected renderers (unpinned) sit idle for `idle`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdleCpu {
    /// Renderers connected.
    pub renderers: usize,
    /// How long they sat idle.
    pub idle: Duration,
    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
    pub ticks_per_sec: u64,
    /// utime + stime ticks of the main process (all its threads) over the idle time.
    pub main_ticks: u64,
    /// utime + stime ticks of each renderer over the idle time.
    pub renderer_ticks: Vec<u64>,
}

impl IdleCpu {
    /// Main plus every renderer.
    pub fn total_ticks(&self) -> u64 {
        self.main_ticks + self.renderer_ticks.iter().sum::<u64>()
    }
}

/// Connect `renderers` renderers, let them settle, then read the CPU time of main and of every
/// renderer before and after `idle` of doing nothing.
pub fn idle_cpu(exe: &Path, renderers: usize, idle: Duration) -> Result<IdleCpu, BenchError> {
    let what = "idle renderers";
    let mut host = Host::new(Some(MAIN_CPU), exe).map_err(BenchError::during(what))?;
    host.spawn(renderers, None)
        .map_err(BenchError::during(what))?;
    // Let every spin phase run out (they last microseconds) and the threads park.
    std::thread::sleep(Duration::from_millis(200));
    let me = std::process::id();
    let pids = host.renderer_pids();
    let read =
        |pid: u32| proc_stat::cpu_ticks(pid).map_err(BenchError::io(format!("/proc/{pid}/stat")));
    let main0 = read(me)?;
    let before: Vec<u64> = pids.iter().map(|&p| read(p)).collect::<Result<_, _>>()?;
    std::thread::sleep(idle);
    let main1 = read(me)?;
    let after: Vec<u64> = pids.iter().map(|&p| read(p)).collect::<Result<_, _>>()?;
    Ok(IdleCpu {
        renderers,
        idle,
        ticks_per_sec: proc_stat::ticks_per_sec(),
        main_ticks: main1.saturating_sub(main0),
        renderer_ticks: after
            .iter()
            .zip(&before)
            .map(|(a, b)| a.saturating_sub(*b))
            .collect(),
    })
}

/// CPU used by one renderer holding started ports that carry nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdlePorts {
    /// Started ports the renderer holds (main holds their other ends, not started).
    pub ports: usize,
    /// How long they sat idle.
    pub idle: Duration,
    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
    pub ticks_per_sec: u64,
    /// utime + stime ticks of the renderer (all its threads: one delivery thread per started
    /// port) over the idle time.
    pub renderer_ticks: u64,
}

/// Post `ports` ports to one renderer, have it start them all, let their threads park, then
/// read its CPU time before and after `idle` of nothing arriving.
pub fn idle_ports(exe: &Path, ports: usize, idle: Duration) -> Result<IdlePorts, BenchError> {
    let what = "idle ports";
    let mut host = Host::new(Some(MAIN_CPU), exe).map_err(BenchError::during(what))?;
    let r = host.spawn(1, None).map_err(BenchError::during(what))?;
    let _mine = host
        .idle_ports(&r[0], ports)
        .map_err(BenchError::during(what))?;
    // Let every spin phase run out (they last microseconds) and the threads park.
    std::thread::sleep(Duration::from_millis(200));
    let pid = r[0].pid();
    let read =
        |pid: u32| proc_stat::cpu_ticks(pid).map_err(BenchError::io(format!("/proc/{pid}/stat")));
    let before = read(pid)?;
    std::thread::sleep(idle);
    let after = read(pid)?;
    Ok(IdlePorts {
        ports,
        idle,
        ticks_per_sec: proc_stat::ticks_per_sec(),
        renderer_ticks: after.saturating_sub(before),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_limits_slow_systems_but_not_below_200() {
        let s = Settings::full();
        // 100 ns per round trip: the iteration limit applies.
        assert_eq!(capped_iters(&s, Duration::from_micros(100), 1000), s.iters);
        // 100 us per round trip, 250 ms cap: 2,500.
        assert_eq!(capped_iters(&s, Duration::from_millis(100), 1000), 2_500);
        // 10 ms per round trip: the floor.
        assert_eq!(capped_iters(&s, Duration::from_secs(10), 1000), 200);
    }
}
