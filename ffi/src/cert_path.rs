//! Certification paths for C: intermediate CAs issued from requests, and
//! path validation from a leaf through untrusted intermediates to trust
//! anchors, checked against revocation lists (`crl.rs`) (coffer-core's
//! `issue_intermediate` and `verify_path`, RFC 5280 §6 as
//! `core/src/cert/path.rs` documents it).
//!
//! The keystore counterparts, signing with a key that never leaves the
//! keystore, are `coffer_keystore_issue_intermediate` and
//! `coffer_keystore_issue_crl` (`keystore/certs.rs`); they read their
//! arguments with the helpers here.

use coffer_core::cert::{
    self, Certificate, Crl, ExpectedName, IntermediateParams, MAX_CANDIDATES, MAX_CRL_ENTRIES, PathOptions,
    Purpose, San,
};
use coffer_core::rng::OsRng;
use coffer_hsm::{Clock, SystemClock};

use crate::boundary::{
    array_in, buffer_out, capacity_of, ffi_boundary, handle_out, mut_in, ref_in, require, str_in, write_out,
};
use crate::cert::{coffer_certificate, coffer_csr, coffer_san, sans_in, validity};
use crate::crl::coffer_crl;
use crate::keypair::coffer_keypair;
use crate::status::{
    COFFER_ERR_BUFFER_TOO_SMALL, COFFER_ERR_INVALID_ARGUMENT, COFFER_ERR_LIMIT_EXCEEDED,
    COFFER_ERR_NULL_POINTER, COFFER_ERR_UNKNOWN_VALUE, FfiResult, coffer_status,
};

/// A `purpose` for `coffer_certificate_verify_path`: no purpose is checked
/// (neither extendedKeyUsage nor keyUsage, and the leaf may be a CA).
pub const COFFER_PURPOSE_ANY: u32 = 0;
/// A `purpose` for `coffer_certificate_verify_path`: a TLS server. The
/// leaf is no CA, its keyUsage (if present) allows digitalSignature, and
/// its and every CA's extendedKeyUsage (if present) include serverAuth or
/// anyExtendedKeyUsage.
pub const COFFER_PURPOSE_SERVER: u32 = 1;
/// A `purpose` for `coffer_certificate_verify_path`: a TLS client, checked
/// as `COFFER_PURPOSE_SERVER` with clientAuth.
pub const COFFER_PURPOSE_CLIENT: u32 = 2;

/// Longest subject public key (SPKI DER) coffer returns, in bytes: an
/// RSA-4096 key with exponent 65537 (a P-256 key takes 91). A buffer of
/// this size always holds the leaf key of `coffer_certificate_verify_path`.
pub const COFFER_SPKI_MAX_LEN: usize = 550;

/// Most certificates in a path `coffer_certificate_verify_path` builds,
/// leaf and anchor included (so at most six intermediates).
pub const COFFER_PATH_MAX_LEN: usize = 8;

/// Most trust anchors, most untrusted intermediates, and most CRLs
/// `coffer_certificate_verify_path` takes.
pub const COFFER_PATH_MAX_CANDIDATES: usize = 64;

/// Most revoked certificates one CRL lists (issued or read).
pub const COFFER_CRL_MAX_ENTRIES: usize = 4096;

// The C limits are coffer-core's, written out for cbindgen.
const _: () = assert!(COFFER_PATH_MAX_LEN == cert::MAX_CHAIN_LEN);
const _: () = assert!(COFFER_PATH_MAX_CANDIDATES == MAX_CANDIDATES);
const _: () = assert!(COFFER_CRL_MAX_ENTRIES == MAX_CRL_ENTRIES);

/// `time` as given, or the system clock for 0.
pub(crate) fn time_or_now(time: u64) -> u64 {
    if time == 0 { SystemClock.now() } else { time }
}

/// The parameters of an intermediate CA as the C functions take them:
/// `validity_days` (not 0) from now, and `path_len` further intermediates
/// allowed below it (0..=255) or -1 for the default (one less than the
/// issuer's; no limit under an issuer without one).
pub(crate) fn intermediate_params_in(validity_days: u32, path_len: i32) -> FfiResult<IntermediateParams> {
    let path_len = match path_len {
        -1 => None,
        n => Some(u8::try_from(n).map_err(|_| COFFER_ERR_INVALID_ARGUMENT)?),
    };
    Ok(IntermediateParams { validity: validity(validity_days)?, path_len })
}

