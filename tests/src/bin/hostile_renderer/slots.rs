//! Slot forgeries: requests that name slots main must not write (out of range, wrong
//! generation, free, never armed, in another state), and a claim word flipped under main's
//! compare-and-swap.

use crate::hostile::Hostile;
use crate::report::{fail, ok};
use electrode::Value;
use electrode_tests::hostile_kit::{self as kit, kind, Envelope, Rng};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Role `slots`: requests naming slots and generations that are not pending (main must never
/// write them), then a thread flipping a pending slot's claim word while main answers it.
pub(crate) fn slots() -> i32 {
    let mut h = Hostile::connect();
    let count = h.slots.count();
    let layout = h.raw.layout;
    let sentinel = 0xa5u8;
    let payload_len = count as usize * layout.slot_stride;
    h.raw
        .write(layout.slot_payloads, &vec![sentinel; payload_len]);

    // A pending request main must not answer through anything but its own (index, generation).
    let pending = h.slots.try_acquire().expect("a free slot");
    let g = pending.generation;
    // Slots in states main must leave alone.
    let set_state = |h: &Hostile, i: u32, generation: u32, state: u32| {
        h.raw
            .slot_state(i)
            .store((generation & 0xff_ffff) << 8 | state, Ordering::Release)
    };
    let free_idx = (pending.index + 1) % count;
    let never_armed = (pending.index + 7) % count;
    assert!(count > 7, "the slots role needs more than 7 slots");
    let others: Vec<(u32, u32, &str)> = vec![
        ((pending.index + 2) % count, 3, "ready"),
        ((pending.index + 3) % count, 2, "writing"),
        ((pending.index + 4) % count, 4, "abandoned"),
        ((pending.index + 5) % count, 5, "gone"),
    ];
    for &(i, st, _) in &others {
        set_state(&h, i, 9, st);
    }
    let before: Vec<u32> = (0..count)
        .map(|i| h.raw.slot_state(i).load(Ordering::Acquire))
        .collect();

    let names: Vec<(u32, u32, String)> = [
        (count, 0, "index = slot count".to_string()),
        (count + 5, 0, "index past the table".into()),
        (u32::MAX, g, "index u32::MAX".into()),
        (pending.index, g + 1, "next generation".into()),
        (
            pending.index,
            g.wrapping_sub(1) & 0xff_ffff,
            "previous generation".into(),
        ),
        (free_idx, 0, "a free slot".into()),
        // Never armed, and its claim word names generation 0: only the check that the slot
        // is armed for exactly this generation keeps main from writing it.
        (
            never_armed,
            1,
            "a never-armed slot's next generation".into(),
        ),
    ]
    .into_iter()
    .chain(
        others
            .iter()
            .map(|&(i, _, what)| (i, 9, format!("a slot in state {what}"))),
    )
    .collect();
    for (index, generation, _) in &names {
        for tag in [kind::SEND_SYNC, kind::INVOKE] {
            let env = Envelope {
                slot_index: *index,
                slot_gen: *generation,
                ..Envelope::default()
            };
            let channel = if tag == kind::INVOKE {
                kit::ECHO
            } else {
                kit::ECHO_SYNC
            };
            let m = kit::message(&env, channel.as_bytes(), &kit::args(&[Value::from(1)]));
            h.send(tag, &m);
        }
    }
    // Requests are served in ring order: once this one is answered, all the above were handled.
    if let Err(e) = h.echo(&[Value::from("after the forged slots")]) {
        return fail(&e);
    }
    let after: Vec<u32> = (0..count)
        .map(|i| h.raw.slot_state(i).load(Ordering::Acquire))
        .collect();
    let mut changed = Vec::new();
    for i in 0..count {
        // The echo above used (and freed) one free slot; every other state is as we left it.
        if before[i as usize] != after[i as usize] && before[i as usize] != 0 {
            changed.push(i);
        }
    }
    if after[pending.index as usize] != before[pending.index as usize] {
        return fail(&format!(
            "pending slot {} changed from {:#x} to {:#x}",
            pending.index, before[pending.index as usize], after[pending.index as usize]
        ));
    }
    if !changed.is_empty() {
        return fail(&format!("slot states changed: {changed:?}"));
    }
    // Payloads: only the echo's slot may have been written.
    let mut written = Vec::new();
    for i in 0..count {
        let p = h.raw.read(h.raw.slot_payload_off(i), 64);
        if p.iter().any(|&b| b != sentinel) {
            written.push(i);
        }
    }
    if written.len() > 1 || written.contains(&pending.index) {
        return fail(&format!("slot payloads written: {written:?}"));
    }
    ok("forged-slots-never-written");
    h.slots.cancel(pending);

    // A state flipper racing main's compare-and-swap: main gives up after a bounded number of
    // tries instead of spinning forever.
    let target = h.slots.try_acquire().expect("a slot for the flipper");
    let stop = Arc::new(AtomicBool::new(false));
    let (raw, index) = (h.raw.clone(), target.index);
    let tg = target.generation;
    let flipper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let word = raw.slot_state(index);
            let mut rng = Rng::new(11);
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let v = match rng.index(4) {
                    0 => (tg << 8) | 1,
                    1 => (tg << 8) | 0x81,
                    2 => ((tg + 1) << 8) | 1,
                    _ => rng.next_u64() as u32,
                };
                word.store(v, Ordering::Relaxed);
                flips += 1;
            }
            flips
        })
    };
    for _ in 0..200 {
        let env = Envelope {
            slot_index: target.index,
            slot_gen: tg,
            ..Envelope::default()
        };
        let m = kit::message(&env, kit::ECHO_SYNC.as_bytes(), &kit::args(&[Value::Null]));
        h.send(kind::SEND_SYNC, &m);
    }
    let served = h.echo(&[Value::from("during the flipper")]);
    stop.store(true, Ordering::Relaxed);
    let flips = flipper.join().unwrap_or(0);
    if let Err(e) = served {
        return fail(&format!("main stopped serving during the flipper: {e}"));
    }
    ok(&format!("flipper-bounded flips={flips}"));
    kit::EXIT_OK
}
