//! The sealed keystore at rest (KEYSTORE.md).
//!
//! [`seal`] encrypts an opaque state blob into a self-describing file and
//! [`open`] authenticates and decrypts it again. The file is
//! `header || AES-256-GCM-SIV(state)` with the whole header as associated
//! data (KEYSTORE.md §2); the encryption key is derived from a
//! [`MasterKey`] with HKDF-SHA-256, and the master key is either supplied by
//! the caller or derived from a passphrase with PBKDF2-HMAC-SHA-256
//! (KEYSTORE.md §4).
//!
//! Errors (KEYSTORE.md §5): bytes that do not parse as a version 1 header give
//! [`Error::KeystoreCorrupt`]; anything that parses but does not authenticate
//! (wrong key or passphrase, a changed byte, a shortened or lengthened
//! ciphertext) gives [`Error::KeystoreAuth`]; an authentic keystore whose
//! counter is below the caller's `min_counter` gives
//! [`Error::KeystoreRollback`].
//!
//! ```
//! use coffer_core::rng::OsRng;
//! use coffer_hsm::keystore::{self, KeySource, MasterKey};
//!
//! let master = MasterKey::generate(&mut OsRng)?;
//! let sealed = keystore::seal(&mut OsRng, &KeySource::MasterKey(&master), 7, b"token state")?;
//! let (state, counter) = keystore::open(&KeySource::MasterKey(&master), &sealed, Some(7))?;
//! assert_eq!((&state[..], counter), (&b"token state"[..], 7));
//! # Ok::<(), coffer_hsm::Error>(())
//! ```

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

use coffer_core::aead::{Aes256GcmSivKey, NONCE_LEN, Nonce, TAG_LEN};
use coffer_core::kdf::hkdf_sha256;
use coffer_core::rng::TryCryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use coffer_core::envelope::KekHolder;

use crate::error::{Error, Result};
use crate::wire::Reader;

/// File magic, ASCII `CFKS` (KEYSTORE.md §2).
pub const MAGIC: [u8; 4] = *b"CFKS";
/// The format version this code writes and reads (KEYSTORE.md §2, §9).
pub const VERSION: u8 = 1;
/// Master key length in bytes.
pub const MASTER_KEY_LEN: usize = 32;
/// PBKDF2 salt length in bytes; a fresh random salt is drawn for every seal.
pub const SALT_LEN: usize = 16;
/// PBKDF2-HMAC-SHA-256 iterations used by [`seal`] (OWASP 2023 guidance for
/// PBKDF2-HMAC-SHA-256); see KEYSTORE.md §4 and §10 for the cost.
pub const DEFAULT_ITERATIONS: u32 = 600_000;
/// Fewest PBKDF2 iterations written or accepted on read.
pub const MIN_ITERATIONS: u32 = 100_000;
/// Most PBKDF2 iterations written or accepted on read. A file asking for
/// more is [`Error::KeystoreCorrupt`], so a modified header cannot make
/// [`open`] spin for hours.
pub const MAX_ITERATIONS: u32 = 10_000_000;
/// Shortest passphrase accepted, in bytes.
pub const MIN_PASSPHRASE_LEN: usize = 1;
/// Longest passphrase accepted, in bytes.
pub const MAX_PASSPHRASE_LEN: usize = 1024;
/// Largest state that can be sealed, in bytes (256 MiB).
pub const MAX_STATE_LEN: usize = 256 * 1024 * 1024;
/// Header length with `kdf = 0` (raw master key), in bytes.
pub const RAW_HEADER_LEN: usize = 26;
/// Header length with `kdf = 1` (PBKDF2-HMAC-SHA-256), in bytes.
pub const PBKDF2_HEADER_LEN: usize = 46;
/// Largest sealed keystore, in bytes: the longest header, [`MAX_STATE_LEN`]
/// and the tag. Longer input is [`Error::KeystoreCorrupt`].
pub const MAX_SEALED_LEN: usize = PBKDF2_HEADER_LEN + MAX_STATE_LEN + TAG_LEN;

/// HKDF-SHA-256 `info` for the encryption key (KEYSTORE.md §4).
const HKDF_INFO: &[u8] = b"coffer keystore v1";
/// `kdf` byte: the caller supplies the master key.
const KDF_RAW: u8 = 0;
/// `kdf` byte: the master key is PBKDF2-HMAC-SHA-256 of a passphrase.
const KDF_PBKDF2: u8 = 1;

