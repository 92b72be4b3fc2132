//! Envelope header: parsing and writing (FORMAT.md §1).

use super::context::EncryptionContext;
use super::recipient::{MAX_RECIPIENTS, RecipientRecord};
use super::wire::{Reader, Sink, Writer};
use crate::error::{Error, Result};
use crate::hash::Sha256;

/// The magic bytes `CFRE` (FORMAT.md §1.1).
pub const MAGIC: [u8; 4] = *b"CFRE";
/// Format version written and read.
pub const VERSION: u8 = 1;
/// Suite `01`: AES-256-GCM-SIV payload with HKDF-SHA-256 key schedule.
pub const SUITE: u8 = 1;
/// Length of the fixed prefix (magic, version, suite, header_len).
pub const PREFIX_LEN: usize = 10;
/// Largest header accepted or written.
pub const MAX_HEADER_LEN: usize = 65536;
/// Smallest chunk size.
pub const MIN_CHUNK_SIZE: u32 = 256;
/// Largest chunk size.
pub const MAX_CHUNK_SIZE: u32 = 1 << 20;
/// Default chunk size (64 KiB).
pub const DEFAULT_CHUNK_SIZE: u32 = 1 << 16;
/// Salt and commitment length.
pub const SALT_LEN: usize = 32;
/// Key commitment length.
pub const COMMITMENT_LEN: usize = 32;

/// Limits a reader enforces; never above the format's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most recipients accepted (at most 255).
    pub max_recipients: usize,
    /// Largest header accepted (at most [`MAX_HEADER_LEN`]).
    pub max_header_len: usize,
}

impl Limits {
    /// The format's defaults: 16 recipients, 64 KiB header.
    pub const DEFAULT: Limits = Limits { max_recipients: MAX_RECIPIENTS, max_header_len: MAX_HEADER_LEN };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// A parsed header, borrowing the bytes it was parsed from.
///
/// ```
/// # #[cfg(feature = "std")] {
/// # use coffer_core::envelope::{self, EncryptionContext, Recipient, HeaderRef};
/// # use coffer_core::{keywrap::Kek, rng::OsRng};
/// # let kek = Kek::generate(&mut OsRng)?;
/// # let to = [Recipient::Kek { key_id: b"kek-1", version: 1, kek: &kek }];
/// # let env = envelope::seal(&mut OsRng, &to, &EncryptionContext::new(), b"x")?;
/// let header = HeaderRef::parse(&env)?;
/// assert_eq!(header.chunk_size(), 65536);
/// assert_eq!(header.recipients().count(), 1);
/// # }
/// # Ok::<(), coffer_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct HeaderRef<'a> {
    header: &'a [u8],
    bound: &'a [u8],
    chunk_size: u32,
    salt: &'a [u8; SALT_LEN],
    commitment: &'a [u8; COMMITMENT_LEN],
    context: EncryptionContext<'a>,
    recipients: &'a [u8],
    recipient_count: usize,
}

/// Reads `header_len` from the first [`PREFIX_LEN`] bytes of an envelope,
/// after checking magic, version and suite; a streaming reader uses it to
/// know how many bytes of header to read.
pub fn header_len(prefix: &[u8]) -> Result<usize> {
    let mut r = Reader::new(prefix);
    if *r.array::<4>()? != MAGIC || r.u8()? != VERSION || r.u8()? != SUITE {
        return Err(Error::Malformed);
    }
    let len = usize::try_from(r.u32()?).map_err(|_| Error::Malformed)?;
    if !(PREFIX_LEN..=MAX_HEADER_LEN).contains(&len) {
        return Err(Error::Malformed);
    }
    Ok(len)
}

impl<'a> HeaderRef<'a> {
    /// Parses the header at the start of `bytes` under [`Limits::DEFAULT`].
    /// Bytes after the header (the payload) are ignored.
    ///
    /// # Errors
    /// [`Error::Malformed`] for anything that breaks FORMAT.md §1.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        Self::parse_with_limits(bytes, &Limits::DEFAULT)
    }

    /// Parses under caller-chosen `limits` (which can only tighten the format's).
    pub fn parse_with_limits(bytes: &'a [u8], limits: &Limits) -> Result<Self> {
        let len = header_len(bytes)?;
        if len > limits.max_header_len.min(MAX_HEADER_LEN) {
            return Err(Error::Malformed);
        }
        let header = bytes.get(..len).ok_or(Error::Malformed)?;
        let body = header.get(PREFIX_LEN..).ok_or(Error::Malformed)?;
        let mut r = Reader::new(body);
        let chunk_size = r.u32()?;
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(Error::Malformed);
        }
        let salt = r.array::<SALT_LEN>()?;
        let commitment = r.array::<COMMITMENT_LEN>()?;
        let context = EncryptionContext::read(&mut r)?;
        let bound_len = body.len().checked_sub(r.remaining()).ok_or(Error::Malformed)?;
        let bound = body.get(..bound_len).ok_or(Error::Malformed)?;
        let recipient_count = usize::from(r.u8()?);
        if recipient_count == 0 || recipient_count > limits.max_recipients.min(255) {
            return Err(Error::Malformed);
        }
        let recipients_start = body.len().checked_sub(r.remaining()).ok_or(Error::Malformed)?;
        for _ in 0..recipient_count {
            RecipientRecord::read(&mut r)?;
        }
        if r.remaining() != 0 {
            return Err(Error::Malformed);
        }
        let recipients = body.get(recipients_start..).ok_or(Error::Malformed)?;
        Ok(HeaderRef { header, bound, chunk_size, salt, commitment, context, recipients, recipient_count })
    }

    /// The header's bytes (its length is where the payload starts).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.header
    }

    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// The encryption context stored in the header.
    pub fn context(&self) -> &EncryptionContext<'a> {
        &self.context
    }

    /// The recipients, in header order.
    pub fn recipients(&self) -> impl Iterator<Item = RecipientRecord<'a>> + 'a {
        let mut r = Reader::new(self.recipients);
        (0..self.recipient_count).map_while(move |_| RecipientRecord::read(&mut r).ok())
    }

    /// Number of recipients.
    pub fn recipient_count(&self) -> usize {
        self.recipient_count
    }

    #[cfg(feature = "alloc")]
    pub(crate) fn bound(&self) -> &'a [u8] {
        self.bound
    }

    pub(crate) fn salt(&self) -> &'a [u8; SALT_LEN] {
        self.salt
    }

    pub(crate) fn commitment(&self) -> &'a [u8; COMMITMENT_LEN] {
        self.commitment
    }

    /// The payload AAD: `SHA-256(magic || version || suite || bound)` (FORMAT.md §3.2).
    pub(crate) fn aad(&self) -> [u8; 32] {
        aad_digest(self.bound)
    }
}

