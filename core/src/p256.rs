//! NIST P-256: key generation, ECDSA with SHA-256 (fixed-size and DER
//! signatures), and ECDH.
//!
//! Signing is deterministic (RFC 6979), so it needs no RNG; key generation
//! takes the caller's RNG. Verification accepts both low-S and high-S
//! signatures, as FIPS 186-5 does.
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use coffer_core::p256::P256SecretKey;
//! # use coffer_core::rng::OsRng;
//!
//! let sk = P256SecretKey::generate(&mut OsRng)?;
//! let pk = sk.public_key();
//! let sig = sk.sign(b"message");
//! pk.verify(b"message", &sig)?;
//! let der = sk.sign_der(b"message");
//! pk.verify_der(b"message", der.as_bytes())?;
//! # }
//! # Ok::<(), coffer_core::Error>(())
//! ```

#[cfg(not(feature = "aws-lc"))]
use p256::ecdsa::VerifyingKey;
use p256::ecdsa::signature::Signer;
#[cfg(not(feature = "aws-lc"))]
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::{DerSignature, Signature, SigningKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::DecodePrivateKey;
use p256::pkcs8::DecodePublicKey;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};
use crate::rng::TryCryptoRng;

/// Length of a raw secret scalar in bytes.
pub const SECRET_KEY_LEN: usize = 32;
/// Length of a fixed-size (IEEE P1363, `r ‖ s`) signature in bytes.
pub const SIGNATURE_LEN: usize = 64;
/// Longest DER-encoded signature in bytes.
pub const MAX_DER_SIGNATURE_LEN: usize = 72;
/// Length of an uncompressed SEC1 public point (`04 ‖ x ‖ y`).
pub const UNCOMPRESSED_POINT_LEN: usize = 65;
/// Length of an ECDH shared secret (the x-coordinate).
pub const SHARED_SECRET_LEN: usize = 32;
/// Largest encoded key (DER or PEM) accepted by the importers, in bytes.
pub const MAX_ENCODED_KEY_LEN: usize = 4096;
/// Longest message digest [`P256SecretKey::sign_prehash`] takes (SHA-512's
/// 64 bytes); a digest longer than 32 bytes is cut to its leftmost 256
/// bits, as FIPS 186-5 §6.4.1 says.
pub const MAX_PREHASH_LEN: usize = 64;

/// A P-256 private key. Zeroized on drop; `Debug` does not print it.
///
/// It keeps its public point beside the scalar, computed once when the key
/// is made or read, so signing and [`public_key`](Self::public_key) cost no
/// extra scalar multiplication. Under the `aws-lc`
/// [`provider`](crate::provider) it also keeps aws-lc's form of the key,
/// made on first use.
pub struct P256SecretKey {
    key: SigningKey,
    #[cfg(feature = "aws-lc")]
    fast: std::sync::OnceLock<Option<alloc::boxed::Box<crate::provider::awslc::P256Private>>>,
}

/// A P-256 public key (a point on the curve, never the identity).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct P256PublicKey(p256::PublicKey);

/// A fixed-size ECDSA P-256 signature, `r ‖ s`, 32 bytes each.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct P256Signature([u8; SIGNATURE_LEN]);

/// A DER-encoded ECDSA P-256 signature (`SEQUENCE { r INTEGER, s INTEGER }`),
/// held without allocation.
#[derive(Clone, Debug)]
pub struct P256DerSignature(DerSignature);

/// The x-coordinate shared by an ECDH exchange. Zeroized on drop.
///
/// Never use it directly as a key: derive keys from it with HKDF
/// (see [`crate::kdf`]), binding both public keys in the `info`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret([u8; SHARED_SECRET_LEN]);

impl core::fmt::Debug for P256SecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("P256SecretKey(<redacted>)")
    }
}

impl core::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

impl core::fmt::Debug for P256PublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("P256PublicKey(")?;
        for b in self.to_uncompressed() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