/// Issues an intermediate CA certificate from `csr` under the CA `ca` and
/// its key `ca_key`, after checking the CSR's signature: the subject and
/// public key come from the CSR, the certificate says CA:TRUE with
/// keyCertSign and cRLSign, and the signature is the CA key's default
/// (PKCS#1 v1.5 SHA-256 for RSA, ECDSA-SHA-256 for P-256). It is valid from
/// now (less five minutes for clock skew, and not before `ca` starts) for
/// `validity_days` days, which must end within `ca`'s validity.
/// `path_len` is the number of further intermediate CAs allowed below it:
/// 0..=255, below `ca`'s own limit, or -1 for one less than `ca`'s limit
/// (no limit if `ca` has none). On success `*certificate` holds the
/// certificate (free it with `coffer_certificate_free`).
///
/// ```c
/// coffer_certificate *issuing = NULL;
/// // A root with path_len 1 certifies an issuing CA that issues leaves only.
/// coffer_status s = coffer_certificate_issue_intermediate(root, root_key, request, 1825, -1, &issuing);
/// ```
///
/// Errors: `COFFER_ERR_NULL_POINTER`; `COFFER_ERR_INVALID_VALIDITY` for 0
/// days; `COFFER_ERR_INVALID_ARGUMENT` for a `path_len` outside -1..=255;
/// `COFFER_ERR_VERIFY` for a CSR whose signature does not verify;
/// `COFFER_ERR_UNSUPPORTED_ALGORITHM` for one signed with an algorithm
/// coffer does not verify; `COFFER_ERR_NOT_A_CA` if `ca` is no CA or may
/// not sign certificates; `COFFER_ERR_KEY_MISMATCH` if `ca_key` is not
/// `ca`'s key; `COFFER_ERR_PATH_TOO_LONG` if `ca`'s pathLenConstraint is 0
/// or `path_len` is not below it; `COFFER_ERR_OUTLIVES_ISSUER` for a
/// validity ending after `ca`'s.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_issue_intermediate(
    ca: *const coffer_certificate,
    ca_key: *const coffer_keypair,
    csr: *const coffer_csr,
    validity_days: u32,
    path_len: i32,
    certificate: *mut *mut coffer_certificate,
) -> coffer_status {
    ffi_boundary(|| {
        require(certificate)?;
        // SAFETY: the header's contract for handles.
        let ca = &unsafe { ref_in(ca) }?.inner;
        // SAFETY: as above.
        let ca_key = &unsafe { ref_in(ca_key) }?.inner;
        // SAFETY: as above.
        let csr = &unsafe { ref_in(csr) }?.inner;
        let params = intermediate_params_in(validity_days, path_len)?;
        let inner = cert::issue_intermediate(&mut OsRng, ca, ca_key, ca_key.default_scheme(), csr, &params)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(certificate, coffer_certificate { inner }) }
    })
}

/// The certificates of a PEM bundle: none for an empty input (NULL with
/// length 0), else 1..=64 `CERTIFICATE` blocks.
///
/// # Safety
/// The header's contract for input buffers.
unsafe fn bundle_in(pem: *const u8, pem_len: usize) -> FfiResult<Vec<Certificate>> {
    // SAFETY: forwarded contract of this function.
    let text = unsafe { str_in(pem, pem_len) }?;
    if text.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Certificate::all_from_pem(text)?)
}

/// The revocation lists of a `const coffer_crl *` array: 0..=64 of them.
///
/// # Safety
/// The header's contract for input arrays and handles.
unsafe fn crls_in(ptr: *const *const coffer_crl, len: usize) -> FfiResult<Vec<Crl>> {
    if len > MAX_CANDIDATES {
        return Err(COFFER_ERR_LIMIT_EXCEEDED);
    }
    // SAFETY: forwarded contract of this function.
    let handles = unsafe { array_in(ptr, len) }?;
    handles
        .iter()
        .map(|h| {
            // SAFETY: forwarded contract of this function: each element is a
            // valid coffer_crl handle (NULL is refused by `ref_in`).
            Ok(unsafe { ref_in(*h) }?.inner.clone())
        })
        .collect()
}

