//! Certificates for C: a self-signed CA, PKCS#10 CSRs, leaf certificates
//! issued from CSRs, chain verification, DER and PEM. Intermediate CAs,
//! revocation lists and path validation are in [`crate::cert_path`].

use coffer_core::cert::{self, CaParams, Certificate, Csr, LeafParams, LeafUsage, San, Validity};
use coffer_core::rng::OsRng;

use crate::boundary::{
    array_in, bytes_out, coffer_bytes, ffi_boundary, ffi_boundary_void, handle_free, handle_out, ref_in,
    require, slice_in, str_in,
};
use crate::keypair::coffer_keypair;
use crate::signature::{Signed, verify_call};
use crate::status::{
    COFFER_ERR_INVALID_ARGUMENT, COFFER_ERR_INVALID_SAN, COFFER_ERR_INVALID_VALIDITY,
    COFFER_ERR_UNKNOWN_VALUE, FfiResult, coffer_status,
};

/// The kind of a subject alternative name.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum coffer_san_kind {
    /// A DNS name (ASCII), for example `agent-7.acme.test`.
    COFFER_SAN_DNS = 1,
    /// An IPv4 or IPv6 address in text form, for example `10.0.0.7` or `::1`.
    COFFER_SAN_IP = 2,
    /// A URI (ASCII) with a scheme, for example `spiffe://acme.test/agent-7`.
    COFFER_SAN_URI = 3,
    /// An email address (rfc822Name), `local@domain` in ASCII.
    COFFER_SAN_EMAIL = 4,
}

/// What a leaf certificate may be used for (extendedKeyUsage).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum coffer_leaf_usage {
    /// TLS server.
    COFFER_LEAF_SERVER = 1,
    /// TLS client.
    COFFER_LEAF_CLIENT = 2,
    /// Both: an agent that accepts and opens connections.
    COFFER_LEAF_SERVER_AND_CLIENT = 3,
}

/// A subject alternative name: `kind` is a `coffer_san_kind`, `value` its
/// text (no NUL needed).
#[repr(C)]
#[derive(Debug)]
pub struct coffer_san {
    /// A `coffer_san_kind` value.
    pub kind: u32,
    /// The name as text.
    pub value: *const u8,
    /// Length of `value`.
    pub value_len: usize,
}

/// An X.509 certificate. Created by `coffer_certificate_self_signed_ca`,
/// `coffer_certificate_issue`, `coffer_certificate_issue_intermediate`,
/// their keystore counterparts `coffer_keystore_ca_certificate`,
/// `coffer_keystore_issue_certificate` and
/// `coffer_keystore_issue_intermediate`, or an import; freed by
/// `coffer_certificate_free`.
///
/// Thread safety: immutable; any number of threads may use one at once.
pub struct coffer_certificate {
    pub(crate) inner: Certificate,
}

/// A PKCS#10 certificate signing request. Created by `coffer_csr_new`,
/// `coffer_keystore_certificate_request` or an import; freed by
/// `coffer_csr_free`.
///
/// Thread safety: immutable; any number of threads may use one at once.
pub struct coffer_csr {
    pub(crate) inner: Csr,
}

/// The subject alternative names of a `coffer_san` array: 0..=64 of them
/// (more is `COFFER_ERR_LIMIT_EXCEEDED` where the certificate is made).
///
/// # Safety
/// The header's contract for input arrays.
pub(crate) unsafe fn sans_in(ptr: *const coffer_san, len: usize) -> FfiResult<Vec<San>> {
    // SAFETY: forwarded contract of this function.
    let raw = unsafe { array_in(ptr, len) }?;
    let mut sans = Vec::with_capacity(raw.len());
    for s in raw {
        // SAFETY: forwarded contract of this function.
        let value = unsafe { str_in(s.value, s.value_len) }?;
        sans.push(match s.kind {
            k if k == coffer_san_kind::COFFER_SAN_DNS as u32 => San::Dns(value.to_owned()),
            k if k == coffer_san_kind::COFFER_SAN_IP as u32 => {
                San::Ip(value.parse().map_err(|_| COFFER_ERR_INVALID_SAN)?)
            }
            k if k == coffer_san_kind::COFFER_SAN_URI as u32 => San::Uri(value.to_owned()),
            k if k == coffer_san_kind::COFFER_SAN_EMAIL as u32 => San::Email(value.to_owned()),
            _ => return Err(COFFER_ERR_UNKNOWN_VALUE),
        });
    }
    Ok(sans)
}

