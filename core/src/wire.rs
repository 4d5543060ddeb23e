//! The wire form of an argument list: a flat, rkyv-archived node table that the receiver
//! validates once and then reads in place.
//!
//! # Layout
//!
//! An argument list is archived as a [`WireArgs`]: a table of [`WireNode`]s whose first `roots`
//! entries are the arguments. A container does not hold its children; it names a range of the
//! table: an [`WireNode::Array`]'s items are nodes `first..first + len`, a [`WireNode::Map`]'s
//! entries are the `len` (key, value) pairs at nodes `first..first + 2 * len`, each key a
//! [`WireNode::Str`]. [`encode`] lays the table out breadth-first.
//!
//! The type has no recursion, so rkyv's validation (bytecheck) is flat; [`ArgsView::new`] then
//! checks the tree structure in one forward pass without recursion: every child range lies
//! strictly after its container and inside the table, every node other than the arguments has
//! exactly one parent (no shared subtrees, so converting a message to owned values costs no more
//! than its size), map keys are strings, and nesting is at most [`MAX_DEPTH`] levels. A hostile
//! peer therefore can neither overflow the receiver's stack nor make it do more work than the
//! message's length allows.
//!
//! Strings and byte buffers are borrowed from the message: [`ValueRef::Str`] and
//! [`ValueRef::Bytes`] point into the validated bytes.
//!
//! ```
//! use electrode::args;
//! use electrode::wire::{encode_to_vec, ArgsView, ValueRef};
//!
//! let bytes = encode_to_vec(&args!["hello", vec![1u8, 2, 3], (1, 2.5)]).unwrap();
//! let view = ArgsView::new(&bytes).unwrap();
//! assert_eq!(view.len(), 3);
//! assert_eq!(view.get(0).and_then(|v| v.as_str()), Some("hello"));
//! assert!(matches!(view.get(1), Some(ValueRef::Bytes(&[1, 2, 3]))));
//! assert_eq!(view.to_values(), args!["hello", vec![1u8, 2, 3], (1, 2.5)]);
//! ```
#![forbid(unsafe_code)]

use std::fmt;

use rkyv::rancor;
use rkyv::util::AlignedVec;

use crate::value::{write_bytes, write_float, write_json_str, Value};

/// The deepest nesting a message may have: the number of values on the path from an argument
/// (level 1) down to its most deeply nested value, inclusive.
pub const MAX_DEPTH: usize = 128;

/// The largest archive [`encode`] produces (1 GiB). Larger argument lists fail with
/// [`EncodeError::TooLarge`].
pub const MAX_ENCODED_LEN: usize = 1 << 30;

/// The alignment the encoded bytes need when they are read in place ([`ArgsView::new`]).
pub const WIRE_ALIGN: usize = 16;

// ---- the archived types ----

pub use self::format::{
    ArchivedWireArgs, ArchivedWireNode, WireArgs, WireArgsResolver, WireNode, WireNodeResolver,
};
use self::format::{ArgsRef, NodeRef};
use smallvec::SmallVec;

// rkyv's derive leaves the named fields of the generated resolver enum undocumented.
#[allow(missing_docs)]
mod format {
    use rkyv::rancor;
    use rkyv::vec::{ArchivedVec, VecResolver};
    use rkyv::with::Inline;
    use rkyv::{Archive, Deserialize, Place, Serialize};

    /// An argument list in wire form: a flat node table. The first `roots` nodes are the arguments.
    ///
    /// [`encode`](super::encode) writes this type's archive without building it; the owned
    /// type is there to name the format (and to let tests craft arbitrary, even invalid,
    /// tables).
    #[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct WireArgs {
        /// How many of the leading nodes are arguments.
        pub roots: u32,
        /// The node table.
        pub nodes: Vec<WireNode>,
    }

    /// One node of a [`WireArgs`] table.
    ///
    /// The variant order is the archived tag: it must stay in step with `NodeRef` below.
    #[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub enum WireNode {
        /// Null.
        Null,
        /// A boolean.
        Bool(bool),
        /// An integer.
        Int(i64),
        /// A float.
        Float(f64),
        /// A string (also every map key).
        Str(String),
        /// A byte buffer.
        Bytes(Vec<u8>),
        /// An array whose items are nodes `first..first + len`.
        Array {
            /// Index of the first item.
            first: u32,
            /// Number of items.
            len: u32,
        },
        /// A map whose entries are the (key, value) node pairs at `first..first + 2 * len`.
        Map {
            /// Index of the first entry's key.
            first: u32,
            /// Number of entries.
            len: u32,
        },
    }

    /// A [`WireNode`] that borrows its string or bytes from a `Value`: it archives to exactly
    /// the same bytes, so `encode` copies each payload once, straight into the output.
    ///
    /// It must mirror `WireNode` variant for variant and field for field: the derive writes
    /// this type's archived layout into an `ArchivedWireNode`. The test
    /// `borrowed_and_owned_tables_archive_identically` compares the bytes.
    #[derive(Archive, Serialize)]
    #[rkyv(as = ArchivedWireNode)]
    pub(super) enum NodeRef<'a> {
        Null,
        Bool(bool),
        Int(i64),
        Float(f64),
        Str(#[rkyv(with = Inline)] &'a String),
        Bytes(#[rkyv(with = Inline)] &'a Vec<u8>),
        Array { first: u32, len: u32 },
        Map { first: u32, len: u32 },
    }

    /// A [`WireArgs`] over borrowed nodes; archives to an [`ArchivedWireArgs`], byte for byte
    /// what `WireArgs`'s derive writes (the roots count, then the node vector). Written by hand
    /// only so that the nodes can be a borrowed slice (a table on the stack, no allocation).
    pub(super) struct ArgsRef<'a> {
        pub(super) roots: u32,
        pub(super) nodes: &'a [NodeRef<'a>],
    }

    impl Archive for ArgsRef<'_> {
        type Archived = ArchivedWireArgs;
        type Resolver = VecResolver;

        fn resolve(&self, resolver: VecResolver, out: Place<ArchivedWireArgs>) {
            rkyv::munge::munge!(let ArchivedWireArgs { roots, nodes } = out);
            self.roots.resolve((), roots);
            ArchivedVec::<ArchivedWireNode>::resolve_from_len(self.nodes.len(), resolver, nodes);
        }
    }

    impl<S> Serialize<S> for ArgsRef<'_>
    where
        S: rancor::Fallible + rkyv::ser::Writer + rkyv::ser::Allocator + ?Sized,
        S::Error: rancor::Source,
    {
        fn serialize(&self, serializer: &mut S) -> Result<VecResolver, S::Error> {
            ArchivedVec::<ArchivedWireNode>::serialize_from_slice(self.nodes, serializer)
        }
    }
}

