//! In-process behaviour of ports: queueing until started, ordering, close on either side,
//! post after close, transfers inside port messages, the transfer errors' texts.

use crate::{args, Main, MessageChannel, PortError, Value};
use std::sync::mpsc;
use std::time::Duration;

const T: Option<Duration> = Some(Duration::from_secs(10));

#[test]
fn messages_queue_until_started_and_keep_their_order() {
    let (a, b) = MessageChannel::new().unwrap();
    for i in 0..1000 {
        a.post_message(&Value::from(i), vec![]).unwrap();
    }
    let (tx, rx) = mpsc::channel();
    b.on_message(move |e| tx.send(e.data().clone()).unwrap());
    assert!(
        rx.recv_timeout(Duration::from_millis(50)).is_err(),
        "not started"
    );
    b.start();
    for i in 0..1000 {
        assert_eq!(rx.recv_timeout(T.unwrap()).unwrap(), Value::from(i));
    }
}

#[test]
fn recv_on_an_unstarted_port_and_large_messages() {
    let (a, b) = MessageChannel::new().unwrap();
    let big = Value::Bytes(vec![7u8; 3 << 20]);
    a.post_message(&big, vec![]).unwrap();
    a.post_message(&Value::from("small"), vec![]).unwrap();
    assert_eq!(b.recv(T).unwrap().data, big);
    assert_eq!(b.recv(T).unwrap().data, Value::from("small"));
    assert!(matches!(
        b.recv(Some(Duration::from_millis(10))),
        Err(PortError::TimedOut)
    ));
    b.start();
    assert!(matches!(b.recv(T), Err(PortError::Started)));
}

#[test]
fn close_on_either_side_emits_close_on_the_other() {
    for close_a in [true, false] {
        let (a, b) = MessageChannel::new().unwrap();
        let (tx, rx) = mpsc::channel();
        let t2 = tx.clone();
        a.on_close(move || tx.send("a").unwrap());
        b.on_close(move || t2.send("b").unwrap());
        a.start();
        b.start();
        if close_a {
            a.close();
            assert_eq!(rx.recv_timeout(T.unwrap()).unwrap(), "b");
            // Post after close is a no-op; the other side learns the peer is gone.
            a.post_message(&Value::from(1), vec![]).unwrap();
            assert!(matches!(
                b.post_message(&Value::from(1), vec![]),
                Err(PortError::PeerClosed)
            ));
        } else {
            drop(b);
            assert_eq!(rx.recv_timeout(T.unwrap()).unwrap(), "a");
        }
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
    }
}

#[test]
fn what_was_sent_before_close_is_delivered() {
    let (a, b) = MessageChannel::new().unwrap();
    a.post_message(&Value::from("last words"), vec![]).unwrap();
    a.close();
    assert_eq!(b.recv(T).unwrap().data, Value::from("last words"));
    assert!(matches!(b.recv(T), Err(PortError::PeerClosed)));
}

#[test]
fn ports_travel_inside_port_messages() {
    let (a, b) = MessageChannel::new().unwrap();
    let (c, d) = MessageChannel::new().unwrap();
    d.post_message(&Value::from("queued before the move"), vec![])
        .unwrap();
    a.post_message(&Value::from("here"), vec![c]).unwrap();
    let got = b.recv(T).unwrap();
    assert_eq!(got.data, Value::from("here"));
    let [c]: [_; 1] = got.ports.try_into().unwrap();
    assert_eq!(
        c.recv(T).unwrap().data,
        Value::from("queued before the move")
    );
    c.post_message(&Value::from("back"), vec![]).unwrap();
    assert_eq!(d.recv(T).unwrap().data, Value::from("back"));
    // A started port moves too, and keeps what was queued.
    let (tx, rx) = mpsc::channel();
    d.on_message(move |e| tx.send(e.data().clone()).unwrap());
    d.start();
    c.post_message(&Value::from(1), vec![]).unwrap();
    assert_eq!(rx.recv_timeout(T.unwrap()).unwrap(), Value::from(1));
    b.post_message(&Value::Null, vec![d]).unwrap();
    c.post_message(&Value::from(2), vec![]).unwrap();
    let d = a.recv(T).unwrap().ports.pop().unwrap();
    assert_eq!(d.recv(T).unwrap().data, Value::from(2));
}

#[test]
fn transfer_errors_have_electrons_text() {
    let (a, b) = MessageChannel::new().unwrap();
    let (c, d) = MessageChannel::new().unwrap();
    c.close();
    let e = a.post_message(&Value::Null, vec![c]).unwrap_err();
    assert_eq!(e.to_string(), "Port at index 0 is already neutered.");
    let (x, _y) = MessageChannel::new().unwrap();
    let e = a.post_message(&Value::Null, vec![x, b]).unwrap_err();
    assert_eq!(e.to_string(), "Port at index 1 contains the source port.");
    drop(d);
}

