//! Webhook signatures with a shared secret held by the caller: the header
//! `t=<timestamp>,v1=<hex HMAC-SHA-256 of "timestamp.body">`, made and
//! checked against a tolerance window. The keystore's versions, with the
//! secret kept as an HMAC key in the keystore, are
//! `coffer_keystore_webhook_sign` and `coffer_keystore_webhook_verify`.

use coffer_core::mac::{
    DEFAULT_WEBHOOK_TOLERANCE_SECS, HmacSha256Key, MAX_WEBHOOK_HEADER_LEN, TAG_LEN, WebhookMessage,
    WebhookSignature,
};

use crate::boundary::{bytes_out, coffer_bytes, ffi_boundary, require, slice_in, str_in};
use crate::status::{COFFER_ERR_INVALID_KEY, FfiResult, coffer_status};

/// The usual tolerance of a webhook signature's timestamp, in seconds
/// either side of the receiver's clock (five minutes).
pub const COFFER_WEBHOOK_DEFAULT_TOLERANCE_SECS: u64 = 300;
/// Longest webhook signature header accepted, in bytes.
pub const COFFER_WEBHOOK_HEADER_MAX_LEN: usize = 1024;
/// Shortest shared webhook secret, in bytes (128 bits).
pub const COFFER_WEBHOOK_SECRET_MIN_LEN: usize = 16;
/// Longest shared webhook secret, in bytes.
pub const COFFER_WEBHOOK_SECRET_MAX_LEN: usize = 1024;
/// Length of an HMAC-SHA-256 tag, in bytes.
pub const COFFER_HMAC_TAG_LEN: usize = 32;

// Written out for cbindgen; they must equal coffer-core's.
const _: () = assert!(COFFER_WEBHOOK_DEFAULT_TOLERANCE_SECS == DEFAULT_WEBHOOK_TOLERANCE_SECS);
const _: () = assert!(COFFER_WEBHOOK_HEADER_MAX_LEN == MAX_WEBHOOK_HEADER_LEN);
const _: () = assert!(COFFER_HMAC_TAG_LEN == TAG_LEN);

/// Reads a delivery to check: its body and its signature header (text),
/// as the message the header's timestamp and the body make, and the
/// header's signature.
///
/// # Safety
/// The header's contract for input buffers.
pub(crate) unsafe fn delivery_in<'a>(
    body: *const u8,
    body_len: usize,
    header: *const u8,
    header_len: usize,
) -> FfiResult<(WebhookMessage<'a>, WebhookSignature)> {
    // SAFETY: forwarded contract of this function.
    let body = unsafe { slice_in(body, body_len) }?;
    // SAFETY: as above.
    let sig = WebhookSignature::parse(unsafe { str_in(header, header_len) }?)?;
    Ok((WebhookMessage::new(sig.timestamp(), body), sig))
}

/// Writes the header for `tag` at `timestamp` to `out`.
///
/// # Safety
/// As [`bytes_out`].
pub(crate) unsafe fn header_out(out: *mut coffer_bytes, timestamp: u64, tag: [u8; TAG_LEN]) -> FfiResult<()> {
    let header = WebhookSignature::new(timestamp, tag).to_string();
    // SAFETY: forwarded contract of this function.
    unsafe { bytes_out(out, header.as_bytes()) }
}

/// The shared secret as an HMAC-SHA-256 key.
///
/// # Safety
/// As [`slice_in`].
unsafe fn secret_in(ptr: *const u8, len: usize) -> FfiResult<HmacSha256Key> {
    // SAFETY: forwarded contract of this function.
    let secret = unsafe { slice_in(ptr, len) }?;
    if !(COFFER_WEBHOOK_SECRET_MIN_LEN..=COFFER_WEBHOOK_SECRET_MAX_LEN).contains(&secret.len()) {
        return Err(COFFER_ERR_INVALID_KEY);
    }
    Ok(HmacSha256Key::new(secret)?)
}

/// Signs a webhook delivery: `*header` receives
/// `t=<timestamp>,v1=<64 lowercase hex digits>` (not NUL-terminated; free
/// it with `coffer_bytes_free`), the HMAC-SHA-256 under `secret` of the
/// timestamp in decimal, a `.`, and `body`. `timestamp` is the sending time
/// in seconds since the Unix epoch (for example `time(NULL)`).
///
/// Errors: `COFFER_ERR_INVALID_KEY` for a secret outside 16..=1024 bytes.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_webhook_sign(
    secret: *const u8,
    secret_len: usize,
    timestamp: u64,
    body: *const u8,
    body_len: usize,
    header: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(header)?;
        // SAFETY: the header's contract for input buffers.
        let key = unsafe { secret_in(secret, secret_len) }?;
        // SAFETY: as above.
        let body = unsafe { slice_in(body, body_len) }?;
        let tag = key.sign_webhook(&WebhookMessage::new(timestamp, body));
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { header_out(header, timestamp, tag) }
    })
}

/// Checks a webhook delivery: `header` (as `coffer_webhook_sign` writes it;
/// items other than `t` and `v1` are ignored) must carry a timestamp within
/// `tolerance_secs` of `now` (seconds since the Unix epoch, for example
/// `time(NULL)`; `COFFER_WEBHOOK_DEFAULT_TOLERANCE_SECS` is the usual
/// window) and the HMAC-SHA-256 of the timestamp, a `.` and `body` under
/// `secret`, compared in constant time. Both checks always run. A receiver
/// that must refuse every replay also remembers the signatures it accepted
/// within the window.
///
/// Errors: `COFFER_ERR_VERIFY` for a wrong tag or a timestamp outside the
/// window (alike); `COFFER_ERR_MALFORMED` for a header that does not parse;
/// `COFFER_ERR_INVALID_LENGTH` for a header over 1024 bytes;
/// `COFFER_ERR_NOT_UTF8`; `COFFER_ERR_INVALID_KEY` for a secret outside
/// 16..=1024 bytes.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_webhook_verify(
    secret: *const u8,
    secret_len: usize,
    body: *const u8,
    body_len: usize,
    header: *const u8,
    header_len: usize,
    now: u64,
    tolerance_secs: u64,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let key = unsafe { secret_in(secret, secret_len) }?;
        // SAFETY: as above.
        let (msg, sig) = unsafe { delivery_in(body, body_len, header, header_len) }?;
        Ok(key.verify_webhook(&msg, sig.tag(), now, tolerance_secs)?)
    })
}
