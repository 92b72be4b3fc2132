//! One strict reader for the crate's binary encodings (keystore header,
//! state, audit log): every read is bounds-checked and running out of
//! input or an out-of-range value is [`Error::KeystoreCorrupt`].

#[cfg(feature = "alloc")]
use alloc::string::String;

use crate::error::{Error, Result};

pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n).ok_or(Error::KeystoreCorrupt)?;
        self.0 = rest;
        Ok(head)
    }

    pub(crate) fn arr<const N: usize>(&mut self) -> Result<[u8; N]> {
        let (field, rest) = self.0.split_first_chunk::<N>().ok_or(Error::KeystoreCorrupt)?;
        self.0 = rest;
        Ok(*field)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        self.arr().map(u8::from_be_bytes)
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        self.arr().map(u16::from_be_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        self.arr().map(u32::from_be_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        self.arr().map(u64::from_be_bytes)
    }

    pub(crate) fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::KeystoreCorrupt),
        }
    }

    /// A `len (1) || UTF-8` string of `min..=max` bytes.
    #[cfg(feature = "alloc")]
    pub(crate) fn str(&mut self, min: usize, max: usize) -> Result<String> {
        self.str_ref(min, max).map(String::from)
    }

    /// A `len (1) || UTF-8` string of `min..=max` bytes, borrowed.
    pub(crate) fn str_ref(&mut self, min: usize, max: usize) -> Result<&'a str> {
        let len = usize::from(self.u8()?);
        if len < min || len > max {
            return Err(Error::KeystoreCorrupt);
        }
        core::str::from_utf8(self.take(len)?).map_err(|_| Error::KeystoreCorrupt)
    }

    /// A `len (2) || UTF-8` string of at most `max` bytes.
    #[cfg(feature = "alloc")]
    pub(crate) fn text16(&mut self, max: usize) -> Result<String> {
        let len = usize::from(self.u16()?);
        if len > max {
            return Err(Error::KeystoreCorrupt);
        }
        core::str::from_utf8(self.take(len)?).map(String::from).map_err(|_| Error::KeystoreCorrupt)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
