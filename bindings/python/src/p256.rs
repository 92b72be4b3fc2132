//! `P256PrivateKey` and `P256PublicKey`: NIST P-256 key pairs and
//! ECDSA-SHA-256, over `coffer_core::p256`.

use coffer_core::Error;
use coffer_core::p256::{
    MAX_DER_SIGNATURE_LEN, MAX_ENCODED_KEY_LEN, P256PublicKey, P256SecretKey, SIGNATURE_LEN,
};
use coffer_core::rng::OsRng;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use crate::errors::CoreResultExt;
use crate::{args, encoded};

/// A P-256 (secp256r1) private key for ECDSA with SHA-256 and as an
/// envelope recipient's unlock key. Signing is deterministic (RFC 6979).
/// The key is wiped when the object is freed; its repr never shows it.
///
/// >>> import coffer
/// >>> key = coffer.P256PrivateKey.generate()
/// >>> signature = key.sign(b"boot measurement")
/// >>> key.public_key().verify(b"boot measurement", signature)
/// >>> key.to_pem().splitlines()[0]
/// '-----BEGIN PRIVATE KEY-----'
#[pyclass(frozen, name = "P256PrivateKey", module = "coffer")]
pub(crate) struct PyP256PrivateKey {
    pub(crate) inner: P256SecretKey,
}

/// A P-256 public key: verifies ECDSA-SHA-256 signatures and is an
/// envelope recipient. Two keys are equal when their points are.
///
/// >>> import coffer
/// >>> key = coffer.P256PrivateKey.generate()
/// >>> public = coffer.P256PublicKey.from_pem(key.public_key().to_pem())
/// >>> public == key.public_key()
/// True
/// >>> public.verify(b"data", key.sign(b"data"))
#[pyclass(frozen, eq, name = "P256PublicKey", module = "coffer")]
#[derive(PartialEq)]
pub(crate) struct PyP256PublicKey {
    pub(crate) inner: P256PublicKey,
}

#[pymethods]
impl PyP256PrivateKey {
    /// A new random key from the operating system's generator.
    ///
    /// >>> import coffer
    /// >>> coffer.P256PrivateKey.generate()
    /// P256PrivateKey(<redacted>)
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<Self> {
        Ok(Self { inner: P256SecretKey::generate(&mut OsRng).or_raise(py)? })
    }

    /// Reads a PEM `PRIVATE KEY` (unencrypted PKCS#8) block, as str or
    /// bytes. Anything else raises InvalidKey; more than 4,096 bytes
    /// raises InvalidInput.
    ///
    /// >>> import coffer
    /// >>> pem = coffer.P256PrivateKey.generate().to_pem()
    /// >>> coffer.P256PrivateKey.from_pem(pem).to_pem() == pem
    /// True
    #[staticmethod]
    fn from_pem(pem: &Bound<'_, PyAny>) -> PyResult<Self> {
        encoded::from_pem(pem, MAX_ENCODED_KEY_LEN, Error::InvalidKey, P256SecretKey::from_pkcs8_pem)
            .map(|inner| Self { inner })
    }

    /// Reads a DER `PrivateKeyInfo` (unencrypted PKCS#8).
    ///
    /// >>> import coffer
    /// >>> der = coffer.P256PrivateKey.generate().to_der()
    /// >>> coffer.P256PrivateKey.from_der(der).to_der() == der
    /// True
    #[staticmethod]
    fn from_der(der: &Bound<'_, PyAny>) -> PyResult<Self> {
        encoded::from_der(der, MAX_ENCODED_KEY_LEN, P256SecretKey::from_pkcs8_der).map(|inner| Self { inner })
    }

    /// The key as a PEM `PRIVATE KEY` block (unencrypted PKCS#8, LF line
    /// endings). A Python str cannot be wiped: prefer `to_der()` where
    /// the copy matters.
    ///
    /// >>> import coffer
    /// >>> coffer.P256PrivateKey.generate().to_pem().startswith("-----BEGIN PRIVATE KEY-----\n")
    /// True
    fn to_pem<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        // Straight from the wiped-on-drop buffer into the Python str: no other copy.
        let pem = self.inner.to_pkcs8_pem().or_raise(py)?;
        Ok(PyString::new(py, pem.as_str()))
    }

    /// The key as DER PKCS#8, in a bytearray the caller can wipe
    /// (`buf[:] = bytes(len(buf))`).
    ///
    /// >>> import coffer
    /// >>> coffer.P256PrivateKey.generate().to_der()[:2].hex()
    /// '3081'
    fn to_der<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyByteArray>> {
        let der = self.inner.to_pkcs8_der().or_raise(py)?;
        Ok(PyByteArray::new(py, &der))
    }

    /// The matching public key.
    ///
    /// >>> import coffer
    /// >>> key = coffer.P256PrivateKey.generate()
    /// >>> key.public_key() == key.public_key()
    /// True
    fn public_key(&self) -> PyP256PublicKey {
        PyP256PublicKey { inner: self.inner.public_key() }
    }

    /// ECDSA-SHA-256 signature of `data`, DER-encoded (as X.509, TLS and
    /// `cryptography` write it).
    ///
    /// >>> import coffer
    /// >>> key = coffer.P256PrivateKey.generate()
    /// >>> key.public_key().verify(b"data", key.sign(b"data"))
    fn sign<'py>(&self, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let py = data.py();
        let msg = args::bytes(data, "data", usize::MAX)?;
        let sig = self.inner.sign_der(msg.as_slice());
        Ok(PyBytes::new(py, sig.as_bytes()))
    }

    /// ECDSA-SHA-256 signature of `data` in fixed size: `r || s`, 32 bytes
    /// each (IEEE P1363, as JOSE and PKCS#11 carry it).
    ///
    /// >>> import coffer
    /// >>> len(coffer.P256PrivateKey.generate().sign_fixed(b"data"))
    /// 64
    fn sign_fixed<'py>(&self, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let py = data.py();
        let msg = args::bytes(data, "data", usize::MAX)?;
        let sig = self.inner.sign(msg.as_slice());
        Ok(PyBytes::new(py, sig.as_bytes()))
    }

    fn __repr__(&self) -> &'static str {
        "P256PrivateKey(<redacted>)"
    }
}

