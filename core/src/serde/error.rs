//! [`SerdeError`]: why a conversion between a Rust type and a [`Value`](crate::Value) failed,
//! and where.

use std::error::Error;
use std::fmt::{self, Display};

use crate::error::RemoteError;

/// A conversion between a Rust type and a [`Value`](crate::Value) (or an
/// [`ArgsView`](crate::ArgsView)) failed.
///
/// Every variant carries `path`: where in the value it went wrong, such as `args[1].name`,
/// `[0]` or `items[2]["a key"]`; empty at the top level. [`Display`] writes `path: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SerdeError {
    /// The value has the wrong kind for the type: a string where a number was expected, say.
    InvalidType {
        /// Where.
        path: String,
        /// What was found, as serde names it (`integer `3``, `a string`, ...).
        unexpected: String,
        /// What the type expected, as it describes itself (`a string`, `struct Point`, ...).
        expected: String,
    },
    /// The value has the right kind but the type refuses it: `300` for a `u8`, say.
    InvalidValue {
        /// Where.
        path: String,
        /// What was found.
        unexpected: String,
        /// What the type expected.
        expected: String,
    },
    /// A struct field is missing from a map (or a positional argument list ran short).
    MissingField {
        /// Where: the struct's own path.
        path: String,
        /// The field's name.
        field: &'static str,
    },
    /// An array (or argument list) has more items than the type reads.
    TrailingItems {
        /// Where: the array's own path.
        path: String,
        /// How many items the type read.
        expected: usize,
        /// How many there are.
        found: usize,
    },
    /// An integer does not fit [`Value::Int`](crate::Value::Int)'s `i64` (a `u64` above
    /// `i64::MAX`, an `i128`, ...). Never wrapped, never turned into a float.
    IntOutOfRange {
        /// Where.
        path: String,
        /// The number, in decimal.
        value: String,
    },
    /// A map key that is neither a string nor a number, boolean, char or unit variant (which
    /// become strings as in JSON).
    KeyNotString {
        /// Where: the map's own path.
        path: String,
        /// What the key was (`a float`, `a sequence`, ...).
        kind: &'static str,
    },
    /// Anything else: serde's own messages (unknown variant, wrong length, ...) and a type's
    /// `custom` errors.
    Message {
        /// Where.
        path: String,
        /// The message.
        message: String,
    },
}

impl SerdeError {
    /// Where it went wrong (`args[1].name`); empty at the top level.
    pub fn path(&self) -> &str {
        match self {
            SerdeError::InvalidType { path, .. }
            | SerdeError::InvalidValue { path, .. }
            | SerdeError::MissingField { path, .. }
            | SerdeError::TrailingItems { path, .. }
            | SerdeError::IntOutOfRange { path, .. }
            | SerdeError::KeyNotString { path, .. }
            | SerdeError::Message { path, .. } => path,
        }
    }

    fn path_mut(&mut self) -> &mut String {
        match self {
            SerdeError::InvalidType { path, .. }
            | SerdeError::InvalidValue { path, .. }
            | SerdeError::MissingField { path, .. }
            | SerdeError::TrailingItems { path, .. }
            | SerdeError::IntOutOfRange { path, .. }
            | SerdeError::KeyNotString { path, .. }
            | SerdeError::Message { path, .. } => path,
        }
    }

    /// Puts `segment` in front of the path. Errors travel outwards, so each container adds
    /// its own step on the way; this costs nothing until something fails.
    fn prepend(mut self, segment: fmt::Arguments<'_>) -> Self {
        let path = self.path_mut();
        let mut new = segment.to_string();
        new.push_str(path);
        *path = new;
        self
    }

    /// The error, found in item `i` of an array.
    pub(crate) fn at_index(self, i: usize) -> Self {
        self.prepend(format_args!("[{i}]"))
    }

