//! `MessagePort::recv_with` allocates nothing per message in a receive loop (the port's copy
//! buffer is reused, the message is read in place), measured by the allocator: this test
//! binary counts every heap byte allocated through `cap`. `recv`, which builds an owned
//! `Value` per message, shows that the count sees a receive's allocations.
//!
//! One test in this binary, so nothing else allocates while it measures.

use cap::Cap;
use electrode::{MessageChannel, Value, ValueRef};
use electrode_tests::watchdog;
use std::alloc::System;
use std::time::Duration;

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

const N: u64 = 1000;
const T: Option<Duration> = Some(Duration::from_secs(30));

#[test]
fn recv_with_allocates_nothing_per_message() {
    let _dog = watchdog(Duration::from_secs(120), "recv_with_allocates_nothing");
    let (a, b) = MessageChannel::new().unwrap();
    let mut msg = Value::Bytes(vec![0u8; 64]);
    let post = |msg: &mut Value, seq: u64| {
        if let Value::Bytes(v) = msg {
            v[..8].copy_from_slice(&seq.to_le_bytes());
        }
        a.post_message(msg, vec![]).unwrap();
    };
    let take = |seq: u64| {
        b.recv_with(T, |m| match m.data() {
            ValueRef::Bytes(v) => assert_eq!(v[..8], seq.to_le_bytes(), "message {seq}"),
            other => panic!("message {seq}: {other:?}"),
        })
        .unwrap()
    };
    // Warm up (the copy buffer grows once), then queue N messages and take them.
    post(&mut msg, 0);
    take(0);
    for seq in 1..=N {
        post(&mut msg, seq);
    }
    let before = HEAP.total_allocated();
    for seq in 1..=N {
        take(seq);
    }
    let lent = HEAP.total_allocated() - before;
    // The count is process-wide: the test harness's own threads may allocate a few bytes
    // meanwhile. Any allocation per message would be at least 8 bytes each (8,000 here).
    assert!(
        lent < N as usize,
        "{N} lending receives allocated {lent} bytes: an allocation per message"
    );

    // The same through `recv`: at least the 64 bytes of each owned `Value`.
    for seq in 0..N {
        post(&mut msg, seq);
    }
    let before = HEAP.total_allocated();
    for seq in 0..N {
        let got = b.recv(T).unwrap();
        assert_eq!(
            got.data.as_bytes().map(|v| &v[..8]),
            Some(&seq.to_le_bytes()[..])
        );
    }
    let owned = HEAP.total_allocated() - before;
    assert!(
        owned >= N as usize * 64,
        "{N} owned receives allocated only {owned} bytes"
    );
}
