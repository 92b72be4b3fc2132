//! `Crl` and `issue_crl`: certificate revocation lists over
//! `coffer_core::cert::{Crl, issue_crl}`, checked by `verify_chain(crls=...)`.

use coffer_core::Error;
use coffer_core::cert::{self, Crl, CrlParams, KeySigner, MAX_CRL_ENTRIES, MAX_CRL_LEN, Revocation};
use coffer_core::rng::OsRng;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyList, PyString};

use super::arguments;
use super::certificate::PyCertificate;
use crate::errors::{self, CoreResultExt};
use crate::{args, encoded};

/// Most revocation lists `verify_chain` takes.
const MAX_LISTS: usize = 64;
/// Longest serial number, in bytes (RFC 5280 §4.1.2.2).
const MAX_SERIAL_LEN: usize = 20;

/// A certificate revocation list (X.509 v2 CRL): which serial numbers a
/// CA has revoked, signed by it. Made by `issue_crl`, read from PEM or
/// DER, and given to `verify_chain(crls=[...])`.
///
/// >>> import coffer
/// >>> key = coffer.KeyPair.generate()
/// >>> ca = coffer.self_signed_ca(key, "CN=Root")
/// >>> crl = coffer.issue_crl(ca, key, [0x4201], number=1)
/// >>> crl.issuer, [serial for serial, _ in crl.revoked]
/// ('CN=Root', [16897])
/// >>> coffer.Crl.from_pem(crl.to_pem()).verify(ca)
#[pyclass(frozen, eq, name = "Crl", module = "coffer")]
#[derive(PartialEq)]
pub(crate) struct PyCrl {
    pub(crate) inner: Crl,
}

/// A list argument of `Crl` objects (None: none).
pub(crate) fn lists(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Crl>> {
    let Some(obj) = obj else { return Ok(Vec::new()) };
    if let Ok(one) = obj.cast::<PyCrl>() {
        return Ok(vec![one.get().inner.clone()]);
    }
    if obj.cast::<PyString>().is_ok() || obj.cast::<PyBytes>().is_ok() {
        return Err(PyTypeError::new_err("crls must be a list of Crl objects"));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        let item = item?;
        if out.len() == MAX_LISTS {
            return Err(errors::invalid_input(obj.py(), format!("crls: at most {MAX_LISTS} lists")));
        }
        let crl = item.cast::<PyCrl>().map_err(|_| PyTypeError::new_err("crls must hold Crl objects"))?;
        out.push(crl.get().inner.clone());
    }
    Ok(out)
}

/// A serial number to revoke: a Certificate's, or a non-negative int of at
/// most 160 bits, as big-endian bytes.
fn serial_bytes(item: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let py = item.py();
    if let Ok(c) = item.cast::<PyCertificate>() {
        return Ok(c.get().inner.serial().to_vec());
    }
    if item.cast::<PyInt>().is_err() {
        return Err(PyTypeError::new_err("each revoked entry must be a Certificate or an int serial number"));
    }
    let bits: usize = item.call_method0("bit_length")?.extract()?;
    if item.lt(0)? || bits > MAX_SERIAL_LEN.saturating_mul(8) {
        return Err(errors::invalid_input(
            py,
            "a serial number is a non-negative int of at most 160 bits".to_owned(),
        ));
    }
    item.call_method1("to_bytes", (MAX_SERIAL_LEN, "big"))?.extract()
}

#[pymethods]
impl PyCrl {
    /// Reads a PEM `X509 CRL` block, as str or bytes (MalformedError for
    /// anything else). The signature is checked by `verify()` or `verify_chain`.
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> crl = coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=1)
    /// >>> coffer.Crl.from_pem(crl.to_pem()) == crl
    /// True
    #[staticmethod]
    fn from_pem(pem: &Bound<'_, PyAny>) -> PyResult<Self> {
        let max = MAX_CRL_LEN.saturating_mul(2);
        encoded::from_pem(pem, max, Error::MalformedCertificate, Crl::from_pem).map(|inner| Self { inner })
    }

    /// Reads a DER CRL (at most 256 KiB and 4,096 entries).
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> crl = coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=1)
    /// >>> coffer.Crl.from_der(crl.to_der()) == crl
    /// True
    #[staticmethod]
    fn from_der(der: &Bound<'_, PyAny>) -> PyResult<Self> {
        encoded::from_der(der, MAX_CRL_LEN, Crl::from_der).map(|inner| Self { inner })
    }

    /// The list as a PEM `X509 CRL` block.
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=1).to_pem().splitlines()[0]
    /// '-----BEGIN X509 CRL-----'
    fn to_pem(&self, py: Python<'_>) -> PyResult<String> {
        self.inner.to_pem().or_raise(py)
    }

    /// The list's DER encoding.
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=1).to_der()[:1]
    /// b'0'
    fn to_der<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.to_der())
    }

    /// The issuer as an RFC 4514 string.
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=1).issuer
    /// 'CN=Root'
    #[getter]
    fn issuer(&self) -> String {
        self.inner.issuer()
    }

    /// thisUpdate, a timezone-aware datetime in UTC.
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> ca = coffer.self_signed_ca(key, "CN=Root", not_before=1_800_000_000)
    /// >>> coffer.issue_crl(ca, key, [], number=1, this_update=1_800_000_000).this_update.year
    /// 2027
    #[getter]
    fn this_update<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        arguments::datetime(py, self.inner.this_update())
    }

    /// nextUpdate (after it the list is out of date), or None if it has none.
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> crl = coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=1, days=7)
    /// >>> crl.next_update - crl.this_update
    /// datetime.timedelta(days=7)
    #[getter]
    fn next_update<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner.next_update().map(|t| arguments::datetime(py, t)).transpose()
    }

    /// The cRLNumber as an int, or None if the list has none.
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=42).number
    /// 42
    #[getter]
    fn number<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner.number().map(|n| integer(py, &n)).transpose()
    }

    /// The revoked certificates as (serial number, revocation time) pairs.
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> crl = coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [7, 9], number=1)
    /// >>> [serial for serial, when in crl.revoked]
    /// [7, 9]
    #[getter]
    fn revoked<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let pairs = self
            .inner
            .revoked()
            .into_iter()
            .map(|(serial, when)| Ok((integer(py, &serial)?, arguments::datetime(py, when)?)))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, pairs)
    }

    /// Checks that the CA certificate `issuer` signed this list and may
    /// sign lists. Returns None; raises VerifyError otherwise.
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> ca = coffer.self_signed_ca(key, "CN=Root")
    /// >>> coffer.issue_crl(ca, key, [], number=1).verify(ca)
    fn verify(&self, issuer: PyRef<'_, PyCertificate>) -> PyResult<()> {
        let py = issuer.py();
        let (list, ca) = (&self.inner, &issuer.inner);
        py.detach(|| list.verify_signature(ca)).or_raise(py)
    }

    fn __repr__(&self) -> String {
        format!("Crl(issuer={:?}, revoked={})", self.inner.issuer(), self.inner.revoked().len())
    }
}

