//! Reading a validated message in place: [`ArgsView`] over the arguments, [`ValueRef`] for one
//! value, [`ArrayRef`] / [`MapRef`] for containers and their iterators. Strings and bytes
//! borrow from the message; comparisons with [`Value`] and `Display` need no copy either.

use std::fmt;

use super::validate::validate;
use super::{ArchivedWireNode, WireError};
use crate::value::{write_bytes, write_float, write_json_str, Value};

/// A validated argument list, read in place. Cheap to copy.
#[derive(Clone, Copy)]
pub struct ArgsView<'a> {
    args: ArrayRef<'a>,
}

impl<'a> ArgsView<'a> {
    /// Validates `bytes` and returns a view of its arguments. `bytes` must be exactly what
    /// [`encode`](fn@super::encode) produced (rkyv puts the archive's root at the end),
    /// starting on a [`WIRE_ALIGN`](super::WIRE_ALIGN)-byte boundary. Never panics, whatever
    /// the bytes; work and scratch memory are linear in `bytes.len()`.
    pub fn new(bytes: &'a [u8]) -> Result<ArgsView<'a>, WireError> {
        let (nodes, roots) = validate(bytes)?;
        Ok(ArgsView {
            args: ArrayRef {
                table: nodes,
                items: &nodes[..roots],
            },
        })
    }

    /// The number of arguments.
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// True when there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// Argument `i`.
    pub fn get(&self, i: usize) -> Option<ValueRef<'a>> {
        self.args.get(i)
    }

    /// The arguments in order.
    pub fn iter(&self) -> Iter<'a> {
        self.args.iter()
    }

    /// The arguments as one array.
    pub fn as_array(&self) -> ArrayRef<'a> {
        self.args
    }

    /// Owned copies of the arguments.
    pub fn to_values(&self) -> Vec<Value> {
        self.iter().map(|v| v.to_value()).collect()
    }
}

impl<'a> IntoIterator for ArgsView<'a> {
    type Item = ValueRef<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl fmt::Debug for ArgsView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ArgsView").field(&self.args).finish()
    }
}

