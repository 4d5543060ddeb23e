//! The `serde` feature: `to_value` / `from_value` round trips, the mapping rules, error paths,
//! zero-copy reads out of a message, and a typed handler end to end.
#![cfg(feature = "serde")]

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use electrode::serde::{from_value, from_value_ref, to_value, SerdeError};
use electrode::wire::encode_to_vec;
use electrode::{args, ArgsView, CallError, Main, Value};
use serde::{Deserialize, Serialize};

/// `to_value` then `from_value`, asserting the value comes back equal.
fn round_trip<T>(x: &T) -> Value
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let v = to_value(x).unwrap();
    let back: T = from_value(v.clone()).unwrap();
    assert_eq!(&back, x, "via {v}");
    v
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct User {
    name: String,
    age: u8,
    tags: Vec<String>,
    home: Option<Point>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
enum Event {
    Quit,
    Key(char),
    Move(i32, i32),
    Resize { w: u32, h: u32 },
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Blob {
    #[serde(with = "electrode::serde::bytes")]
    data: Vec<u8>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Meters(f64);

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Marker;

#[test]
fn structs_become_maps_in_field_order() {
    let u = User {
        name: "Ada".into(),
        age: 36,
        tags: vec!["math".into(), "engines".into()],
        home: Some(Point { x: 1, y: -2 }),
    };
    let v = round_trip(&u);
    assert_eq!(
        v.to_string(),
        r#"{"name":"Ada","age":36,"tags":["math","engines"],"home":{"x":1,"y":-2}}"#
    );
    // Fields are read by name, in any order.
    let shuffled = Value::map([("y", 5), ("x", 4)]);
    assert_eq!(from_value::<Point>(shuffled).unwrap(), Point { x: 4, y: 5 });
}

#[test]
fn enums_are_externally_tagged() {
    assert_eq!(round_trip(&Event::Quit), Value::from("Quit"));
    assert_eq!(
        round_trip(&Event::Key('k')),
        Value::map([("Key", Value::from("k"))])
    );
    assert_eq!(
        round_trip(&Event::Move(3, -4)),
        Value::map([("Move", Value::array([3, -4]))])
    );
    assert_eq!(
        round_trip(&Event::Resize { w: 640, h: 480 }),
        Value::map([("Resize", Value::map([("w", 640), ("h", 480)]))])
    );
    // A unit variant also reads from `{"Quit": null}`, as serde_json reads it.
    let v = Value::map([("Quit", Value::Null)]);
    assert_eq!(from_value::<Event>(v).unwrap(), Event::Quit);
    let err = from_value::<Event>(Value::from("Jump")).unwrap_err();
    assert!(err.to_string().contains("unknown variant `Jump`"), "{err}");
    let err = from_value::<Event>(Value::map([("Move", 1), ("Key", 2)])).unwrap_err();
    assert!(matches!(err, SerdeError::InvalidType { .. }), "{err}");
}

#[test]
fn other_enum_representations_work_too() {
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    #[serde(tag = "type")]
    enum Tagged {
        Open { path: String },
        Close,
    }
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    #[serde(tag = "t", content = "c")]
    enum Adjacent {
        Num(i32),
    }
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    #[serde(untagged)]
    enum Either {
        Num(i64),
        Text(String),
        Pair(Point, bool),
    }
    let v = round_trip(&Tagged::Open { path: "/x".into() });
    assert_eq!(v, Value::map([("type", "Open"), ("path", "/x")]));
    assert_eq!(round_trip(&Tagged::Close), Value::map([("type", "Close")]));
    let v = round_trip(&Adjacent::Num(-1));
    assert_eq!(
        v,
        Value::map([("t", Value::from("Num")), ("c", Value::from(-1))])
    );
    assert_eq!(round_trip(&Either::Num(1)), Value::Int(1));
    assert_eq!(round_trip(&Either::Text("a".into())), Value::from("a"));
    round_trip(&Either::Pair(Point { x: 1, y: 2 }, true));
    assert!(from_value::<Either>(Value::Float(0.5)).is_err());
}

#[test]
fn options_units_and_newtypes() {
    assert_eq!(round_trip(&None::<i32>), Value::Null);
    assert_eq!(round_trip(&Some(7)), Value::Int(7));
    assert_eq!(round_trip(&()), Value::Null);
    assert_eq!(round_trip(&Marker), Value::Null);
    assert_eq!(round_trip(&Meters(2.5)), Value::Float(2.5));
    // `Some(None)` collapses to `None`, as in JSON.
    let v = to_value(&Some(None::<i32>)).unwrap();
    assert_eq!(from_value::<Option<Option<i32>>>(v).unwrap(), None);
}

#[test]
fn sequences_strings_and_tuples() {
    assert_eq!(round_trip(&vec![1u16, 2, 3]), Value::array([1, 2, 3]));
    assert_eq!(round_trip(&String::from("héllo")), Value::from("héllo"));
    assert_eq!(round_trip(&'x'), Value::from("x"));
    assert_eq!(
        round_trip(&(1u8, "two".to_string(), 3.5f64, true)),
        Value::from((1, "two", 3.5, true))
    );
    assert_eq!(round_trip(&[1i64, 2]), Value::array([1, 2]));
    assert_eq!(round_trip(&Vec::<i32>::new()), Value::Array(vec![]));
    // Wrong lengths either way are errors.
    let err = from_value::<(i32, i32)>(Value::array([1, 2, 3])).unwrap_err();
    assert_eq!(
        err,
        SerdeError::TrailingItems {
            path: String::new(),
            expected: 2,
            found: 3
        }
    );
    let err = from_value::<(i32, i32)>(Value::array([1])).unwrap_err();
    assert!(err.to_string().contains("invalid length 1"), "{err}");
}

#[test]
fn nested_maps_keep_their_order_and_stringify_keys() {
    let mut inner = BTreeMap::new();
    inner.insert("b".to_string(), vec![Some(1), None]);
    inner.insert("a".to_string(), vec![]);
    let mut outer = BTreeMap::new();
    outer.insert("z".to_string(), inner.clone());
    outer.insert("m".to_string(), inner);
    let v = round_trip(&outer);
    assert_eq!(
        v.to_string(),
        r#"{"m":{"a":[],"b":[1,null]},"z":{"a":[],"b":[1,null]}}"#
    );

    // Integer, bool and char keys become strings, and parse back.
    let ints: BTreeMap<i32, &str> = [(-1, "neg"), (2, "two")].into_iter().collect();
    let v = to_value(&ints).unwrap();
    assert_eq!(v, Value::map([("-1", "neg"), ("2", "two")]));
    assert_eq!(from_value_ref::<BTreeMap<i32, &str>>(&v).unwrap(), ints);
    let bools: HashMap<bool, u8> = [(true, 1)].into_iter().collect();
    assert_eq!(to_value(&bools).unwrap(), Value::map([("true", 1)]));
    assert_eq!(
        from_value::<HashMap<bool, u8>>(Value::map([("true", 1)])).unwrap(),
        bools
    );
    let err = from_value::<HashMap<u8, u8>>(Value::map([("x1", 1)])).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"x1: invalid value: string "x1", expected a u8 key"#
    );
}

#[test]
fn non_string_keys_are_refused() {
    let mut m = BTreeMap::new();
    m.insert(vec![1, 2], "v");
    assert_eq!(
        to_value(&m).unwrap_err(),
        SerdeError::KeyNotString {
            path: String::new(),
            kind: "a sequence"
        }
    );
    // The path names where the map sits.
    struct FloatKeys;
    impl Serialize for FloatKeys {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map([(1.5f64, 1)])
        }
    }
    let err = to_value(&vec![FloatKeys]).unwrap_err();
    assert!(
        matches!(
            err,
            SerdeError::KeyNotString {
                kind: "a float",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.path(), "[0]");
}

#[test]
fn bytes_are_bytes_with_the_helper() {
    let v = round_trip(&Blob { data: vec![0, 255] });
    assert_eq!(v, Value::map([("data", vec![0u8, 255])]));
    // Without the helper serde writes a Vec<u8> as numbers, but reads it from bytes too.
    assert_eq!(to_value(&vec![1u8]).unwrap(), Value::array([1]));
    assert_eq!(
        from_value::<Vec<u8>>(Value::from(vec![4u8, 5])).unwrap(),
        vec![4, 5]
    );
    // Value::Bytes serializes as bytes, so a Value round trips through itself.
    let any = Value::map([
        ("b", Value::from(vec![1u8])),
        ("n", Value::Null),
        ("f", Value::Float(1.0)),
        ("a", Value::array([Value::from("s"), Value::Int(-1)])),
    ]);
    assert_eq!(round_trip(&any), any);
}

#[test]
fn integers_out_of_range_are_errors_not_wraps() {
    assert_eq!(to_value(&(i64::MAX as u64)).unwrap(), Value::Int(i64::MAX));
    let err = to_value(&(i64::MAX as u64 + 1)).unwrap_err();
    assert_eq!(
        err,
        SerdeError::IntOutOfRange {
            path: String::new(),
            value: "9223372036854775808".into()
        }
    );
    assert_eq!(
        to_value(&Point { x: 0, y: 0 }).unwrap(),
        Value::map([("x", 0), ("y", 0)])
    );
    let err = to_value(&BTreeMap::from([("big", vec![0, u64::MAX])])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "big[1]: integer 18446744073709551615 does not fit an i64"
    );
    assert_eq!(to_value(&-5i128).unwrap(), Value::Int(-5));
    assert!(to_value(&i128::MIN).is_err());
    // Reading: the target's range is checked.
    let err = from_value::<u8>(Value::Int(256)).unwrap_err();
    assert!(matches!(err, SerdeError::InvalidValue { .. }), "{err}");
    assert!(from_value::<u32>(Value::Int(-1)).is_err());
    assert_eq!(
        from_value::<u64>(Value::Int(i64::MAX)).unwrap(),
        i64::MAX as u64
    );
}

#[test]
fn floats_and_ints_convert_where_nothing_is_lost() {
    assert_eq!(from_value::<f64>(Value::Int(3)).unwrap(), 3.0);
    assert_eq!(from_value::<f32>(Value::Int(-2)).unwrap(), -2.0);
    // An integral float reads as an integer (a JavaScript sender has only numbers) ...
    assert_eq!(from_value::<u32>(Value::Float(3.0)).unwrap(), 3);
    assert_eq!(from_value::<i8>(Value::Float(-128.0)).unwrap(), -128);
    assert_eq!(
        from_value::<u64>(Value::Float(1e19)).unwrap(),
        10_000_000_000_000_000_000
    );
    // ... a fractional or out-of-range one does not.
    let err = from_value::<u32>(Value::Float(3.5)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid type: floating point `3.5`, expected u32"
    );
    assert!(from_value::<u8>(Value::Float(256.0)).is_err());
    assert!(from_value::<i64>(Value::Float(f64::NAN)).is_err());
    assert!(from_value::<i64>(Value::Float(1e30)).is_err());
    // Value keeps the kinds apart.
    assert_eq!(
        from_value::<Value>(Value::Float(3.0)).unwrap(),
        Value::Float(3.0)
    );
}

#[test]
fn wrong_types_name_their_path() {
    let v = Value::map([
        ("name", Value::from("Ada")),
        ("age", Value::from(36)),
        ("tags", Value::array([Value::from("a"), Value::from(9)])),
        ("home", Value::Null),
    ]);
    let err = from_value::<User>(v).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tags[1]: invalid type: integer `9`, expected a string"
    );
    assert_eq!(err.path(), ".tags[1]");

    let err = from_value::<User>(Value::map([("name", "x")])).unwrap_err();
    assert_eq!(err.to_string(), "missing field `age`");
    let err = from_value::<Vec<User>>(Value::array([Value::map([("name", "x")])])).unwrap_err();
    assert_eq!(
        err,
        SerdeError::MissingField {
            path: "[0]".into(),
            field: "age"
        }
    );

    // Keys that are not identifiers are quoted.
    let v = Value::map([("a key", Value::from("no"))]);
    let err = from_value::<HashMap<String, i32>>(v).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"["a key"]: invalid type: string "no", expected i32"#
    );
}

#[derive(Deserialize, Debug)]
struct Upload<'a> {
    name: &'a str,
    #[serde(borrow)]
    data: &'a [u8],
    size: u32,
}