/// A validity of `days` (not 0) from now, less five minutes for clock skew.
pub(crate) fn validity(days: u32) -> FfiResult<Validity> {
    if days == 0 {
        return Err(COFFER_ERR_INVALID_VALIDITY);
    }
    Ok(Validity::days_from_now(days)?)
}

/// The parameters of a self-signed CA as the C functions take them: an
/// RFC 4514 `subject`, `validity_days` (not 0) from now, and `path_len`
/// intermediate CAs allowed below it (0..=255) or -1 for no limit.
///
/// # Safety
/// The header's contract for input buffers.
pub(crate) unsafe fn ca_params_in<'a>(
    subject: *const u8,
    subject_len: usize,
    validity_days: u32,
    path_len: i32,
) -> FfiResult<CaParams<'a>> {
    // SAFETY: forwarded contract of this function.
    let subject = unsafe { str_in(subject, subject_len) }?;
    let path_len = match path_len {
        -1 => None,
        n => Some(u8::try_from(n).map_err(|_| COFFER_ERR_INVALID_ARGUMENT)?),
    };
    Ok(CaParams { subject, validity: validity(validity_days)?, path_len })
}

/// A leaf certificate to issue from a CSR, as `coffer_certificate_issue`
/// and `coffer_keystore_issue_certificate` take it besides the CA's key:
/// the CA certificate, the CSR, and the leaf's parameters, read and checked.
pub(crate) struct LeafFromCsr<'a> {
    pub(crate) ca: &'a Certificate,
    pub(crate) csr: &'a Csr,
    sans: Vec<San>,
    usage: LeafUsage,
    validity: Validity,
}

impl LeafFromCsr<'_> {
    /// The leaf's parameters: its validity, usage and names (empty: the request's).
    pub(crate) fn params(&self) -> LeafParams<'_> {
        LeafParams { validity: self.validity, usage: self.usage, sans: &self.sans, key_usage: None }
    }
}

/// Reads the arguments of a leaf issued from a CSR: the CA certificate
/// `ca`, the `csr`, a `coffer_leaf_usage`, `validity_days` (not 0) from
/// now, and the names.
///
/// # Safety
/// The header's contract for handles and input arrays.
pub(crate) unsafe fn leaf_from_csr_in<'a>(
    ca: *const coffer_certificate,
    csr: *const coffer_csr,
    usage: u32,
    validity_days: u32,
    sans: *const coffer_san,
    sans_len: usize,
) -> FfiResult<LeafFromCsr<'a>> {
    // SAFETY: forwarded contract of this function.
    let ca = &unsafe { ref_in(ca) }?.inner;
    // SAFETY: as above.
    let csr = &unsafe { ref_in(csr) }?.inner;
    // SAFETY: as above.
    let sans = unsafe { sans_in(sans, sans_len) }?;
    let usage = match usage {
        u if u == coffer_leaf_usage::COFFER_LEAF_SERVER as u32 => LeafUsage::Server,
        u if u == coffer_leaf_usage::COFFER_LEAF_CLIENT as u32 => LeafUsage::Client,
        u if u == coffer_leaf_usage::COFFER_LEAF_SERVER_AND_CLIENT as u32 => LeafUsage::ServerAndClient,
        _ => return Err(COFFER_ERR_UNKNOWN_VALUE),
    };
    Ok(LeafFromCsr { ca, csr, sans, usage, validity: validity(validity_days)? })
}

/// Creates a self-signed CA certificate for `key` with the RFC 4514
/// `subject` (for example `CN=Acme Root CA,O=Acme`), valid from now (less
/// five minutes for clock skew) for `validity_days` days. `path_len` is the
/// number of intermediate CAs allowed below it (0..=255), or -1 for no limit.
///
/// Errors: `COFFER_ERR_INVALID_SUBJECT` for a subject that is no
/// distinguished name; `COFFER_ERR_INVALID_VALIDITY` for 0 days;
/// `COFFER_ERR_INVALID_ARGUMENT` for a `path_len` out of range;
/// `COFFER_ERR_NOT_UTF8`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_self_signed_ca(
    key: *const coffer_keypair,
    subject: *const u8,
    subject_len: usize,
    validity_days: u32,
    path_len: i32,
    certificate: *mut *mut coffer_certificate,
) -> coffer_status {
    ffi_boundary(|| {
        require(certificate)?;
        // SAFETY: the header's contract for handles and buffers.
        let key = &unsafe { ref_in(key) }?.inner;
        // SAFETY: as above.
        let params = unsafe { ca_params_in(subject, subject_len, validity_days, path_len) }?;
        let inner = cert::self_signed_ca(&mut OsRng, key, &params)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(certificate, coffer_certificate { inner }) }
    })
}

