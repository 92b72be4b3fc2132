//! Key pairs for certificates: generation, PKCS#8 (plain and encrypted),
//! SPKI and PEM.

use alloc::string::String;
use alloc::vec::Vec;

use pkcs8::der::Decode;
use pkcs8::pkcs5::EncryptionScheme;
use pkcs8::pkcs5::pbes2::Kdf;
use pkcs8::{EncryptedPrivateKeyInfoRef, LineEnding, PrivateKeyInfoRef};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::p256::{P256PublicKey, P256SecretKey};
use crate::rng::TryCryptoRng;
#[cfg(feature = "rsa")]
use crate::rsa::{RsaKeySize, RsaPrivateKey, RsaPublicKey};

/// Largest encoded key or certificate accepted by the parsers here, in bytes.
pub const MAX_ENCODED_LEN: usize = 64 * 1024;
/// Longest passphrase accepted for encrypted PKCS#8, in bytes.
pub const MAX_PASSPHRASE_LEN: usize = 1024;

/// Which kind of key pair to generate.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA with e = 65537 (feature `rsa`).
    #[cfg(feature = "rsa")]
    Rsa(RsaKeySize),
    /// NIST P-256.
    P256,
}

/// How a certificate or CSR is signed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureScheme {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`sha256WithRSAEncryption`).
    RsaPkcs1Sha256,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
    RsaPssSha256,
    /// ECDSA over P-256 with SHA-256.
    EcdsaP256Sha256,
}

/// A private key that can sign certificates and CSRs: RSA or P-256.
/// Zeroized on drop (through the inner key types).
#[non_exhaustive]
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "key pairs are few and long-lived; boxing would only add an allocation"
)]
pub enum KeyPair {
    /// An RSA key (feature `rsa`).
    #[cfg(feature = "rsa")]
    Rsa(RsaPrivateKey),
    /// A P-256 key.
    P256(P256SecretKey),
}

/// A public key of either kind, as read from a certificate or CSR.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// An RSA public key (feature `rsa`).
    #[cfg(feature = "rsa")]
    Rsa(RsaPublicKey),
    /// A P-256 public key.
    P256(P256PublicKey),
}

impl KeyPair {
    /// Most PBKDF2 iterations an encrypted PKCS#8 key may ask for when read
    /// (ten million: several seconds of work; coffer writes 600,000 and
    /// OpenSSL 3 2,048).
    pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

    /// Largest scrypt cost N·r·p an encrypted PKCS#8 key may ask for when
    /// read (2^21: 256 MiB of memory at p = 1, sixteen times OpenSSL's
    /// N = 16384, r = 8, p = 1).
    pub const MAX_SCRYPT_COST: u64 = 1 << 21;

