//! RSA (feature `rsa`): key generation, OAEP-SHA-256 encryption,
//! PSS-SHA-256 and PKCS#1 v1.5 SHA-256 signatures.
//!
//! Keys are checked against an [`RsaPolicy`] on generation and import; the
//! default admits 2048- to 4096-bit moduli with public exponent 65537 only.
//! OAEP uses SHA-256 for both the label hash and MGF1; PSS uses SHA-256,
//! MGF1-SHA-256 and a 32-byte salt. Private-key operations are blinded with
//! the caller's RNG.
//!
//! OAEP decryption checks every step of RFC 8017 §7.1.2, including that the
//! first octet of the encoded message is zero, which the `rsa` crate leaves
//! out; coffer adds it with a second blinded private-key operation, so an
//! OAEP decryption costs two RSA private operations.
//!
//! ```
//! use coffer_core::rsa::{RsaPrivateKey, RsaKeySize};
//! # use coffer_core::rng::OsRng;
//! # let der = include_bytes!("../tests/data/rsa2048.pkcs8.der");
//! // let sk = RsaPrivateKey::generate(&mut OsRng, RsaKeySize::Rsa3072)?;
//! let sk = RsaPrivateKey::from_pkcs8_der(der)?;
//! let pk = sk.public_key();
//! let ct = pk.oaep_encrypt(&mut OsRng, b"data key")?;
//! assert_eq!(&sk.oaep_decrypt(&mut OsRng, &ct)?[..], b"data key");
//! let sig = sk.sign_pss(&mut OsRng, b"hello")?;
//! pk.verify_pss(b"hello", &sig)?;
//! # Ok::<(), coffer_core::Error>(())
//! ```

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, Oaep};
use sha2::Sha256;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};
use crate::rng::TryCryptoRng;

/// The only public exponent the default policy admits.
pub const DEFAULT_EXPONENT: u32 = 65537;
/// Largest encoded key (DER or PEM) accepted by the importers, in bytes.
pub const MAX_ENCODED_KEY_LEN: usize = 16 * 1024;
/// Longest OAEP label accepted, in bytes.
pub const MAX_LABEL_LEN: usize = 1024;

/// Modulus sizes coffer generates.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsaKeySize {
    /// 2048-bit modulus (about 112-bit security).
    Rsa2048,
    /// 3072-bit modulus (about 128-bit security).
    Rsa3072,
    /// 4096-bit modulus.
    Rsa4096,
}

impl RsaKeySize {
    /// The modulus size in bits.
    pub const fn bits(self) -> usize {
        match self {
            RsaKeySize::Rsa2048 => 2048,
            RsaKeySize::Rsa3072 => 3072,
            RsaKeySize::Rsa4096 => 4096,
        }
    }
}

/// What RSA keys are accepted on import and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RsaPolicy {
    /// Smallest modulus in bits.
    pub min_bits: usize,
    /// Largest modulus in bits.
    pub max_bits: usize,
    /// Whether the public exponent must be exactly 65537.
    pub require_e_65537: bool,
}

impl RsaPolicy {
    /// 2048..=4096 bits, e = 65537.
    pub const DEFAULT: RsaPolicy = RsaPolicy { min_bits: 2048, max_bits: 4096, require_e_65537: true };

    fn check(&self, key: &rsa::PublicKey) -> Result<()> {
        let bits = modulus_bits(key);
        if bits < self.min_bits || bits > self.max_bits {
            return Err(Error::KeyPolicy);
        }
        if self.require_e_65537 && *key.e() != BoxedUint::from(DEFAULT_EXPONENT) {
            return Err(Error::KeyPolicy);
        }
        Ok(())
    }
}

impl Default for RsaPolicy {
    fn default() -> Self {
        RsaPolicy::DEFAULT
    }
}

/// An RSA private key. Zeroized on drop; `Debug` does not print it.
///
/// Under the `aws-lc` [`provider`](crate::provider) it also keeps aws-lc's
/// form of the key, made on first use.
pub struct RsaPrivateKey {
    key: rsa::PrivateKey,
    #[cfg(feature = "aws-lc")]
    fast: std::sync::OnceLock<Option<Box<crate::provider::awslc::RsaPrivate>>>,
}