impl P256SecretKey {
    /// Generates a new key pair from `rng`.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self> {
        p256::SecretKey::try_generate_from_rng(rng).map(|sk| Self::new(sk.into())).map_err(|_| Error::Rng)
    }

    /// Reads a raw 32-byte big-endian scalar (must be in 1..n-1).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != SECRET_KEY_LEN {
            return Err(Error::InvalidKey);
        }
        SigningKey::from_slice(bytes).map(Self::new).map_err(|_| Error::InvalidKey)
    }

    /// The raw 32-byte scalar, in a buffer zeroized on drop.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; SECRET_KEY_LEN]> {
        zeroize::Zeroizing::new(self.key.to_bytes().into())
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (DER) holding a P-256 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_ENCODED_KEY_LEN {
            return Err(Error::InvalidLength);
        }
        p256::SecretKey::from_pkcs8_der(der).map(|sk| Self::new(sk.into())).map_err(|_| Error::InvalidKey)
    }

    /// Writes the key as PKCS#8 DER (with the public key included).
    #[cfg(feature = "alloc")]
    pub fn to_pkcs8_der(&self) -> Result<zeroize::Zeroizing<alloc::vec::Vec<u8>>> {
        use p256::pkcs8::EncodePrivateKey;
        let doc = self.secret_key().to_pkcs8_der().map_err(|_| Error::Encoding)?;
        Ok(zeroize::Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// Reads a PEM `PRIVATE KEY` (PKCS#8) block.
    #[cfg(feature = "alloc")]
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        if pem.len() > MAX_ENCODED_KEY_LEN {
            return Err(Error::InvalidLength);
        }
        p256::SecretKey::from_pkcs8_pem(pem).map(|sk| Self::new(sk.into())).map_err(|_| Error::InvalidKey)
    }

    /// Writes the key as a PEM `PRIVATE KEY` (PKCS#8) block, LF line endings.
    #[cfg(feature = "alloc")]
    pub fn to_pkcs8_pem(&self) -> Result<zeroize::Zeroizing<alloc::string::String>> {
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        self.secret_key().to_pkcs8_pem(LineEnding::LF).map_err(|_| Error::Encoding)
    }

    /// The matching public key.
    pub fn public_key(&self) -> P256PublicKey {
        P256PublicKey(self.key.verifying_key().into())
    }

    /// The key in the form the `p256` crate encodes (zeroized on drop).
    #[cfg(feature = "alloc")]
    fn secret_key(&self) -> p256::SecretKey {
        p256::SecretKey::from(&self.key)
    }

    fn new(key: SigningKey) -> Self {
        P256SecretKey {
            key,
            #[cfg(feature = "aws-lc")]
            fast: std::sync::OnceLock::new(),
        }
    }

    /// aws-lc's form of the key, made on first use; `None` only if aws-lc
    /// refused a key the `p256` crate took (then the RustCrypto code serves).
    #[cfg(feature = "aws-lc")]
    fn fast(&self) -> Option<&crate::provider::awslc::P256Private> {
        self.fast
            .get_or_init(|| {
                crate::provider::awslc::P256Private::new(
                    &self.to_bytes()[..],
                    &self.public_key().to_uncompressed(),
                )
                .ok()
                .map(alloc::boxed::Box::new)
            })
            .as_deref()
    }

    fn signature(&self, msg: &[u8]) -> Signature {
        #[cfg(feature = "aws-lc")]
        if let Some(sig) =
            self.fast().and_then(|k| k.sign(msg).ok()).and_then(|s| Signature::from_slice(&s).ok())
        {
            return sig;
        }
        self.key.sign(msg)
    }

    /// ECDSA-SHA-256 signature of `msg`, fixed size: deterministic (RFC
    /// 6979) under the RustCrypto [`provider`](crate::provider), with a
    /// random nonce under `aws-lc`.
    pub fn sign(&self, msg: &[u8]) -> P256Signature {
        P256Signature(self.signature(msg).to_bytes().into())
    }

    /// ECDSA signature of a digest the caller computed (PKCS#11's
    /// `CKM_ECDSA`), fixed size, deterministic (RFC 6979 with the digest as
    /// `h1`) under either [`provider`](crate::provider). The digest is taken
    /// as FIPS 186-5 takes a hash: its leftmost 256 bits as an integer.
    ///
    /// Prefer [`Self::sign`], which hashes the message itself: signing a
    /// value that is not the output of a collision-resistant hash lets
    /// anyone who picks it forge signatures.
    ///
    /// ```
    /// # #[cfg(feature = "std")] {
    /// use coffer_core::hash::sha256;
    /// use coffer_core::p256::P256SecretKey;
    /// # use coffer_core::rng::OsRng;
    ///
    /// let sk = P256SecretKey::generate(&mut OsRng)?;
    /// let sig = sk.sign_prehash(&sha256(b"message"))?;
    /// sk.public_key().verify_prehash(&sha256(b"message"), &sig)?;
    /// // ECDSA-SHA-256 over the message is the same computation.
    /// sk.public_key().verify(b"message", &sig)?;
    /// # }
    /// # Ok::<(), coffer_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for an empty digest or one longer than
    /// [`MAX_PREHASH_LEN`].
    pub fn sign_prehash(&self, digest: &[u8]) -> Result<P256Signature> {
        if digest.is_empty() || digest.len() > MAX_PREHASH_LEN {
            return Err(Error::InvalidLength);
        }
        let sig: Signature = self.key.sign_prehash(digest).map_err(|_| Error::InvalidLength)?;
        Ok(P256Signature(sig.to_bytes().into()))
    }

    /// ECDSA-SHA-256 signature of `msg`, DER-encoded (as X.509 and TLS use).
    pub fn sign_der(&self, msg: &[u8]) -> P256DerSignature {
        P256DerSignature(self.signature(msg).to_der())
    }

    /// ECDH with `peer`: the shared x-coordinate.
    pub fn diffie_hellman(&self, peer: &P256PublicKey) -> SharedSecret {
        #[cfg(feature = "aws-lc")]
        if let Some(shared) = self.fast().and_then(|k| k.diffie_hellman(&peer.to_uncompressed()).ok()) {
            return SharedSecret(*shared);
        }
        let shared = p256::ecdh::diffie_hellman(self.key.as_nonzero_scalar(), peer.0.as_affine());
        SharedSecret((*shared.raw_secret_bytes()).into())
    }
}