/// Creates a CSR for `key` with `subject` and 0..=64 requested `sans`,
/// signed by `key`.
///
/// Errors: `COFFER_ERR_INVALID_SUBJECT` for a subject that is no
/// distinguished name; `COFFER_ERR_INVALID_SAN` for a name that is not
/// valid for its kind; `COFFER_ERR_LIMIT_EXCEEDED` for more than 64 SANs;
/// `COFFER_ERR_UNKNOWN_VALUE` for an unknown SAN kind.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_csr_new(
    key: *const coffer_keypair,
    subject: *const u8,
    subject_len: usize,
    sans: *const coffer_san,
    sans_len: usize,
    csr: *mut *mut coffer_csr,
) -> coffer_status {
    ffi_boundary(|| {
        require(csr)?;
        // SAFETY: the header's contract for handles, buffers and arrays.
        let key = &unsafe { ref_in(key) }?.inner;
        // SAFETY: as above.
        let subject = unsafe { str_in(subject, subject_len) }?;
        // SAFETY: as above.
        let sans = unsafe { sans_in(sans, sans_len) }?;
        let inner = cert::csr(&mut OsRng, key, subject, &sans)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(csr, coffer_csr { inner }) }
    })
}

/// Issues a leaf certificate from `csr` under the CA `ca` and its key
/// `ca_key`, after checking the CSR's signature. The subject and public key
/// come from the CSR; the names are `sans`, or the CSR's requested names
/// when `sans_len` is 0. `usage` is a `coffer_leaf_usage`. The signature is
/// the CA key's default (PKCS#1 v1.5 SHA-256 for RSA, ECDSA-SHA-256 for P-256).
///
/// Rules: a leaf never outlives its CA (a validity past the CA
/// certificate's notAfter is `COFFER_ERR_OUTLIVES_ISSUER`, never
/// shortened); a server certificate (`COFFER_LEAF_SERVER` or
/// `COFFER_LEAF_SERVER_AND_CLIENT`) needs a DNS or IP name, else
/// `COFFER_ERR_SERVER_NAME_MISSING`.
///
/// Errors: `COFFER_ERR_VERIFY` for a CSR whose signature does not verify;
/// `COFFER_ERR_UNSUPPORTED_ALGORITHM` for one signed with an algorithm
/// coffer does not verify; `COFFER_ERR_NOT_A_CA`; `COFFER_ERR_KEY_MISMATCH`
/// if `ca_key` is not the CA's key; `COFFER_ERR_INVALID_VALIDITY` for 0
/// days; `COFFER_ERR_OUTLIVES_ISSUER`; `COFFER_ERR_SERVER_NAME_MISSING`;
/// `COFFER_ERR_INVALID_SAN` for an invalid name; `COFFER_ERR_UNKNOWN_VALUE`
/// for a bad `usage`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_issue(
    ca: *const coffer_certificate,
    ca_key: *const coffer_keypair,
    csr: *const coffer_csr,
    usage: u32,
    validity_days: u32,
    sans: *const coffer_san,
    sans_len: usize,
    certificate: *mut *mut coffer_certificate,
) -> coffer_status {
    ffi_boundary(|| {
        require(certificate)?;
        // SAFETY: the header's contract for handles.
        let ca_key = &unsafe { ref_in(ca_key) }?.inner;
        // SAFETY: the header's contract for handles and arrays.
        let leaf = unsafe { leaf_from_csr_in(ca, csr, usage, validity_days, sans, sans_len) }?;
        let scheme = ca_key.default_scheme();
        let inner = cert::issue_from_csr(&mut OsRng, leaf.ca, ca_key, scheme, leaf.csr, &leaf.params())?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(certificate, coffer_certificate { inner }) }
    })
}

/// Verifies that `leaf` was issued by `ca` and both are valid now.
///
/// Errors: `COFFER_ERR_VERIFY` (bad signature), `COFFER_ERR_ISSUER_MISMATCH`,
/// `COFFER_ERR_NOT_A_CA`, `COFFER_ERR_CERT_EXPIRED`,
/// `COFFER_ERR_CERT_NOT_YET_VALID`, `COFFER_ERR_UNKNOWN_CRITICAL_EXTENSION`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_verify(
    leaf: *const coffer_certificate,
    ca: *const coffer_certificate,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let leaf = &unsafe { ref_in(leaf) }?.inner;
        // SAFETY: as above.
        let ca = &unsafe { ref_in(ca) }?.inner;
        cert::verify_chain_now(leaf, ca)?;
        Ok(())
    })
}

