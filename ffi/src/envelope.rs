//! Envelope encryption (core/FORMAT.md) for C: seal, open, rewrap, add and
//! remove recipients, on whole buffers.

use coffer_core::envelope::{self, EncryptionContext, HeaderRef, Recipient, RecipientKind, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::p256::{P256PublicKey, P256SecretKey};
use coffer_core::rng::OsRng;
use coffer_core::rsa::{RsaPrivateKey, RsaPublicKey};

use crate::boundary::{
    array_in, buffer_out, bytes_out, capacity_of, coffer_bytes, ffi_boundary, ref_in, require, slice_in,
    write_out,
};
use crate::status::{
    COFFER_ERR_BUFFER_TOO_SMALL, COFFER_ERR_INVALID_ARGUMENT, COFFER_ERR_INVALID_KEY,
    COFFER_ERR_LIMIT_EXCEEDED, COFFER_ERR_MALFORMED, COFFER_ERR_UNKNOWN_VALUE, FfiResult, coffer_status,
};

/// Length of an envelope's fixed prefix: read this many bytes, then ask
/// `coffer_envelope_header_len` how long the whole header is.
pub const COFFER_ENVELOPE_PREFIX_LEN: usize = 10;
/// Bytes each sealed chunk adds to its plaintext (the AES-256-GCM-SIV tag).
pub const COFFER_ENVELOPE_TAG_LEN: usize = 16;
/// The chunk size used when 0 is given: 64 KiB of plaintext per chunk.
pub const COFFER_ENVELOPE_DEFAULT_CHUNK_SIZE: u32 = 65536;
/// Length of an AES-256 key-encryption key.
pub const COFFER_KEK_LEN: usize = 32;
/// Longest key id, in bytes (FORMAT.md §5); a key id has at least one byte.
pub const COFFER_KEY_ID_MAX_LEN: usize = 64;
/// Most recipients one envelope is sealed for (FORMAT.md §5).
pub const COFFER_ENVELOPE_MAX_RECIPIENTS: usize = 16;
/// Most unlock keys one open call tries.
pub const COFFER_ENVELOPE_MAX_UNLOCK_KEYS: usize = 64;

// The constants above are written out for cbindgen; they must equal coffer-core's.
const _: () = assert!(COFFER_ENVELOPE_PREFIX_LEN == envelope::PREFIX_LEN);
const _: () = assert!(COFFER_ENVELOPE_TAG_LEN == coffer_core::aead::TAG_LEN);
const _: () = assert!(COFFER_ENVELOPE_DEFAULT_CHUNK_SIZE == envelope::DEFAULT_CHUNK_SIZE);
const _: () = assert!(COFFER_KEK_LEN == coffer_core::aead::KEY_LEN);
const _: () = assert!(COFFER_KEY_ID_MAX_LEN == envelope::MAX_KEY_ID_LEN);
const _: () = assert!(COFFER_ENVELOPE_MAX_RECIPIENTS == envelope::MAX_RECIPIENTS);

/// What kind of key a `coffer_recipient` or `coffer_unlock_key` holds.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum coffer_key_kind {
    /// An AES-256 key-encryption key: 32 raw bytes (AES-256-KW).
    COFFER_KEY_KEK = 1,
    /// RSA (OAEP-SHA-256): a recipient gives the public key as SPKI DER, an
    /// unlock key the private key as PKCS#8 DER.
    COFFER_KEY_RSA = 2,
    /// P-256 (ECDH-ES): a recipient gives the public key as SPKI DER, an
    /// unlock key the private key as PKCS#8 DER.
    COFFER_KEY_P256 = 3,
}

/// One key/value pair of an encryption context (for example
/// `tenant` = `acme`). Keys are 1..=64 bytes and unique, values 0..=1024
/// bytes, at most 16 pairs; the order does not matter. Opening needs the
/// same pairs that sealing used.
#[repr(C)]
#[derive(Debug)]
pub struct coffer_kv {
    /// Key bytes.
    pub key: *const u8,
    /// Key length.
    pub key_len: usize,
    /// Value bytes (NULL allowed when `value_len` is 0).
    pub value: *const u8,
    /// Value length.
    pub value_len: usize,
}