/// An RSA public key. Two keys are equal when their modulus and exponent are.
#[derive(Clone)]
pub struct RsaPublicKey {
    key: rsa::PublicKey,
    #[cfg(feature = "aws-lc")]
    fast: std::sync::OnceLock<Option<crate::provider::awslc::RsaPublic>>,
}

impl PartialEq for RsaPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for RsaPublicKey {}

impl core::fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RsaPrivateKey({} bits, <redacted>)", modulus_bits(self.key.as_public_key()))
    }
}

impl core::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RsaPublicKey({} bits)", self.bits())
    }
}

// The inner `rsa::PrivateKey` zeroizes its components when dropped.
impl ZeroizeOnDrop for RsaPrivateKey {}

impl RsaPrivateKey {
    fn new(key: rsa::PrivateKey) -> Self {
        RsaPrivateKey {
            key,
            #[cfg(feature = "aws-lc")]
            fast: std::sync::OnceLock::new(),
        }
    }

    /// aws-lc's form of the key, made on first use from its PKCS#8
    /// encoding; `None` for a key aws-lc does not take (outside 2048–8192
    /// bits), which the RustCrypto code serves.
    #[cfg(feature = "aws-lc")]
    fn fast(&self) -> Option<&crate::provider::awslc::RsaPrivate> {
        self.fast
            .get_or_init(|| {
                let der = self.to_pkcs8_der().ok()?;
                crate::provider::awslc::RsaPrivate::from_pkcs8(&der).map(Box::new)
            })
            .as_deref()
    }

