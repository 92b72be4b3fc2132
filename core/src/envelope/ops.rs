//! Whole-envelope operations with an allocator: seal, open, and header
//! changes that leave the payload untouched (add/remove recipient, rewrap).

use crate::SecretBytes;
use alloc::vec;
use alloc::vec::Vec;

use super::header::{DEFAULT_CHUNK_SIZE, HeaderRef, Limits, PREFIX_LEN, write_header_start};
use super::payload::{KeySchedule, PayloadOpener};
use super::recipient::{Dek, MAX_BODY_LEN, Recipient, RecipientKind, RecipientRecord, UnlockKey};
use super::wire::Writer;
use super::{EncryptionContext, begin_open, seal_into, sealed_len};
use crate::aead::TAG_LEN;
use crate::error::{Error, Result};
use crate::rng::TryCryptoRng;

/// Seals `plaintext` for `recipients` with the default 64 KiB chunks.
pub fn seal<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    recipients: &[Recipient<'_>],
    context: &EncryptionContext<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    seal_with_chunk_size(rng, recipients, context, plaintext, DEFAULT_CHUNK_SIZE)
}

/// Seals with a chosen chunk size (256 ..= 1 MiB).
pub fn seal_with_chunk_size<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    recipients: &[Recipient<'_>],
    context: &EncryptionContext<'_>,
    plaintext: &[u8],
    chunk_size: u32,
) -> Result<Vec<u8>> {
    let mut out = vec![0u8; sealed_len(recipients, context, plaintext.len(), chunk_size)?];
    let n = seal_into(rng, recipients, context, plaintext, chunk_size, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// Opens `envelope` with any one of `keys`. Every failure is [`Error::Decrypt`].
pub fn open<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    keys: &[UnlockKey<'_>],
    context: &EncryptionContext<'_>,
    envelope: &[u8],
) -> Result<SecretBytes> {
    open_with_limits(rng, keys, context, envelope, &Limits::DEFAULT)
}

/// [`open`] under caller-chosen limits.
pub fn open_with_limits<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    keys: &[UnlockKey<'_>],
    context: &EncryptionContext<'_>,
    envelope: &[u8],
    limits: &Limits,
) -> Result<SecretBytes> {
    let (opener, header_len) = begin_open(rng, keys, context, envelope, limits)?;
    let payload = envelope.get(header_len..).ok_or(Error::Decrypt)?;
    open_payload(opener, payload).map_err(|_| Error::Decrypt)
}

/// Opens the chunks of `payload`: each chunk's ciphertext is copied to its
/// place in the output and decrypted there (one pass over the payload
/// besides the AEAD's own, as sealing has); the output is zeroized if any
/// check fails.
fn open_payload(mut opener: PayloadOpener, payload: &[u8]) -> Result<SecretBytes> {
    let sealed_chunk = opener.sealed_chunk_size();
    // Filled chunk by chunk (no zero-fill first: that would be one more pass).
    let mut out = Vec::with_capacity(payload.len());
    let mut read = 0usize;
    let opened = loop {
        let Some(rest) = payload.get(read..) else { break Err(Error::Decrypt) };
        let last = rest.len() <= sealed_chunk;
        let Some((ct, tag)) =
            rest.get(..rest.len().min(sealed_chunk)).and_then(|s| s.split_last_chunk::<TAG_LEN>())
        else {
            break Err(Error::Decrypt);
        };
        let start = out.len();
        out.extend_from_slice(ct);
        let Some(slot) = out.get_mut(start..) else { break Err(Error::Decrypt) };
        if let Err(e) = opener.open_detached(slot, tag, last) {
            break Err(e);
        }
        read = read.saturating_add(ct.len()).saturating_add(TAG_LEN);
        if last {
            break opener.finish();
        }
    };
    // From here the buffer is wiped when dropped, on success or failure.
    let out = SecretBytes::from(out);
    opened.map(|()| out)
}

/// Unwraps the DEK with `key` and checks it against the commitment.
fn unlock<R: TryCryptoRng + ?Sized>(rng: &mut R, h: &HeaderRef<'_>, key: &UnlockKey<'_>) -> Result<Dek> {
    for rec in h.recipients().filter(|r| key.matches(r)) {
        let Ok(dek) = key.unwrap(rng, &rec) else { continue };
        if KeySchedule::derive_checked(&dek, h.salt(), h.commitment()).is_ok() {
            return Ok(dek);
        }
    }
    Err(Error::Decrypt)
}

fn same_ident(rec: &RecipientRecord<'_>, ident: (RecipientKind, &[u8], u32)) -> bool {
    rec.kind == ident.0 && rec.key_id == ident.1 && rec.key_version == ident.2
}

/// A new envelope with `h`'s bound section, `records` and the old payload.
fn rebuild(h: &HeaderRef<'_>, records: &[RecipientRecord<'_>], payload: &[u8]) -> Result<Vec<u8>> {
    let len = records.iter().fold(PREFIX_LEN.saturating_add(h.bound().len()).saturating_add(1), |n, r| {
        n.saturating_add(r.encoded_len())
    });
    let total = len.checked_add(payload.len()).ok_or(Error::LimitExceeded)?;
    let mut out = vec![0u8; total];
    let (head, tail) = out.split_at_mut(len);
    let mut w = Writer::new(head);
    write_header_start(&mut w, len, records.len(), |w| w.put(h.bound()))?;
    for r in records {
        r.write(&mut w)?;
    }
    if w.position() != len {
        return Err(Error::Internal);
    }
    tail.copy_from_slice(payload);
    Ok(out)
}

fn split(envelope: &[u8]) -> Result<(HeaderRef<'_>, &[u8])> {
    let h = HeaderRef::parse(envelope)?;
    let payload = envelope.get(h.as_bytes().len()..).ok_or(Error::Malformed)?;
    Ok((h, payload))
}

/// Adds `new` as a recipient, unlocking the DEK with `key`. Only the header
/// changes; the payload bytes are copied unchanged.
///
/// # Errors
/// [`Error::Decrypt`] if `key` does not open the envelope;
/// [`Error::InvalidInput`] if `new` is already a recipient (same kind, id,
/// version); [`Error::LimitExceeded`] past 16 recipients;
/// [`Error::Malformed`] if `envelope` has no valid header.
pub fn add_recipient<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    envelope: &[u8],
    key: &UnlockKey<'_>,
    new: &Recipient<'_>,
) -> Result<Vec<u8>> {
    let (h, payload) = split(envelope)?;
    if h.recipients().any(|r| same_ident(&r, new.ident())) {
        return Err(Error::InvalidInput);
    }
    let dek = unlock(rng, &h, key)?;
    let mut body = [0u8; MAX_BODY_LEN];
    let mut records: Vec<RecipientRecord<'_>> = h.recipients().collect();
    records.push(new.wrap(rng, &dek, &mut body)?);
    rebuild(&h, &records, payload)
}

