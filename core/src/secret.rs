//! [`SecretBytes`]: a heap buffer of secret bytes that is wiped in bulk when dropped.

use alloc::vec::Vec;
use core::fmt;
use core::ops::{Deref, DerefMut};

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Secret bytes on the heap (a plaintext, a key): a `Vec<u8>` whose whole
/// allocation, spare capacity included, is overwritten with zeros when it is
/// dropped or [zeroized](Zeroize::zeroize).
///
/// It reads as a `[u8]` (`Deref`, `AsRef`), so `&secret[..]`, `secret.len()`
/// and `secret.to_vec()` work as on a slice; [`into_zeroizing`](Self::into_zeroizing)
/// hands the buffer on without copying it.
///
/// Why not `Zeroizing<Vec<u8>>`: zeroize wipes a `Vec` element by element
/// (one volatile byte store at a time, about 1 byte per cycle), which costs as
/// much as decrypting the bytes did. `SecretBytes` wipes the buffer as one
/// slice, with zeroize's bulk fill and its optimization barrier, so the wipe
/// cannot be removed by the compiler and costs what a `memset` does.
///
/// `Debug` prints the length only; `==` takes time that depends on the
/// lengths only.
///
/// # Example
///
/// ```
/// use coffer_core::SecretBytes;
///
/// let secret = SecretBytes::from(b"attack at dawn".to_vec());
/// assert_eq!(&secret[..6], b"attack");
/// assert_eq!(format!("{secret:?}"), "SecretBytes(14 bytes)");
/// let kept = secret.into_zeroizing(); // the same buffer, still wiped on drop
/// assert_eq!(kept.len(), 14);
/// ```
#[derive(Default)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// An empty buffer (no allocation).
    #[must_use]
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// The bytes as a slice.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Shortens the buffer to `len` bytes; the bytes cut off are wiped at once.
    pub fn truncate(&mut self, len: usize) {
        if let Some(cut) = self.0.get_mut(len..) {
            cut.zeroize();
        }
        self.0.truncate(len);
    }

    /// The same buffer as a `Zeroizing<Vec<u8>>` (no copy), for code that
    /// wants a `Vec`. It is then wiped by `Zeroizing`'s slower element-wise wipe.
    #[must_use]
    pub fn into_zeroizing(mut self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(core::mem::take(&mut self.0))
    }
}

impl From<Vec<u8>> for SecretBytes {
    /// Takes ownership of `bytes` (no copy).
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl Zeroize for SecretBytes {
    /// Overwrites every byte of the allocation with zeros and empties the buffer.
    fn zeroize(&mut self) {
        self.0.as_mut_slice().zeroize();
        self.0.spare_capacity_mut().zeroize();
        self.0.clear();
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for SecretBytes {}

impl Deref for SecretBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl DerefMut for SecretBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl AsRef<[u8]> for SecretBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl AsMut<[u8]> for SecretBytes {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl PartialEq for SecretBytes {
    /// Compares in time that depends on the lengths only (`subtle`).
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SecretBytes {}

impl PartialEq<[u8]> for SecretBytes {
    /// Compares in time that depends on the lengths only (`subtle`).
    fn eq(&self, other: &[u8]) -> bool {
        self.0.as_slice().ct_eq(other).into()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes)", self.0.len())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, reason = "tests index fixed-size test data")]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    // What a wipe leaves in memory cannot be read back without `unsafe`
    // (forbidden in coffer-core); these tests hold the observable behaviour.
    #[test]
    fn truncate_keeps_the_prefix_and_zeroize_empties() {
        let mut s = SecretBytes::from(vec![1, 2, 3, 4, 5]);
        s.truncate(2);
        assert_eq!(&s[..], [1, 2]);
        s.truncate(9);
        assert_eq!(s.as_slice(), [1, 2]);
        s.zeroize();
        assert!(s.is_empty());
    }

    #[test]
    fn into_zeroizing_hands_on_the_same_bytes_and_debug_hides_them() {
        let s = SecretBytes::from(vec![7u8; 3]);
        assert_eq!(format!("{s:?}"), "SecretBytes(3 bytes)");
        let mut s = s;
        s.as_mut()[..1].copy_from_slice(&[9]);
        assert_eq!(&s.into_zeroizing()[..], [9, 7, 7]);
        assert_eq!(SecretBytes::new().as_ref(), &[] as &[u8]);
        assert_eq!(SecretBytes::from(vec![1, 2]), SecretBytes::from(vec![1, 2]));
        assert_ne!(SecretBytes::from(vec![1, 2]), SecretBytes::from(vec![1, 3]));
        assert_ne!(SecretBytes::from(vec![1, 2]), SecretBytes::from(vec![1]));
        let five = SecretBytes::from(vec![5]);
        assert!(five == *[5u8].as_slice());
        assert!(five != *[6u8].as_slice());
    }
}