#[test]
fn args_view_reads_tuples_and_structs_in_place() {
    let payload = vec![7u8; 64];
    let bytes = encode_to_vec(&args!["report.pdf", payload.clone(), 64]).unwrap();
    let buf = bytes.as_ptr_range();
    let view = ArgsView::new(&bytes).unwrap();

    let (name, data, size): (&str, &[u8], u32) = view.deserialize().unwrap();
    assert_eq!((name, data, size), ("report.pdf", &payload[..], 64));
    assert!(buf.contains(&name.as_ptr()), "the string was copied");
    assert!(buf.contains(&data.as_ptr()), "the bytes were copied");

    // A struct takes the arguments positionally, in field order.
    let up: Upload<'_> = view.deserialize().unwrap();
    assert_eq!((up.name, up.data.len(), up.size), ("report.pdf", 64, 64));
    assert!(buf.contains(&up.name.as_ptr()) && buf.contains(&up.data.as_ptr()));

    // Owned types work too, and so does one argument at a time.
    let (owned, _, _): (String, Vec<u8>, u64) = view.deserialize().unwrap();
    assert_eq!(owned, "report.pdf");
    assert_eq!(view.get(2).unwrap().deserialize::<u8>().unwrap(), 64);
    let all: Vec<Value> = view.deserialize().unwrap();
    assert_eq!(all, view.to_values());

    // Too many or too few arguments.
    let err = view.deserialize::<(&str, &[u8])>().unwrap_err();
    assert_eq!(err.to_string(), "args: expected 2 items, found 3");
    let err = view.deserialize::<(&str, &[u8], u32, bool)>().unwrap_err();
    assert!(
        err.to_string().starts_with("args: invalid length 3"),
        "{err}"
    );
    let empty = encode_to_vec(&args![]).unwrap();
    let none = ArgsView::new(&empty).unwrap();
    none.deserialize::<()>().unwrap();
    assert!(view.deserialize::<()>().is_err());
}

