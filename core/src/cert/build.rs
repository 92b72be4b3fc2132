//! Building certificates and CSRs with x509-cert's builder: a self-signed
//! CA, PKCS#10 requests and leaf certificates.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::str::FromStr;
use core::time::Duration;

use x509_cert::TbsCertificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{CertificateBuilder, RequestBuilder};
use x509_cert::der::Encode;
use x509_cert::der::asn1::{Ia5String, OctetString};
use x509_cert::der::oid::AssociatedOid;
use x509_cert::der::oid::db::rfc5280::{ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH};
use x509_cert::der::{DateTime, Decode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::ext::{Criticality, Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity as X509Validity};

use super::certificate::{Certificate, Csr};
use super::keypair::{KeyPair, PublicKey, SignatureScheme};
use super::signer::{CertSigner, KeySigner, sign_with};
use super::verify::verify_csr;
use crate::error::{Error, Result};
use crate::rng::TryCryptoRng;

/// Most subject alternative names a certificate or CSR may carry.
pub const MAX_SANS: usize = 64;
/// Longest subject string accepted, in bytes.
pub const MAX_SUBJECT_LEN: usize = 1024;

/// A subject alternative name.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum San {
    /// A DNS name (`dNSName`), ASCII.
    Dns(String),
    /// An IPv4 or IPv6 address (`iPAddress`).
    Ip(core::net::IpAddr),
    /// A URI (`uniformResourceIdentifier`), ASCII.
    Uri(String),
}

impl San {
    fn to_general_name(&self) -> Result<GeneralName> {
        Ok(match self {
            San::Dns(s) => GeneralName::DnsName(Ia5String::new(s).map_err(|_| Error::InvalidInput)?),
            San::Uri(s) => {
                GeneralName::UniformResourceIdentifier(Ia5String::new(s).map_err(|_| Error::InvalidInput)?)
            }
            San::Ip(core::net::IpAddr::V4(a)) => GeneralName::IpAddress(
                OctetString::new(a.octets().to_vec()).map_err(|_| Error::InvalidInput)?,
            ),
            San::Ip(core::net::IpAddr::V6(a)) => GeneralName::IpAddress(
                OctetString::new(a.octets().to_vec()).map_err(|_| Error::InvalidInput)?,
            ),
        })
    }
}

/// A validity window in seconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// First second of validity.
    pub not_before: u64,
    /// Last second of validity.
    pub not_after: u64,
}

impl Validity {
    /// From now (the system clock, feature `std`) for `days` days, starting
    /// five minutes in the past to absorb clock skew.
    #[cfg(feature = "std")]
    pub fn days_from_now(days: u32) -> Result<Self> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| Error::InvalidInput)?
            .as_secs();
        let not_before = now.saturating_sub(300);
        let not_after = now.saturating_add(u64::from(days).saturating_mul(86_400));
        Ok(Validity { not_before, not_after })
    }

    fn to_x509(self) -> Result<X509Validity> {
        if self.not_after <= self.not_before {
            return Err(Error::InvalidInput);
        }
        let t = |secs: u64| -> Result<Time> {
            let dt =
                DateTime::from_unix_duration(Duration::from_secs(secs)).map_err(|_| Error::InvalidInput)?;
            Ok(Time::from(dt))
        };
        Ok(X509Validity::new(t(self.not_before)?, t(self.not_after)?))
    }
}

/// What a leaf certificate may be used for (extendedKeyUsage).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafUsage {
    /// TLS server (`serverAuth`).
    Server,
    /// TLS client (`clientAuth`).
    Client,
    /// Both: an agent that accepts and opens connections.
    ServerAndClient,
}

/// Parameters of a self-signed CA certificate.
#[derive(Clone, Debug)]
pub struct CaParams<'a> {
    /// Subject (and issuer) as an RFC 4514 string, for example `CN=Acme Root CA,O=Acme`.
    pub subject: &'a str,
    /// Validity window.
    pub validity: Validity,
    /// Longest chain of intermediate CAs allowed below this one; `Some(0)`
    /// means it may issue only end-entity certificates.
    pub path_len: Option<u8>,
}

/// Parameters of a leaf certificate.
#[derive(Clone, Debug)]
pub struct LeafParams<'a> {
    /// Validity window.
    pub validity: Validity,
    /// Server, client or both.
    pub usage: LeafUsage,
    /// Subject alternative names (for [`issue_from_csr`], empty means: copy
    /// the names the CSR requested).
    pub sans: &'a [San],
}

fn parse_name(subject: &str) -> Result<Name> {
    if subject.is_empty() || subject.len() > MAX_SUBJECT_LEN {
        return Err(Error::InvalidInput);
    }
    Name::from_str(subject).map_err(|_| Error::InvalidInput)
}

fn general_names(sans: &[San]) -> Result<Vec<GeneralName>> {
    if sans.len() > MAX_SANS {
        return Err(Error::LimitExceeded);
    }
    sans.iter().map(San::to_general_name).collect()
}

