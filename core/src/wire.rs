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
use rkyv::ser::writer::Buffer;
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

// rkyv's derive leaves the named fields of the generated resolver enum undocumented.
#[allow(missing_docs)]
mod format {
    use rkyv::rancor;
    use rkyv::with::Inline;
    use rkyv::{Archive, Deserialize, Serialize};

    /// An argument list in wire form: a flat node table. The first `roots` nodes are the arguments.
    ///
    /// [`encode`] writes this type's archive without building it; the owned type is there to name
    /// the format (and to let tests craft arbitrary, even invalid, tables).
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

    /// A [`WireNode`] that borrows its string or bytes from a [`Value`]: it archives to exactly
    /// the same bytes, so [`encode`] copies each payload once, straight into the output.
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

    /// A [`WireArgs`] over borrowed nodes; archives to an [`ArchivedWireArgs`].
    #[derive(Archive, Serialize)]
    #[rkyv(
        as = ArchivedWireArgs,
        serialize_bounds(__S: rkyv::ser::Writer + rkyv::ser::Allocator, __S::Error: rancor::Source)
    )]
    pub(super) struct ArgsRef<'a> {
        pub(super) roots: u32,
        // Without the derive's `Vec<NodeRef>: Archive` bound, rustc normalizes the field's archived
        // type to `ArchivedVec<ArchivedWireNode>`, which is what `as` needs.
        #[rkyv(omit_bounds)]
        pub(super) nodes: Vec<NodeRef<'a>>,
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
        nodes: 0,
        payload: 0,
        too_deep: None,
    };
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

/// Checks what can fail before serializing; returns the size hint.
fn preflight(args: &[Value]) -> Result<usize, EncodeError> {
    let m = measure(args);
    if let Some(path) = m.too_deep {
        return Err(EncodeError::TooDeep { path });
    }
    let size = hint_from(&m);
    if size > MAX_ENCODED_LEN {
        return Err(EncodeError::TooLarge { size });
    }
    Ok(size)
}

/// Lays the arguments out breadth-first as a node table. The table's node count fits `u32`
/// (checked by `preflight`: every node takes 16 bytes of a 1 GiB archive at most).
fn table(args: &[Value]) -> ArgsRef<'_> {
    let mut nodes: Vec<NodeRef<'_>> = Vec::with_capacity(args.len());
    // Containers waiting for their children, in table order (a FIFO read with a cursor).
    let mut pending: Vec<(usize, &Value)> = Vec::new();
    fn leaf<'a>(v: &'a Value, at: usize, pending: &mut Vec<(usize, &'a Value)>) -> NodeRef<'a> {
        match v {
            Value::Null => NodeRef::Null,
            Value::Bool(b) => NodeRef::Bool(*b),
            Value::Int(i) => NodeRef::Int(*i),
            Value::Float(x) => NodeRef::Float(*x),
            Value::String(s) => NodeRef::Str(s),
            Value::Bytes(b) => NodeRef::Bytes(b),
            Value::Array(_) | Value::Map(_) => {
                pending.push((at, v));
                NodeRef::Null // placeholder until its children are laid out
            }
        }
    }
    for v in args {
        let node = leaf(v, nodes.len(), &mut pending);
        nodes.push(node);
    }
    let mut cursor = 0;
    while let Some(&(at, v)) = pending.get(cursor) {
        cursor += 1;
        let first = nodes.len() as u32;
        nodes[at] = match v {
            Value::Array(items) => {
                for item in items {
                    let node = leaf(item, nodes.len(), &mut pending);
                    nodes.push(node);
                }
                NodeRef::Array {
                    first,
                    len: items.len() as u32,
                }
            }
            Value::Map(entries) => {
                for (key, value) in entries {
                    nodes.push(NodeRef::Str(key));
                    let node = leaf(value, nodes.len(), &mut pending);
                    nodes.push(node);
                }
                NodeRef::Map {
                    first,
                    len: entries.len() as u32,
                }
            }
            _ => unreachable!("only containers are pending"),
        };
    }
    ArgsRef {
        roots: args.len() as u32,
        nodes,
    }
}

fn serialize_err(e: rancor::Error) -> EncodeError {
    EncodeError::Serialize(e.to_string())
}

/// Encodes `args` into `out` (cleared first). `out` is 16-byte aligned, so the result can be
/// read in place with [`ArgsView::new`].
pub fn encode(args: &[Value], out: &mut AlignedVec<WIRE_ALIGN>) -> Result<(), EncodeError> {
    let size = preflight(args)?;
    out.clear();
    out.reserve(size);
    let table = table(args);
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

/// Encodes `args` at the start of `buf` and returns the encoded length; the message is
/// `buf[..len]`. A buffer of [`encoded_len_hint`] bytes always suffices.
///
/// rkyv aligns relative to the start of `buf`, so to read the message in place `buf` must start
/// on a [`WIRE_ALIGN`]-byte boundary (a copy into an aligned buffer works in any case).
pub fn encode_into(args: &[Value], buf: &mut [u8]) -> Result<usize, EncodeError> {
    let size = preflight(args)?;
    let capacity = buf.len();
    let table = table(args);
    let written = rkyv::util::with_arena(|arena| {
        rkyv::api::low::to_bytes_in_with_alloc::<_, _, rancor::Error>(
            &table,
            Buffer::from(buf),
            arena.acquire(),
        )
        .map(|b| b.len())
    });
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
    /// The owned table [`encode`] would archive for `args` (breadth-first layout). Panics only
    /// if `args` exceed the limits [`encode`] reports as errors.
    pub fn from_values(args: &[Value]) -> WireArgs {
        let t = table(args);
        WireArgs {
            roots: t.roots,
            nodes: t
                .nodes
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
        }
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
                    Some(ArchivedWireNode::Str(key)) if rel % 2 == 1 => {
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
            if is_map && rel % 2 == 0 && !matches!(nodes[c], ArchivedWireNode::Str(_)) {
                return Err(WireError::KeyNotString {
                    path: node_path(nodes, &parent, i),
                    entry: rel / 2,
                    kind: kind(&nodes[c]),
                });
            }
            parent[c] = i as u32;
            depth[c] = child_depth;
            // Keys do not nest; a value (or array item) at this depth must be allowed.
            let is_key = is_map && rel % 2 == 0;
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
    /// Validates `bytes` (a whole message from [`encode`], starting on a [`WIRE_ALIGN`]-byte
    /// boundary) and returns a view of its arguments. Never panics, whatever the bytes; work and
    /// scratch memory are linear in `bytes.len()`.
    pub fn new(bytes: &'a [u8]) -> Result<ArgsView<'a>, WireError> {
        let offset = bytes.as_ptr() as usize % WIRE_ALIGN;
        if offset != 0 {
            return Err(WireError::Misaligned { offset });
        }
        let archived = rkyv::access::<ArchivedWireArgs, rancor::Error>(bytes)
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
fn range<'a>(table: &'a [ArchivedWireNode], first: u32, span: u64) -> &'a [ArchivedWireNode] {
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