/// The purpose a `COFFER_PURPOSE_*` value names.
fn purpose_of(purpose: u32) -> FfiResult<Option<Purpose>> {
    match purpose {
        COFFER_PURPOSE_ANY => Ok(None),
        COFFER_PURPOSE_SERVER => Ok(Some(Purpose::ServerAuth)),
        COFFER_PURPOSE_CLIENT => Ok(Some(Purpose::ClientAuth)),
        _ => Err(COFFER_ERR_UNKNOWN_VALUE),
    }
}

/// The name a leaf must be for: none for NULL, else a DNS name or an IP
/// address (a URI is no host name).
///
/// # Safety
/// The header's contract for an optional input struct and its buffer.
unsafe fn name_in(name: *const coffer_san) -> FfiResult<Option<San>> {
    if name.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract of this function; one element.
    let mut names = unsafe { sans_in(name, 1) }?;
    match names.pop() {
        Some(san @ (San::Dns(_) | San::Ip(_))) => Ok(Some(san)),
        _ => Err(COFFER_ERR_INVALID_ARGUMENT),
    }
}

/// Builds and validates a certification path from `leaf` through the
/// untrusted intermediates `untrusted_pem` to one of the trust anchors
/// `anchors_pem` (RFC 5280 §6 as coffer checks it): every signature, every
/// validity window at `now` (the anchor's included), no unknown critical
/// extension (name constraints and certificate policies are refused as
/// such), every issuer a CA allowed to sign certificates, every
/// pathLenConstraint, and then, as asked, revocation, purpose and name.
///
/// - `anchors_pem`: 1..=64 `CERTIFICATE` PEM blocks (text between blocks
///   is ignored); a path ends at one of them, which is trusted as given.
/// - `untrusted_pem`: 0..=64 `CERTIFICATE` blocks to build the path from
///   (NULL with length 0 for none), in any order; those not needed are
///   ignored.
/// - `crls`, `crls_len`: 0..=64 revocation lists (NULL with 0 for none).
///   Each certificate of the path whose issuer signed one of them must not
///   be listed, and that list must be current at `now`; certificates whose
///   issuer signed none of them are not checked for revocation.
/// - `purpose`: `COFFER_PURPOSE_ANY`, `COFFER_PURPOSE_SERVER` or
///   `COFFER_PURPOSE_CLIENT`.
/// - `name`: NULL, or the name the leaf must be for: a `COFFER_SAN_DNS`
///   name (matched against its DNS names, ASCII case-insensitive, a `*.`
///   wildcard standing for one leftmost label) or a `COFFER_SAN_IP`
///   address (matched against its IP addresses); the subject's CN is never
///   used.
/// - `now`: the time of the check in seconds since the Unix epoch, or 0 for
///   the system clock.
///
/// On success `*chain_len` is the number of certificates in the path, leaf
/// and trust anchor included (2..=`COFFER_PATH_MAX_LEN`). If
/// `leaf_spki_len` is not NULL, the leaf's public key (SPKI DER, at most
/// `COFFER_SPKI_MAX_LEN` bytes) is written to `leaf_spki`, a buffer of
/// `*leaf_spki_len` bytes, and `*leaf_spki_len` is set to its length. If
/// the buffer is too small nothing is verified, `*leaf_spki_len` is set to
/// the length needed and the result is `COFFER_ERR_BUFFER_TOO_SMALL` (call
/// with `leaf_spki` NULL and `*leaf_spki_len` 0 to ask for the length).
/// Pass NULL for both to skip the key.
///
/// ```c
/// coffer_san host = {COFFER_SAN_DNS, (const uint8_t *)"agent-7.acme.test", 17};
/// const coffer_crl *lists[1] = {root_crl};
/// uint8_t key[COFFER_SPKI_MAX_LEN];
/// size_t path = 0, key_len = sizeof key;
/// coffer_status s = coffer_certificate_verify_path(leaf, roots_pem, roots_pem_len, chain_pem, chain_pem_len,
///                                                  lists, 1, COFFER_PURPOSE_SERVER, &host, 0, &path, key,
///                                                  &key_len);
/// if (s != COFFER_OK) fprintf(stderr, "refused: %s\n", coffer_status_message(s));
/// ```
///
/// Errors: `COFFER_ERR_NULL_POINTER`; `COFFER_ERR_MALFORMED` for a bundle
/// block that is not a certificate, or anchors with no certificate;
/// `COFFER_ERR_LIMIT_EXCEEDED` for more than 64 anchors, intermediates or
/// CRLs, or a search that ran out of steps (4096, coffer-core's
/// `MAX_SEARCH_STEPS`) before any candidate reached an anchor;
/// `COFFER_ERR_INVALID_LENGTH` for a bundle over 8 MiB;
/// `COFFER_ERR_NOT_UTF8`; `COFFER_ERR_UNKNOWN_VALUE` for an unknown
/// `purpose` or name kind; `COFFER_ERR_INVALID_ARGUMENT` for a URI or email
/// `name`; `COFFER_ERR_INVALID_SAN` for an IP `name` that is no address;
/// `COFFER_ERR_BUFFER_TOO_SMALL`. A path that does not validate gives the
/// code of the first failing check of the longest candidate path that
/// reached an anchor: `COFFER_ERR_VERIFY` (a signature),
/// `COFFER_ERR_UNSUPPORTED_ALGORITHM`, `COFFER_ERR_NOT_A_CA`,
/// `COFFER_ERR_CERT_EXPIRED`, `COFFER_ERR_CERT_NOT_YET_VALID`,
/// `COFFER_ERR_UNKNOWN_CRITICAL_EXTENSION`, `COFFER_ERR_PATH_TOO_LONG`,
/// `COFFER_ERR_REVOKED`, `COFFER_ERR_CRL_OUT_OF_DATE`,
/// `COFFER_ERR_WRONG_PURPOSE`, `COFFER_ERR_NAME_MISMATCH`; with no
/// candidate reaching an anchor, `COFFER_ERR_NO_PATH` (a missing
/// intermediate, an untrusted root). A certificate of the path whose key
/// cannot be read gives `COFFER_ERR_INVALID_KEY` or `COFFER_ERR_KEY_POLICY`,
/// and one whose extensions do not decode `COFFER_ERR_MALFORMED`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_certificate_verify_path(
    leaf: *const coffer_certificate,
    anchors_pem: *const u8,
    anchors_pem_len: usize,
    untrusted_pem: *const u8,
    untrusted_pem_len: usize,
    crls: *const *const coffer_crl,
    crls_len: usize,
    purpose: u32,
    name: *const coffer_san,
    now: u64,
    chain_len: *mut usize,
    leaf_spki: *mut u8,
    leaf_spki_len: *mut usize,
) -> coffer_status {
    ffi_boundary(|| {
        require(chain_len)?;
        let spki_cap = if leaf_spki_len.is_null() {
            if !leaf_spki.is_null() {
                return Err(COFFER_ERR_NULL_POINTER);
            }
            None
        } else {
            // SAFETY: the header's contract for in/out lengths.
            Some(unsafe { capacity_of(leaf_spki, leaf_spki_len) }?)
        };
        // SAFETY: the header's contract for handles.
        let leaf = &unsafe { ref_in(leaf) }?.inner;
        // SAFETY: the header's contract for input buffers.
        let anchors = Certificate::all_from_pem(unsafe { str_in(anchors_pem, anchors_pem_len) }?)?;
        // SAFETY: as above.
        let intermediates = unsafe { bundle_in(untrusted_pem, untrusted_pem_len) }?;
        // SAFETY: the header's contract for input arrays and handles.
        let crls = unsafe { crls_in(crls, crls_len) }?;
        let purpose = purpose_of(purpose)?;
        // SAFETY: the header's contract for input structs.
        let name = unsafe { name_in(name) }?;
        let spki = match spki_cap {
            Some(cap) => {
                let der = leaf.public_key()?.to_spki_der()?;
                if cap < der.len() {
                    // SAFETY: checked non-NULL above; the caller's in/out length.
                    *unsafe { mut_in(leaf_spki_len) }? = der.len();
                    return Err(COFFER_ERR_BUFFER_TOO_SMALL);
                }
                Some(der)
            }
            None => None,
        };
        let name = match &name {
            Some(San::Dns(d)) => Some(ExpectedName::Dns(d)),
            Some(San::Ip(ip)) => Some(ExpectedName::Ip(*ip)),
            _ => None,
        };
        let opts = PathOptions { now: time_or_now(now), purpose, name, crls: &crls };
        let path = cert::verify_path(leaf, &intermediates, &anchors, &opts)?;
        if let Some(der) = spki {
            // SAFETY: the header's contract for output buffers; the capacity
            // was checked above.
            unsafe { buffer_out(leaf_spki, leaf_spki_len, &der) }?;
        }
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { write_out(chain_len, path.chain().len()) }
    })
}
