//! What [`ArgsView::new`](super::ArgsView::new) checks before anything reads a received
//! message: alignment, rkyv's bytecheck (flat, as the format has no recursion), then the tree
//! structure in one forward pass ([`WireError`] says what was wrong, and where, as a value
//! path).

use std::fmt;

use rkyv::rancor;

use super::path::{push_index, push_key};
use super::{ArchivedWireArgs, ArchivedWireNode, MAX_DEPTH, WIRE_ALIGN};

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

/// Checks `bytes` (alignment, bytecheck, [`check_structure`]) and returns the validated node
/// table and its argument count (`roots <= nodes.len()`).
pub(super) fn validate(bytes: &[u8]) -> Result<(&[ArchivedWireNode], usize), WireError> {
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
    Ok((nodes, roots as usize))
}

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

#[cfg(test)]
mod tests {
    use rkyv::util::AlignedVec;

    use super::super::testkit::{all_kinds, nested};
    use super::super::{encode_to_vec, ArgsView, WireArgs, WireNode};
    use super::*;
    use crate::value::Value;

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
}