#[test]
fn transfers_between_main_and_an_in_process_renderer() {
    let main = Main::new().unwrap();
    let (wc, renderer) = main.connect_in_process().unwrap();
    // main -> renderer
    let (tx, rx) = mpsc::channel();
    renderer.on("port", move |e, args| {
        let msg = args.get(0).map(|v| v.to_value());
        tx.send((msg, e.ports())).unwrap();
    });
    let (p1, p2) = MessageChannel::new().unwrap();
    wc.post_message("port", &Value::from("to renderer"), vec![p2])
        .unwrap();
    let (msg, mut ports) = rx.recv_timeout(T.unwrap()).unwrap();
    assert_eq!(msg, Some(Value::from("to renderer")));
    let p2 = ports.pop().unwrap();
    p1.post_message(&Value::from("hi"), vec![]).unwrap();
    assert_eq!(p2.recv(T).unwrap().data, Value::from("hi"));
    // renderer -> main
    let (tx, rx) = mpsc::channel();
    main.ipc().on("port", move |e, args| {
        let msg = args.get(0).map(|v| v.to_value());
        tx.send((msg, e.ports())).unwrap();
    });
    let (q1, q2) = MessageChannel::new().unwrap();
    renderer
        .post_message("port", &Value::from("to main"), vec![q1])
        .unwrap();
    let (msg, mut ports) = rx.recv_timeout(T.unwrap()).unwrap();
    assert_eq!(msg, Some(Value::from("to main")));
    let q1 = ports.pop().unwrap();
    q2.post_message(&args![1].remove(0), vec![]).unwrap();
    assert_eq!(q1.recv(T).unwrap().data, Value::from(1));
    // A closed port in the list: Electron's text, nothing sent.
    let (z, _w) = MessageChannel::new().unwrap();
    z.close();
    let e = wc.post_message("port", &Value::Null, vec![z]).unwrap_err();
    assert_eq!(e.to_string(), "Port at index 0 is already neutered.");
}

#[test]
fn typed_messages_through_a_port_are_checked_by_their_channel() {
    use crate::typed::{SendChannel, TypeHash};
    use rkyv::{Archive, Deserialize, Serialize};

    #[derive(Archive, Serialize, Deserialize, TypeHash)]
    struct Job {
        id: u64,
        name: String,
    }
    #[derive(Archive, Serialize, Deserialize, TypeHash)]
    struct Other {
        x: u8,
    }
    static JOBS: SendChannel<Job> = SendChannel::new("jobs");
    static OTHERS: SendChannel<Other> = SendChannel::new("others");

    let (a, b) = MessageChannel::new().unwrap();
    let (tx, rx) = mpsc::channel();
    JOBS.on_port(&b, move |e, job| {
        let carried = e.ports().len();
        tx.send((job.id.to_native(), job.name.to_string(), carried))
            .unwrap();
    });
    b.start();
    // Another type and a Value are skipped; the next job arrives whole, with its port.
    OTHERS.post_port(&a, &Other { x: 1 }, vec![]).unwrap();
    a.post_message(&Value::from("untyped"), vec![]).unwrap();
    let (c, _d) = MessageChannel::new().unwrap();
    JOBS.post_port(
        &a,
        &Job {
            id: 9,
            name: "build".into(),
        },
        vec![c],
    )
    .unwrap();
    assert_eq!(
        rx.recv_timeout(T.unwrap()).unwrap(),
        (9, "build".to_string(), 1)
    );
    assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
}

#[test]
fn recv_with_lends_the_data_and_the_ports() {
    use crate::ValueRef;
    let (a, b) = MessageChannel::new().unwrap();
    let (c, d) = MessageChannel::new().unwrap();
    a.post_message(&Value::Bytes(vec![1, 2, 3]), vec![c])
        .unwrap();
    d.post_message(&Value::from("through the moved port"), vec![])
        .unwrap();
    let c = b
        .recv_with(T, |m| {
            assert!(matches!(m.data(), ValueRef::Bytes(&[1, 2, 3])));
            assert_eq!(m.ports().len(), 1);
            let mut taken = m.take_ports();
            assert!(m.ports().is_empty() && m.take_ports().is_empty());
            let c = taken.pop().unwrap();
            // A receive inside the callback (another port) gets a buffer of its own.
            let inner = c
                .recv_with(T, |n| n.data().as_str().map(str::to_owned))
                .unwrap();
            assert_eq!(inner.as_deref(), Some("through the moved port"));
            c
        })
        .unwrap();
    c.post_message(&Value::from(7), vec![]).unwrap();
    assert_eq!(d.recv_with(T, |m| m.data().as_i64()).unwrap(), Some(7));
    // Ports the callback leaves are closed; nested values read in place.
    let (e, f) = MessageChannel::new().unwrap();
    let nested = Value::map([("k", Value::Array(vec![Value::from(1), Value::from("x")]))]);
    a.post_message(&nested, vec![e]).unwrap();
    let same = b.recv_with(T, |m| m.data().to_value() == nested).unwrap();
    assert!(same);
    assert!(matches!(f.recv(T), Err(PortError::PeerClosed)));
}