/// A borrowed value inside a validated message. Strings and bytes point into the message.
#[derive(Clone, Copy, Debug)]
pub enum ValueRef<'a> {
    /// Null.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(&'a str),
    /// A byte buffer.
    Bytes(&'a [u8]),
    /// An array.
    Array(ArrayRef<'a>),
    /// A map.
    Map(MapRef<'a>),
}

/// The nodes `first..first + span` of `table`, or none if out of range (never, once validated).
fn range(table: &[ArchivedWireNode], first: u32, span: u64) -> &[ArchivedWireNode] {
    let first = first as usize;
    usize::try_from(span)
        .ok()
        .and_then(|span| table.get(first..first.checked_add(span)?))
        .unwrap_or(&[])
}

impl<'a> ValueRef<'a> {
    fn of(table: &'a [ArchivedWireNode], node: &'a ArchivedWireNode) -> ValueRef<'a> {
        match node {
            ArchivedWireNode::Null => ValueRef::Null,
            ArchivedWireNode::Bool(b) => ValueRef::Bool(*b),
            ArchivedWireNode::Int(i) => ValueRef::Int(i.to_native()),
            ArchivedWireNode::Float(x) => ValueRef::Float(x.to_native()),
            ArchivedWireNode::Str(s) => ValueRef::Str(s.as_str()),
            ArchivedWireNode::Bytes(b) => ValueRef::Bytes(b.as_slice()),
            ArchivedWireNode::Array { first, len } => ValueRef::Array(ArrayRef {
                table,
                items: range(table, first.to_native(), u64::from(len.to_native())),
            }),
            ArchivedWireNode::Map { first, len } => ValueRef::Map(MapRef {
                table,
                entries: range(table, first.to_native(), 2 * u64::from(len.to_native())),
            }),
        }
    }

    /// An owned copy. Recursion is bounded by the validated depth
    /// ([`MAX_DEPTH`](super::MAX_DEPTH)).
    pub fn to_value(&self) -> Value {
        match *self {
            ValueRef::Null => Value::Null,
            ValueRef::Bool(b) => Value::Bool(b),
            ValueRef::Int(i) => Value::Int(i),
            ValueRef::Float(x) => Value::Float(x),
            ValueRef::Str(s) => Value::String(s.to_owned()),
            ValueRef::Bytes(b) => Value::Bytes(b.to_vec()),
            ValueRef::Array(a) => Value::Array(a.iter().map(|v| v.to_value()).collect()),
            ValueRef::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// True for [`ValueRef::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, ValueRef::Null)
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            ValueRef::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The integer, if this is a [`ValueRef::Int`].
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            ValueRef::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The number as a float (a [`ValueRef::Float`], or a [`ValueRef::Int`] converted).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            ValueRef::Float(x) => Some(x),
            ValueRef::Int(i) => Some(i as f64),
            _ => None,
        }
    }

    /// The string, borrowed from the message.
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            ValueRef::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, borrowed from the message.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            ValueRef::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<ArrayRef<'a>> {
        match *self {
            ValueRef::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The map, if this is one.
    pub fn as_map(&self) -> Option<MapRef<'a>> {
        match *self {
            ValueRef::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value of the first entry named `key`, if this is a map that has one.
    pub fn get(&self, key: &str) -> Option<ValueRef<'a>> {
        self.as_map()?.get(key)
    }

    /// The name of this value's kind, as [`Value::kind`].
    pub fn kind(&self) -> &'static str {
        match self {
            ValueRef::Null => "null",
            ValueRef::Bool(_) => "bool",
            ValueRef::Int(_) => "int",
            ValueRef::Float(_) => "float",
            ValueRef::Str(_) => "string",
            ValueRef::Bytes(_) => "bytes",
            ValueRef::Array(_) => "array",
            ValueRef::Map(_) => "map",
        }
    }
}

impl PartialEq<Value> for ValueRef<'_> {
    fn eq(&self, other: &Value) -> bool {
        match (*self, other) {
            (ValueRef::Null, Value::Null) => true,
            (ValueRef::Bool(a), Value::Bool(b)) => a == *b,
            (ValueRef::Int(a), Value::Int(b)) => a == *b,
            (ValueRef::Float(a), Value::Float(b)) => a == *b,
            (ValueRef::Str(a), Value::String(b)) => a == b,
            (ValueRef::Bytes(a), Value::Bytes(b)) => a == &b[..],
            (ValueRef::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == *y)
            }
            (ValueRef::Map(a), Value::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va == *vb)
            }
            _ => false,
        }
    }
}

impl PartialEq<ValueRef<'_>> for Value {
    fn eq(&self, other: &ValueRef<'_>) -> bool {
        other == self
    }
}

impl fmt::Display for ValueRef<'_> {
    /// The same JSON-like text as [`Value`]'s `Display`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ValueRef::Null => f.write_str("null"),
            ValueRef::Bool(b) => write!(f, "{b}"),
            ValueRef::Int(i) => write!(f, "{i}"),
            ValueRef::Float(x) => write_float(f, x),
            ValueRef::Str(s) => write_json_str(f, s),
            ValueRef::Bytes(b) => write_bytes(f, b),
            ValueRef::Array(a) => {
                f.write_str("[")?;
                for (i, item) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    fmt::Display::fmt(&item, f)?;
                }
                f.write_str("]")
            }
            ValueRef::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_json_str(f, k)?;
                    f.write_str(":")?;
                    fmt::Display::fmt(&v, f)?;
                }
                f.write_str("}")
            }
        }
    }
}

/// An array inside a validated message.
#[derive(Clone, Copy)]
pub struct ArrayRef<'a> {
    table: &'a [ArchivedWireNode],
    items: &'a [ArchivedWireNode],
}

