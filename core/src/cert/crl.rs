//! Certificate revocation lists (RFC 5280 §5, version 2): issued through a
//! [`CertSigner`] (a key file or a key held in an HSM), parsed, and checked
//! by [`super::verify_path`] when given in [`super::PathOptions::crls`].
//!
//! A CRL coffer writes carries the issuer's name, thisUpdate and
//! nextUpdate, the revoked serial numbers with their revocation dates, and
//! two extensions: cRLNumber and authorityKeyIdentifier (the issuer's
//! subject key id, when its certificate has one). It is signed under the
//! signer's scheme, like a certificate.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::time::Duration;

use x509_cert::Version;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::der::asn1::{BitString, OctetString};
use x509_cert::der::oid::AssociatedOid;
use x509_cert::der::{DateTime, Decode, Encode};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::CrlNumber;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

use super::certificate::Certificate;
use super::keypair::{KeyPair, SignatureScheme, decode_pem, encode_pem};
use super::signer::{CertSigner, KeySigner, algorithm_id};
use super::verify::{check_signed_list, may_sign_crls};
use crate::error::{Error, Result};
use crate::rng::TryCryptoRng;

/// Most revoked certificates one CRL coffer issues or accepts lists.
pub const MAX_CRL_ENTRIES: usize = 4096;

/// Longest CRL coffer parses, in bytes (4096 entries of about 40 bytes fit).
pub const MAX_CRL_LEN: usize = 256 * 1024;

/// One revoked certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation<'a> {
    /// Its serial number, as [`Certificate::serial`] gives it.
    pub serial: &'a [u8],
    /// When it was revoked, seconds since the Unix epoch.
    pub revoked_at: u64,
}

/// What a new CRL says.
#[derive(Clone, Copy, Debug)]
pub struct CrlParams<'a> {
    /// The cRLNumber: higher than that of every earlier CRL of this issuer.
    pub number: u64,
    /// thisUpdate, seconds since the Unix epoch.
    pub this_update: u64,
    /// nextUpdate: when the next CRL is due; after it this one is out of date.
    pub next_update: u64,
    /// The revoked certificates (at most [`MAX_CRL_ENTRIES`]).
    pub revoked: &'a [Revocation<'a>],
}

/// A parsed certificate revocation list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crl {
    pub(crate) inner: CertificateList,
    der: Vec<u8>,
}

/// Serial numbers compared as unsigned integers: leading zero bytes aside.
fn trimmed(serial: &[u8]) -> &[u8] {
    let start = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    serial.get(start..).unwrap_or_default()
}

fn time(secs: u64) -> Result<Time> {
    let dt = DateTime::from_unix_duration(Duration::from_secs(secs)).map_err(|_| Error::InvalidValidity)?;
    Ok(Time::from(dt))
}

