//! [`System`]: which transport a session measures, and its textual form (command lines, and
//! the peer's orders through serde).

use electrode_shm::{SpinBudget, WaitMode};
use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// A transport under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    /// Electrode's shared-memory rings (`electrode_shm`), both sides waiting in this mode.
    Shm(WaitMode),
    /// Two futex words in a shared mapping; every send is a `FUTEX_WAKE`, every wait that
    /// finds nothing is a `FUTEX_WAIT` at once (no spinning).
    RawFutex,
    /// Two atomic words in a shared mapping, both sides spinning: the latency floor.
    BusySpin,
    /// A `UnixStream` pair: `write_all` then `read_exact`.
    UnixSocket,
    /// A MessagePort's rings alone (`electrode_shm::PortSegment`), both ends copying every
    /// frame out (neither trusts the other), default wait mode: what the port API is built on.
    PortRings,
}

impl System {
    /// Electrode with the default wait mode, `WaitMode::default()` (spin, then yield, then
    /// park, with `SpinBudget::default()`).
    pub fn shm_default() -> System {
        System::Shm(WaitMode::default())
    }

    /// Electrode parking at once (`WaitMode::ParkOnly`).
    pub fn shm_park_only() -> System {
        System::Shm(WaitMode::ParkOnly)
    }

    /// Electrode spinning then yielding with the given budget (nanoseconds).
    pub fn shm_budget(spin_ns: u64, yield_ns: u64) -> System {
        System::Shm(WaitMode::SpinThenPark(SpinBudget {
            spin: Duration::from_nanos(spin_ns),
            yield_for: Duration::from_nanos(yield_ns),
        }))
    }

    /// The textual form (`--systems`, the peer's orders), parsed back by [`System::parse`]:
    /// `shm:park`, `shm:<spin ns>:<yield ns>`, `futex`, `spin`, `uds`.
    pub fn to_arg(&self) -> String {
        match self {
            System::Shm(WaitMode::ParkOnly) => "shm:park".into(),
            System::Shm(WaitMode::SpinThenPark(b)) => {
                format!("shm:{}:{}", b.spin.as_nanos(), b.yield_for.as_nanos())
            }
            System::RawFutex => "futex".into(),
            System::BusySpin => "spin".into(),
            System::UnixSocket => "uds".into(),
            System::PortRings => "port-rings".into(),
        }
    }

    /// Parse [`System::to_arg`]'s form; `shm` alone is [`System::shm_default`].
    pub fn parse(s: &str) -> Option<System> {
        Some(match s {
            "shm" => System::shm_default(),
            "shm:park" => System::shm_park_only(),
            "futex" => System::RawFutex,
            "spin" => System::BusySpin,
            "uds" => System::UnixSocket,
            "port-rings" => System::PortRings,
            _ => {
                let rest = s.strip_prefix("shm:")?;
                let (spin, yield_for) = rest.split_once(':')?;
                System::shm_budget(spin.parse().ok()?, yield_for.parse().ok()?)
            }
        })
    }
}

/// As its [`System::to_arg`] text.
impl Serialize for System {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_arg())
    }
}

/// From its [`System::to_arg`] text.
impl<'de> Deserialize<'de> for System {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        System::parse(&s).ok_or_else(|| D::Error::custom(format!("unknown system {s:?}")))
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            System::Shm(WaitMode::ParkOnly) => f.write_str("shm park-only"),
            System::Shm(WaitMode::SpinThenPark(b)) if *b == SpinBudget::default() => {
                f.write_str("shm spin-then-park")
            }
            System::Shm(WaitMode::SpinThenPark(b)) => write!(
                f,
                "shm spin {}ns+yield {}us",
                b.spin.as_nanos(),
                b.yield_for.as_micros()
            ),
            System::RawFutex => f.write_str("raw futex"),
            System::BusySpin => f.write_str("busy-spin"),
            System::UnixSocket => f.write_str("unix socket"),
            System::PortRings => f.write_str("shm port rings (both ends copy out)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_round_trip() {
        for s in [
            System::shm_default(),
            System::shm_park_only(),
            System::shm_budget(0, 20_000),
            System::RawFutex,
            System::BusySpin,
            System::UnixSocket,
            System::PortRings,
        ] {
            assert_eq!(System::parse(&s.to_arg()), Some(s), "{s}");
        }
        assert_eq!(System::parse("shm:1"), None);
        assert_eq!(System::parse("tcp"), None);
    }
}
