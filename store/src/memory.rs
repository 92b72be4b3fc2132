//! [`MemoryStore`]: records in a `BTreeMap`, for tests and ephemeral HSMs.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::record::{MAX_SCAN, Row, check_key, check_value};
use crate::{RecordStore, StoreError, Transaction};

/// A store in memory. Nothing survives the value; one transaction at a
/// time (it borrows the store mutably), so the contract holds trivially.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    rows: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// How many records the store holds.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl RecordStore for MemoryStore {
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError> {
        Ok(Box::new(MemoryTransaction { store: self, writes: BTreeMap::new() }))
    }
}

/// Writes are buffered (`None` = delete) and applied at commit.
struct MemoryTransaction<'a> {
    store: &'a mut MemoryStore,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Transaction for MemoryTransaction<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        Ok(match self.writes.get(key) {
            Some(w) => w.clone(),
            None => self.store.rows.get(key).cloned(),
        })
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        check_value(value)?;
        self.writes.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        self.writes.insert(key.to_vec(), None);
        Ok(())
    }

    fn scan(&mut self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Row>, StoreError> {
        if limit > MAX_SCAN {
            return Err(StoreError::TooLarge);
        }
        // Merge the committed rows with this transaction's writes.
        let mut merged: BTreeMap<&[u8], Option<&Vec<u8>>> = BTreeMap::new();
        for (k, v) in self.store.rows.range(prefix.to_vec()..).take_while(|(k, _)| k.starts_with(prefix)) {
            merged.insert(k, Some(v));
        }
        for (k, v) in self.writes.range(prefix.to_vec()..).take_while(|(k, _)| k.starts_with(prefix)) {
            merged.insert(k, v.as_ref());
        }
        Ok(merged
            .into_iter()
            .filter(|(k, _)| after.is_none_or(|a| *k > a))
            .filter_map(|(k, v)| v.map(|v| (k.to_vec(), v.clone())))
            .take(limit)
            .collect())
    }

    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let MemoryTransaction { store, writes } = *self;
        for (k, v) in writes {
            match v {
                Some(v) => store.rows.insert(k, v),
                None => store.rows.remove(&k),
            };
        }
        Ok(())
    }
}