    /// Generates a key pair.
    ///
    /// ```
    /// use coffer_core::cert::{KeyAlgorithm, KeyPair};
    /// # use coffer_core::rng::OsRng;
    /// let kp = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
    /// let pem = kp.to_pkcs8_pem()?;
    /// assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    /// # Ok::<(), coffer_core::Error>(())
    /// ```
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R, algorithm: KeyAlgorithm) -> Result<Self> {
        match algorithm {
            #[cfg(feature = "rsa")]
            KeyAlgorithm::Rsa(size) => RsaPrivateKey::generate(rng, size).map(KeyPair::Rsa),
            KeyAlgorithm::P256 => P256SecretKey::generate(rng).map(KeyPair::P256),
        }
    }

    /// The signature scheme used by default with this key: PKCS#1 v1.5
    /// SHA-256 for RSA (the most widely accepted), ECDSA-SHA-256 for P-256.
    pub fn default_scheme(&self) -> SignatureScheme {
        match self {
            #[cfg(feature = "rsa")]
            KeyPair::Rsa(_) => SignatureScheme::RsaPkcs1Sha256,
            KeyPair::P256(_) => SignatureScheme::EcdsaP256Sha256,
        }
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        match self {
            #[cfg(feature = "rsa")]
            KeyPair::Rsa(k) => PublicKey::Rsa(k.public_key()),
            KeyPair::P256(k) => PublicKey::P256(k.public_key()),
        }
    }

    /// Reads a PKCS#8 DER private key (RSA under the default policy, or P-256).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_ENCODED_LEN {
            return Err(Error::InvalidLength);
        }
        if let Ok(k) = P256SecretKey::from_pkcs8_der(der) {
            return Ok(KeyPair::P256(k));
        }
        #[cfg(feature = "rsa")]
        {
            RsaPrivateKey::from_pkcs8_der(der).map(KeyPair::Rsa)
        }
        #[cfg(not(feature = "rsa"))]
        {
            Err(Error::InvalidKey)
        }
    }

    /// Writes the key as PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        match self {
            #[cfg(feature = "rsa")]
            KeyPair::Rsa(k) => k.to_pkcs8_der(),
            KeyPair::P256(k) => k.to_pkcs8_der(),
        }
    }

    /// Reads a PEM `PRIVATE KEY` block.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        let (label, der) = decode_pem(pem)?;
        if label != "PRIVATE KEY" {
            return Err(Error::InvalidKey);
        }
        Self::from_pkcs8_der(&der)
    }

    /// Writes the key as a PEM `PRIVATE KEY` block.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        let der = self.to_pkcs8_der()?;
        encode_pem("PRIVATE KEY", &der).map(Zeroizing::new)
    }

    /// Writes the key as encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, DER):
    /// PBES2 with PBKDF2-HMAC-SHA-256 (600,000 iterations, random 16-byte
    /// salt) and AES-256-CBC, the scheme OpenSSL itself writes, so OpenSSL
    /// and Python `cryptography` read it. Encrypting takes a few hundred
    /// milliseconds by design.
    pub fn to_encrypted_pkcs8_der<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        passphrase: &[u8],
    ) -> Result<Vec<u8>> {
        if passphrase.is_empty() || passphrase.len() > MAX_PASSPHRASE_LEN {
            return Err(Error::InvalidInput);
        }
        let der = self.to_pkcs8_der()?;
        let info = PrivateKeyInfoRef::from_der(&der).map_err(|_| Error::Encoding)?;
        let mut rng = SizedRng(rng);
        let params = pkcs8::pkcs5::pbes2::Parameters::generate_pbkdf2(&mut rng).map_err(|_| Error::Rng)?;
        let doc = info.encrypt_with_params(params, passphrase).map_err(|_| Error::Encoding)?;
        Ok(doc.as_bytes().to_vec())
    }

    /// Writes the key as an `ENCRYPTED PRIVATE KEY` PEM block.
    pub fn to_encrypted_pkcs8_pem<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        passphrase: &[u8],
    ) -> Result<String> {
        encode_pem("ENCRYPTED PRIVATE KEY", &self.to_encrypted_pkcs8_der(rng, passphrase)?)
    }

    /// Reads encrypted PKCS#8 DER: PBES2 with PBKDF2 (PRF HMAC-SHA-1,
    /// -SHA-224, -SHA-256, -SHA-384 or -SHA-512, as `openssl pkcs8 -v2prf`
    /// writes them) or scrypt, and AES-128/192/256-CBC or AES-GCM.
    ///
    /// The key derivation's cost comes from the file, so a hostile file
    /// could ask for hours of work: more than
    /// [`KeyPair::MAX_PBKDF2_ITERATIONS`] PBKDF2 iterations, or scrypt
    /// parameters with N·r·p above [`KeyPair::MAX_SCRYPT_COST`], are refused
    /// before any derivation.
    ///
    /// ```
    /// use coffer_core::cert::{KeyAlgorithm, KeyPair};
    /// # use coffer_core::rng::OsRng;
    /// let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
    /// let der = key.to_encrypted_pkcs8_der(&mut OsRng, b"correct horse")?;
    /// let back = KeyPair::from_encrypted_pkcs8_der(&der, b"correct horse")?;
    /// assert_eq!(back.public_key(), key.public_key());
    /// assert!(KeyPair::from_encrypted_pkcs8_der(&der, b"wrong horse").is_err());
    /// # Ok::<(), coffer_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Decrypt`] for a wrong passphrase or damaged ciphertext;
    /// [`Error::LimitExceeded`] for a key derivation above the limits;
    /// [`Error::InvalidKey`] for bytes that are not encrypted PKCS#8;
    /// [`Error::InvalidLength`] for an input or passphrase over its limit.
    pub fn from_encrypted_pkcs8_der(der: &[u8], passphrase: &[u8]) -> Result<Self> {
        if der.len() > MAX_ENCODED_LEN || passphrase.len() > MAX_PASSPHRASE_LEN {
            return Err(Error::InvalidLength);
        }
        let info = EncryptedPrivateKeyInfoRef::from_der(der).map_err(|_| Error::InvalidKey)?;
        check_kdf_cost(&info.encryption_algorithm)?;
        let doc = info.decrypt(passphrase).map_err(|_| Error::Decrypt)?;
        Self::from_pkcs8_der(doc.as_bytes())
    }

    /// Reads an `ENCRYPTED PRIVATE KEY` PEM block.
    pub fn from_encrypted_pkcs8_pem(pem: &str, passphrase: &[u8]) -> Result<Self> {
        let (label, der) = decode_pem(pem)?;
        if label != "ENCRYPTED PRIVATE KEY" {
            return Err(Error::InvalidKey);
        }
        Self::from_encrypted_pkcs8_der(&der, passphrase)
    }
}

