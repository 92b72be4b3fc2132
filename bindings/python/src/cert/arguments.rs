//! Reading the arguments of the certificate functions: signing keys, public
//! keys, signature schemes, subject alternative names, times, validity
//! windows and lists of certificates; and giving public keys and times back.

use std::borrow::Cow;

use coffer_core::Error;
use coffer_core::cert::{Certificate, KeyPair, PublicKey, San, SignatureScheme, Validity};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyInt, PyString};

use super::certificate::PyCertificate;
use super::key_pair::PyKeyPair;
use crate::args;
use crate::errors::{self, CoreResultExt};
use crate::p256::{PyP256PrivateKey, PyP256PublicKey};
use crate::rsa::{PyRsaPrivateKey, PyRsaPublicKey};

/// Seconds in a day.
const DAY: u64 = 86_400;

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".to_owned())
}

/// A signing key: a `KeyPair` borrowed as it is, or a `P256PrivateKey` /
/// `RsaPrivateKey` converted through its PKCS#8 encoding (core's, both ways).
pub(crate) enum SigningKey<'a> {
    Borrowed(&'a KeyPair),
    Converted(Box<KeyPair>),
}

impl SigningKey<'_> {
    pub(crate) fn get(&self) -> &KeyPair {
        match self {
            SigningKey::Borrowed(k) => k,
            SigningKey::Converted(k) => k,
        }
    }
}

/// The private key `obj` as a core `KeyPair`.
pub(crate) fn signing_key<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<SigningKey<'a>> {
    let py = obj.py();
    if let Ok(k) = obj.cast::<PyKeyPair>() {
        return Ok(SigningKey::Borrowed(&k.get().inner));
    }
    let der = if let Ok(k) = obj.cast::<PyP256PrivateKey>() {
        k.get().inner.to_pkcs8_der().or_raise(py)?
    } else if let Ok(k) = obj.cast::<PyRsaPrivateKey>() {
        k.get().inner.to_pkcs8_der().or_raise(py)?
    } else {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a KeyPair, P256PrivateKey or RsaPrivateKey, not {}",
            type_name(obj)
        )));
    };
    Ok(SigningKey::Converted(Box::new(KeyPair::from_pkcs8_der(&der).or_raise(py)?)))
}

/// The public key of `obj`: a public key, a private key or a `KeyPair`.
pub(crate) fn public_key(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<PublicKey> {
    if let Ok(k) = obj.cast::<PyP256PublicKey>() {
        return Ok(PublicKey::P256(k.get().inner));
    }
    if let Ok(k) = obj.cast::<PyRsaPublicKey>() {
        return Ok(PublicKey::Rsa(k.get().inner.clone()));
    }
    if let Ok(k) = obj.cast::<PyKeyPair>() {
        return Ok(k.get().inner.public_key());
    }
    if let Ok(k) = obj.cast::<PyP256PrivateKey>() {
        return Ok(PublicKey::P256(k.get().inner.public_key()));
    }
    if let Ok(k) = obj.cast::<PyRsaPrivateKey>() {
        return Ok(PublicKey::Rsa(k.get().inner.public_key()));
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be a P256PublicKey, RsaPublicKey or a private key, not {}",
        type_name(obj)
    )))
}

/// A core public key as a `P256PublicKey` or `RsaPublicKey`.
pub(crate) fn public_key_object(py: Python<'_>, key: PublicKey) -> PyResult<Bound<'_, PyAny>> {
    match key {
        PublicKey::P256(inner) => Ok(Bound::new(py, PyP256PublicKey { inner })?.into_any()),
        PublicKey::Rsa(inner) => Ok(Bound::new(py, PyRsaPublicKey { inner })?.into_any()),
        // A kind core adds later: not one this package can hand out yet.
        _ => Err(Error::InvalidKey).or_raise(py),
    }
}

/// The signature scheme named `name` ("ecdsa", "pkcs1v15" or "pss"), or
/// the key's default (ECDSA-SHA-256 for P-256, PKCS#1 v1.5 SHA-256 for RSA).
pub(crate) fn scheme(py: Python<'_>, key: &KeyPair, name: Option<&str>) -> PyResult<SignatureScheme> {
    match name {
        None => Ok(key.default_scheme()),
        Some("ecdsa") => Ok(SignatureScheme::EcdsaP256Sha256),
        Some("pkcs1v15") => Ok(SignatureScheme::RsaPkcs1Sha256),
        Some("pss") => Ok(SignatureScheme::RsaPssSha256),
        Some(other) => Err(errors::invalid_input(
            py,
            format!("scheme must be \"ecdsa\", \"pkcs1v15\" or \"pss\", not {other:?}"),
        )),
    }
}

/// Longest text form of one name (`email:` and a URI of the longest kind).
const MAX_SAN_TEXT: usize = San::MAX_URI_LEN + 8;

/// An iterable of `str`, each a name in core's text form (`dns:...`,
/// `ip:...`, `uri:...`, `email:...`), at most `MAX_SANS` of them.
pub(crate) fn sans(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<San>> {
    let Some(obj) = obj else { return Ok(Vec::new()) };
    let py = obj.py();
    if obj.cast::<PyString>().is_ok() || obj.cast::<PyBytes>().is_ok() || obj.cast::<PyByteArray>().is_ok() {
        return Err(PyTypeError::new_err(
            "sans must be a list of str such as [\"dns:agent-7.acme.test\"], not a single str or bytes",
        ));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        let item = item?;
        if out.len() == coffer_core::cert::MAX_SANS {
            return Err(errors::invalid_input(
                py,
                format!("at most {} subject alternative names", coffer_core::cert::MAX_SANS),
            ));
        }
        let text = item.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "each SAN must be a str such as \"dns:host\", not {}",
                type_name(&item)
            ))
        })?;
        let text: Cow<'_, str> = text.to_cow()?;
        if text.len() > MAX_SAN_TEXT {
            return Err(errors::invalid_input(py, format!("a SAN is at most {MAX_SAN_TEXT} bytes")));
        }
        out.push(San::parse(&text).or_raise(py)?);
    }
    Ok(out)
}

