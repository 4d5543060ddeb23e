//! Per-frame ordering under fair dispatch: several renderers, each with several frames (one
//! thread per frame, so their messages interleave in the renderer's one ring), make a random
//! mix of `send`, `send_sync`, blocking `invoke` and unawaited `invoke` futures, each carrying
//! `[frame, seq]`; meanwhile another renderer floods main with one-way sends whose listener
//! works about a microsecond each, so the dispatcher's work budget cuts turns short (checked:
//! its budget-yield count moved). Main records every (renderer, frame) stream and checks it
//! reads exactly `0, 1, .., n - 1`: nothing reordered, lost or repeated.

use electrode::{Main, Value};
use electrode_tests::api_kit::{spawn, ReadyGate};
use electrode_tests::watchdog;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const RENDERER: &str = env!("CARGO_BIN_EXE_fair_renderer");

/// Renderers making mixed calls.
const RENDERERS: usize = 3;
/// Frames per renderer.
const FRAMES: i64 = 4;
/// Calls per frame.
const N: i64 = 1_500;

/// Every stream as main saw it: (renderer id, frame) → next expected seq, and the first break.
#[derive(Default)]
struct Streams {
    next: HashMap<(u32, i64), i64>,
    kinds: HashMap<&'static str, u64>,
    broken: Vec<String>,
}

impl Streams {
    fn saw(
        &mut self,
        renderer: u32,
        frame_id: u32,
        a: &electrode::ArgsView<'_>,
        kind: &'static str,
    ) -> i64 {
        let int = |i: usize| a.get(i).and_then(|v| v.as_i64()).unwrap_or(-1);
        let (frame, seq) = (int(0), int(1));
        if frame != i64::from(frame_id) && self.broken.len() < 8 {
            self.broken.push(format!(
                "renderer {renderer}: a {kind} says frame {frame} but came from frame {frame_id}"
            ));
        }
        let next = self.next.entry((renderer, frame)).or_insert(0);
        if seq != *next && self.broken.len() < 8 {
            self.broken.push(format!(
                "renderer {renderer} frame {frame}: {kind} {seq} arrived when {} was due",
                *next
            ));
        }
        *next = seq + 1;
        *self.kinds.entry(kind).or_insert(0) += 1;
        seq
    }
}

#[test]
fn every_frame_s_calls_arrive_in_order_while_another_renderer_floods() {
    let _dog = watchdog(
        Duration::from_secs(240),
        "every_frame_s_calls_arrive_in_order_while_another_renderer_floods",
    );
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    eprintln!("ordering_frames seed: {seed}");
    let main = Main::new().unwrap();
    let gate = ReadyGate::install(main.ipc());
    let streams: Arc<Mutex<Streams>> = Arc::default();
    let s = streams.clone();
    main.ipc().on("ord", move |e, a| {
        s.lock()
            .unwrap()
            .saw(e.sender().id(), e.frame_id(), a, "send");
    });
    let s = streams.clone();
    main.ipc().on("ord-sync", move |e, a| {
        let seq = s
            .lock()
            .unwrap()
            .saw(e.sender().id(), e.frame_id(), a, "send_sync");
        e.set_return_value(seq);
    });
    let s = streams.clone();
    main.ipc()
        .handle("ord-invoke", move |e, a| {
            let seq = s
                .lock()
                .unwrap()
                .saw(e.sender().id(), e.frame_id(), a, "invoke");
            Ok(Value::from(seq))
        })
        .unwrap();
    let flood: Arc<Mutex<i64>> = Arc::default();
    let f = flood.clone();
    main.ipc().on("flood", move |_e, a| {
        let seq = a.get(0).and_then(|v| v.as_i64()).unwrap_or(-1);
        {
            let mut next = f.lock().unwrap();
            // A break is seen by the flooder: its `flood-done` count would disagree.
            *next = if seq == *next { seq + 1 } else { i64::MIN / 2 };
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_micros(1) {
            std::hint::spin_loop();
        }
    });
    let f = flood.clone();
    main.ipc()
        .handle("flood-done", move |_e, _a| {
            Ok(Value::from(*f.lock().unwrap()))
        })
        .unwrap();

    let flooder = spawn(&main, RENDERER, "flood", &[]);
    gate.wait().0.set_return_value(Value::Null);
    let (frames, n, seed) = (FRAMES.to_string(), N.to_string(), seed.to_string());
    let mixed: Vec<_> = (0..RENDERERS)
        .map(|_| spawn(&main, RENDERER, "mixed", &[&frames, &n, &seed]))
        .collect();
    let ready: Vec<_> = (0..RENDERERS).map(|_| gate.wait().0).collect();
    let yields_before = main.dispatcher_budget_yields();
    for e in ready {
        e.set_return_value(Value::Null);
    }
    for m in &mixed {
        m.expect_success();
    }
    let yields = main.dispatcher_budget_yields() - yields_before;
    flooder.wc.send("flood-stop", &[]).unwrap();
    flooder.expect_success();

    let s = streams.lock().unwrap();
    assert!(s.broken.is_empty(), "seed {seed}: {:#?}", s.broken);
    assert_eq!(
        s.next.len(),
        RENDERERS * FRAMES as usize,
        "streams: {:?}",
        s.next.keys()
    );
    for m in &mixed {
        for frame in 0..FRAMES {
            assert_eq!(
                s.next.get(&(m.wc.id(), frame)),
                Some(&N),
                "renderer {} frame {frame}: not every call arrived",
                m.wc.id()
            );
        }
    }
    for kind in ["send", "send_sync", "invoke"] {
        assert!(
            s.kinds.get(kind).is_some_and(|&k| k > 0),
            "no {kind} in the mix"
        );
    }
    assert!(yields > 0, "the work budget never cut a turn short");
}
