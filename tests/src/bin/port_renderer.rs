//! `port_renderer <role>`: the renderer processes of `tests/tests/ports.rs` (MessagePorts
//! between main and renderers, and between renderers). Each role says [`READY`] once set up
//! and exits 0 when main sends `bye` (or when its script is done); a failed check exits 1.
//!
//! Roles (one `match` below; add more there):
//! - `echo`: every port main posts on `port` is started and echoes each message back on itself,
//!   with the ports it carried; each port's `close` is reported on `port-closed`.
//! - `give`: makes a channel, posts one end to main on `port` (`IpcRenderer::post_message`)
//!   and echoes on the other.
//! - `send-n`: the port main posts on `port` gets `n` numbered messages (`n` is the message),
//!   then `done`; reports `sent`.
//! - `count`: the port main posts on `port` is read (`recv`, not started) until `done`; every
//!   message must be the next number; reports `counted` with the count.
//! - `carry`: makes a channel and sends one end through the port main posted on `port`; reads
//!   the answer on the other end and reports it on `carried`.
//! - `take-carried`: reads a message carrying a port from the port main posted; answers
//!   `via carried` through the carried port; reports `took`.
//! - `typed-echo`: every [`NOTE`](electrode_tests::contract::NOTE) job on the port main posts
//!   on `port` is answered through the same port with `contract::echoed(job)`.
//! - `errors`: the transfer errors, in a renderer: a closed port (`... is already neutered.`),
//!   the sender's own channel (`... contains the source port.`), through both the port and
//!   `IpcRenderer::post_message`; reports `errors-ok`.

use electrode::{args, IpcRenderer, MessageChannel, MessagePort, Value};
use electrode_tests::api_kit::{ensure, expect_eq, run_role, Check, HANG_GUARD, READY};
use electrode_tests::protocol::EXIT_USAGE;
use std::sync::{mpsc, Arc, Mutex};

type Ports = Arc<Mutex<Vec<Option<MessagePort>>>>;

fn connect() -> Result<IpcRenderer, String> {
    IpcRenderer::connect().map_err(|e| format!("connect: {e}"))
}

/// Ports main posts on `port`, one message at a time (with its data).
fn port_inbox(ipc: &IpcRenderer) -> mpsc::Receiver<(Value, Vec<MessagePort>)> {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    ipc.on("port", move |e, a| {
        let data = a.get(0).map(|v| v.to_value()).unwrap_or(Value::Null);
        let _ = tx.lock().unwrap().send((data, e.ports()));
    });
    rx
}

fn bye(ipc: &IpcRenderer) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    ipc.on("bye", move |_, _| {
        let _ = tx.lock().unwrap().send(());
    });
    rx
}

fn one_port(
    rx: &mpsc::Receiver<(Value, Vec<MessagePort>)>,
) -> Result<(Value, MessagePort), String> {
    let (data, mut ports) = rx
        .recv_timeout(HANG_GUARD)
        .map_err(|e| format!("no port from main: {e}"))?;
    ensure(ports.len() == 1, || {
        format!("{} ports, want 1", ports.len())
    })?;
    Ok((data, ports.pop().expect("one")))
}

/// Start `port` echoing every message (and its ports) back; keep it in `keep` until its other
/// end closes (then it is dropped, and `port-closed` reports its index).
fn echo_on(ipc: &IpcRenderer, port: MessagePort, keep: &Ports) {
    let idx = {
        let mut k = keep.lock().unwrap();
        k.push(Some(port));
        k.len() - 1
    };
    let k = keep.lock().unwrap();
    let p = k[idx].as_ref().expect("just kept");
    let keep2 = keep.clone();
    p.on_message(move |e| {
        let ports = e.ports();
        let k = keep2.lock().unwrap();
        if let Some(p) = k[idx].as_ref() {
            if let Err(err) = p.post_message(e.data(), ports) {
                eprintln!("port_renderer: echo failed: {err}");
            }
        }
    });
    let ipc = ipc.clone();
    let keep3 = keep.clone();
    p.on_close(move || {
        let port = keep3.lock().unwrap()[idx].take();
        drop(port);
        let _ = ipc.send("port-closed", &args![idx as i64]);
    });
    p.start();
}

fn echo() -> Check {
    let ipc = connect()?;
    let ports = port_inbox(&ipc);
    let bye = bye(&ipc);
    ipc.send(READY, &args![]).map_err(|e| e.to_string())?;
    let keep: Ports = Arc::default();
    loop {
        if bye.try_recv().is_ok() {
            return Ok(());
        }
        if let Ok((_, got)) = ports.recv_timeout(std::time::Duration::from_millis(20)) {
            for p in got {
                echo_on(&ipc, p, &keep);
            }
        }
    }
}

fn give() -> Check {
    let ipc = connect()?;
    let bye = bye(&ipc);
    let keep: Ports = Arc::default();
    let (a, b) = MessageChannel::new().map_err(|e| e.to_string())?;
    echo_on(&ipc, a, &keep);
    ipc.post_message("port", &Value::from("from renderer"), vec![b])
        .map_err(|e| format!("post_message: {e}"))?;
    ipc.send(READY, &args![]).map_err(|e| e.to_string())?;
    bye.recv_timeout(HANG_GUARD).map_err(|e| e.to_string())
}

