//! The argument values that cross the IPC boundary.
//!
//! [`Value`] is the owned, structured-clone-like data model of Electrode: what Electron can clone
//! between processes (null, booleans, numbers, strings, byte buffers, arrays, string-keyed
//! objects), with integers and floats kept apart. Maps keep insertion order.
//!
//! Build argument lists with [`args!`](crate::args):
//!
//! ```
//! use electrode::args;
//! use electrode::value::Value;
//!
//! let args = args![1, "two", 3.5, vec![4u8, 5], Value::map([("six", 6)])];
//! assert_eq!(args[1].as_str(), Some("two"));
//! assert_eq!(args[4].get("six").and_then(Value::as_i64), Some(6));
//! assert_eq!(args[4].to_string(), r#"{"six":6}"#);
//! ```
#![forbid(unsafe_code)]

use std::fmt;
use std::num::TryFromIntError;

/// One argument value: null, a boolean, a number, a string, a byte buffer, an array or a map.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// No value (`null`, `undefined`, `()`, `None`).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A UTF-8 string.
    String(String),
    /// A byte buffer (Electron: `Buffer`, `Uint8Array`).
    Bytes(Vec<u8>),
    /// An ordered list of values.
    Array(Vec<Value>),
    /// String-keyed entries, in insertion order.
    Map(Vec<(String, Value)>),
}

impl Value {
    /// An [`Value::Array`] from anything convertible to values.
    pub fn array<T: Into<Value>>(items: impl IntoIterator<Item = T>) -> Value {
        Value::Array(items.into_iter().map(Into::into).collect())
    }

