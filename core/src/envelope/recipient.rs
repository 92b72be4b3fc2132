//! Recipients: who can unwrap an envelope's data key (FORMAT.md §1.4).

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::header::SALT_LEN;
use super::holder::KekHolder;
use super::wire::{Reader, Writer};
use crate::error::{Error, Result};
#[cfg(feature = "p256")]
use crate::kdf;
use crate::keywrap::Kek;
#[cfg(feature = "p256")]
use crate::p256::{P256PublicKey, P256SecretKey};
use crate::rng::{self, TryCryptoRng};

/// Length of a data key.
pub const DEK_LEN: usize = 32;
/// Most recipients an envelope may have by default (FORMAT.md §1.3).
pub const MAX_RECIPIENTS: usize = 16;
/// Longest key id in bytes (key ids are at least 1 byte).
pub const MAX_KEY_ID_LEN: usize = 64;
/// Largest recipient body (an RSA-4096 OAEP ciphertext).
pub const MAX_BODY_LEN: usize = 512;

/// Length of an AES-KW wrapped data key (a kind `01` body).
pub(crate) const KW_DEK_LEN: usize = DEK_LEN + 8;
const ECDH_BODY_LEN: usize = UNCOMPRESSED_POINT_LEN + KW_DEK_LEN;
/// An uncompressed P-256 point (`04 || x || y`); records of that kind are
/// read (and skipped) even in builds without the `p256` feature.
const UNCOMPRESSED_POINT_LEN: usize = 65;
#[cfg(feature = "p256")]
const _: () = assert!(UNCOMPRESSED_POINT_LEN == crate::p256::UNCOMPRESSED_POINT_LEN);
#[cfg(feature = "p256")]
const ECDH_INFO: &[u8] = b"coffer/v1 ecdh-es a256kw";

/// A per-envelope data key. Zeroized on drop; never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Dek([u8; DEK_LEN]);

impl core::fmt::Debug for Dek {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Dek(<redacted>)")
    }
}

impl Dek {
    /// A fresh DEK and the header salt, drawn in one call to `rng` (the DEK
    /// first, then the salt): an OS generator then costs one system call
    /// per envelope, not two.
    pub(crate) fn generate_with_salt<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
    ) -> Result<(Self, [u8; SALT_LEN])> {
        let mut both = zeroize::Zeroizing::new([0u8; DEK_LEN + SALT_LEN]);
        rng::fill(rng, &mut *both)?;
        let (dek, salt) = both.split_at(DEK_LEN);
        let dek = Dek(dek.try_into().map_err(|_| Error::Internal)?);
        let salt = salt.try_into().map_err(|_| Error::Internal)?;
        Ok((dek, salt))
    }

    #[cfg(feature = "rsa")]
    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Self> {
        bytes.try_into().map(Dek).map_err(|_| Error::Decrypt)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; DEK_LEN] {
        &self.0
    }
}

/// How a recipient's copy of the data key is wrapped.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecipientKind {
    /// AES-256-KW under a symmetric key-encryption key (code `01`).
    Aes256Kw,
    /// RSA-OAEP-SHA-256 to an RSA public key (code `02`).
    RsaOaep,
    /// P-256 ECDH-ES with an ephemeral key, HKDF-SHA-256, then AES-256-KW (code `03`).
    P256EcdhEs,
}

impl RecipientKind {
    /// The wire code.
    pub const fn code(self) -> u8 {
        match self {
            RecipientKind::Aes256Kw => 1,
            RecipientKind::RsaOaep => 2,
            RecipientKind::P256EcdhEs => 3,
        }
    }

    fn from_code(code: u8) -> Result<Self> {
        match code {
            1 => Ok(RecipientKind::Aes256Kw),
            2 => Ok(RecipientKind::RsaOaep),
            3 => Ok(RecipientKind::P256EcdhEs),
            _ => Err(Error::Malformed),
        }
    }

    fn body_len_ok(self, len: usize) -> bool {
        match self {
            RecipientKind::Aes256Kw => len == KW_DEK_LEN,
            RecipientKind::RsaOaep => (256..=MAX_BODY_LEN).contains(&len),
            RecipientKind::P256EcdhEs => len == ECDH_BODY_LEN,
        }
    }
}