const NODE_SIZE: usize = std::mem::size_of::<ArchivedWireNode>();
const NODE_ALIGN: usize = std::mem::align_of::<ArchivedWireNode>();
const ARGS_SIZE: usize = std::mem::size_of::<ArchivedWireArgs>();
const ARGS_ALIGN: usize = std::mem::align_of::<ArchivedWireArgs>();

// The table is 16 bytes a node, and everything fits the 16-byte frame alignment.
const _: () = assert!(NODE_SIZE == 16);
const _: () = assert!(NODE_ALIGN <= WIRE_ALIGN && ARGS_ALIGN <= WIRE_ALIGN);

// ---- errors ----

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

/// Why received argument bytes were rejected. Paths name the offending value the way the
/// sender would write it: `args[1].foo[3]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The bytes do not start on a [`WIRE_ALIGN`]-byte boundary.
    Misaligned {
        /// The start address modulo [`WIRE_ALIGN`].
        offset: usize,
    },
    /// The bytes are not a valid archive (rkyv / bytecheck rejected them).
    Malformed(String),
    /// The table has more nodes than indices can name.
    TooManyNodes {
        /// The node count.
        nodes: usize,
    },
    /// More arguments are declared than the table holds.
    TooManyRoots {
        /// Declared arguments.
        roots: u32,
        /// Nodes in the table.
        nodes: usize,
    },
    /// A container's children do not start after the container itself.
    ChildBeforeParent {
        /// The container.
        path: String,
        /// Its node index.
        node: usize,
        /// Where its children start.
        first: u32,
    },
    /// A container's children run past the end of the table.
    ChildOutOfRange {
        /// The container.
        path: String,
        /// Its node index.
        node: usize,
        /// Where its children start.
        first: u32,
        /// How many nodes its children take.
        span: u64,
        /// Nodes in the table.
        nodes: usize,
    },
    /// A node is claimed by a second container (or is an argument and claimed by a container).
    SharedChild {
        /// The container claiming it again.
        path: String,
        /// The node's index.
        child: usize,
        /// Where the node already is.
        owner: String,
    },
    /// A node that belongs to no argument.
    Orphan {
        /// Its index.
        node: usize,
    },
    /// A map key that is not a string.
    KeyNotString {
        /// The map.
        path: String,
        /// The entry number.
        entry: usize,
        /// What the key is instead (`"int"`, `"map"`, ...).
        kind: &'static str,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep {
        /// The first value found too deep.
        path: String,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Misaligned { offset } => write!(
                f,
                "argument bytes are not {WIRE_ALIGN}-byte aligned (address % {WIRE_ALIGN} = {offset})"
            ),
            WireError::Malformed(why) => write!(f, "argument bytes are not a valid archive: {why}"),
            WireError::TooManyNodes { nodes } => write!(f, "argument table has too many nodes ({nodes})"),
            WireError::TooManyRoots { roots, nodes } => write!(
                f,
                "argument table declares {roots} arguments but holds only {nodes} nodes"
            ),
            WireError::ChildBeforeParent { path, node, first } => write!(
                f,
                "{path} (node {node}): children start at node {first}, not after the container"
            ),
            WireError::ChildOutOfRange { path, node, first, span, nodes } => write!(
                f,
                "{path} (node {node}): children at nodes {first}..{} lie outside the table of {nodes} nodes",
                u64::from(*first) + span
            ),
            WireError::SharedChild { path, child, owner } => write!(
                f,
                "{path} claims node {child}, which is already {owner}"
            ),
            WireError::Orphan { node } => write!(f, "node {node} belongs to no argument"),
            WireError::KeyNotString { path, entry, kind } => write!(
                f,
                "{path}: the key of entry {entry} is a {kind}, not a string"
            ),
            WireError::TooDeep { path } => {
                write!(f, "{path} is nested more than {MAX_DEPTH} levels deep")
            }
        }
    }
}