impl KeyPair {
    /// Signs `msg` under `scheme`: ECDSA-SHA-256 (DER; RFC 6979
    /// deterministic nonce, or a random one under the `aws-lc`
    /// [`provider`](crate::provider)) with a P-256 key; RSASSA-PSS (SHA-256,
    /// MGF1-SHA-256, 32-byte salt) or RSASSA-PKCS1-v1_5 with SHA-256 with an
    /// RSA key. `rng` makes the PSS salt and blinds the RSA operation; ECDSA
    /// does not use it.
    ///
    /// ```
    /// use coffer_core::cert::{KeyAlgorithm, KeyPair, SignatureScheme};
    /// # use coffer_core::rng::OsRng;
    /// let kp = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
    /// let sig = kp.sign(&mut OsRng, SignatureScheme::EcdsaP256Sha256, b"release 1.2")?;
    /// kp.public_key().verify(SignatureScheme::EcdsaP256Sha256, b"release 1.2", &sig)?;
    /// # Ok::<(), coffer_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a scheme of the other key type;
    /// [`Error::Rng`] if the RNG fails.
    pub fn sign<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        scheme: SignatureScheme,
        msg: &[u8],
    ) -> Result<Vec<u8>> {
        // ECDSA signing takes no RNG (deterministic, or aws-lc's own); only RSA uses it.
        let _ = &rng;
        match (self, scheme) {
            #[cfg(feature = "rsa")]
            (KeyPair::Rsa(k), SignatureScheme::RsaPssSha256) => k.sign_pss(rng, msg),
            #[cfg(feature = "rsa")]
            (KeyPair::Rsa(k), SignatureScheme::RsaPkcs1Sha256) => k.sign_pkcs1v15(rng, msg),
            (KeyPair::P256(k), SignatureScheme::EcdsaP256Sha256) => Ok(k.sign_der(msg).as_bytes().to_vec()),
            _ => Err(Error::InvalidInput),
        }
    }
}

impl PublicKey {
    /// Verifies `sig` over `msg` under `scheme`, as [`KeyPair::sign`]
    /// makes it (ECDSA signatures in strict DER).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a scheme of the other key type;
    /// [`Error::Verify`] if the signature does not verify.
    pub fn verify(&self, scheme: SignatureScheme, msg: &[u8], sig: &[u8]) -> Result<()> {
        match (self, scheme) {
            #[cfg(feature = "rsa")]
            (PublicKey::Rsa(k), SignatureScheme::RsaPssSha256) => k.verify_pss(msg, sig),
            #[cfg(feature = "rsa")]
            (PublicKey::Rsa(k), SignatureScheme::RsaPkcs1Sha256) => k.verify_pkcs1v15(msg, sig),
            (PublicKey::P256(k), SignatureScheme::EcdsaP256Sha256) => k.verify_der(msg, sig),
            _ => Err(Error::InvalidInput),
        }
    }