#[pymethods]
impl PyP256PublicKey {
    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block, as str or bytes.
    ///
    /// >>> import coffer
    /// >>> pem = coffer.P256PrivateKey.generate().public_key().to_pem()
    /// >>> coffer.P256PublicKey.from_pem(pem).to_pem() == pem
    /// True
    #[staticmethod]
    fn from_pem(pem: &Bound<'_, PyAny>) -> PyResult<Self> {
        encoded::from_pem(pem, MAX_ENCODED_KEY_LEN, Error::InvalidKey, P256PublicKey::from_spki_pem)
            .map(|inner| Self { inner })
    }

    /// Reads a DER SubjectPublicKeyInfo.
    ///
    /// >>> import coffer
    /// >>> der = coffer.P256PrivateKey.generate().public_key().to_der()
    /// >>> coffer.P256PublicKey.from_der(der).to_der() == der
    /// True
    #[staticmethod]
    fn from_der(der: &Bound<'_, PyAny>) -> PyResult<Self> {
        encoded::from_der(der, MAX_ENCODED_KEY_LEN, P256PublicKey::from_spki_der).map(|inner| Self { inner })
    }

    /// The key as a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo, LF line endings).
    ///
    /// >>> import coffer
    /// >>> coffer.P256PrivateKey.generate().public_key().to_pem().splitlines()[0]
    /// '-----BEGIN PUBLIC KEY-----'
    fn to_pem(&self, py: Python<'_>) -> PyResult<String> {
        self.inner.to_spki_pem().or_raise(py)
    }

    /// The key as DER SubjectPublicKeyInfo (91 bytes).
    ///
    /// >>> import coffer
    /// >>> len(coffer.P256PrivateKey.generate().public_key().to_der())
    /// 91
    fn to_der<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        encoded::to_der(py, self.inner.to_spki_der())
    }

    /// Checks a DER ECDSA-SHA-256 `signature` over `data` (strict DER;
    /// high-S accepted, as FIPS 186-5 does). Returns None; raises
    /// VerifyError for a wrong or malformed signature.
    ///
    /// >>> import coffer
    /// >>> key = coffer.P256PrivateKey.generate()
    /// >>> key.public_key().verify(b"data", key.sign(b"data"))
    fn verify(&self, data: &Bound<'_, PyAny>, signature: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = data.py();
        let msg = args::bytes(data, "data", usize::MAX)?;
        // Anything longer cannot be a P-256 signature: a VerifyError, as core gives.
        let Ok(sig) = args::bytes_up_to(signature, "signature", MAX_DER_SIGNATURE_LEN)? else {
            return Err(Error::Verify).or_raise(py);
        };
        self.inner.verify_der(msg.as_slice(), sig.as_slice()).or_raise(py)
    }

    /// Checks a fixed-size (`r || s`, 64 bytes) ECDSA-SHA-256 `signature`
    /// over `data`; raises VerifyError for a wrong one.
    ///
    /// >>> import coffer
    /// >>> key = coffer.P256PrivateKey.generate()
    /// >>> key.public_key().verify_fixed(b"data", key.sign_fixed(b"data"))
    fn verify_fixed(&self, data: &Bound<'_, PyAny>, signature: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = data.py();
        let msg = args::bytes(data, "data", usize::MAX)?;
        let Ok(sig) = args::bytes_up_to(signature, "signature", SIGNATURE_LEN)? else {
            return Err(Error::Verify).or_raise(py);
        };
        self.inner.verify_fixed(msg.as_slice(), sig.as_slice()).or_raise(py)
    }

    fn __repr__(&self) -> String {
        let point = self.inner.to_uncompressed();
        let hex: String = point.iter().map(|b| format!("{b:02x}")).collect();
        format!("P256PublicKey({hex})")
    }
}
