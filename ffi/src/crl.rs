//! Certificate revocation lists for C: issued by a CA key file (or, in
//! `keystore/certs.rs`, by a key in the keystore), read from DER or PEM,
//! and checked (coffer-core's `issue_crl` and `Crl`); they are used in
//! `coffer_certificate_verify_path` (`cert_path.rs`).

use coffer_core::cert::{self, Crl, CrlParams, MAX_CRL_ENTRIES, Revocation};
use coffer_core::rng::OsRng;

use crate::boundary::{
    array_in, bytes_out, coffer_bytes, ffi_boundary, ffi_boundary_void, handle_free, handle_out, ref_in,
    require, slice_in, str_in, write_out,
};
use crate::cert::coffer_certificate;
use crate::cert_path::time_or_now;
use crate::keypair::coffer_keypair;
use crate::status::{COFFER_ERR_LIMIT_EXCEEDED, FfiResult, coffer_status};

/// A certificate revocation list (X.509 v2 CRL). Created by
/// `coffer_crl_issue`, `coffer_keystore_issue_crl` or an import
/// (`coffer_crl_from_der`, `coffer_crl_from_pem`); freed by `coffer_crl_free`.
///
/// Thread safety: immutable; any number of threads may use one at once.
pub struct coffer_crl {
    pub(crate) inner: Crl,
}

/// One revoked certificate of a CRL to issue: its serial number as
/// `coffer_certificate_serial` gives it (1..=20 bytes, big-endian; leading
/// zero bytes are ignored) and when it was revoked, in seconds since the
/// Unix epoch.
#[repr(C)]
#[derive(Debug)]
pub struct coffer_revocation {
    /// The serial number's bytes.
    pub serial: *const u8,
    /// Length of `serial`.
    pub serial_len: usize,
    /// The revocation time, seconds since the Unix epoch.
    pub revoked_at: u64,
}

/// The revoked certificates of a CRL to issue: 0..=`COFFER_CRL_MAX_ENTRIES`
/// of them, counted before any is read.
///
/// # Safety
/// The header's contract for input arrays, and for the input buffer of each
/// element's `serial`.
pub(crate) unsafe fn revocations_in<'a>(
    ptr: *const coffer_revocation,
    len: usize,
) -> FfiResult<Vec<Revocation<'a>>> {
    if len > MAX_CRL_ENTRIES {
        return Err(COFFER_ERR_LIMIT_EXCEEDED);
    }
    // SAFETY: forwarded contract of this function.
    let raw = unsafe { array_in(ptr, len) }?;
    raw.iter()
        .map(|r| {
            // SAFETY: forwarded contract of this function.
            let serial = unsafe { slice_in(r.serial, r.serial_len) }?;
            Ok(Revocation { serial, revoked_at: r.revoked_at })
        })
        .collect()
}

/// The parameters of a CRL as the C functions take them: its cRLNumber,
/// thisUpdate (0: now), nextUpdate and the revoked certificates.
pub(crate) fn crl_params<'a>(
    number: u64,
    this_update: u64,
    next_update: u64,
    revoked: &'a [Revocation<'a>],
) -> CrlParams<'a> {
    CrlParams { number, this_update: time_or_now(this_update), next_update, revoked }
}

/// Issues a certificate revocation list (X.509 v2) for the CA `ca`, signed
/// by its key `ca_key` under the key's default scheme (PKCS#1 v1.5 SHA-256
/// for RSA, ECDSA-SHA-256 for P-256). It carries `ca`'s subject as issuer,
/// thisUpdate `this_update` (seconds since the Unix epoch, 0 for now),
/// nextUpdate `next_update` (after thisUpdate: when the next list is due;
/// verifiers refuse this one after it), the cRLNumber `number` (higher than
/// every earlier list of this CA's) and the 0..=`COFFER_CRL_MAX_ENTRIES`
/// certificates of `revoked` (NULL with 0 for none). On success `*crl`
/// holds the list (free it with `coffer_crl_free`; `coffer_crl_to_pem`
/// writes the form `openssl crl` reads).
///
/// ```c
/// coffer_bytes serial = {NULL, 0};
/// coffer_certificate_serial(agent_cert, &serial);
/// uint64_t now = (uint64_t)time(NULL);
/// coffer_revocation revoked[1] = {{serial.data, serial.len, now}};
/// coffer_crl *crl = NULL;
/// coffer_status s = coffer_crl_issue(ca, ca_key, 7, now, now + 7 * 86400, revoked, 1, &crl);
/// coffer_bytes_free(&serial);
/// ```
///
/// Errors: `COFFER_ERR_NULL_POINTER`; `COFFER_ERR_LIMIT_EXCEEDED` for more
/// than `COFFER_CRL_MAX_ENTRIES` revocations; `COFFER_ERR_INVALID_ARGUMENT`
/// for a serial that is empty (or all zero bytes) or longer than 20 bytes;
/// `COFFER_ERR_NOT_A_CA` if `ca` is no CA or may not sign CRLs (a keyUsage
/// without cRLSign); `COFFER_ERR_KEY_MISMATCH` if `ca_key` is not `ca`'s
/// key; `COFFER_ERR_INVALID_VALIDITY` when `next_update` is not after
/// thisUpdate or a time is past the year 9999.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_crl_issue(
    ca: *const coffer_certificate,
    ca_key: *const coffer_keypair,
    number: u64,
    this_update: u64,
    next_update: u64,
    revoked: *const coffer_revocation,
    revoked_len: usize,
    crl: *mut *mut coffer_crl,
) -> coffer_status {
    ffi_boundary(|| {
        require(crl)?;
        // SAFETY: the header's contract for handles.
        let ca = &unsafe { ref_in(ca) }?.inner;
        // SAFETY: as above.
        let ca_key = &unsafe { ref_in(ca_key) }?.inner;
        // SAFETY: the header's contract for input arrays and buffers.
        let revoked = unsafe { revocations_in(revoked, revoked_len) }?;
        let params = crl_params(number, this_update, next_update, &revoked);
        let inner = cert::issue_crl(&mut OsRng, ca, ca_key, ca_key.default_scheme(), &params)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(crl, coffer_crl { inner }) }
    })
}

