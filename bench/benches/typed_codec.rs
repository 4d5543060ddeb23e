//! The codec steps of a typed invoke, each in isolation, on one thread and in cache, next to
//! the `Value` encoding of the same payloads.
//!
//! A typed invoke archives the request (`rkyv::to_bytes` into a reused buffer), main
//! validates and accesses it in place (`rkyv::access`), main archives the reply, and the
//! renderer validates it and, for `invoke_blocking`, deserializes it (`invoke_with` reads it in
//! place instead). The payloads are the report's: a 16-byte request (two `u64`s) with a `u64`
//! reply, 64 bytes each way (eight `u64`s), and 1 MiB each way (`Vec<u8>`).
//!
//! The `Value` contrast encodes the same payloads as an argument list (`[a, b]` as two numbers;
//! 64 B and 1 MiB as one `Bytes` value) into a reused buffer, validates it (`ArgsView::new`)
//! and copies it out (`to_values`), as the `Value` invoke does on each side.
//!
//! ```text
//! cargo bench -p electrode-bench --bench typed_codec
//! cargo bench -p electrode-bench --bench typed_codec -- typed_codec/access   # one step
//! ```

use criterion::{BenchmarkGroup, Criterion, Throughput};
use electrode::typed::{type_hash, TypeHash};
use electrode::{wire, Value};
use rkyv::rancor;
use rkyv::util::AlignedVec;
use rkyv::{Archive, Deserialize, Serialize};
use std::hint::black_box;
use std::time::Duration;

/// The 16-byte request (the report's `Req16`).
#[derive(Archive, Serialize, Deserialize, TypeHash, Clone, Copy)]
struct Req16 {
    a: u64,
    b: u64,
}

/// 64 bytes (the report's `Block64`).
#[derive(Archive, Serialize, Deserialize, TypeHash, Clone, Copy, Debug)]
struct Block64 {
    w: [u64; 8],
}

const MIB: usize = 1 << 20;

/// Archive `value` into `buf` (reused: taken, cleared, filled, put back); its length.
fn archive_into<T>(value: &T, buf: &mut AlignedVec) -> usize
where
    T: for<'a> rkyv::Serialize<
        rkyv::api::high::HighSerializer<
            AlignedVec,
            rkyv::ser::allocator::ArenaHandle<'a>,
            rancor::Error,
        >,
    >,
{
    let mut out = std::mem::take(buf);
    out.clear();
    let out = rkyv::api::high::to_bytes_in::<_, rancor::Error>(value, out)
        .unwrap_or_else(|e| panic!("archive: {e}"));
    let n = out.len();
    *buf = out;
    n
}

fn archived<T>(value: &T) -> AlignedVec
where
    T: for<'a> rkyv::Serialize<
        rkyv::api::high::HighSerializer<
            AlignedVec,
            rkyv::ser::allocator::ArenaHandle<'a>,
            rancor::Error,
        >,
    >,
{
    let mut buf = AlignedVec::new();
    archive_into(value, &mut buf);
    buf
}

fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
    bytes: usize,
) -> BenchmarkGroup<'a, impl criterion::measurement::Measurement> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(bytes as u64));
    g
}

fn typed_group(c: &mut Criterion) {
    let req16 = Req16 { a: 41, b: 1 };
    let block = Block64 {
        w: [1, 2, 3, 4, 5, 6, 7, 8],
    };
    let big: Vec<u8> = (0..MIB).map(|i| i as u8).collect();
    let (a16, a8, a64, a_big) = (
        archived(&req16),
        archived(&42u64),
        archived(&block),
        archived(&big),
    );

    let mut g = group(c, "typed_codec/archive", 16);
    let mut buf = AlignedVec::new();
    g.bench_function("request_16B", |b| {
        b.iter(|| archive_into(black_box(&req16), &mut buf))
    });
    g.bench_function("reply_8B", |b| {
        b.iter(|| archive_into(black_box(&42u64), &mut buf))
    });
    g.throughput(Throughput::Bytes(64));
    g.bench_function("64B", |b| {
        b.iter(|| archive_into(black_box(&block), &mut buf))
    });
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("1MiB", |b| {
        b.iter(|| archive_into(black_box(&big), &mut buf))
    });
    g.finish();

    let mut g = group(c, "typed_codec/access", 16);
    g.bench_function("request_16B", |b| {
        b.iter(|| {
            rkyv::access::<ArchivedReq16, rancor::Error>(black_box(&a16)).map(|r| r.a.to_native())
        })
    });
    g.throughput(Throughput::Bytes(64));
    g.bench_function("64B", |b| {
        b.iter(|| {
            rkyv::access::<ArchivedBlock64, rancor::Error>(black_box(&a64))
                .map(|r| r.w[7].to_native())
        })
    });
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("1MiB", |b| {
        b.iter(|| {
            rkyv::access::<rkyv::vec::ArchivedVec<u8>, rancor::Error>(black_box(&a_big))
                .map(|v| v.len())
        })
    });
    g.finish();

    let mut g = group(c, "typed_codec/deserialize_reply", 8);
    g.bench_function("reply_8B", |b| {
        b.iter(|| {
            let r = rkyv::access::<rkyv::Archived<u64>, rancor::Error>(black_box(&a8))
                .unwrap_or_else(|e| panic!("{e}"));
            rkyv::deserialize::<u64, rancor::Error>(r)
        })
    });
    g.throughput(Throughput::Bytes(64));
    g.bench_function("64B", |b| {
        b.iter(|| {
            let r = rkyv::access::<ArchivedBlock64, rancor::Error>(black_box(&a64))
                .unwrap_or_else(|e| panic!("{e}"));
            // The whole value goes to criterion's black box: no step is optimized away.
            rkyv::deserialize::<Block64, rancor::Error>(r)
        })
    });
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("1MiB", |b| {
        b.iter(|| {
            let r = rkyv::access::<rkyv::vec::ArchivedVec<u8>, rancor::Error>(black_box(&a_big))
                .unwrap_or_else(|e| panic!("{e}"));
            rkyv::deserialize::<Vec<u8>, rancor::Error>(r)
        })
    });
    g.finish();
}

fn value_group(c: &mut Criterion) {
    let payloads: [(&str, usize, Vec<Value>); 3] = [
        ("16B", 16, vec![Value::from(41i64), Value::from(1i64)]),
        ("64B", 64, vec![Value::Bytes(vec![7u8; 64])]),
        ("1MiB", MIB, vec![Value::Bytes(vec![7u8; MIB])]),
    ];
    for (name, bytes, args) in &payloads {
        let encoded = wire::encode_to_vec(args).unwrap_or_else(|e| panic!("encode: {e}"));
        let mut buf = vec![0u8; wire::encoded_len_hint(args)];
        let mut g = group(c, "value_codec", *bytes);
        g.bench_function(format!("encode_{name}"), |b| {
            b.iter(|| wire::encode_into(black_box(args), &mut buf))
        });
        g.bench_function(format!("validate_{name}"), |b| {
            b.iter(|| wire::ArgsView::new(black_box(&encoded)).map(|v| v.len()))
        });
        g.bench_function(format!("validate_and_copy_out_{name}"), |b| {
            b.iter(|| wire::ArgsView::new(black_box(&encoded)).map(|v| v.to_values()))
        });
        g.finish();
    }
}

fn main() {
    // What `criterion_group!` / `criterion_main!` expand to, written out so the generated
    // public function does not need a doc comment.
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    typed_group(&mut c);
    value_group(&mut c);
    c.final_summary();
}