/// Verifies `signature` over `msg` under `scheme` (a
/// `coffer_signature_scheme`) with the certificate's subject public key, as
/// `coffer_public_key_verify_der` does with that key. Only the signature
/// is checked: not the certificate's validity period, issuer or usage (use
/// `coffer_certificate_verify` for the chain).
///
/// Errors: `COFFER_ERR_VERIFY`; `COFFER_ERR_INVALID_ARGUMENT` for a scheme
/// of the other key type; `COFFER_ERR_KEY_POLICY` for an RSA key outside
/// 2048..=4096 bits or e != 65537; `COFFER_ERR_UNKNOWN_VALUE`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_verify_signature(
    cert: *const coffer_certificate,
    scheme: u32,
    msg: *const u8,
    msg_len: usize,
    signature: *const u8,
    signature_len: usize,
) -> coffer_status {
    // SAFETY: the header's contract for handles.
    let key = || Ok(unsafe { ref_in(cert) }?.inner.public_key()?);
    let signed = Signed { scheme, msg, msg_len, signature, signature_len };
    // SAFETY: the header's contract for input buffers, forwarded.
    unsafe { verify_call(key, signed) }
}

/// Reads a DER certificate.
///
/// Errors: `COFFER_ERR_MALFORMED` for bytes that are not a certificate;
/// `COFFER_ERR_INVALID_LENGTH` past 64 KiB.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_from_der(
    der: *const u8,
    der_len: usize,
    certificate: *mut *mut coffer_certificate,
) -> coffer_status {
    ffi_boundary(|| {
        require(certificate)?;
        // SAFETY: the header's contract for input buffers.
        let inner = Certificate::from_der(unsafe { slice_in(der, der_len) }?)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(certificate, coffer_certificate { inner }) }
    })
}

/// Reads a `CERTIFICATE` PEM block (no NUL needed).
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_from_pem(
    pem: *const u8,
    pem_len: usize,
    certificate: *mut *mut coffer_certificate,
) -> coffer_status {
    ffi_boundary(|| {
        require(certificate)?;
        // SAFETY: the header's contract for input buffers.
        let inner = Certificate::from_pem(unsafe { str_in(pem, pem_len) }?)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(certificate, coffer_certificate { inner }) }
    })
}

/// Which part of a certificate or CSR to export.
#[derive(Clone, Copy)]
enum Part {
    Der,
    Pem,
    Subject,
    PublicKeyDer,
}

/// What certificates and CSRs share for export.
trait Exported {
    fn der(&self) -> &[u8];
    fn pem(&self) -> coffer_core::Result<String>;
    fn subject(&self) -> String;
    fn public_key(&self) -> coffer_core::Result<coffer_core::cert::PublicKey>;
}

impl Exported for Certificate {
    fn der(&self) -> &[u8] {
        self.to_der()
    }
    fn pem(&self) -> coffer_core::Result<String> {
        self.to_pem()
    }
    fn subject(&self) -> String {
        Certificate::subject(self)
    }
    fn public_key(&self) -> coffer_core::Result<coffer_core::cert::PublicKey> {
        Certificate::public_key(self)
    }
}

impl Exported for Csr {
    fn der(&self) -> &[u8] {
        self.to_der()
    }
    fn pem(&self) -> coffer_core::Result<String> {
        self.to_pem()
    }
    fn subject(&self) -> String {
        Csr::subject(self)
    }
    fn public_key(&self) -> coffer_core::Result<coffer_core::cert::PublicKey> {
        Csr::public_key(self)
    }
}

/// Writes one part of a certificate or CSR to `out`.
///
/// # Safety
/// `out` must satisfy the header's contract for output slots.
unsafe fn export_part(item: &impl Exported, part: Part, out: *mut coffer_bytes) -> FfiResult<()> {
    require(out)?;
    let bytes = match part {
        Part::Der => item.der().to_vec(),
        Part::Pem => item.pem()?.into_bytes(),
        Part::Subject => item.subject().into_bytes(),
        Part::PublicKeyDer => item.public_key()?.to_spki_der()?,
    };
    // SAFETY: forwarded contract of this function.
    unsafe { bytes_out(out, &bytes) }
}

