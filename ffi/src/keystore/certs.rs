//! Certificates signed by a key that never leaves the keystore: a CA's
//! self-signed certificate, a PKCS#10 request for the key itself,
//! certificates and intermediate CAs issued from requests, and revocation
//! lists (coffer-hsm's `Hsm::ca_certificate`, `Hsm::certificate_request`,
//! `Hsm::issue_certificate`, `Hsm::issue_intermediate` and `Hsm::issue_crl`).
//!
//! The arguments are those of `coffer_certificate_self_signed_ca`,
//! `coffer_csr_new`, `coffer_certificate_issue`,
//! `coffer_certificate_issue_intermediate` and `coffer_crl_issue` (read by
//! the same code in `cert.rs` and `cert_path.rs`), with the key given as a
//! keystore, a session and a key handle, and a `scheme` that may be
//! `COFFER_SIG_KEY_DEFAULT`. Every argument is checked before the key is used.

use coffer_core::rng::OsRng;

use super::{coffer_keystore, with_key};
use crate::boundary::{ffi_boundary, handle_out, ref_in, require, str_in};
use crate::cert::{ca_params_in, coffer_certificate, coffer_csr, coffer_san, leaf_from_csr_in, sans_in};
use crate::cert_path::intermediate_params_in;
use crate::crl::{coffer_crl, coffer_revocation, crl_params, revocations_in};
use crate::signature::scheme_or_key_default;
use crate::status::coffer_status;

