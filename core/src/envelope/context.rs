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

#[cfg(test)]
#[allow(clippy::expect_used, reason = "a failed step is a test failure, reported by panic")]
mod tests {
    use super::*;
    use alloc::vec::Vec as StdVec;

    /// One entry's bytes (FORMAT.md §1.2): key length, key, value length, value.
    fn entry(key: &[u8], key_len: u8, value_len: u16, value: &[u8]) -> StdVec<u8> {
        let mut out = alloc::vec![key_len];
        out.extend_from_slice(key);
        out.extend_from_slice(&value_len.to_be_bytes());
        out.extend_from_slice(value);
        out
    }

    fn read(bytes: &[u8]) -> Result<EncryptionContext<'_>> {
        EncryptionContext::read(&mut Reader::new(bytes))
    }

    #[test]
    fn the_largest_context_reads_back_entry_for_entry() {
        // 16 entries, each with a 64-byte key and a 1,024-byte value: every
        // limit of FORMAT.md §1.2 reached at once, and none passed.
        let keys: StdVec<[u8; MAX_CONTEXT_KEY_LEN]> =
            (0u8..16).map(|i| [b'a' + i; MAX_CONTEXT_KEY_LEN]).collect();
        let value = [0x5a; MAX_CONTEXT_VALUE_LEN];
        let mut ctx = EncryptionContext::new();
        for k in &keys {
            ctx.insert(k, &value).expect("within every limit");
        }
        let mut buf = alloc::vec![0u8; ctx.encoded_len()];
        let mut w = super::super::wire::Writer::new(&mut buf);
        ctx.write(&mut w).expect("room for exactly encoded_len bytes");
        assert_eq!(w.position(), buf.len());
        let back = read(&buf).expect("the largest context parses");
        assert_eq!(back.len(), MAX_CONTEXT_ENTRIES);
        for ((k, v), key) in back.iter().zip(&keys) {
            assert_eq!(k, key);
            assert_eq!(v, value);
        }
    }

    #[test]
    fn entries_past_a_limit_or_with_an_empty_key_are_malformed() {
        // An entry count of 17, even with 17 well-formed entries behind it.
        let mut seventeen = alloc::vec![17u8];
        for i in 0u8..17 {
            seventeen.extend(entry(&[b'a' + i], 1, 0, &[]));
        }
        assert_eq!(read(&seventeen).err(), Some(Error::Malformed));
        // The same count with only 16 entries behind it, and 16 declared.
        let mut sixteen = alloc::vec![16u8];
        for i in 0u8..16 {
            sixteen.extend(entry(&[b'a' + i], 1, 0, &[]));
        }
        assert_eq!(read(&sixteen).map(|c| c.len()), Ok(16));
        let mut short = alloc::vec![17u8];
        short.extend_from_slice(sixteen.get(1..).expect("a count byte"));
        assert_eq!(read(&short).err(), Some(Error::Malformed));

        // An empty key, otherwise well formed.
        let mut empty_key = alloc::vec![1u8];
        empty_key.extend(entry(&[], 0, 1, b"v"));
        assert_eq!(read(&empty_key).err(), Some(Error::Malformed));

        // Keys of 64 and 65 bytes.
        for (len, ok) in [(MAX_CONTEXT_KEY_LEN, true), (MAX_CONTEXT_KEY_LEN + 1, false)] {
            let key = alloc::vec![b'k'; len];
            let mut bytes = alloc::vec![1u8];
            bytes.extend(entry(&key, u8::try_from(len).expect("below 256"), 1, b"v"));
            let got = read(&bytes);
            assert_eq!(got.is_ok(), ok, "key of {len} bytes: {:?}", got.err());
            if !ok {
                assert_eq!(got.err(), Some(Error::Malformed));
            }
        }

        // Values of 1,024 and 1,025 bytes.
        for (len, ok) in [(MAX_CONTEXT_VALUE_LEN, true), (MAX_CONTEXT_VALUE_LEN + 1, false)] {
            let value = alloc::vec![b'v'; len];
            let mut bytes = alloc::vec![1u8];
            bytes.extend(entry(b"k", 1, u16::try_from(len).expect("below 65,536"), &value));
            let got = read(&bytes);
            assert_eq!(got.as_ref().ok().and_then(|c| c.get(b"k")).map(<[u8]>::len), ok.then_some(len));
            if !ok {
                assert_eq!(got.err(), Some(Error::Malformed));
            }
        }
    }
}