impl P256PublicKey {
    /// Reads a SEC1 point, uncompressed (65 bytes) or compressed (33 bytes).
    /// The identity and points not on the curve are refused.
    pub fn from_sec1_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != UNCOMPRESSED_POINT_LEN && bytes.len() != 33 {
            return Err(Error::InvalidKey);
        }
        p256::PublicKey::from_sec1_bytes(bytes).map(P256PublicKey).map_err(|_| Error::InvalidKey)
    }

    /// The uncompressed SEC1 encoding `04 ‖ x ‖ y`.
    pub fn to_uncompressed(&self) -> [u8; UNCOMPRESSED_POINT_LEN] {
        use p256::elliptic_curve::sec1::ToSec1Point;
        let point = self.0.to_sec1_point(false);
        let mut out = [0u8; UNCOMPRESSED_POINT_LEN];
        if let Some(dst) = out.get_mut(..point.as_bytes().len()) {
            dst.copy_from_slice(point.as_bytes());
        }
        out
    }

    /// Reads a `SubjectPublicKeyInfo` (DER) holding a P-256 key.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for more than [`MAX_ENCODED_KEY_LEN`] bytes
    /// (refused unread); [`Error::InvalidKey`] for bytes that do not hold a
    /// P-256 point on the curve.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_ENCODED_KEY_LEN {
            return Err(Error::InvalidLength);
        }
        p256::PublicKey::from_public_key_der(der).map(P256PublicKey).map_err(|_| Error::InvalidKey)
    }

    /// Writes the key as `SubjectPublicKeyInfo` DER.
    #[cfg(feature = "alloc")]
    pub fn to_spki_der(&self) -> Result<alloc::vec::Vec<u8>> {
        use p256::pkcs8::EncodePublicKey;
        self.0.to_public_key_der().map(|d| d.as_bytes().to_vec()).map_err(|_| Error::Encoding)
    }

    /// Reads a PEM `PUBLIC KEY` (SPKI) block.
    #[cfg(feature = "alloc")]
    pub fn from_spki_pem(pem: &str) -> Result<Self> {
        if pem.len() > MAX_ENCODED_KEY_LEN {
            return Err(Error::InvalidLength);
        }
        p256::PublicKey::from_public_key_pem(pem).map(P256PublicKey).map_err(|_| Error::InvalidKey)
    }

    /// Writes the key as a PEM `PUBLIC KEY` block, LF line endings.
    #[cfg(feature = "alloc")]
    pub fn to_spki_pem(&self) -> Result<alloc::string::String> {
        use p256::pkcs8::{EncodePublicKey, LineEnding};
        self.0.to_public_key_pem(LineEnding::LF).map_err(|_| Error::Encoding)
    }

    #[cfg(not(feature = "aws-lc"))]
    fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::from(&self.0)
    }

    /// Verifies a fixed-size signature over `msg`.
    ///
    /// # Errors
    /// [`Error::Verify`] for a wrong signature, including `r` or `s` out of range.
    pub fn verify(&self, msg: &[u8], sig: &P256Signature) -> Result<()> {
        self.verify_fixed(msg, &sig.0)
    }

    /// Verifies a fixed-size (`r ‖ s`, 64 bytes) signature given as a slice.
    pub fn verify_fixed(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        if sig.len() != SIGNATURE_LEN {
            return Err(Error::Verify);
        }
        let sig = Signature::from_slice(sig).map_err(|_| Error::Verify)?;
        self.verify_signature(msg, &sig)
    }

    fn verify_signature(&self, msg: &[u8], sig: &Signature) -> Result<()> {
        #[cfg(feature = "aws-lc")]
        return crate::provider::awslc::p256_verify(&self.to_uncompressed(), msg, &sig.to_bytes());
        #[cfg(not(feature = "aws-lc"))]
        self.verifying_key().verify(msg, sig).map_err(|_| Error::Verify)
    }

    /// Verifies a fixed-size signature over a digest the caller computed
    /// (see [`P256SecretKey::sign_prehash`]).
    ///
    /// # Errors
    /// [`Error::Verify`] for a wrong signature or a digest that is empty or
    /// longer than [`MAX_PREHASH_LEN`].
    pub fn verify_prehash(&self, digest: &[u8], sig: &P256Signature) -> Result<()> {
        if digest.is_empty() || digest.len() > MAX_PREHASH_LEN {
            return Err(Error::Verify);
        }
        let sig = Signature::from_slice(&sig.0).map_err(|_| Error::Verify)?;
        p256::ecdsa::VerifyingKey::from(&self.0).verify_prehash(digest, &sig).map_err(|_| Error::Verify)
    }

    /// Verifies a DER-encoded signature over `msg`. Only strict DER is accepted.
    pub fn verify_der(&self, msg: &[u8], der: &[u8]) -> Result<()> {
        if der.len() > MAX_DER_SIGNATURE_LEN {
            return Err(Error::Verify);
        }
        let sig = Signature::from_der(der).map_err(|_| Error::Verify)?;
        self.verify_signature(msg, &sig)
    }
}