    /// Generates a key pair with e = 65537.
    ///
    /// Generation of a 4096-bit key takes around a second on a server core
    /// and much longer in debug builds.
    ///
    /// Under `std` the two primes are searched for in parallel on two
    /// threads, each with a ChaCha20 generator seeded from `rng`; without
    /// `std` the `rsa` crate's own generator runs on the caller's thread.
    /// Either way the primes are BPSW-tested by `crypto-primes` and have
    /// their top two bits set, so the modulus has exactly `size` bits.
    ///
    /// Under the `aws-lc` [`provider`](crate::provider) aws-lc generates
    /// the key with its own generator and `rng` is not used.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R, size: RsaKeySize) -> Result<Self> {
        #[cfg(feature = "std")]
        {
            #[cfg(feature = "aws-lc")]
            {
                let _ = rng;
                let der = crate::provider::awslc::rsa_generate(size.bits())?;
                Self::from_pkcs8_der(&der)
            }
            #[cfg(not(feature = "aws-lc"))]
            keygen::generate_parallel(rng, size.bits()).map(Self::new)
        }
        #[cfg(not(feature = "std"))]
        {
            let key = rsa::PrivateKey::new(rng, size.bits()).map_err(|e| match e {
                rsa::Error::Rng => Error::Rng,
                _ => Error::Internal,
            })?;
            Ok(Self::new(key))
        }
    }

    /// Reads a PKCS#8 DER private key under the default policy.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        Self::from_pkcs8_der_with_policy(der, &RsaPolicy::DEFAULT)
    }

    /// Reads a PKCS#8 DER private key under `policy`.
    pub fn from_pkcs8_der_with_policy(der: &[u8], policy: &RsaPolicy) -> Result<Self> {
        if der.len() > MAX_ENCODED_KEY_LEN {
            return Err(Error::InvalidLength);
        }
        let key = rsa::PrivateKey::from_pkcs8_der(der).map_err(|_| Error::InvalidKey)?;
        policy.check(key.as_public_key())?;
        Ok(Self::new(key))
    }

    /// Reads a PEM `PRIVATE KEY` (PKCS#8) block under the default policy.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        Self::from_pkcs8_pem_with_policy(pem, &RsaPolicy::DEFAULT)
    }

    /// Reads a PEM `PRIVATE KEY` (PKCS#8) block under `policy`.
    pub fn from_pkcs8_pem_with_policy(pem: &str, policy: &RsaPolicy) -> Result<Self> {
        if pem.len() > MAX_ENCODED_KEY_LEN {
            return Err(Error::InvalidLength);
        }
        let key = rsa::PrivateKey::from_pkcs8_pem(pem).map_err(|_| Error::InvalidKey)?;
        policy.check(key.as_public_key())?;
        Ok(Self::new(key))
    }

    /// Writes the key as PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = self.key.to_pkcs8_der().map_err(|_| Error::Encoding)?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// Writes the key as a PEM `PRIVATE KEY` block, LF line endings.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        self.key.to_pkcs8_pem(LineEnding::LF).map_err(|_| Error::Encoding)
    }

    /// The matching public key.
    pub fn public_key(&self) -> RsaPublicKey {
        RsaPublicKey::new(self.key.to_public_key())
    }

    /// OAEP-SHA-256 (MGF1-SHA-256, empty label) decryption, blinded with `rng`.
    ///
    /// Every failure is [`Error::Decrypt`].
    pub fn oaep_decrypt<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.oaep_decrypt_with_label(rng, ciphertext, b"")
    }

    /// OAEP-SHA-256 decryption with a label (at most [`MAX_LABEL_LEN`] bytes).
    pub fn oaep_decrypt_with_label<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        ciphertext: &[u8],
        label: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        if label.len() > MAX_LABEL_LEN || ciphertext.len() != self.key.as_public_key().size() {
            return Err(Error::Decrypt);
        }
        #[cfg(feature = "aws-lc")]
        if let Some(key) = self.fast() {
            return key.oaep_decrypt(ciphertext, label);
        }
        // One blinded private-key operation (with rsa's m^e = c check
        // against faults), then EME-OAEP decoding (RFC 8017 §7.1.2 step 3)
        // here rather than in rsa 0.10, which skips step 3g's check of the
        // first octet Y. Every check is combined without branching; only the
        // final verdict is branched on, and every failure is the same error
        // (no Manger-style oracle).
        let n = self.key.n().as_ref();
        let c = BoxedUint::from_be_slice(ciphertext, n.bits_precision()).map_err(|_| Error::Decrypt)?;
        let mut m =
            rsa::hazmat::rsa_decrypt_and_check(&self.key, Some(rng), &c).map_err(|_| Error::Decrypt)?;
        let bytes = Zeroizing::new(m.to_be_bytes());
        zeroize::Zeroize::zeroize(&mut m);
        // m < n, so the octets before the last k (present when n's precision
        // is wider than k octets) are zero.
        let k = ciphertext.len();
        let mut em =
            Zeroizing::new(bytes.get(bytes.len().saturating_sub(k)..).ok_or(Error::Decrypt)?.to_vec());
        if em.len() != k {
            return Err(Error::Decrypt);
        }
        eme_oaep_decode(&mut em, label)
    }

    /// RSASSA-PSS signature (SHA-256, MGF1-SHA-256, 32-byte salt) of `msg`.
    pub fn sign_pss<R: TryCryptoRng + ?Sized>(&self, rng: &mut R, msg: &[u8]) -> Result<Vec<u8>> {
        #[cfg(feature = "aws-lc")]
        if let Some(key) = self.fast() {
            return key.sign(true, msg);
        }
        self.key.pss_sign_with_rng::<Sha256, R>(rng, msg).map_err(map_sign_err)
    }

    /// RSASSA-PKCS1-v1_5 signature with SHA-256 of `msg`, blinded with `rng`.
    pub fn sign_pkcs1v15<R: TryCryptoRng + ?Sized>(&self, rng: &mut R, msg: &[u8]) -> Result<Vec<u8>> {
        #[cfg(feature = "aws-lc")]
        if let Some(key) = self.fast() {
            return key.sign(false, msg);
        }
        self.key.pkcs1v15_sign_with_rng::<Sha256, R>(rng, msg).map_err(map_sign_err)
    }
}

/// `bytes` without its leading zero bytes (one zero byte for zero).
fn minimal_be(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len().saturating_sub(1));
    bytes.get(start..).unwrap_or_default().to_vec()
}

