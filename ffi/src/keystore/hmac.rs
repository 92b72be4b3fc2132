//! HMAC-SHA-256 by key handle, and webhook signatures
//! (`t=<timestamp>,v1=<hex>`) made and checked with an HMAC key that never
//! leaves the keystore.

use coffer_core::mac::WebhookMessage;

use super::{coffer_keystore, with_key};
use crate::boundary::{bytes_out, coffer_bytes, ffi_boundary, require, slice_in};
use crate::status::coffer_status;
use crate::webhook::{delivery_in, header_out};

/// The HMAC-SHA-256 tag (`COFFER_HMAC_TAG_LEN`, 32 bytes) of `msg` under
/// the current version of the HMAC key `handle` (usage SIGN), into `*tag`.
///
/// Errors: `COFFER_ERR_INVALID_ARGUMENT` for a key that is not an HMAC
/// key; `COFFER_ERR_POLICY_DENIED`, `COFFER_ERR_KEY_STATE`,
/// `COFFER_ERR_KEY_EXPIRED`, `COFFER_ERR_NOT_FOUND` and the other key checks.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_hmac_sign(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    msg: *const u8,
    msg_len: usize,
    tag: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(tag)?;
        // SAFETY: the header's contract for input buffers.
        let msg = unsafe { slice_in(msg, msg_len) }?;
        // SAFETY: the header's contract for handles.
        let mac = unsafe { with_key(keystore, session, handle, |hsm, id, h| hsm.hmac_sign(id, h, &[msg])) }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(tag, &mac) }
    })
}

/// Checks an HMAC-SHA-256 `tag` of `msg` against every version of the HMAC
/// key `handle` (usage VERIFY), in constant time.
///
/// Errors: `COFFER_ERR_VERIFY` for a wrong tag or one that is not 32
/// bytes; the key checks of `coffer_keystore_hmac_sign`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_hmac_verify(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    msg: *const u8,
    msg_len: usize,
    tag: *const u8,
    tag_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let msg = unsafe { slice_in(msg, msg_len) }?;
        // SAFETY: as above.
        let tag = unsafe { slice_in(tag, tag_len) }?;
        // SAFETY: the header's contract for handles.
        unsafe { with_key(keystore, session, handle, |hsm, id, h| hsm.hmac_verify(id, h, &[msg], tag)) }
    })
}

/// Signs a webhook delivery with the HMAC key `handle` (usage SIGN), as
/// `coffer_webhook_sign` does with a shared secret: `*header` receives
/// `t=<timestamp>,v1=<64 lowercase hex digits>` (not NUL-terminated).
///
/// Errors: as `coffer_keystore_hmac_sign`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_webhook_sign(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    timestamp: u64,
    body: *const u8,
    body_len: usize,
    header: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(header)?;
        // SAFETY: the header's contract for input buffers.
        let body = unsafe { slice_in(body, body_len) }?;
        let msg = WebhookMessage::new(timestamp, body);
        // SAFETY: the header's contract for handles.
        let tag =
            unsafe { with_key(keystore, session, handle, |hsm, id, h| hsm.hmac_sign(id, h, &msg.parts())) }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { header_out(header, timestamp, tag) }
    })
}

/// Checks a webhook delivery with the HMAC key `handle` (usage VERIFY, any
/// version), as `coffer_webhook_verify` does with a shared secret: the
/// header's timestamp must be within `tolerance_secs` of `now` and its tag
/// must match; both checks always run.
///
/// Errors: `COFFER_ERR_MALFORMED`, `COFFER_ERR_INVALID_LENGTH` and
/// `COFFER_ERR_NOT_UTF8` for the header (checked before the key is used);
/// the key checks of `coffer_keystore_hmac_sign`; then `COFFER_ERR_VERIFY`
/// for a wrong tag or a timestamp outside the window (alike).
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn coffer_keystore_webhook_verify(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    body: *const u8,
    body_len: usize,
    header: *const u8,
    header_len: usize,
    now: u64,
    tolerance_secs: u64,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let (msg, sig) = unsafe { delivery_in(body, body_len, header, header_len) }?;
        let fresh = msg.check_fresh(now, tolerance_secs);
        // SAFETY: the header's contract for handles.
        unsafe {
            with_key(keystore, session, handle, |hsm, id, h| {
                // The key's own errors first; a stale timestamp is a failed verification.
                hsm.hmac_verify(id, h, &msg.parts(), sig.tag())?;
                Ok(fresh?)
            })
        }
    })
}
