//! [`Value`] (and the views of a message) as serde data: `Serialize` for [`Value`],
//! [`ValueRef`] and [`ArgsView`], `Deserialize` for [`Value`], so any serde format can carry
//! them, and a received message can be re-encoded without first copying it into a [`Value`].

use std::fmt;

use serde::de::{self, Deserialize, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::value::Value;
use crate::wire::{ArgsView, ValueRef};

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(x) => s.serialize_f64(*x),
            Value::String(v) => s.serialize_str(v),
            Value::Bytes(b) => s.serialize_bytes(b),
            Value::Array(items) => s.collect_seq(items),
            Value::Map(entries) => s.collect_map(entries.iter().map(|(k, v)| (k, v))),
        }
    }
}

impl Serialize for ValueRef<'_> {
    /// As the [`Value`] it equals.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            ValueRef::Null => s.serialize_unit(),
            ValueRef::Bool(b) => s.serialize_bool(b),
            ValueRef::Int(i) => s.serialize_i64(i),
            ValueRef::Float(x) => s.serialize_f64(x),
            ValueRef::Str(v) => s.serialize_str(v),
            ValueRef::Bytes(b) => s.serialize_bytes(b),
            ValueRef::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for item in a.iter() {
                    seq.serialize_element(&item)?;
                }
                seq.end()
            }
            ValueRef::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m.iter() {
                    map.serialize_entry(k, &v)?;
                }
                map.end()
            }
        }
    }
}

impl Serialize for ArgsView<'_> {
    /// As a sequence of its arguments.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for arg in self.iter() {
            seq.serialize_element(&arg)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Value {
    /// Whatever the format holds: unit and `None` as [`Value::Null`], every integer that fits
    /// an `i64` as [`Value::Int`] (larger ones are an error), sequences as arrays, maps (with
    /// string keys) as maps in the format's order.
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// Builds a [`Value`] from whatever the format offers.
struct ValueVisitor;

fn int<E: de::Error>(i: impl TryInto<i64> + Copy + fmt::Display) -> Result<Value, E> {
    i.try_into()
        .map(Value::Int)
        .map_err(|_| E::custom(format_args!("integer {i} does not fit an i64")))
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any electrode value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        int(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        int(v)
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        int(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v))
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // Never trust a size hint for more than a little memory.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(entry) = map.next_entry::<String, Value>()? {
            entries.push(entry);
        }
        Ok(Value::Map(entries))
    }
}