/// One recipient record as it stands in a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecipientRecord<'a> {
    /// How the data key is wrapped.
    pub kind: RecipientKind,
    /// The key's id (1..=64 bytes).
    pub key_id: &'a [u8],
    /// The key's version.
    pub key_version: u32,
    /// The wrapped data key (FORMAT.md §1.4).
    pub body: &'a [u8],
}

impl<'a> RecipientRecord<'a> {
    #[cfg(feature = "alloc")]
    pub(crate) fn encoded_len(&self) -> usize {
        8usize.saturating_add(self.key_id.len()).saturating_add(self.body.len())
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        let id_len = u8::try_from(self.key_id.len()).map_err(|_| Error::LimitExceeded)?;
        if self.key_id.is_empty() || self.key_id.len() > MAX_KEY_ID_LEN {
            return Err(Error::LimitExceeded);
        }
        let body_len = u16::try_from(self.body.len()).map_err(|_| Error::LimitExceeded)?;
        if !self.kind.body_len_ok(self.body.len()) {
            return Err(Error::InvalidInput);
        }
        w.put(&[self.kind.code(), id_len])?;
        w.put(self.key_id)?;
        w.put(&self.key_version.to_be_bytes())?;
        w.put(&body_len.to_be_bytes())?;
        w.put(self.body)
    }

    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self> {
        let kind = RecipientKind::from_code(r.u8()?)?;
        let id_len = usize::from(r.u8()?);
        if id_len == 0 || id_len > MAX_KEY_ID_LEN {
            return Err(Error::Malformed);
        }
        let key_id = r.take(id_len)?;
        let key_version = r.u32()?;
        let body_len = usize::from(r.u16()?);
        if !kind.body_len_ok(body_len) {
            return Err(Error::Malformed);
        }
        let body = r.take(body_len)?;
        Ok(RecipientRecord { kind, key_id, key_version, body })
    }
}

/// Someone to seal an envelope for: a key id, a version and a key that can
/// wrap the data key.
#[non_exhaustive]
#[derive(Clone, Copy, Debug)]
pub enum Recipient<'a> {
    /// A symmetric key-encryption key (must be AES-256, 32 bytes).
    Kek {
        /// Key id written into the header.
        key_id: &'a [u8],
        /// Key version written into the header.
        version: u32,
        /// The KEK.
        kek: &'a Kek,
    },
    /// A key-encryption key in a [`KekHolder`] (an HSM, a PKCS#11 token):
    /// the same AES-256-KW record (kind `01`) as [`Recipient::Kek`], wrapped
    /// by the holder.
    Held {
        /// Key id written into the header.
        key_id: &'a [u8],
        /// Key version written into the header.
        version: u32,
        /// The holder that wraps the data key.
        holder: &'a dyn KekHolder,
    },
    /// An RSA public key (feature `rsa`).
    #[cfg(feature = "rsa")]
    Rsa {
        /// Key id written into the header.
        key_id: &'a [u8],
        /// Key version written into the header.
        version: u32,
        /// The recipient's public key.
        public_key: &'a crate::rsa::RsaPublicKey,
    },
    /// A P-256 public key (feature `p256`).
    #[cfg(feature = "p256")]
    P256 {
        /// Key id written into the header.
        key_id: &'a [u8],
        /// Key version written into the header.
        version: u32,
        /// The recipient's public key.
        public_key: &'a P256PublicKey,
    },
}

/// A key that may open an envelope: it matches recipients of its kind with
/// the same key id and version.
#[non_exhaustive]
#[derive(Clone, Copy, Debug)]
pub enum UnlockKey<'a> {
    /// A symmetric key-encryption key.
    Kek {
        /// Key id to match.
        key_id: &'a [u8],
        /// Key version to match.
        version: u32,
        /// The KEK.
        kek: &'a Kek,
    },
    /// A key-encryption key in a [`KekHolder`]: opens AES-256-KW records
    /// (kind `01`) with the same key id and version, as [`UnlockKey::Kek`]
    /// does.
    Held {
        /// Key id to match.
        key_id: &'a [u8],
        /// Key version to match.
        version: u32,
        /// The holder that unwraps the data key.
        holder: &'a dyn KekHolder,
    },
    /// An RSA private key (feature `rsa`).
    #[cfg(feature = "rsa")]
    Rsa {
        /// Key id to match.
        key_id: &'a [u8],
        /// Key version to match.
        version: u32,
        /// The private key.
        private_key: &'a crate::rsa::RsaPrivateKey,
    },
    /// A P-256 private key (feature `p256`).
    #[cfg(feature = "p256")]
    P256 {
        /// Key id to match.
        key_id: &'a [u8],
        /// Key version to match.
        version: u32,
        /// The private key.
        secret_key: &'a P256SecretKey,
    },
}