#[test]
fn args_view_errors_name_the_argument() {
    let bytes = encode_to_vec(&args![
        Value::map([("x", 1), ("y", 2)]),
        Value::map([("name", Value::Int(3))]),
    ])
    .unwrap();
    let view = ArgsView::new(&bytes).unwrap();

    #[derive(Deserialize, Debug)]
    struct Named<'a> {
        #[allow(dead_code)]
        name: &'a str,
    }
    let err = view.deserialize::<(Point, Named<'_>)>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "args[1].name: invalid type: integer `3`, expected a borrowed string"
    );
    assert_eq!(err.path(), "args[1].name");
    let (p, _): (Point, Value) = view.deserialize().unwrap();
    assert_eq!(p, Point { x: 1, y: 2 });
    // A single argument's paths start inside it.
    let err = view.get(1).unwrap().deserialize::<Named<'_>>().unwrap_err();
    assert_eq!(err.path(), ".name");
}

#[test]
fn values_and_views_serialize_alike() {
    let args = args![
        Value::Null,
        true,
        -3,
        0.5,
        "s",
        vec![1u8, 2],
        Value::array([1, 2]),
        Value::map([("k", Value::map([("deep", "v")]))]),
    ];
    let bytes = encode_to_vec(&args).unwrap();
    let view = ArgsView::new(&bytes).unwrap();
    // Serializing the view re-creates the arguments without a detour through `Value`.
    assert_eq!(to_value(&view).unwrap(), Value::Array(args.clone()));
    for (arg, r) in args.iter().zip(view.iter()) {
        assert_eq!(&to_value(&r).unwrap(), arg);
        assert_eq!(r.deserialize::<Value>().unwrap(), *arg);
    }
}

