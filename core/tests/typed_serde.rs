//! Typed channels over serde types (the `Serde` codec, feature `serde`), in one process: every
//! channel kind round-trips owned values, and a serde channel and an rkyv channel of the same
//! name and types do not match (their fingerprints differ by codec).
#![cfg(feature = "serde")]

use electrode::typed::{
    type_hash, EventChannel, InvokeChannel, RendererInvokeChannel, SendChannel, SendSyncChannel,
    Serde, TypeHash,
};
use electrode::{CallError, Main};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Serialize, Deserialize, TypeHash, Clone, Debug, PartialEq)]
struct Order {
    id: u32,
    item: String,
    notes: Option<String>,
    lines: Vec<(String, u16)>,
    extra: BTreeMap<String, Vec<u8>>,
    kind: Kind,
}

#[derive(Serialize, Deserialize, TypeHash, Clone, Debug, PartialEq)]
enum Kind {
    Pickup,
    Delivery { address: String },
}

static PLACE: InvokeChannel<Order, Order, Serde> = InvokeChannel::new("serde-place");
static PLACE_ASYNC: InvokeChannel<Order, Order, Serde> = InvokeChannel::new("serde-place-async");
static CHECK: SendSyncChannel<Order, bool, Serde> = SendSyncChannel::new("serde-check");
static NOTE: SendChannel<Order, Serde> = SendChannel::new("serde-note");
static BACK: EventChannel<Order, Serde> = EventChannel::new("serde-back");
static ASK: RendererInvokeChannel<u32, Order, Serde> = RendererInvokeChannel::new("serde-ask");
/// The rkyv channel of the same name and types as `PLACE` would be (here: `u32` both ways).
static SAME_NAME_RKYV: InvokeChannel<u32, u32> = InvokeChannel::new("serde-u32");
static SAME_NAME_SERDE: InvokeChannel<u32, u32, Serde> = InvokeChannel::new("serde-u32");

fn order(id: u32) -> Order {
    Order {
        id,
        item: "tea ☕".into(),
        notes: id.is_multiple_of(2).then(|| "no sugar".into()),
        lines: vec![("cup".into(), 2), ("pot".into(), 1)],
        extra: BTreeMap::from([("blob".to_string(), vec![0, 255, 7])]),
        kind: if id.is_multiple_of(3) {
            Kind::Pickup
        } else {
            Kind::Delivery {
                address: "1 Main St".into(),
            }
        },
    }
}

fn served(mut o: Order) -> Order {
    o.id += 1000;
    o
}

#[test]
fn every_serde_channel_kind_round_trips_owned_values() {
    let main = Main::new().unwrap();
    PLACE.handle(main.ipc(), |_e, o| Ok(served(o))).unwrap();
    PLACE_ASYNC
        .handle_async(main.ipc(), |_e, o| async move { Ok(served(o)) })
        .unwrap();
    CHECK.on(main.ipc(), |_e, o| Some(o.lines.len() == 2));
    NOTE.on(main.ipc(), |e, o| BACK.reply(e, &served(o)).unwrap());
    let (wc, renderer) = main.connect_in_process().unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    BACK.on(&renderer, move |_e, o| tx.lock().unwrap().send(o).unwrap());
    ASK.handle(&renderer, |id| Ok(order(id))).unwrap();
    for id in 0..6 {
        let o = order(id);
        assert_eq!(
            PLACE.invoke_blocking(&renderer, &o).unwrap(),
            served(o.clone())
        );
        assert_eq!(
            futures::executor::block_on(PLACE.invoke(&renderer, &o)).unwrap(),
            served(o.clone())
        );
        assert_eq!(
            PLACE_ASYNC.invoke_blocking(&renderer, &o).unwrap(),
            served(o.clone())
        );
        assert!(CHECK.send_sync(&renderer, &o).unwrap());
        NOTE.send(&renderer, &o).unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(30)).unwrap(),
            served(o.clone())
        );
        assert_eq!(ASK.invoke_blocking(&wc, &id, None).unwrap(), o);
        assert_eq!(
            futures::executor::block_on(ASK.invoke(&wc, &id)).unwrap(),
            o
        );
    }
}

#[test]
fn a_serde_and_an_rkyv_channel_of_one_name_do_not_match() {
    assert_ne!(SAME_NAME_RKYV.fingerprint(), SAME_NAME_SERDE.fingerprint());
    let main = Main::new().unwrap();
    SAME_NAME_SERDE
        .handle(main.ipc(), |_e, n| Ok(n + 1))
        .unwrap();
    let (_wc, renderer) = main.connect_in_process().unwrap();
    assert_eq!(SAME_NAME_SERDE.invoke_blocking(&renderer, &1).unwrap(), 2);
    match SAME_NAME_RKYV.invoke_blocking(&renderer, &1) {
        Err(CallError::Invoke { error, .. }) => {
            assert_eq!(error.name, "TypeError");
            assert!(error.message.contains("fingerprint mismatch"), "{error:?}");
        }
        other => panic!("{other:?}"),
    }
    // A `Value` call on the serde channel is refused too.
    assert!(matches!(
        renderer.invoke_blocking("serde-u32", &[electrode::Value::from(1)]),
        Err(CallError::Invoke { .. })
    ));
}
