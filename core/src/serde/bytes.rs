//! `#[serde(with = "electrode::serde::bytes")]`: a byte buffer field as
//! [`Value::Bytes`](crate::Value::Bytes) instead of an array of integers.
//!
//! Serde writes `Vec<u8>` and `&[u8]` as sequences of numbers; this module writes them with
//! `serialize_bytes` (as the `serde_bytes` crate does) and reads them back from bytes, or from
//! an array of small integers. A borrowed `&'a [u8]` field needs no attribute to be *read*
//! without a copy; to *write* one as bytes use
//! `#[serde(serialize_with = "electrode::serde::bytes::serialize")]`.
//!
//! ```
//! use electrode::serde::{from_value, to_value};
//! use electrode::Value;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct Blob {
//!     #[serde(with = "electrode::serde::bytes")]
//!     data: Vec<u8>,
//! }
//!
//! let v = to_value(&Blob { data: vec![1, 2] })?;
//! assert_eq!(v, Value::map([("data", vec![1u8, 2])]));
//! assert_eq!(from_value::<Blob>(v)?, Blob { data: vec![1, 2] });
//! # Ok::<(), electrode::serde::SerdeError>(())
//! ```

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserializer, Serializer};

/// Writes `bytes` with `serialize_bytes`.
pub fn serialize<T: AsRef<[u8]> + ?Sized, S: Serializer>(
    bytes: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(bytes.as_ref())
}

/// Reads a byte buffer (or an array of integers 0 to 255) into any `T: From<Vec<u8>>`.
pub fn deserialize<'de, T: From<Vec<u8>>, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    d.deserialize_byte_buf(BytesVisitor).map(T::from)
}

/// Accepts bytes, or a sequence of `u8`.
struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte buffer")
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(b) = seq.next_element()? {
            out.push(b);
        }
        Ok(out)
    }
}
