//! The async invoke answered in a response slot, with an in-process renderer: quick answers
//! (ready on the first poll), slow ones (the future parks, main's `SlotReady` wakes it), large
//! ones (collected from the mailbox), many at once on a thread pool (more than there are
//! slots: the rest go through the ring), dropped futures (their slots come back), the
//! blocking `wait` with a timeout, and the connection ending under a parked future.
//!
//! Every test runs under a watchdog that aborts the process on a hang.

use electrode::{args, CallError, DeferredReply, Invoke, IpcRenderer, Main, Value};
use futures::executor::{block_on, ThreadPool};
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// Aborts the process if the test is not done within a minute (a hang is a failure).
struct Watchdog(Option<mpsc::Sender<()>>);

fn watchdog(name: &'static str) -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(60)) {
            eprintln!("watchdog: {name} hung for 60 s");
            std::process::abort();
        }
    });
    Watchdog(Some(tx))
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.0.take());
    }
}

/// A waker that records being woken, for polling a future by hand.
#[derive(Default)]
struct Woken {
    flag: Mutex<bool>,
    cond: Condvar,
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        *self.flag.lock().unwrap() = true;
        self.cond.notify_all();
    }
}

impl Woken {
    /// Wait until woken (the watchdog bounds it); clears the flag.
    fn wait(&self) {
        let mut f = self.flag.lock().unwrap();
        while !*f {
            f = self.cond.wait(f).unwrap();
        }
        *f = false;
    }
}

fn poll_once(fut: &mut Invoke, woken: &Arc<Woken>) -> Poll<Result<Value, CallError>> {
    let waker = Waker::from(woken.clone());
    Pin::new(fut).poll(&mut Context::from_waker(&waker))
}

/// Main answers `later` only when the test says so: each call's reply is held here.
type Held = Arc<Mutex<Vec<(i64, DeferredReply)>>>;

fn hold_later(main: &Main, channel: &str) -> Held {
    let held: Held = Arc::default();
    let h = held.clone();
    main.ipc()
        .handle_deferred(channel, move |_e, a, reply| {
            h.lock()
                .unwrap()
                .push((a.get(0).unwrap().as_i64().unwrap(), reply));
        })
        .unwrap();
    held
}

fn wait_held(held: &Held, n: usize) {
    while held.lock().unwrap().len() < n {
        std::thread::yield_now();
    }
}

fn add_handler(main: &Main) {
    main.ipc()
        .handle("add", |_e, a| {
            Ok(Value::from(
                a.get(0).unwrap().as_i64().unwrap() + a.get(1).unwrap().as_i64().unwrap(),
            ))
        })
        .unwrap();
}

/// Every one of `slots` slots is free: that many blocking invokes are in flight at once (main
/// answers them only when all have arrived). A leaked slot leaves one waiting for a slot
/// until its deadline, and it fails `TimedOut`.
fn all_slots_free(main: &Main, r: &IpcRenderer, slots: usize, channel: &str) {
    let arrived: Arc<Mutex<Vec<DeferredReply>>> = Arc::default();
    let a = arrived.clone();
    main.ipc()
        .handle_deferred(channel, move |_e, _a, reply| {
            let mut v = a.lock().unwrap();
            v.push(reply);
            if v.len() == slots {
                for (i, reply) in v.drain(..).enumerate() {
                    reply.resolve(i as i64);
                }
            }
        })
        .unwrap();
    std::thread::scope(|s| {
        let calls: Vec<_> = (0..slots)
            .map(|_| s.spawn(|| r.invoke_timeout(channel, &args![], Duration::from_secs(20))))
            .collect();
        for c in calls {
            c.join().unwrap().expect("every slot is free");
        }
    });
    main.ipc().remove_handler(channel);
}

#[test]
fn quick_answers_are_ready_on_the_first_poll_and_errors_reject() {
    let _w = watchdog("quick answers");
    let main = Main::new().unwrap();
    add_handler(&main);
    let (_wc, r) = main.connect_in_process().unwrap();
    for i in 0..1000 {
        assert_eq!(
            block_on(r.invoke("add", &args![i, 1])).unwrap(),
            Value::from(i + 1)
        );
    }
    let e = block_on(r.invoke("nope", &args![])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Error invoking remote method 'nope': Error: No handler registered for 'nope'"
    );
    // The blocking wait of an async invoke reads the same slot.
    assert_eq!(
        r.invoke("add", &args![2, 3]).wait(None).unwrap(),
        Value::from(5)
    );
}