/// Creates a self-signed CA certificate for the P-256 or RSA key `handle`
/// (usage SIGN), signed inside the keystore: the private key never leaves
/// it. The other arguments are those of `coffer_certificate_self_signed_ca`:
/// the RFC 4514 `subject`, valid from now (less five minutes for clock
/// skew) for `validity_days` days, `path_len` intermediate CAs allowed
/// below it (0..=255) or -1 for no limit. `scheme` is a
/// `coffer_signature_scheme` of the key's type, or `COFFER_SIG_KEY_DEFAULT`
/// (ECDSA-SHA-256 for P-256, PKCS#1 v1.5 SHA-256 for RSA). On success
/// `*certificate` holds the certificate (free it with
/// `coffer_certificate_free`).
///
/// Audit: the use of the key is recorded as any signature by handle is (or
/// its refusal, for the policy errors below), and the certificate is
/// described in a CertificateSigned audit record (the key, its serial,
/// subject, names and validity), committed before the call returns: no
/// certificate is returned without its record.
///
/// Order of checks: the arguments before the keystore, as everywhere
/// (see `coffer_status`), except what only the key or the certificate
/// builder can check: a scheme of the other key type, and the subject's
/// syntax (and a request's names), which coffer-core checks as it builds
/// the certificate. Those fail after the key is authorized, so a refusal
/// of the key is reported first, and their failure leaves the record of
/// the key's use but no CertificateSigned record.
///
/// Errors: `COFFER_ERR_NULL_POINTER`; `COFFER_ERR_INVALID_SUBJECT` for a
/// subject that is no distinguished name; `COFFER_ERR_INVALID_VALIDITY`
/// for 0 days; `COFFER_ERR_INVALID_ARGUMENT` for a `path_len` out of range,
/// a scheme of the other key type or a key that is not P-256 or RSA; `COFFER_ERR_NOT_UTF8`;
/// `COFFER_ERR_UNKNOWN_VALUE` for an unknown scheme; for the session and
/// the key, `COFFER_ERR_NOT_LOGGED_IN`, `COFFER_ERR_ROLE_NOT_ALLOWED` (not
/// a user session), `COFFER_ERR_NOT_FOUND`, `COFFER_ERR_TENANT_NOT_ALLOWED`,
/// `COFFER_ERR_POLICY_DENIED` (no SIGN usage), `COFFER_ERR_KEY_STATE`,
/// `COFFER_ERR_KEY_EXPIRED`; `COFFER_ERR_AUDIT_FULL` if the audit log has
/// no room (nothing is returned then).
///
/// Thread safety: see `coffer_keystore`; the certificate is independent of
/// the keystore.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_ca_certificate(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    scheme: u32,
    subject: *const u8,
    subject_len: usize,
    validity_days: u32,
    path_len: i32,
    certificate: *mut *mut coffer_certificate,
) -> coffer_status {
    ffi_boundary(|| {
        require(certificate)?;
        let scheme = scheme_or_key_default(scheme)?;
        // SAFETY: the header's contract for input buffers.
        let params = unsafe { ca_params_in(subject, subject_len, validity_days, path_len) }?;
        // SAFETY: the header's contract for handles.
        let inner = unsafe {
            with_key(keystore, session, handle, |hsm, id, h| {
                hsm.ca_certificate(&mut OsRng, id, h, scheme, &params)
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(certificate, coffer_certificate { inner }) }
    })
}

/// Creates a PKCS#10 request for the P-256 or RSA key `handle` itself
/// (usage SIGN), signed inside the keystore: for an intermediate CA whose
/// private key never leaves the keystore, to be certified by a root
/// elsewhere. `subject` and the 0..=64 requested `sans` are as for
/// `coffer_csr_new`; `scheme` as for `coffer_keystore_ca_certificate`. On
/// success `*csr` holds the request (free it with `coffer_csr_free`).
///
/// Audit and order of checks: as `coffer_keystore_ca_certificate`; the
/// CertificateSigned record names a request, with its subject and
/// requested names.
///
/// Errors: as `coffer_keystore_ca_certificate`;
/// `COFFER_ERR_INVALID_SAN` for a bad SAN; `COFFER_ERR_LIMIT_EXCEEDED`
/// for more than 64 SANs; `COFFER_ERR_UNKNOWN_VALUE` for an unknown SAN kind.
///
/// Thread safety: see `coffer_keystore`; the request is independent of the
/// keystore.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_certificate_request(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    scheme: u32,
    subject: *const u8,
    subject_len: usize,
    sans: *const coffer_san,
    sans_len: usize,
    csr: *mut *mut coffer_csr,
) -> coffer_status {
    ffi_boundary(|| {
        require(csr)?;
        let scheme = scheme_or_key_default(scheme)?;
        // SAFETY: the header's contract for input buffers and arrays.
        let subject = unsafe { str_in(subject, subject_len) }?;
        // SAFETY: as above.
        let sans = unsafe { sans_in(sans, sans_len) }?;
        // SAFETY: the header's contract for handles.
        let inner = unsafe {
            with_key(keystore, session, handle, |hsm, id, h| {
                hsm.certificate_request(&mut OsRng, id, h, scheme, subject, &sans)
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(csr, coffer_csr { inner }) }
    })
}

/// Issues a leaf certificate from `csr` under the CA certificate `ca`,
/// signed inside the keystore by the CA's key `handle` (P-256 or RSA, usage
/// SIGN): the private key never leaves it. As `coffer_certificate_issue`,
/// the CSR's signature is checked first, the subject and public key come
/// from the CSR, the names are `sans` or the CSR's requested names when
/// `sans_len` is 0, and `usage` is a `coffer_leaf_usage`. `scheme` is as
/// for `coffer_keystore_ca_certificate`. On success `*certificate` holds
/// the certificate (free it with `coffer_certificate_free`).
///
/// Audit: as `coffer_keystore_ca_certificate`: the CertificateSigned
/// record gives the issued certificate's serial, subject, names and
/// validity. The checks of `ca`, `csr` and the names (a wrong key, a
/// certificate that is no CA, a request that does not verify, more than 64
/// names or a name coffer-core refuses) come after the key is authorized:
/// their failure leaves the record of the key's use and no
/// CertificateSigned record.
///
/// Errors: as `coffer_keystore_ca_certificate` and `coffer_certificate_issue`:
/// `COFFER_ERR_KEY_MISMATCH` if `handle` is not the key `ca` certifies;
/// `COFFER_ERR_NOT_A_CA`; `COFFER_ERR_VERIFY` for a CSR whose signature does
/// not verify; `COFFER_ERR_UNKNOWN_VALUE` for a bad `usage`.
///
/// Thread safety: see `coffer_keystore`; `ca` and `csr` are only read, and
/// the certificate is independent of the keystore.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_issue_certificate(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    scheme: u32,
    ca: *const coffer_certificate,
    csr: *const coffer_csr,
    usage: u32,
    validity_days: u32,
    sans: *const coffer_san,
    sans_len: usize,
    certificate: *mut *mut coffer_certificate,
) -> coffer_status {
    ffi_boundary(|| {
        require(certificate)?;
        let scheme = scheme_or_key_default(scheme)?;
        // SAFETY: the header's contract for handles and arrays.
        let leaf = unsafe { leaf_from_csr_in(ca, csr, usage, validity_days, sans, sans_len) }?;
        // SAFETY: the header's contract for handles.
        let inner = unsafe {
            with_key(keystore, session, handle, |hsm, id, h| {
                hsm.issue_certificate(&mut OsRng, id, h, scheme, leaf.ca, leaf.csr, &leaf.params())
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(certificate, coffer_certificate { inner }) }
    })
}

/// Issues an intermediate CA certificate from `csr` under the CA
/// certificate `ca`, signed inside the keystore by the CA's key `handle`
/// (P-256 or RSA, usage SIGN): the private key never leaves it. As
/// `coffer_certificate_issue_intermediate`, the CSR's signature is checked,
/// the subject and public key come from the CSR, the certificate is valid
/// from now for `validity_days` days within `ca`'s validity, and `path_len`
/// is the number of further intermediates allowed below it (0..=255, below
/// `ca`'s own limit) or -1 for one less than `ca`'s limit. `scheme` is as
/// for `coffer_keystore_ca_certificate`. On success `*certificate` holds
/// the certificate (free it with `coffer_certificate_free`).
///
/// ```c
/// coffer_certificate *issuing = NULL;
/// coffer_status s = coffer_keystore_issue_intermediate(ks, session, root_key, COFFER_SIG_KEY_DEFAULT, root,
///                                                      request, 1825, 0, &issuing);
/// ```
///
/// Audit: as `coffer_keystore_issue_certificate`: the CertificateSigned
/// record gives the intermediate's serial, subject, names and validity.
/// The checks of `ca`, `csr` and the path length against `ca`'s come after
/// the key is authorized: their failure leaves the record of the key's use
/// and no CertificateSigned record.
///
/// Errors: as `coffer_keystore_ca_certificate` and
/// `coffer_certificate_issue_intermediate`: `COFFER_ERR_KEY_MISMATCH` if
/// `handle` is not the key `ca` certifies; `COFFER_ERR_NOT_A_CA`;
/// `COFFER_ERR_VERIFY` for a CSR whose signature does not verify;
/// `COFFER_ERR_UNSUPPORTED_ALGORITHM`; `COFFER_ERR_PATH_TOO_LONG`;
/// `COFFER_ERR_OUTLIVES_ISSUER`; `COFFER_ERR_INVALID_VALIDITY` for 0 days
/// and `COFFER_ERR_INVALID_ARGUMENT` for a `path_len` outside -1..=255
/// (both checked before the key is used).
///
/// Thread safety: see `coffer_keystore`; `ca` and `csr` are only read, and
/// the certificate is independent of the keystore.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_issue_intermediate(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    scheme: u32,
    ca: *const coffer_certificate,
    csr: *const coffer_csr,
    validity_days: u32,
    path_len: i32,
    certificate: *mut *mut coffer_certificate,
) -> coffer_status {
    ffi_boundary(|| {
        require(certificate)?;
        let scheme = scheme_or_key_default(scheme)?;
        // SAFETY: the header's contract for handles.
        let ca = &unsafe { ref_in(ca) }?.inner;
        // SAFETY: as above.
        let csr = &unsafe { ref_in(csr) }?.inner;
        let params = intermediate_params_in(validity_days, path_len)?;
        // SAFETY: the header's contract for handles.
        let inner = unsafe {
            with_key(keystore, session, handle, |hsm, id, h| {
                hsm.issue_intermediate(&mut OsRng, id, h, scheme, ca, csr, &params)
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(certificate, coffer_certificate { inner }) }
    })
}

/// Issues a certificate revocation list for the CA certificate `ca`,
/// signed inside the keystore by the CA's key `handle` (P-256 or RSA, usage
/// SIGN): the private key never leaves it. The list is as
/// `coffer_crl_issue` makes it: cRLNumber `number`, thisUpdate
/// `this_update` (0 for now), nextUpdate `next_update` (after thisUpdate),
/// and the 0..=`COFFER_CRL_MAX_ENTRIES` certificates of `revoked`. `scheme`
/// is as for `coffer_keystore_ca_certificate`. On success `*crl` holds the
/// list (free it with `coffer_crl_free`).
///
/// ```c
/// coffer_revocation revoked[1] = {{serial.data, serial.len, (uint64_t)time(NULL)}};
/// coffer_crl *crl = NULL;
/// coffer_status s = coffer_keystore_issue_crl(ks, session, root_key, COFFER_SIG_KEY_DEFAULT, root, 8, 0,
///                                             (uint64_t)time(NULL) + 86400, revoked, 1, &crl);
/// ```
///
/// Audit: the use of the key is recorded as any signature by handle is,
/// and the list is described in a CertificateSigned record (a revocation
/// list: its number, issuer, thisUpdate, nextUpdate and every revoked
/// serial as `serial:<hex>`), committed before the call returns. The checks
/// of `ca` against the key and of the window and serials come after the
/// key is authorized: their failure leaves the record of the key's use and
/// no CertificateSigned record.
///
/// Errors: as `coffer_keystore_ca_certificate` and `coffer_crl_issue`:
/// `COFFER_ERR_KEY_MISMATCH` if `handle` is not the key `ca` certifies;
/// `COFFER_ERR_NOT_A_CA`; `COFFER_ERR_LIMIT_EXCEEDED` for more than
/// `COFFER_CRL_MAX_ENTRIES` revocations (checked before the key is used);
/// `COFFER_ERR_INVALID_ARGUMENT` for an empty or over-long serial;
/// `COFFER_ERR_INVALID_VALIDITY` when `next_update` is not after thisUpdate.
///
/// Thread safety: see `coffer_keystore`; `ca` is only read, and the list is
/// independent of the keystore.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_issue_crl(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    scheme: u32,
    ca: *const coffer_certificate,
    number: u64,
    this_update: u64,
    next_update: u64,
    revoked: *const coffer_revocation,
    revoked_len: usize,
    crl: *mut *mut coffer_crl,
) -> coffer_status {
    ffi_boundary(|| {
        require(crl)?;
        let scheme = scheme_or_key_default(scheme)?;
        // SAFETY: the header's contract for handles.
        let ca = &unsafe { ref_in(ca) }?.inner;
        // SAFETY: the header's contract for input arrays and buffers.
        let revoked = unsafe { revocations_in(revoked, revoked_len) }?;
        let params = crl_params(number, this_update, next_update, &revoked);
        // SAFETY: the header's contract for handles.
        let inner = unsafe {
            with_key(keystore, session, handle, |hsm, id, h| {
                hsm.issue_crl(&mut OsRng, id, h, scheme, ca, &params)
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(crl, coffer_crl { inner }) }
    })
}