/// Someone to seal an envelope for.
///
/// `kind` is a `coffer_key_kind`; `key` is 32 raw bytes for
/// `COFFER_KEY_KEK` and SPKI DER for `COFFER_KEY_RSA` and `COFFER_KEY_P256`.
/// `key_id` (1..=64 bytes) and `version` are written into the envelope
/// header and must match the unlock key later.
#[repr(C)]
#[derive(Debug)]
pub struct coffer_recipient {
    /// A `coffer_key_kind` value.
    pub kind: u32,
    /// Key id bytes.
    pub key_id: *const u8,
    /// Key id length (1..=64).
    pub key_id_len: usize,
    /// Key version.
    pub version: u32,
    /// The key: KEK bytes or SPKI DER.
    pub key: *const u8,
    /// Key length.
    pub key_len: usize,
}

/// A key that may open an envelope: it is tried on the recipients with the
/// same kind, key id and version.
///
/// `key` is 32 raw bytes for `COFFER_KEY_KEK` and a PKCS#8 DER private key
/// for `COFFER_KEY_RSA` and `COFFER_KEY_P256`.
#[repr(C)]
#[derive(Debug)]
pub struct coffer_unlock_key {
    /// A `coffer_key_kind` value.
    pub kind: u32,
    /// Key id bytes.
    pub key_id: *const u8,
    /// Key id length.
    pub key_id_len: usize,
    /// Key version.
    pub version: u32,
    /// The key: KEK bytes or PKCS#8 DER.
    pub key: *const u8,
    /// Key length.
    pub key_len: usize,
}

/// A key id (of a recipient, an unlock key, a recipient to remove, or a
/// keystore key): 1..=`COFFER_KEY_ID_MAX_LEN` bytes, else
/// [`COFFER_ERR_LIMIT_EXCEEDED`].
///
/// # Safety
/// As [`slice_in`].
pub(crate) unsafe fn key_id_in<'a>(ptr: *const u8, len: usize) -> FfiResult<&'a [u8]> {
    // SAFETY: forwarded contract of this function.
    let id = unsafe { slice_in(ptr, len) }?;
    if id.is_empty() || id.len() > COFFER_KEY_ID_MAX_LEN {
        return Err(COFFER_ERR_LIMIT_EXCEEDED);
    }
    Ok(id)
}

/// Checks that `bytes` start with a well-formed envelope header (FORMAT.md
/// §4, steps 1 and 2: magic, version, suite, length and structure), so
/// that bytes that are no envelope are [`COFFER_ERR_MALFORMED`] in every
/// function, before any key is tried; what happens after (steps 3 to 5)
/// fails as [`crate::status::COFFER_ERR_DECRYPT`].
pub(crate) fn envelope_header(bytes: &[u8]) -> FfiResult<()> {
    HeaderRef::parse(bytes).map(drop).map_err(|_| COFFER_ERR_MALFORMED)
}

/// The number of keys or recipients given: at least one, at most `max`.
fn count_in(len: usize, max: usize) -> FfiResult<()> {
    if len == 0 {
        Err(COFFER_ERR_INVALID_ARGUMENT)
    } else if len > max {
        Err(COFFER_ERR_LIMIT_EXCEEDED)
    } else {
        Ok(())
    }
}

fn kek_from(bytes: &[u8]) -> FfiResult<Kek> {
    if bytes.len() != COFFER_KEK_LEN {
        return Err(COFFER_ERR_INVALID_KEY);
    }
    Ok(Kek::from_slice(bytes)?)
}

/// A recipient's key, parsed and owned, so [`Recipient`]s can borrow it.
enum PublicKey {
    Kek(Kek),
    Rsa(RsaPublicKey),
    P256(P256PublicKey),
}

/// A parsed `coffer_recipient`.
pub(crate) struct OwnedRecipient<'a> {
    key_id: &'a [u8],
    version: u32,
    key: PublicKey,
}