impl std::error::Error for WireError {}

// ---- paths ----

/// Longest key text a path shows before eliding.
const PATH_KEY_MAX: usize = 48;

/// Appends `.key` (or `["key"]` when it is not an identifier) to `path`.
fn push_key(path: &mut String, key: &str) {
    let ident = !key.is_empty()
        && key.len() <= PATH_KEY_MAX
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ident {
        path.push('.');
        path.push_str(key);
    } else {
        let mut shown: String = key.chars().take(PATH_KEY_MAX).collect();
        if shown.len() < key.len() {
            shown.push('…');
        }
        path.push('[');
        path.push_str(&format!("{:?}", shown));
        path.push(']');
    }
}

fn push_index(path: &mut String, i: usize) {
    path.push_str(&format!("[{i}]"));
}

// ---- encoding ----

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

/// Checks what can fail before serializing (so the serializer itself cannot fail for lack of
/// range); returns the size hint and the node count.
fn preflight(args: &[Value]) -> Result<(usize, usize), EncodeError> {
    let m = measure(args);
    if let Some(path) = m.too_deep {
        return Err(EncodeError::TooDeep { path });
    }
    let size = hint_from(&m);
    if size > MAX_ENCODED_LEN {
        return Err(EncodeError::TooLarge { size });
    }
    Ok((size, m.nodes))
}

/// A node table under construction: on the stack for the usual few arguments.
type Nodes<'a> = SmallVec<[NodeRef<'a>; 16]>;

/// Lays the arguments out breadth-first as a node table, into `nodes` (empty on entry). The
/// table's node count fits `u32` (checked by `preflight`: every node takes 16 bytes of a
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
/// read in place with [`ArgsView::new`].
pub fn encode(args: &[Value], out: &mut AlignedVec<WIRE_ALIGN>) -> Result<(), EncodeError> {
    let (size, node_count) = preflight(args)?;
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

/// What encoding `args` takes, found by walking them once: for callers that need the size
/// before they have the buffer (and then encode without walking the values again).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    size: usize,
    nodes: usize,
}

impl Plan {
    /// An upper bound of the encoded size (as [`encoded_len_hint`]).
    pub(crate) fn len(&self) -> usize {
        self.size
    }
}

/// Check that `args` can be encoded and size them (see [`Plan`]).
pub(crate) fn plan(args: &[Value]) -> Result<Plan, EncodeError> {
    preflight(args).map(|(size, nodes)| Plan { size, nodes })
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
        let (_, node_count) = preflight(args)?;
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

// ---- validation ----

/// `parent` entry of a node no container has claimed (yet).
const NO_PARENT: u32 = u32::MAX;
/// `parent` entry of an argument.
const IS_ROOT: u32 = u32::MAX - 1;

/// The kind of an archived node, for messages.
fn kind(node: &ArchivedWireNode) -> &'static str {
    match node {
        ArchivedWireNode::Null => "null",
        ArchivedWireNode::Bool(_) => "bool",
        ArchivedWireNode::Int(_) => "int",
        ArchivedWireNode::Float(_) => "float",
        ArchivedWireNode::Str(_) => "string",
        ArchivedWireNode::Bytes(_) => "bytes",
        ArchivedWireNode::Array { .. } => "array",
        ArchivedWireNode::Map { .. } => "map",
    }
}

/// A container's child range: `(first, span in nodes, is_map)`.
fn children(node: &ArchivedWireNode) -> Option<(u32, u64, bool)> {
    match node {
        ArchivedWireNode::Array { first, len } => {
            Some((first.to_native(), u64::from(len.to_native()), false))
        }
        ArchivedWireNode::Map { first, len } => {
            Some((first.to_native(), 2 * u64::from(len.to_native()), true))
        }
        _ => None,
    }
}

/// The path of node `at`, following `parent` links that the forward pass has already checked
/// (every ancestor of `at` is claimed, lies before it, and the chain is at most
/// `MAX_DEPTH + 1` long).
fn node_path(nodes: &[ArchivedWireNode], parent: &[u32], at: usize) -> String {
    let mut chain = vec![at];
    let mut cur = at;
    while let Some(&p) = parent.get(cur) {
        if p == IS_ROOT || p == NO_PARENT || chain.len() > MAX_DEPTH + 2 {
            break;
        }
        cur = p as usize;
        chain.push(cur);
    }
    let mut path = String::from("args");
    let mut up: Option<usize> = None;
    for &n in chain.iter().rev() {
        match up.and_then(|p| nodes.get(p)).and_then(children) {
            None => push_index(&mut path, n),
            Some((first, _, false)) => push_index(&mut path, n - first as usize),
            Some((first, _, true)) => {
                let rel = n - first as usize;
                match nodes.get(n.wrapping_sub(1)) {
                    Some(ArchivedWireNode::Str(key)) if rel & 1 == 1 => {
                        push_key(&mut path, key.as_str())
                    }
                    _ => path.push_str(&format!("[<key {}>]", rel / 2)),
                }
            }
        }
        up = Some(n);
    }
    path
}

