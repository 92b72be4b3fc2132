//! Envelope encryption, format v1 (`core/FORMAT.md`).
//!
//! Each envelope encrypts one object under a fresh 256-bit data key (DEK)
//! with AES-256-GCM-SIV in chunks, commits to the DEK in the header, binds
//! the caller's [`EncryptionContext`] and wraps the DEK for 1 to 16
//! [`Recipient`]s: symmetric KEKs (AES-256-KW) in memory or in a
//! [`KekHolder`] such as an HSM, RSA public keys (OAEP, feature `rsa`) and
//! P-256 public keys (ECDH-ES).
//!
//! - Without an allocator: [`begin_seal`]/[`begin_open`] with
//!   [`PayloadSealer`]/[`PayloadOpener`] stream chunk by chunk through caller
//!   buffers, and [`seal_into`]/[`open_in_place`] do a whole envelope in one buffer.
//! - With `alloc`: [`seal`], [`open`], [`add_recipient`],
//!   [`remove_recipient`] and [`rewrap`].
//! - With `std`: [`seal_stream`] and [`open_stream`] over `Read`/`Write`.
//!
//! Every failure to open is [`Error::Decrypt`], whatever the cause.
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use coffer_core::envelope::{self, EncryptionContext, Recipient, UnlockKey};
//! use coffer_core::{keywrap::Kek, rng::OsRng};
//!
//! let kek = Kek::generate(&mut OsRng)?;
//! let mut ctx = EncryptionContext::new();
//! ctx.insert(b"tenant", b"acme")?;
//! let to = [Recipient::Kek { key_id: b"acme-kek", version: 1, kek: &kek }];
//! let env = envelope::seal(&mut OsRng, &to, &ctx, b"quarterly numbers")?;
//!
//! let key = UnlockKey::Kek { key_id: b"acme-kek", version: 1, kek: &kek };
//! let pt = envelope::open(&mut OsRng, &[key], &ctx, &env)?;
//! assert_eq!(&pt[..], b"quarterly numbers");
//!
//! // Another tenant's context does not open it.
//! let mut other = EncryptionContext::new();
//! other.insert(b"tenant", b"globex")?;
//! assert!(envelope::open(&mut OsRng, &[key], &other, &env).is_err());
//! # }
//! # Ok::<(), coffer_core::Error>(())
//! ```

mod context;
mod header;
mod holder;
#[cfg(feature = "std")]
mod io;
#[cfg(feature = "alloc")]
mod ops;
mod payload;
mod recipient;
#[cfg(feature = "std")]
mod scratch;
mod wire;

pub use context::{EncryptionContext, MAX_CONTEXT_ENTRIES, MAX_CONTEXT_KEY_LEN, MAX_CONTEXT_VALUE_LEN};
pub use header::{
    DEFAULT_CHUNK_SIZE, HeaderRef, Limits, MAGIC, MAX_CHUNK_SIZE, MAX_HEADER_LEN, MIN_CHUNK_SIZE, PREFIX_LEN,
    VERSION, header_len,
};
pub use holder::KekHolder;
#[cfg(feature = "std")]
pub use io::{StreamError, open_stream, seal_stream};
#[cfg(feature = "alloc")]
pub use ops::{add_recipient, open, open_with_limits, remove_recipient, rewrap, seal, seal_with_chunk_size};
pub use payload::{PayloadOpener, PayloadSealer};
pub use recipient::{
    DEK_LEN, MAX_KEY_ID_LEN, MAX_RECIPIENTS, Recipient, RecipientKind, RecipientRecord, UnlockKey,
};
#[cfg(feature = "std")]
pub use scratch::{ScratchFile, open_stream_to_scratch};

use header::{HeaderFields, write_header_start};
use payload::KeySchedule;
use recipient::{Dek, MAX_BODY_LEN};
use wire::Writer;

use crate::aead::TAG_LEN;
use crate::error::{Error, Result};
use crate::rng::TryCryptoRng;