    /// Reads a `SubjectPublicKeyInfo` (RSA under the default policy, or P-256).
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_ENCODED_LEN {
            return Err(Error::InvalidLength);
        }
        if let Ok(k) = P256PublicKey::from_spki_der(der) {
            return Ok(PublicKey::P256(k));
        }
        #[cfg(feature = "rsa")]
        {
            RsaPublicKey::from_spki_der(der).map(PublicKey::Rsa)
        }
        #[cfg(not(feature = "rsa"))]
        {
            Err(Error::InvalidKey)
        }
    }

    /// Writes `SubjectPublicKeyInfo` DER.
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        match self {
            #[cfg(feature = "rsa")]
            PublicKey::Rsa(k) => k.to_spki_der(),
            PublicKey::P256(k) => k.to_spki_der(),
        }
    }

    /// Reads a PEM `PUBLIC KEY` block.
    pub fn from_spki_pem(pem: &str) -> Result<Self> {
        let (label, der) = decode_pem(pem)?;
        if label != "PUBLIC KEY" {
            return Err(Error::InvalidKey);
        }
        Self::from_spki_der(&der)
    }

    /// Writes a PEM `PUBLIC KEY` block.
    pub fn to_spki_pem(&self) -> Result<String> {
        encode_pem("PUBLIC KEY", &self.to_spki_der()?)
    }
}

/// Refuses a PBES2 key derivation above [`KeyPair::MAX_PBKDF2_ITERATIONS`]
/// or [`KeyPair::MAX_SCRYPT_COST`] (PBES1 is not decrypted at all).
fn check_kdf_cost(scheme: &EncryptionScheme) -> Result<()> {
    let EncryptionScheme::Pbes2(params) = scheme else { return Ok(()) };
    let within = match &params.kdf {
        Kdf::Pbkdf2(p) => p.iteration_count <= KeyPair::MAX_PBKDF2_ITERATIONS,
        Kdf::Scrypt(p) => p
            .cost_parameter
            .checked_mul(u64::from(p.block_size))
            .and_then(|c| c.checked_mul(u64::from(p.parallelization)))
            .is_some_and(|c| c <= KeyPair::MAX_SCRYPT_COST),
        // No other KDF decrypts.
        _ => true,
    };
    if within { Ok(()) } else { Err(Error::LimitExceeded) }
}

/// Decodes one PEM block into its label and DER bytes.
pub(crate) fn decode_pem(pem: &str) -> Result<(&str, Zeroizing<Vec<u8>>)> {
    if pem.len() > MAX_ENCODED_LEN.saturating_mul(2) {
        return Err(Error::InvalidLength);
    }
    let (label, der) = pkcs8::der::pem::decode_vec(pem.as_bytes()).map_err(|_| Error::InvalidKey)?;
    Ok((label, Zeroizing::new(der)))
}

/// Encodes DER as a PEM block with LF line endings.
pub(crate) fn encode_pem(label: &'static str, der: &[u8]) -> Result<String> {
    pkcs8::der::pem::encode_string(label, LineEnding::LF, der).map_err(|_| Error::Encoding)
}

/// Adapts `&mut R` (possibly unsized) to the `Sized` RNG some crates need.
pub(crate) struct SizedRng<'a, R: TryCryptoRng + ?Sized>(pub &'a mut R);

impl<R: TryCryptoRng + ?Sized> rand_core::TryRng for SizedRng<'_, R> {
    type Error = R::Error;
    fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
        self.0.try_next_u32()
    }
    fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
        self.0.try_next_u64()
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Self::Error> {
        self.0.try_fill_bytes(dst)
    }
}

impl<R: TryCryptoRng + ?Sized> TryCryptoRng for SizedRng<'_, R> {}