/// The 32-byte key a keystore is sealed under. Zeroized on drop; `Debug`
/// does not print it; no `Clone`.
///
/// It is never used as an encryption key directly: the AES-256-GCM-SIV key
/// is HKDF-SHA-256 of it (KEYSTORE.md §4).
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct MasterKey {
    bytes: [u8; MASTER_KEY_LEN],
}

impl core::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// Wraps 32 raw key bytes (for example unsealed from a TPM).
    pub const fn from_bytes(bytes: [u8; MASTER_KEY_LEN]) -> Self {
        MasterKey { bytes }
    }

    /// Reads a key from a slice of exactly [`MASTER_KEY_LEN`] bytes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the slice has another length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let bytes: [u8; MASTER_KEY_LEN] = bytes.try_into().map_err(|_| Error::InvalidInput)?;
        Ok(MasterKey { bytes })
    }

    /// Draws a fresh random master key from `rng`.
    ///
    /// # Errors
    /// [`Error::Crypto`]`(`[`coffer_core::Error::Rng`]`)` if the RNG fails.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self> {
        let mut key = MasterKey { bytes: [0; MASTER_KEY_LEN] };
        rng.try_fill_bytes(&mut key.bytes).map_err(|_| Error::Crypto(coffer_core::Error::Rng))?;
        Ok(key)
    }

    /// PBKDF2-HMAC-SHA-256 of `passphrase` with `salt` and `iterations`,
    /// 32 bytes of output (KEYSTORE.md §4). The passphrase bytes are used as
    /// given: normalize text input (for example to Unicode NFC) before.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the passphrase is not
    /// [`MIN_PASSPHRASE_LEN`]`..=`[`MAX_PASSPHRASE_LEN`] bytes or
    /// `iterations` is not [`MIN_ITERATIONS`]`..=`[`MAX_ITERATIONS`].
    pub fn derive_from_passphrase(passphrase: &[u8], salt: &[u8; SALT_LEN], iterations: u32) -> Result<Self> {
        check_passphrase(passphrase)?;
        check_iterations(iterations).map_err(|_| Error::InvalidInput)?;
        let mut key = MasterKey { bytes: [0; MASTER_KEY_LEN] };
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(passphrase, salt, iterations, &mut key.bytes);
        Ok(key)
    }

    /// The raw key bytes, to store them elsewhere (a TPM, a secrets manager).
    /// Handle with care.
    pub const fn as_bytes(&self) -> &[u8; MASTER_KEY_LEN] {
        &self.bytes
    }

    /// The AES-256-GCM-SIV key: HKDF-SHA-256 with no salt, this key as IKM
    /// and info `coffer keystore v1` (KEYSTORE.md §4).
    fn encryption_key(&self) -> Result<Aes256GcmSivKey> {
        let mut okm = Zeroizing::new([0u8; 32]);
        hkdf_sha256(None, &self.bytes, HKDF_INFO, okm.as_mut_slice())?;
        Ok(Aes256GcmSivKey::from_bytes(*okm))
    }
}

