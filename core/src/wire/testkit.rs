//! Test helpers shared by the wire module's tests: a full round trip with its checks, an
//! argument list of every kind, and deeply nested values.

use rkyv::util::AlignedVec;

use super::{encode_into, encode_to_vec, encoded_len_hint, ArgsView, WIRE_ALIGN};
use crate::args;
use crate::value::Value;

/// Encodes `args` (both ways: [`encode_to_vec`] and [`encode_into`] a slice of exactly
/// [`encoded_len_hint`] bytes, which must agree), validates and reads them back, and checks
/// the views against the values (equality and `Display`). Returns the encoded bytes.
pub(super) fn round_trip(args: &[Value]) -> AlignedVec<WIRE_ALIGN> {
    let bytes = encode_to_vec(args).expect("encode");
    assert!(
        bytes.len() <= encoded_len_hint(args),
        "hint {} < encoded {}",
        encoded_len_hint(args),
        bytes.len()
    );
    let view = ArgsView::new(&bytes).expect("validate");
    assert_eq!(view.len(), args.len());
    assert_eq!(view.to_values(), args);
    for (r, v) in view.iter().zip(args) {
        assert_eq!(r, *v);
        assert_eq!(r.to_string(), v.to_string());
    }
    // The same bytes, written into a caller's slice of exactly the hinted size.
    let mut slot = AlignedVec::<WIRE_ALIGN>::new();
    slot.resize(encoded_len_hint(args), 0xAA);
    let n = encode_into(args, &mut slot).expect("encode_into");
    assert_eq!(&slot[..n], &bytes[..]);
    bytes
}

/// An argument list with every kind of value, nested containers and duplicate map keys.
pub(super) fn all_kinds() -> Vec<Value> {
    args![
        (),
        true,
        false,
        -7,
        i64::MAX,
        i64::MIN,
        0.5,
        f64::INFINITY,
        "",
        "short",
        "a string longer than eight bytes",
        Vec::<u8>::new(),
        vec![1u8, 2, 3],
        Value::array([1, 2, 3]),
        Value::Array(vec![]),
        Value::Map(vec![]),
        Value::map([
            ("a", Value::from(1)),
            ("nested", Value::map([("x", Value::array([Value::Null]))])),
            ("bytes", Value::from(vec![9u8; 20])),
            ("a", Value::from("duplicate keys are kept")),
        ]),
        Value::array([
            Value::array([Value::array([Value::map([("deep", true)])])]),
            Value::from("tail"),
        ]),
    ]
}

/// `leaf` nested `depth` levels deep (`depth - 1` one-item arrays around it).
pub(super) fn nested(depth: usize, leaf: Value) -> Value {
    let mut v = leaf;
    for _ in 1..depth {
        v = Value::Array(vec![v]);
    }
    v
}
