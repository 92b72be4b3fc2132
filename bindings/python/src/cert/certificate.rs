//! `Certificate` and `Csr`: X.509 certificates and PKCS#10 requests, read,
//! written and inspected through `coffer_core::cert`.

use coffer_core::Error;
use coffer_core::cert::{Certificate, Csr, MAX_BUNDLE_CERTS, MAX_ENCODED_LEN, verify_csr};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyList};

use super::arguments;
use crate::encoded;
use crate::errors::CoreResultExt;

/// Longest PEM text of one certificate or request: twice the DER limit, as core allows.
const MAX_PEM_LEN: usize = MAX_ENCODED_LEN.saturating_mul(2);

/// An X.509 v3 certificate. Read from PEM or DER (canonical DER only),
/// made by `self_signed_ca`, `issue_leaf`, `issue_from_csr` or
/// `issue_intermediate`, checked by `verify_chain`. Two certificates are
/// equal when their DER encodings are.
///
/// >>> import coffer
/// >>> key = coffer.KeyPair.generate()
/// >>> ca = coffer.self_signed_ca(key, "CN=Acme Root CA,O=Acme", path_len=0)
/// >>> ca.subject, ca.is_ca, ca.path_len
/// ('CN=Acme Root CA,O=Acme', True, 0)
/// >>> coffer.Certificate.from_pem(ca.to_pem()) == ca
/// True
#[pyclass(frozen, eq, name = "Certificate", module = "coffer")]
#[derive(PartialEq)]
pub(crate) struct PyCertificate {
    pub(crate) inner: Certificate,
}

/// A PKCS#10 certification request: a subject, a public key and requested
/// subject alternative names, signed by the requester's key. Made by
/// `csr()`, issued by `issue_from_csr` or `issue_intermediate`.
///
/// >>> import coffer
/// >>> request = coffer.csr(coffer.KeyPair.generate(), "CN=agent-7", sans=["dns:agent-7.acme.test"])
/// >>> request.subject, request.sans
/// ('CN=agent-7', ['dns:agent-7.acme.test'])
/// >>> request.verify()
#[pyclass(frozen, eq, name = "Csr", module = "coffer")]
#[derive(PartialEq)]
pub(crate) struct PyCsr {
    pub(crate) inner: Csr,
}

/// A (two's complement, big-endian) DER integer as a Python int.
fn integer<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("signed", true)?;
    py.get_type::<PyInt>().call_method("from_bytes", (PyBytes::new(py, bytes), "big"), Some(&kwargs))
}

#[pymethods]
impl PyCertificate {
    /// Reads a PEM `CERTIFICATE` block, as str or bytes. Anything else
    /// raises MalformedError; more than 128 KiB raises InvalidInput.
    ///
    /// >>> import coffer
    /// >>> ca = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root")
    /// >>> coffer.Certificate.from_pem(ca.to_pem()).subject
    /// 'CN=Root'
    #[staticmethod]
    fn from_pem(pem: &Bound<'_, PyAny>) -> PyResult<Self> {
        encoded::from_pem(pem, MAX_PEM_LEN, Error::MalformedCertificate, Certificate::from_pem)
            .map(|inner| Self { inner })
    }

    /// Reads a DER certificate (at most 64 KiB; canonical DER only).
    ///
    /// >>> import coffer
    /// >>> ca = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root")
    /// >>> coffer.Certificate.from_der(ca.to_der()) == ca
    /// True
    #[staticmethod]
    fn from_der(der: &Bound<'_, PyAny>) -> PyResult<Self> {
        encoded::from_der(der, MAX_ENCODED_LEN, Certificate::from_der).map(|inner| Self { inner })
    }

