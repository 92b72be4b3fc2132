//! Building certificates and CSRs with x509-cert's builder: a self-signed
//! CA, PKCS#10 requests and leaf certificates.

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

mod key_usage;
mod renew;
mod san;
pub use key_usage::LeafKeyUsage;
pub use renew::{renew, renew_with};
pub use san::San;

impl San {
    fn to_general_name(&self) -> Result<GeneralName> {
        self.validate()?;
        let ia5 = |s: &str| Ia5String::new(s).map_err(|_| Error::InvalidSubjectAltName);
        Ok(match self {
            San::Dns(s) => GeneralName::DnsName(ia5(s)?),
            San::Uri(s) => GeneralName::UniformResourceIdentifier(ia5(s)?),
            San::Email(s) => GeneralName::Rfc822Name(ia5(s)?),
            San::Ip(core::net::IpAddr::V4(a)) => GeneralName::IpAddress(
                OctetString::new(a.octets().to_vec()).map_err(|_| Error::InvalidSubjectAltName)?,
            ),
            San::Ip(core::net::IpAddr::V6(a)) => GeneralName::IpAddress(
                OctetString::new(a.octets().to_vec()).map_err(|_| Error::InvalidSubjectAltName)?,
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
    ///
    /// ```
    /// use coffer_core::cert::Validity;
    /// let v = Validity::days_from_now(30)?;
    /// assert_eq!(v.not_after - v.not_before, 30 * 86_400 + 300);
    /// assert!(Validity::days_from_now(0).is_err());
    /// # Ok::<(), coffer_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidValidity`] for `days == 0` (a certificate that ends
    /// as it starts); [`Error::InvalidInput`] for a system clock before 1970.
    #[cfg(feature = "std")]
    pub fn days_from_now(days: u32) -> Result<Self> {
        if days == 0 {
            return Err(Error::InvalidValidity);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| Error::InvalidInput)?
            .as_secs();
        let not_before = now.saturating_sub(300);
        let not_after = now.saturating_add(u64::from(days).saturating_mul(86_400));
        Ok(Validity { not_before, not_after })
    }

    /// The window a leaf of `issuer` gets: refused if it ends after the
    /// issuer's notAfter or before its notBefore; a start before the issuer's notBefore is moved up
    /// to it (the leaf could not be verified earlier anyway).
    fn within(self, issuer: &Certificate) -> Result<Self> {
        if self.not_after > issuer.not_after() || self.not_after <= issuer.not_before() {
            return Err(Error::OutlivesIssuer);
        }
        Ok(Validity { not_before: self.not_before.max(issuer.not_before()), not_after: self.not_after })
    }

    fn to_x509(self) -> Result<X509Validity> {
        if self.not_after <= self.not_before {
            return Err(Error::InvalidValidity);
        }
        let t = |secs: u64| -> Result<Time> {
            let dt = DateTime::from_unix_duration(Duration::from_secs(secs))
                .map_err(|_| Error::InvalidValidity)?;
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
    /// the names the CSR requested). A server certificate needs at least one
    /// DNS name or IP address among them.
    pub sans: &'a [San],
    /// The keyUsage bits; `None` for the default of the subject key
    /// ([`LeafKeyUsage::default_for`]). Checked by [`LeafKeyUsage::check_for`].
    pub key_usage: Option<LeafKeyUsage>,
}

fn parse_name(subject: &str) -> Result<Name> {
    if subject.is_empty() || subject.len() > MAX_SUBJECT_LEN {
        return Err(Error::InvalidSubject);
    }
    Name::from_str(subject).map_err(|_| Error::InvalidSubject)
}

/// Whether a leaf of this usage is a TLS server, which needs a host name.
fn serves(usage: LeafUsage) -> bool {
    matches!(usage, LeafUsage::Server | LeafUsage::ServerAndClient)
}

/// The names as GeneralNames, each checked by [`San::validate`] first.
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

/// A CA certificate: basicConstraints CA:TRUE (critical, with path
/// length), keyUsage keyCertSign + cRLSign (critical), subject and
/// authority key ids. Self-signed when `issuer` is `None`, else an
/// intermediate certified by `issuer`.
struct CaProfile {
    subject: Name,
    issuer: Option<Name>,
    path_len: Option<u8>,
}

impl BuilderProfile for CaProfile {
    fn get_issuer(&self, subject: &Name) -> Name {
        self.issuer.clone().unwrap_or_else(|| subject.clone())
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
        let ski = key_id(spk)?;
        let bc = BasicConstraints { ca: true, path_len_constraint: self.path_len };
        exts.push(ext(&bc, tbs.subject(), &exts)?);
        let ku = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        exts.push(ext(&ku, tbs.subject(), &exts)?);
        let authority = match self.issuer {
            None => ski.0.clone(),
            Some(_) => key_id(issuer_spk)?.0,
        };
        let aki = AuthorityKeyIdentifier { key_identifier: Some(authority), ..Default::default() };
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
    key_usage: LeafKeyUsage,
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
        exts.push(ext(&self.key_usage.to_extension(), tbs.subject(), &exts)?);
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
    let profile = CaProfile { subject: parse_name(params.subject)?, issuer: None, path_len: params.path_len };
    let builder =
        CertificateBuilder::new(profile, serial, params.validity.to_x509()?, spki_of(&signer.public_key()?)?)
            .map_err(|_| Error::InvalidInput)?;
    Certificate::from_inner(sign_with(builder, signer)?)
}

/// Creates a PKCS#10 CSR for `key` with `subject` and `sans` (requested
/// through an extensionRequest attribute), signed by `key`.
///
/// # Errors
/// [`Error::InvalidSubject`] for a subject that is no distinguished name;
/// [`Error::InvalidSubjectAltName`] for a name that breaks the rules of
/// [`San::validate`]; [`Error::LimitExceeded`] for more than
/// [`MAX_SANS`] names.
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
        builder.add_extension(&SubjectAltName(names)).map_err(|_| Error::InvalidSubjectAltName)?;
    }
    Csr::from_inner(sign_with(builder, signer)?)
}

/// Issues a leaf certificate for `subject_key` under the CA `ca_cert`/`ca_key`.
///
/// The signature scheme follows the CA key (`scheme` chooses between
/// PKCS#1 v1.5 and PSS for an RSA CA; it must be ECDSA for a P-256 CA).
///
/// Rules every leaf follows (the same for [`issue_leaf_with`],
/// [`issue_from_csr`] and [`issue_from_csr_with`]):
/// - **A leaf never outlives its issuer**: a `params.validity.not_after`
///   later than the CA certificate's notAfter is refused (never shortened).
///   A `not_before` earlier than the CA's notBefore is moved up to it (the
///   leaf could not be verified before its CA is valid anyway, and a
///   validity computed a moment before the CA was made stays usable); a
///   window that then ends before it starts is refused.
/// - **A server names its host**: with usage [`LeafUsage::Server`] or
///   [`LeafUsage::ServerAndClient`], at least one name is a DNS name or an
///   IP address (TLS clients match those, never the subject's CN).
/// - Every name follows the rules of [`San::validate`]; at most
///   [`MAX_SANS`].
/// - keyUsage (critical) is `params.key_usage`, by default
///   digitalSignature plus keyEncipherment (RSA subject key) or
///   keyAgreement (P-256 subject key); a chosen one follows the rules of
///   [`LeafKeyUsage::check_for`] (digitalSignature always; keyEncipherment
///   only for RSA, keyAgreement only for P-256); extendedKeyUsage is
///   serverAuth, clientAuth or both from `params.usage`; basicConstraints
///   CA:FALSE.
///
/// ```
/// use coffer_core::cert::{self, CaParams, KeyAlgorithm, KeyPair, LeafParams, LeafUsage, San, Validity};
/// # use coffer_core::rng::OsRng;
/// let ca_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
/// let ca_validity = Validity { not_before: 1_800_000_000, not_after: 1_900_000_000 };
/// let ca = cert::self_signed_ca(&mut OsRng, &ca_key, &CaParams { subject: "CN=CA", validity: ca_validity, path_len: Some(0) })?;
/// let agent = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?.public_key();
/// let names = [San::parse("dns:agent-7.acme.test")?];
/// let validity = Validity { not_before: 1_800_000_000, not_after: 1_850_000_000 };
/// let params = LeafParams { validity, usage: LeafUsage::Server, sans: &names, key_usage: None };
/// let leaf = cert::issue_leaf(&mut OsRng, &ca, &ca_key, ca_key.default_scheme(), "CN=agent-7", &agent, &params)?;
/// assert_eq!(leaf.not_after(), 1_850_000_000);
///
/// // Starting before the CA: starts with it. Longer than the CA: refused.
/// // A server without a DNS or IP name: refused.
/// let early = LeafParams { validity: Validity { not_before: 1_700_000_000, ..validity }, ..params.clone() };
/// let leaf = cert::issue_leaf(&mut OsRng, &ca, &ca_key, ca_key.default_scheme(), "CN=agent-7", &agent, &early)?;
/// assert_eq!(leaf.not_before(), 1_800_000_000);
/// let long = LeafParams { validity: Validity { not_after: 1_900_000_001, ..validity }, ..params.clone() };
/// assert!(cert::issue_leaf(&mut OsRng, &ca, &ca_key, ca_key.default_scheme(), "CN=agent-7", &agent, &long).is_err());
/// let unnamed = LeafParams { sans: &[], ..params };
/// assert!(cert::issue_leaf(&mut OsRng, &ca, &ca_key, ca_key.default_scheme(), "CN=agent-7", &agent, &unnamed).is_err());
/// # Ok::<(), coffer_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::OutlivesIssuer`] for a window ending after the CA's;
/// [`Error::ServerNameMissing`] for a server certificate without a DNS or
/// IP name; [`Error::InvalidKeyUsage`] for a keyUsage against the rules; [`Error::InvalidSubjectAltName`] / [`Error::InvalidSubject`]
/// for an invalid name or subject; [`Error::InvalidValidity`] for a window
/// that ends before it starts; [`Error::InvalidInput`] for a `scheme` of
/// the other key type;
/// [`Error::LimitExceeded`] for more than [`MAX_SANS`] names;
/// [`Error::NotACa`] if `ca_cert` is not a CA; [`Error::KeyMismatch`] if
/// `ca_key` is not the key `ca_cert` certifies.
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
/// HSM handle, say), which also draws the serial number. The rules of
/// [`issue_leaf`] hold: a leaf never outlives its issuer (a notAfter past
/// the CA certificate's is refused; a notBefore before the CA's is moved up
/// to it), and a server certificate names a DNS name or IP address.
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
    let validity = params.validity.within(ca_cert)?;
    if serves(params.usage) && !params.sans.iter().any(San::names_a_host) {
        return Err(Error::ServerNameMissing);
    }
    let key_usage = params.key_usage.unwrap_or_else(|| LeafKeyUsage::default_for(subject_key));
    key_usage.check_for(subject_key)?;
    let profile = LeafProfile {
        issuer: ca_cert.inner.tbs_certificate().subject().clone(),
        subject: parse_name(subject)?,
        usage: params.usage,
        key_usage,
        sans: general_names(params.sans)?,
    };
    let serial = random_serial(signer)?;
    let builder = CertificateBuilder::new(profile, serial, validity.to_x509()?, spki_of(subject_key)?)
        .map_err(|_| Error::InvalidInput)?;
    Certificate::from_inner(sign_with(builder, signer)?)
}

/// Issues a leaf certificate from a CSR after checking the CSR's signature.
/// The subject and key come from the CSR; the names come from
/// `params.sans`, or from the CSR's request when `params.sans` is empty.
///
/// The rules of [`issue_leaf`] hold: a leaf never outlives its issuer (a
/// notAfter past the CA certificate's is refused; a notBefore before the
/// CA's is moved up to it), a server certificate needs a DNS or IP name
/// (from `params.sans` or the CSR), and every name must be valid, the
/// CSR's included.
///
/// # Errors
/// As [`issue_leaf`]; [`Error::Verify`] if the CSR's signature does not
/// verify.
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

/// [`issue_from_csr`] signed by any [`CertSigner`] holding the CA's key,
/// under the same rules (a leaf never outlives its issuer, and starts no
/// earlier; a server certificate names a DNS name or IP address).
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

/// Parameters of an intermediate CA certificate.
#[derive(Clone, Copy, Debug)]
pub struct IntermediateParams {
    /// Validity window (within the issuer's, as for a leaf).
    pub validity: Validity,
    /// How many further intermediates may follow it; must be below the
    /// issuer's own limit. `None`: one less than the issuer's (unlimited
    /// under an unlimited issuer).
    pub path_len: Option<u8>,
}

/// Issues an intermediate CA certificate from `csr` (its signature checked)
/// under the CA `issuer` with its key `issuer_key`.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use coffer_core::cert::{self, CaParams, IntermediateParams, KeyAlgorithm, KeyPair, Validity};
/// # use coffer_core::rng::OsRng;
/// let validity = Validity::days_from_now(365)?;
/// let root_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
/// let root = cert::self_signed_ca(&mut OsRng, &root_key, &CaParams { subject: "CN=Root", validity, path_len: Some(1) })?;
/// let issuing_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
/// let request = cert::csr(&mut OsRng, &issuing_key, "CN=Issuing CA", &[])?;
/// let params = IntermediateParams { validity, path_len: None };
/// let issuing = cert::issue_intermediate(&mut OsRng, &root, &root_key, root_key.default_scheme(), &request, &params)?;
/// assert_eq!(issuing.ca_path_len(), Some(Some(0)));
/// # }
/// # Ok::<(), coffer_core::Error>(())
/// ```
///
/// # Errors
/// As [`issue_intermediate_with`].
pub fn issue_intermediate<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    issuer: &Certificate,
    issuer_key: &KeyPair,
    scheme: SignatureScheme,
    csr: &Csr,
    params: &IntermediateParams,
) -> Result<Certificate> {
    issue_intermediate_with(&mut KeySigner::new(rng, issuer_key, scheme)?, issuer, csr, params)
}

/// [`issue_intermediate`] signed by any [`CertSigner`] holding the issuer's key.
///
/// # Errors
/// [`Error::NotACa`] if `issuer` is no CA or may not sign certificates;
/// [`Error::KeyMismatch`] if the signer's key is not `issuer`'s;
/// [`Error::PathTooLong`] if the issuer's pathLenConstraint is 0 or the
/// requested one is not below it; [`Error::OutlivesIssuer`] for a window
/// past the issuer's; [`Error::Verify`] for a request with a bad signature.
pub fn issue_intermediate_with(
    signer: &mut dyn CertSigner,
    issuer: &Certificate,
    csr: &Csr,
    params: &IntermediateParams,
) -> Result<Certificate> {
    let Some(issuer_limit) = issuer.ca_path_len() else { return Err(Error::NotACa) };
    if !super::verify::may_sign_certificates(issuer) {
        return Err(Error::NotACa);
    }
    if issuer.public_key()? != signer.public_key()? {
        return Err(Error::KeyMismatch);
    }
    let path_len = match (issuer_limit, params.path_len) {
        (Some(0), _) => return Err(Error::PathTooLong),
        (Some(limit), Some(asked)) if asked >= limit => return Err(Error::PathTooLong),
        (Some(limit), None) => Some(limit.saturating_sub(1)),
        (_, asked) => asked,
    };
    let validity = params.validity.within(issuer)?;
    let subject_key = verify_csr(csr)?;
    let profile = CaProfile {
        subject: csr.inner.info.subject.clone(),
        issuer: Some(issuer.inner.tbs_certificate().subject().clone()),
        path_len,
    };
    let serial = random_serial(signer)?;
    let builder = CertificateBuilder::new(profile, serial, validity.to_x509()?, spki_of(&subject_key)?)
        .map_err(|_| Error::InvalidInput)?;
    Certificate::from_inner(sign_with(builder, signer)?)
}