impl OwnedRecipient<'_> {
    pub(crate) fn as_recipient(&self) -> Recipient<'_> {
        let (key_id, version) = (self.key_id, self.version);
        match &self.key {
            PublicKey::Kek(kek) => Recipient::Kek { key_id, version, kek },
            PublicKey::Rsa(public_key) => Recipient::Rsa { key_id, version, public_key },
            PublicKey::P256(public_key) => Recipient::P256 { key_id, version, public_key },
        }
    }
}

/// A private key of an unlock key, parsed and owned.
enum PrivateKey {
    Kek(Kek),
    Rsa(Box<RsaPrivateKey>),
    P256(P256SecretKey),
}

/// A parsed `coffer_unlock_key`.
pub(crate) struct OwnedUnlockKey<'a> {
    key_id: &'a [u8],
    version: u32,
    key: PrivateKey,
}

impl OwnedUnlockKey<'_> {
    pub(crate) fn as_unlock_key(&self) -> UnlockKey<'_> {
        let (key_id, version) = (self.key_id, self.version);
        match &self.key {
            PrivateKey::Kek(kek) => UnlockKey::Kek { key_id, version, kek },
            PrivateKey::Rsa(private_key) => UnlockKey::Rsa { key_id, version, private_key },
            PrivateKey::P256(secret_key) => UnlockKey::P256 { key_id, version, secret_key },
        }
    }
}

/// Parses one `coffer_recipient`.
///
/// # Safety
/// The pointers in `r` must satisfy the header's input-buffer contract for `'a`.
pub(crate) unsafe fn recipient_in<'a>(r: &coffer_recipient) -> FfiResult<OwnedRecipient<'a>> {
    // SAFETY: forwarded contract of this function.
    let key_id = unsafe { key_id_in(r.key_id, r.key_id_len) }?;
    // SAFETY: forwarded contract of this function.
    let key = unsafe { slice_in(r.key, r.key_len) }?;
    let key = match r.kind {
        k if k == coffer_key_kind::COFFER_KEY_KEK as u32 => PublicKey::Kek(kek_from(key)?),
        k if k == coffer_key_kind::COFFER_KEY_RSA as u32 => PublicKey::Rsa(RsaPublicKey::from_spki_der(key)?),
        k if k == coffer_key_kind::COFFER_KEY_P256 as u32 => {
            PublicKey::P256(P256PublicKey::from_spki_der(key)?)
        }
        _ => return Err(COFFER_ERR_UNKNOWN_VALUE),
    };
    Ok(OwnedRecipient { key_id, version: r.version, key })
}

/// Parses an array of 1..=`COFFER_ENVELOPE_MAX_RECIPIENTS` `coffer_recipient`.
///
/// # Safety
/// `ptr`/`len` and the pointers inside must satisfy the header's contract for `'a`.
pub(crate) unsafe fn recipients_in<'a>(
    ptr: *const coffer_recipient,
    len: usize,
) -> FfiResult<Vec<OwnedRecipient<'a>>> {
    // SAFETY: forwarded contract of this function.
    let raw = unsafe { array_in(ptr, len) }?;
    count_in(raw.len(), COFFER_ENVELOPE_MAX_RECIPIENTS)?;
    // SAFETY: forwarded contract of this function.
    raw.iter().map(|r| unsafe { recipient_in(r) }).collect()
}

/// Parses one `coffer_unlock_key`.
///
/// # Safety
/// As [`recipient_in`].
pub(crate) unsafe fn unlock_key_in<'a>(k: &coffer_unlock_key) -> FfiResult<OwnedUnlockKey<'a>> {
    // SAFETY: forwarded contract of this function.
    let key_id = unsafe { key_id_in(k.key_id, k.key_id_len) }?;
    // SAFETY: forwarded contract of this function.
    let key = unsafe { slice_in(k.key, k.key_len) }?;
    let key = match k.kind {
        x if x == coffer_key_kind::COFFER_KEY_KEK as u32 => PrivateKey::Kek(kek_from(key)?),
        x if x == coffer_key_kind::COFFER_KEY_RSA as u32 => {
            PrivateKey::Rsa(Box::new(RsaPrivateKey::from_pkcs8_der(key)?))
        }
        x if x == coffer_key_kind::COFFER_KEY_P256 as u32 => {
            PrivateKey::P256(P256SecretKey::from_pkcs8_der(key)?)
        }
        _ => return Err(COFFER_ERR_UNKNOWN_VALUE),
    };
    Ok(OwnedUnlockKey { key_id, version: k.version, key })
}