    /// Reads every `CERTIFICATE` block of a PEM bundle (a leaf and its
    /// intermediates, say), in order; text between blocks is ignored. At
    /// most 64 certificates.
    ///
    /// >>> import coffer
    /// >>> ca = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root")
    /// >>> len(coffer.Certificate.all_from_pem("# twice\n" + ca.to_pem() + ca.to_pem()))
    /// 2
    #[staticmethod]
    fn all_from_pem<'py>(pem: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let py = pem.py();
        let max = MAX_BUNDLE_CERTS.saturating_mul(MAX_PEM_LEN);
        let certs = encoded::from_pem(pem, max, Error::MalformedCertificate, Certificate::all_from_pem)?;
        let objects =
            certs.into_iter().map(|inner| Bound::new(py, Self { inner })).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, objects)
    }

    /// The certificate as a PEM `CERTIFICATE` block (LF line endings).
    ///
    /// >>> import coffer
    /// >>> coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root").to_pem().splitlines()[0]
    /// '-----BEGIN CERTIFICATE-----'
    fn to_pem(&self, py: Python<'_>) -> PyResult<String> {
        self.inner.to_pem().or_raise(py)
    }

    /// The certificate's DER encoding.
    ///
    /// >>> import coffer
    /// >>> coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root").to_der()[:1]
    /// b'0'
    fn to_der<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.to_der())
    }

    /// The subject as an RFC 4514 string.
    ///
    /// >>> import coffer
    /// >>> coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root,O=Acme").subject
    /// 'CN=Root,O=Acme'
    #[getter]
    fn subject(&self) -> String {
        self.inner.subject()
    }

    /// The issuer as an RFC 4514 string (the subject, for a self-signed CA).
    ///
    /// >>> import coffer
    /// >>> coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root").issuer
    /// 'CN=Root'
    #[getter]
    fn issuer(&self) -> String {
        self.inner.issuer()
    }

    /// The serial number as an int (as `cryptography`'s `serial_number`);
    /// coffer draws 158 random bits.
    ///
    /// >>> import coffer
    /// >>> coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root").serial > 0
    /// True
    #[getter]
    fn serial<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        integer(py, self.inner.serial())
    }

    /// Start of validity, a timezone-aware datetime in UTC.
    ///
    /// >>> import coffer, datetime
    /// >>> ca = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root", not_before=1_800_000_000, days=1)
    /// >>> ca.not_before
    /// datetime.datetime(2027, 1, 15, 8, 0, tzinfo=datetime.timezone.utc)
    #[getter]
    fn not_before<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        arguments::datetime(py, self.inner.not_before())
    }

    /// End of validity (the last valid second), a timezone-aware datetime in UTC.
    ///
    /// >>> import coffer, datetime
    /// >>> ca = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root", not_before=1_800_000_000, days=1)
    /// >>> ca.not_after - ca.not_before
    /// datetime.timedelta(days=1)
    #[getter]
    fn not_after<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        arguments::datetime(py, self.inner.not_after())
    }

    /// The certified key: a `P256PublicKey` or `RsaPublicKey`.
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> coffer.self_signed_ca(key, "CN=Root").public_key() == key.public_key()
    /// True
    fn public_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let key = self.inner.public_key().or_raise(py)?;
        arguments::public_key_object(py, key)
    }

    /// The subject alternative names, in the text form the issuing
    /// functions take: "dns:...", "ip:...", "uri:...", "email:...".
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> ca = coffer.self_signed_ca(key, "CN=Root")
    /// >>> leaf = coffer.issue_leaf(ca, key, "CN=web", key, sans=["dns:web.acme.test", "ip:10.0.0.7"], days=30)
    /// >>> leaf.sans
    /// ['dns:web.acme.test', 'ip:10.0.0.7']
    #[getter]
    fn sans(&self) -> Vec<String> {
        arguments::sans_out(&self.inner.subject_alt_names())
    }

    /// Whether basicConstraints says CA:TRUE.
    ///
    /// >>> import coffer
    /// >>> coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root").is_ca
    /// True
    #[getter]
    fn is_ca(&self) -> bool {
        self.inner.ca_path_len().is_some()
    }

    /// A CA's pathLenConstraint (how many intermediates may follow it);
    /// None for a CA without one, or for a certificate that is no CA.
    ///
    /// >>> import coffer
    /// >>> print(coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root").path_len)
    /// None
    #[getter]
    fn path_len(&self) -> Option<u8> {
        self.inner.ca_path_len().flatten()
    }

    /// The leaf keyUsage bits coffer knows, comma-separated
    /// ("digitalSignature,keyAgreement"), or None without a keyUsage
    /// extension. A CA's bits (keyCertSign, cRLSign) are not among them:
    /// a CA gives "".
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> ca = coffer.self_signed_ca(key, "CN=Root")
    /// >>> coffer.issue_leaf(ca, key, "CN=web", key, sans=["dns:web.acme.test"], days=30).key_usage
    /// 'digitalSignature,keyAgreement'
    #[getter]
    fn key_usage(&self) -> Option<String> {
        self.inner.key_usage().map(|k| k.to_string())
    }

    fn __repr__(&self) -> String {
        format!("Certificate(subject={:?}, issuer={:?})", self.inner.subject(), self.inner.issuer())
    }
}