/// The owner of an already-claimed node, for [`WireError::SharedChild`].
fn owner_text(nodes: &[ArchivedWireNode], parent: &[u32], child: usize) -> String {
    if parent[child] == IS_ROOT {
        format!("argument {child}")
    } else {
        format!("at {}", node_path(nodes, parent, child))
    }
}

/// Checks the tree structure of a table that bytecheck accepted. One forward pass, no
/// recursion, `O(nodes)` time and `5 * nodes` bytes of scratch.
fn check_structure(roots: u32, nodes: &[ArchivedWireNode]) -> Result<(), WireError> {
    let n = nodes.len();
    if n >= IS_ROOT as usize {
        return Err(WireError::TooManyNodes { nodes: n });
    }
    if roots as usize > n {
        return Err(WireError::TooManyRoots { roots, nodes: n });
    }
    let roots = roots as usize;
    // Fast path, the common case: every node is an argument and no container has children.
    let flat = roots == n
        && nodes
            .iter()
            .enumerate()
            .all(|(i, node)| match children(node) {
                None => true,
                Some((first, span, _)) => span == 0 && first as usize > i && first as usize <= n,
            });
    if flat {
        return Ok(());
    }

    let mut parent = vec![NO_PARENT; n];
    let mut depth = vec![0u8; n];
    parent[..roots].fill(IS_ROOT);
    depth[..roots].fill(1);
    for i in 0..n {
        if parent[i] == NO_PARENT {
            // Parents precede their children, so every claim on `i` has been made by now.
            return Err(WireError::Orphan { node: i });
        }
        let Some((first, span, is_map)) = children(&nodes[i]) else {
            continue;
        };
        if first as usize <= i {
            return Err(WireError::ChildBeforeParent {
                path: node_path(nodes, &parent, i),
                node: i,
                first,
            });
        }
        let end = u64::from(first) + span;
        if end > n as u64 {
            return Err(WireError::ChildOutOfRange {
                path: node_path(nodes, &parent, i),
                node: i,
                first,
                span,
                nodes: n,
            });
        }
        let child_depth = depth[i] + 1;
        for c in first as usize..end as usize {
            if parent[c] != NO_PARENT {
                return Err(WireError::SharedChild {
                    path: node_path(nodes, &parent, i),
                    child: c,
                    owner: owner_text(nodes, &parent, c),
                });
            }
            let rel = c - first as usize;
            if is_map && rel & 1 == 0 && !matches!(nodes[c], ArchivedWireNode::Str(_)) {
                return Err(WireError::KeyNotString {
                    path: node_path(nodes, &parent, i),
                    entry: rel / 2,
                    kind: kind(&nodes[c]),
                });
            }
            parent[c] = i as u32;
            depth[c] = child_depth;
            // Keys do not nest; a value (or array item) at this depth must be allowed.
            let is_key = is_map && rel & 1 == 0;
            if !is_key && child_depth as usize > MAX_DEPTH {
                return Err(WireError::TooDeep {
                    path: node_path(nodes, &parent, c),
                });
            }
        }
    }
    Ok(())
}

// ---- views ----

/// A validated argument list, read in place. Cheap to copy.
#[derive(Clone, Copy)]
pub struct ArgsView<'a> {
    args: ArrayRef<'a>,
}

impl<'a> ArgsView<'a> {
    /// Validates `bytes` and returns a view of its arguments. `bytes` must be exactly what
    /// [`encode`] produced (rkyv puts the archive's root at the end), starting on a
    /// [`WIRE_ALIGN`]-byte boundary. Never panics, whatever the bytes; work and
    /// scratch memory are linear in `bytes.len()`.
    pub fn new(bytes: &'a [u8]) -> Result<ArgsView<'a>, WireError> {
        let offset = bytes.as_ptr() as usize % WIRE_ALIGN;
        if offset != 0 {
            return Err(WireError::Misaligned { offset });
        }
        // The low-level validator: the format has no shared pointers to track.
        let archived = rkyv::api::low::access::<ArchivedWireArgs, rancor::Error>(bytes)
            .map_err(|e| WireError::Malformed(e.to_string()))?;
        let nodes = archived.nodes.as_slice();
        let roots = archived.roots.to_native();
        check_structure(roots, nodes)?;
        Ok(ArgsView {
            args: ArrayRef {
                table: nodes,
                items: &nodes[..roots as usize],
            },
        })
    }

    /// The number of arguments.
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// True when there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// Argument `i`.
    pub fn get(&self, i: usize) -> Option<ValueRef<'a>> {
        self.args.get(i)
    }

    /// The arguments in order.
    pub fn iter(&self) -> Iter<'a> {
        self.args.iter()
    }

    /// The arguments as one array.
    pub fn as_array(&self) -> ArrayRef<'a> {
        self.args
    }

    /// Owned copies of the arguments.
    pub fn to_values(&self) -> Vec<Value> {
        self.iter().map(|v| v.to_value()).collect()
    }
}

impl<'a> IntoIterator for ArgsView<'a> {
    type Item = ValueRef<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl fmt::Debug for ArgsView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ArgsView").field(&self.args).finish()
    }
}

