//! A [`WaitMode`] as text (`park`, or `<spin ns>:<yield ns>`): the `--wait` option of the
//! `workload` command, and a renderer's orders (through serde).

use electrode::{SpinBudget, WaitMode};
use std::time::Duration;

/// A wait mode as text: `park`, or `<spin ns>:<yield ns>`.
pub(crate) fn wait_mode_arg(m: WaitMode) -> String {
    match m {
        WaitMode::ParkOnly => "park".into(),
        WaitMode::SpinThenPark(b) => format!("{}:{}", b.spin.as_nanos(), b.yield_for.as_nanos()),
    }
}

/// Parse a wait mode: `park`, or `<spin ns>:<yield ns>`.
pub fn parse_wait_mode(s: &str) -> Result<WaitMode, String> {
    if s == "park" {
        return Ok(WaitMode::ParkOnly);
    }
    let bad = || format!("bad wait mode {s:?} (park, or <spin ns>:<yield ns>)");
    let (a, b) = s.split_once(':').ok_or_else(bad)?;
    let ns = |v: &str| {
        v.parse::<u64>()
            .map(Duration::from_nanos)
            .map_err(|_| bad())
    };
    Ok(WaitMode::SpinThenPark(SpinBudget {
        spin: ns(a)?,
        yield_for: ns(b)?,
    }))
}

/// `#[serde(with = "...")]` for an `Option<WaitMode>` field, in the text form above.
pub(crate) mod optional {
    use super::{parse_wait_mode, wait_mode_arg, WaitMode};
    use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(m: &Option<WaitMode>, s: S) -> Result<S::Ok, S::Error> {
        m.map(wait_mode_arg).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<WaitMode>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| parse_wait_mode(&s).map_err(D::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_modes_round_trip() {
        for m in [
            WaitMode::ParkOnly,
            WaitMode::default(),
            parse_wait_mode("5000:0").unwrap(),
        ] {
            assert_eq!(parse_wait_mode(&wait_mode_arg(m)), Ok(m));
        }
        assert!(parse_wait_mode("5000").is_err());
        assert!(parse_wait_mode("x:1").is_err());
    }
}
