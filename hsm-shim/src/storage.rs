//! Where the sealed keystore lives: a small trait the caller implements
//! (flash, a file, a database row), with an in-memory implementation for
//! the heap ([`MemoryStorage`], feature `alloc`) and one of fixed capacity
//! ([`FixedStorage`]).

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

use crate::error::{Error, Result};

/// Persistent storage for one sealed keystore blob.
///
/// `write` must be atomic: whether it succeeds or fails, a later read
/// returns either the complete previous content or the complete new
/// content, never a mix. The std [`crate::FileStorage`] does this with a
/// temporary file, fsync and rename (a failure of the final directory fsync
/// leaves the new content in place but not yet guaranteed durable); on flash,
/// two banks and a sequence number do it.
///
/// The required methods need no heap, so a device implements the trait over
/// its flash; `read` (feature `alloc`) is provided on top of them.
pub trait Storage {
    /// The length of the stored blob, or `None` if nothing was ever written.
    fn stored_len(&mut self) -> Result<Option<usize>>;

    /// Copies the whole stored blob to the start of `out` and returns its
    /// length, or `None` if nothing was ever written.
    ///
    /// # Errors
    /// [`Error::Capacity`] if `out` is shorter than the blob (nothing is copied).
    fn read_into(&mut self, out: &mut [u8]) -> Result<Option<usize>>;

    /// Replaces the stored blob atomically.
    fn write(&mut self, bytes: &[u8]) -> Result<()>;

    /// The whole stored blob, or `None` if nothing was ever written.
    #[cfg(feature = "alloc")]
    fn read(&mut self) -> Result<Option<Vec<u8>>> {
        let Some(len) = self.stored_len()? else { return Ok(None) };
        let mut out = alloc::vec![0u8; len];
        let n = self.read_into(&mut out)?.ok_or(Error::Storage)?;
        out.truncate(n);
        Ok(Some(out))
    }
}

/// Copies `blob` to the start of `out` for [`Storage::read_into`].
fn copy_out(blob: &[u8], out: &mut [u8]) -> Result<Option<usize>> {
    let dest = out.get_mut(..blob.len()).ok_or(Error::Capacity)?;
    dest.copy_from_slice(blob);
    Ok(Some(blob.len()))
}

/// Storage in memory, for tests and for servers that persist elsewhere.
#[cfg(feature = "alloc")]
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    blob: Option<Vec<u8>>,
}

#[cfg(feature = "alloc")]
impl MemoryStorage {
    /// Empty storage.
    pub fn new() -> Self {
        MemoryStorage { blob: None }
    }
}

#[cfg(feature = "alloc")]
impl Storage for MemoryStorage {
    fn stored_len(&mut self) -> Result<Option<usize>> {
        Ok(self.blob.as_ref().map(Vec::len))
    }

    fn read_into(&mut self, out: &mut [u8]) -> Result<Option<usize>> {
        match &self.blob {
            None => Ok(None),
            Some(blob) => copy_out(blob, out),
        }
    }

    fn read(&mut self) -> Result<Option<Vec<u8>>> {
        Ok(self.blob.clone())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Err(Error::InvalidInput);
        }
        self.blob = Some(bytes.to_vec());
        Ok(())
    }
}

/// Storage of at most `N` bytes in memory, without a heap: for tests of
/// the device token and for devices that copy it to flash themselves.
///
/// ```
/// use coffer_hsm::{FixedStorage, Storage};
///
/// let mut storage = FixedStorage::<16>::new();
/// assert_eq!(storage.stored_len()?, None);
/// storage.write(b"sealed")?;
/// let mut out = [0u8; 16];
/// assert_eq!(storage.read_into(&mut out)?, Some(6));
/// assert_eq!(storage.write(&[1u8; 17]), Err(coffer_hsm::Error::Capacity));
/// # Ok::<(), coffer_hsm::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FixedStorage<const N: usize> {
    blob: Option<heapless::Vec<u8, N>>,
}

impl<const N: usize> FixedStorage<N> {
    /// Empty storage.
    pub const fn new() -> Self {
        FixedStorage { blob: None }
    }
}

impl<const N: usize> Default for FixedStorage<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Storage for FixedStorage<N> {
    fn stored_len(&mut self) -> Result<Option<usize>> {
        Ok(self.blob.as_ref().map(|b| b.len()))
    }

    fn read_into(&mut self, out: &mut [u8]) -> Result<Option<usize>> {
        match &self.blob {
            None => Ok(None),
            Some(blob) => copy_out(blob, out),
        }
    }

    /// Replaces the content; a blob longer than `N` is refused with
    /// [`Error::Capacity`] and the old content stays.
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Err(Error::InvalidInput);
        }
        let blob = heapless::Vec::from_slice(bytes).map_err(|_| Error::Capacity)?;
        self.blob = Some(blob);
        Ok(())
    }
}