/// A borrowed value inside a validated message. Strings and bytes point into the message.
#[derive(Clone, Copy, Debug)]
pub enum ValueRef<'a> {
    /// Null.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(&'a str),
    /// A byte buffer.
    Bytes(&'a [u8]),
    /// An array.
    Array(ArrayRef<'a>),
    /// A map.
    Map(MapRef<'a>),
}

/// The nodes `first..first + span` of `table`, or none if out of range (never, once validated).
fn range(table: &[ArchivedWireNode], first: u32, span: u64) -> &[ArchivedWireNode] {
    let first = first as usize;
    usize::try_from(span)
        .ok()
        .and_then(|span| table.get(first..first.checked_add(span)?))
        .unwrap_or(&[])
}

impl<'a> ValueRef<'a> {
    fn of(table: &'a [ArchivedWireNode], node: &'a ArchivedWireNode) -> ValueRef<'a> {
        match node {
            ArchivedWireNode::Null => ValueRef::Null,
            ArchivedWireNode::Bool(b) => ValueRef::Bool(*b),
            ArchivedWireNode::Int(i) => ValueRef::Int(i.to_native()),
            ArchivedWireNode::Float(x) => ValueRef::Float(x.to_native()),
            ArchivedWireNode::Str(s) => ValueRef::Str(s.as_str()),
            ArchivedWireNode::Bytes(b) => ValueRef::Bytes(b.as_slice()),
            ArchivedWireNode::Array { first, len } => ValueRef::Array(ArrayRef {
                table,
                items: range(table, first.to_native(), u64::from(len.to_native())),
            }),
            ArchivedWireNode::Map { first, len } => ValueRef::Map(MapRef {
                table,
                entries: range(table, first.to_native(), 2 * u64::from(len.to_native())),
            }),
        }
    }

    /// An owned copy. Recursion is bounded by the validated depth ([`MAX_DEPTH`]).
    pub fn to_value(&self) -> Value {
        match *self {
            ValueRef::Null => Value::Null,
            ValueRef::Bool(b) => Value::Bool(b),
            ValueRef::Int(i) => Value::Int(i),
            ValueRef::Float(x) => Value::Float(x),
            ValueRef::Str(s) => Value::String(s.to_owned()),
            ValueRef::Bytes(b) => Value::Bytes(b.to_vec()),
            ValueRef::Array(a) => Value::Array(a.iter().map(|v| v.to_value()).collect()),
            ValueRef::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// True for [`ValueRef::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, ValueRef::Null)
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            ValueRef::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The integer, if this is a [`ValueRef::Int`].
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            ValueRef::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The number as a float (a [`ValueRef::Float`], or a [`ValueRef::Int`] converted).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            ValueRef::Float(x) => Some(x),
            ValueRef::Int(i) => Some(i as f64),
            _ => None,
        }
    }

    /// The string, borrowed from the message.
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            ValueRef::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, borrowed from the message.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            ValueRef::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<ArrayRef<'a>> {
        match *self {
            ValueRef::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The map, if this is one.
    pub fn as_map(&self) -> Option<MapRef<'a>> {
        match *self {
            ValueRef::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value of the first entry named `key`, if this is a map that has one.
    pub fn get(&self, key: &str) -> Option<ValueRef<'a>> {
        self.as_map()?.get(key)
    }

    /// The name of this value's kind, as [`Value::kind`].
    pub fn kind(&self) -> &'static str {
        match self {
            ValueRef::Null => "null",
            ValueRef::Bool(_) => "bool",
            ValueRef::Int(_) => "int",
            ValueRef::Float(_) => "float",
            ValueRef::Str(_) => "string",
            ValueRef::Bytes(_) => "bytes",
            ValueRef::Array(_) => "array",
            ValueRef::Map(_) => "map",
        }
    }
}

impl PartialEq<Value> for ValueRef<'_> {
    fn eq(&self, other: &Value) -> bool {
        match (*self, other) {
            (ValueRef::Null, Value::Null) => true,
            (ValueRef::Bool(a), Value::Bool(b)) => a == *b,
            (ValueRef::Int(a), Value::Int(b)) => a == *b,
            (ValueRef::Float(a), Value::Float(b)) => a == *b,
            (ValueRef::Str(a), Value::String(b)) => a == b,
            (ValueRef::Bytes(a), Value::Bytes(b)) => a == &b[..],
            (ValueRef::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == *y)
            }
            (ValueRef::Map(a), Value::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va == *vb)
            }
            _ => false,
        }
    }
}

impl PartialEq<ValueRef<'_>> for Value {
    fn eq(&self, other: &ValueRef<'_>) -> bool {
        other == self
    }
}

impl fmt::Display for ValueRef<'_> {
    /// The same JSON-like text as [`Value`]'s `Display`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ValueRef::Null => f.write_str("null"),
            ValueRef::Bool(b) => write!(f, "{b}"),
            ValueRef::Int(i) => write!(f, "{i}"),
            ValueRef::Float(x) => write_float(f, x),
            ValueRef::Str(s) => write_json_str(f, s),
            ValueRef::Bytes(b) => write_bytes(f, b),
            ValueRef::Array(a) => {
                f.write_str("[")?;
                for (i, item) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    fmt::Display::fmt(&item, f)?;
                }
                f.write_str("]")
            }
            ValueRef::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_json_str(f, k)?;
                    f.write_str(":")?;
                    fmt::Display::fmt(&v, f)?;
                }
                f.write_str("}")
            }
        }
    }
}

