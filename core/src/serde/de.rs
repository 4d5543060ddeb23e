//! [`from_value`], [`from_value_ref`] and [`Deserializer`]: a [`Value`] (or a
//! [`ValueRef`](crate::ValueRef) in a message) into any `Deserialize` type.
//!
//! One deserializer serves both sources: it reads values through the sealed `Source` trait,
//! implemented here for `&Value` and in [`view`](super::view) for `ValueRef`. Strings and bytes
//! are handed to the type borrowed from the source (`visit_borrowed_str`), so a type may keep
//! `&str` / `&[u8]` fields pointing into it.

use serde::de::{self, DeserializeOwned, DeserializeSeed, Visitor};
use serde::Deserialize;

use super::error::SerdeError;
use super::key::KeyDeserializer;
use crate::value::Value;

/// Converts `value` into a `T`, by the rules in the [module docs](super).
///
/// Takes the value for convenience; strings are copied out of it. [`from_value_ref`] borrows
/// instead, and lets `T` borrow from the value in turn.
///
/// ```
/// use electrode::serde::from_value;
/// use electrode::Value;
///
/// let (n, s): (u8, String) = from_value(Value::from((1, "two")))?;
/// assert_eq!((n, s.as_str()), (1, "two"));
/// let err = from_value::<Vec<u8>>(Value::array([1, 300])).unwrap_err();
/// assert_eq!(err.to_string(), "[1]: invalid value: integer `300`, expected u8");
/// # Ok::<(), electrode::serde::SerdeError>(())
/// ```
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, SerdeError> {
    from_value_ref(&value)
}

/// Converts `value` into a `T` that may borrow strings and bytes from it.
///
/// ```
/// use electrode::serde::from_value_ref;
/// use electrode::Value;
///
/// let v = Value::map([("name", "Ada")]);
/// let m: std::collections::BTreeMap<&str, &str> = from_value_ref(&v)?;
/// assert_eq!(m["name"], "Ada");
/// # Ok::<(), electrode::serde::SerdeError>(())
/// ```
pub fn from_value_ref<'de, T: Deserialize<'de>>(value: &'de Value) -> Result<T, SerdeError> {
    T::deserialize(Deserializer::new(value))
}

pub(crate) mod sealed {
    /// One value of a source, as the deserializer sees it.
    pub enum Node<'de, S: Source<'de>> {
        Null,
        Bool(bool),
        Int(i64),
        Float(f64),
        Str(&'de str),
        Bytes(&'de [u8]),
        Array(S::Items),
        Map(S::Entries),
    }

    /// A value the [`Deserializer`](super::Deserializer) can read: `&Value` or `ValueRef`.
    pub trait Source<'de>: Copy {
        /// The items of an array.
        type Items: ExactSizeIterator<Item = Self>;
        /// The entries of a map, in order.
        type Entries: ExactSizeIterator<Item = (&'de str, Self)>;
        /// What this value is.
        fn node(self) -> Node<'de, Self>;
    }
}
use sealed::{Node, Source};

impl<'de> Source<'de> for &'de Value {
    type Items = std::slice::Iter<'de, Value>;
    type Entries = Entries<'de>;
    fn node(self) -> Node<'de, Self> {
        match self {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Int(i) => Node::Int(*i),
            Value::Float(x) => Node::Float(*x),
            Value::String(s) => Node::Str(s),
            Value::Bytes(b) => Node::Bytes(b),
            Value::Array(items) => Node::Array(items.iter()),
            Value::Map(entries) => Node::Map(Entries(entries.iter())),
        }
    }
}

/// The entries of a [`Value::Map`], keys as `&str`.
pub struct Entries<'de>(std::slice::Iter<'de, (String, Value)>);