fn send_n() -> Check {
    let ipc = connect()?;
    let ports = port_inbox(&ipc);
    ipc.send(READY, &args![]).map_err(|e| e.to_string())?;
    let (n, port) = one_port(&ports)?;
    let n = n.as_i64().ok_or("n is not a number")?;
    for i in 0..n {
        port.post_message(&Value::from(i), vec![])
            .map_err(|e| format!("message {i}: {e}"))?;
    }
    port.post_message(&Value::from("done"), vec![])
        .map_err(|e| e.to_string())?;
    ipc.send("sent", &args![n]).map_err(|e| e.to_string())?;
    let bye = bye(&ipc);
    bye.recv_timeout(HANG_GUARD).map_err(|e| e.to_string())
}

fn count() -> Check {
    let ipc = connect()?;
    let ports = port_inbox(&ipc);
    ipc.send(READY, &args![]).map_err(|e| e.to_string())?;
    let (_, port) = one_port(&ports)?;
    let mut n = 0i64;
    loop {
        let m = port
            .recv(Some(HANG_GUARD))
            .map_err(|e| format!("after {n}: {e}"))?;
        if m.data == Value::from("done") {
            break;
        }
        expect_eq("message", m.data, Value::from(n))?;
        n += 1;
    }
    ipc.send("counted", &args![n]).map_err(|e| e.to_string())?;
    let bye = bye(&ipc);
    bye.recv_timeout(HANG_GUARD).map_err(|e| e.to_string())
}

fn carry() -> Check {
    let ipc = connect()?;
    let ports = port_inbox(&ipc);
    ipc.send(READY, &args![]).map_err(|e| e.to_string())?;
    let (_, x) = one_port(&ports)?;
    let (c1, c2) = MessageChannel::new().map_err(|e| e.to_string())?;
    x.post_message(&Value::from("carried"), vec![c2])
        .map_err(|e| format!("carry: {e}"))?;
    let answer = c1.recv(Some(HANG_GUARD)).map_err(|e| e.to_string())?;
    ipc.send("carried", &[answer.data])
        .map_err(|e| e.to_string())?;
    let bye = bye(&ipc);
    bye.recv_timeout(HANG_GUARD).map_err(|e| e.to_string())
}

fn take_carried() -> Check {
    let ipc = connect()?;
    let ports = port_inbox(&ipc);
    ipc.send(READY, &args![]).map_err(|e| e.to_string())?;
    let (_, y) = one_port(&ports)?;
    let mut m = y.recv(Some(HANG_GUARD)).map_err(|e| e.to_string())?;
    expect_eq("data", m.data.clone(), Value::from("carried"))?;
    let c2 = m.ports.pop().ok_or("no carried port")?;
    c2.post_message(&Value::from("via carried"), vec![])
        .map_err(|e| e.to_string())?;
    ipc.send("took", &args![]).map_err(|e| e.to_string())?;
    let bye = bye(&ipc);
    bye.recv_timeout(HANG_GUARD).map_err(|e| e.to_string())
}

fn typed_echo() -> Check {
    use electrode_tests::contract::{echoed, Job, NOTE};
    let ipc = connect()?;
    let ports = port_inbox(&ipc);
    ipc.send(READY, &args![]).map_err(|e| e.to_string())?;
    let (_, port) = one_port(&ports)?;
    let port = Arc::new(port);
    let back = port.clone();
    NOTE.on_port(&port, move |_, job| {
        let job: Job = rkyv::deserialize::<Job, rkyv::rancor::Error>(job).expect("validated");
        if let Err(e) = NOTE.post_port(&back, &echoed(&job), vec![]) {
            eprintln!("port_renderer: typed echo failed: {e}");
        }
    });
    port.start();
    let bye = bye(&ipc);
    bye.recv_timeout(HANG_GUARD).map_err(|e| e.to_string())
}

fn errors() -> Check {
    let ipc = connect()?;
    let (a, b) = MessageChannel::new().map_err(|e| e.to_string())?;
    let (c, _d) = MessageChannel::new().map_err(|e| e.to_string())?;
    c.close();
    let e = a.post_message(&Value::Null, vec![c]).unwrap_err();
    expect_eq(
        "closed",
        e.to_string(),
        "Port at index 0 is already neutered.".into(),
    )?;
    let (x, _y) = MessageChannel::new().map_err(|e| e.to_string())?;
    let e = a.post_message(&Value::Null, vec![x, b]).unwrap_err();
    expect_eq(
        "own channel",
        e.to_string(),
        "Port at index 1 contains the source port.".into(),
    )?;
    let (z, _w) = MessageChannel::new().map_err(|e| e.to_string())?;
    z.close();
    let e = ipc.post_message("port", &Value::Null, vec![z]).unwrap_err();
    expect_eq(
        "to main",
        e.to_string(),
        "Port at index 0 is already neutered.".into(),
    )?;
    ipc.send("errors-ok", &args![]).map_err(|e| e.to_string())?;
    Ok(())
}

fn main() {
    let role = std::env::args().nth(1).unwrap_or_default();
    let script: fn() -> Check = match role.as_str() {
        "echo" => echo,
        "give" => give,
        "send-n" => send_n,
        "count" => count,
        "carry" => carry,
        "take-carried" => take_carried,
        "typed-echo" => typed_echo,
        "errors" => errors,
        _ => {
            eprintln!(
                "usage: port_renderer <echo|give|send-n|count|carry|take-carried|typed-echo|errors>"
            );
            std::process::exit(EXIT_USAGE);
        }
    };
    run_role(&role, script);
}
