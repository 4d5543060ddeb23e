//! Typed arguments with [serde](https://serde.rs) (feature `serde`): any `Serialize` type
//! into a [`Value`](crate::Value) with [`to_value`], a [`Value`](crate::Value) back into any
//! `Deserialize` type with [`from_value`] / [`from_value_ref`], and a received argument list
//! straight into a tuple or struct with [`ArgsView::deserialize`](crate::ArgsView::deserialize)
//! (one argument: [`ValueRef::deserialize`](crate::ValueRef::deserialize)), borrowing strings
//! and bytes from the message.
//!
//! ```
//! use electrode::serde::{from_value, to_value};
//! use electrode::Value;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! enum Shape {
//!     Circle { r: f64 },
//!     Square(u32),
//!     Empty,
//! }
//!
//! let v = to_value(&vec![Shape::Circle { r: 1.5 }, Shape::Square(2), Shape::Empty])?;
//! assert_eq!(v.to_string(), r#"[{"Circle":{"r":1.5}},{"Square":2},"Empty"]"#);
//! let back: Vec<Shape> = from_value(v)?;
//! assert_eq!(back[1], Shape::Square(2));
//!
//! let err = from_value::<Vec<Shape>>(Value::array([Value::map([("Square", "two")])]));
//! assert_eq!(
//!     err.unwrap_err().to_string(),
//!     r#"[0].Square: invalid type: string "two", expected u32"#
//! );
//! # Ok::<(), electrode::serde::SerdeError>(())
//! ```
//!
//! In a handler, the arguments are read in place and a [`SerdeError`] becomes the renderer's
//! `TypeError` through `?`:
//!
//! ```
//! use electrode::serde::to_value;
//! use electrode::{Main, Value};
//!
//! let main = Main::new()?;
//! main.ipc().handle("greet", |_event, args| {
//!     let (name, times): (&str, usize) = args.deserialize()?;
//!     Ok(to_value(&name.repeat(times))?)
//! })?;
//! let (_wc, renderer) = main.connect_in_process()?;
//! let hi = renderer.invoke_blocking("greet", &[to_value("hi")?, to_value(&2)?])?;
//! assert_eq!(hi, Value::from("hihi"));
//! let err = renderer.invoke_blocking("greet", &[to_value(&1)?]).unwrap_err();
//! assert!(err.to_string().ends_with("TypeError: args[0]: invalid type: integer `1`, expected a borrowed string"), "{err}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The mapping
//!
//! | Rust (serde data model) | [`Value`](crate::Value) | Back |
//! | --- | --- | --- |
//! | `bool` | `Bool` | `Bool` |
//! | `i8` … `i64`, `u8` … `u32` | `Int` | `Int`; also a `Float` with no fractional part (`3.0`), as a JavaScript sender has only numbers; range checked, never wrapped |
//! | `u64`, `i128`, `u128` | `Int` when the number fits an `i64`, otherwise [`SerdeError::IntOutOfRange`] | as above |
//! | `f32`, `f64` | `Float` | `Float` or `Int` (converted) |
//! | `char`, `&str`, `String` | `String` | `String` (`&str` borrowed; `char` from a one-character string) |
//! | bytes (`serialize_bytes`: [`bytes`], `serde_bytes`) | `Bytes` | `Bytes` (`&[u8]` borrowed); `Vec<u8>` also reads `Bytes`, and [`bytes`] also reads an array of integers |
//! | `Vec<T>`, slices, sets, tuples, tuple structs | `Array` | `Array` |
//! | `Option<T>` | `None` → `Null`, `Some(x)` → `x` | `Null` → `None`, anything else → `Some` (so `Some(None)` comes back as `None`, as in JSON) |
//! | `()`, unit structs | `Null` | `Null` |
//! | newtype structs | the inner value | the inner value |
//! | structs | `Map`, fields in declaration order | `Map`, fields by name (any order) |
//! | maps | `Map`, in the map's iteration order (a `BTreeMap` sorted, a `HashMap` arbitrary); keys must be strings, or integers, `bool`s, `char`s or unit variants, which are written as strings as JSON does; any other key is [`SerdeError::KeyNotString`] | keys parsed back into the key type |
//! | enum, unit variant | `String`: the variant's name | `String`, or a one-entry `Map` with `Null` |
//! | enum, newtype / tuple / struct variant | one-entry `Map`: name → value / `Array` / `Map` | the same |
//! | an [`ArgsView`](crate::ArgsView) (reading only) | | the argument list as a sequence: a tuple takes arguments 0, 1, …; a struct takes one argument per field, **positionally**, in declaration order; `()` takes no arguments |
//!
//! Enums are externally tagged, as in `serde_json`; serde's `tag`, `content` and `untagged`
//! attributes work too. An array (or argument list) with more items than a tuple or struct
//! reads is an error ([`SerdeError::TrailingItems`]), as are fewer. `Value` itself implements
//! `Serialize` and `Deserialize` (and [`ValueRef`](crate::ValueRef) and
//! [`ArgsView`](crate::ArgsView) `Serialize`), so it travels through any serde format:
//! `serde_json::to_string(&value)` writes JSON, bytes as arrays of numbers.
//!
//! ## Errors
//!
//! A [`SerdeError`] names the path to the value that failed: `args[1].name: invalid type:
//! integer `3`, expected a string`; keys that are not identifiers are quoted
//! (`["a key"]`). Nothing is spent on the path until something fails.

mod de;
mod error;
mod key;
mod ser;
mod value;
mod view;

pub mod bytes;

pub use self::de::{from_value, from_value_ref, Deserializer};
pub use self::error::SerdeError;
pub use self::ser::{
    to_value, SerializeArray, SerializeMap, SerializeStruct, SerializeStructVariant,
    SerializeTupleVariant, Serializer,
};
pub use self::view::ArgsDeserializer;