/// An array inside a validated message.
#[derive(Clone, Copy)]
pub struct ArrayRef<'a> {
    table: &'a [ArchivedWireNode],
    items: &'a [ArchivedWireNode],
}

impl<'a> ArrayRef<'a> {
    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Item `i`.
    pub fn get(&self, i: usize) -> Option<ValueRef<'a>> {
        self.items.get(i).map(|n| ValueRef::of(self.table, n))
    }

    /// The items in order.
    pub fn iter(&self) -> Iter<'a> {
        Iter {
            table: self.table,
            items: self.items.iter(),
        }
    }
}

impl<'a> IntoIterator for ArrayRef<'a> {
    type Item = ValueRef<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl fmt::Debug for ArrayRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over the items of an [`ArrayRef`] (or the arguments of an [`ArgsView`]).
#[derive(Clone)]
pub struct Iter<'a> {
    table: &'a [ArchivedWireNode],
    items: std::slice::Iter<'a, ArchivedWireNode>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = ValueRef<'a>;
    fn next(&mut self) -> Option<ValueRef<'a>> {
        self.items.next().map(|n| ValueRef::of(self.table, n))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.items.next_back().map(|n| ValueRef::of(self.table, n))
    }
}

/// A map inside a validated message, entries in the sender's order.
#[derive(Clone, Copy)]
pub struct MapRef<'a> {
    table: &'a [ArchivedWireNode],
    /// Key, value, key, value, ...
    entries: &'a [ArchivedWireNode],
}

impl<'a> MapRef<'a> {
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len() / 2
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of the first entry named `key`.
    pub fn get(&self, key: &str) -> Option<ValueRef<'a>> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The entries in order.
    pub fn iter(&self) -> MapIter<'a> {
        MapIter {
            table: self.table,
            entries: self.entries.chunks_exact(2),
        }
    }
}

impl<'a> IntoIterator for MapRef<'a> {
    type Item = (&'a str, ValueRef<'a>);
    type IntoIter = MapIter<'a>;
    fn into_iter(self) -> MapIter<'a> {
        self.iter()
    }
}

impl fmt::Debug for MapRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Iterator over the entries of a [`MapRef`].
#[derive(Clone)]
pub struct MapIter<'a> {
    table: &'a [ArchivedWireNode],
    entries: std::slice::ChunksExact<'a, ArchivedWireNode>,
}

