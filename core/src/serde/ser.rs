//! [`to_value`] and [`Serializer`]: any `Serialize` type into a [`Value`].

use serde::ser::{self, Serialize};

use super::error::SerdeError;
use super::key::KeySerializer;
use crate::value::Value;

/// Converts `value` into a [`Value`], by the rules in the [module docs](super).
///
/// ```
/// use electrode::serde::to_value;
/// use electrode::Value;
///
/// assert_eq!(to_value(&(1u8, "two"))?, Value::from((1, "two")));
/// assert!(to_value(&u64::MAX).is_err());
/// # Ok::<(), electrode::serde::SerdeError>(())
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, SerdeError> {
    value.serialize(Serializer)
}

/// A [`serde::Serializer`] whose output is a [`Value`]. [`to_value`] is the usual way in.
#[derive(Clone, Copy, Debug, Default)]
pub struct Serializer;

fn int(i: impl TryInto<i64> + Copy + std::fmt::Display) -> Result<Value, SerdeError> {
    i.try_into()
        .map(Value::Int)
        .map_err(|_| SerdeError::int_out_of_range(i))
}

impl ser::Serializer for Serializer {
    type Ok = Value;
    type Error = SerdeError;
    type SerializeSeq = SerializeArray;
    type SerializeTuple = SerializeArray;
    type SerializeTupleStruct = SerializeArray;
    type SerializeTupleVariant = SerializeTupleVariant;
    type SerializeMap = SerializeMap;
    type SerializeStruct = SerializeStruct;
    type SerializeStructVariant = SerializeStructVariant;

    fn serialize_bool(self, v: bool) -> Result<Value, SerdeError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, SerdeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, SerdeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, SerdeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, SerdeError> {
        Ok(Value::Int(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, SerdeError> {
        int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Value, SerdeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, SerdeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, SerdeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, SerdeError> {
        int(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Value, SerdeError> {
        int(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Value, SerdeError> {
        Ok(Value::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, SerdeError> {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, SerdeError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, SerdeError> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, SerdeError> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Value, SerdeError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, SerdeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, SerdeError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, SerdeError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, SerdeError> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, SerdeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, SerdeError> {
        let inner = value.serialize(self).map_err(|e| e.at_key(variant))?;
        Ok(Value::Map(vec![(variant.to_owned(), inner)]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SerializeArray, SerdeError> {
        Ok(SerializeArray {
            items: Vec::with_capacity(len.unwrap_or(0)),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SerializeArray, SerdeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SerializeArray, SerdeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SerializeTupleVariant, SerdeError> {
        Ok(SerializeTupleVariant {
            variant,
            items: SerializeArray {
                items: Vec::with_capacity(len),
            },
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<SerializeMap, SerdeError> {
        Ok(SerializeMap {
            entries: Vec::with_capacity(len.unwrap_or(0)),
            key: None,
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SerializeStruct, SerdeError> {
        Ok(SerializeStruct {
            entries: Vec::with_capacity(len),
        })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SerializeStructVariant, SerdeError> {
        Ok(SerializeStructVariant {
            variant,
            fields: SerializeStruct {
                entries: Vec::with_capacity(len),
            },
        })
    }
}

/// Builds a [`Value::Array`]: sequences, tuples and tuple structs.
#[derive(Debug)]
pub struct SerializeArray {
    items: Vec<Value>,
}

impl SerializeArray {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        let i = self.items.len();
        self.items
            .push(value.serialize(Serializer).map_err(|e| e.at_index(i))?);
        Ok(())
    }
}

impl ser::SerializeSeq for SerializeArray {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerdeError> {
        Ok(Value::Array(self.items))
    }
}

impl ser::SerializeTuple for SerializeArray {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerdeError> {
        Ok(Value::Array(self.items))
    }
}

impl ser::SerializeTupleStruct for SerializeArray {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerdeError> {
        Ok(Value::Array(self.items))
    }
}

/// Builds `{ "Variant": [items...] }` for a tuple variant.
#[derive(Debug)]
pub struct SerializeTupleVariant {
    variant: &'static str,
    items: SerializeArray,
}

impl ser::SerializeTupleVariant for SerializeTupleVariant {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.items.push(value).map_err(|e| e.at_key(self.variant))
    }
    fn end(self) -> Result<Value, SerdeError> {
        let items = Value::Array(self.items.items);
        Ok(Value::Map(vec![(self.variant.to_owned(), items)]))
    }
}

/// Builds a [`Value::Map`] from a map, keys turned into strings (see the [module docs](super)).
#[derive(Debug)]
pub struct SerializeMap {
    entries: Vec<(String, Value)>,
    /// The key `serialize_key` gave, waiting for its value.
    key: Option<String>,
}

impl ser::SerializeMap for SerializeMap {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerdeError> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        let key = self.key.take().ok_or_else(|| {
            <SerdeError as ser::Error>::custom("serialize_value called before serialize_key")
        })?;
        let value = value.serialize(Serializer).map_err(|e| e.at_key(&key))?;
        self.entries.push((key, value));
        Ok(())
    }
    fn end(self) -> Result<Value, SerdeError> {
        Ok(Value::Map(self.entries))
    }
}

/// Builds a [`Value::Map`] from a struct, fields in declaration order.
#[derive(Debug)]
pub struct SerializeStruct {
    entries: Vec<(String, Value)>,
}

impl ser::SerializeStruct for SerializeStruct {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SerdeError> {
        let value = value.serialize(Serializer).map_err(|e| e.at_key(key))?;
        self.entries.push((key.to_owned(), value));
        Ok(())
    }
    fn end(self) -> Result<Value, SerdeError> {
        Ok(Value::Map(self.entries))
    }
}

/// Builds `{ "Variant": { fields... } }` for a struct variant.
#[derive(Debug)]
pub struct SerializeStructVariant {
    variant: &'static str,
    fields: SerializeStruct,
}

impl ser::SerializeStructVariant for SerializeStructVariant {
    type Ok = Value;
    type Error = SerdeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SerdeError> {
        ser::SerializeStruct::serialize_field(&mut self.fields, key, value)
            .map_err(|e| e.at_key(self.variant))
    }
    fn end(self) -> Result<Value, SerdeError> {
        let fields = Value::Map(self.fields.entries);
        Ok(Value::Map(vec![(self.variant.to_owned(), fields)]))
    }
}
