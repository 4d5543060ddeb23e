//! Sizing and writing an argument list: one walk over the values to size them ([`plan`]), and
//! one to write them ([`encode_planned`]). The plan carries everything the writer needs (the
//! size bound and the node count), so the writer never goes back to sizing.
//!
//! The writer lays the values out breadth-first as a table of borrowed nodes (`NodeRef`, on
//! the stack for the usual few arguments) and hands it to rkyv, which copies each string and
//! buffer once, straight into the output.

use std::fmt;

use rkyv::rancor;
use rkyv::util::AlignedVec;
use smallvec::SmallVec;

use super::format::{ArgsRef, NodeRef, ARGS_ALIGN, ARGS_SIZE, NODE_ALIGN, NODE_SIZE};
use super::path::{push_index, push_key};
use super::{WireArgs, WireNode, MAX_DEPTH, MAX_ENCODED_LEN, WIRE_ALIGN};
use crate::value::Value;

/// Why an argument list could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// A value is nested more than [`MAX_DEPTH`] levels deep.
    TooDeep {
        /// Where the first too-deep value is, e.g. `args[0].a[3]`.
        path: String,
    },
    /// The encoding would exceed [`MAX_ENCODED_LEN`].
    TooLarge {
        /// The encoded size (an upper bound) in bytes.
        size: usize,
    },
    /// [`encode_into`]: the buffer is too small.
    BufferTooSmall {
        /// The buffer's length.
        capacity: usize,
        /// An upper bound of the space needed ([`encoded_len_hint`]).
        needed: usize,
    },
    /// The serializer failed for another reason (not expected to happen).
    Serialize(String),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooDeep { path } => write!(
                f,
                "An object could not be cloned: {path} is nested more than {MAX_DEPTH} levels deep"
            ),
            EncodeError::TooLarge { size } => write!(
                f,
                "arguments of {size} bytes exceed the {MAX_ENCODED_LEN}-byte limit"
            ),
            EncodeError::BufferTooSmall { capacity, needed } => write!(
                f,
                "a {capacity}-byte buffer is too small for the arguments (up to {needed} bytes)"
            ),
            EncodeError::Serialize(why) => write!(f, "could not serialize the arguments: {why}"),
        }
    }
}

impl std::error::Error for EncodeError {}

// ---- sizing ----

/// What a walk over the arguments found.
struct Measure {
    /// Table nodes (values plus map keys).
    nodes: usize,
    /// Bytes of strings, keys and buffers.
    payload: usize,
    /// The path of the first value deeper than [`MAX_DEPTH`].
    too_deep: Option<String>,
}

/// One open container of the depth-first walk; `next` is the index of the next child to visit.
enum Frame<'a> {
    Seq {
        items: &'a [Value],
        next: usize,
    },
    Map {
        entries: &'a [(String, Value)],
        next: usize,
    },
}

/// Walks the arguments without recursion, counting nodes and payload bytes and finding the
/// first too-deep value.
fn measure(args: &[Value]) -> Measure {
    let mut m = Measure {
        nodes: args.len(),
        payload: 0,
        too_deep: None,
    };
    // The common case, flat arguments, needs no stack.
    let mut flat = true;
    for v in args {
        match v {
            Value::String(s) => m.payload += s.len(),
            Value::Bytes(b) => m.payload += b.len(),
            Value::Array(_) | Value::Map(_) => flat = false,
            _ => {}
        }
    }
    if flat {
        return m;
    }
    m.nodes = 0;
    m.payload = 0;
    let mut stack: Vec<Frame<'_>> = vec![Frame::Seq {
        items: args,
        next: 0,
    }];
    while let Some(top) = stack.last_mut() {
        let value = match top {
            Frame::Seq { items, next } => items.get(*next).inspect(|_| *next += 1),
            Frame::Map { entries, next } => entries.get(*next).map(|(k, v)| {
                *next += 1;
                m.nodes += 1;
                m.payload += k.len();
                v
            }),
        };
        let Some(value) = value else {
            stack.pop();
            continue;
        };
        m.nodes += 1;
        // `stack.len()` is this value's depth: the arguments themselves are level 1.
        if stack.len() > MAX_DEPTH && m.too_deep.is_none() {
            m.too_deep = Some(walk_path(&stack));
        }
        match value {
            Value::String(s) => m.payload += s.len(),
            Value::Bytes(b) => m.payload += b.len(),
            Value::Array(items) => stack.push(Frame::Seq { items, next: 0 }),
            Value::Map(entries) => stack.push(Frame::Map { entries, next: 0 }),
            _ => {}
        }
    }
    m
}