pub(crate) fn aad_digest(bound: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(&MAGIC);
    h.update(&[VERSION, SUITE]);
    h.update(bound);
    h.finalize()
}

/// Everything needed to write a header.
pub(crate) struct HeaderFields<'a, 'c> {
    pub chunk_size: u32,
    pub salt: &'a [u8; SALT_LEN],
    pub commitment: &'a [u8; COMMITMENT_LEN],
    pub context: &'a EncryptionContext<'c>,
}

impl HeaderFields<'_, '_> {
    fn bound_len(&self) -> usize {
        4usize
            .saturating_add(SALT_LEN)
            .saturating_add(COMMITMENT_LEN)
            .saturating_add(self.context.encoded_len())
    }

    /// Total header length for these fields and recipient records of the
    /// given lengths.
    pub(crate) fn header_len(&self, record_lens: impl Iterator<Item = usize>) -> usize {
        record_lens.fold(PREFIX_LEN.saturating_add(self.bound_len()).saturating_add(1), usize::saturating_add)
    }

    /// Writes the bound section into `w`.
    pub(crate) fn write_bound<S: Sink>(&self, w: &mut S) -> Result<()> {
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&self.chunk_size) {
            return Err(Error::LimitExceeded);
        }
        w.put(&self.chunk_size.to_be_bytes())?;
        w.put(self.salt)?;
        w.put(self.commitment)?;
        self.context.write(w)
    }

    /// The AAD these fields give (FORMAT.md §3.2), hashed as the bound
    /// section is written, without buffering it.
    pub(crate) fn aad(&self) -> Result<[u8; 32]> {
        let mut h = Sha256::new();
        h.update(&MAGIC);
        h.update(&[VERSION, SUITE]);
        self.write_bound(&mut h)?;
        Ok(h.finalize())
    }
}

/// Checks the header length and recipient count, then writes the prefix,
/// the `bound` section (by `write_bound`) and the recipient count; the
/// caller writes the records and checks the final position.
pub(crate) fn write_header_start(
    w: &mut Writer<'_>,
    header_len: usize,
    recipient_count: usize,
    write_bound: impl FnOnce(&mut Writer<'_>) -> Result<()>,
) -> Result<()> {
    if recipient_count == 0 || recipient_count > MAX_RECIPIENTS {
        return Err(Error::LimitExceeded);
    }
    if header_len > MAX_HEADER_LEN {
        return Err(Error::LimitExceeded);
    }
    let len32 = u32::try_from(header_len).map_err(|_| Error::LimitExceeded)?;
    let count = u8::try_from(recipient_count).map_err(|_| Error::LimitExceeded)?;
    w.put(&MAGIC)?;
    w.put(&[VERSION, SUITE])?;
    w.put(&len32.to_be_bytes())?;
    write_bound(w)?;
    w.put(&[count])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writer's own bounds at their edges. Headers never reach
    /// `MAX_HEADER_LEN` through `seal` (16 recipients and the largest
    /// context stay far below it), so the length check is tested alone.
    #[test]
    fn the_header_writer_admits_exactly_the_maximum_length_and_count() {
        let mut buf = [0u8; 16];
        let start = |buf: &mut [u8], len: usize, count: usize| {
            write_header_start(&mut Writer::new(buf), len, count, |_| Ok(()))
        };
        assert_eq!(start(&mut buf, MAX_HEADER_LEN, MAX_RECIPIENTS), Ok(()));
        assert_eq!(start(&mut buf, MAX_HEADER_LEN + 1, 1), Err(Error::LimitExceeded));
        assert_eq!(start(&mut buf, 100, MAX_RECIPIENTS + 1), Err(Error::LimitExceeded));
        assert_eq!(start(&mut buf, 100, 0), Err(Error::LimitExceeded));
        assert_eq!(&buf[..4], &MAGIC);
        assert_eq!(MAX_HEADER_LEN, 0x1_0000);
        assert_eq!(&buf[6..10], &[0, 1, 0, 0]);
        assert_eq!(buf[10], 16);
    }
}