impl<'de> Iterator for Entries<'de> {
    type Item = (&'de str, &'de Value);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k.as_str(), v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for Entries<'_> {}

/// A [`serde::Deserializer`] reading a [`Value`] (`Deserializer<&Value>`) or a
/// [`ValueRef`](crate::ValueRef) (`Deserializer<ValueRef>`). [`from_value_ref`] and
/// [`ValueRef::deserialize`](crate::ValueRef::deserialize) are the usual ways in.
#[derive(Clone, Copy, Debug)]
pub struct Deserializer<S> {
    source: S,
}

impl<'de, S: Source<'de>> Deserializer<S> {
    /// A deserializer reading `source`: a `&Value` or a `ValueRef`.
    pub fn new(source: S) -> Self {
        Deserializer { source }
    }
}

/// What serde calls the value, for `invalid type` messages.
fn unexpected<'de, S: Source<'de>>(node: &Node<'de, S>) -> de::Unexpected<'de> {
    match *node {
        Node::Null => de::Unexpected::Unit,
        Node::Bool(b) => de::Unexpected::Bool(b),
        Node::Int(i) => de::Unexpected::Signed(i),
        Node::Float(x) => de::Unexpected::Float(x),
        Node::Str(s) => de::Unexpected::Str(s),
        Node::Bytes(b) => de::Unexpected::Bytes(b),
        Node::Array(_) => de::Unexpected::Seq,
        Node::Map(_) => de::Unexpected::Map,
    }
}

/// Hands the items of `items` to `visitor` as a sequence, then checks none were left over.
pub(crate) fn visit_array<'de, I, T, V>(items: I, visitor: V) -> Result<V::Value, SerdeError>
where
    I: ExactSizeIterator<Item = T>,
    T: Source<'de>,
    V: Visitor<'de>,
{
    let mut seq = SeqAccess {
        items,
        next: 0,
        len: 0,
    };
    seq.len = seq.items.len();
    let value = visitor.visit_seq(&mut seq)?;
    if seq.items.len() == 0 {
        Ok(value)
    } else {
        Err(SerdeError::trailing(seq.next, seq.len))
    }
}

/// A closure over `integer` for each integer method: floats with no fraction are accepted.
macro_rules! integers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
            self.integer(visitor)
        }
    )*};
}

/// 2^63 and 2^64 as floats: the bounds of `i64` and `u64`.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_64: f64 = 18_446_744_073_709_551_616.0;

impl<'de, S: Source<'de>> Deserializer<S> {
    /// For an integer type: an [`Int`](Value::Int) as is, a [`Float`](Value::Float) with no
    /// fractional part as the integer it equals (a JavaScript sender has only numbers); the
    /// visitor then checks the range.
    fn integer<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.source.node() {
            Node::Float(x) if x.fract() == 0.0 && (-TWO_63..TWO_63).contains(&x) => {
                visitor.visit_i64(x as i64)
            }
            Node::Float(x) if x.fract() == 0.0 && (0.0..TWO_64).contains(&x) => {
                visitor.visit_u64(x as u64)
            }
            _ => de::Deserializer::deserialize_any(self, visitor),
        }
    }
}

