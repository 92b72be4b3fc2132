//! The cryptography by key handle: envelopes, signatures, public keys, and
//! verifying the audit log.

use coffer_core::rng::OsRng;

use super::{coffer_keystore, with_key, with_state};
use crate::boundary::{bytes_out, coffer_bytes, ffi_boundary, require, slice_in};
use crate::envelope::{coffer_kv, context_in, envelope_header};
use crate::status::coffer_status;

/// Seals `plaintext` as an envelope for the current version of the AES-256
/// or RSA key `handle` (usage ENCRYPT), bound to `context`. The envelope's
/// key id is the key's id. On success `*out` holds the envelope.
///
/// Errors: `COFFER_ERR_NOT_FOUND`; `COFFER_ERR_POLICY_DENIED`;
/// `COFFER_ERR_KEY_STATE`; `COFFER_ERR_INVALID_ARGUMENT` for a key of another type.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_seal_envelope(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    context: *const coffer_kv,
    context_len: usize,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(out)?;
        // SAFETY: the header's contract for input arrays and buffers.
        let context = unsafe { context_in(context, context_len) }?;
        // SAFETY: as above.
        let plaintext = unsafe { slice_in(plaintext, plaintext_len) }?;
        // SAFETY: the header's contract for handles.
        let env = unsafe {
            with_key(keystore, session, handle, |hsm, id, h| {
                hsm.seal_envelope(&mut OsRng, id, h, &context, plaintext)
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(out, &env) }
    })
}

/// Opens an envelope sealed to any version of the key `handle` (usage
/// DECRYPT) with the same `context`. On success `*out` holds the plaintext.
///
/// Detects the same tampering as `coffer_envelope_open` and no more: the
/// bound section and payload are authenticated, but another recipient's
/// record is not authenticated for you (FORMAT.md §3.3).
///
/// Errors: `COFFER_ERR_MALFORMED` if `sealed` does not start with a
/// well-formed envelope header (checked before the key is used);
/// `COFFER_ERR_DECRYPT` for any failure to open a well-formed one; as
/// `coffer_keystore_seal_envelope` for the key checks.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_open_envelope(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    context: *const coffer_kv,
    context_len: usize,
    sealed: *const u8,
    sealed_len: usize,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(out)?;
        // SAFETY: the header's contract for input arrays and buffers.
        let context = unsafe { context_in(context, context_len) }?;
        // SAFETY: as above.
        let sealed = unsafe { slice_in(sealed, sealed_len) }?;
        envelope_header(sealed)?;
        // SAFETY: the header's contract for handles.
        let plaintext = unsafe {
            with_key(keystore, session, handle, |hsm, id, h| {
                hsm.open_envelope(&mut OsRng, id, h, &context, sealed)
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(out, &plaintext) }
    })
}

/// Rewraps an envelope of the AES-256 key `handle` to the key's current
/// version (usages WRAP and UNWRAP), changing only the header. An envelope
/// already on the current version comes back unchanged.
///
/// Errors: `COFFER_ERR_MALFORMED` if `sealed` does not start with a
/// well-formed envelope header (checked before the key is used);
/// `COFFER_ERR_DECRYPT` if it has no recipient of this key or the key does
/// not open it; `COFFER_ERR_INVALID_ARGUMENT` for a key that is not AES-256;
/// the key checks of `coffer_keystore_seal_envelope`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_rewrap_envelope(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    sealed: *const u8,
    sealed_len: usize,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(out)?;
        // SAFETY: the header's contract for input buffers.
        let sealed = unsafe { slice_in(sealed, sealed_len) }?;
        envelope_header(sealed)?;
        // SAFETY: the header's contract for handles.
        let env = unsafe {
            with_key(keystore, session, handle, |hsm, id, h| hsm.rewrap_envelope(&mut OsRng, id, h, sealed))
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(out, &env) }
    })
}

/// Signs `msg` with the current version of the P-256 or RSA key `handle`
/// (usage SIGN): ECDSA-SHA-256 (DER) or RSASSA-PSS-SHA-256. On success
/// `*signature` holds the signature.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_sign(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    msg: *const u8,
    msg_len: usize,
    signature: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(signature)?;
        // SAFETY: the header's contract for input buffers.
        let msg = unsafe { slice_in(msg, msg_len) }?;
        // SAFETY: the header's contract for handles.
        let sig =
            unsafe { with_key(keystore, session, handle, |hsm, id, h| hsm.sign(&mut OsRng, id, h, msg)) }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(signature, &sig) }
    })
}

/// Verifies a signature from `coffer_keystore_sign` against any version of
/// the key `handle` (usage VERIFY).
///
/// Errors: `COFFER_ERR_VERIFY` if it does not verify.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_verify(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    msg: *const u8,
    msg_len: usize,
    signature: *const u8,
    signature_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let msg = unsafe { slice_in(msg, msg_len) }?;
        // SAFETY: as above.
        let sig = unsafe { slice_in(signature, signature_len) }?;
        // SAFETY: the header's contract for handles.
        unsafe { with_key(keystore, session, handle, |hsm, id, h| hsm.verify(id, h, msg, sig)) }
    })
}

/// The public key of the current version of the P-256 or RSA key `handle`
/// as SPKI DER, into `*out`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_public_key_der(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(out)?;
        // SAFETY: the header's contract for handles.
        let der = unsafe { with_key(keystore, session, handle, |hsm, id, h| hsm.public_key_der(id, h)) }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(out, &der) }
    })
}

/// Verifies the HMAC chain of the audit log of the auditor session's token.
///
/// Errors: `COFFER_ERR_AUDIT_TAMPERED`; `COFFER_ERR_ROLE_NOT_ALLOWED` unless
/// `auditor_session` is an auditor.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_audit_verify(
    keystore: *const coffer_keystore,
    auditor_session: u64,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        unsafe {
            with_state(keystore, |s| {
                let rec = s.session(auditor_session)?;
                Ok(s.hsm.audit_verify(rec.id)?)
            })
        }
    })
}
