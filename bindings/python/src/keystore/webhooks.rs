//! Webhook signatures by a keystore HMAC key (`Session.webhook_sign`,
//! `Session.webhook_verify`): the headers and the freshness window of
//! `crate::webhook`, the tag made and checked in the keystore.

use coffer_core::mac::{WebhookMessage, WebhookSignature};
use coffer_hsm::SessionId;
use pyo3::prelude::*;

use super::PyKeystore;
use super::session::handle_of;
use crate::args;
use crate::errors::CoreResultExt;
use crate::webhook;

/// `Session.webhook_sign`: the header `t=<timestamp>,v1=<tag>`, the tag
/// made by the keystore over `timestamp "." payload`; `timestamp` defaults
/// to the keystore's clock.
pub(crate) fn sign(
    ks: &PyKeystore,
    session: SessionId,
    key: &Bound<'_, PyAny>,
    payload: &Bound<'_, PyAny>,
    timestamp: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let py = key.py();
    let h = handle_of(key)?.raw();
    let body = args::bytes(payload, "payload", usize::MAX)?;
    let timestamp = webhook::timestamp_or(timestamp, "timestamp", || Ok(ks.now()))?;
    let body = body.as_slice();
    let tag = ks.run(py, |hsm| hsm.hmac_sign(session, h, &WebhookMessage::new(timestamp, body).parts()))?;
    Ok(WebhookSignature::new(timestamp, tag).to_string())
}

/// `Session.webhook_verify`: the timestamp within `tolerance` of `now`
/// (core's `check_fresh`, before the keystore is asked, so a stale delivery
/// leaves no audit record), then the keystore checks the tag.
pub(crate) fn verify(
    ks: &PyKeystore,
    session: SessionId,
    key: &Bound<'_, PyAny>,
    payload: &Bound<'_, PyAny>,
    header: &Bound<'_, PyAny>,
    now: Option<&Bound<'_, PyAny>>,
    tolerance: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let py = key.py();
    // Every argument is read (and type-checked) before any of them is used.
    let h = handle_of(key)?.raw();
    let body = args::bytes(payload, "payload", usize::MAX)?;
    let header = webhook::header_arg(header)?;
    let now = webhook::timestamp_or(now, "now", || Ok(ks.now()))?;
    let tolerance = webhook::tolerance(tolerance)?;
    let signature = webhook::parse_header(py, header.as_slice())?;
    let body = body.as_slice();
    let msg = WebhookMessage::new(signature.timestamp(), body);
    msg.check_fresh(now, tolerance).or_raise(py)?;
    let tag = signature.tag();
    ks.run(py, |hsm| hsm.hmac_verify(session, h, &msg.parts(), tag))
}