fn modulus_bits(key: &rsa::PublicKey) -> usize {
    usize::try_from(key.n().as_ref().bit_width()).unwrap_or(usize::MAX)
}

fn map_sign_err(e: rsa::Error) -> Error {
    match e {
        rsa::Error::Rng => Error::Rng,
        _ => Error::Internal,
    }
}

fn oaep(label: &[u8]) -> Oaep<Sha256> {
    if label.is_empty() {
        Oaep::<Sha256>::new()
    } else {
        Oaep::<Sha256>::new_with_label(Box::<[u8]>::from(label))
    }
}

/// EME-OAEP decoding with SHA-256 and MGF1-SHA-256 (RFC 8017 §7.1.2 step
/// 3) of the encoded message `em` (`k` octets: `Y ‖ maskedSeed ‖
/// maskedDB`), unmasked in place. Constant time in the contents of `em`
/// until the verdict: Y = 0, lHash' = lHash, and `PS ‖ 0x01` are all checked
/// and combined before anything depends on them.
fn eme_oaep_decode(em: &mut [u8], label: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    use sha2::Digest;
    use subtle::{ConditionallySelectable, ConstantTimeEq};
    const H: usize = 32;
    let l_hash = Sha256::digest(label);
    let (y, rest) = em.split_first_mut().ok_or(Error::Decrypt)?;
    // k ≥ 2·hLen + 2: the seed, lHash' and the 0x01 octet fit.
    if rest.len() < 2 * H + 1 {
        return Err(Error::Decrypt);
    }
    let (seed, db) = rest.split_at_mut(H);
    mgf1_sha256_xor(seed, db);
    mgf1_sha256_xor(db, seed);
    let (l_hash_found, ps_m) = db.split_at(H);
    let mut good = y.ct_eq(&0) & l_hash_found.ct_eq(l_hash.as_slice());
    // PS (zero octets), then 0x01, then M: find the first 0x01 and refuse
    // any non-zero octet before it.
    let mut looking = subtle::Choice::from(1);
    let mut one_at = 0u32;
    let mut stray = subtle::Choice::from(0);
    for (i, b) in ps_m.iter().enumerate() {
        let is_one = b.ct_eq(&1);
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        one_at.conditional_assign(&i, looking & is_one);
        looking &= !is_one;
        stray |= looking & !b.ct_eq(&0);
    }
    good &= !looking & !stray;
    if !bool::from(good) {
        return Err(Error::Decrypt);
    }
    let start = usize::try_from(one_at).map_err(|_| Error::Decrypt)?.saturating_add(1);
    Ok(Zeroizing::new(ps_m.get(start..).ok_or(Error::Decrypt)?.to_vec()))
}

/// `out ^= MGF1-SHA-256(seed, out.len())` (RFC 8017 §B.2.1).
fn mgf1_sha256_xor(out: &mut [u8], seed: &[u8]) {
    use sha2::Digest;
    for (counter, block) in out.chunks_mut(32).enumerate() {
        let counter = u32::try_from(counter).unwrap_or(u32::MAX);
        let mask = Sha256::new().chain_update(seed).chain_update(counter.to_be_bytes()).finalize();
        for (o, m) in block.iter_mut().zip(mask.iter()) {
            *o ^= m;
        }
    }
}

impl RsaPublicKey {
    fn new(key: rsa::PublicKey) -> Self {
        RsaPublicKey {
            key,
            #[cfg(feature = "aws-lc")]
            fast: std::sync::OnceLock::new(),
        }
    }

    /// aws-lc's form of the key, parsed once on first use from its SPKI
    /// encoding; `None` for a key aws-lc does not take.
    #[cfg(feature = "aws-lc")]
    fn fast(&self) -> Option<&crate::provider::awslc::RsaPublic> {
        self.fast
            .get_or_init(|| crate::provider::awslc::RsaPublic::from_spki(&self.to_spki_der().ok()?))
            .as_ref()
    }

