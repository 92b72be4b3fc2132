//! Verifying signatures on certificates and CSRs, and chains (leaf → CA).

use x509_cert::der::Encode;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::certificate::{Certificate, Csr};
use super::keypair::{KeyPair, PublicKey};
use crate::error::{AlgorithmName, Error, Result};

#[cfg(feature = "rsa")]
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
#[cfg(feature = "rsa")]
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// Verifies `sig` over `msg` by `key` under the algorithm `alg` names.
/// Only the schemes coffer writes are accepted: sha256WithRSAEncryption,
/// RSASSA-PSS with SHA-256/MGF1-SHA-256/32-byte salt, ecdsa-with-SHA256.
fn verify_signed(key: &PublicKey, alg: &AlgorithmIdentifierOwned, msg: &[u8], sig: &[u8]) -> Result<()> {
    match (key, alg.oid) {
        #[cfg(feature = "rsa")]
        (PublicKey::Rsa(k), oid) if oid == SHA256_WITH_RSA => {
            let params_ok = match &alg.parameters {
                None => true,
                Some(p) => p.is_null(),
            };
            if !params_ok {
                return Err(Error::Verify);
            }
            k.verify_pkcs1v15(msg, sig)
        }
        #[cfg(feature = "rsa")]
        (PublicKey::Rsa(k), oid) if oid == RSASSA_PSS => {
            let expected =
                rsa::pss::get_default_pss_signature_algo_id::<sha2::Sha256>().map_err(|_| Error::Verify)?;
            let same = alg.to_der().ok() == expected.to_der().ok();
            if !same {
                return Err(Error::UnsupportedAlgorithm(AlgorithmName::RsaPssOtherParameters));
            }
            k.verify_pss(msg, sig)
        }
        (PublicKey::P256(k), oid) if oid == ECDSA_WITH_SHA256 => {
            if alg.parameters.is_some() {
                return Err(Error::Verify);
            }
            k.verify_der(msg, sig)
        }
        (_, oid) => match unsupported(oid) {
            // A supported algorithm with the other kind of key: it cannot verify.
            None => Err(Error::Verify),
            Some(name) => Err(Error::UnsupportedAlgorithm(name)),
        },
    }
}

/// The name of a signature algorithm coffer does not support, or `None`
/// for one it does.
fn unsupported(oid: ObjectIdentifier) -> Option<AlgorithmName> {
    const fn o(text: &str) -> ObjectIdentifier {
        ObjectIdentifier::new_unwrap(text)
    }
    const SUPPORTED: [ObjectIdentifier; 3] =
        [o("1.2.840.113549.1.1.11"), o("1.2.840.113549.1.1.10"), o("1.2.840.10045.4.3.2")];
    const NAMES: [(ObjectIdentifier, AlgorithmName); 10] = [
        (o("1.2.840.113549.1.1.4"), AlgorithmName::Md5WithRsa),
        (o("1.2.840.113549.1.1.5"), AlgorithmName::Sha1WithRsa),
        (o("1.2.840.113549.1.1.14"), AlgorithmName::Sha224WithRsa),
        (o("1.2.840.113549.1.1.12"), AlgorithmName::Sha384WithRsa),
        (o("1.2.840.113549.1.1.13"), AlgorithmName::Sha512WithRsa),
        (o("1.2.840.10045.4.1"), AlgorithmName::EcdsaWithSha1),
        (o("1.2.840.10045.4.3.3"), AlgorithmName::EcdsaWithSha384),
        (o("1.2.840.10045.4.3.4"), AlgorithmName::EcdsaWithSha512),
        (o("1.3.101.112"), AlgorithmName::Ed25519),
        (o("1.3.101.113"), AlgorithmName::Ed448),
    ];
    if SUPPORTED.contains(&oid) {
        return None;
    }
    Some(NAMES.iter().find(|(known, _)| *known == oid).map_or(AlgorithmName::Other, |(_, name)| *name))
}

/// Checks a CSR's self-signature and returns the requester's public key.
///
/// # Errors
/// [`Error::Verify`] if the signature does not verify under the CSR's own key.
pub fn verify_csr(csr: &Csr) -> Result<PublicKey> {
    let key = csr.public_key()?;
    let info = csr.inner.info.to_der().map_err(|_| Error::MalformedCertificate)?;
    let sig = csr.inner.signature.as_bytes().ok_or(Error::Verify)?;
    verify_signed(&key, &csr.inner.algorithm, &info, sig)?;
    Ok(key)
}

pub(super) fn check_validity(cert: &Certificate, now: u64) -> Result<()> {
    if now < cert.not_before() {
        return Err(Error::CertificateNotYetValid);
    }
    if now > cert.not_after() {
        return Err(Error::CertificateExpired);
    }
    Ok(())
}

pub(super) fn check_signed_by(cert: &Certificate, issuer_key: &PublicKey) -> Result<()> {
    let tbs = cert.inner.tbs_certificate().to_der().map_err(|_| Error::MalformedCertificate)?;
    let sig = cert.inner.signature().as_bytes().ok_or(Error::Verify)?;
    if cert.inner.signature_algorithm() != cert.inner.tbs_certificate().signature() {
        return Err(Error::Verify);
    }
    verify_signed(issuer_key, cert.inner.signature_algorithm(), &tbs, sig)
}