/// The path of the value the walk took last from the top frame.
fn walk_path(stack: &[Frame<'_>]) -> String {
    let mut path = String::from("args");
    for frame in stack {
        match *frame {
            Frame::Seq { next, .. } => push_index(&mut path, next - 1),
            Frame::Map { entries, next } => push_key(&mut path, &entries[next - 1].0),
        }
    }
    path
}

/// An upper bound of the size [`encode`] produces for `args`, in bytes. It walks the values
/// once (no allocation beyond a small stack); use it to reserve space for [`encode_into`].
pub fn encoded_len_hint(args: &[Value]) -> usize {
    hint_from(&measure(args))
}

fn hint_from(m: &Measure) -> usize {
    m.payload
        .saturating_add(m.nodes.saturating_mul(NODE_SIZE))
        .saturating_add(NODE_ALIGN + ARGS_SIZE + ARGS_ALIGN)
}

/// What encoding `args` takes, found by walking them once: for callers that need the size
/// before they have the buffer (and then encode without walking the values again).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    /// An upper bound of the encoded size, at most [`MAX_ENCODED_LEN`].
    size: usize,
    /// The node count of the table (values plus map keys).
    nodes: usize,
}

impl Plan {
    /// An upper bound of the encoded size (as [`encoded_len_hint`]).
    pub(crate) fn len(&self) -> usize {
        self.size
    }
}

/// Checks that `args` can be encoded and sizes them (see [`Plan`]): everything that can fail
/// is checked here, so the serializer itself cannot fail for lack of range.
pub(crate) fn plan(args: &[Value]) -> Result<Plan, EncodeError> {
    let m = measure(args);
    if let Some(path) = m.too_deep {
        return Err(EncodeError::TooDeep { path });
    }
    let size = hint_from(&m);
    if size > MAX_ENCODED_LEN {
        return Err(EncodeError::TooLarge { size });
    }
    Ok(Plan {
        size,
        nodes: m.nodes,
    })
}

// ---- writing ----

/// A node table under construction: on the stack for the usual few arguments.
type Nodes<'a> = SmallVec<[NodeRef<'a>; 16]>;

/// Lays the arguments out breadth-first as a node table, into `nodes` (empty on entry). The
/// table's node count fits `u32` (checked by [`plan`]: every node takes 16 bytes of a
/// 1 GiB archive at most).
fn table<'a>(args: &'a [Value], node_count: usize, nodes: &mut Nodes<'a>) {
    /// A container whose children are still to be laid out: its node and its contents.
    #[derive(Clone, Copy)]
    enum Pending<'a> {
        Array(usize, &'a [Value]),
        Map(usize, &'a [(String, Value)]),
    }
    /// The node for `v`, at index `at`; a container gets a placeholder and is queued.
    fn node<'a>(v: &'a Value, at: usize, pending: &mut Vec<Pending<'a>>) -> NodeRef<'a> {
        match v {
            Value::Null => NodeRef::Null,
            Value::Bool(b) => NodeRef::Bool(*b),
            Value::Int(i) => NodeRef::Int(*i),
            Value::Float(x) => NodeRef::Float(*x),
            Value::String(s) => NodeRef::Str(s),
            Value::Bytes(b) => NodeRef::Bytes(b),
            Value::Array(items) => {
                pending.push(Pending::Array(at, items));
                NodeRef::Null
            }
            Value::Map(entries) => {
                pending.push(Pending::Map(at, entries));
                NodeRef::Null
            }
        }
    }

    nodes.reserve(node_count);
    // Containers in table order; reading it with a cursor makes the layout breadth-first.
    let mut pending: Vec<Pending<'_>> = Vec::new();
    for v in args {
        let n = node(v, nodes.len(), &mut pending);
        nodes.push(n);
    }
    let mut cursor = 0;
    while let Some(&p) = pending.get(cursor) {
        cursor += 1;
        let first = nodes.len() as u32;
        match p {
            Pending::Array(at, items) => {
                for item in items {
                    let n = node(item, nodes.len(), &mut pending);
                    nodes.push(n);
                }
                let len = items.len() as u32;
                nodes[at] = NodeRef::Array { first, len };
            }
            Pending::Map(at, entries) => {
                for (key, value) in entries {
                    nodes.push(NodeRef::Str(key));
                    let n = node(value, nodes.len(), &mut pending);
                    nodes.push(n);
                }
                let len = entries.len() as u32;
                nodes[at] = NodeRef::Map { first, len };
            }
        }
    }
}

