//! MessagePorts between real processes (Electron's MessagePort behaviours): transfers through
//! `WebContents::post_message` and `IpcRenderer::post_message`, messages both ways, ports
//! inside port messages (main in between, and renderer A -> renderer B), ordering per port
//! (10,000 numbered messages renderer to renderer, with main's dispatcher not on the data
//! path), a message larger than a ring frame, close on either side, and the transfer errors'
//! texts in a renderer. The renderers are `port_renderer` roles.

use electrode::{IpcMainEvent, Main, MessageChannel, MessagePort, PortError, Value};
use electrode_tests::api_kit::{spawn, ReadyGate, Spawned, HANG_GUARD};
use electrode_tests::watchdog;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_port_renderer");
const T: Option<Duration> = Some(HANG_GUARD);

/// Listen for `channel` in main's global scope: (data, ports) of each message.
fn listen(main: &Main, channel: &str) -> mpsc::Receiver<(Vec<Value>, Vec<MessagePort>)> {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    main.ipc().on(channel, move |e: &IpcMainEvent, a| {
        let _ = tx.lock().unwrap().send((a.to_values(), e.ports()));
    });
    rx
}

fn spawn_ready(main: &Main, gate: &ReadyGate, role: &str) -> Spawned {
    let r = spawn(main, RENDERER, role, &[]);
    gate.wait();
    r
}

fn bye(r: &Spawned) {
    let _ = r.wc.send("bye", &[]);
    r.expect_success();
}

#[test]
fn main_to_renderer_messages_both_ways_and_ports_inside_port_messages() {
    let _dog = watchdog(Duration::from_secs(120), "main_to_renderer_ports");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let closed = listen(&main, "port-closed");
    let r = spawn_ready(&main, &gate, "echo");
    let (p1, p2) = MessageChannel::new().unwrap();
    r.wc.post_message("port", &Value::from("take it"), vec![p2])
        .unwrap();
    p1.post_message(&Value::from("ping"), vec![]).unwrap();
    assert_eq!(p1.recv(T).unwrap().data, Value::from("ping"));
    // Larger than a frame of the 256 KiB ring: travels whole through the bulk area.
    let big = Value::Bytes((0..3_000_000u32).map(|i| i as u8).collect());
    p1.post_message(&big, vec![]).unwrap();
    assert_eq!(p1.recv(T).unwrap().data, big);
    // A port inside a port message goes to the renderer and comes back (the echo moves it).
    let (q1, q2) = MessageChannel::new().unwrap();
    p1.post_message(&Value::from("with a port"), vec![q2])
        .unwrap();
    let mut back = p1.recv(T).unwrap();
    assert_eq!(back.data, Value::from("with a port"));
    let q2 = back.ports.pop().expect("the port came back");
    q2.post_message(&Value::from("through the returned port"), vec![])
        .unwrap();
    assert_eq!(
        q1.recv(T).unwrap().data,
        Value::from("through the returned port")
    );
    // Closing main's end emits `close` on the renderer's.
    p1.close();
    let (idx, _) = closed.recv_timeout(HANG_GUARD).unwrap();
    assert_eq!(idx, vec![Value::from(0)]);
    // Post after close is a no-op.
    p1.post_message(&Value::from("nobody"), vec![]).unwrap();
    bye(&r);
}

#[test]
fn renderer_to_main_transfer_and_close_from_the_renderer_side() {
    let _dog = watchdog(Duration::from_secs(120), "renderer_to_main_ports");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let ports = listen(&main, "port");
    let r = spawn_ready(&main, &gate, "give");
    let (data, mut got) = ports.recv_timeout(HANG_GUARD).unwrap();
    assert_eq!(data, vec![Value::from("from renderer")]);
    let port = got.pop().expect("a port");
    port.post_message(&Value::from(7), vec![]).unwrap();
    assert_eq!(port.recv(T).unwrap().data, Value::from(7));
    // The renderer exits (its ports close): main's end gets `close`.
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    port.on_close(move || tx.lock().unwrap().send(()).unwrap());
    port.start();
    bye(&r);
    rx.recv_timeout(HANG_GUARD).expect("close on main's end");
    assert!(matches!(
        port.post_message(&Value::Null, vec![]),
        Err(PortError::PeerClosed)
    ));
}

#[test]
fn renderer_to_renderer_in_order_without_main_on_the_data_path() {
    const N: i64 = 10_000;
    let _dog = watchdog(Duration::from_secs(180), "renderer_to_renderer_ports");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let counted = listen(&main, "counted");
    let sent = listen(&main, "sent");
    let a = spawn_ready(&main, &gate, "send-n");
    let b = spawn_ready(&main, &gate, "count");
    // Count what main's dispatcher sees from both renderers.
    let seen = Arc::new(AtomicUsize::new(0));
    for r in [&a, &b] {
        let seen = seen.clone();
        r.wc.on_ipc_message(move |_, _| {
            seen.fetch_add(1, Ordering::SeqCst);
        });
    }
    let (pa, pb) = MessageChannel::new().unwrap();
    b.wc.post_message("port", &Value::Null, vec![pb]).unwrap();
    a.wc.post_message("port", &Value::from(N), vec![pa])
        .unwrap();
    assert_eq!(
        sent.recv_timeout(HANG_GUARD).unwrap().0,
        vec![Value::from(N)]
    );
    assert_eq!(
        counted.recv_timeout(HANG_GUARD).unwrap().0,
        vec![Value::from(N)]
    );
    // `sent` and `counted` only: none of the 10,000 port messages went through main.
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    bye(&a);
    bye(&b);
}

