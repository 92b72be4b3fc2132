//! Where the sealed keystore lives: a small trait the caller implements
//! (flash, a file, a database row), with an in-memory implementation.

use alloc::vec::Vec;

use crate::error::{Error, Result};

/// Persistent storage for one sealed keystore blob.
///
/// `write` must be atomic: whether it succeeds or fails, `read` returns
/// either the complete previous content or the complete new content, never
/// a mix. The std [`crate::FileStorage`] does this with a temporary file,
/// fsync and rename (a failure of the final directory fsync leaves the new
/// content in place but not yet guaranteed durable).
pub trait Storage {
    /// The whole stored blob, or `None` if nothing was ever written.
    fn read(&mut self) -> Result<Option<Vec<u8>>>;
    /// Replaces the stored blob atomically.
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
}

/// Storage in memory, for tests and for devices that persist elsewhere.
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    blob: Option<Vec<u8>>,
}

impl MemoryStorage {
    /// Empty storage.
    pub fn new() -> Self {
        MemoryStorage { blob: None }
    }
}

impl Storage for MemoryStorage {
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
