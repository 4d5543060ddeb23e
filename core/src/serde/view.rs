//! Deserializing straight out of a received message: [`ArgsView::deserialize`] (the argument
//! list as a tuple or struct) and [`ValueRef::deserialize`] (one value), with
//! [`ArgsDeserializer`] underneath. Strings and bytes are borrowed from the message, so a type
//! with `&'a str` / `&'a [u8]` fields reads them without a copy.

use serde::de::{self, Visitor};
use serde::Deserialize;

use super::de::sealed::{Node, Source};
use super::de::{visit_array, Deserializer};
use super::error::SerdeError;
use crate::wire::{ArgsView, Iter, MapIter, ValueRef};

impl<'de> Source<'de> for ValueRef<'de> {
    type Items = Iter<'de>;
    type Entries = MapIter<'de>;
    fn node(self) -> Node<'de, Self> {
        match self {
            ValueRef::Null => Node::Null,
            ValueRef::Bool(b) => Node::Bool(b),
            ValueRef::Int(i) => Node::Int(i),
            ValueRef::Float(x) => Node::Float(x),
            ValueRef::Str(s) => Node::Str(s),
            ValueRef::Bytes(b) => Node::Bytes(b),
            ValueRef::Array(a) => Node::Array(a.iter()),
            ValueRef::Map(m) => Node::Map(m.iter()),
        }
    }
}

impl<'a> ValueRef<'a> {
    /// Reads this value as a `T`, by the rules in the [`serde` module docs](crate::serde);
    /// `T` may borrow strings and bytes from the message. Errors name the path inside this
    /// value (`.name`, `[2]`).
    ///
    /// ```
    /// use electrode::wire::encode_to_vec;
    /// use electrode::{args, ArgsView, Value};
    ///
    /// let bytes = encode_to_vec(&args![Value::map([("x", 1), ("y", 2)])])?;
    /// let view = ArgsView::new(&bytes)?;
    /// let point: std::collections::BTreeMap<&str, i32> = view.get(0).unwrap().deserialize()?;
    /// assert_eq!(point["y"], 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn deserialize<T: Deserialize<'a>>(&self) -> Result<T, SerdeError> {
        T::deserialize(Deserializer::new(*self))
    }
}

impl<'a> ArgsView<'a> {
    /// Reads the argument list as a `T`: the arguments are a sequence, so a tuple takes them
    /// in order, `Vec<T>` takes them all, and a struct takes one per field in declaration
    /// order (positionally, not by name). More arguments than `T` reads is an error, as are
    /// fewer. Strings and bytes are borrowed from the message. Errors name the argument:
    /// `args[1].name: invalid type: ...`.
    ///
    /// ```
    /// use electrode::wire::encode_to_vec;
    /// use electrode::{args, ArgsView};
    ///
    /// let bytes = encode_to_vec(&args!["open", 3])?;
    /// let view = ArgsView::new(&bytes)?;
    /// let (verb, n): (&str, u32) = view.deserialize()?;
    /// assert_eq!((verb, n), ("open", 3));
    ///
    /// let err = view.deserialize::<(&str, String)>().unwrap_err();
    /// assert_eq!(err.to_string(), "args[1]: invalid type: integer `3`, expected a string");
    /// let err = view.deserialize::<(&str,)>().unwrap_err();
    /// assert_eq!(err.to_string(), "args: expected 1 item, found 2");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn deserialize<T: Deserialize<'a>>(&self) -> Result<T, SerdeError> {
        T::deserialize(ArgsDeserializer::new(*self))
    }
}

/// A [`serde::Deserializer`] reading an argument list as a sequence; see
/// [`ArgsView::deserialize`], the usual way in.
#[derive(Clone, Copy, Debug)]
pub struct ArgsDeserializer<'de> {
    args: ArgsView<'de>,
}

impl<'de> ArgsDeserializer<'de> {
    /// A deserializer reading `args`.
    pub fn new(args: ArgsView<'de>) -> Self {
        ArgsDeserializer { args }
    }
}

impl<'de> de::Deserializer<'de> for ArgsDeserializer<'de> {
    type Error = SerdeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        visit_array(self.args.iter(), visitor).map_err(|e| e.at_root("args"))
    }

    /// `()`: no arguments.
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.args.len() {
            0 => visitor.visit_unit(),
            n => Err(SerdeError::trailing(0, n).at_root("args")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option seq tuple tuple_struct map struct enum identifier
    }
}