impl<'de, S: Source<'de>> de::Deserializer<'de> for Deserializer<S> {
    type Error = SerdeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.source.node() {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(b),
            Node::Int(i) => visitor.visit_i64(i),
            Node::Float(x) => visitor.visit_f64(x),
            Node::Str(s) => visitor.visit_borrowed_str(s),
            Node::Bytes(b) => visitor.visit_borrowed_bytes(b),
            Node::Array(items) => visit_array(items, visitor),
            Node::Map(entries) => {
                let mut map = MapAccess::<S> {
                    entries,
                    value: None,
                    key: "",
                };
                let len = map.entries.len();
                let value = visitor.visit_map(&mut map)?;
                match map.entries.len() {
                    0 => Ok(value),
                    left => Err(SerdeError::trailing(len - left, len)),
                }
            }
        }
    }

    integers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.source.node() {
            Node::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.source.node() {
            // A `Vec<u8>` (or `[u8; N]`) without `serde_bytes` asks for a sequence.
            Node::Bytes(b) => {
                let mut seq = de::value::SeqDeserializer::<_, SerdeError>::new(b.iter().copied());
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        match self.source.node() {
            Node::Str(variant) => visitor.visit_enum(EnumAccess::<S> {
                variant,
                content: None,
            }),
            Node::Map(mut entries) if entries.len() == 1 => {
                let (variant, content) = entries.next().ok_or_else(|| {
                    <SerdeError as de::Error>::custom("a map of one entry had none")
                })?;
                visitor
                    .visit_enum(EnumAccess {
                        variant,
                        content: Some(content),
                    })
                    .map_err(|e| e.at_key(variant))
            }
            node => Err(de::Error::invalid_type(
                unexpected(&node),
                &"a variant name or a map of one entry",
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool f32 f64 char str string bytes byte_buf unit unit_struct map struct identifier
    }
}

/// The items of an array, each read by its own [`Deserializer`].
struct SeqAccess<I> {
    items: I,
    /// The index of the next item, for error paths.
    next: usize,
    len: usize,
}

impl<'de, I, T> de::SeqAccess<'de> for SeqAccess<I>
where
    I: ExactSizeIterator<Item = T>,
    T: Source<'de>,
{
    type Error = SerdeError;

    fn next_element_seed<E: DeserializeSeed<'de>>(
        &mut self,
        seed: E,
    ) -> Result<Option<E::Value>, SerdeError> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let i = self.next;
        self.next += 1;
        seed.deserialize(Deserializer::new(item))
            .map(Some)
            .map_err(|e| e.at_index(i))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// The entries of a map: keys by [`KeyDeserializer`], values by [`Deserializer`].
struct MapAccess<'de, S: Source<'de>> {
    entries: S::Entries,
    /// The value of the key just read.
    value: Option<S>,
    /// The key just read, for error paths.
    key: &'de str,
}

impl<'de, S: Source<'de>> de::MapAccess<'de> for MapAccess<'de, S> {
    type Error = SerdeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, SerdeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.key = key;
        self.value = Some(value);
        seed.deserialize(KeyDeserializer(key))
            .map(Some)
            .map_err(|e| e.at_key(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, SerdeError> {
        let value = self.value.take().ok_or_else(|| {
            <SerdeError as de::Error>::custom("next_value called before next_key")
        })?;
        seed.deserialize(Deserializer::new(value))
            .map_err(|e| e.at_key(self.key))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An externally tagged enum: the variant's name, and its content unless it is a unit
/// variant written as a bare string.
struct EnumAccess<'de, S> {
    variant: &'de str,
    content: Option<S>,
}

impl<'de, S: Source<'de>> de::EnumAccess<'de> for EnumAccess<'de, S> {
    type Error = SerdeError;
    type Variant = VariantAccess<S>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantAccess<S>), SerdeError> {
        let variant = seed.deserialize(KeyDeserializer(self.variant))?;
        Ok((
            variant,
            VariantAccess {
                content: self.content,
            },
        ))
    }
}

/// The content of a variant.
struct VariantAccess<S> {
    content: Option<S>,
}

impl<'de, S: Source<'de>> VariantAccess<S> {
    fn content(self, expected: &str) -> Result<Deserializer<S>, SerdeError> {
        self.content
            .map(Deserializer::new)
            .ok_or_else(|| de::Error::invalid_type(de::Unexpected::UnitVariant, &expected))
    }
}

impl<'de, S: Source<'de>> de::VariantAccess<'de> for VariantAccess<S> {
    type Error = SerdeError;

    fn unit_variant(self) -> Result<(), SerdeError> {
        match self.content {
            None => Ok(()),
            // `{"Variant": null}` is a unit variant too, as serde_json reads it.
            Some(content) => de::Deserialize::deserialize(Deserializer::new(content)),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, SerdeError> {
        seed.deserialize(self.content("a newtype variant")?)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        de::Deserializer::deserialize_seq(self.content("a tuple variant")?, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        de::Deserializer::deserialize_map(self.content("a struct variant")?, visitor)
    }
}