/// An unsigned big-endian integer as a Python int.
fn integer<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    py.get_type::<PyInt>().call_method1("from_bytes", (PyBytes::new(py, bytes), "big"))
}

/// A revocation list issued by the CA `ca` with its key `ca_key`, listing
/// `revoked` (Certificates or int serial numbers; at most 4,096), all
/// revoked at `this_update`. `number` is the cRLNumber (higher than every
/// earlier list of this CA). `this_update`: default now; `next_update`:
/// default `days` (7) days later. Times are ints (Unix seconds) or aware datetimes.
///
/// >>> import coffer
/// >>> key = coffer.KeyPair.generate()
/// >>> ca = coffer.self_signed_ca(key, "CN=Root")
/// >>> leaf = coffer.issue_leaf(ca, key, "CN=web", key, sans=["dns:web.acme.test"], days=30)
/// >>> crl = coffer.issue_crl(ca, key, [leaf], number=1)
/// >>> try:
/// ...     coffer.verify_chain(leaf, [], [ca], crls=[crl])
/// ... except coffer.VerifyError as e:
/// ...     print("revoked" in str(e))
/// True
#[pyfunction]
#[pyo3(signature = (ca, ca_key, revoked, *, number, this_update = None, next_update = None, days = None, scheme = None))]
#[pyo3(
    text_signature = "(ca, ca_key, revoked, *, number, this_update=None, next_update=None, days=7, scheme=None)"
)]
#[allow(clippy::too_many_arguments, reason = "keyword arguments of one Python function")]
pub(crate) fn issue_crl(
    ca: PyRef<'_, PyCertificate>,
    ca_key: &Bound<'_, PyAny>,
    revoked: &Bound<'_, PyAny>,
    number: &Bound<'_, PyAny>,
    this_update: Option<&Bound<'_, PyAny>>,
    next_update: Option<&Bound<'_, PyAny>>,
    days: Option<&Bound<'_, PyAny>>,
    scheme: Option<&str>,
) -> PyResult<PyCrl> {
    let py = ca_key.py();
    let number = args::int_u64(number, "number")?;
    if revoked.cast::<PyString>().is_ok() || revoked.cast::<PyBytes>().is_ok() {
        return Err(PyTypeError::new_err("revoked must be a list of Certificates or int serial numbers"));
    }
    let mut serials = Vec::new();
    for item in revoked.try_iter()? {
        if serials.len() == MAX_CRL_ENTRIES {
            return Err(errors::invalid_input(py, format!("at most {MAX_CRL_ENTRIES} revoked certificates")));
        }
        serials.push(serial_bytes(&item?)?);
    }
    let window = arguments::validity(py, days, 7, this_update, next_update)?;
    // `validity` starts five minutes early by default; a list starts now.
    let this_update = match this_update {
        Some(_) => window.not_before,
        None => arguments::now(py)?,
    };
    let entries: Vec<Revocation<'_>> =
        serials.iter().map(|s| Revocation { serial: s, revoked_at: this_update }).collect();
    let params = CrlParams { number, this_update, next_update: window.not_after, revoked: &entries };
    let key = arguments::signing_key(ca_key, "ca_key")?;
    let key = key.get();
    let scheme = arguments::scheme(py, key, scheme)?;
    let ca = &ca.inner;
    let inner = py
        .detach(|| cert::issue_crl_with(&mut KeySigner::new(&mut OsRng, key, scheme)?, ca, &params))
        .or_raise(py)?;
    Ok(PyCrl { inner })
}
