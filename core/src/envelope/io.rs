//! Streaming seal and open over `std::io` (feature `std`). Memory use is
//! one chunk, whatever the payload size.

use std::io::{self, Read, Write};
use std::vec;

use crate::SecretBytes;

use super::header::{Limits, PREFIX_LEN, header_len};
use super::{EncryptionContext, Recipient, UnlockKey, begin_open, begin_seal, header_len_for};
use crate::aead::TAG_LEN;
use crate::error::Error;
use crate::rng::TryCryptoRng;

/// A streaming failure: the envelope (including every decryption failure)
/// or the underlying reader/writer.
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamError {
    /// The envelope could not be sealed or opened.
    Envelope(Error),
    /// Reading input or writing output failed.
    Io(io::Error),
}

impl core::fmt::Display for StreamError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StreamError::Envelope(e) => e.fmt(f),
            StreamError::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StreamError::Envelope(e) => Some(e),
            StreamError::Io(e) => Some(e),
        }
    }
}

impl From<Error> for StreamError {
    fn from(e: Error) -> Self {
        StreamError::Envelope(e)
    }
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        StreamError::Io(e)
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<I: Read>(input: &mut I, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..) {
        if rest.is_empty() {
            break;
        }
        match input.read(rest) {
            Ok(0) => break,
            Ok(m) => n = n.saturating_add(m),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Fills `buf[start..limit]` from `input`, then peeks one byte to learn
/// whether the input ends here. Returns (bytes in `buf`, is last).
fn read_chunk<I: Read>(
    input: &mut I,
    buf: &mut [u8],
    limit: usize,
    carry: &mut Option<u8>,
) -> io::Result<(usize, bool)> {
    let mut n = 0;
    if let (Some(b), Some(first)) = (*carry, buf.first_mut()) {
        *first = b;
        n = 1;
        *carry = None;
    }
    let dst = buf.get_mut(n..limit).ok_or_else(|| io::Error::other("chunk buffer too small"))?;
    n = n.saturating_add(read_full(input, dst)?);
    if n < limit {
        return Ok((n, true));
    }
    let mut one = [0u8; 1];
    if read_full(input, &mut one)? == 0 {
        Ok((n, true))
    } else {
        *carry = Some(one[0]);
        Ok((n, false))
    }
}

/// Seals everything `input` yields into `output` as one envelope; returns
/// the plaintext length.
pub fn seal_stream<R: TryCryptoRng + ?Sized, I: Read, O: Write>(
    rng: &mut R,
    recipients: &[Recipient<'_>],
    context: &EncryptionContext<'_>,
    chunk_size: u32,
    mut input: I,
    mut output: O,
) -> Result<u64, StreamError> {
    let mut header = vec![0u8; header_len_for(recipients, context, chunk_size)];
    let (mut sealer, hl) = begin_seal(rng, recipients, context, chunk_size, &mut header)?;
    output.write_all(header.get(..hl).ok_or(Error::Internal)?)?;
    let chunk = sealer.chunk_size();
    let mut buf = SecretBytes::from(vec![0u8; chunk.saturating_add(TAG_LEN)]);
    let mut carry = None;
    let mut total = 0u64;
    loop {
        let (n, last) = read_chunk(&mut input, &mut buf, chunk, &mut carry)?;
        let sealed = sealer.seal_chunk(&mut buf, n, last)?;
        output.write_all(buf.get(..sealed).ok_or(Error::Internal)?)?;
        total = total.saturating_add(n as u64);
        if last {
            break;
        }
    }
    output.flush()?;
    Ok(total)
}

/// Opens an envelope from `input` into `output`; returns the plaintext length.
///
/// Each chunk is written only after it authenticated, but a stream that
/// fails part-way has already written its earlier chunks: treat `output` as
/// untrusted until this returns `Ok` (write to a temporary file and rename
/// it on success). A truncated or extended stream fails with
/// [`Error::Decrypt`].
pub fn open_stream<R: TryCryptoRng + ?Sized, I: Read, O: Write>(
    rng: &mut R,
    keys: &[UnlockKey<'_>],
    context: &EncryptionContext<'_>,
    limits: &Limits,
    mut input: I,
    mut output: O,
) -> Result<u64, StreamError> {
    let decrypt = StreamError::Envelope(Error::Decrypt);
    let mut prefix = [0u8; PREFIX_LEN];
    if read_full(&mut input, &mut prefix)? != PREFIX_LEN {
        return Err(decrypt);
    }
    let hl = header_len(&prefix).map_err(|_| Error::Decrypt)?;
    if hl > limits.max_header_len {
        return Err(decrypt);
    }
    let mut header = vec![0u8; hl];
    let (head, rest) = header.split_at_mut(PREFIX_LEN);
    head.copy_from_slice(&prefix);
    if read_full(&mut input, rest)? != rest.len() {
        return Err(decrypt);
    }
    let (mut opener, _) = begin_open(rng, keys, context, &header, limits)?;
    let sealed_chunk = opener.sealed_chunk_size();
    let mut buf = SecretBytes::from(vec![0u8; sealed_chunk]);
    let mut carry = None;
    let mut total = 0u64;
    loop {
        let (n, last) = read_chunk(&mut input, &mut buf, sealed_chunk, &mut carry)?;
        let pt = opener.open_chunk(buf.get_mut(..n).ok_or(Error::Decrypt)?, last)?;
        output.write_all(pt)?;
        total = total.saturating_add(pt.len() as u64);
        if last {
            break;
        }
    }
    opener.finish()?;
    output.flush()?;
    Ok(total)
}