impl Recipient<'_> {
    pub(crate) fn ident(&self) -> (RecipientKind, &[u8], u32) {
        match self {
            Recipient::Kek { key_id, version, .. } | Recipient::Held { key_id, version, .. } => {
                (RecipientKind::Aes256Kw, key_id, *version)
            }
            #[cfg(feature = "rsa")]
            Recipient::Rsa { key_id, version, .. } => (RecipientKind::RsaOaep, key_id, *version),
            #[cfg(feature = "p256")]
            Recipient::P256 { key_id, version, .. } => (RecipientKind::P256EcdhEs, key_id, *version),
        }
    }

    /// Length of the record body this recipient gets (FORMAT.md §1.4).
    pub(crate) fn body_len(&self) -> usize {
        match self {
            Recipient::Kek { .. } | Recipient::Held { .. } => KW_DEK_LEN,
            #[cfg(feature = "rsa")]
            Recipient::Rsa { public_key, .. } => public_key.bits().div_ceil(8),
            #[cfg(feature = "p256")]
            Recipient::P256 { .. } => ECDH_BODY_LEN,
        }
    }

    /// Length of the whole record.
    pub(crate) fn record_len(&self) -> usize {
        8usize.saturating_add(self.ident().1.len()).saturating_add(self.body_len())
    }

    /// Wraps `dek` for this recipient into `body`, returning the record.
    pub(crate) fn wrap<'b, R: TryCryptoRng + ?Sized>(
        &'b self,
        rng: &mut R,
        dek: &Dek,
        body: &'b mut [u8; MAX_BODY_LEN],
    ) -> Result<RecipientRecord<'b>> {
        let _ = &rng; // used by the RSA and P-256 arms only
        let (kind, key_id, key_version) = self.ident();
        if key_id.is_empty() || key_id.len() > MAX_KEY_ID_LEN {
            return Err(Error::LimitExceeded);
        }
        let len = match self {
            Recipient::Kek { kek, .. } => {
                if kek.as_bytes().len() != 32 {
                    return Err(Error::InvalidInput);
                }
                kek.wrap(dek.as_bytes(), body)?
            }
            Recipient::Held { holder, .. } => {
                let wrapped = holder.wrap_dek(dek.as_bytes())?;
                body.get_mut(..KW_DEK_LEN).ok_or(Error::Internal)?.copy_from_slice(&wrapped);
                KW_DEK_LEN
            }
            #[cfg(feature = "rsa")]
            Recipient::Rsa { public_key, .. } => {
                let ct = public_key.oaep_encrypt(rng, dek.as_bytes())?;
                body.get_mut(..ct.len()).ok_or(Error::InvalidInput)?.copy_from_slice(&ct);
                ct.len()
            }
            #[cfg(feature = "p256")]
            Recipient::P256 { public_key, .. } => {
                let eph = P256SecretKey::generate(rng)?;
                let epk = eph.public_key().to_uncompressed();
                let kek = ecdh_kek(&eph, public_key, &epk, &public_key.to_uncompressed())?;
                let (epk_out, rest) = body.split_at_mut(UNCOMPRESSED_POINT_LEN);
                epk_out.copy_from_slice(&epk);
                let n = kek.wrap(dek.as_bytes(), rest)?;
                UNCOMPRESSED_POINT_LEN.saturating_add(n)
            }
        };
        let body = body.get(..len).ok_or(Error::Internal)?;
        Ok(RecipientRecord { kind, key_id, key_version, body })
    }
}

/// `HKDF-SHA-256(salt = epk || rpk, ikm = ECDH x, info)` (FORMAT.md §1.4).
#[cfg(feature = "p256")]
fn ecdh_kek(
    secret: &P256SecretKey,
    peer: &P256PublicKey,
    epk: &[u8; UNCOMPRESSED_POINT_LEN],
    rpk: &[u8; UNCOMPRESSED_POINT_LEN],
) -> Result<Kek> {
    let shared = secret.diffie_hellman(peer);
    let mut salt = [0u8; 2 * UNCOMPRESSED_POINT_LEN];
    let (a, b) = salt.split_at_mut(UNCOMPRESSED_POINT_LEN);
    a.copy_from_slice(epk);
    b.copy_from_slice(rpk);
    let mut okm = [0u8; 32];
    kdf::hkdf_sha256(Some(&salt), shared.as_bytes(), ECDH_INFO, &mut okm)?;
    let kek = Kek::from_slice(&okm);
    okm.zeroize();
    kek
}