/// Parses an array of 1..=`COFFER_ENVELOPE_MAX_UNLOCK_KEYS` `coffer_unlock_key`.
///
/// # Safety
/// As [`recipients_in`].
pub(crate) unsafe fn unlock_keys_in<'a>(
    ptr: *const coffer_unlock_key,
    len: usize,
) -> FfiResult<Vec<OwnedUnlockKey<'a>>> {
    // SAFETY: forwarded contract of this function.
    let raw = unsafe { array_in(ptr, len) }?;
    count_in(raw.len(), COFFER_ENVELOPE_MAX_UNLOCK_KEYS)?;
    // SAFETY: forwarded contract of this function.
    raw.iter().map(|k| unsafe { unlock_key_in(k) }).collect()
}

/// Parses an array of `coffer_kv` into an encryption context.
///
/// # Safety
/// As [`recipients_in`].
pub(crate) unsafe fn context_in<'a>(ptr: *const coffer_kv, len: usize) -> FfiResult<EncryptionContext<'a>> {
    // SAFETY: forwarded contract of this function.
    let pairs = unsafe { array_in(ptr, len) }?;
    let mut ctx = EncryptionContext::new();
    for p in pairs {
        // SAFETY: forwarded contract of this function.
        let key = unsafe { slice_in(p.key, p.key_len) }?;
        // SAFETY: forwarded contract of this function.
        let value = unsafe { slice_in(p.value, p.value_len) }?;
        ctx.insert(key, value)?;
    }
    Ok(ctx)
}

fn seal_vec(
    recipients: &[OwnedRecipient<'_>],
    context: &EncryptionContext<'_>,
    plaintext: &[u8],
) -> FfiResult<Vec<u8>> {
    let to: Vec<Recipient<'_>> = recipients.iter().map(OwnedRecipient::as_recipient).collect();
    Ok(envelope::seal(&mut OsRng, &to, context, plaintext)?)
}

fn open_vec(
    keys: &[OwnedUnlockKey<'_>],
    context: &EncryptionContext<'_>,
    sealed: &[u8],
) -> FfiResult<coffer_core::SecretBytes> {
    envelope_header(sealed)?;
    let unlock: Vec<UnlockKey<'_>> = keys.iter().map(OwnedUnlockKey::as_unlock_key).collect();
    Ok(envelope::open(&mut OsRng, &unlock, context, sealed)?)
}

/// Seals `plaintext` for 1..=16 `recipients`, bound to the encryption
/// `context` (0..=16 pairs), with 64 KiB chunks. On success `*out` holds
/// the envelope; free it with `coffer_bytes_free`.
///
/// Errors: `COFFER_ERR_NULL_POINTER`; `COFFER_ERR_INVALID_ARGUMENT` for 0
/// recipients or a duplicate context key; `COFFER_ERR_LIMIT_EXCEEDED` for
/// more than 16 recipients, a key id of 0 or more than 64 bytes, or a
/// context past its limits; `COFFER_ERR_INVALID_KEY` for a key that does not parse;
/// `COFFER_ERR_KEY_POLICY` for an RSA key outside 2048..=4096 bits or e != 65537;
/// `COFFER_ERR_UNKNOWN_VALUE` for an unknown `kind`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_envelope_seal(
    recipients: *const coffer_recipient,
    recipients_len: usize,
    context: *const coffer_kv,
    context_len: usize,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(out)?;
        // SAFETY: the header's contract for input arrays and buffers.
        let recipients = unsafe { recipients_in(recipients, recipients_len) }?;
        // SAFETY: as above.
        let context = unsafe { context_in(context, context_len) }?;
        // SAFETY: as above.
        let plaintext = unsafe { slice_in(plaintext, plaintext_len) }?;
        let sealed = seal_vec(&recipients, &context, plaintext)?;
        // SAFETY: `out` is a valid coffer_bytes slot (checked non-NULL).
        unsafe { bytes_out(out, &sealed) }
    })
}