/// What a keystore is sealed under: a master key the caller holds, a
/// passphrase the master key is derived from (KEYSTORE.md §4), or a
/// key-encryption key in a [`KekHolder`] (an HSM, a PKCS#11 token) that
/// wraps the master key (record stores only, KEYSTORE.md §12.3).
///
/// A keystore sealed under one kind opens only with the same kind: a
/// passphrase never opens a keystore sealed under a raw master key, and the
/// other way round ([`Error::KeystoreAuth`]).
#[non_exhaustive]
#[derive(Clone, Copy)]
pub enum KeySource<'a> {
    /// A 32-byte master key supplied by the caller (`kdf = 0`).
    MasterKey(&'a MasterKey),
    /// A passphrase of [`MIN_PASSPHRASE_LEN`]`..=`[`MAX_PASSPHRASE_LEN`]
    /// bytes, stretched with PBKDF2-HMAC-SHA-256 (`kdf = 1`).
    Passphrase(&'a [u8]),
    /// A key-encryption key that stays in its holder (`kdf = 2`, record
    /// stores only): creating the store draws a random master key and keeps
    /// only `AES-KW(KEK, master key)` in the meta record; opening asks the
    /// holder to unwrap it. The master key is in memory while the store is
    /// open, never at rest; the KEK never leaves the holder. The sealed
    /// file of §2 ([`seal`], [`seal_in_place`]) does not take it
    /// ([`Error::InvalidInput`]).
    ///
    /// ```
    /// use coffer_core::envelope::KekHolder;
    /// use coffer_core::keywrap::Kek;
    /// use coffer_core::rng::OsRng;
    /// use coffer_hsm::keystore::KeySource;
    /// use coffer_hsm::record_store::MemoryStore;
    /// use coffer_hsm::{Config, Hsm, SystemClock};
    ///
    /// // Any KekHolder: here an in-memory KEK; in production a Pkcs11Kek
    /// // (feature `pkcs11-kek`) whose key never leaves the token.
    /// let kek = Kek::generate(&mut OsRng)?;
    /// let holder: &dyn KekHolder = &kek;
    /// let config = Config { pin_iterations: 1_000, ..Config::default() };
    /// let hsm = Hsm::create(&mut OsRng, Box::new(MemoryStore::new()), &KeySource::Held(holder), 1, config, Box::new(SystemClock))?;
    /// # drop(hsm);
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    Held(&'a dyn KekHolder),
}

impl core::fmt::Debug for KeySource<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            KeySource::MasterKey(_) => f.write_str("KeySource::MasterKey(<redacted>)"),
            KeySource::Passphrase(_) => f.write_str("KeySource::Passphrase(<redacted>)"),
            KeySource::Held(_) => f.write_str("KeySource::Held(<held>)"),
        }
    }
}

/// Key derivation recorded in the header (KEYSTORE.md §2).
#[derive(Clone, Copy)]
enum Kdf {
    Raw,
    Pbkdf2 { iterations: u32, salt: [u8; SALT_LEN] },
}

/// A parsed header: the fields, the header bytes (the AAD) and the rest.
struct Parsed<'a> {
    kdf: Kdf,
    counter: u64,
    nonce: Nonce,
    header: &'a [u8],
    body: &'a [u8],
}

#[cfg(feature = "alloc")]
/// Seals `state` under `source` with keystore counter `counter`; a
/// passphrase is stretched with [`DEFAULT_ITERATIONS`].
///
/// Draws a fresh nonce (and salt, for a passphrase) from `rng`, so two
/// seals of the same state differ. Keep `counter` increasing and store the
/// last one where this file's storage cannot roll it back (KEYSTORE.md §6).
///
/// # Errors
/// [`Error::InvalidInput`] if `state` is longer than [`MAX_STATE_LEN`], the
/// passphrase length is out of range or `source` is [`KeySource::Held`];
/// [`Error::Crypto`] if the RNG fails.
pub fn seal<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    source: &KeySource<'_>,
    counter: u64,
    state: &[u8],
) -> Result<Vec<u8>> {
    seal_with_iterations(rng, source, counter, state, DEFAULT_ITERATIONS)
}

#[cfg(feature = "alloc")]
/// As [`seal`], with `iterations` PBKDF2 iterations for a passphrase
/// (ignored for a master key, but checked all the same). For slow devices
/// and tests; prefer [`seal`].
///
/// # Errors
/// As [`seal`], and [`Error::InvalidInput`] if `iterations` is not
/// [`MIN_ITERATIONS`]`..=`[`MAX_ITERATIONS`].
pub fn seal_with_iterations<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    source: &KeySource<'_>,
    counter: u64,
    state: &[u8],
    iterations: u32,
) -> Result<Vec<u8>> {
    check_iterations(iterations).map_err(|_| Error::InvalidInput)?;
    if state.len() > MAX_STATE_LEN {
        return Err(Error::InvalidInput);
    }
    let (kdf, key) = seal_key(rng, source, iterations)?;
    let nonce = Nonce::generate(rng)?;

    let total = header_len(kdf).checked_add(state.len()).and_then(|n| n.checked_add(TAG_LEN));
    // The plaintext is copied in before it is encrypted in place: zeroize
    // the buffer if anything fails in between. The capacity is exact, so the
    // vector never reallocates and leaves no plaintext copy behind.
    let mut out = Zeroizing::new(Vec::with_capacity(total.ok_or(Error::InvalidInput)?));
    write_header(&mut out, kdf, counter, &nonce);
    let aad_len = out.len();
    out.extend_from_slice(state);
    let (aad, body) = out.split_at_mut_checked(aad_len).ok_or(Error::Crypto(coffer_core::Error::Internal))?;
    let tag = key.seal_in_place_detached(&nonce, aad, body)?;
    out.extend_from_slice(&tag);
    Ok(core::mem::take(&mut *out))
}

