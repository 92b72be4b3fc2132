//! Webhook signatures: HMAC-SHA-256 over `timestamp "." payload`, carried
//! in a `t=<timestamp>,v1=<64 hex digits>` header, over `coffer_core::mac`
//! (`HmacSha256Key::sign_webhook` / `verify_webhook`, `WebhookMessage`,
//! `WebhookSignature`).

use std::time::{SystemTime, UNIX_EPOCH};

use coffer_core::Error;
use coffer_core::mac::{
    DEFAULT_WEBHOOK_TOLERANCE_SECS, HmacSha256Key, MAX_WEBHOOK_HEADER_LEN, WebhookMessage, WebhookSignature,
};
use pyo3::prelude::*;

use crate::args;
use crate::errors::{self, CoreResultExt, Kind};

/// Seconds since the Unix epoch by the system clock.
fn now(py: Python<'_>) -> PyResult<u64> {
    // A clock before 1970 has no timestamp to sign: an internal failure.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| Error::Internal)
        .or_raise(py)
}

fn hmac_key(key: &Bound<'_, PyAny>) -> PyResult<HmacSha256Key> {
    let py = key.py();
    let bytes = args::bytes(key, "key", usize::MAX)?;
    HmacSha256Key::new(bytes.as_slice()).or_raise(py)
}

/// Signs a webhook delivery: HMAC-SHA-256 with `key` (the shared secret;
/// 32 bytes or more recommended) over `timestamp "." payload`. Returns the
/// signature header `t=<timestamp>,v1=<64 lowercase hex digits>`.
/// `timestamp` is seconds since the Unix epoch; None means now.
///
/// >>> import coffer
/// >>> coffer.webhook_sign(b"whsec-shared-secret", b'{"paid":true}', timestamp=1700000000)[:16]
/// 't=1700000000,v1='
#[pyfunction]
#[pyo3(signature = (key, payload, timestamp = None))]
pub(crate) fn webhook_sign(
    key: &Bound<'_, PyAny>,
    payload: &Bound<'_, PyAny>,
    timestamp: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let py = key.py();
    let mac = hmac_key(key)?;
    let body = args::bytes(payload, "payload", usize::MAX)?;
    let timestamp = timestamp_or(timestamp, "timestamp", || now(py))?;
    let msg = WebhookMessage::new(timestamp, body.as_slice());
    Ok(WebhookSignature::new(timestamp, mac.sign_webhook(&msg)).to_string())
}

/// An optional time argument (`timestamp`, `now`): seconds since the Unix
/// epoch, or `default()` when absent or None.
pub(crate) fn timestamp_or(
    value: Option<&Bound<'_, PyAny>>,
    what: &str,
    default: impl FnOnce() -> PyResult<u64>,
) -> PyResult<u64> {
    match value.filter(|v| !v.is_none()) {
        Some(v) => args::int_u64(v, what),
        None => default(),
    }
}

/// The `tolerance` argument: seconds either way, 300 when absent.
pub(crate) fn tolerance(value: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
    Ok(value.map(|t| args::int_u64(t, "tolerance")).transpose()?.unwrap_or(DEFAULT_WEBHOOK_TOLERANCE_SECS))
}

/// Reads a signature header argument (str or bytes, at most 1,024 bytes);
/// `parse_header` parses it.
pub(crate) fn header_arg<'py>(header: &Bound<'py, PyAny>) -> PyResult<args::Input<'py>> {
    args::text_or_bytes(header, "header", MAX_WEBHOOK_HEADER_LEN)
}

/// Parses a signature header `t=...,v1=...`: MalformedError, with the
/// header's true subject, if it does not parse.
pub(crate) fn parse_header(py: Python<'_>, header: &[u8]) -> PyResult<WebhookSignature> {
    // core's message for `Malformed` speaks of an envelope header: say what this one is.
    let malformed = || {
        let message = "malformed webhook signature header: expected t=<unix seconds>,v1=<64 hex digits> \
                       (comma-separated, no spaces)";
        errors::raise(py, Kind::Malformed, message.to_owned())
    };
    let header = core::str::from_utf8(header).map_err(|_| malformed())?;
    WebhookSignature::parse(header).map_err(|e| match e {
        Error::Malformed => malformed(),
        other => errors::from_core(py, other),
    })
}

/// Checks a webhook delivery's signature `header` (as `webhook_sign`
/// writes it: `t=...,v1=...`; other items such as `v0=` are ignored)
/// against `payload` and `key`. The timestamp must be within `tolerance`
/// seconds of `now` (seconds since the Unix epoch; None means the system
/// clock), either way. Returns None. A wrong tag, another payload or a
/// stale timestamp raise VerifyError; a header that does not parse raises
/// MalformedError; a header over 1,024 bytes raises InvalidInput.
///
/// >>> import coffer
/// >>> header = coffer.webhook_sign(b"secret", b"{}", timestamp=1700000000)
/// >>> coffer.webhook_verify(b"secret", b"{}", header, now=1700000060)
/// >>> try:
/// ...     coffer.webhook_verify(b"secret", b"{}", header, now=1700003600)
/// ... except coffer.VerifyError:
/// ...     print("replayed too late")
/// replayed too late
#[pyfunction]
#[pyo3(signature = (key, payload, header, now = None, tolerance = None))]
#[pyo3(text_signature = "(key, payload, header, now=None, tolerance=300)")]
pub(crate) fn webhook_verify(
    key: &Bound<'_, PyAny>,
    payload: &Bound<'_, PyAny>,
    header: &Bound<'_, PyAny>,
    now: Option<&Bound<'_, PyAny>>,
    tolerance: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let py = key.py();
    // Every argument is read (and type-checked) before any of them is used.
    let mac = hmac_key(key)?;
    let body = args::bytes(payload, "payload", usize::MAX)?;
    let header = header_arg(header)?;
    let now = timestamp_or(now, "now", || self::now(py))?;
    let tolerance = self::tolerance(tolerance)?;
    let signature = parse_header(py, header.as_slice())?;
    let msg = WebhookMessage::new(signature.timestamp(), body.as_slice());
    mac.verify_webhook(&msg, signature.tag(), now, tolerance).or_raise(py)
}