impl P256Signature {
    /// Reads a 64-byte `r ‖ s` signature. Range checks happen at verification.
    pub fn from_bytes(bytes: [u8; SIGNATURE_LEN]) -> Self {
        P256Signature(bytes)
    }

    /// The `r ‖ s` bytes.
    pub fn as_bytes(&self) -> &[u8; SIGNATURE_LEN] {
        &self.0
    }

    /// Reads a DER signature (`SEQUENCE { r, s }`, strict DER, as
    /// [`P256SecretKey::sign_der`] writes) into its fixed-size form, as
    /// PKCS#11 and JOSE carry it.
    ///
    /// # Errors
    /// [`Error::Verify`] for anything but a strict-DER P-256 signature with
    /// `r` and `s` in range (longer than [`MAX_DER_SIGNATURE_LEN`] included).
    ///
    /// # Example
    /// ```
    /// use coffer_core::p256::{P256SecretKey, P256Signature};
    /// # fn main() -> Result<(), coffer_core::Error> {
    /// let key = P256SecretKey::generate(&mut coffer_core::rng::OsRng)?;
    /// let der = key.sign_der(b"boot measurement");
    /// let fixed = P256Signature::from_der(der.as_bytes())?;
    /// key.public_key().verify(b"boot measurement", &fixed)?;
    /// assert_eq!(fixed.to_der()?.as_bytes(), der.as_bytes());
    /// # Ok(()) }
    /// ```
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_DER_SIGNATURE_LEN {
            return Err(Error::Verify);
        }
        let sig = Signature::from_der(der).map_err(|_| Error::Verify)?;
        Ok(P256Signature(sig.to_bytes().into()))
    }

    /// The signature in DER.
    ///
    /// # Errors
    /// [`Error::Verify`] if `r` or `s` is zero or not below the group order
    /// (no key verifies such a signature).
    pub fn to_der(&self) -> Result<P256DerSignature> {
        let sig = Signature::from_slice(&self.0).map_err(|_| Error::Verify)?;
        Ok(P256DerSignature(sig.to_der()))
    }
}

impl P256DerSignature {
    /// The DER bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl SharedSecret {
    /// The raw shared x-coordinate. Feed it to a KDF, never use it as a key.
    pub fn as_bytes(&self) -> &[u8; SHARED_SECRET_LEN] {
        &self.0
    }
}

// The inner `p256::SecretKey` zeroizes its scalar when dropped.
impl ZeroizeOnDrop for P256SecretKey {}