/// A [`Writer`](rkyv::ser::Writer) into a caller's slice (safe code; rkyv's `Buffer` measured
/// slower here).
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

/// [`SliceWriter`] ran out of room.
#[derive(Debug)]
struct SliceFull;

impl fmt::Display for SliceFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the buffer is full")
    }
}

impl std::error::Error for SliceFull {}

impl rkyv::ser::Positional for SliceWriter<'_> {
    fn pos(&self) -> usize {
        self.len
    }
}

impl<E: rancor::Source> rkyv::ser::Writer<E> for SliceWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), E> {
        let end = self.len + bytes.len();
        match self.buf.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.len = end;
                Ok(())
            }
            None => Err(E::new(SliceFull)),
        }
    }
}

fn serialize_err(e: rancor::Error) -> EncodeError {
    EncodeError::Serialize(e.to_string())
}

/// Encodes `args` into `out` (cleared first). `out` is 16-byte aligned, so the result can be
/// read in place with [`ArgsView::new`](super::ArgsView::new).
pub fn encode(args: &[Value], out: &mut AlignedVec<WIRE_ALIGN>) -> Result<(), EncodeError> {
    let Plan {
        size,
        nodes: node_count,
    } = plan(args)?;
    out.clear();
    out.reserve(size);
    let mut nodes = Nodes::new();
    table(args, node_count, &mut nodes);
    let table = ArgsRef {
        roots: args.len() as u32,
        nodes: &nodes,
    };
    rkyv::util::with_arena(|arena| {
        rkyv::api::low::to_bytes_in_with_alloc::<_, _, rancor::Error>(
            &table,
            &mut *out,
            arena.acquire(),
        )
    })
    .map_err(serialize_err)?;
    Ok(())
}

/// [`encode`] into a new buffer.
pub fn encode_to_vec(args: &[Value]) -> Result<AlignedVec<WIRE_ALIGN>, EncodeError> {
    let mut out = AlignedVec::new();
    encode(args, &mut out)?;
    Ok(out)
}

/// Node count up to which [`encode_into`] serializes with stack scratch space.
const SMALL_NODES: usize = 64;
/// Bytes of that stack scratch space.
const SMALL_SCRATCH: usize = 4096;

/// Encodes `args` at the start of `buf` and returns the encoded length; the message is
/// `buf[..len]`. A buffer of [`encoded_len_hint`] bytes always suffices.
///
/// rkyv aligns relative to the start of `buf`, so to read the message in place `buf` must start
/// on a [`WIRE_ALIGN`]-byte boundary (a copy into an aligned buffer works in any case).
pub fn encode_into(args: &[Value], buf: &mut [u8]) -> Result<usize, EncodeError> {
    encode_planned(args, plan(args)?, buf)
}

