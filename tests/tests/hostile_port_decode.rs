//! A MessagePort end's checks on hostile frames, without the fuzzer: CI's stand-in for
//! `fuzz/fuzz_targets/port.rs`.
//!
//! `electrode::fuzzing::decode_port_message(tag, bytes)` runs what a port end runs on each
//! frame its untrusted peer writes (private aligned copy; the enveloped form's envelope, wire
//! format and port records, or a raw archive's head and a typed receiver's validation, or raw
//! bytes; the owned copy a listener's `data()` makes). These tests feed it valid frames of
//! every form (all accepted), crafted lies (each refused), and 100 000 deterministic random
//! and mutated-valid inputs (none may panic; both outcomes must occur).

use electrode::fuzzing::{decode_port_message, port_corpus, FUZZ_JOB, PORT_TAGS};
use electrode_tests::hostile_kit::{self as kit, Rng};
use electrode_tests::watchdog;
use std::time::Duration;

const POST: u16 = PORT_TAGS[0];
const RAW_ARCHIVE: u16 = PORT_TAGS[2];

#[test]
fn valid_port_frames_are_accepted() {
    let corpus = port_corpus();
    for tag in PORT_TAGS {
        assert!(
            corpus.iter().any(|(t, _)| *t == tag),
            "no sample of tag {tag}"
        );
    }
    for (i, (tag, m)) in corpus.iter().enumerate() {
        assert!(
            decode_port_message(*tag, m),
            "sample {i} (tag {tag}) refused"
        );
    }
}

#[test]
fn crafted_port_lies_are_refused() {
    let fp = FUZZ_JOB.fingerprint().to_le_bytes();
    let head = |fingerprint: [u8; 8], word: u64| {
        let mut h = fingerprint.to_vec();
        h.extend_from_slice(&word.to_le_bytes());
        h
    };
    let (_, raw_job) = port_corpus()
        .into_iter()
        .find(|(t, _)| *t == RAW_ARCHIVE)
        .expect("a raw archive sample");
    let mut cut = raw_job.clone();
    cut.truncate(raw_job.len() - 3);
    let mut scribbled = raw_job.clone();
    scribbled[16..].fill(0xA5); // every length, offset and tag of the archive a lie
    let (_, enveloped) = port_corpus()
        .into_iter()
        .find(|(t, _)| *t == POST)
        .expect("an enveloped sample");
    let lies: Vec<(&str, u16, Vec<u8>)> = vec![
        (
            "raw archive shorter than its head",
            RAW_ARCHIVE,
            fp.to_vec(),
        ),
        ("raw archive, empty", RAW_ARCHIVE, Vec::new()),
        ("raw archive, fingerprint 0", RAW_ARCHIVE, head([0; 8], 0)),
        (
            "raw archive, non-zero second word",
            RAW_ARCHIVE,
            head(fp, 1),
        ),
        ("raw archive, truncated", RAW_ARCHIVE, cut),
        ("raw archive, root scribbled", RAW_ARCHIVE, scribbled),
        (
            "enveloped, truncated to its envelope",
            POST,
            enveloped[..8].to_vec(),
        ),
        ("an unknown tag", 45, vec![0; 32]),
        ("a renderer kind in a port ring", 1, enveloped.clone()),
    ];
    for (what, tag, bytes) in &lies {
        assert!(!decode_port_message(*tag, bytes), "accepted: {what}");
    }
}

#[test]
fn random_and_mutated_port_frames_never_panic() {
    let _dog = watchdog(Duration::from_secs(120), "random_and_mutated_port_frames");
    let corpus = port_corpus();
    let mut rng = Rng::new(0x9027_f00d);
    const RANDOM: usize = 25_000;
    const MUTATED: usize = 75_000;
    for _ in 0..RANDOM {
        let tag = PORT_TAGS[rng.index(PORT_TAGS.len())];
        let n = rng.index(256);
        let bytes = rng.bytes(n);
        let _ = decode_port_message(tag, &bytes);
    }
    let (accepted, refused) = kit::mutation_rounds(
        &mut rng,
        &corpus,
        MUTATED,
        |rng| PORT_TAGS[rng.index(PORT_TAGS.len())],
        decode_port_message,
    );
    eprintln!("mutated: {accepted} accepted, {refused} refused");
    assert!(accepted > 0 && refused > 0);
}