#[cfg(feature = "alloc")]
/// Authenticates and opens a sealed keystore; returns the state and its
/// counter (KEYSTORE.md §5).
///
/// With `min_counter = Some(c)`, a keystore whose counter is below `c` is
/// refused as a rollback; an equal counter is accepted (reopening the latest
/// save). The counter is checked only after the keystore authenticates.
///
/// # Errors
/// - [`Error::InvalidInput`]: the passphrase length is out of range.
/// - [`Error::KeystoreCorrupt`]: `bytes` is not a well-formed version 1
///   keystore (wrong magic or version, unknown KDF, iterations out of range,
///   shorter than header and tag, longer than [`MAX_SEALED_LEN`]). Decided on
///   public bytes alone, before any key is used.
/// - [`Error::KeystoreAuth`]: wrong master key or passphrase, a key source of
///   the other kind, or any change to the authenticated bytes.
/// - [`Error::KeystoreRollback`]: authentic, but older than `min_counter`.
pub fn open(
    source: &KeySource<'_>,
    bytes: &[u8],
    min_counter: Option<u64>,
) -> Result<(Zeroizing<Vec<u8>>, u64)> {
    if let KeySource::Passphrase(passphrase) = source {
        check_passphrase(passphrase)?;
    }
    let parsed = parse(bytes)?;
    let key = open_key(source, parsed.kdf)?;
    let state = key.open(&parsed.nonce, parsed.header, parsed.body).map_err(|e| match e {
        coffer_core::Error::Decrypt => Error::KeystoreAuth,
        other => Error::Crypto(other),
    })?;
    if min_counter.is_some_and(|min| parsed.counter < min) {
        return Err(Error::KeystoreRollback);
    }
    Ok((state, parsed.counter))
}

/// Seals, without a heap, the state held at the start of `buf`
/// (`buf[..state_len]`) under `source` with keystore counter `counter`: the
/// state is moved up behind the header, encrypted in place and followed by
/// the tag. Returns the length of the sealed keystore at the start of `buf`,
/// byte for byte the format [`seal`] writes (KEYSTORE.md §2); a passphrase
/// is stretched with `iterations`.
///
/// `buf` needs room for the header ([`RAW_HEADER_LEN`] or
/// [`PBKDF2_HEADER_LEN`]), the state and [`TAG_LEN`] bytes.
///
/// ```
/// use coffer_core::rng::OsRng;
/// use coffer_hsm::keystore::{self, KeySource, MasterKey, RAW_HEADER_LEN};
///
/// let master = MasterKey::generate(&mut OsRng)?;
/// let source = KeySource::MasterKey(&master);
/// let mut buf = [0u8; 64];
/// buf[..11].copy_from_slice(b"token state");
/// let n = keystore::seal_in_place(&mut OsRng, &source, 3, &mut buf, 11, keystore::MIN_ITERATIONS)?;
/// assert_eq!(n, RAW_HEADER_LEN + 11 + 16);
/// let (state, counter) = keystore::open_in_place(&source, &mut buf[..n], Some(3))?;
/// assert_eq!((&state[..], counter), (&b"token state"[..], 3));
/// # Ok::<(), coffer_hsm::Error>(())
/// ```
///
/// # Errors
/// [`Error::Capacity`] if `buf` is too short (it is left unchanged);
/// otherwise as [`seal_with_iterations`].
pub fn seal_in_place<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    source: &KeySource<'_>,
    counter: u64,
    buf: &mut [u8],
    state_len: usize,
    iterations: u32,
) -> Result<usize> {
    check_iterations(iterations).map_err(|_| Error::InvalidInput)?;
    if state_len > MAX_STATE_LEN || state_len > buf.len() {
        return Err(Error::InvalidInput);
    }
    let hlen = header_len(match source {
        KeySource::MasterKey(_) => Kdf::Raw,
        KeySource::Passphrase(_) => Kdf::Pbkdf2 { iterations, salt: [0; SALT_LEN] },
        // The file of §2 has no kdf for a held key (record stores do, §12.3).
        KeySource::Held(_) => return Err(Error::InvalidInput),
    });
    let total = hlen.checked_add(state_len).and_then(|n| n.checked_add(TAG_LEN)).ok_or(Error::Capacity)?;
    if total > buf.len() {
        return Err(Error::Capacity);
    }
    let (kdf, key) = seal_key(rng, source, iterations)?;
    let nonce = Nonce::generate(rng)?;
    let buf = buf.get_mut(..total).ok_or(Error::Capacity)?;
    buf.copy_within(..state_len, hlen);
    let (header, rest) = buf.split_at_mut_checked(hlen).ok_or(Error::Capacity)?;
    let mut w = SliceWriter::new(header);
    w.put(&MAGIC)?;
    w.put(&[VERSION])?;
    match kdf {
        Kdf::Raw => w.put(&[KDF_RAW])?,
        Kdf::Pbkdf2 { iterations, salt } => {
            w.put(&[KDF_PBKDF2])?;
            w.put(&iterations.to_be_bytes())?;
            w.put(&salt)?;
        }
    }
    w.put(&counter.to_be_bytes())?;
    w.put(nonce.as_bytes())?;
    let (body, tag_out) = rest.split_at_mut_checked(state_len).ok_or(Error::Capacity)?;
    match key.seal_in_place_detached(&nonce, header, body) {
        Ok(tag) => {
            tag_out.copy_from_slice(&tag);
            Ok(total)
        }
        Err(e) => {
            body.zeroize();
            Err(Error::Crypto(e))
        }
    }
}