/// Names in core's text form, as a Python list of str.
pub(crate) fn sans_out(sans: &[San]) -> Vec<String> {
    sans.iter().map(ToString::to_string).collect()
}

/// The system clock in seconds since the Unix epoch.
pub(crate) fn now(py: Python<'_>) -> PyResult<u64> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map(|d| d.as_secs()).map_err(|_| Error::InvalidInput).or_raise(py)
}

/// A time argument: an `int` of seconds since the Unix epoch, or a
/// timezone-aware `datetime.datetime` (a naive one would mean local time
/// to one caller and UTC to another, so it is refused).
pub(crate) fn seconds(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    let py = obj.py();
    if obj.cast::<PyInt>().is_ok() {
        return args::int_u64(obj, what);
    }
    let datetime = py.import("datetime")?.getattr("datetime")?;
    if !obj.is_instance(&datetime)? {
        return Err(PyTypeError::new_err(format!(
            "{what} must be an int (seconds since 1970) or a datetime, not {}",
            type_name(obj)
        )));
    }
    if obj.getattr("tzinfo")?.is_none() || obj.call_method0("utcoffset")?.is_none() {
        return Err(errors::invalid_input(
            py,
            format!("{what} must be a timezone-aware datetime (datetime.timezone.utc, say)"),
        ));
    }
    let stamp: f64 = obj.call_method0("timestamp")?.extract()?;
    if !(0.0..=9.0e15).contains(&stamp) {
        return Err(errors::invalid_input(py, format!("{what} must be after 1970")));
    }
    // In range (checked above), so the conversion is exact for whole seconds.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "0 <= stamp < 2^53, checked")]
    Ok(stamp.floor() as u64)
}

/// An optional time argument.
pub(crate) fn seconds_opt(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<u64>> {
    obj.map(|o| seconds(o, what)).transpose()
}

/// `secs` as a timezone-aware `datetime.datetime` in UTC.
pub(crate) fn datetime(py: Python<'_>, secs: u64) -> PyResult<Bound<'_, PyAny>> {
    let module = py.import("datetime")?;
    let utc = module.getattr("timezone")?.getattr("utc")?;
    module.getattr("datetime")?.call_method1("fromtimestamp", (secs, utc))
}

/// The validity window of the keyword arguments `days`, `not_before` and
/// `not_after`: from `not_before` (default: five minutes ago, for clock
/// skew) to `not_after` (default: `days` days after `not_before`, or after
/// now when `not_before` is not given). Windows that end before they start
/// are core's to refuse.
pub(crate) fn validity(
    py: Python<'_>,
    days: Option<&Bound<'_, PyAny>>,
    default_days: u32,
    not_before: Option<&Bound<'_, PyAny>>,
    not_after: Option<&Bound<'_, PyAny>>,
) -> PyResult<Validity> {
    let days = days.map(|d| args::int_u32(d, "days")).transpose()?.unwrap_or(default_days);
    let given_start = seconds_opt(not_before, "not_before")?;
    let given_end = seconds_opt(not_after, "not_after")?;
    let (start, base) = match given_start {
        Some(s) => (s, s),
        None => {
            let now = now(py)?;
            (now.saturating_sub(300), now)
        }
    };
    let end = match given_end {
        Some(e) => e,
        None if days == 0 => return Err(Error::InvalidValidity).or_raise(py),
        None => base.saturating_add(u64::from(days).saturating_mul(DAY)),
    };
    Ok(Validity { not_before: start, not_after: end })
}

/// Most certificates a list argument may hold (core's limit on
/// intermediates and anchors).
const MAX_LIST: usize = coffer_core::cert::MAX_CANDIDATES;

/// An iterable of `Certificate` objects (at most 64), copied out.
pub(crate) fn certificates(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<Certificate>> {
    if let Ok(c) = obj.cast::<PyCertificate>() {
        // One certificate where a list is expected: take it as a list of one.
        return Ok(vec![c.get().inner.clone()]);
    }
    if obj.cast::<PyString>().is_ok() || obj.cast::<PyBytes>().is_ok() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a list of Certificate objects, not {}",
            type_name(obj)
        )));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        let item = item?;
        if out.len() == MAX_LIST {
            return Err(errors::invalid_input(obj.py(), format!("{what}: at most {MAX_LIST} certificates")));
        }
        let cert = item.cast::<PyCertificate>().map_err(|_| {
            PyTypeError::new_err(format!("{what} must hold Certificate objects, not {}", type_name(&item)))
        })?;
        out.push(cert.get().inner.clone());
    }
    Ok(out)
}

/// A `path_len` argument: None, or an int from 0 to 255.
pub(crate) fn path_len(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u8>> {
    let Some(obj) = obj else { return Ok(None) };
    let value = args::int_u32(obj, "path_len")?;
    u8::try_from(value)
        .map(Some)
        .map_err(|_| errors::invalid_input(obj.py(), format!("path_len must be 0 to 255, not {value}")))
}