/// As `coffer_envelope_seal`, into the caller's buffer `out` of `*out_len`
/// bytes. On success `*out_len` is the envelope length. If the buffer is too
/// small, nothing is sealed, `*out_len` is set to the length needed and the
/// result is `COFFER_ERR_BUFFER_TOO_SMALL` (call with `out` NULL and
/// `*out_len` 0 to ask for the length).
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_envelope_seal_into(
    recipients: *const coffer_recipient,
    recipients_len: usize,
    context: *const coffer_kv,
    context_len: usize,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut u8,
    out_len: *mut usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for in/out lengths.
        let cap = unsafe { capacity_of(out, out_len) }?;
        // SAFETY: the header's contract for input arrays and buffers.
        let recipients = unsafe { recipients_in(recipients, recipients_len) }?;
        // SAFETY: as above.
        let context = unsafe { context_in(context, context_len) }?;
        // SAFETY: as above.
        let plaintext = unsafe { slice_in(plaintext, plaintext_len) }?;
        let to: Vec<Recipient<'_>> = recipients.iter().map(OwnedRecipient::as_recipient).collect();
        let needed = envelope::sealed_len(&to, &context, plaintext.len(), envelope::DEFAULT_CHUNK_SIZE)?;
        if cap < needed {
            // SAFETY: `out_len` was checked non-NULL by `capacity_of`.
            unsafe { write_out(out_len, needed) }?;
            return Err(COFFER_ERR_BUFFER_TOO_SMALL);
        }
        let sealed = seal_vec(&recipients, &context, plaintext)?;
        // SAFETY: the header's contract for output buffers.
        unsafe { buffer_out(out, out_len, &sealed) }
    })
}

/// Opens an envelope with any one of `keys` (1..=64) and the same
/// `context` it was sealed with. On success `*out` holds the plaintext
/// (free it with `coffer_bytes_free`, which zeroes it).
///
/// What a successful open proves (FORMAT.md §2–§3): the plaintext is
/// exactly what was sealed, under this encryption context. The bound
/// section of the header (chunk size, salt, key commitment, context) and
/// every payload chunk are authenticated: changing any of them, or
/// reordering, dropping, truncating or extending the chunks, fails with
/// `COFFER_ERR_DECRYPT`. The recipient records are outside that
/// authentication (FORMAT.md §3.3): each record authenticates only itself,
/// through its key wrap and the key commitment. The record that opens the
/// envelope for you is checked (a changed one fails to open, it never
/// opens to other plaintext); another recipient's record is not
/// authenticated for you: it can be changed, removed or replaced, and
/// records can be added, without this call noticing. Such a change can
/// stop that recipient from opening the envelope, or, made by someone who
/// holds the data key (any recipient), let another key open the same
/// plaintext; it never changes the plaintext anyone gets. So a successful
/// open says nothing about who else can open the envelope: do not treat
/// its recipient list as authenticated.
///
/// Errors, checked in this order: argument errors (`COFFER_ERR_NULL_POINTER`;
/// `COFFER_ERR_INVALID_ARGUMENT` for 0 keys; `COFFER_ERR_LIMIT_EXCEEDED`
/// for more than 64 keys or a key id outside 1..=64 bytes;
/// `COFFER_ERR_INVALID_KEY` for a key that does not parse;
/// `COFFER_ERR_UNKNOWN_VALUE` for a bad `kind`), then
/// `COFFER_ERR_MALFORMED` if `sealed` does not start with a well-formed
/// envelope header (FORMAT.md §4 steps 1–2), then `COFFER_ERR_DECRYPT` for
/// every failure to open a well-formed one — wrong key or version, wrong
/// context, a modified header or payload, a truncated or extended payload
/// — whatever the cause.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_envelope_open(
    keys: *const coffer_unlock_key,
    keys_len: usize,
    context: *const coffer_kv,
    context_len: usize,
    sealed: *const u8,
    sealed_len: usize,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(out)?;
        // SAFETY: the header's contract for input arrays and buffers.
        let keys = unsafe { unlock_keys_in(keys, keys_len) }?;
        // SAFETY: as above.
        let context = unsafe { context_in(context, context_len) }?;
        // SAFETY: as above.
        let sealed = unsafe { slice_in(sealed, sealed_len) }?;
        let plaintext = open_vec(&keys, &context, sealed)?;
        // SAFETY: `out` is a valid coffer_bytes slot (checked non-NULL).
        unsafe { bytes_out(out, &plaintext) }
    })
}