#[pymethods]
impl PyCsr {
    /// Reads a PEM `CERTIFICATE REQUEST` block, as str or bytes. The
    /// signature is not checked here (see `verify()`).
    ///
    /// >>> import coffer
    /// >>> request = coffer.csr(coffer.KeyPair.generate(), "CN=agent-7")
    /// >>> coffer.Csr.from_pem(request.to_pem()) == request
    /// True
    #[staticmethod]
    fn from_pem(pem: &Bound<'_, PyAny>) -> PyResult<Self> {
        encoded::from_pem(pem, MAX_PEM_LEN, Error::MalformedCertificate, Csr::from_pem)
            .map(|inner| Self { inner })
    }

    /// Reads a DER request (at most 64 KiB; canonical DER only).
    ///
    /// >>> import coffer
    /// >>> request = coffer.csr(coffer.KeyPair.generate(), "CN=agent-7")
    /// >>> coffer.Csr.from_der(request.to_der()).subject
    /// 'CN=agent-7'
    #[staticmethod]
    fn from_der(der: &Bound<'_, PyAny>) -> PyResult<Self> {
        encoded::from_der(der, MAX_ENCODED_LEN, Csr::from_der).map(|inner| Self { inner })
    }

    /// The request as a PEM `CERTIFICATE REQUEST` block.
    ///
    /// >>> import coffer
    /// >>> coffer.csr(coffer.KeyPair.generate(), "CN=a").to_pem().splitlines()[0]
    /// '-----BEGIN CERTIFICATE REQUEST-----'
    fn to_pem(&self, py: Python<'_>) -> PyResult<String> {
        self.inner.to_pem().or_raise(py)
    }

    /// The request's DER encoding.
    ///
    /// >>> import coffer
    /// >>> coffer.csr(coffer.KeyPair.generate(), "CN=a").to_der()[:1]
    /// b'0'
    fn to_der<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.to_der())
    }

    /// The requested subject as an RFC 4514 string.
    ///
    /// >>> import coffer
    /// >>> coffer.csr(coffer.KeyPair.generate(), "CN=agent-7,O=Acme").subject
    /// 'CN=agent-7,O=Acme'
    #[getter]
    fn subject(&self) -> String {
        self.inner.subject()
    }

    /// The requested subject alternative names ("dns:...", "ip:...", ...).
    ///
    /// >>> import coffer
    /// >>> coffer.csr(coffer.KeyPair.generate(), "CN=a", sans=["ip:10.0.0.7"]).sans
    /// ['ip:10.0.0.7']
    #[getter]
    fn sans(&self) -> Vec<String> {
        arguments::sans_out(&self.inner.requested_sans())
    }

    /// The requester's key: a `P256PublicKey` or `RsaPublicKey`.
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> coffer.csr(key, "CN=a").public_key() == key.public_key()
    /// True
    fn public_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let key = self.inner.public_key().or_raise(py)?;
        arguments::public_key_object(py, key)
    }

    /// Checks the request's self-signature. Returns None; raises
    /// VerifyError if it does not verify under the request's own key.
    ///
    /// >>> import coffer
    /// >>> coffer.csr(coffer.KeyPair.generate(), "CN=a").verify()
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        let csr = &self.inner;
        py.detach(|| verify_csr(csr)).map(|_| ()).or_raise(py)
    }

    fn __repr__(&self) -> String {
        format!("Csr(subject={:?})", self.inner.subject())
    }
}