impl<'a> ArrayRef<'a> {
    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Item `i`.
    pub fn get(&self, i: usize) -> Option<ValueRef<'a>> {
        self.items.get(i).map(|n| ValueRef::of(self.table, n))
    }

    /// The items in order.
    pub fn iter(&self) -> Iter<'a> {
        Iter {
            table: self.table,
            items: self.items.iter(),
        }
    }
}

impl<'a> IntoIterator for ArrayRef<'a> {
    type Item = ValueRef<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl fmt::Debug for ArrayRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over the items of an [`ArrayRef`] (or the arguments of an [`ArgsView`]).
#[derive(Clone)]
pub struct Iter<'a> {
    table: &'a [ArchivedWireNode],
    items: std::slice::Iter<'a, ArchivedWireNode>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = ValueRef<'a>;
    fn next(&mut self) -> Option<ValueRef<'a>> {
        self.items.next().map(|n| ValueRef::of(self.table, n))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.items.next_back().map(|n| ValueRef::of(self.table, n))
    }
}

/// A map inside a validated message, entries in the sender's order.
#[derive(Clone, Copy)]
pub struct MapRef<'a> {
    table: &'a [ArchivedWireNode],
    /// Key, value, key, value, ...
    entries: &'a [ArchivedWireNode],
}

impl<'a> MapRef<'a> {
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len() / 2
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of the first entry named `key`.
    pub fn get(&self, key: &str) -> Option<ValueRef<'a>> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The entries in order.
    pub fn iter(&self) -> MapIter<'a> {
        MapIter {
            table: self.table,
            entries: self.entries.chunks_exact(2),
        }
    }
}

impl<'a> IntoIterator for MapRef<'a> {
    type Item = (&'a str, ValueRef<'a>);
    type IntoIter = MapIter<'a>;
    fn into_iter(self) -> MapIter<'a> {
        self.iter()
    }
}

impl fmt::Debug for MapRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Iterator over the entries of a [`MapRef`].
#[derive(Clone)]
pub struct MapIter<'a> {
    table: &'a [ArchivedWireNode],
    entries: std::slice::ChunksExact<'a, ArchivedWireNode>,
}

impl<'a> Iterator for MapIter<'a> {
    type Item = (&'a str, ValueRef<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        let pair = self.entries.next()?;
        let key = match &pair[0] {
            ArchivedWireNode::Str(s) => s.as_str(),
            _ => "", // never: validation checked every key
        };
        Some((key, ValueRef::of(self.table, &pair[1])))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for MapIter<'_> {}

#[cfg(test)]
mod tests {
    use super::super::encode_to_vec;
    use super::*;
    use crate::args;

    #[test]
    fn views_read_in_place() {
        let args = args!["x".repeat(100), vec![7u8; 100], Value::map([("k", "v")])];
        let bytes = encode_to_vec(&args).unwrap();
        let range = bytes.as_ptr_range();
        let view = ArgsView::new(&bytes).unwrap();
        let s = view.get(0).and_then(|v| v.as_str()).unwrap();
        let b = view.get(1).and_then(|v| v.as_bytes()).unwrap();
        assert!(range.contains(&s.as_ptr()) && range.contains(&b.as_ptr()));
        let map = view.get(2).and_then(|v| v.as_map()).unwrap();
        assert_eq!(map.len(), 1);
        assert_eq!(map.get("k").and_then(|v| v.as_str()), Some("v"));
        assert!(map.get("nope").is_none());
        assert_eq!(view.get(2).unwrap().get("k").unwrap(), Value::from("v"));
        let (k, v) = map.iter().next().unwrap();
        assert_eq!((k, v.as_str()), ("k", Some("v")));
        assert!(view.get(3).is_none());
        assert_eq!(view.iter().len(), 3);
    }

    #[test]
    fn views_are_send_sync_and_copy() {
        fn assert_send_sync_copy<T: Send + Sync + Copy>() {}
        assert_send_sync_copy::<ArgsView<'static>>();
        assert_send_sync_copy::<ValueRef<'static>>();
        assert_send_sync_copy::<ArrayRef<'static>>();
        assert_send_sync_copy::<MapRef<'static>>();
    }
}
