//! Bounds-checked reading and writing of the envelope's big-endian fields.

use crate::error::{Error, Result};

/// Reads fields from a byte slice; every read is bounds-checked and a short
/// input gives [`Error::Malformed`].
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (head, tail) = self.rest.split_at_checked(n).ok_or(Error::Malformed)?;
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<&'a [u8; N]> {
        self.take(N)?.try_into().map_err(|_| Error::Malformed)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(*self.array::<2>()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(*self.array::<4>()?))
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }
}

/// Where encoded fields go: a caller buffer or a running hash.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]) -> Result<()>;
}

impl Sink for crate::hash::Sha256 {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.update(bytes);
        Ok(())
    }
}

impl Sink for Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        Writer::put(self, bytes)
    }
}

/// Writes fields into a caller buffer; running out of room gives
/// [`Error::BufferTooSmall`] with the size the caller computed up front.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self.pos.checked_add(bytes.len()).ok_or(Error::LimitExceeded)?;
        let dst = self.buf.get_mut(self.pos..end).ok_or(Error::BufferTooSmall { needed: end })?;
        dst.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }
}