impl Crl {
    /// Parses a DER CRL (at most [`MAX_CRL_LEN`] bytes and [`MAX_CRL_ENTRIES`]
    /// entries). The signature is checked by [`Crl::verify_signature`] or
    /// by [`super::verify_path`].
    ///
    /// # Errors
    /// [`Error::InvalidLength`] past the size limit,
    /// [`Error::LimitExceeded`] past the entry limit,
    /// [`Error::MalformedCertificate`] for anything that is not a CRL in
    /// canonical DER (as [`Certificate::from_der`]).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_CRL_LEN {
            return Err(Error::InvalidLength);
        }
        let inner = CertificateList::from_der(der).map_err(|_| Error::MalformedCertificate)?;
        super::certificate::canonical(&inner, der)?;
        if inner.tbs_cert_list.revoked_certificates.as_ref().is_some_and(|r| r.len() > MAX_CRL_ENTRIES) {
            return Err(Error::LimitExceeded);
        }
        Ok(Crl { inner, der: der.to_vec() })
    }

    /// Parses a PEM `X509 CRL` block.
    ///
    /// # Errors
    /// As [`Crl::from_der`].
    pub fn from_pem(pem: &str) -> Result<Self> {
        if pem.len() > MAX_CRL_LEN.saturating_mul(2) {
            return Err(Error::InvalidLength);
        }
        let (label, der) = decode_pem(pem).map_err(|_| Error::MalformedCertificate)?;
        if label != "X509 CRL" {
            return Err(Error::MalformedCertificate);
        }
        Self::from_der(&der)
    }

    /// The DER encoding.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// A PEM `X509 CRL` block.
    ///
    /// # Errors
    /// [`Error::Encoding`] if encoding fails.
    pub fn to_pem(&self) -> Result<String> {
        encode_pem("X509 CRL", &self.der)
    }

    /// The issuer as an RFC 4514 string.
    pub fn issuer(&self) -> String {
        self.inner.tbs_cert_list.issuer.to_string()
    }

    /// thisUpdate, seconds since the Unix epoch.
    pub fn this_update(&self) -> u64 {
        self.inner.tbs_cert_list.this_update.to_unix_duration().as_secs()
    }

    /// nextUpdate, if the CRL has one.
    pub fn next_update(&self) -> Option<u64> {
        self.inner.tbs_cert_list.next_update.map(|t| t.to_unix_duration().as_secs())
    }

    /// The cRLNumber's bytes (big-endian), if present.
    pub fn number(&self) -> Option<Vec<u8>> {
        match self.inner.tbs_cert_list.crl_extensions.as_ref()?.iter().find(|e| e.extn_id == CrlNumber::OID) {
            Some(e) => CrlNumber::from_der(e.extn_value.as_bytes()).ok().map(|n| n.0.as_bytes().to_vec()),
            None => None,
        }
    }

    /// The revoked serial numbers with their revocation times.
    pub fn revoked(&self) -> Vec<(Vec<u8>, u64)> {
        self.inner
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .map(|r| (r.serial_number.as_bytes().to_vec(), r.revocation_date.to_unix_duration().as_secs()))
            .collect()
    }

    /// Whether `cert`'s serial number is on this list (the caller checks
    /// that the CRL is the certificate's issuer's).
    pub fn lists(&self, cert: &Certificate) -> bool {
        let serial = trimmed(cert.serial());
        self.inner
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .any(|r| trimmed(r.serial_number.as_bytes()) == serial)
    }

    /// Whether this CRL may be from the CA `issuer`: the issuer names are
    /// equal and, if the CRL carries an authorityKeyIdentifier and the CA
    /// certificate a subjectKeyIdentifier, the key ids are equal. A CRL
    /// that claims its issuer this way must then verify under the issuer's
    /// key ([`Crl::verify_signature`]).
    pub fn claims_issuer(&self, issuer: &Certificate) -> bool {
        if self.inner.tbs_cert_list.issuer != *issuer.inner.tbs_certificate().subject() {
            return false;
        }
        let aki = self
            .extension(AuthorityKeyIdentifier::OID)
            .and_then(|ext| AuthorityKeyIdentifier::from_der(ext.extn_value.as_bytes()).ok()?.key_identifier);
        let ski = match issuer.inner.tbs_certificate().get_extension::<SubjectKeyIdentifier>() {
            Ok(Some((_, ski))) => Some(ski.0),
            _ => None,
        };
        match (aki, ski) {
            (Some(a), Some(s)) => a == s,
            _ => true,
        }
    }

    fn extension(&self, oid: x509_cert::der::oid::ObjectIdentifier) -> Option<&Extension> {
        self.inner.tbs_cert_list.crl_extensions.iter().flatten().find(|e| e.extn_id == oid)
    }

    /// Refuses a CRL with a critical extension, on the list or on an entry:
    /// coffer processes none (deltaCRLIndicator, issuingDistributionPoint
    /// and certificateIssuer change which certificates a list covers), and
    /// RFC 5280 §5.2 and §5.3 forbid using a list whose critical extension
    /// is not understood.
    ///
    /// # Errors
    /// [`Error::UnknownCriticalExtension`].
    pub fn check_critical_extensions(&self) -> Result<()> {
        let tbs = &self.inner.tbs_cert_list;
        let on_list = tbs.crl_extensions.iter().flatten();
        let on_entries =
            tbs.revoked_certificates.iter().flatten().flat_map(|r| r.crl_entry_extensions.iter().flatten());
        if on_list.chain(on_entries).any(|e| e.critical) {
            return Err(Error::UnknownCriticalExtension);
        }
        Ok(())
    }

    /// Checks that `issuer` signed this CRL and may sign CRLs (names equal,
    /// CA, cRLSign if keyUsage is present).
    ///
    /// # Errors
    /// [`Error::IssuerMismatch`], [`Error::NotACa`], [`Error::Verify`], or
    /// [`Error::UnsupportedAlgorithm`].
    pub fn verify_signature(&self, issuer: &Certificate) -> Result<()> {
        if self.inner.tbs_cert_list.issuer != *issuer.inner.tbs_certificate().subject() {
            return Err(Error::IssuerMismatch);
        }
        if issuer.ca_path_len().is_none() || !may_sign_crls(issuer) {
            return Err(Error::NotACa);
        }
        check_signed_list(self, &issuer.public_key()?)
    }
}

