//! The archived types of the wire format: the owned [`WireArgs`] / [`WireNode`] that name it
//! (rkyv derives their archived forms), the borrowed `NodeRef` / `ArgsRef` that the encoder
//! archives to the very same bytes, and the static size and alignment asserts.

use rkyv::rancor;
use rkyv::vec::{ArchivedVec, VecResolver};
use rkyv::with::Inline;
use rkyv::{Archive, Deserialize, Place, Serialize};

use super::WIRE_ALIGN;

/// An argument list in wire form: a flat node table. The first `roots` nodes are the arguments.
///
/// [`encode`](fn@super::encode) writes this type's archive without building it; the owned
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

/// Bytes of one archived node.
pub(super) const NODE_SIZE: usize = std::mem::size_of::<ArchivedWireNode>();
/// Alignment of an archived node.
pub(super) const NODE_ALIGN: usize = std::mem::align_of::<ArchivedWireNode>();
/// Bytes of the archive's root (the roots count and the node vector's relative pointer).
pub(super) const ARGS_SIZE: usize = std::mem::size_of::<ArchivedWireArgs>();
/// Alignment of the archive's root.
pub(super) const ARGS_ALIGN: usize = std::mem::align_of::<ArchivedWireArgs>();

// The table is 16 bytes a node, and everything fits the 16-byte frame alignment.
const _: () = assert!(NODE_SIZE == 16);
const _: () = assert!(NODE_ALIGN <= WIRE_ALIGN && ARGS_ALIGN <= WIRE_ALIGN);

#[cfg(test)]
mod tests {
    use super::super::testkit::all_kinds;
    use super::super::{encode_to_vec, WireArgs};

    #[test]
    fn borrowed_and_owned_tables_archive_identically() {
        // `NodeRef` must archive exactly as `WireNode` (the `as` derive relies on it).
        let args = all_kinds();
        let owned = WireArgs::from_values(&args).unwrap().to_bytes().unwrap();
        assert_eq!(&owned[..], &encode_to_vec(&args).unwrap()[..]);
    }
}
