//! A hostile port peer: a renderer (`port_peer hostile <scenario>`) holds one end of a port
//! and scribbles the port's rings through a second mapping of its memfd: lying write and read
//! indices, a garbage frame, a frame with an impossible length, a port message whose value is
//! no `Value`, a message claiming a transferred port whose fd never comes, a raw typed
//! message whose head is cut short. The honest end
//! (main, and separately an honest renderer) gets an error or a `close`, never crashes, and
//! its other work goes on: another port and its connection to main still carry messages, and
//! main keeps answering another renderer's invokes throughout.

use electrode::{IpcMainEvent, Main, MessageChannel, MessagePort, PortError, Value};
use electrode_tests::api_kit::{spawn, ReadyGate, Spawned, HANG_GUARD};
use electrode_tests::hostile_kit::{self as kit, EchoStats, Good};
use electrode_tests::watchdog;
use std::process::Command;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const PEER: &str = env!("CARGO_BIN_EXE_port_peer");
const HOSTILE_RENDERER: &str = env!("CARGO_BIN_EXE_hostile_renderer");
const T: Option<Duration> = Some(HANG_GUARD);

/// Every scenario of `port_peer hostile` (its `SCENARIOS`) but `head-ahead`, which only the
/// writing end can notice (main's case below).
const READER_SCENARIOS: [&str; 7] = [
    "tail-ahead",
    "tail-behind",
    "garbage",
    "bad-len",
    "bad-value",
    "no-fd",
    "bad-archive-head",
];

fn listen(main: &Main, channel: &str) -> mpsc::Receiver<(u32, Vec<Value>)> {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    main.ipc().on(channel, move |e: &IpcMainEvent, a| {
        let _ = tx.lock().unwrap().send((e.sender().id(), a.to_values()));
    });
    rx
}

fn wait_from(rx: &mpsc::Receiver<(u32, Vec<Value>)>, who: u32, what: &str) -> Vec<Value> {
    loop {
        let (from, v) = rx
            .recv_timeout(HANG_GUARD)
            .unwrap_or_else(|_| panic!("no {what} from renderer {who}"));
        if from == who {
            return v;
        }
    }
}

/// Main with the echo service and a well-behaved renderer invoking it in a loop.
struct Scene {
    main: Main,
    gate: ReadyGate,
    good: Good,
    scribbled: mpsc::Receiver<(u32, Vec<Value>)>,
}

fn scene() -> Scene {
    let main = Main::new().expect("start main");
    let stats: Arc<EchoStats> = kit::install_echo(&main);
    let mut c = Command::new(HOSTILE_RENDERER);
    c.arg("good");
    let good = Good::start(&main, &stats, c);
    let gate = ReadyGate::install(main.ipc());
    let scribbled = listen(&main, "scribbled");
    Scene {
        main,
        gate,
        good,
        scribbled,
    }
}

impl Scene {
    fn spawn(&self, role: &str, args: &[&str]) -> Spawned {
        let r = spawn(&self.main, PEER, role, args);
        self.gate.wait();
        r
    }

    /// Spawn a hostile peer for `scenario` holding side A of a new channel; returns it and
    /// side B.
    fn hostile(&self, scenario: &str) -> (Spawned, MessagePort) {
        let h = self.spawn("hostile", &[scenario]);
        let (a, b) = MessageChannel::new().unwrap();
        h.wc.post_message("port", &Value::Null, vec![a]).unwrap();
        (h, b)
    }

    fn scribble(&self, h: &Spawned, scenario: &str) {
        h.wc.send("scribble", &[]).unwrap();
        let v = wait_from(&self.scribbled, h.wc.id(), "scribbled");
        assert_eq!(v, vec![Value::from(scenario)]);
    }
}

fn bye(r: &Spawned) {
    let _ = r.wc.send("bye", &[]);
    r.expect_success();
}

/// An echo renderer holding one end of a new channel: main's other port.
fn other_port(s: &Scene) -> (Spawned, MessagePort) {
    let held = listen(&s.main, "held");
    let e = s.spawn("echo", &[]);
    let (mine, theirs) = MessageChannel::new().unwrap();
    e.wc.post_message("port", &Value::from("other"), vec![theirs])
        .unwrap();
    wait_from(&held, e.wc.id(), "held");
    (e, mine)
}

fn check_echo(p: &MessagePort, i: i64) {
    p.post_message(&Value::from(i), vec![]).unwrap();
    assert_eq!(p.recv(T).unwrap().data, Value::from(i));
}

#[test]
fn main_as_the_honest_end_closes_the_port_and_goes_on() {
    let _dog = watchdog(Duration::from_secs(240), "hostile_port_main");
    let s = scene();
    let (echo, other) = other_port(&s);
    for (i, scenario) in READER_SCENARIOS
        .iter()
        .chain(["head-ahead"].iter())
        .enumerate()
    {
        let (h, port) = s.hostile(scenario);
        assert_eq!(port.recv(T).unwrap().data, Value::from("hello"));
        s.scribble(&h, scenario);
        let outcome = if *scenario == "head-ahead" {
            // Our writes find the reader's position impossible: an error, never a hang (the
            // peer reads nothing, so an honest ring would fill and block long before 10,000).
            (0..10_000)
                .find_map(|k| port.post_message(&Value::from(k), vec![]).err())
                .expect("posting into a ring with a lying read index never failed")
        } else {
            port.recv(T).expect_err("a scribbled ring gave a message")
        };
        eprintln!("{scenario}: {outcome}");
        assert!(
            matches!(outcome, PortError::Broken(_)),
            "{scenario}: {outcome:?}"
        );
        assert!(!port.is_open(), "{scenario}: the port is still open");
        // Main's other work goes on: another port, other renderers' invokes.
        check_echo(&other, i as i64);
        s.good.wait_more(20);
        bye(&h);
    }
    bye(&echo);
    s.good.stop();
}

#[test]
fn an_honest_renderer_closes_the_port_and_goes_on() {
    let _dog = watchdog(Duration::from_secs(240), "hostile_port_renderer");
    let s = scene();
    let held = listen(&s.main, "held");
    let got = listen(&s.main, "got");
    let closed = listen(&s.main, "victim-closed");
    let pong = listen(&s.main, "pong");
    for (i, scenario) in READER_SCENARIOS.iter().enumerate() {
        let r = s.spawn("honest", &[]);
        let (h, victim) = s.hostile(scenario);
        let (mine, other) = MessageChannel::new().unwrap();
        r.wc.post_message("port", &Value::from("victim"), vec![victim])
            .unwrap();
        r.wc.post_message("port", &Value::from("other"), vec![other])
            .unwrap();
        wait_from(&held, r.wc.id(), "held");
        assert_eq!(
            wait_from(&got, r.wc.id(), "got"),
            vec![Value::from("hello")]
        );
        s.scribble(&h, scenario);
        wait_from(&closed, r.wc.id(), "victim-closed");
        // It got no message out of the scribbles.
        assert!(
            got.try_recv().is_err(),
            "{scenario}: a scribble was delivered"
        );
        // Its other port and its connection to main still carry messages.
        check_echo(&mine, i as i64);
        r.wc.send("ping", &[Value::from(i as i64)]).unwrap();
        assert_eq!(
            wait_from(&pong, r.wc.id(), "pong"),
            vec![Value::from(i as i64)]
        );
        s.good.wait_more(20);
        bye(&r);
        bye(&h);
    }
    s.good.stop();
}
