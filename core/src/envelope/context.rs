//! The encryption context: caller-given key/value pairs bound to an
//! envelope (FORMAT.md §1.2).

use heapless::Vec;

use super::wire::{Reader, Sink};
use crate::error::{Error, Result};

/// Most entries an encryption context may hold.
pub const MAX_CONTEXT_ENTRIES: usize = 16;
/// Longest context key in bytes (keys are at least 1 byte).
pub const MAX_CONTEXT_KEY_LEN: usize = 64;
/// Longest context value in bytes.
pub const MAX_CONTEXT_VALUE_LEN: usize = 1024;

/// Key/value pairs such as `tenant=acme`, bound to an envelope as
/// authenticated data. Entries are kept in canonical (ascending bytewise key)
/// order whatever order they are added in, so two contexts with the same
/// pairs are equal. Opening with a context that differs in any way fails.
///
/// Borrowed and bounded, so it works without an allocator.
///
/// ```
/// use coffer_core::envelope::EncryptionContext;
///
/// let mut a = EncryptionContext::new();
/// a.insert(b"tenant", b"acme")?;
/// a.insert(b"purpose", b"backup")?;
/// let mut b = EncryptionContext::new();
/// b.insert(b"purpose", b"backup")?;
/// b.insert(b"tenant", b"acme")?;
/// assert_eq!(a, b);
/// # Ok::<(), coffer_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncryptionContext<'a> {
    entries: Vec<(&'a [u8], &'a [u8]), MAX_CONTEXT_ENTRIES>,
}

impl<'a> EncryptionContext<'a> {
    /// An empty context.
    pub fn new() -> Self {
        EncryptionContext { entries: Vec::new() }
    }

    /// Builds a context from pairs in any order.
    pub fn from_pairs(pairs: &[(&'a [u8], &'a [u8])]) -> Result<Self> {
        let mut ctx = Self::new();
        for (k, v) in pairs {
            ctx.insert(k, v)?;
        }
        Ok(ctx)
    }

    /// Adds a pair.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] for an empty or too-long key, a too-long
    /// value, or too many entries; [`Error::InvalidInput`] for a duplicate key.
    pub fn insert(&mut self, key: &'a [u8], value: &'a [u8]) -> Result<()> {
        if key.is_empty() || key.len() > MAX_CONTEXT_KEY_LEN || value.len() > MAX_CONTEXT_VALUE_LEN {
            return Err(Error::LimitExceeded);
        }
        let at = match self.entries.binary_search_by(|(k, _)| (*k).cmp(key)) {
            Ok(_) => return Err(Error::InvalidInput),
            Err(at) => at,
        };
        self.entries.insert(at, (key, value)).map_err(|_| Error::LimitExceeded)
    }

    /// The entries in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        self.entries.iter().copied()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the context is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value for `key`, if present.
    pub fn get(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// Length of the canonical encoding (count byte and entries).
    pub(crate) fn encoded_len(&self) -> usize {
        // Each entry is at most 1 + 64 + 2 + 1024 bytes and there are at most
        // 16, so this cannot overflow.
        self.entries
            .iter()
            .fold(1usize, |n, (k, v)| n.saturating_add(3).saturating_add(k.len()).saturating_add(v.len()))
    }

    pub(crate) fn write<S: Sink>(&self, w: &mut S) -> Result<()> {
        let count = u8::try_from(self.entries.len()).map_err(|_| Error::LimitExceeded)?;
        w.put(&[count])?;
        for (k, v) in &self.entries {
            let klen = u8::try_from(k.len()).map_err(|_| Error::LimitExceeded)?;
            let vlen = u16::try_from(v.len()).map_err(|_| Error::LimitExceeded)?;
            w.put(&[klen])?;
            w.put(k)?;
            w.put(&vlen.to_be_bytes())?;
            w.put(v)?;
        }
        Ok(())
    }

    /// Parses a canonical encoding (FORMAT.md §1.2), rejecting limit
    /// violations and keys out of strictly ascending order.
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self> {
        let count = usize::from(r.u8()?);
        if count > MAX_CONTEXT_ENTRIES {
            return Err(Error::Malformed);
        }
        let mut ctx = Self::new();
        for _ in 0..count {
            let klen = usize::from(r.u8()?);
            if klen == 0 || klen > MAX_CONTEXT_KEY_LEN {
                return Err(Error::Malformed);
            }
            let key = r.take(klen)?;
            let vlen = usize::from(r.u16()?);
            if vlen > MAX_CONTEXT_VALUE_LEN {
                return Err(Error::Malformed);
            }
            let value = r.take(vlen)?;
            if let Some((prev, _)) = ctx.entries.last()
                && *prev >= key
            {
                return Err(Error::Malformed);
            }
            ctx.entries.push((key, value)).map_err(|_| Error::Malformed)?;
        }
        Ok(ctx)
    }
}