    /// Reads a `SubjectPublicKeyInfo` DER key under the default policy.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        Self::from_spki_der_with_policy(der, &RsaPolicy::DEFAULT)
    }

    /// Reads a `SubjectPublicKeyInfo` DER key under `policy`.
    pub fn from_spki_der_with_policy(der: &[u8], policy: &RsaPolicy) -> Result<Self> {
        if der.len() > MAX_ENCODED_KEY_LEN {
            return Err(Error::InvalidLength);
        }
        let key = rsa::PublicKey::from_public_key_der(der).map_err(|_| Error::InvalidKey)?;
        policy.check(&key)?;
        Ok(Self::new(key))
    }

    /// Reads a PEM `PUBLIC KEY` block under the default policy.
    pub fn from_spki_pem(pem: &str) -> Result<Self> {
        Self::from_spki_pem_with_policy(pem, &RsaPolicy::DEFAULT)
    }

    /// Reads a PEM `PUBLIC KEY` block under `policy`.
    pub fn from_spki_pem_with_policy(pem: &str, policy: &RsaPolicy) -> Result<Self> {
        if pem.len() > MAX_ENCODED_KEY_LEN {
            return Err(Error::InvalidLength);
        }
        let key = rsa::PublicKey::from_public_key_pem(pem).map_err(|_| Error::InvalidKey)?;
        policy.check(&key)?;
        Ok(Self::new(key))
    }

    /// Writes the key as `SubjectPublicKeyInfo` DER.
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        self.key.to_public_key_der().map(|d| d.as_bytes().to_vec()).map_err(|_| Error::Encoding)
    }

    /// Writes the key as a PEM `PUBLIC KEY` block, LF line endings.
    pub fn to_spki_pem(&self) -> Result<String> {
        self.key.to_public_key_pem(LineEnding::LF).map_err(|_| Error::Encoding)
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        modulus_bits(&self.key)
    }

    /// The modulus `n`, big-endian, without leading zero bytes (PKCS#11's
    /// `CKA_MODULUS`, JWK's `n`).
    pub fn modulus(&self) -> Vec<u8> {
        minimal_be(&self.key.n().as_ref().to_be_bytes())
    }

    /// The public exponent `e`, big-endian, without leading zero bytes
    /// (PKCS#11's `CKA_PUBLIC_EXPONENT`, JWK's `e`).
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spki = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rsa2048.spki.der"))?;
    /// let key = coffer_core::rsa::RsaPublicKey::from_spki_der(&spki)?;
    /// assert_eq!(key.public_exponent(), [0x01, 0x00, 0x01]);
    /// assert_eq!(key.modulus().len() * 8, key.bits());
    /// # Ok(()) }
    /// ```
    pub fn public_exponent(&self) -> Vec<u8> {
        minimal_be(&self.key.e().to_be_bytes())
    }

    /// Largest plaintext [`Self::oaep_encrypt`] takes: `k - 2·32 - 2` bytes.
    pub fn oaep_max_plaintext_len(&self) -> usize {
        self.key.size().saturating_sub(66)
    }

    /// OAEP-SHA-256 (MGF1-SHA-256, empty label) encryption of `plaintext`.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] if `plaintext` exceeds [`Self::oaep_max_plaintext_len`].
    pub fn oaep_encrypt<R: TryCryptoRng + ?Sized>(&self, rng: &mut R, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.oaep_encrypt_with_label(rng, plaintext, b"")
    }

    /// OAEP-SHA-256 encryption with a label (at most [`MAX_LABEL_LEN`] bytes).
    pub fn oaep_encrypt_with_label<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        plaintext: &[u8],
        label: &[u8],
    ) -> Result<Vec<u8>> {
        if plaintext.len() > self.oaep_max_plaintext_len() || label.len() > MAX_LABEL_LEN {
            return Err(Error::InvalidLength);
        }
        #[cfg(feature = "aws-lc")]
        if let Some(key) = self.fast() {
            return key.oaep_encrypt(plaintext, label);
        }
        self.key.encrypt(rng, oaep(label), plaintext).map_err(|e| match e {
            rsa::Error::Rng => Error::Rng,
            rsa::Error::MessageTooLong => Error::InvalidLength,
            _ => Error::Internal,
        })
    }

    /// Verifies an RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt) signature.
    pub fn verify_pss(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        if sig.len() != self.key.size() {
            return Err(Error::Verify);
        }
        #[cfg(feature = "aws-lc")]
        if let Some(key) = self.fast() {
            return key.verify(true, msg, sig);
        }
        self.key.pss_verify::<Sha256>(msg, sig).map_err(|_| Error::Verify)
    }

    /// Verifies an RSASSA-PKCS1-v1_5 signature with SHA-256.
    pub fn verify_pkcs1v15(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        if sig.len() != self.key.size() {
            return Err(Error::Verify);
        }
        #[cfg(feature = "aws-lc")]
        if let Some(key) = self.fast() {
            return key.verify(false, msg, sig);
        }
        self.key.pkcs1v15_verify::<Sha256>(msg, sig).map_err(|_| Error::Verify)
    }
}