/// Number of chunks a payload of `len` bytes takes (at least one).
fn chunk_count(len: usize, chunk_size: usize) -> usize {
    if chunk_size == 0 { 1 } else { len.div_ceil(chunk_size).max(1) }
}

/// Header length for `recipients` and `context`.
fn header_len_for(recipients: &[Recipient<'_>], context: &EncryptionContext<'_>, chunk_size: u32) -> usize {
    let zero = [0u8; 32];
    let fields = HeaderFields { chunk_size, salt: &zero, commitment: &zero, context };
    fields.header_len(recipients.iter().map(Recipient::record_len))
}

/// Total envelope length for a payload of `plaintext_len` bytes.
///
/// # Errors
/// [`Error::LimitExceeded`] for more than [`MAX_RECIPIENTS`] recipients, a
/// header longer than [`MAX_HEADER_LEN`], or an envelope longer than
/// `usize` (so a buffer is never sized for an envelope that cannot be
/// sealed).
pub fn sealed_len(
    recipients: &[Recipient<'_>],
    context: &EncryptionContext<'_>,
    plaintext_len: usize,
    chunk_size: u32,
) -> Result<usize> {
    if recipients.len() > MAX_RECIPIENTS {
        return Err(Error::LimitExceeded);
    }
    let header = header_len_for(recipients, context, chunk_size);
    if header > MAX_HEADER_LEN {
        return Err(Error::LimitExceeded);
    }
    let chunk = usize::try_from(chunk_size).map_err(|_| Error::LimitExceeded)?;
    let tags = chunk_count(plaintext_len, chunk).checked_mul(TAG_LEN).ok_or(Error::LimitExceeded)?;
    header.checked_add(plaintext_len).and_then(|n| n.checked_add(tags)).ok_or(Error::LimitExceeded)
}

/// Starts an envelope: draws a DEK and salt, wraps the DEK for every
/// recipient and writes the header into `header_out`. Returns the sealer
/// for the payload and the header length.
///
/// # Errors
/// [`Error::LimitExceeded`] for 0 or more than 16 recipients, a bad chunk
/// size or a key id of the wrong length; [`Error::BufferTooSmall`] if
/// `header_out` is short; [`Error::InvalidInput`] for a KEK that is not AES-256.
pub fn begin_seal<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    recipients: &[Recipient<'_>],
    context: &EncryptionContext<'_>,
    chunk_size: u32,
    header_out: &mut [u8],
) -> Result<(PayloadSealer, usize)> {
    let (dek, salt) = Dek::generate_with_salt(rng)?;
    let ks = KeySchedule::derive(&dek, &salt)?;
    let commitment = ks.commitment;
    let fields = HeaderFields { chunk_size, salt: &salt, commitment: &commitment, context };
    let len = header_len_for(recipients, context, chunk_size);
    let out = header_out.get_mut(..len).ok_or(Error::BufferTooSmall { needed: len })?;
    let mut w = Writer::new(out);
    write_header_start(&mut w, len, recipients.len(), |w| fields.write_bound(w))?;
    let mut body = [0u8; MAX_BODY_LEN];
    for r in recipients {
        r.wrap(rng, &dek, &mut body)?.write(&mut w)?;
    }
    if w.position() != len {
        return Err(Error::Internal);
    }
    let sealer = PayloadSealer::new(ks, fields.aad()?, chunk_size)?;
    Ok((sealer, len))
}

/// Reads an envelope header from the start of `bytes`, checks the context,
/// finds a recipient one of `keys` can unwrap and checks the key
/// commitment. Returns the payload opener and the header length (where
/// the payload starts).
///
/// `rng` blinds RSA private-key operations; other keys do not use it.
/// Every failure is [`Error::Decrypt`].
pub fn begin_open<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    keys: &[UnlockKey<'_>],
    context: &EncryptionContext<'_>,
    bytes: &[u8],
    limits: &Limits,
) -> Result<(PayloadOpener, usize)> {
    let h = HeaderRef::parse_with_limits(bytes, limits).map_err(|_| Error::Decrypt)?;
    if h.context() != context {
        return Err(Error::Decrypt);
    }
    for key in keys {
        for rec in h.recipients().filter(|r| key.matches(r)) {
            let Ok(dek) = key.unwrap(rng, &rec) else { continue };
            if let Ok(ks) = KeySchedule::derive_checked(&dek, h.salt(), h.commitment()) {
                let opener = PayloadOpener::new(ks, h.aad(), h.chunk_size())?;
                return Ok((opener, h.as_bytes().len()));
            }
        }
    }
    Err(Error::Decrypt)
}

/// Seals `plaintext` for `recipients` into `out` without allocating;
/// returns the envelope length ([`sealed_len`] tells it up front).
pub fn seal_into<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    recipients: &[Recipient<'_>],
    context: &EncryptionContext<'_>,
    plaintext: &[u8],
    chunk_size: u32,
    out: &mut [u8],
) -> Result<usize> {
    let needed = sealed_len(recipients, context, plaintext.len(), chunk_size)?;
    let out = out.get_mut(..needed).ok_or(Error::BufferTooSmall { needed })?;
    let (mut sealer, mut pos) = begin_seal(rng, recipients, context, chunk_size, out)?;
    let chunk = sealer.chunk_size();
    let count = chunk_count(plaintext.len(), chunk);
    let mut chunks = plaintext.chunks(chunk.max(1));
    for i in 1..=count {
        let pt = chunks.next().unwrap_or(&[]);
        let end = pos.checked_add(pt.len()).ok_or(Error::LimitExceeded)?;
        out.get_mut(pos..end).ok_or(Error::Internal)?.copy_from_slice(pt);
        let slot = out.get_mut(pos..).ok_or(Error::Internal)?;
        let n = sealer.seal_chunk(slot, pt.len(), i == count)?;
        pos = pos.checked_add(n).ok_or(Error::LimitExceeded)?;
    }
    if pos != needed {
        return Err(Error::Internal);
    }
    Ok(needed)
}

/// Opens a whole envelope in place without allocating; the plaintext ends
/// up at the start of `buf` and is returned as a slice of it.
///
/// On any failure the error is [`Error::Decrypt`] and all of `buf` is
/// zeroed, so no plaintext of an authenticated chunk is left behind.
pub fn open_in_place<'b, R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    keys: &[UnlockKey<'_>],
    context: &EncryptionContext<'_>,
    buf: &'b mut [u8],
    limits: &Limits,
) -> Result<&'b mut [u8]> {
    match open_in_place_inner(rng, keys, context, buf, limits) {
        Ok(n) => buf.get_mut(..n).ok_or(Error::Decrypt),
        Err(_) => {
            zeroize::Zeroize::zeroize(buf);
            Err(Error::Decrypt)
        }
    }
}

fn open_in_place_inner<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    keys: &[UnlockKey<'_>],
    context: &EncryptionContext<'_>,
    buf: &mut [u8],
    limits: &Limits,
) -> Result<usize> {
    let (mut opener, mut read) = begin_open(rng, keys, context, buf, limits)?;
    let sealed_chunk = opener.sealed_chunk_size();
    let mut written = 0usize;
    loop {
        let remaining = buf.len().checked_sub(read).ok_or(Error::Decrypt)?;
        let last = remaining <= sealed_chunk;
        let n = remaining.min(sealed_chunk);
        let end = read.checked_add(n).ok_or(Error::Decrypt)?;
        let pt_len = opener.open_chunk(buf.get_mut(read..end).ok_or(Error::Decrypt)?, last)?.len();
        buf.copy_within(read..read.checked_add(pt_len).ok_or(Error::Decrypt)?, written);
        written = written.checked_add(pt_len).ok_or(Error::Decrypt)?;
        read = end;
        if last {
            break;
        }
    }
    opener.finish()?;
    Ok(written)
}