    /// A [`Value::Map`] from `(key, value)` pairs, kept in the order given.
    pub fn map<K: Into<String>, V: Into<Value>>(
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The boolean, if this is a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer, if this is a [`Value::Int`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number as a float: a [`Value::Float`], or a [`Value::Int`] converted (rounded to the
    /// nearest float when it has more than 53 significant bits).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The string, if this is a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, if this is a [`Value::Bytes`].
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The items, if this is a [`Value::Array`].
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The entries, if this is a [`Value::Map`].
    pub fn as_map(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value of the first entry named `key`, if this is a [`Value::Map`] that has one.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The name of this value's kind: `"null"`, `"bool"`, `"int"`, `"float"`, `"string"`,
    /// `"bytes"`, `"array"` or `"map"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
        }
    }
}

/// Builds a `Vec<Value>` of arguments, converting each expression with [`Value::from`].
///
/// ```
/// use electrode::args;
/// use electrode::value::Value;
///
/// let a = args![true, 7u8, "x", ()];
/// assert_eq!(a, vec![Value::Bool(true), Value::Int(7), Value::from("x"), Value::Null]);
/// assert!(args![].is_empty());
/// ```
#[macro_export]
macro_rules! args {
    () => {
        ::std::vec::Vec::<$crate::value::Value>::new()
    };
    ($($arg:expr),+ $(,)?) => {
        ::std::vec![$($crate::value::Value::from($arg)),+]
    };
}

// ---- conversions into Value ----

impl From<()> for Value {
    fn from(_: ()) -> Self {
        Value::Null
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(i: $t) -> Self {
                Value::Int(i64::from(i))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! try_from_int {
    ($($t:ty),*) => {$(
        impl TryFrom<$t> for Value {
            type Error = TryFromIntError;
            /// An [`Value::Int`], or an error when the number does not fit an `i64`.
            fn try_from(i: $t) -> Result<Self, Self::Error> {
                i64::try_from(i).map(Value::Int)
            }
        }
    )*};
}
try_from_int!(u64, usize, isize, i128, u128);

impl From<f32> for Value {
    fn from(f: f32) -> Self {
        Value::Float(f64::from(f))
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::String(s.clone())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Bytes(b)
    }
}

impl From<&[u8]> for Value {
    fn from(b: &[u8]) -> Self {
        Value::Bytes(b.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Value {
    fn from(b: &[u8; N]) -> Self {
        Value::Bytes(b.to_vec())
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::Array(items)
    }
}

impl From<Vec<(String, Value)>> for Value {
    fn from(entries: Vec<(String, Value)>) -> Self {
        Value::Map(entries)
    }
}

impl From<&Value> for Value {
    fn from(v: &Value) -> Self {
        v.clone()
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}

impl FromIterator<Value> for Value {
    /// Collects into a [`Value::Array`].
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Self {
        Value::Array(iter.into_iter().collect())
    }
}

impl<A: Into<Value>> From<(A,)> for Value {
    fn from((a,): (A,)) -> Self {
        Value::Array(vec![a.into()])
    }
}

impl<A: Into<Value>, B: Into<Value>> From<(A, B)> for Value {
    fn from((a, b): (A, B)) -> Self {
        Value::Array(vec![a.into(), b.into()])
    }
}

impl<A: Into<Value>, B: Into<Value>, C: Into<Value>> From<(A, B, C)> for Value {
    fn from((a, b, c): (A, B, C)) -> Self {
        Value::Array(vec![a.into(), b.into(), c.into()])
    }
}

impl<A: Into<Value>, B: Into<Value>, C: Into<Value>, D: Into<Value>> From<(A, B, C, D)> for Value {
    fn from((a, b, c, d): (A, B, C, D)) -> Self {
        Value::Array(vec![a.into(), b.into(), c.into(), d.into()])
    }
}

// ---- display ----

/// How many bytes of a buffer [`Display`](fmt::Display) shows before eliding the rest.
const BYTES_SHOWN: usize = 50;

/// Writes `s` as a JSON string literal.
pub(crate) fn write_json_str(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    use fmt::Write;
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Writes a float as JSON would, with JavaScript's names for the non-finite values.
pub(crate) fn write_float(f: &mut fmt::Formatter<'_>, x: f64) -> fmt::Result {
    if x.is_nan() {
        f.write_str("NaN")
    } else if x.is_infinite() {
        f.write_str(if x > 0.0 { "Infinity" } else { "-Infinity" })
    } else if x != 0.0 && (x.abs() >= 1e16 || x.abs() < 1e-6) {
        write!(f, "{x:e}")
    } else if x == x.trunc() {
        // Keep a float recognisable as one: `1.0`, not `1`.
        write!(f, "{x:.1}")
    } else {
        write!(f, "{x}")
    }
}

/// Writes a byte buffer the way Node.js prints a `Buffer`: `<Buffer 01 02 ff>`.
pub(crate) fn write_bytes(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
    f.write_str("<Buffer")?;
    for byte in b.iter().take(BYTES_SHOWN) {
        write!(f, " {byte:02x}")?;
    }
    if b.len() > BYTES_SHOWN {
        write!(f, " ... {} more bytes", b.len() - BYTES_SHOWN)?;
    }
    f.write_str(">")
}

impl fmt::Display for Value {
    /// JSON-like: strings quoted and escaped, maps as objects in insertion order, bytes as
    /// `<Buffer 01 02>`, non-finite floats as `NaN` / `Infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write_float(f, *x),
            Value::String(s) => write_json_str(f, s),
            Value::Bytes(b) => write_bytes(f, b),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    fmt::Display::fmt(item, f)?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_json_str(f, k)?;
                    f.write_str(":")?;
                    fmt::Display::fmt(v, f)?;
                }
                f.write_str("}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_pick_the_right_kind() {
        assert_eq!(Value::from(()), Value::Null);
        assert_eq!(Value::from(true), Value::Bool(true));
        assert_eq!(Value::from(-3i8), Value::Int(-3));
        assert_eq!(Value::from(u32::MAX), Value::Int(u32::MAX as i64));
        assert_eq!(Value::from(i64::MIN), Value::Int(i64::MIN));
        assert_eq!(Value::try_from(5u64), Ok(Value::Int(5)));
        assert!(Value::try_from(u64::MAX).is_err());
        assert!(Value::try_from(i128::MIN).is_err());
        assert_eq!(Value::try_from(7usize), Ok(Value::Int(7)));
        assert_eq!(Value::from(1.5f32), Value::Float(1.5));
        assert_eq!(Value::from("s"), Value::String("s".into()));
        assert_eq!(Value::from(String::from("s")), Value::String("s".into()));
        assert_eq!(Value::from(vec![1u8, 2]), Value::Bytes(vec![1, 2]));
        assert_eq!(Value::from(&[1u8, 2][..]), Value::Bytes(vec![1, 2]));
        assert_eq!(Value::from(b"ab"), Value::Bytes(b"ab".to_vec()));
        assert_eq!(
            Value::from(vec![Value::Int(1)]),
            Value::Array(vec![Value::Int(1)])
        );
        assert_eq!(Value::array([1, 2]), Value::Array(vec![1.into(), 2.into()]));
        assert_eq!(Value::from(None::<i32>), Value::Null);
        assert_eq!(Value::from(Some("x")), Value::from("x"));
        assert_eq!(
            Value::from((1, "a", 2.0, ())),
            Value::Array(vec![
                Value::Int(1),
                Value::from("a"),
                Value::Float(2.0),
                Value::Null
            ])
        );
        assert_eq!(Value::from((1,)), Value::Array(vec![Value::Int(1)]));
        let collected: Value = (0..3).map(Value::from).collect();
        assert_eq!(collected, Value::array([0, 1, 2]));
    }

    #[test]
    fn accessors_match_only_their_kind() {
        let m = Value::map([("a", Value::from(1)), ("b", Value::from("x"))]);
        assert_eq!(m.get("a"), Some(&Value::Int(1)));
        assert_eq!(m.get("b").and_then(Value::as_str), Some("x"));
        assert_eq!(m.get("c"), None);
        assert_eq!(Value::Int(1).get("a"), None);
        assert_eq!(m.as_map().map(<[_]>::len), Some(2));
        assert_eq!(Value::Int(3).as_i64(), Some(3));
        assert_eq!(Value::Int(3).as_f64(), Some(3.0));
        assert_eq!(Value::Float(3.5).as_i64(), None);
        assert_eq!(Value::Bool(false).as_bool(), Some(false));
        assert_eq!(Value::Int(0).as_bool(), None);
        assert_eq!(Value::from(vec![9u8]).as_bytes(), Some(&[9u8][..]));
        assert_eq!(Value::from("x").as_bytes(), None);
        assert_eq!(Value::array([1]).as_array().map(<[_]>::len), Some(1));
        assert!(Value::Null.is_null());
        assert!(!Value::Int(0).is_null());
        assert_eq!(Value::default(), Value::Null);
        assert_eq!(m.kind(), "map");
    }

    #[test]
    fn args_macro_converts_each_expression() {
        let a = crate::args![1, "two", vec![3u8], (), Some(2.5), (1, 2)];
        assert_eq!(a.len(), 6);
        assert_eq!(a[0], Value::Int(1));
        assert_eq!(a[2], Value::Bytes(vec![3]));
        assert_eq!(a[3], Value::Null);
        assert_eq!(a[4], Value::Float(2.5));
        assert_eq!(a[5], Value::array([1, 2]));
        let empty: Vec<Value> = crate::args![];
        assert!(empty.is_empty());
        let trailing = crate::args![1,];
        assert_eq!(trailing, vec![Value::Int(1)]);
    }

    #[test]
    fn display_is_json_like() {
        let v = Value::map([
            ("n", Value::Null),
            ("b", Value::from(true)),
            ("i", Value::from(-4)),
            ("f", Value::from(1.0)),
            ("g", Value::from(0.25)),
            ("s", Value::from("q\"\\\n\u{1}é")),
            ("a", Value::array([1, 2])),
            ("x", Value::from(vec![0u8, 255])),
            ("e", Value::Map(vec![])),
        ]);
        assert_eq!(
            v.to_string(),
            r#"{"n":null,"b":true,"i":-4,"f":1.0,"g":0.25,"s":"q\"\\\n\u0001é","a":[1,2],"x":<Buffer 00 ff>,"e":{}}"#
        );
        assert_eq!(Value::Float(f64::NAN).to_string(), "NaN");
        assert_eq!(Value::Float(f64::NEG_INFINITY).to_string(), "-Infinity");
        assert_eq!(Value::Float(1e300).to_string(), "1e300");
        assert_eq!(Value::Float(-2.5e-9).to_string(), "-2.5e-9");
        let long = Value::Bytes(vec![7; 52]).to_string();
        assert!(long.ends_with(" 07 ... 2 more bytes>"), "{long}");
    }
}