impl<'a> Iterator for MapIter<'a> {
    type Item = (&'a str, ValueRef<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        let pair = self.entries.next()?;
        let key = match &pair[0] {
            ArchivedWireNode::Str(s) => s.as_str(),
            _ => "", // never: validation checked every key
        };
        Some((key, ValueRef::of(self.table, &pair[1])))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for MapIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args;

    fn round_trip(args: &[Value]) -> AlignedVec<WIRE_ALIGN> {
        let bytes = encode_to_vec(args).expect("encode");
        assert!(
            bytes.len() <= encoded_len_hint(args),
            "hint {} < encoded {}",
            encoded_len_hint(args),
            bytes.len()
        );
        let view = ArgsView::new(&bytes).expect("validate");
        assert_eq!(view.len(), args.len());
        assert_eq!(view.to_values(), args);
        for (r, v) in view.iter().zip(args) {
            assert_eq!(r, *v);
            assert_eq!(r.to_string(), v.to_string());
        }
        // The same bytes, written into a caller's slice of exactly the hinted size.
        let mut slot = AlignedVec::<WIRE_ALIGN>::new();
        slot.resize(encoded_len_hint(args), 0xAA);
        let n = encode_into(args, &mut slot).expect("encode_into");
        assert_eq!(&slot[..n], &bytes[..]);
        bytes
    }

    fn all_kinds() -> Vec<Value> {
        args![
            (),
            true,
            false,
            -7,
            i64::MAX,
            i64::MIN,
            0.5,
            f64::INFINITY,
            "",
            "short",
            "a string longer than eight bytes",
            Vec::<u8>::new(),
            vec![1u8, 2, 3],
            Value::array([1, 2, 3]),
            Value::Array(vec![]),
            Value::Map(vec![]),
            Value::map([
                ("a", Value::from(1)),
                ("nested", Value::map([("x", Value::array([Value::Null]))])),
                ("bytes", Value::from(vec![9u8; 20])),
                ("a", Value::from("duplicate keys are kept")),
            ]),
            Value::array([
                Value::array([Value::array([Value::map([("deep", true)])])]),
                Value::from("tail"),
            ]),
        ]
    }

    #[test]
    fn every_kind_round_trips() {
        round_trip(&all_kinds());
    }

    #[test]
    fn empty_argument_list_round_trips() {
        let bytes = round_trip(&[]);
        let view = ArgsView::new(&bytes).unwrap();
        assert!(view.is_empty());
        assert!(view.get(0).is_none());
    }

    #[test]
    fn views_read_in_place() {
        let args = args!["x".repeat(100), vec![7u8; 100], Value::map([("k", "v")])];
        let bytes = encode_to_vec(&args).unwrap();
        let range = bytes.as_ptr_range();
        let view = ArgsView::new(&bytes).unwrap();
        let s = view.get(0).and_then(|v| v.as_str()).unwrap();
        let b = view.get(1).and_then(|v| v.as_bytes()).unwrap();
        assert!(range.contains(&s.as_ptr()) && range.contains(&b.as_ptr()));
        let map = view.get(2).and_then(|v| v.as_map()).unwrap();
        assert_eq!(map.len(), 1);
        assert_eq!(map.get("k").and_then(|v| v.as_str()), Some("v"));
        assert!(map.get("nope").is_none());
        assert_eq!(view.get(2).unwrap().get("k").unwrap(), Value::from("v"));
        let (k, v) = map.iter().next().unwrap();
        assert_eq!((k, v.as_str()), ("k", Some("v")));
        assert!(view.get(3).is_none());
        assert_eq!(view.iter().len(), 3);
    }

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
    fn borrowed_and_owned_tables_archive_identically() {
        // `NodeRef` must archive exactly as `WireNode` (the `as` derive relies on it).
        let args = all_kinds();
        let owned = WireArgs::from_values(&args).unwrap().to_bytes().unwrap();
        assert_eq!(&owned[..], &encode_to_vec(&args).unwrap()[..]);
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

    fn nested(depth: usize, leaf: Value) -> Value {
        let mut v = leaf;
        for _ in 1..depth {
            v = Value::Array(vec![v]);
        }
        v
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

    // ---- hostile input ----

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Everything a receiver might do with an accepted message.
    fn exercise(bytes: &[u8]) -> bool {
        match ArgsView::new(bytes) {
            Ok(view) => {
                let values = view.to_values();
                let _ = format!("{view:?}");
                for v in view.iter() {
                    let _ = v.to_string();
                }
                assert_eq!(values.len(), view.len());
                true
            }
            Err(e) => {
                let _ = e.to_string();
                false
            }
        }
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut buf = AlignedVec::<WIRE_ALIGN>::new();
        for _ in 0..4000 {
            buf.clear();
            let len = rng.below(600);
            for _ in 0..len {
                buf.push(rng.next() as u8);
            }
            exercise(&buf);
        }
    }

    #[test]
    fn mutated_messages_never_panic() {
        let mut rng = Rng(42);
        let good = encode_to_vec(&all_kinds()).unwrap();
        let mut accepted = 0;
        let mut buf = AlignedVec::<WIRE_ALIGN>::new();
        for round in 0..4000 {
            buf.clear();
            buf.extend_from_slice(&good);
            for _ in 0..1 + round % 4 {
                let at = rng.below(buf.len());
                buf[at] = rng.next() as u8;
            }
            if exercise(&buf) {
                accepted += 1;
            }
        }
        // Some mutations hit payload bytes and stay valid: the view must then be usable.
        assert!(accepted > 0);
    }

    #[test]
    fn random_well_typed_tables_are_checked_without_panicking() {
        // Archives that pass bytecheck but whose tree structure is arbitrary: only the
        // structural check stands between them and the views.
        let mut rng = Rng(7);
        let (mut accepted, mut rejected) = (0, 0);
        for _ in 0..3000 {
            let n = rng.below(10);
            let nodes: Vec<WireNode> = (0..n)
                .map(|_| {
                    let first = rng.below(n + 2) as u32;
                    let len = rng.below(4) as u32;
                    match rng.below(5) {
                        0 => Null,
                        1 => Int(rng.next() as i64),
                        2 => Str(["a", "bb", "a key with spaces"][rng.below(3)].into()),
                        3 => Array { first, len },
                        _ => Map { first, len },
                    }
                })
                .collect();
            let roots = rng.below(n + 2) as u32;
            let bytes = WireArgs { roots, nodes }.to_bytes().unwrap();
            match ArgsView::new(&bytes) {
                Ok(view) => {
                    accepted += 1;
                    let values = view.to_values();
                    // What was accepted re-encodes to the same values.
                    let again = encode_to_vec(&values).unwrap();
                    assert_eq!(ArgsView::new(&again).unwrap().to_values(), values);
                }
                Err(e) => {
                    rejected += 1;
                    assert!(!e.to_string().is_empty());
                }
            }
        }
        assert!(accepted > 100 && rejected > 100, "{accepted} / {rejected}");
    }

    fn check(nodes: Vec<WireNode>, roots: u32) -> Result<Vec<Value>, WireError> {
        let bytes = WireArgs { roots, nodes }.to_bytes().unwrap();
        ArgsView::new(&bytes).map(|v| v.to_values())
    }

    use WireNode::{Array, Int, Map, Null, Str};

    #[test]
    fn crafted_tables_that_are_well_formed_are_accepted() {
        let values = check(
            vec![
                Map { first: 2, len: 1 },
                Int(5),
                Str("k".into()),
                Array { first: 4, len: 0 },
            ],
            2,
        );
        assert_eq!(
            values,
            Ok(vec![
                Value::map([("k", Value::Array(vec![]))]),
                Value::Int(5)
            ])
        );
    }

    #[test]
    fn a_child_range_pointing_backwards_is_rejected() {
        let err = check(vec![Int(1), Array { first: 1, len: 1 }], 2).unwrap_err();
        assert_eq!(
            err,
            WireError::ChildBeforeParent {
                path: "args[1]".into(),
                node: 1,
                first: 1
            }
        );
        let err = check(vec![Array { first: 0, len: 1 }], 1).unwrap_err();
        assert!(matches!(err, WireError::ChildBeforeParent { .. }), "{err}");
    }

    #[test]
    fn a_child_range_out_of_the_table_is_rejected() {
        let err = check(vec![Array { first: 1, len: 2 }, Null], 1).unwrap_err();
        assert!(matches!(err, WireError::ChildOutOfRange { .. }), "{err}");
        let err = check(
            vec![
                Map {
                    first: 1,
                    len: u32::MAX,
                },
                Null,
            ],
            1,
        )
        .unwrap_err();
        assert!(matches!(err, WireError::ChildOutOfRange { .. }), "{err}");
        let err = check(
            vec![Array {
                first: u32::MAX,
                len: u32::MAX,
            }],
            1,
        )
        .unwrap_err();
        assert!(matches!(err, WireError::ChildOutOfRange { .. }), "{err}");
        // Even an empty container must point inside the table.
        let err = check(vec![Array { first: 7, len: 0 }], 1).unwrap_err();
        assert!(matches!(err, WireError::ChildOutOfRange { .. }), "{err}");
    }

    #[test]
    fn a_shared_child_is_rejected() {
        let err = check(
            vec![Array { first: 2, len: 1 }, Array { first: 2, len: 1 }, Null],
            2,
        )
        .unwrap_err();
        assert_eq!(
            err,
            WireError::SharedChild {
                path: "args[1]".into(),
                child: 2,
                owner: "at args[0][0]".into()
            }
        );
        // A container claiming a later argument.
        let err = check(vec![Array { first: 1, len: 1 }, Null], 2).unwrap_err();
        assert!(matches!(err, WireError::SharedChild { .. }), "{err}");
    }

    #[test]
    fn an_orphan_node_is_rejected() {
        let err = check(vec![Null, Null], 1).unwrap_err();
        assert_eq!(err, WireError::Orphan { node: 1 });
    }

    #[test]
    fn more_roots_than_nodes_is_rejected() {
        let err = check(vec![Null], 2).unwrap_err();
        assert_eq!(err, WireError::TooManyRoots { roots: 2, nodes: 1 });
    }

    #[test]
    fn a_non_string_key_is_rejected() {
        let err = check(vec![Map { first: 1, len: 1 }, Int(3), Null], 1).unwrap_err();
        assert_eq!(
            err,
            WireError::KeyNotString {
                path: "args[0]".into(),
                entry: 0,
                kind: "int"
            }
        );
    }

    fn chain(depth: usize) -> Vec<WireNode> {
        let mut nodes: Vec<WireNode> = (1..depth as u32)
            .map(|i| Array { first: i, len: 1 })
            .collect();
        nodes.push(Null);
        nodes
    }

    #[test]
    fn depth_129_is_rejected_and_128_accepted() {
        assert_eq!(
            check(chain(MAX_DEPTH), 1),
            Ok(vec![nested(MAX_DEPTH, Value::Null)])
        );
        let err = check(chain(MAX_DEPTH + 1), 1).unwrap_err();
        assert_eq!(
            err,
            WireError::TooDeep {
                path: format!("args[0]{}", "[0]".repeat(MAX_DEPTH))
            }
        );
    }

    #[test]
    fn errors_name_the_path_through_maps_and_arrays() {
        // args[1] = { "foo": [0, 1, 2, <array pointing out of range>] }
        let nodes = vec![
            Null,
            Map { first: 2, len: 1 },
            Str("foo".into()),
            Array { first: 4, len: 4 },
            Int(0),
            Int(1),
            Int(2),
            Array { first: 8, len: 9 },
        ];
        let err = check(nodes, 2).unwrap_err();
        assert!(
            matches!(&err, WireError::ChildOutOfRange { path, node: 7, .. } if path == "args[1].foo[3]"),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("args[1].foo[3] (node 7)"),
            "{err}"
        );
    }

    #[test]
    fn misaligned_and_truncated_input_is_rejected() {
        let good = encode_to_vec(&all_kinds()).unwrap();
        let mut shifted = AlignedVec::<WIRE_ALIGN>::new();
        shifted.push(0);
        shifted.extend_from_slice(&good);
        assert_eq!(
            ArgsView::new(&shifted[1..]).unwrap_err(),
            WireError::Misaligned { offset: 1 }
        );
        assert!(matches!(
            ArgsView::new(&[]),
            Err(WireError::Malformed(_)) | Err(WireError::Misaligned { .. })
        ));
        assert!(matches!(
            ArgsView::new(&good[..good.len() - 16]),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn views_are_send_sync_and_copy() {
        fn assert_send_sync_copy<T: Send + Sync + Copy>() {}
        assert_send_sync_copy::<ArgsView<'static>>();
        assert_send_sync_copy::<ValueRef<'static>>();
        assert_send_sync_copy::<ArrayRef<'static>>();
        assert_send_sync_copy::<MapRef<'static>>();
    }
}
