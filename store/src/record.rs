//! The store trait: byte keys to byte values, in transactions.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::StoreError;

/// Longest key a store accepts, in bytes.
pub const MAX_KEY_LEN: usize = 256;
/// Longest value a store accepts, in bytes (a key record with 1,024
/// versions of a 16 KiB certificate fits).
pub const MAX_VALUE_LEN: usize = 32 * 1024 * 1024;
/// Most rows one [`Transaction::scan`] returns.
pub const MAX_SCAN: usize = 100_000;

/// One row returned by [`Transaction::scan`]: key and value.
pub type Row = (Vec<u8>, Vec<u8>);

/// A store of records. See the crate docs for the concurrency contract.
pub trait RecordStore {
    /// Begins a transaction, waiting for other writers as the backend's
    /// timeout allows.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the store stayed busy; the backend's
    /// errors otherwise.
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError>;
}

/// An open transaction. Dropping it without [`Transaction::commit`] rolls
/// it back.
pub trait Transaction {
    /// The value stored under `key`, if any (as of this transaction,
    /// including its own writes).
    ///
    /// # Errors
    /// [`StoreError::TooLarge`] for a key outside `1..=MAX_KEY_LEN`; the
    /// backend's errors otherwise.
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores `value` under `key`, replacing any value.
    ///
    /// # Errors
    /// [`StoreError::TooLarge`] for a key outside `1..=MAX_KEY_LEN` or a
    /// value over [`MAX_VALUE_LEN`]; the backend's errors otherwise.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError>;

    /// Removes `key` (nothing happens if it is absent).
    ///
    /// # Errors
    /// As [`Transaction::get`].
    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError>;

    /// Up to `limit` (at most [`MAX_SCAN`]) rows whose keys start with
    /// `prefix` and are greater than `after` (if given), in ascending
    /// byte order of their keys.
    ///
    /// # Errors
    /// As [`Transaction::get`]; [`StoreError::TooLarge`] for a `limit`
    /// over [`MAX_SCAN`].
    fn scan(&mut self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Row>, StoreError>;

    /// Makes every write of this transaction durable and visible, at once.
    ///
    /// # Errors
    /// [`StoreError::NoSpace`], [`StoreError::Io`] and the like: then
    /// nothing of the transaction was written.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Checks a key's length (`1..=MAX_KEY_LEN`).
///
/// # Errors
/// [`StoreError::TooLarge`] when out of range.
pub fn check_key(key: &[u8]) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN { Err(StoreError::TooLarge) } else { Ok(()) }
}

/// Checks a value's length (at most [`MAX_VALUE_LEN`]).
///
/// # Errors
/// [`StoreError::TooLarge`] when over.
pub fn check_value(value: &[u8]) -> Result<(), StoreError> {
    if value.len() > MAX_VALUE_LEN { Err(StoreError::TooLarge) } else { Ok(()) }
}

/// The smallest key greater than every key starting with `prefix`, or
/// `None` if there is none (`prefix` empty or all `0xff`): the exclusive
/// upper bound of a prefix range, for backends that scan with `k < end`.
///
/// ```
/// assert_eq!(coffer_store::prefix_end(&[1, 2, 0xff]), Some(vec![1, 3]));
/// assert_eq!(coffer_store::prefix_end(&[0xff]), None);
/// ```
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if let Some(next) = last.checked_add(1) {
            end.push(next);
            return Some(end);
        }
    }
    None
}

/// The key range a [`Transaction::scan`] covers, as backends query it:
/// keys `>= lower` (or `> lower` when `exclusive`) and `< end` (no upper
/// bound when `end` is `None`). Every key in `[prefix, end)` starts with
/// the prefix; when `after` is at or past the prefix it is the tighter
/// lower bound.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) struct ScanRange<'a> {
    pub(crate) lower: &'a [u8],
    pub(crate) exclusive: bool,
    pub(crate) end: Option<Vec<u8>>,
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl<'a> ScanRange<'a> {
    pub(crate) fn new(prefix: &'a [u8], after: Option<&'a [u8]>) -> Self {
        let (lower, exclusive) = match after {
            Some(a) if a >= prefix => (a, true),
            _ => (prefix, false),
        };
        ScanRange { lower, exclusive, end: prefix_end(prefix) }
    }
}