/// [`encode_into`] with the walk already done: `plan` must come from [`plan`] for these `args`.
pub(crate) fn encode_planned(
    args: &[Value],
    plan: Plan,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let Plan {
        size,
        nodes: node_count,
    } = plan;
    let capacity = buf.len();
    let mut nodes = Nodes::new();
    table(args, node_count, &mut nodes);
    let table = ArgsRef {
        roots: args.len() as u32,
        nodes: &nodes,
    };
    // Small argument lists (the common case) serialize with scratch space on the stack; the
    // thread-local arena is only for large tables (or if the stack scratch runs out).
    let small = (node_count <= SMALL_NODES)
        .then(|| {
            let mut scratch = [std::mem::MaybeUninit::<u8>::uninit(); SMALL_SCRATCH];
            rkyv::api::low::to_bytes_in_with_alloc::<_, _, rancor::Error>(
                &table,
                SliceWriter {
                    buf: &mut *buf,
                    len: 0,
                },
                rkyv::ser::allocator::SubAllocator::new(&mut scratch),
            )
            .map(|w| w.len)
            .ok()
        })
        .flatten();
    let written = match small {
        Some(n) => Ok(n),
        None => rkyv::util::with_arena(|arena| {
            rkyv::api::low::to_bytes_in_with_alloc::<_, _, rancor::Error>(
                &table,
                SliceWriter { buf, len: 0 },
                arena.acquire(),
            )
            .map(|w| w.len)
        }),
    };
    written.map_err(|e| {
        if size > capacity {
            EncodeError::BufferTooSmall {
                capacity,
                needed: size,
            }
        } else {
            serialize_err(e)
        }
    })
}

impl WireArgs {
    /// The owned table [`encode`] would archive for `args` (breadth-first layout), or the
    /// error [`encode`] would report.
    pub fn from_values(args: &[Value]) -> Result<WireArgs, EncodeError> {
        let Plan {
            nodes: node_count, ..
        } = plan(args)?;
        let mut nodes = Nodes::new();
        table(args, node_count, &mut nodes);
        Ok(WireArgs {
            roots: args.len() as u32,
            nodes: nodes
                .into_iter()
                .map(|n| match n {
                    NodeRef::Null => WireNode::Null,
                    NodeRef::Bool(b) => WireNode::Bool(b),
                    NodeRef::Int(i) => WireNode::Int(i),
                    NodeRef::Float(x) => WireNode::Float(x),
                    NodeRef::Str(s) => WireNode::Str(s.clone()),
                    NodeRef::Bytes(b) => WireNode::Bytes(b.clone()),
                    NodeRef::Array { first, len } => WireNode::Array { first, len },
                    NodeRef::Map { first, len } => WireNode::Map { first, len },
                })
                .collect(),
        })
    }

