//! Reading encoded keys, certificates and lists (PEM and DER) from Python
//! arguments: the size limit checked before anything is copied, then one
//! of core's parsers. Every `from_pem`/`from_der` of the key and
//! certificate classes is one call here, as is a public key's `to_der`.

use coffer_core::Error;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::args;
use crate::errors::CoreResultExt;

/// A `str | bytes` PEM argument of at most `max` bytes, given to `parse`.
/// Bytes that are not UTF-8 hold no PEM block: `not_pem` (core's error for
/// input of this kind that does not parse).
pub(crate) fn from_pem<T>(
    pem: &Bound<'_, PyAny>,
    max: usize,
    not_pem: Error,
    parse: impl FnOnce(&str) -> Result<T, Error>,
) -> PyResult<T> {
    let input = args::text_or_bytes(pem, "pem", max)?;
    core::str::from_utf8(input.as_slice()).map_err(|_| not_pem).and_then(parse).or_raise(pem.py())
}

/// A bytes-like DER argument of at most `max` bytes, given to `parse`.
pub(crate) fn from_der<T>(
    der: &Bound<'_, PyAny>,
    max: usize,
    parse: impl FnOnce(&[u8]) -> Result<T, Error>,
) -> PyResult<T> {
    let input = args::bytes(der, "der", max)?;
    parse(input.as_slice()).or_raise(der.py())
}

/// Public DER from a core encoder as Python `bytes` (never for secrets:
/// those go out as a `bytearray` the caller can wipe).
pub(crate) fn to_der(py: Python<'_>, der: Result<Vec<u8>, Error>) -> PyResult<Bound<'_, PyBytes>> {
    der.map(|der| PyBytes::new(py, &der)).or_raise(py)
}