impl UnlockKey<'_> {
    /// Whether this key is meant for `rec` (kind, key id and version match).
    pub fn matches(&self, rec: &RecipientRecord<'_>) -> bool {
        let (kind, key_id, version) = match self {
            UnlockKey::Kek { key_id, version, .. } | UnlockKey::Held { key_id, version, .. } => {
                (RecipientKind::Aes256Kw, *key_id, *version)
            }
            #[cfg(feature = "rsa")]
            UnlockKey::Rsa { key_id, version, .. } => (RecipientKind::RsaOaep, *key_id, *version),
            #[cfg(feature = "p256")]
            UnlockKey::P256 { key_id, version, .. } => (RecipientKind::P256EcdhEs, *key_id, *version),
        };
        rec.kind == kind && rec.key_id == key_id && rec.key_version == version
    }

    /// Unwraps the data key from `rec`. Every failure is [`Error::Decrypt`].
    pub(crate) fn unwrap<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        rec: &RecipientRecord<'_>,
    ) -> Result<Dek> {
        if !self.matches(rec) {
            return Err(Error::Decrypt);
        }
        let _ = &rng;
        match self {
            // One path for both: the in-memory KEK is a holder too (and a
            // firmware that opens with a KEK links one unwrap, not two).
            UnlockKey::Kek { kek, .. } => unwrap_held(*kek, rec.body),
            UnlockKey::Held { holder, .. } => unwrap_held(*holder, rec.body),
            #[cfg(feature = "rsa")]
            UnlockKey::Rsa { private_key, .. } => {
                let dek = private_key.oaep_decrypt(rng, rec.body).map_err(|_| Error::Decrypt)?;
                Dek::from_slice(&dek)
            }
            #[cfg(feature = "p256")]
            UnlockKey::P256 { secret_key, .. } => {
                let (epk, wrapped) =
                    rec.body.split_at_checked(UNCOMPRESSED_POINT_LEN).ok_or(Error::Decrypt)?;
                let epk: &[u8; UNCOMPRESSED_POINT_LEN] = epk.try_into().map_err(|_| Error::Decrypt)?;
                let peer = P256PublicKey::from_sec1_bytes(epk).map_err(|_| Error::Decrypt)?;
                let rpk = secret_key.public_key().to_uncompressed();
                let kek = ecdh_kek(secret_key, &peer, epk, &rpk).map_err(|_| Error::Decrypt)?;
                unwrap_kw(&kek, wrapped)
            }
        }
    }
}

/// Unwraps a kind `01` body (40 bytes) through `holder`; any failure is
/// [`Error::Decrypt`], and the holder's copy of the key is wiped on drop.
fn unwrap_held(holder: &dyn KekHolder, body: &[u8]) -> Result<Dek> {
    let wrapped: &[u8; KW_DEK_LEN] = body.try_into().map_err(|_| Error::Decrypt)?;
    let dek = holder.unwrap_dek(wrapped).map_err(|_| Error::Decrypt)?;
    Ok(Dek(*dek))
}

#[cfg(feature = "p256")]
fn unwrap_kw(kek: &Kek, wrapped: &[u8]) -> Result<Dek> {
    let mut out = [0u8; DEK_LEN];
    let res = kek
        .unwrap(wrapped, &mut out)
        .map_err(|_| Error::Decrypt)
        .and_then(|n| if n == DEK_LEN { Ok(Dek(out)) } else { Err(Error::Decrypt) });
    out.zeroize();
    res
}

/// Constant-time equality of two commitments.
pub(crate) fn commitments_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    bool::from(a.ct_eq(b))
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "a failed step is a test failure, reported by panic")]
mod tests {
    use super::*;