#[test]
fn a_typed_handler_end_to_end() {
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Sum {
        total: i64,
        terms: usize,
    }

    let main = Main::new().unwrap();
    main.ipc()
        .handle("add", |_e, args| {
            let (a, b): (i64, i64) = args.deserialize()?;
            Ok(to_value(&Sum {
                total: a + b,
                terms: 2,
            })?)
        })
        .unwrap();
    main.ipc()
        .handle("greet", |_e, args| {
            let (user,): (User,) = args.deserialize()?;
            Ok(to_value(&format!("hello {} ({})", user.name, user.age))?)
        })
        .unwrap();
    let (_wc, renderer) = main.connect_in_process().unwrap();
    // A deadline instead of `invoke_blocking`'s none, so a hang fails instead of stalling.
    let limit = Duration::from_secs(60);

    let args = [to_value(&1).unwrap(), to_value(&41).unwrap()];
    let answer = renderer.invoke_timeout("add", &args, limit).unwrap();
    assert_eq!(
        from_value::<Sum>(answer).unwrap(),
        Sum {
            total: 42,
            terms: 2
        }
    );

    let user = User {
        name: "Ada".into(),
        age: 36,
        tags: vec![],
        home: None,
    };
    let answer = renderer
        .invoke_timeout("greet", &[to_value(&user).unwrap()], limit)
        .unwrap();
    assert_eq!(answer, Value::from("hello Ada (36)"));

    // A bad argument reaches the renderer as a TypeError naming it.
    let err = renderer
        .invoke_timeout("add", &args![1, "two"], limit)
        .unwrap_err();
    let remote = match &err {
        CallError::Invoke { error, .. } => error,
        other => panic!("not a handler error: {other}"),
    };
    assert_eq!(remote.name, "TypeError");
    assert_eq!(
        remote.message,
        r#"args[1]: invalid type: string "two", expected i64"#
    );

    // An answer that does not fit a Value is the handler's RangeError.
    main.ipc()
        .handle("huge", |_e, _args| Ok(to_value(&u64::MAX)?))
        .unwrap();
    let err = renderer.invoke_timeout("huge", &[], limit).unwrap_err();
    let remote = err.remote().expect("a handler error");
    assert_eq!(remote.name, "RangeError");
    assert_eq!(
        remote.message,
        "integer 18446744073709551615 does not fit an i64"
    );
}

#[test]
fn errors_are_std_errors() {
    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<SerdeError>();
    let e = from_value::<bool>(Value::Int(1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid type: integer `1`, expected a boolean"
    );
    assert_eq!(e.path(), "");
}