/// Authenticates and opens, without a heap, the sealed keystore that is
/// the whole of `buf`, decrypting in place; returns the state (a part of
/// `buf`) and its counter. On any failure the body of `buf` is zeroed.
///
/// # Errors
/// As [`open`].
pub fn open_in_place<'b>(
    source: &KeySource<'_>,
    buf: &'b mut [u8],
    min_counter: Option<u64>,
) -> Result<(&'b mut [u8], u64)> {
    if let KeySource::Passphrase(passphrase) = source {
        check_passphrase(passphrase)?;
    }
    let (kdf, counter, nonce, hlen, body_len) = {
        let parsed = parse(buf)?;
        (parsed.kdf, parsed.counter, parsed.nonce, parsed.header.len(), parsed.body.len())
    };
    let key = open_key(source, kdf)?;
    let (header, rest) = buf.split_at_mut_checked(hlen).ok_or(Error::KeystoreCorrupt)?;
    let state_len = body_len.checked_sub(TAG_LEN).ok_or(Error::KeystoreCorrupt)?;
    let (body, tag) = rest.split_at_mut_checked(state_len).ok_or(Error::KeystoreCorrupt)?;
    let tag: [u8; TAG_LEN] = (&*tag).try_into().map_err(|_| Error::KeystoreCorrupt)?;
    if let Err(e) = key.open_in_place_detached(&nonce, header, body, &tag) {
        body.zeroize();
        return Err(match e {
            coffer_core::Error::Decrypt => Error::KeystoreAuth,
            other => Error::Crypto(other),
        });
    }
    if min_counter.is_some_and(|min| counter < min) {
        body.zeroize();
        return Err(Error::KeystoreRollback);
    }
    Ok((body, counter))
}

/// Writes consecutive fields into a caller's slice, without a heap.
pub(crate) struct SliceWriter<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl<'a> SliceWriter<'a> {
    pub(crate) fn new(out: &'a mut [u8]) -> Self {
        SliceWriter { out, pos: 0 }
    }

    /// Appends `bytes`; [`Error::Capacity`] if they do not fit.
    pub(crate) fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self.pos.checked_add(bytes.len()).ok_or(Error::Capacity)?;
        self.out.get_mut(self.pos..end).ok_or(Error::Capacity)?.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.pos
    }
}

