//! Map keys. [`Value::Map`](crate::Value::Map) keys are strings: [`KeySerializer`] turns
//! strings, chars, integers, booleans and unit variants into one (as JSON does) and refuses the
//! rest; [`KeyDeserializer`] reads a key back into whichever of those the type asks for.

use serde::de::{self, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;
use serde::ser::{self, Impossible, Serialize};

use super::error::SerdeError;

/// Serializes a map key into its string.
pub(crate) struct KeySerializer;

type Refused = Impossible<String, SerdeError>;

fn refuse<T>(kind: &'static str) -> Result<T, SerdeError> {
    Err(SerdeError::key_not_string(kind))
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = SerdeError;
    type SerializeSeq = Refused;
    type SerializeTuple = Refused;
    type SerializeTupleStruct = Refused;
    type SerializeTupleVariant = Refused;
    type SerializeMap = Refused;
    type SerializeStruct = Refused;
    type SerializeStructVariant = Refused;

    fn serialize_bool(self, v: bool) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, _v: f32) -> Result<String, SerdeError> {
        refuse("a float")
    }
    fn serialize_f64(self, _v: f64) -> Result<String, SerdeError> {
        refuse("a float")
    }
    fn serialize_char(self, v: char) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, SerdeError> {
        Ok(v.to_owned())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, SerdeError> {
        refuse("bytes")
    }
    fn serialize_none(self) -> Result<String, SerdeError> {
        refuse("none")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String, SerdeError> {
        refuse("an option")
    }
    fn serialize_unit(self) -> Result<String, SerdeError> {
        refuse("unit")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, SerdeError> {
        refuse("a unit struct")
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, SerdeError> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, SerdeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, SerdeError> {
        refuse("a newtype variant")
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Refused, SerdeError> {
        refuse("a sequence")
    }
    fn serialize_tuple(self, _len: usize) -> Result<Refused, SerdeError> {
        refuse("a tuple")
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Refused, SerdeError> {
        refuse("a tuple struct")
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Refused, SerdeError> {
        refuse("a tuple variant")
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Refused, SerdeError> {
        refuse("a map")
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Refused, SerdeError> {
        refuse("a struct")
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Refused, SerdeError> {
        refuse("a struct variant")
    }
}

/// Deserializes a map key (a string borrowed from the value or the message): as a string by
/// default, parsed when the type asks for a number or a boolean.
pub(crate) struct KeyDeserializer<'de>(pub(crate) &'de str);

impl KeyDeserializer<'_> {
    fn parse<T: std::str::FromStr>(&self, what: &dyn de::Expected) -> Result<T, SerdeError> {
        self.0
            .parse()
            .map_err(|_| de::Error::invalid_value(de::Unexpected::Str(self.0), what))
    }
}

macro_rules! parse_key {
    ($($method:ident $visit:ident $t:ty, $what:literal;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
            let n: $t = self.parse(&$what)?;
            visitor.$visit(n)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for KeyDeserializer<'de> {
    type Error = SerdeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        visitor.visit_borrowed_str(self.0)
    }

    parse_key! {
        deserialize_bool visit_bool bool, "a boolean key";
        deserialize_i8 visit_i8 i8, "an i8 key";
        deserialize_i16 visit_i16 i16, "an i16 key";
        deserialize_i32 visit_i32 i32, "an i32 key";
        deserialize_i64 visit_i64 i64, "an i64 key";
        deserialize_i128 visit_i128 i128, "an i128 key";
        deserialize_u8 visit_u8 u8, "a u8 key";
        deserialize_u16 visit_u16 u16, "a u16 key";
        deserialize_u32 visit_u32 u32, "a u32 key";
        deserialize_u64 visit_u64 u64, "a u64 key";
        deserialize_u128 visit_u128 u128, "a u128 key";
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        visitor.visit_enum(self.0.into_deserializer())
    }

    forward_to_deserialize_any! {
        f32 f64 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}