/// Reads a DER CRL (at most 256 KiB and `COFFER_CRL_MAX_ENTRIES` entries).
/// Its signature is not checked here: see `coffer_crl_verify_signature`.
///
/// Errors: `COFFER_ERR_NULL_POINTER`; `COFFER_ERR_MALFORMED` for bytes that
/// are not a CRL; `COFFER_ERR_INVALID_LENGTH` past 256 KiB;
/// `COFFER_ERR_LIMIT_EXCEEDED` past the entry limit.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_crl_from_der(
    der: *const u8,
    der_len: usize,
    crl: *mut *mut coffer_crl,
) -> coffer_status {
    ffi_boundary(|| {
        require(crl)?;
        // SAFETY: the header's contract for input buffers.
        let inner = Crl::from_der(unsafe { slice_in(der, der_len) }?)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(crl, coffer_crl { inner }) }
    })
}

/// Reads one `X509 CRL` PEM block (no NUL needed); limits and errors as
/// `coffer_crl_from_der`, and `COFFER_ERR_NOT_UTF8`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_crl_from_pem(
    pem: *const u8,
    pem_len: usize,
    crl: *mut *mut coffer_crl,
) -> coffer_status {
    ffi_boundary(|| {
        require(crl)?;
        // SAFETY: the header's contract for input buffers.
        let inner = Crl::from_pem(unsafe { str_in(pem, pem_len) }?)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(crl, coffer_crl { inner }) }
    })
}

/// Writes the CRL's DER (`pem` false) or PEM (`pem` true) form to `out`.
///
/// # Safety
/// The header's contract for handles and output slots.
unsafe fn crl_export(crl: *const coffer_crl, pem: bool, out: *mut coffer_bytes) -> FfiResult<()> {
    require(out)?;
    // SAFETY: forwarded contract of this function.
    let crl = &unsafe { ref_in(crl) }?.inner;
    let bytes = if pem { crl.to_pem()?.into_bytes() } else { crl.to_der().to_vec() };
    // SAFETY: forwarded contract of this function.
    unsafe { bytes_out(out, &bytes) }
}

/// The CRL's DER encoding, into `*out`.
///
/// Thread safety: any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_crl_to_der(crl: *const coffer_crl, out: *mut coffer_bytes) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { crl_export(crl, false, out) })
}

/// The CRL as an `X509 CRL` PEM block, into `*out` (not NUL-terminated).
///
/// Thread safety: any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_crl_to_pem(crl: *const coffer_crl, out: *mut coffer_bytes) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { crl_export(crl, true, out) })
}

/// Sets `*listed` to whether `cert`'s serial number is on `crl` (leading
/// zero bytes aside). Only the serial number is compared: first check with
/// `coffer_crl_verify_signature` that `crl` is signed by `cert`'s issuer,
/// or let `coffer_certificate_verify_path` do both.
///
/// Errors: `COFFER_ERR_NULL_POINTER`.
///
/// Thread safety: any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_crl_lists(
    crl: *const coffer_crl,
    cert: *const coffer_certificate,
    listed: *mut bool,
) -> coffer_status {
    ffi_boundary(|| {
        require(listed)?;
        // SAFETY: the header's contract for handles.
        let crl = &unsafe { ref_in(crl) }?.inner;
        // SAFETY: as above.
        let cert = &unsafe { ref_in(cert) }?.inner;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { write_out(listed, crl.lists(cert)) }
    })
}

/// Verifies that `issuer` signed `crl` and may sign CRLs: the CRL's issuer
/// name is `issuer`'s subject, `issuer` is a CA whose keyUsage (if present)
/// allows cRLSign, and the signature verifies with its key. The CRL's
/// thisUpdate and nextUpdate are not checked here
/// (`coffer_certificate_verify_path` checks them at its `now`).
///
/// Errors: `COFFER_ERR_NULL_POINTER`; `COFFER_ERR_ISSUER_MISMATCH`;
/// `COFFER_ERR_NOT_A_CA`; `COFFER_ERR_VERIFY`;
/// `COFFER_ERR_UNSUPPORTED_ALGORITHM`.
///
/// Thread safety: any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_crl_verify_signature(
    crl: *const coffer_crl,
    issuer: *const coffer_certificate,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let crl = &unsafe { ref_in(crl) }?.inner;
        // SAFETY: as above.
        let issuer = &unsafe { ref_in(issuer) }?.inner;
        Ok(crl.verify_signature(issuer)?)
    })
}

/// Frees a CRL; NULL does nothing.
///
/// Thread safety: no other call may be using it.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_crl_free(crl: *mut coffer_crl) {
    ffi_boundary_void(|| {
        // SAFETY: NULL or a pointer from a coffer_crl constructor, freed once.
        unsafe { handle_free(crl) }
    });
}
