//! What a store can fail with.

use core::fmt;

/// A store error. `Copy`, and free of anything read from the database, so
/// it can travel through the C ABI and into audit text unchanged.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// Another transaction held the store for longer than the backend's
    /// timeout, or the database aborted this one to resolve a conflict
    /// (PostgreSQL SQLSTATE 40001/40P01). Nothing was written: run the
    /// whole transaction again.
    Conflict,
    /// The disk (or the database's quota) is full. Nothing of this
    /// transaction was written; everything committed before it is intact.
    NoSpace,
    /// The store cannot be written: a read-only file, directory or
    /// database, or missing permissions.
    ReadOnly,
    /// The database is not a coffer store, or its file is damaged.
    Corrupt,
    /// The database could not be reached or opened (no such file or
    /// directory, connection refused, authentication failed).
    Unavailable,
    /// A key or value over [`crate::MAX_KEY_LEN`] / [`crate::MAX_VALUE_LEN`],
    /// or an empty key.
    TooLarge,
    /// Any other I/O or database failure. Nothing of this transaction was
    /// written.
    Io,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreError::Conflict => "the store stayed busy with other writers; nothing was written: retry",
            StoreError::NoSpace => {
                "no space left on device: nothing of this change was written and every earlier change is kept; free space and retry"
            }
            StoreError::ReadOnly => "the store is read-only: check the permissions of the database and its directory",
            StoreError::Corrupt => "the database is not a coffer store or is damaged: restore it from a backup",
            StoreError::Unavailable => "the store could not be opened or reached: check its path or URL and credentials",
            StoreError::TooLarge => "record key or value out of range",
            StoreError::Io => "the store failed to read or write; nothing of this change was written",
        })
    }
}

impl core::error::Error for StoreError {}