#[test]
fn a_slow_answer_wakes_the_parked_future() {
    let _w = watchdog("slow answer");
    let main = Main::new().unwrap();
    let held = hold_later(&main, "later");
    let (_wc, r) = main.connect_in_process().unwrap();
    let woken = Arc::new(Woken::default());
    for round in 0..200i64 {
        let mut fut = r.invoke("later", &args![round]);
        // Main answers only after this poll has returned: it must park.
        assert!(poll_once(&mut fut, &woken).is_pending(), "round {round}");
        wait_held(&held, 1);
        let (n, reply) = held.lock().unwrap().pop().unwrap();
        reply.resolve(n * 10);
        woken.wait();
        match poll_once(&mut fut, &woken) {
            Poll::Ready(v) => assert_eq!(v.unwrap(), Value::from(round * 10)),
            Poll::Pending => panic!("woken, but the answer is not there (round {round})"),
        }
    }
    // A rejection comes the same way.
    let mut fut = r.invoke("later", &args![0]);
    assert!(poll_once(&mut fut, &woken).is_pending());
    wait_held(&held, 1);
    held.lock()
        .unwrap()
        .pop()
        .unwrap()
        .1
        .reject(electrode::RemoteError::named("E", "no"));
    woken.wait();
    let Poll::Ready(Err(CallError::Invoke { error, .. })) = poll_once(&mut fut, &woken) else {
        panic!("expected the rejection");
    };
    assert_eq!((error.name.as_str(), error.message.as_str()), ("E", "no"));
}

#[test]
fn large_answers_quick_and_parked() {
    let _w = watchdog("large answers");
    let main = Main::builder().slot_size(4096).build().unwrap();
    main.ipc()
        .handle("big", |_e, a| {
            let n = a.get(0).unwrap().as_i64().unwrap() as usize;
            Ok(Value::Bytes(vec![n as u8; 100_000 + n]))
        })
        .unwrap();
    let held = hold_later(&main, "later");
    let (_wc, r) = main.connect_in_process().unwrap();
    for n in 0..50i64 {
        let v = block_on(r.invoke("big", &args![n])).unwrap();
        assert_eq!(v, Value::Bytes(vec![n as u8; 100_000 + n as usize]));
    }
    let woken = Arc::new(Woken::default());
    for n in 0..20i64 {
        let mut fut = r.invoke("later", &args![n]);
        assert!(poll_once(&mut fut, &woken).is_pending());
        wait_held(&held, 1);
        let (n, reply) = held.lock().unwrap().pop().unwrap();
        reply.resolve(Value::Bytes(vec![7; 50_000 + n as usize]));
        let got = loop {
            woken.wait();
            if let Poll::Ready(v) = poll_once(&mut fut, &woken) {
                break v;
            }
        };
        assert_eq!(got.unwrap(), Value::Bytes(vec![7; 50_000 + n as usize]));
    }
    all_slots_free(&main, &r, 256, "gather");
}

#[test]
fn a_thousand_concurrent_invokes_on_a_thread_pool() {
    let _w = watchdog("1000 concurrent");
    const N: usize = 1000;
    let main = Main::new().unwrap();
    // Main answers once all N are in (so all are in flight at once: 128 in slots, the rest
    // through the ring), in reverse order.
    let waiting: Held = Arc::default();
    let w = waiting.clone();
    main.ipc()
        .handle_deferred("all", move |_e, a, reply| {
            let mut v = w.lock().unwrap();
            v.push((a.get(0).unwrap().as_i64().unwrap(), reply));
            if v.len() == N {
                while let Some((n, reply)) = v.pop() {
                    reply.resolve(n * 3);
                }
            }
        })
        .unwrap();
    let (_wc, r) = main.connect_in_process().unwrap();
    let pool = ThreadPool::builder().pool_size(2).create().unwrap();
    let (tx, rx) = mpsc::channel();
    for i in 0..N as i64 {
        let fut = r.invoke("all", &args![i]);
        let tx = tx.clone();
        pool.spawn_ok(async move {
            tx.send((i, fut.await)).unwrap();
        });
    }
    drop(tx);
    let mut seen = vec![false; N];
    for (i, v) in rx.iter() {
        assert_eq!(v.unwrap(), Value::from(i * 3), "call {i}");
        assert!(!std::mem::replace(&mut seen[i as usize], true));
    }
    assert!(seen.iter().all(|s| *s), "every call answered once");
    all_slots_free(&main, &r, 256, "gather");
}

