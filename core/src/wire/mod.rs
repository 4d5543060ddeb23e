//! The wire form of an argument list: a flat, rkyv-archived node table that the receiver
//! validates once and then reads in place.
//!
//! # Layout
//!
//! An argument list is archived as a [`WireArgs`]: a table of [`WireNode`]s whose first `roots`
//! entries are the arguments. A container does not hold its children; it names a range of the
//! table: an [`WireNode::Array`]'s items are nodes `first..first + len`, a [`WireNode::Map`]'s
//! entries are the `len` (key, value) pairs at nodes `first..first + 2 * len`, each key a
//! [`WireNode::Str`]. [`encode`](fn@encode) lays the table out breadth-first.
//!
//! The type has no recursion, so rkyv's validation (bytecheck) is flat; [`ArgsView::new`] then
//! checks the tree structure in one forward pass without recursion: every child range lies
//! strictly after its container and inside the table, every node other than the arguments has
//! exactly one parent (no shared subtrees, so converting a message to owned values costs no more
//! than its size), map keys are strings, and nesting is at most [`MAX_DEPTH`] levels. A hostile
//! peer therefore can neither overflow the receiver's stack nor make it do more work than the
//! message's length allows.
//!
//! Strings and byte buffers are borrowed from the message: [`ValueRef::Str`] and
//! [`ValueRef::Bytes`] point into the validated bytes.
//!
//! ```
//! use electrode::args;
//! use electrode::wire::{encode_to_vec, ArgsView, ValueRef};
//!
//! let bytes = encode_to_vec(&args!["hello", vec![1u8, 2, 3], (1, 2.5)]).unwrap();
//! let view = ArgsView::new(&bytes).unwrap();
//! assert_eq!(view.len(), 3);
//! assert_eq!(view.get(0).and_then(|v| v.as_str()), Some("hello"));
//! assert!(matches!(view.get(1), Some(ValueRef::Bytes(&[1, 2, 3]))));
//! assert_eq!(view.to_values(), args!["hello", vec![1u8, 2, 3], (1, 2.5)]);
//! ```
//!
//! # The module's files
//!
//! - `format.rs`: the archived types and their size/alignment asserts;
//! - `encode.rs`: sizing ([`encoded_len_hint`], `plan`) and writing ([`encode`](fn@encode)
//!   and friends);
//! - `validate.rs`: what [`ArgsView::new`] checks, and [`WireError`];
//! - `view.rs`: reading a validated message in place ([`ArgsView`], [`ValueRef`], ...);
//! - `path.rs`: value paths (`args[1].foo[3]`) in the errors of both directions.
#![forbid(unsafe_code)]

mod encode;
// rkyv's derive leaves the named fields of the generated resolver enum undocumented.
#[allow(missing_docs)]
mod format;
mod path;
#[cfg(test)]
mod testkit;
mod validate;
mod view;

pub use self::encode::{encode, encode_into, encode_to_vec, encoded_len_hint, EncodeError};
pub(crate) use self::encode::{encode_planned, plan, Plan};
pub use self::format::{
    ArchivedWireArgs, ArchivedWireNode, WireArgs, WireArgsResolver, WireNode, WireNodeResolver,
};
pub use self::validate::WireError;
pub use self::view::{ArgsView, ArrayRef, Iter, MapIter, MapRef, ValueRef};

/// The deepest nesting a message may have: the number of values on the path from an argument
/// (level 1) down to its most deeply nested value, inclusive.
pub const MAX_DEPTH: usize = 128;

/// The largest archive [`encode`](fn@encode) produces (1 GiB). Larger argument lists fail with
/// [`EncodeError::TooLarge`].
pub const MAX_ENCODED_LEN: usize = 1 << 30;

/// The alignment the encoded bytes need when they are read in place ([`ArgsView::new`]).
pub const WIRE_ALIGN: usize = 16;

// Validation keeps each node's depth in a `u8`: one level past the limit must still fit.
const _: () = assert!(MAX_DEPTH < u8::MAX as usize);
// Every node takes 16 bytes of an archive of at most `MAX_ENCODED_LEN`, so node indices and
// counts of an encodable table fit the format's `u32`s.
const _: () = assert!(MAX_ENCODED_LEN / format::NODE_SIZE <= u32::MAX as usize);

#[cfg(test)]
mod tests {
    //! End to end: values through `encode*`, validation and the views, and back.

    use super::testkit::{all_kinds, round_trip};
    use super::ArgsView;

    #[test]
    fn every_kind_round_trips() {
        round_trip(&all_kinds());
    }

    #[test]
    fn empty_argument_list_round_trips() {
        let bytes = round_trip(&[]);
        let view = ArgsView::new(&bytes).unwrap();
        assert!(view.is_empty());
        assert!(view.get(0).is_none());
    }
}
