//! Everything one renderer sends (`send`, `send_sync`, `invoke`) arrives at main in the order it
//! was sent: 1000 randomly mixed calls carry their sequence number, main records the numbers of
//! all three kinds in one list, which must read 0..1000. The invokes are not awaited until the
//! end, so they really interleave with the sends.

use electrode::{Main, Value};
use electrode_tests::api_kit::spawn;
use electrode_tests::watchdog;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const RENDERER: &str = env!("CARGO_BIN_EXE_api_renderer");
const N: i64 = 1000;

#[test]
fn mixed_send_send_sync_and_invoke_arrive_in_order() {
    let _dog = watchdog(
        Duration::from_secs(120),
        "mixed_send_send_sync_and_invoke_arrive_in_order",
    );
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    eprintln!("ordering seed: {seed}");
    let main = Main::new().unwrap();
    let seen: Arc<Mutex<Vec<(i64, &'static str)>>> = Arc::default();
    let arg = |a: &electrode::ArgsView<'_>| a.get(0).and_then(|v| v.as_i64()).unwrap_or(-1);
    let s = seen.clone();
    main.ipc().on("seq", move |e, a| {
        assert!(!e.is_sync());
        s.lock().unwrap().push((arg(a), "send"));
    });
    let s = seen.clone();
    main.ipc().on("seq-sync", move |e, a| {
        s.lock().unwrap().push((arg(a), "send_sync"));
        e.set_return_value(arg(a));
    });
    let s = seen.clone();
    main.ipc()
        .handle("seq-invoke", move |_, a| {
            s.lock().unwrap().push((arg(a), "invoke"));
            Ok(Value::from(arg(a)))
        })
        .unwrap();
    let s = seen.clone();
    main.ipc().on("seq-count", move |e, _| {
        e.set_return_value(s.lock().unwrap().len() as i64);
    });
    spawn(
        &main,
        RENDERER,
        "ordering",
        &[&seed.to_string(), &N.to_string()],
    )
    .expect_success();

    let seen = seen.lock().unwrap();
    let numbers: Vec<i64> = seen.iter().map(|&(n, _)| n).collect();
    if let Some(i) = (0..numbers.len()).find(|&i| numbers[i] != i as i64) {
        panic!(
            "out of order at position {i} (seed {seed}): around it main saw {:?}",
            &seen[i.saturating_sub(3)..(i + 3).min(seen.len())]
        );
    }
    assert_eq!(
        numbers.len() as i64,
        N,
        "main saw {} messages",
        numbers.len()
    );
    for kind in ["send", "send_sync", "invoke"] {
        assert!(seen.iter().any(|&(_, k)| k == kind), "no {kind} in the mix");
    }
}
