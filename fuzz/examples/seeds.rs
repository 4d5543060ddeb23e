//! Write seed corpora: for `decode`, valid messages of every kind; for `ring`, scripts that
//! write valid frames (whole, chunked, after padding) and take them; for `typed`, valid
//! archives of `fuzzing::FUZZ_JOB` under each request kind. The fuzzers then start from inputs
//! that pass the first checks; for `port`, valid port-ring frames of every form
//! (`fuzzing::port_corpus`). `cargo run --example seeds` (from `fuzz/`) writes
//! `corpus/{decode,ring,typed,port}/seed-*`.

use electrode::wire::encode_to_vec;
use electrode::Value;
use std::fs;

fn message(flags: u8, channel: &str, args: &[Value]) -> Vec<u8> {
    let off = (32 + channel.len()).div_ceil(16) * 16;
    let archive = encode_to_vec(args).expect("encode");
    let mut m = vec![0u8; off + archive.len()];
    m[0] = flags;
    m[2..4].copy_from_slice(&(channel.len() as u16).to_le_bytes());
    m[8..12].copy_from_slice(&3u32.to_le_bytes());
    m[12..16].copy_from_slice(&1u32.to_le_bytes());
    m[16..24].copy_from_slice(&9u64.to_le_bytes());
    m[32..32 + channel.len()].copy_from_slice(channel.as_bytes());
    m[off..].copy_from_slice(&archive);
    m
}

fn main() {
    let dir = "corpus/decode";
    fs::create_dir_all(dir).expect("create the corpus directory");
    let nested = Value::map([
        (
            "list",
            Value::Array(vec![Value::Null, Value::from(1.5), Value::from("x")]),
        ),
        ("blob", Value::Bytes(vec![9u8; 40])),
        ("inner", Value::map([("k", Value::from(true))])),
    ]);
    let arg_sets = [
        vec![],
        vec![Value::from(1)],
        vec![Value::from(
            "a string that lives out of line in the archive",
        )],
        vec![nested.clone(), Value::from(-7)],
        vec![Value::Array(vec![nested; 3])],
        vec![
            Value::from("TypeError"),
            Value::from("bad"),
            Value::from(false),
            Value::Null,
        ],
    ];
    let mut n = 0;
    // The target maps the first byte to a kind: 0..=4 are Send, SendSync, Invoke,
    // HandlerReply, FrameOpen.
    for (i, args) in arg_sets.iter().enumerate() {
        for kind in 0u8..5 {
            let flags = if kind == 3 && i == 5 {
                1
            } else {
                (i % 3) as u8
            };
            let mut input = vec![kind];
            input.extend_from_slice(&message(flags, "echo", args));
            fs::write(format!("{dir}/seed-{n}"), input).expect("write a seed");
            n += 1;
        }
    }
    println!("wrote {n} seeds to {dir}");
    ring_seeds(&message(0, "echo", &[Value::from(1)]));
    typed_seeds();
    port_seeds();
}

/// Valid port-ring frames: the target's first byte picks the tag (its index in `PORT_TAGS`).
fn port_seeds() {
    let dir = "corpus/port";
    fs::create_dir_all(dir).expect("create the corpus directory");
    let tags = electrode::fuzzing::PORT_TAGS;
    let mut n = 0;
    for (tag, m) in electrode::fuzzing::port_corpus() {
        let k = tags.iter().position(|t| *t == tag).expect("a port tag") as u8;
        let mut input = vec![k];
        input.extend_from_slice(&m);
        fs::write(format!("{dir}/seed-{n}"), input).expect("write a seed");
        n += 1;
    }
    println!("wrote {n} seeds to {dir}");
}

/// Valid typed messages: every sample job under `Send`, `SendSync` and `Invoke` (the target's
/// first byte 0, 1, 2).
fn typed_seeds() {
    let dir = "corpus/typed";
    fs::create_dir_all(dir).expect("create the corpus directory");
    let mut n = 0;
    for job in electrode::fuzzing::sample_fuzz_jobs() {
        let m = electrode::fuzzing::encode_fuzz_job(&job);
        for kind in 0u8..3 {
            let mut input = vec![kind];
            input.extend_from_slice(&m);
            fs::write(format!("{dir}/seed-{n}"), input).expect("write a seed");
            n += 1;
        }
    }
    println!("wrote {n} seeds to {dir}");
}

/// A frame header: len, kind, tag, meta.
fn header(len: usize, kind: u8, tag: u16) -> Vec<u8> {
    let mut h = vec![0u8; 16];
    h[0..4].copy_from_slice(&(len as u32).to_le_bytes());
    h[4] = kind;
    h[6..8].copy_from_slice(&tag.to_le_bytes());
    h
}

/// Script op: write `bytes` at ring offset `off` (at most 255 bytes per op).
fn write(script: &mut Vec<u8>, off: usize, bytes: &[u8]) {
    for (i, chunk) in bytes.chunks(255).enumerate() {
        script.push(1);
        script.extend_from_slice(&((off + i * 255) as u16).to_le_bytes());
        script.push(chunk.len() as u8);
        script.extend_from_slice(chunk);
    }
}

/// Script op: publish `bytes` more (a multiple of 16).
fn publish(script: &mut Vec<u8>, bytes: usize) {
    for _ in 0..bytes / (16 * 255) {
        script.extend_from_slice(&[0, 255]);
    }
    if !bytes.is_multiple_of(16 * 255) {
        script.extend_from_slice(&[0, (bytes % (16 * 255) / 16) as u8]);
    }
}

fn frame_size(len: usize) -> usize {
    16 + len.div_ceil(16) * 16
}

fn ring_seeds(msg: &[u8]) {
    let dir = "corpus/ring";
    fs::create_dir_all(dir).expect("create the corpus directory");
    let mut seeds = Vec::new();
    // One whole frame, taken.
    let mut s = Vec::new();
    let mut f = header(msg.len(), 2, 1);
    f.extend_from_slice(msg);
    write(&mut s, 0, &f);
    publish(&mut s, frame_size(msg.len()));
    s.push(2);
    seeds.push(s.clone());
    // Two frames, then a chunked message in three parts.
    write(&mut s, frame_size(msg.len()), &f);
    publish(&mut s, frame_size(msg.len()));
    s.push(2);
    let mut at = 2 * frame_size(msg.len());
    for kind in [3u8, 4, 5] {
        let mut c = header(msg.len(), kind, 1);
        c.extend_from_slice(msg);
        write(&mut s, at, &c);
        publish(&mut s, frame_size(msg.len()));
        at += frame_size(msg.len());
    }
    s.push(2);
    seeds.push(s);
    // Two frames of almost half the ring, taken; then padding to the ring end and a frame at
    // offset 0.
    let mut s = Vec::new();
    let mut big = header(2000, 2, 1);
    big.extend_from_slice(msg);
    big.resize(16 + 2000, 0);
    write(&mut s, 0, &big);
    write(&mut s, 2016, &big);
    publish(&mut s, 4032);
    s.extend_from_slice(&[2, 2]);
    write(&mut s, 4032, &header(48, 1, 0));
    write(&mut s, 0, &f);
    publish(&mut s, 64 + frame_size(msg.len()));
    s.push(2);
    seeds.push(s);
    for (i, s) in seeds.iter().enumerate() {
        fs::write(format!("{dir}/seed-{i}"), s).expect("write a seed");
    }
    println!("wrote {} seeds to {dir}", seeds.len());
}