/// As `coffer_envelope_open`, into the caller's buffer `out` of `*out_len`
/// bytes; a buffer as long as the envelope is always enough. On success
/// `*out_len` is the plaintext length. If the buffer is too small,
/// `*out_len` is set to the plaintext length and the result is
/// `COFFER_ERR_BUFFER_TOO_SMALL`; nothing is written to `out`.
///
/// Detects the same tampering as `coffer_envelope_open` and no more:
/// another recipient's record is not authenticated for you (FORMAT.md
/// §3.3). Errors as `coffer_envelope_open`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_envelope_open_into(
    keys: *const coffer_unlock_key,
    keys_len: usize,
    context: *const coffer_kv,
    context_len: usize,
    sealed: *const u8,
    sealed_len: usize,
    out: *mut u8,
    out_len: *mut usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for in/out lengths.
        unsafe { capacity_of(out, out_len) }?;
        // SAFETY: the header's contract for input arrays and buffers.
        let keys = unsafe { unlock_keys_in(keys, keys_len) }?;
        // SAFETY: as above.
        let context = unsafe { context_in(context, context_len) }?;
        // SAFETY: as above.
        let sealed = unsafe { slice_in(sealed, sealed_len) }?;
        let plaintext = open_vec(&keys, &context, sealed)?;
        // SAFETY: the header's contract for output buffers.
        unsafe { buffer_out(out, out_len, &plaintext) }
    })
}

/// What a header change does with the unlocked data key.
#[derive(Clone, Copy)]
enum HeaderChange {
    Rewrap,
    AddRecipient,
}

/// The shared body of `coffer_envelope_rewrap` and `coffer_envelope_add_recipient`.
///
/// # Safety
/// The header's contract for input buffers, structs and the output slot.
unsafe fn change_header(
    change: HeaderChange,
    sealed: *const u8,
    sealed_len: usize,
    key: *const coffer_unlock_key,
    new_recipient: *const coffer_recipient,
    out: *mut coffer_bytes,
) -> FfiResult<()> {
    require(out)?;
    // SAFETY: forwarded contract of this function.
    let sealed = unsafe { slice_in(sealed, sealed_len) }?;
    // SAFETY: as above.
    let key = unsafe { ref_in(key) }?;
    // SAFETY: as above, for the buffers inside.
    let key = unsafe { unlock_key_in(key) }?;
    // SAFETY: as above.
    let new = unsafe { ref_in(new_recipient) }?;
    // SAFETY: as above, for the buffers inside.
    let new = unsafe { recipient_in(new) }?;
    let (key, new) = (key.as_unlock_key(), new.as_recipient());
    let env = match change {
        HeaderChange::Rewrap => envelope::rewrap(&mut OsRng, sealed, &key, &new)?,
        HeaderChange::AddRecipient => envelope::add_recipient(&mut OsRng, sealed, &key, &new)?,
    };
    // SAFETY: forwarded contract of this function.
    unsafe { bytes_out(out, &env) }
}

