// rkyv derives the archived types (`ArchivedJob`, ...) without docs on their fields.
#![allow(missing_docs)]

//! The typed contract the `typed_*` tests and the `typed_renderer` helper share: the types
//! (structs, enums, `Option`, `Vec`, `String`, nested maps, bytes) and one channel of each kind.
//! Main (the test) and the renderer (the helper binary) both compile this module, as a user's
//! main and workers would compile their protocol crate.
//!
//! [`v2`] is a later version of the same contract (the same channel names, a field changed):
//! a renderer built against it talks to a main built against this one, which is how the
//! fingerprint mismatch tests get "two builds of a contract".

use electrode::typed::{
    type_hash, EventChannel, InvokeChannel, RendererInvokeChannel, SendChannel, SendSyncChannel,
    TypeHash,
};
use rkyv::{Archive, Deserialize, Serialize};
use std::collections::BTreeMap;

/// A job: every kind of field the tests round-trip.
#[derive(Archive, Serialize, Deserialize, TypeHash, Clone, Debug, PartialEq)]
pub struct Job {
    /// A number.
    pub id: u64,
    /// A string (not ASCII, to exercise UTF-8).
    pub name: String,
    /// A list of strings.
    pub tags: Vec<String>,
    /// An optional field.
    pub priority: Option<u8>,
    /// An enum with unit, struct and tuple variants.
    pub shape: Shape,
    /// Nested maps.
    pub attrs: BTreeMap<String, BTreeMap<String, i64>>,
    /// Bytes.
    pub data: Vec<u8>,
}

/// An enum of every variant form.
#[derive(Archive, Serialize, Deserialize, TypeHash, Clone, Debug, PartialEq)]
pub enum Shape {
    /// A unit variant.
    Point,
    /// A struct variant.
    Circle {
        /// Radius.
        r: f64,
    },
    /// A tuple variant.
    Poly(Vec<(i32, i32)>),
}

/// `invoke`: main echoes the job, with `id + 1`.
pub static ECHO_JOB: InvokeChannel<Job, Job> = InvokeChannel::new("typed-echo-job");
/// `invoke`: main echoes the bytes.
pub static ECHO_BYTES: InvokeChannel<Vec<u8>, Vec<u8>> = InvokeChannel::new("typed-echo-bytes");
/// `invoke` answered asynchronously by main (`handle_async`): echoes the job.
pub static ECHO_ASYNC: InvokeChannel<Job, Job> = InvokeChannel::new("typed-echo-async");
/// `invoke` answered later by main (`handle_deferred`): echoes the job.
pub static ECHO_DEFERRED: InvokeChannel<Job, Job> = InvokeChannel::new("typed-echo-deferred");
/// `sendSync`: main's listener echoes the job.
pub static SYNC_JOB: SendSyncChannel<Job, Job> = SendSyncChannel::new("typed-sync-job");
/// `send`: main's listener answers with `event.reply` on [`JOB_BACK`].
pub static NOTE: SendChannel<Job> = SendChannel::new("typed-note");
/// Main → renderer: the replies to [`NOTE`].
pub static JOB_BACK: EventChannel<Job> = EventChannel::new("typed-job-back");
/// Main → renderer handler: the renderer echoes the job with `id * 2`.
pub static ASK: RendererInvokeChannel<Job, Job> = RendererInvokeChannel::new("typed-ask");
/// A `Value` channel of main's, for the mixing tests (a typed call on it is refused).
pub const VALUE_CHANNEL: &str = "value-echo";

/// Electron's own payload sizes (its `spec/api-ipc-spec.ts`), as typed bytes.
pub const TYPED_SIZES: [usize; 7] = [
    0,
    1,
    65535,
    65536,
    65537,
    256 * 1024 + 3,
    3 * 1024 * 1024 + 1,
];

/// Deterministic bytes of `len`.
pub fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + len) as u8).collect()
}

/// Jobs covering every variant, `None` and `Some`, empty and nested collections.
pub fn sample_jobs() -> Vec<Job> {
    let mut attrs = BTreeMap::new();
    attrs.insert(
        "limits".to_string(),
        BTreeMap::from([("cpu".to_string(), 2), ("mem".to_string(), -1 << 40)]),
    );
    attrs.insert("empty".to_string(), BTreeMap::new());
    vec![
        Job {
            id: 0,
            name: String::new(),
            tags: vec![],
            priority: None,
            shape: Shape::Point,
            attrs: BTreeMap::new(),
            data: vec![],
        },
        Job {
            id: u64::MAX - 1,
            name: "résumé ✓ 日本".to_string(),
            tags: vec!["a".into(), "".into(), "long ".repeat(100)],
            priority: Some(255),
            shape: Shape::Circle { r: -0.5 },
            attrs: attrs.clone(),
            data: bytes(300),
        },
        Job {
            id: 7,
            name: "poly".into(),
            tags: vec!["x".into()],
            priority: Some(0),
            shape: Shape::Poly(vec![(i32::MIN, i32::MAX), (0, 0)]),
            attrs,
            data: bytes(70_000),
        },
    ]
}

/// The job main's echo handlers answer `job` with.
pub fn echoed(job: &Job) -> Job {
    Job {
        id: job.id.wrapping_add(1),
        ..job.clone()
    }
}

/// A later version of the contract: the same channel names, `Job::id` now a `u32`.
pub mod v2 {
    use electrode::typed::{
        type_hash, InvokeChannel, RendererInvokeChannel, SendChannel, TypeHash,
    };
    use rkyv::{Archive, Deserialize, Serialize};

    /// `Job` as version 2 has it.
    #[derive(Archive, Serialize, Deserialize, TypeHash, Clone, Debug, PartialEq)]
    pub struct Job {
        /// Narrower than version 1's.
        pub id: u32,
        /// As before.
        pub name: String,
    }

    /// The same name as [`super::ECHO_JOB`].
    pub static ECHO_JOB: InvokeChannel<Job, Job> = InvokeChannel::new("typed-echo-job");
    /// The same name as [`super::NOTE`].
    pub static NOTE: SendChannel<Job> = SendChannel::new("typed-note");
    /// The same name as [`super::ASK`].
    pub static ASK: RendererInvokeChannel<Job, Job> = RendererInvokeChannel::new("typed-ask");
}

/// A renderer handler of `Value`s, for the mixing tests (main's typed invoke on it is refused).
pub const RENDERER_VALUE_CHANNEL: &str = "renderer-value";