/// Issues a CRL for the CA `issuer` with its key `issuer_key` under `scheme`.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use coffer_core::cert::{self, CaParams, CrlParams, KeyAlgorithm, KeyPair, Revocation, Validity};
/// use coffer_core::rng::OsRng;
///
/// let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
/// let validity = Validity::days_from_now(30)?;
/// let ca = cert::self_signed_ca(&mut OsRng, &key, &CaParams { subject: "CN=Root", validity, path_len: None })?;
/// let revoked = [Revocation { serial: &[0x42, 0x01], revoked_at: validity.not_before }];
/// let params = CrlParams { number: 1, this_update: validity.not_before, next_update: validity.not_before + 86_400, revoked: &revoked };
/// let crl = cert::issue_crl(&mut OsRng, &ca, &key, key.default_scheme(), &params)?;
/// crl.verify_signature(&ca)?;
/// assert_eq!(crl.revoked().len(), 1);
/// # }
/// # Ok::<(), coffer_core::Error>(())
/// ```
///
/// # Errors
/// As [`issue_crl_with`].
pub fn issue_crl<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    issuer: &Certificate,
    issuer_key: &KeyPair,
    scheme: SignatureScheme,
    params: &CrlParams<'_>,
) -> Result<Crl> {
    issue_crl_with(&mut KeySigner::new(rng, issuer_key, scheme)?, issuer, params)
}

/// [`issue_crl`] signed by any [`CertSigner`] holding the CA's key.
///
/// # Errors
/// [`Error::KeyMismatch`] if the signer's key is not `issuer`'s;
/// [`Error::NotACa`] if `issuer` may not sign CRLs;
/// [`Error::InvalidValidity`] if nextUpdate is not after thisUpdate or a
/// time cannot be encoded; [`Error::InvalidInput`] if a serial is empty or
/// longer than 20 bytes; [`Error::LimitExceeded`] past [`MAX_CRL_ENTRIES`]; whatever the
/// signer fails with.
pub fn issue_crl_with(
    signer: &mut dyn CertSigner,
    issuer: &Certificate,
    params: &CrlParams<'_>,
) -> Result<Crl> {
    if issuer.public_key()? != signer.public_key()? {
        return Err(Error::KeyMismatch);
    }
    if issuer.ca_path_len().is_none() || !may_sign_crls(issuer) {
        return Err(Error::NotACa);
    }
    if params.next_update <= params.this_update {
        return Err(Error::InvalidValidity);
    }
    if params.revoked.len() > MAX_CRL_ENTRIES {
        return Err(Error::LimitExceeded);
    }
    let revoked = params
        .revoked
        .iter()
        .map(|r| {
            if trimmed(r.serial).is_empty() {
                return Err(Error::InvalidInput);
            }
            Ok(RevokedCert {
                serial_number: SerialNumber::new(trimmed(r.serial)).map_err(|_| Error::InvalidInput)?,
                revocation_date: time(r.revoked_at)?,
                crl_entry_extensions: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut extensions = Vec::new();
    let number = CrlNumber::try_from(params.number).map_err(|_| Error::InvalidInput)?;
    extensions.push(extension(CrlNumber::OID, &number)?);
    let issuer_tbs = issuer.inner.tbs_certificate();
    if let Ok(Some((_, ski))) = issuer_tbs.get_extension::<SubjectKeyIdentifier>() {
        let aki = AuthorityKeyIdentifier { key_identifier: Some(ski.0), ..Default::default() };
        extensions.push(extension(AuthorityKeyIdentifier::OID, &aki)?);
    }
    let algorithm = algorithm_id(signer.scheme())?;
    let tbs = TbsCertList {
        version: Version::V2,
        signature: algorithm.clone(),
        issuer: issuer_tbs.subject().clone(),
        this_update: time(params.this_update)?,
        next_update: Some(time(params.next_update)?),
        revoked_certificates: if revoked.is_empty() { None } else { Some(revoked) },
        crl_extensions: Some(extensions),
    };
    let tbs_der = tbs.to_der().map_err(|_| Error::Encoding)?;
    let signature = BitString::from_bytes(&signer.sign_tbs(&tbs_der)?).map_err(|_| Error::Encoding)?;
    let inner = CertificateList { tbs_cert_list: tbs, signature_algorithm: algorithm, signature };
    let der = inner.to_der().map_err(|_| Error::Encoding)?;
    Ok(Crl { inner, der })
}

fn extension(oid: x509_cert::der::oid::ObjectIdentifier, value: &impl Encode) -> Result<Extension> {
    let bytes = value.to_der().map_err(|_| Error::Encoding)?;
    Ok(Extension {
        extn_id: oid,
        critical: false,
        extn_value: OctetString::new(bytes).map_err(|_| Error::Encoding)?,
    })
}