#[test]
fn recv_with_times_out_and_reports_closed_ports() {
    let (a, b) = MessageChannel::new().unwrap();
    let mut called = false;
    let got = b.recv_with(Some(Duration::from_millis(10)), |_| called = true);
    assert!(matches!(got, Err(PortError::TimedOut)) && !called);
    a.post_message(&Value::from("last"), vec![]).unwrap();
    a.close();
    assert_eq!(
        b.recv_with(T, |m| m.data().as_str().map(str::to_owned))
            .unwrap()
            .as_deref(),
        Some("last")
    );
    assert!(matches!(b.recv_with(T, |_| ()), Err(PortError::PeerClosed)));
    b.close();
    assert!(matches!(b.recv_with(T, |_| ()), Err(PortError::Closed)));
    let (_x, y) = MessageChannel::new().unwrap();
    y.start();
    assert!(matches!(y.recv_with(T, |_| ()), Err(PortError::Started)));
}

#[test]
fn recv_with_refuses_a_hostile_frame_and_breaks_the_port() {
    use super::message_port::PORT_WAIT;
    use crate::message::body::Body;
    use crate::message::encode;
    use crate::message::envelope::Envelope;
    use crate::message::kind::Kind;
    let tag = Kind::PostMessage as u16;
    // Garbage, then a well-formed `Value` that claims three port records it does not carry.
    let lying = encode::to_vec(
        &Envelope {
            request_id: 3,
            ..Envelope::default()
        },
        "",
        Body::Ported(&args!["hi"], &[]),
    )
    .unwrap();
    for bytes in [vec![0xA5u8; 200], lying] {
        let (a, b) = MessageChannel::new().unwrap();
        a.core
            .tx
            .take()
            .as_mut()
            .unwrap()
            .send(tag, 0, &bytes, PORT_WAIT, None)
            .unwrap();
        let mut called = false;
        let got = b.recv_with(T, |_| called = true);
        assert!(matches!(got, Err(PortError::Broken(_))), "{got:?}");
        assert!(!called && !b.is_open());
        assert!(matches!(b.recv_with(T, |_| ()), Err(PortError::Closed)));
    }
}

#[test]
fn started_ports_lend_their_events() {
    let (a, b) = MessageChannel::new().unwrap();
    let (tx, rx) = mpsc::channel();
    b.on_message(move |e| {
        let lent = e.data_ref().as_bytes().map(<[u8]>::to_vec);
        tx.send((lent, e.data().clone())).unwrap();
    });
    b.start();
    a.post_message(&Value::Bytes(vec![4, 5]), vec![]).unwrap();
    let (lent, owned) = rx.recv_timeout(T.unwrap()).unwrap();
    assert_eq!(lent, Some(vec![4, 5]));
    assert_eq!(owned, Value::Bytes(vec![4, 5]));
}

#[test]
fn raw_bytes_and_archives_keep_their_order_with_enveloped_messages() {
    use crate::typed::{type_hash, SendChannel, TypeHash};
    #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, TypeHash)]
    struct Tick {
        n: u64,
    }
    static TICKS: SendChannel<Tick> = SendChannel::new("ticks");
    let (a, b) = MessageChannel::new().unwrap();
    let (c, d) = MessageChannel::new().unwrap();
    // Bytes without ports travel raw; with a port, enveloped; a string is always enveloped;
    // a typed message without ports raw, with one enveloped. One ring, one order.
    a.post_message(&Value::Bytes(vec![1, 2, 3]), vec![])
        .unwrap();
    a.post_message(&Value::Bytes(vec![4]), vec![c]).unwrap();
    a.post_message(&Value::from("s"), vec![]).unwrap();
    TICKS.post_port(&a, &Tick { n: 7 }, vec![]).unwrap();
    TICKS.post_port(&a, &Tick { n: 8 }, vec![d]).unwrap();
    a.post_message(&Value::Bytes(Vec::new()), vec![]).unwrap();
    assert_eq!(b.recv(T).unwrap().data, Value::Bytes(vec![1, 2, 3]));
    let m = b.recv(T).unwrap();
    assert_eq!((m.data, m.ports.len()), (Value::Bytes(vec![4]), 1));
    assert_eq!(b.recv(T).unwrap().data, Value::from("s"));
    assert_eq!(
        TICKS
            .recv_port(&b, T, |t, m| (t.n.to_native(), m.ports().len()))
            .unwrap(),
        (7, 0)
    );
    assert_eq!(
        TICKS
            .recv_port(&b, T, |t, m| (t.n.to_native(), m.take_ports().len()))
            .unwrap(),
        (8, 1)
    );
    assert_eq!(b.recv(T).unwrap().data, Value::Bytes(Vec::new()));
}