/// Rewraps an envelope: unlocks its data key with `old` and replaces the
/// recipient(s) `old` matches with `new_recipient` (typically the next
/// version of the same KEK). Only the header changes; the payload is
/// copied unchanged. On success `*out` holds the new envelope.
///
/// Errors: `COFFER_ERR_MALFORMED` if `sealed` has no valid header;
/// `COFFER_ERR_DECRYPT` if `old` does not open the envelope;
/// `COFFER_ERR_INVALID_ARGUMENT` if `new_recipient` is already another recipient.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_envelope_rewrap(
    sealed: *const u8,
    sealed_len: usize,
    old: *const coffer_unlock_key,
    new_recipient: *const coffer_recipient,
    out: *mut coffer_bytes,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe {
        change_header(HeaderChange::Rewrap, sealed, sealed_len, old, new_recipient, out)
    })
}

/// Adds `new_recipient` to an envelope, unlocking the data key with `key`.
/// Only the header changes. On success `*out` holds the new envelope.
///
/// Errors: `COFFER_ERR_MALFORMED` if `sealed` has no valid header;
/// `COFFER_ERR_DECRYPT` if `key` does not open it;
/// `COFFER_ERR_INVALID_ARGUMENT` if the recipient is already there;
/// `COFFER_ERR_LIMIT_EXCEEDED` past 16 recipients.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_envelope_add_recipient(
    sealed: *const u8,
    sealed_len: usize,
    key: *const coffer_unlock_key,
    new_recipient: *const coffer_recipient,
    out: *mut coffer_bytes,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe {
        change_header(HeaderChange::AddRecipient, sealed, sealed_len, key, new_recipient, out)
    })
}

/// Removes the recipient with this `kind` (a `coffer_key_kind`), key id and
/// version. No key is needed; the last recipient cannot be removed.
///
/// Errors: `COFFER_ERR_INVALID_ARGUMENT` if there is no such recipient or it
/// is the only one; `COFFER_ERR_LIMIT_EXCEEDED` for a key id outside
/// 1..=64 bytes; `COFFER_ERR_MALFORMED` if `sealed` has no valid header;
/// `COFFER_ERR_UNKNOWN_VALUE`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_envelope_remove_recipient(
    sealed: *const u8,
    sealed_len: usize,
    kind: u32,
    key_id: *const u8,
    key_id_len: usize,
    version: u32,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(out)?;
        // SAFETY: the header's contract for input buffers.
        let sealed = unsafe { slice_in(sealed, sealed_len) }?;
        // SAFETY: as above.
        let key_id = unsafe { key_id_in(key_id, key_id_len) }?;
        let kind = match kind {
            k if k == coffer_key_kind::COFFER_KEY_KEK as u32 => RecipientKind::Aes256Kw,
            k if k == coffer_key_kind::COFFER_KEY_RSA as u32 => RecipientKind::RsaOaep,
            k if k == coffer_key_kind::COFFER_KEY_P256 as u32 => RecipientKind::P256EcdhEs,
            _ => return Err(COFFER_ERR_UNKNOWN_VALUE),
        };
        let env = envelope::remove_recipient(sealed, kind, key_id, version)?;
        // SAFETY: `out` is a valid coffer_bytes slot (checked non-NULL).
        unsafe { bytes_out(out, &env) }
    })
}

/// Reads the total header length from the first
/// `COFFER_ENVELOPE_PREFIX_LEN` (10) bytes of an envelope, for streaming
/// readers: read that many bytes, then the rest of the header, then pass
/// the whole header to `coffer_opener_new`.
///
/// Errors: `COFFER_ERR_MALFORMED` for a wrong magic, version or suite or an
/// impossible length; `COFFER_ERR_INVALID_LENGTH` if fewer than 10 bytes are given.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_envelope_header_len(
    prefix: *const u8,
    prefix_len: usize,
    header_len: *mut usize,
) -> coffer_status {
    ffi_boundary(|| {
        require(header_len)?;
        // SAFETY: the header's contract for input buffers.
        let prefix = unsafe { slice_in(prefix, prefix_len) }?;
        if prefix.len() < COFFER_ENVELOPE_PREFIX_LEN {
            return Err(crate::status::COFFER_ERR_INVALID_LENGTH);
        }
        let len = envelope::header_len(prefix)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { write_out(header_len, len) }
    })
}
