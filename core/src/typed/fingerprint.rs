//! A typed channel's schema fingerprint: a stable 64-bit hash of what the channel carries (its
//! kind, codec, request type and reply type, each type hashed by its structure with
//! [`TypeHash`]: names, fields, variants and field types, recursively). It travels in every
//! message's envelope; the receiver compares it with its own before it reads a byte, so two
//! binaries built from different versions of a contract get a clear error naming the channel
//! and both fingerprints, never a misread.
//!
//! `0` means "a `Value` message", so a fingerprint is never 0.

use type_hash::TypeHash;

/// What kind of channel a fingerprint is for (mixed into it: a `send` and an `invoke` channel
/// of the same types do not match).
#[derive(Clone, Copy, Debug)]
#[repr(u8)]
pub(crate) enum ChannelKind {
    Send = 1,
    SendSync = 2,
    Invoke = 3,
    Event = 4,
    RendererInvoke = 5,
}

/// FNV-1a, 64 bits: stable across builds, platforms and compiler versions (unlike `std`'s
/// `DefaultHasher`), which is the point of a fingerprint.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The fingerprint of a channel of `kind` carrying `Req` (and answering `Rep`) with codec
/// `codec`.
pub(crate) fn fingerprint<Req: TypeHash, Rep: TypeHash>(kind: ChannelKind, codec: u8) -> u64 {
    let mut h = Fnv::new();
    h.write(b"electrode typed channel v1");
    h.write(&[kind as u8, codec]);
    h.write(&Req::type_hash().to_le_bytes());
    h.write(&Rep::type_hash().to_le_bytes());
    match h.0 {
        0 => 1,
        f => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(TypeHash)]
    #[allow(dead_code)]
    struct V1 {
        a: u32,
    }

    mod v2 {
        use type_hash::TypeHash;
        #[derive(TypeHash)]
        #[allow(dead_code)]
        pub struct V1 {
            pub a: u64,
        }
    }

    #[test]
    fn differs_by_kind_codec_and_structure() {
        let base = fingerprint::<V1, ()>(ChannelKind::Invoke, 1);
        assert_ne!(base, 0);
        assert_eq!(
            base,
            fingerprint::<V1, ()>(ChannelKind::Invoke, 1),
            "stable"
        );
        assert_ne!(base, fingerprint::<V1, ()>(ChannelKind::Send, 1));
        assert_ne!(base, fingerprint::<V1, ()>(ChannelKind::Invoke, 2));
        assert_ne!(base, fingerprint::<v2::V1, ()>(ChannelKind::Invoke, 1));
        assert_ne!(base, fingerprint::<(), V1>(ChannelKind::Invoke, 1));
    }
}