/// The header's KDF record and the encryption key for sealing under
/// `source`: a passphrase gets a fresh salt from `rng`.
fn seal_key<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    source: &KeySource<'_>,
    iterations: u32,
) -> Result<(Kdf, Aes256GcmSivKey)> {
    match source {
        KeySource::MasterKey(master) => Ok((Kdf::Raw, master.encryption_key()?)),
        KeySource::Passphrase(passphrase) => {
            check_passphrase(passphrase)?;
            let mut salt = [0u8; SALT_LEN];
            rng.try_fill_bytes(&mut salt).map_err(|_| Error::Crypto(coffer_core::Error::Rng))?;
            let derived = MasterKey::derive_from_passphrase(passphrase, &salt, iterations)?;
            Ok((Kdf::Pbkdf2 { iterations, salt }, derived.encryption_key()?))
        }
        // The file of §2 has no kdf for a held key (record stores do, §12.3).
        KeySource::Held(_) => Err(Error::InvalidInput),
    }
}

/// The encryption key for opening a file whose header records `kdf`.
fn open_key(source: &KeySource<'_>, kdf: Kdf) -> Result<Aes256GcmSivKey> {
    match (source, kdf) {
        (KeySource::MasterKey(master), Kdf::Raw) => master.encryption_key(),
        (KeySource::Passphrase(passphrase), Kdf::Pbkdf2 { iterations, salt }) => {
            MasterKey::derive_from_passphrase(passphrase, &salt, iterations)?.encryption_key()
        }
        // The header says the other kind of key: this source cannot open it.
        _ => Err(Error::KeystoreAuth),
    }
}

fn check_passphrase(passphrase: &[u8]) -> Result<()> {
    if (MIN_PASSPHRASE_LEN..=MAX_PASSPHRASE_LEN).contains(&passphrase.len()) {
        Ok(())
    } else {
        Err(Error::InvalidInput)
    }
}

fn check_iterations(iterations: u32) -> Result<()> {
    if (MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) { Ok(()) } else { Err(Error::KeystoreCorrupt) }
}

const fn header_len(kdf: Kdf) -> usize {
    match kdf {
        Kdf::Raw => RAW_HEADER_LEN,
        Kdf::Pbkdf2 { .. } => PBKDF2_HEADER_LEN,
    }
}

/// Writes the header of KEYSTORE.md §2.
#[cfg(feature = "alloc")]
fn write_header(out: &mut Vec<u8>, kdf: Kdf, counter: u64, nonce: &Nonce) {
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    match kdf {
        Kdf::Raw => out.push(KDF_RAW),
        Kdf::Pbkdf2 { iterations, salt } => {
            out.push(KDF_PBKDF2);
            out.extend_from_slice(&iterations.to_be_bytes());
            out.extend_from_slice(&salt);
        }
    }
    out.extend_from_slice(&counter.to_be_bytes());
    out.extend_from_slice(nonce.as_bytes());
}

/// Parses and validates the header (KEYSTORE.md §2, §5 step 2). Looks only
/// at public bytes.
fn parse(bytes: &[u8]) -> Result<Parsed<'_>> {
    if bytes.len() > MAX_SEALED_LEN {
        return Err(Error::KeystoreCorrupt);
    }
    let mut r = Reader(bytes);
    if r.arr::<4>()? != MAGIC || r.u8()? != VERSION {
        return Err(Error::KeystoreCorrupt);
    }
    let kdf = match r.u8()? {
        KDF_RAW => Kdf::Raw,
        KDF_PBKDF2 => {
            let iterations = r.u32()?;
            check_iterations(iterations)?;
            Kdf::Pbkdf2 { iterations, salt: r.arr()? }
        }
        _ => return Err(Error::KeystoreCorrupt),
    };
    let counter = r.u64()?;
    let nonce = Nonce::from_bytes(r.arr::<NONCE_LEN>()?);
    let body = r.0;
    let consumed = bytes.len().checked_sub(body.len()).ok_or(Error::KeystoreCorrupt)?;
    let header = bytes.get(..consumed).ok_or(Error::KeystoreCorrupt)?;
    // The body is the ciphertext and the tag; the ciphertext is as long as
    // the state, so its length is bounded by MAX_STATE_LEN.
    let state_len = body.len().checked_sub(TAG_LEN).ok_or(Error::KeystoreCorrupt)?;
    if state_len > MAX_STATE_LEN {
        return Err(Error::KeystoreCorrupt);
    }
    Ok(Parsed { kdf, counter, nonce, header, body })
}