    /// Archives this table as is, valid or not (for tests and tools).
    pub fn to_bytes(&self) -> Result<AlignedVec<WIRE_ALIGN>, EncodeError> {
        rkyv::util::with_arena(|arena| {
            rkyv::api::low::to_bytes_in_with_alloc::<_, _, rancor::Error>(
                self,
                AlignedVec::<WIRE_ALIGN>::new(),
                arena.acquire(),
            )
        })
        .map_err(serialize_err)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{nested, round_trip};
    use super::super::ArgsView;
    use super::*;
    use crate::args;

    #[test]
    fn electron_payload_sizes_round_trip() {
        for size in [
            0,
            1,
            65535,
            65536,
            65537,
            256 * 1024 + 3,
            3 * 1024 * 1024 + 1,
        ] {
            let bytes: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let text: String = (0..size)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            let args = args![
                text.clone(),
                bytes.clone(),
                Value::map([("s", Value::from(text)), ("b", Value::from(bytes))]),
            ];
            let encoded = round_trip(&args);
            let view = ArgsView::new(&encoded).unwrap();
            assert_eq!(
                view.get(0).and_then(|v| v.as_str()).map(str::len),
                Some(size)
            );
            assert_eq!(
                view.get(1).and_then(|v| v.as_bytes()).map(<[u8]>::len),
                Some(size)
            );
            let slack = encoded_len_hint(&args) - encoded.len();
            assert!(slack <= 64, "size {size}: hint is {slack} bytes over");
        }
    }

    #[test]
    fn layout_is_breadth_first_with_consecutive_children() {
        let args = args![Value::array([1, 2]), Value::map([("k", Value::array([3]))])];
        let t = WireArgs::from_values(&args).unwrap();
        use WireNode::*;
        assert_eq!(t.roots, 2);
        assert_eq!(
            t.nodes,
            vec![
                Array { first: 2, len: 2 },
                Map { first: 4, len: 1 },
                Int(1),
                Int(2),
                Str("k".into()),
                Array { first: 6, len: 1 },
                Int(3),
            ]
        );
    }

    #[test]
    fn encode_into_reports_a_small_buffer() {
        let args = args!["x".repeat(1000)];
        let mut buf = vec![0u8; 500];
        assert_eq!(
            encode_into(&args, &mut buf),
            Err(EncodeError::BufferTooSmall {
                capacity: 500,
                needed: encoded_len_hint(&args)
            })
        );
    }

    #[test]
    fn encode_accepts_depth_128_and_rejects_129_with_a_path() {
        round_trip(&[nested(MAX_DEPTH, Value::Null)]);
        round_trip(&[Value::map([("a", nested(MAX_DEPTH - 1, Value::Int(1)))])]);
        let too_deep = [
            Value::Null,
            Value::map([("a b", nested(MAX_DEPTH, Value::Null))]),
        ];
        match encode_to_vec(&too_deep) {
            Err(EncodeError::TooDeep { path }) => {
                let expected = format!("args[1][\"a b\"]{}", "[0]".repeat(MAX_DEPTH - 1));
                assert_eq!(path, expected);
            }
            other => panic!("expected TooDeep, got {other:?}"),
        }
        let mut buf = vec![0u8; 1 << 16];
        assert!(matches!(
            encode_into(&too_deep, &mut buf),
            Err(EncodeError::TooDeep { .. })
        ));
    }

    #[test]
    fn plan_rejects_a_too_deep_value_naming_the_nesting_and_its_path() {
        assert_eq!(
            plan(&[nested(MAX_DEPTH, Value::Null)]).map(|p| p.len()),
            Ok(encoded_len_hint(&[nested(MAX_DEPTH, Value::Null)]))
        );
        // One level too deep, past a few flat arguments; only the first too-deep value is named.
        let args = [
            Value::Int(1),
            Value::from("flat"),
            nested(MAX_DEPTH + 1, Value::Null),
            nested(MAX_DEPTH + 5, Value::Null),
        ];
        let err = plan(&args).unwrap_err();
        let path = format!("args[2]{}", "[0]".repeat(MAX_DEPTH));
        assert_eq!(err, EncodeError::TooDeep { path: path.clone() });
        assert_eq!(
            err.to_string(),
            format!("An object could not be cloned: {path} is nested more than 128 levels deep")
        );
        // `encode*` report exactly what `plan` does.
        assert_eq!(encode_to_vec(&args).map(|_| ()), Err(err.clone()));
        assert_eq!(encode_into(&args, &mut [0u8; 1 << 14]), Err(err.clone()));
        assert_eq!(WireArgs::from_values(&args).map(|_| ()), Err(err));
    }

    #[test]
    fn plan_rejects_a_value_over_max_encoded_len() {
        // Zeroed buffers are only reserved, not touched (`calloc` maps zero pages): planning
        // reads their lengths alone, and nothing gets written once the plan fails.
        let overhead = encoded_len_hint(&[Value::Bytes(Vec::new())]);
        let at_limit = [Value::Bytes(vec![0u8; MAX_ENCODED_LEN - overhead])];
        assert_eq!(plan(&at_limit).map(|p| p.len()), Ok(MAX_ENCODED_LEN));
        drop(at_limit);
        let over = [Value::Bytes(vec![0u8; MAX_ENCODED_LEN - overhead + 1])];
        let err = plan(&over).unwrap_err();
        assert_eq!(
            err,
            EncodeError::TooLarge {
                size: MAX_ENCODED_LEN + 1
            }
        );
        assert_eq!(encode_to_vec(&over).map(|_| ()), Err(err.clone()));
        assert_eq!(encode_into(&over, &mut [0u8; 64]), Err(err));
    }
}
