//! Who signs a certificate or CSR: a [`CertSigner`] is any holder of a
//! private key that can sign the DER of a to-be-signed structure, so the
//! same builder code signs with an in-memory [`KeyPair`] ([`KeySigner`]) or
//! with a key that never leaves an HSM (coffer-hsm implements the trait for
//! a key handle).

use alloc::vec::Vec;

use p256::ecdsa::signature::Keypair;
use x509_cert::builder::Builder;
use x509_cert::der::asn1::{BitString, Null};
use x509_cert::der::{Any, Document};
use x509_cert::spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey, ObjectIdentifier,
};

use super::keypair::{KeyPair, PublicKey, SignatureScheme};
use crate::error::{Error, Result};
use crate::rng::TryCryptoRng;

/// `sha256WithRSAEncryption` (RFC 4055).
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// `ecdsa-with-SHA256` (RFC 5758).
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// A private key that signs certificates and CSRs.
///
/// `sign_tbs` gets the exact DER bytes to sign and returns the signature
/// as it goes into the certificate's `signatureValue`: PKCS#1 v1.5 or PSS
/// bytes for RSA, a DER `ECDSA-Sig-Value` for P-256.
///
/// ```
/// use coffer_core::cert::{self, CaParams, CertSigner, KeyAlgorithm, KeyPair, KeySigner, Validity};
/// # use coffer_core::rng::OsRng;
/// # #[cfg(feature = "std")] {
/// let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
/// let mut rng = OsRng;
/// let mut signer = KeySigner::new(&mut rng, &key, key.default_scheme())?;
/// assert_eq!(signer.public_key()?, key.public_key());
/// let params = CaParams { subject: "CN=Root", validity: Validity::days_from_now(30)?, path_len: None };
/// let ca = cert::self_signed_ca_with(&mut signer, &params)?;
/// cert::verify_chain_now(&ca, &ca)?;
/// # }
/// # Ok::<(), coffer_core::Error>(())
/// ```
pub trait CertSigner {
    /// The public half of the signing key.
    ///
    /// # Errors
    /// Whatever reaching the key costs (an HSM refusing the session, say).
    fn public_key(&self) -> Result<PublicKey>;

    /// The scheme of the signatures [`CertSigner::sign_tbs`] makes.
    fn scheme(&self) -> SignatureScheme;

    /// Signs `tbs` under [`CertSigner::scheme`].
    ///
    /// # Errors
    /// Whatever the key holder refuses or fails with.
    fn sign_tbs(&mut self, tbs: &[u8]) -> Result<Vec<u8>>;

    /// Fills `dest` with random bytes, for the serial numbers the issuer
    /// gives (from the RNG its signatures use anyway).
    ///
    /// # Errors
    /// [`Error::Rng`] if the RNG fails.
    fn fill_random(&mut self, dest: &mut [u8]) -> Result<()>;
}

/// A [`KeyPair`] in memory as a [`CertSigner`], with the RNG RSA signing
/// needs (ECDSA signing does not use it: RFC 6979, or aws-lc's own generator).
pub struct KeySigner<'a, R: TryCryptoRng + ?Sized> {
    rng: &'a mut R,
    key: &'a KeyPair,
    scheme: SignatureScheme,
}

impl<'a, R: TryCryptoRng + ?Sized> KeySigner<'a, R> {
    /// Signs with `key` under `scheme`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `scheme` is for the other key type.
    pub fn new(rng: &'a mut R, key: &'a KeyPair, scheme: SignatureScheme) -> Result<Self> {
        let fits = match key {
            KeyPair::P256(_) => scheme == SignatureScheme::EcdsaP256Sha256,
            #[cfg(feature = "rsa")]
            KeyPair::Rsa(_) => {
                matches!(scheme, SignatureScheme::RsaPkcs1Sha256 | SignatureScheme::RsaPssSha256)
            }
        };
        if !fits {
            return Err(Error::InvalidInput);
        }
        Ok(KeySigner { rng, key, scheme })
    }
}

impl<R: TryCryptoRng + ?Sized> CertSigner for KeySigner<'_, R> {
    fn public_key(&self) -> Result<PublicKey> {
        Ok(self.key.public_key())
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    fn sign_tbs(&mut self, tbs: &[u8]) -> Result<Vec<u8>> {
        self.key.sign(self.rng, self.scheme, tbs)
    }

    fn fill_random(&mut self, dest: &mut [u8]) -> Result<()> {
        crate::rng::fill(self.rng, dest)
    }
}

/// The `AlgorithmIdentifier` of `scheme` as coffer writes it (and as
/// `verify_signed` accepts it).
pub(crate) fn algorithm_id(scheme: SignatureScheme) -> Result<AlgorithmIdentifierOwned> {
    match scheme {
        SignatureScheme::RsaPkcs1Sha256 => {
            Ok(AlgorithmIdentifierOwned { oid: SHA256_WITH_RSA, parameters: Some(Any::from(Null)) })
        }
        #[cfg(feature = "rsa")]
        SignatureScheme::RsaPssSha256 => {
            rsa::pss::get_default_pss_signature_algo_id::<sha2::Sha256>().map_err(|_| Error::Encoding)
        }
        SignatureScheme::EcdsaP256Sha256 => {
            Ok(AlgorithmIdentifierOwned { oid: ECDSA_WITH_SHA256, parameters: None })
        }
        #[allow(unreachable_patterns, reason = "PSS needs the rsa feature")]
        _ => Err(Error::InvalidInput),
    }
}

/// What x509-cert's builders need from a signer, taken from a
/// [`CertSigner`] up front: the issuer's SPKI and the signature algorithm.
struct BuilderKey {
    spki: SpkiDer,
    algorithm: AlgorithmIdentifierOwned,
}

/// A public key already encoded as SPKI DER.
#[derive(Clone)]
struct SpkiDer(Vec<u8>);

impl EncodePublicKey for SpkiDer {
    fn to_public_key_der(&self) -> x509_cert::spki::Result<Document> {
        Ok(Document::try_from(self.0.as_slice())?)
    }
}

impl Keypair for BuilderKey {
    type VerifyingKey = SpkiDer;

    fn verifying_key(&self) -> SpkiDer {
        self.spki.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for BuilderKey {
    fn signature_algorithm_identifier(&self) -> x509_cert::spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.algorithm.clone())
    }
}

/// Finalizes `builder` with `signer`'s key and algorithm, has `signer` sign
/// the to-be-signed bytes, and assembles the result.
pub(crate) fn sign_with<B: Builder>(mut builder: B, signer: &mut dyn CertSigner) -> Result<B::Output> {
    let key = BuilderKey {
        spki: SpkiDer(signer.public_key()?.to_spki_der()?),
        algorithm: algorithm_id(signer.scheme())?,
    };
    let tbs = builder.finalize(&key).map_err(|_| Error::Encoding)?;
    let sig = signer.sign_tbs(&tbs)?;
    let bits = BitString::from_bytes(&sig).map_err(|_| Error::Encoding)?;
    builder.assemble(bits, &key).map_err(|_| Error::Encoding)
}
