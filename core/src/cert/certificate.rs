//! Certificates and certification requests: parsing, encoding, inspection.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, SubjectAltName};
use x509_cert::request::{CertReq, ExtensionReq};

use super::San;
use super::keypair::{MAX_ENCODED_LEN, PublicKey, decode_pem, encode_pem};
use crate::error::{Error, Result};

/// Most certificates [`Certificate::all_from_pem`] reads from one bundle.
pub const MAX_BUNDLE_CERTS: usize = 64;

/// An X.509 v3 certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    pub(crate) inner: x509_cert::Certificate,
    pub(crate) der: Vec<u8>,
}

/// A PKCS#10 certification request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Csr {
    pub(crate) inner: CertReq,
    pub(crate) der: Vec<u8>,
}

impl Certificate {
    pub(crate) fn from_inner(inner: x509_cert::Certificate) -> Result<Self> {
        let der = inner.to_der().map_err(|_| Error::Encoding)?;
        Ok(Certificate { inner, der })
    }

    /// Parses a DER certificate (at most 64 KiB).
    ///
    /// Only canonical DER is accepted: bytes that parse but encode back
    /// differently (an explicit default such as version v1, a long-form
    /// length that fits the short form) are [`Error::MalformedCertificate`],
    /// so one certificate has one encoding, and its signature is checked
    /// over exactly the bytes that were signed.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_ENCODED_LEN {
            return Err(Error::InvalidLength);
        }
        let inner = x509_cert::Certificate::from_der(der).map_err(|_| Error::MalformedCertificate)?;
        canonical(&inner, der)?;
        Ok(Certificate { inner, der: der.to_vec() })
    }

    /// Parses a PEM `CERTIFICATE` block.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for text over twice the DER limit (64 KiB),
    /// refused before it is decoded; [`Error::MalformedCertificate`] for
    /// anything else that is not such a block.
    pub fn from_pem(pem: &str) -> Result<Self> {
        if pem.len() > MAX_ENCODED_LEN.saturating_mul(2) {
            return Err(Error::InvalidLength);
        }
        let (label, der) = decode_pem(pem).map_err(|_| Error::MalformedCertificate)?;
        if label != "CERTIFICATE" {
            return Err(Error::MalformedCertificate);
        }
        Self::from_der(&der)
    }

    /// Parses every `CERTIFICATE` block of a PEM bundle (a leaf followed by
    /// its intermediates, say), in order; text between blocks is ignored.
    ///
    /// ```
    /// # #[cfg(feature = "std")] {
    /// use coffer_core::cert::{self, CaParams, Certificate, KeyAlgorithm, KeyPair, Validity};
    /// # use coffer_core::rng::OsRng;
    /// let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
    /// let params = CaParams { subject: "CN=Root", validity: Validity::days_from_now(30)?, path_len: None };
    /// let ca = cert::self_signed_ca(&mut OsRng, &key, &params)?;
    /// let bundle = format!("# the root, twice\n{}{}", ca.to_pem()?, ca.to_pem()?);
    /// assert_eq!(Certificate::all_from_pem(&bundle)?.len(), 2);
    /// # }
    /// # Ok::<(), coffer_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::MalformedCertificate`] if a block is not a certificate or
    /// there is none; [`Error::LimitExceeded`] past [`MAX_BUNDLE_CERTS`]
    /// blocks; [`Error::InvalidLength`] for a bundle over
    /// [`MAX_BUNDLE_CERTS`] × 128 KiB.
    pub fn all_from_pem(pem: &str) -> Result<Vec<Self>> {
        const BEGIN: &str = "-----BEGIN ";
        const END: &str = "-----END CERTIFICATE-----";
        if pem.len() > MAX_BUNDLE_CERTS.saturating_mul(MAX_ENCODED_LEN).saturating_mul(2) {
            return Err(Error::InvalidLength);
        }
        let mut out = Vec::new();
        let mut rest = pem;
        while let Some(start) = rest.find(BEGIN) {
            let block = rest.get(start..).unwrap_or_default();
            let end = block.find(END).ok_or(Error::MalformedCertificate)?.saturating_add(END.len());
            if out.len() == MAX_BUNDLE_CERTS {
                return Err(Error::LimitExceeded);
            }
            out.push(Self::from_pem(block.get(..end).unwrap_or_default())?);
            rest = block.get(end..).unwrap_or_default();
        }
        if out.is_empty() {
            return Err(Error::MalformedCertificate);
        }
        Ok(out)
    }

    /// The DER encoding.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// A PEM `CERTIFICATE` block.
    pub fn to_pem(&self) -> Result<String> {
        encode_pem("CERTIFICATE", &self.der)
    }

    /// The subject as an RFC 4514 string (for example `CN=agent-7,O=Acme`).
    pub fn subject(&self) -> String {
        self.inner.tbs_certificate().subject().to_string()
    }

    /// The issuer as an RFC 4514 string.
    pub fn issuer(&self) -> String {
        self.inner.tbs_certificate().issuer().to_string()
    }

    /// The serial number's bytes (big-endian, as encoded).
    pub fn serial(&self) -> &[u8] {
        self.inner.tbs_certificate().serial_number().as_bytes()
    }

    /// Start of validity, in seconds since the Unix epoch.
    pub fn not_before(&self) -> u64 {
        self.inner.tbs_certificate().validity().not_before.to_unix_duration().as_secs()
    }

    /// End of validity, in seconds since the Unix epoch.
    pub fn not_after(&self) -> u64 {
        self.inner.tbs_certificate().validity().not_after.to_unix_duration().as_secs()
    }

    /// The certified public key.
    pub fn public_key(&self) -> Result<PublicKey> {
        let spki = self.spki_der()?;
        PublicKey::from_spki_der(&spki)
    }

    pub(crate) fn spki_der(&self) -> Result<Vec<u8>> {
        self.inner
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|_| Error::MalformedCertificate)
    }

    /// `Some(path_len)` if basicConstraints says CA:TRUE (`path_len` may be
    /// `None` for unlimited), `None` for an end-entity certificate.
    pub fn ca_path_len(&self) -> Option<Option<u8>> {
        match self.inner.tbs_certificate().get_extension::<BasicConstraints>() {
            Ok(Some((_, bc))) if bc.ca => Some(bc.path_len_constraint),
            _ => None,
        }
    }

    /// The subject alternative names this crate understands (DNS, IP, URI).
    pub fn subject_alt_names(&self) -> Vec<San> {
        match self.inner.tbs_certificate().get_extension::<SubjectAltName>() {
            Ok(Some((_, san))) => sans_from(&san.0),
            _ => Vec::new(),
        }
    }
}