    /// The error, found in the entry `key` of a map (or field, or enum variant).
    pub(crate) fn at_key(self, key: &str) -> Self {
        let plain = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if plain {
            self.prepend(format_args!(".{key}"))
        } else {
            self.prepend(format_args!("[{}]", JsonStr(key)))
        }
    }

    /// The error, found under the root named `root` (`args`).
    pub(crate) fn at_root(self, root: &str) -> Self {
        self.prepend(format_args!("{root}"))
    }

    pub(crate) fn int_out_of_range(value: impl Display) -> Self {
        SerdeError::IntOutOfRange {
            path: String::new(),
            value: value.to_string(),
        }
    }

    pub(crate) fn key_not_string(kind: &'static str) -> Self {
        SerdeError::KeyNotString {
            path: String::new(),
            kind,
        }
    }

    pub(crate) fn trailing(expected: usize, found: usize) -> Self {
        SerdeError::TrailingItems {
            path: String::new(),
            expected,
            found,
        }
    }

    fn message(message: String) -> Self {
        SerdeError::Message {
            path: String::new(),
            message,
        }
    }
}

/// A string written as a JSON literal.
struct JsonStr<'a>(&'a str);

impl Display for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::value::write_json_str(f, self.0)
    }
}

impl Display for SerdeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A path that starts with a key (no root) reads better without its dot.
        let path = self.path();
        let path = path.strip_prefix('.').unwrap_or(path);
        if !path.is_empty() {
            write!(f, "{path}: ")?;
        }
        match self {
            SerdeError::InvalidType {
                unexpected,
                expected,
                ..
            } => write!(f, "invalid type: {unexpected}, expected {expected}"),
            SerdeError::InvalidValue {
                unexpected,
                expected,
                ..
            } => write!(f, "invalid value: {unexpected}, expected {expected}"),
            SerdeError::MissingField { field, .. } => write!(f, "missing field `{field}`"),
            SerdeError::TrailingItems {
                expected, found, ..
            } => {
                let items = if *expected == 1 { "item" } else { "items" };
                write!(f, "expected {expected} {items}, found {found}")
            }
            SerdeError::IntOutOfRange { value, .. } => {
                write!(f, "integer {value} does not fit an i64")
            }
            SerdeError::KeyNotString { kind, .. } => {
                write!(
                    f,
                    "map key must be a string, number, bool or char, not {kind}"
                )
            }
            SerdeError::Message { message, .. } => f.write_str(message),
        }
    }
}

impl Error for SerdeError {}

impl serde::ser::Error for SerdeError {
    fn custom<T: Display>(msg: T) -> Self {
        SerdeError::message(msg.to_string())
    }
}

impl serde::de::Error for SerdeError {
    fn custom<T: Display>(msg: T) -> Self {
        SerdeError::message(msg.to_string())
    }

    fn invalid_type(unexp: serde::de::Unexpected<'_>, exp: &dyn serde::de::Expected) -> Self {
        SerdeError::InvalidType {
            path: String::new(),
            unexpected: unexp.to_string(),
            expected: exp.to_string(),
        }
    }

    fn invalid_value(unexp: serde::de::Unexpected<'_>, exp: &dyn serde::de::Expected) -> Self {
        SerdeError::InvalidValue {
            path: String::new(),
            unexpected: unexp.to_string(),
            expected: exp.to_string(),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        SerdeError::MissingField {
            path: String::new(),
            field,
        }
    }
}

impl From<SerdeError> for RemoteError {
    /// A `TypeError` with the error's text (`args[0]: invalid type: ...`), so `?` works in a
    /// handler: `let (a, b): (i64, i64) = args.deserialize()?;`. A number too large for a
    /// [`Value`](crate::Value) is a `RangeError`, as JavaScript names it.
    fn from(e: SerdeError) -> Self {
        let name = match e {
            SerdeError::IntOutOfRange { .. } => "RangeError",
            _ => "TypeError",
        };
        RemoteError::named(name, e.to_string())
    }
}