    /// A record's bytes (FORMAT.md §1.4): kind, id length, id, version, body length, body.
    fn record(kind: u8, id: &[u8], id_len: u8, body: &[u8]) -> alloc::vec::Vec<u8> {
        let mut out = alloc::vec![kind, id_len];
        out.extend_from_slice(id);
        out.extend_from_slice(&7u32.to_be_bytes());
        out.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn read(bytes: &[u8]) -> Result<RecipientRecord<'_>> {
        RecipientRecord::read(&mut Reader::new(bytes))
    }

    fn write(rec: &RecipientRecord<'_>) -> Result<usize> {
        let mut buf = [0u8; 1024];
        let mut w = Writer::new(&mut buf);
        rec.write(&mut w).map(|()| w.position())
    }

    #[test]
    fn key_ids_of_1_to_64_bytes_read_and_write_and_others_do_not() {
        let body = [0u8; KW_DEK_LEN];
        for len in [1usize, 64] {
            let id = [b'k'; 64];
            let id = id.get(..len).unwrap_or(&[]);
            let bytes = record(1, id, u8::try_from(len).unwrap_or(0), &body);
            let rec = read(&bytes).expect("a key id of 1 or 64 bytes reads");
            assert_eq!((rec.key_id, rec.key_version, rec.body), (id, 7, &body[..]));
            assert_eq!(write(&rec), Ok(bytes.len()));
        }
        assert_eq!(read(&record(1, b"", 0, &body)).err(), Some(Error::Malformed));
        assert_eq!(read(&record(1, &[b'k'; 65], 65, &body)).err(), Some(Error::Malformed));
        let rec =
            |key_id| RecipientRecord { kind: RecipientKind::Aes256Kw, key_id, key_version: 7, body: &body };
        assert_eq!(write(&rec(b"")), Err(Error::LimitExceeded));
        assert_eq!(write(&rec(&[b'k'; 65])), Err(Error::LimitExceeded));
    }

    #[test]
    fn each_kind_reads_and_writes_only_its_body_length() {
        let cases = [
            (RecipientKind::Aes256Kw, KW_DEK_LEN, [KW_DEK_LEN - 1, KW_DEK_LEN + 1, 0]),
            (RecipientKind::P256EcdhEs, ECDH_BODY_LEN, [ECDH_BODY_LEN - 1, ECDH_BODY_LEN + 1, KW_DEK_LEN]),
            (RecipientKind::RsaOaep, 256, [255, MAX_BODY_LEN + 1, KW_DEK_LEN]),
        ];
        let body = [0u8; MAX_BODY_LEN + 1];
        for (kind, good, bad) in cases {
            let ok = body.get(..good).unwrap_or(&[]);
            let bytes = record(kind.code(), b"k", 1, ok);
            let rec = read(&bytes).expect("the kind's own body length reads");
            assert_eq!(rec.kind, kind);
            assert!(write(&rec).is_ok());
            for len in bad {
                let wrong = body.get(..len).unwrap_or(&[]);
                assert_eq!(
                    read(&record(kind.code(), b"k", 1, wrong)).err(),
                    Some(Error::Malformed),
                    "{kind:?} {len}"
                );
                let rec = RecipientRecord { kind, key_id: b"k", key_version: 7, body: wrong };
                assert_eq!(write(&rec), Err(Error::InvalidInput), "{kind:?} {len}");
            }
        }
    }

    #[test]
    fn wrapping_for_a_recipient_takes_key_ids_of_1_to_64_bytes() {
        let kek = Kek::from_slice(&[9; 32]).expect("32 bytes");
        let dek = Dek::from_slice(&[0x42; DEK_LEN]).expect("32 bytes");
        let mut body = [0u8; MAX_BODY_LEN];
        let ids: [&[u8]; 4] = [b"", &[b'k'; 65], b"k", &[b'k'; 64]];
        let outcomes = ids.map(|key_id| {
            let recipient = Recipient::Kek { key_id, version: 1, kek: &kek };
            recipient.wrap(&mut crate::rng::OsRng, &dek, &mut body).map(|r| r.key_id.len())
        });
        assert_eq!(outcomes, [Err(Error::LimitExceeded), Err(Error::LimitExceeded), Ok(1), Ok(64)]);
    }

    #[test]
    fn a_data_key_prints_redacted() {
        let dek = Dek::from_slice(&[0x42; DEK_LEN]).expect("32 bytes");
        assert_eq!(alloc::format!("{dek:?}"), "Dek(<redacted>)");
    }
}