#[test]
fn dropped_pending_futures_give_their_slots_back() {
    let _w = watchdog("dropped futures");
    const SLOTS: usize = 4;
    let main = Main::builder().slot_count(SLOTS as u32).build().unwrap();
    add_handler(&main);
    let held = hold_later(&main, "later");
    let (_wc, r) = main.connect_in_process().unwrap();
    let woken = Arc::new(Woken::default());
    // 10,000 futures, SLOTS at a time (half of them in slots, the others through the ring),
    // half of the batches parked first.
    for batch in 0..10_000 / SLOTS {
        let mut futs: Vec<Invoke> = (0..SLOTS)
            .map(|i| r.invoke("later", &args![(batch * SLOTS + i) as i64]))
            .collect();
        if batch % 2 == 0 {
            for f in &mut futs {
                assert!(poll_once(f, &woken).is_pending());
            }
        }
        drop(futs);
    }
    wait_held(&held, 10_000);
    // The late answers go nowhere (their slots were abandoned, and reused since).
    for (n, reply) in held.lock().unwrap().drain(..) {
        reply.resolve(n);
    }
    for i in 0..10_000i64 {
        assert_eq!(
            block_on(r.invoke("add", &args![i, -1])).unwrap(),
            Value::from(i - 1)
        );
    }
    all_slots_free(&main, &r, SLOTS, "gather");
}

#[test]
fn the_blocking_wait_times_out_and_frees_the_slot() {
    let _w = watchdog("wait timeout");
    const SLOTS: usize = 2;
    let main = Main::builder().slot_count(SLOTS as u32).build().unwrap();
    let held = hold_later(&main, "later");
    let (_wc, r) = main.connect_in_process().unwrap();
    let fresh = r.invoke("later", &args![1]);
    assert_eq!(
        fresh.wait(Some(Duration::from_millis(20))),
        Err(CallError::TimedOut)
    );
    let woken = Arc::new(Woken::default());
    let mut parked = r.invoke("later", &args![2]);
    assert!(poll_once(&mut parked, &woken).is_pending());
    assert_eq!(
        parked.wait(Some(Duration::from_millis(20))),
        Err(CallError::TimedOut)
    );
    // A parked future's blocking wait still gets an answer that comes.
    let mut parked = r.invoke("later", &args![3]);
    assert!(poll_once(&mut parked, &woken).is_pending());
    wait_held(&held, 3);
    let (n, reply) = held.lock().unwrap().pop().unwrap();
    reply.resolve(n + 1);
    assert_eq!(parked.wait(None).unwrap(), Value::from(4));
    held.lock().unwrap().clear();
    all_slots_free(&main, &r, SLOTS, "gather");
}

#[test]
fn the_connection_ending_wakes_a_parked_future() {
    let _w = watchdog("disconnect");
    let main = Main::new().unwrap();
    let held = hold_later(&main, "later");
    let (_wc, r) = main.connect_in_process().unwrap();
    let woken = Arc::new(Woken::default());
    let mut futs: Vec<Invoke> = (0..8).map(|i| r.invoke("later", &args![i])).collect();
    for f in &mut futs {
        assert!(poll_once(f, &woken).is_pending());
    }
    wait_held(&held, 8);
    // Main goes away, its handler's replies still held (unanswered).
    let unanswered = std::mem::take(&mut *held.lock().unwrap());
    drop(main);
    // The parked futures are woken (nothing else polls them)...
    woken.wait();
    // ...and every one finds its call failed.
    for f in &mut futs {
        assert_eq!(
            poll_once(f, &woken),
            Poll::Ready(Err(CallError::Disconnected))
        );
    }
    drop(unanswered);
    // And a new one fails at once.
    assert_eq!(
        block_on(r.invoke("later", &args![9])),
        Err(CallError::Disconnected)
    );
}

#[test]
fn unpolled_futures_leave_slots_for_blocking_calls() {
    let _w = watchdog("unpolled futures");
    let main = Main::builder().slot_count(4).build().unwrap();
    add_handler(&main);
    let (_wc, r) = main.connect_in_process().unwrap();
    // Answered at once, but nobody polls them: they keep whatever slots they took.
    let kept: Vec<Invoke> = (0..300).map(|i| r.invoke("add", &args![i, 0])).collect();
    for i in 0..100 {
        assert_eq!(
            r.invoke_timeout("add", &args![i, 2], Duration::from_secs(20))
                .unwrap(),
            Value::from(i + 2)
        );
    }
    for (i, f) in kept.into_iter().enumerate() {
        assert_eq!(block_on(f).unwrap(), Value::from(i as i64));
    }
}