/// # Safety
/// The header's contract for handles and output slots.
unsafe fn certificate_part(
    cert: *const coffer_certificate,
    part: Part,
    out: *mut coffer_bytes,
) -> FfiResult<()> {
    require(out)?;
    // SAFETY: forwarded contract of this function.
    let c = unsafe { ref_in(cert) }?;
    // SAFETY: forwarded contract of this function.
    unsafe { export_part(&c.inner, part, out) }
}

/// # Safety
/// The header's contract for handles and output slots.
unsafe fn csr_part(csr: *const coffer_csr, part: Part, out: *mut coffer_bytes) -> FfiResult<()> {
    require(out)?;
    // SAFETY: forwarded contract of this function.
    let c = unsafe { ref_in(csr) }?;
    // SAFETY: forwarded contract of this function.
    unsafe { export_part(&c.inner, part, out) }
}

/// The certificate's DER encoding, into `*out`.
///
/// Thread safety: any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_to_der(
    cert: *const coffer_certificate,
    out: *mut coffer_bytes,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { certificate_part(cert, Part::Der, out) })
}

/// The certificate as a `CERTIFICATE` PEM block, into `*out` (not NUL-terminated).
///
/// Thread safety: any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_to_pem(
    cert: *const coffer_certificate,
    out: *mut coffer_bytes,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { certificate_part(cert, Part::Pem, out) })
}

/// The certificate's subject as an RFC 4514 string, into `*out` (not NUL-terminated).
///
/// Thread safety: any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_subject(
    cert: *const coffer_certificate,
    out: *mut coffer_bytes,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { certificate_part(cert, Part::Subject, out) })
}

/// The certificate's subject public key as SPKI DER, into `*out`.
///
/// Thread safety: any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_public_key_der(
    cert: *const coffer_certificate,
    out: *mut coffer_bytes,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { certificate_part(cert, Part::PublicKeyDer, out) })
}

/// The certificate's serial number, big-endian as encoded (a leading zero
/// byte keeps it positive), into `*out`: the `serial` of a
/// `coffer_revocation` that revokes it.
///
/// Thread safety: any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_serial(
    cert: *const coffer_certificate,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(out)?;
        // SAFETY: the header's contract for handles.
        let cert = &unsafe { ref_in(cert) }?.inner;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(out, cert.serial()) }
    })
}

/// Frees a certificate; NULL does nothing.
///
/// Thread safety: no other call may be using it.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_free(cert: *mut coffer_certificate) {
    ffi_boundary_void(|| {
        // SAFETY: NULL or a pointer from a coffer_certificate constructor, freed once.
        unsafe { handle_free(cert) }
    });
}

/// Reads a DER CSR.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_csr_from_der(
    der: *const u8,
    der_len: usize,
    csr: *mut *mut coffer_csr,
) -> coffer_status {
    ffi_boundary(|| {
        require(csr)?;
        // SAFETY: the header's contract for input buffers.
        let inner = Csr::from_der(unsafe { slice_in(der, der_len) }?)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(csr, coffer_csr { inner }) }
    })
}

/// Reads a `CERTIFICATE REQUEST` PEM block (no NUL needed).
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_csr_from_pem(
    pem: *const u8,
    pem_len: usize,
    csr: *mut *mut coffer_csr,
) -> coffer_status {
    ffi_boundary(|| {
        require(csr)?;
        // SAFETY: the header's contract for input buffers.
        let inner = Csr::from_pem(unsafe { str_in(pem, pem_len) }?)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(csr, coffer_csr { inner }) }
    })
}

/// The CSR's DER encoding, into `*out`.
///
/// Thread safety: any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_csr_to_der(csr: *const coffer_csr, out: *mut coffer_bytes) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { csr_part(csr, Part::Der, out) })
}

/// The CSR as a `CERTIFICATE REQUEST` PEM block, into `*out` (not NUL-terminated).
///
/// Thread safety: any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_csr_to_pem(csr: *const coffer_csr, out: *mut coffer_bytes) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { csr_part(csr, Part::Pem, out) })
}

/// Frees a CSR; NULL does nothing.
///
/// Thread safety: no other call may be using it.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_csr_free(csr: *mut coffer_csr) {
    ffi_boundary_void(|| {
        // SAFETY: NULL or a pointer from a coffer_csr constructor, freed once.
        unsafe { handle_free(csr) }
    });
}