#[cfg(all(feature = "std", not(feature = "aws-lc")))]
mod keygen {
    //! Parallel RSA key generation (feature `std`).

    use chacha20::ChaCha20Rng;
    use crypto_primes::hazmat::{SetBits, SmallFactorsSieveFactory};
    use crypto_primes::{Flavor, is_prime, sieve_and_find};
    use rand_core::SeedableRng;
    use rsa::BoxedUint;
    use zeroize::Zeroize;

    use super::{DEFAULT_EXPONENT, modulus_bits};
    use crate::error::{Error, Result};
    use crate::rng::{self, TryCryptoRng};

    /// Attempts before giving up; each fails only with negligible
    /// probability (p = q, or e not invertible modulo λ(n)).
    const ATTEMPTS: usize = 16;

    /// A random prime of exactly `bits` bits with the top two bits set.
    fn find_prime(mut rng: ChaCha20Rng, bits: u32) -> Option<BoxedUint> {
        let factory = SmallFactorsSieveFactory::<BoxedUint>::new(Flavor::Any, bits, SetBits::TwoMsb).ok()?;
        sieve_and_find(&mut rng, factory, |_, candidate| is_prime(Flavor::Any, candidate)).ok()?
    }

    fn prime_pair<R: TryCryptoRng + ?Sized>(rng: &mut R, half: u32) -> Result<(BoxedUint, BoxedUint)> {
        let mut seeds = [[0u8; 32]; 2];
        let filled = seeds.iter_mut().try_for_each(|s| rng::fill(rng, s));
        let [seed_p, seed_q] = seeds;
        seeds.zeroize();
        filled?;
        // A plain spawned thread, not `std::thread::scope`: a scope takes
        // `std::thread::current()` of the calling thread, which on a thread
        // Rust did not start (a C program's main thread, through coffer-ffi)
        // allocates a thread handle kept in that thread's TLS until it
        // exits, and the main thread never runs TLS destructors: valgrind
        // reports it as possibly lost. The closure owns its seed and bit
        // count, so it needs no borrow, and `join` waits without parking.
        let other = std::thread::Builder::new()
            .name("coffer-rsa-keygen".into())
            .spawn(move || find_prime(ChaCha20Rng::from_seed(seed_q), half));
        let p = find_prime(ChaCha20Rng::from_seed(seed_p), half);
        let q = match other {
            Ok(handle) => handle.join().ok().flatten(),
            // No second thread to be had: search on this one.
            Err(_) => find_prime(ChaCha20Rng::from_seed(seed_q), half),
        };
        match (p, q) {
            (Some(p), Some(q)) => Ok((p, q)),
            _ => Err(Error::Internal),
        }
    }

    pub(super) fn generate_parallel<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        bits: usize,
    ) -> Result<rsa::PrivateKey> {
        let half = u32::try_from(bits / 2).map_err(|_| Error::InvalidInput)?;
        for _ in 0..ATTEMPTS {
            let (p, q) = prime_pair(rng, half)?;
            if p == q {
                continue;
            }
            if let Ok(key) = rsa::PrivateKey::from_p_q(p, q, BoxedUint::from(DEFAULT_EXPONENT))
                && modulus_bits(key.as_public_key()) == bits
                && key.validate().is_ok()
            {
                return Ok(key);
            }
        }
        Err(Error::Internal)
    }
}
