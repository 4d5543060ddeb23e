//! [`AlignedBuf`]: a growable byte buffer whose start is 16-byte aligned, so a copied-out rkyv
//! archive can be accessed in place.

/// A `Vec<u8>`-like buffer with 16-byte alignment.
#[derive(Clone, Default)]
pub struct AlignedBuf {
    words: Vec<u128>,
    len: usize,
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .finish()
    }
}

impl AlignedBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes are held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drop the contents, keep the allocation.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Resize to `len` bytes; new bytes are zero.
    pub fn resize(&mut self, len: usize) {
        let words = len.div_ceil(16);
        if words > self.words.len() {
            self.words.resize(words, 0);
        }
        self.len = len;
    }

    /// Append `src`.
    pub fn extend_from_slice(&mut self, src: &[u8]) {
        let old = self.len;
        self.resize(old + src.len());
        self.as_mut_slice()[old..].copy_from_slice(src);
    }

    /// The bytes (16-byte aligned).
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `words` holds at least `len` initialized bytes; u8 has alignment 1.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }

    /// The bytes, mutably (16-byte aligned).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` makes the slice unique.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), self.len) }
    }
}