#[test]
fn a_typed_receive_refuses_other_types_and_breaks_on_a_malformed_archive() {
    use super::frame::TAG_ARCHIVE;
    use super::message_port::PORT_WAIT;
    use crate::typed::{type_hash, SendChannel, TypeHash};
    #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, TypeHash)]
    struct Name {
        s: String,
    }
    #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, TypeHash)]
    struct Other {
        n: u32,
    }
    static NAMES: SendChannel<Name> = SendChannel::new("names");
    static OTHERS: SendChannel<Other> = SendChannel::new("others");
    let (a, b) = MessageChannel::new().unwrap();
    // A Value, then another type: each is consumed with a type error, the port stays open.
    a.post_message(&Value::Bytes(vec![1]), vec![]).unwrap();
    OTHERS.post_port(&a, &Other { n: 1 }, vec![]).unwrap();
    NAMES
        .post_port(&a, &Name { s: "ok".into() }, vec![])
        .unwrap();
    for _ in 0..2 {
        let got = NAMES.recv_port(&b, T, |_, _| ());
        assert!(matches!(got, Err(PortError::Type(_))), "{got:?}");
    }
    assert_eq!(
        NAMES.recv_port(&b, T, |n, _| n.s.to_string()).unwrap(),
        "ok"
    );
    assert!(b.is_open());
    // A head too short, a head with a non-zero second word, and an archive with the right
    // fingerprint whose string points outside the message: each breaks the port.
    let fp = NAMES.fingerprint().to_le_bytes();
    let mut bad_word = [0u8; 16];
    bad_word[..8].copy_from_slice(&fp);
    bad_word[8] = 1;
    let mut lying = [0u8; 32];
    lying[..8].copy_from_slice(&fp);
    lying[16..].fill(0x80); // an out-of-line string whose bytes lie far outside the message
    for (i, bytes) in [fp.to_vec(), bad_word.to_vec(), lying.to_vec()]
        .iter()
        .enumerate()
    {
        let (a, b) = MessageChannel::new().unwrap();
        a.core
            .tx
            .take()
            .as_mut()
            .unwrap()
            .send(TAG_ARCHIVE, 0, bytes, PORT_WAIT, None)
            .unwrap();
        let got = NAMES.recv_port(&b, T, |_, _| ());
        assert!(
            matches!(got, Err(PortError::Broken(_))),
            "case {i}: {got:?}"
        );
        assert!(!b.is_open());
    }
}

#[test]
fn close_from_another_thread_ends_a_blocked_receive() {
    let (a, b) = MessageChannel::new().unwrap();
    let b = std::sync::Arc::new(b);
    let waiting = b.clone();
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        tx.send(()).unwrap();
        let got = waiting.recv(None);
        assert!(matches!(got, Err(PortError::Closed)), "{got:?}");
    });
    rx.recv().unwrap();
    wait_until_receiving(&b);
    b.close();
    t.join().unwrap();
    assert!(!b.is_open());
    drop(a);
}

#[test]
fn a_port_with_a_blocked_receiver_cannot_move_and_stays_open() {
    let (a, b) = MessageChannel::new().unwrap();
    let b = std::sync::Arc::new(b);
    let waiting = b.clone();
    let t = std::thread::spawn(move || waiting.recv(T));
    wait_until_receiving(&b);
    assert!(b.detach().is_none(), "moved while another thread receives");
    assert!(b.is_open());
    a.post_message(&Value::from("still here"), vec![]).unwrap();
    assert_eq!(t.join().unwrap().unwrap().data, Value::from("still here"));
}

#[test]
fn a_receive_deadline_holds_while_another_thread_is_blocked_receiving() {
    let (a, b) = MessageChannel::new().unwrap();
    let b = std::sync::Arc::new(b);
    let blocked = {
        let b = std::sync::Arc::clone(&b);
        std::thread::spawn(move || b.recv(None))
    };
    wait_until_receiving(&b);
    // The other thread has the receiver and waits without a deadline: this one's holds.
    let second = b.recv(Some(Duration::from_millis(30)));
    assert!(matches!(second, Err(PortError::TimedOut)), "{second:?}");
    a.post_message(&Value::Int(7), vec![]).unwrap();
    let first = blocked.join().unwrap().unwrap();
    assert_eq!(first.data, Value::Int(7));
}

/// Until another thread holds `port`'s receiver (it is in `recv`); bounded.
fn wait_until_receiving(port: &crate::MessagePort) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while port.core.rx.try_take().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the receiver never started"
        );
        std::thread::yield_now();
    }
}