/// Removes the recipient with this kind, key id and version. No key is
/// needed. The last recipient cannot be removed.
///
/// # Errors
/// [`Error::InvalidInput`] if no such recipient exists or it is the only one.
pub fn remove_recipient(
    envelope: &[u8],
    kind: RecipientKind,
    key_id: &[u8],
    version: u32,
) -> Result<Vec<u8>> {
    let (h, payload) = split(envelope)?;
    let records: Vec<RecipientRecord<'_>> =
        h.recipients().filter(|r| !same_ident(r, (kind, key_id, version))).collect();
    if records.len() == h.recipient_count() || records.is_empty() {
        return Err(Error::InvalidInput);
    }
    rebuild(&h, &records, payload)
}

/// Rewraps: unlocks the DEK with `old` and replaces the recipient(s) `old`
/// matches with `new` (typically the next version of the same KEK). The
/// payload is not decrypted or rewritten; only the header changes.
///
/// ```
/// use coffer_core::envelope::{self, EncryptionContext, Recipient, UnlockKey};
/// use coffer_core::{keywrap::Kek, rng::OsRng};
///
/// let (v1, v2) = (Kek::generate(&mut OsRng)?, Kek::generate(&mut OsRng)?);
/// let ctx = EncryptionContext::new();
/// let env = envelope::seal(&mut OsRng, &[Recipient::Kek { key_id: b"k", version: 1, kek: &v1 }], &ctx, b"data")?;
/// let old = UnlockKey::Kek { key_id: b"k", version: 1, kek: &v1 };
/// let rewrapped = envelope::rewrap(&mut OsRng, &env, &old, &Recipient::Kek { key_id: b"k", version: 2, kek: &v2 })?;
/// let new = UnlockKey::Kek { key_id: b"k", version: 2, kek: &v2 };
/// assert_eq!(&envelope::open(&mut OsRng, &[new], &ctx, &rewrapped)?[..], b"data");
/// assert!(envelope::open(&mut OsRng, &[old], &ctx, &rewrapped).is_err());
/// # Ok::<(), coffer_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::Decrypt`] if `old` does not open the envelope;
/// [`Error::InvalidInput`] if `new` is already another recipient.
pub fn rewrap<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    envelope: &[u8],
    old: &UnlockKey<'_>,
    new: &Recipient<'_>,
) -> Result<Vec<u8>> {
    let (h, payload) = split(envelope)?;
    if h.recipients().any(|r| !old.matches(&r) && same_ident(&r, new.ident())) {
        return Err(Error::InvalidInput);
    }
    let dek = unlock(rng, &h, old)?;
    let mut body = [0u8; MAX_BODY_LEN];
    let new_rec = new.wrap(rng, &dek, &mut body)?;
    let mut records: Vec<RecipientRecord<'_>> = Vec::with_capacity(h.recipient_count());
    let mut replaced = false;
    for r in h.recipients() {
        if old.matches(&r) {
            if !replaced {
                records.push(new_rec);
                replaced = true;
            }
        } else {
            records.push(r);
        }
    }
    rebuild(&h, &records, payload)
}