/// A random serial number: 20 bytes, positive, never starting with a zero
/// byte (RFC 5280 §4.1.2.2; 158 random bits), drawn by the issuer.
fn random_serial(signer: &mut dyn CertSigner) -> Result<SerialNumber> {
    let mut bytes = [0u8; 20];
    signer.fill_random(&mut bytes)?;
    bytes[0] = (bytes[0] & 0x3f) | 0x40;
    SerialNumber::new(&bytes).map_err(|_| Error::Internal)
}

fn ext<T: Criticality + AssociatedOid + Encode>(
    e: &T,
    subject: &Name,
    exts: &[Extension],
) -> x509_cert::builder::Result<Extension> {
    Ok(e.to_extension(subject, exts)?)
}

fn key_id(spk: SubjectPublicKeyInfoRef<'_>) -> x509_cert::builder::Result<SubjectKeyIdentifier> {
    Ok(SubjectKeyIdentifier::try_from(spk)?)
}

/// Self-signed CA: basicConstraints CA:TRUE (critical, with path length),
/// keyUsage keyCertSign + cRLSign (critical), subject and authority key ids.
struct CaProfile {
    subject: Name,
    path_len: Option<u8>,
}

impl BuilderProfile for CaProfile {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut exts = Vec::new();
        let ski = key_id(spk)?;
        let bc = BasicConstraints { ca: true, path_len_constraint: self.path_len };
        exts.push(ext(&bc, tbs.subject(), &exts)?);
        let ku = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        exts.push(ext(&ku, tbs.subject(), &exts)?);
        let aki = AuthorityKeyIdentifier { key_identifier: Some(ski.0.clone()), ..Default::default() };
        exts.push(ext(&aki, tbs.subject(), &exts)?);
        exts.push(ext(&ski, tbs.subject(), &exts)?);
        Ok(exts)
    }
}

/// End-entity certificate: basicConstraints CA:FALSE (critical), keyUsage
/// (critical), extendedKeyUsage, subjectAltName, subject and authority key ids.
struct LeafProfile {
    issuer: Name,
    subject: Name,
    usage: LeafUsage,
    rsa_key: bool,
    sans: Vec<GeneralName>,
}

impl BuilderProfile for LeafProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut exts = Vec::new();
        let bc = BasicConstraints { ca: false, path_len_constraint: None };
        exts.push(ext(&bc, tbs.subject(), &exts)?);
        // RSA keys also encrypt (key transport, OAEP to the certificate);
        // P-256 keys also agree keys (ECDH-ES to the certificate).
        let second = if self.rsa_key { KeyUsages::KeyEncipherment } else { KeyUsages::KeyAgreement };
        exts.push(ext(&KeyUsage(KeyUsages::DigitalSignature | second), tbs.subject(), &exts)?);
        let eku = match self.usage {
            LeafUsage::Server => vec![ID_KP_SERVER_AUTH],
            LeafUsage::Client => vec![ID_KP_CLIENT_AUTH],
            LeafUsage::ServerAndClient => vec![ID_KP_SERVER_AUTH, ID_KP_CLIENT_AUTH],
        };
        exts.push(ext(&ExtendedKeyUsage(eku), tbs.subject(), &exts)?);
        if !self.sans.is_empty() {
            exts.push(ext(&SubjectAltName(self.sans.clone()), tbs.subject(), &exts)?);
        }
        exts.push(ext(&key_id(spk)?, tbs.subject(), &exts)?);
        let aki =
            AuthorityKeyIdentifier { key_identifier: Some(key_id(issuer_spk)?.0), ..Default::default() };
        exts.push(ext(&aki, tbs.subject(), &exts)?);
        Ok(exts)
    }
}

fn spki_of(key: &PublicKey) -> Result<SubjectPublicKeyInfoOwned> {
    let der = key.to_spki_der()?;
    SubjectPublicKeyInfoOwned::from_der(&der).map_err(|_| Error::Encoding)
}

/// Creates a self-signed CA certificate for `key`, signed with its default
/// scheme (PKCS#1 v1.5 SHA-256 for RSA, ECDSA-SHA-256 for P-256).
///
/// ```
/// use coffer_core::cert::{self, CaParams, KeyAlgorithm, KeyPair, Validity};
/// # use coffer_core::rng::OsRng;
/// let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
/// let params = CaParams { subject: "CN=Acme Root CA,O=Acme", validity: Validity::days_from_now(3650)?, path_len: Some(0) };
/// let ca = cert::self_signed_ca(&mut OsRng, &key, &params)?;
/// assert_eq!(ca.ca_path_len(), Some(Some(0)));
/// # Ok::<(), coffer_core::Error>(())
/// ```
pub fn self_signed_ca<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    key: &KeyPair,
    params: &CaParams<'_>,
) -> Result<Certificate> {
    self_signed_ca_with(&mut KeySigner::new(rng, key, key.default_scheme())?, params)
}