impl Csr {
    pub(crate) fn from_inner(inner: CertReq) -> Result<Self> {
        let der = inner.to_der().map_err(|_| Error::Encoding)?;
        Ok(Csr { inner, der })
    }

    /// Parses a DER CSR (canonical DER only, as [`Certificate::from_der`]).
    /// The signature is not checked here: see [`super::verify_csr`].
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_ENCODED_LEN {
            return Err(Error::InvalidLength);
        }
        let inner = CertReq::from_der(der).map_err(|_| Error::MalformedCertificate)?;
        canonical(&inner, der)?;
        Ok(Csr { inner, der: der.to_vec() })
    }

    /// Parses a PEM `CERTIFICATE REQUEST` block.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for text over twice the DER limit (64 KiB),
    /// refused before it is decoded; [`Error::MalformedCertificate`] for
    /// anything else that is not such a block.
    pub fn from_pem(pem: &str) -> Result<Self> {
        if pem.len() > MAX_ENCODED_LEN.saturating_mul(2) {
            return Err(Error::InvalidLength);
        }
        let (label, der) = decode_pem(pem).map_err(|_| Error::MalformedCertificate)?;
        if label != "CERTIFICATE REQUEST" {
            return Err(Error::MalformedCertificate);
        }
        Self::from_der(&der)
    }

    /// The DER encoding.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// A PEM `CERTIFICATE REQUEST` block.
    pub fn to_pem(&self) -> Result<String> {
        encode_pem("CERTIFICATE REQUEST", &self.der)
    }

    /// The requested subject as an RFC 4514 string.
    pub fn subject(&self) -> String {
        self.inner.info.subject.to_string()
    }

    /// The requester's public key.
    pub fn public_key(&self) -> Result<PublicKey> {
        let spki = self.inner.info.public_key.to_der().map_err(|_| Error::MalformedCertificate)?;
        PublicKey::from_spki_der(&spki)
    }

    /// Subject alternative names requested through an extensionRequest attribute.
    pub fn requested_sans(&self) -> Vec<San> {
        let mut out = Vec::new();
        for attr in self.inner.info.attributes.iter() {
            if attr.oid != <ExtensionReq as x509_cert::der::oid::AssociatedOid>::OID {
                continue;
            }
            for value in attr.values.iter() {
                let Ok(bytes) = value.to_der() else { continue };
                let Ok(req) = ExtensionReq::from_der(&bytes) else { continue };
                for ext in req.0.iter() {
                    if ext.extn_id != <SubjectAltName as x509_cert::der::oid::AssociatedOid>::OID {
                        continue;
                    }
                    if let Ok(san) = SubjectAltName::from_der(ext.extn_value.as_bytes()) {
                        out.extend(sans_from(&san.0));
                    }
                }
            }
        }
        out
    }
}

fn sans_from(names: &[GeneralName]) -> Vec<San> {
    let mut out = Vec::new();
    for n in names {
        match n {
            GeneralName::DnsName(s) => out.push(San::Dns(s.to_string())),
            GeneralName::UniformResourceIdentifier(s) => out.push(San::Uri(s.to_string())),
            GeneralName::Rfc822Name(s) => out.push(San::Email(s.to_string())),
            GeneralName::IpAddress(o) => match o.as_bytes().len() {
                4 => {
                    if let Ok(b) = <[u8; 4]>::try_from(o.as_bytes()) {
                        out.push(San::Ip(core::net::IpAddr::from(b)));
                    }
                }
                16 => {
                    if let Ok(b) = <[u8; 16]>::try_from(o.as_bytes()) {
                        out.push(San::Ip(core::net::IpAddr::from(b)));
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    out
}

/// Refuses `der` unless `value`, parsed from it, encodes back to exactly it
/// (found by fuzzing: x509-cert reads some non-canonical encodings).
pub(crate) fn canonical<T: Encode>(value: &T, der: &[u8]) -> Result<()> {
    let again = value.to_der().map_err(|_| Error::MalformedCertificate)?;
    if again == der { Ok(()) } else { Err(Error::MalformedCertificate) }
}
