//! `send_sync` between real processes: several listeners setting the return value (the first
//! wins, later ones are refused, nothing crashes), no listener on any level (fails at once), a
//! listener that never answers (`reply was never sent`), an answer given later from another
//! thread, a deadline, a late answer after the deadline (must not leak into later calls),
//! more abandoned requests than response slots (none may be lost for good),
//! structured errors through `set_error`, and `set_return_value` on a plain `send`.

use electrode::{IpcMainEvent, Main, RemoteError};
use electrode_tests::api_kit::{spawn, typed_error};
use electrode_tests::watchdog;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RENDERER: &str = env!("CARGO_BIN_EXE_api_renderer");

#[test]
fn send_sync_return_value_semantics() {
    let _dog = watchdog(Duration::from_secs(120), "send_sync_return_value_semantics");
    let main = Main::new().unwrap();
    let ipc = main.ipc();
    // Three listeners answer `multi`: "first" wins; the others are told they lost.
    let multi: Arc<Mutex<Vec<[bool; 3]>>> = Arc::default();
    let round: Arc<Mutex<[bool; 3]>> = Arc::default();
    for (k, value) in ["first", "second", "third"].into_iter().enumerate() {
        let (multi, round) = (multi.clone(), round.clone());
        ipc.on("multi", move |e, _| {
            let mut r = round.lock().unwrap();
            r[k] = e.set_return_value(value);
            if k == 2 {
                multi.lock().unwrap().push(*r);
            }
        });
    }
    // What listeners find wrong (a panic in a listener is only logged by the dispatcher).
    let bad: Arc<Mutex<Vec<String>>> = Arc::default();
    ipc.on("silent", |_, _| {});
    ipc.on("later", |e, _| {
        let e = e.clone();
        std::thread::spawn(move || assert!(e.set_return_value("late")));
    });
    let held: Arc<Mutex<Option<IpcMainEvent>>> = Arc::default();
    let h = held.clone();
    ipc.on("hold", move |e, _| *h.lock().unwrap() = Some(e.clone()));
    let held_many: Arc<Mutex<Vec<IpcMainEvent>>> = Arc::default();
    let h = held_many.clone();
    ipc.on("hold-many", move |e, _| h.lock().unwrap().push(e.clone()));
    let (h, b) = (held.clone(), bad.clone());
    ipc.on("release-held", move |e, _| {
        let ev = h.lock().unwrap().clone().expect("`hold` came first");
        e.set_return_value(ev.set_return_value("stale"));
        if ev.set_return_value("staler") {
            b.lock()
                .unwrap()
                .push("held event took a second answer".into());
        }
    });
    let b = bad.clone();
    ipc.on("typed-sync", move |e, _| {
        let first = e.set_error(typed_error());
        let second = e.set_error(RemoteError::new("too late"));
        if !first || second {
            b.lock()
                .unwrap()
                .push(format!("set_error returned {first} then {second}"));
        }
    });
    let plain: Arc<Mutex<Vec<(bool, bool)>>> = Arc::default();
    let p = plain.clone();
    ipc.on("plain", move |e, _| {
        p.lock().unwrap().push((e.is_sync(), e.set_return_value(1)));
    });

    spawn(&main, RENDERER, "return-value", &[]).expect_success();

    let multi = multi.lock().unwrap();
    assert_eq!(multi.len(), 302, "send_sync(multi) calls seen by main");
    assert!(
        multi.iter().all(|r| *r == [true, false, false]),
        "set_return_value results per listener: {:?}",
        multi.iter().find(|r| **r != [true, false, false])
    );
    assert_eq!(*plain.lock().unwrap(), vec![(false, false)]);
    assert_eq!(held_many.lock().unwrap().len(), 300);
    assert!(bad.lock().unwrap().is_empty(), "{:?}", bad.lock().unwrap());
}