/// [`self_signed_ca`] with any [`CertSigner`] (an HSM-held key, say): the
/// certificate certifies the signer's own public key and is signed under
/// its scheme.
///
/// # Errors
/// As [`self_signed_ca`], and whatever the signer fails with.
pub fn self_signed_ca_with(signer: &mut dyn CertSigner, params: &CaParams<'_>) -> Result<Certificate> {
    let serial = random_serial(signer)?;
    let profile = CaProfile { subject: parse_name(params.subject)?, path_len: params.path_len };
    let builder =
        CertificateBuilder::new(profile, serial, params.validity.to_x509()?, spki_of(&signer.public_key()?)?)
            .map_err(|_| Error::InvalidInput)?;
    Certificate::from_inner(sign_with(builder, signer)?)
}

/// Creates a PKCS#10 CSR for `key` with `subject` and `sans` (requested
/// through an extensionRequest attribute), signed by `key`.
pub fn csr<R: TryCryptoRng + ?Sized>(rng: &mut R, key: &KeyPair, subject: &str, sans: &[San]) -> Result<Csr> {
    csr_with(&mut KeySigner::new(rng, key, key.default_scheme())?, subject, sans)
}

/// [`csr`] with any [`CertSigner`]: a request for the signer's own key
/// (an intermediate CA whose key stays in an HSM, say).
///
/// # Errors
/// As [`csr`], and whatever the signer fails with.
pub fn csr_with(signer: &mut dyn CertSigner, subject: &str, sans: &[San]) -> Result<Csr> {
    let mut builder = RequestBuilder::new(parse_name(subject)?).map_err(|_| Error::InvalidInput)?;
    let names = general_names(sans)?;
    if !names.is_empty() {
        builder.add_extension(&SubjectAltName(names)).map_err(|_| Error::InvalidInput)?;
    }
    Csr::from_inner(sign_with(builder, signer)?)
}

/// Issues a leaf certificate for `subject_key` under the CA `ca_cert`/`ca_key`.
///
/// The signature scheme follows the CA key (`scheme` chooses between
/// PKCS#1 v1.5 and PSS for an RSA CA; it must be ECDSA for a P-256 CA).
#[allow(clippy::too_many_arguments)]
pub fn issue_leaf<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    ca_cert: &Certificate,
    ca_key: &KeyPair,
    scheme: SignatureScheme,
    subject: &str,
    subject_key: &PublicKey,
    params: &LeafParams<'_>,
) -> Result<Certificate> {
    issue_leaf_with(&mut KeySigner::new(rng, ca_key, scheme)?, ca_cert, subject, subject_key, params)
}

/// [`issue_leaf`] signed by any [`CertSigner`] holding the CA's key (an
/// HSM handle, say), which also draws the serial number.
///
/// # Errors
/// As [`issue_leaf`] ([`Error::KeyMismatch`] if the signer's key is not the
/// one `ca_cert` certifies), and whatever the signer fails with.
pub fn issue_leaf_with(
    signer: &mut dyn CertSigner,
    ca_cert: &Certificate,
    subject: &str,
    subject_key: &PublicKey,
    params: &LeafParams<'_>,
) -> Result<Certificate> {
    if ca_cert.ca_path_len().is_none() {
        return Err(Error::NotACa);
    }
    if ca_cert.public_key()? != signer.public_key()? {
        return Err(Error::KeyMismatch);
    }
    let profile = LeafProfile {
        issuer: ca_cert.inner.tbs_certificate().subject().clone(),
        subject: parse_name(subject)?,
        usage: params.usage,
        rsa_key: !matches!(subject_key, PublicKey::P256(_)),
        sans: general_names(params.sans)?,
    };
    let serial = random_serial(signer)?;
    let builder = CertificateBuilder::new(profile, serial, params.validity.to_x509()?, spki_of(subject_key)?)
        .map_err(|_| Error::InvalidInput)?;
    Certificate::from_inner(sign_with(builder, signer)?)
}

/// Issues a leaf certificate from a CSR after checking the CSR's signature.
/// The subject and key come from the CSR; the names come from
/// `params.sans`, or from the CSR's request when `params.sans` is empty.
pub fn issue_from_csr<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    ca_cert: &Certificate,
    ca_key: &KeyPair,
    scheme: SignatureScheme,
    csr: &Csr,
    params: &LeafParams<'_>,
) -> Result<Certificate> {
    issue_from_csr_with(&mut KeySigner::new(rng, ca_key, scheme)?, ca_cert, csr, params)
}

/// [`issue_from_csr`] signed by any [`CertSigner`] holding the CA's key.
///
/// # Errors
/// As [`issue_from_csr`], and whatever the signer fails with.
pub fn issue_from_csr_with(
    signer: &mut dyn CertSigner,
    ca_cert: &Certificate,
    csr: &Csr,
    params: &LeafParams<'_>,
) -> Result<Certificate> {
    let subject_key = verify_csr(csr)?;
    let requested;
    let sans = if params.sans.is_empty() {
        requested = csr.requested_sans();
        &requested[..]
    } else {
        params.sans
    };
    let subject = csr.subject();
    let params = LeafParams { sans, ..params.clone() };
    issue_leaf_with(signer, ca_cert, &subject, &subject_key, &params)
}