#[test]
fn a_port_travels_from_renderer_a_to_renderer_b_through_a_port() {
    let _dog = watchdog(Duration::from_secs(120), "port_in_port_between_renderers");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let carried = listen(&main, "carried");
    let took = listen(&main, "took");
    let a = spawn_ready(&main, &gate, "carry");
    let b = spawn_ready(&main, &gate, "take-carried");
    let (x, y) = MessageChannel::new().unwrap();
    b.wc.post_message("port", &Value::Null, vec![y]).unwrap();
    a.wc.post_message("port", &Value::Null, vec![x]).unwrap();
    took.recv_timeout(HANG_GUARD).unwrap();
    assert_eq!(
        carried.recv_timeout(HANG_GUARD).unwrap().0,
        vec![Value::from("via carried")]
    );
    bye(&a);
    bye(&b);
}

#[test]
fn transfer_errors_in_a_renderer_have_electrons_text() {
    let _dog = watchdog(Duration::from_secs(60), "port_transfer_errors");
    let main = Main::new().unwrap();
    let ok = listen(&main, "errors-ok");
    let r = spawn(&main, RENDERER, "errors", &[]);
    ok.recv_timeout(HANG_GUARD).unwrap();
    r.expect_success();
    // And in main.
    let (a, b) = MessageChannel::new().unwrap();
    let (c, _d) = MessageChannel::new().unwrap();
    c.close();
    let e = a.post_message(&Value::Null, vec![c]).unwrap_err();
    assert_eq!(e.to_string(), "Port at index 0 is already neutered.");
    let e = a.post_message(&Value::Null, vec![b]).unwrap_err();
    assert_eq!(e.to_string(), "Port at index 0 contains the source port.");
}

#[test]
fn a_killed_renderer_closes_the_ports_it_held() {
    let _dog = watchdog(Duration::from_secs(60), "killed_renderer_closes_ports");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let r = spawn_ready(&main, &gate, "echo");
    let (p1, p2) = MessageChannel::new().unwrap();
    r.wc.post_message("port", &Value::Null, vec![p2]).unwrap();
    p1.post_message(&Value::from("alive?"), vec![]).unwrap();
    assert_eq!(p1.recv(T).unwrap().data, Value::from("alive?"));
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    p1.on_close(move || tx.lock().unwrap().send(()).unwrap());
    p1.start();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(r.wc.pid() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // The bound: the other end's `close` within 1 s of the death.
    rx.recv_timeout(Duration::from_secs(1))
        .expect("close within 1 s of the renderer's death");
    r.wait_gone();
}

#[test]
fn a_renderer_holds_at_most_the_configured_number_of_ports() {
    let _dog = watchdog(Duration::from_secs(60), "ports_per_renderer_bound");
    let main = Main::builder().max_ports_per_renderer(2).build().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let r = spawn_ready(&main, &gate, "echo");
    let mut mine = Vec::new();
    for i in 0..2 {
        let (a, b) = MessageChannel::new().unwrap();
        r.wc.post_message("port", &Value::from(i), vec![b]).unwrap();
        mine.push(a);
    }
    let (_a, b) = MessageChannel::new().unwrap();
    let e =
        r.wc.post_message("port", &Value::Null, vec![b])
            .unwrap_err();
    assert!(matches!(e, PortError::Transfer(_)), "{e}");
    // Closing one frees a place (the renderer tells main, or main sees the closed word).
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    main.ipc().on("port-closed", move |_, _| {
        let _ = tx.lock().unwrap().send(());
    });
    mine.pop().unwrap().close();
    rx.recv_timeout(HANG_GUARD).unwrap();
    let (c, d) = MessageChannel::new().unwrap();
    r.wc.post_message("port", &Value::Null, vec![d]).unwrap();
    c.post_message(&Value::from("still served"), vec![])
        .unwrap();
    assert_eq!(c.recv(T).unwrap().data, Value::from("still served"));
    bye(&r);
}

#[test]
fn typed_messages_through_a_port_between_processes() {
    use electrode_tests::contract::{echoed, sample_jobs, Job, NOTE};
    let _dog = watchdog(Duration::from_secs(60), "typed_port_messages");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let r = spawn_ready(&main, &gate, "typed-echo");
    let (p1, p2) = MessageChannel::new().unwrap();
    r.wc.post_message("port", &Value::Null, vec![p2]).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    NOTE.on_port(&p1, move |_, job| {
        let job: Job = rkyv::deserialize::<Job, rkyv::rancor::Error>(job).unwrap();
        tx.lock().unwrap().send(job).unwrap();
    });
    p1.start();
    for job in sample_jobs() {
        NOTE.post_port(&p1, &job, vec![]).unwrap();
        assert_eq!(rx.recv_timeout(HANG_GUARD).unwrap(), echoed(&job));
    }
    bye(&r);
}