/// Verifies `leaf` against the trusted CA certificate `ca` at time `now`
/// (seconds since the Unix epoch) and returns the leaf's public key.
///
/// Checks, each with its own error: the CA is a CA (basicConstraints
/// CA:TRUE and, if keyUsage is present, keyCertSign: [`Error::NotACa`]);
/// neither certificate has a critical extension this verifier does not
/// understand ([`Error::UnknownCriticalExtension`]); the leaf names the CA as issuer
/// ([`Error::IssuerMismatch`]); the CA's signature on the leaf and on
/// itself ([`Error::Verify`]); both validity windows
/// ([`Error::CertificateExpired`], [`Error::CertificateNotYetValid`]).
pub fn verify_chain(leaf: &Certificate, ca: &Certificate, now: u64) -> Result<PublicKey> {
    if ca.ca_path_len().is_none() || !may_sign_certificates(ca) {
        return Err(Error::NotACa);
    }
    check_critical_extensions(ca)?;
    check_critical_extensions(leaf)?;
    if leaf.inner.tbs_certificate().issuer() != ca.inner.tbs_certificate().subject() {
        return Err(Error::IssuerMismatch);
    }
    let ca_key = ca.public_key()?;
    check_signed_by(ca, &ca_key)?;
    check_signed_by(leaf, &ca_key)?;
    check_validity(ca, now)?;
    check_validity(leaf, now)?;
    leaf.public_key()
}

/// Whether `ca`'s keyUsage, if present, includes keyCertSign (RFC 5280 §4.2.1.3).
pub(super) fn may_sign_certificates(ca: &Certificate) -> bool {
    key_usage_allows(ca, x509_cert::ext::pkix::KeyUsages::KeyCertSign)
}

/// Whether `ca`'s keyUsage, if present, includes cRLSign.
pub(super) fn may_sign_crls(ca: &Certificate) -> bool {
    key_usage_allows(ca, x509_cert::ext::pkix::KeyUsages::CRLSign)
}

fn key_usage_allows(ca: &Certificate, usage: x509_cert::ext::pkix::KeyUsages) -> bool {
    use x509_cert::ext::pkix::KeyUsage;
    match ca.inner.tbs_certificate().get_extension::<KeyUsage>() {
        Ok(None) => true,
        Ok(Some((_, ku))) => ku.0.contains(usage),
        Err(_) => false,
    }
}

/// Checks a CRL's signature by `issuer_key` (inner and outer algorithms equal).
pub(super) fn check_signed_list(crl: &super::crl::Crl, issuer_key: &PublicKey) -> Result<()> {
    let list = &crl.inner;
    let tbs = list.tbs_cert_list.to_der().map_err(|_| Error::MalformedCertificate)?;
    let sig = list.signature.as_bytes().ok_or(Error::Verify)?;
    if list.signature_algorithm != list.tbs_cert_list.signature {
        return Err(Error::Verify);
    }
    verify_signed(issuer_key, &list.signature_algorithm, &tbs, sig)
}

/// Extensions this verifier understands; any other extension marked
/// critical makes the certificate unusable (RFC 5280 §4.2).
const KNOWN_EXTENSIONS: [ObjectIdentifier; 6] = [
    ObjectIdentifier::new_unwrap("2.5.29.19"), // basicConstraints
    ObjectIdentifier::new_unwrap("2.5.29.15"), // keyUsage
    ObjectIdentifier::new_unwrap("2.5.29.37"), // extKeyUsage
    ObjectIdentifier::new_unwrap("2.5.29.17"), // subjectAltName
    ObjectIdentifier::new_unwrap("2.5.29.14"), // subjectKeyIdentifier
    ObjectIdentifier::new_unwrap("2.5.29.35"), // authorityKeyIdentifier
];

pub(super) fn check_critical_extensions(cert: &Certificate) -> Result<()> {
    let exts = cert.inner.tbs_certificate().extensions().map(|e| e.as_slice()).unwrap_or(&[]);
    if exts.iter().any(|e| e.critical && !KNOWN_EXTENSIONS.contains(&e.extn_id)) {
        return Err(Error::UnknownCriticalExtension);
    }
    Ok(())
}

/// [`verify_chain`] at the current system time (feature `std`).
#[cfg(feature = "std")]
pub fn verify_chain_now(leaf: &Certificate, ca: &Certificate) -> Result<PublicKey> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Error::InvalidInput)?
        .as_secs();
    verify_chain(leaf, ca, now)
}

/// A private key with its certificate, checked to belong together.
#[derive(Debug)]
pub struct CertificatePair {
    key: KeyPair,
    cert: Certificate,
}

impl CertificatePair {
    /// Pairs `key` with `cert`.
    ///
    /// # Errors
    /// [`Error::KeyMismatch`] if the certificate certifies a different key.
    pub fn new(key: KeyPair, cert: Certificate) -> Result<Self> {
        if cert.public_key()? != key.public_key() {
            return Err(Error::KeyMismatch);
        }
        Ok(CertificatePair { key, cert })
    }

    /// The private key.
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }
}
