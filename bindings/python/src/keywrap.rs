//! `Kek`: an AES key-encryption key for AES-KW (RFC 3394) and AES-KWP
//! (RFC 5649), over `coffer_core::keywrap::Kek`.

use coffer_core::Error;
use coffer_core::keywrap::{self, KW_OVERHEAD, MAX_KEY_DATA_LEN};
use coffer_core::rng::OsRng;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};

use crate::args;
use crate::errors::CoreResultExt;

/// The longest wrapped input: the largest key data and its integrity block.
const MAX_WRAPPED_LEN: usize = MAX_KEY_DATA_LEN + KW_OVERHEAD;

/// An AES key-encryption key (KEK) of 128, 192 or 256 bits, for wrapping
/// keys with AES-KW (RFC 3394) and AES-KWP (RFC 5649), and as an envelope
/// recipient (AES-256 only). The key is wiped from memory when the object
/// is freed, and its repr never shows it.
///
/// >>> import coffer
/// >>> kek = coffer.Kek.generate()
/// >>> wrapped = kek.wrap(bytes(range(32)))
/// >>> len(wrapped)
/// 40
/// >>> kek.unwrap(wrapped) == bytes(range(32))
/// True
/// >>> kek
/// Kek(AES-256, <redacted>)
#[pyclass(frozen, name = "Kek", module = "coffer")]
pub(crate) struct PyKek {
    pub(crate) inner: keywrap::Kek,
}

#[pymethods]
impl PyKek {
    /// A new random AES-256 KEK from the operating system's generator.
    ///
    /// >>> import coffer
    /// >>> coffer.Kek.generate().key_size
    /// 256
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<Self> {
        Ok(PyKek { inner: keywrap::Kek::generate(&mut OsRng).or_raise(py)? })
    }

    /// A KEK from 16, 24 or 32 raw key bytes (AES-128, -192 or -256);
    /// other lengths raise InvalidKey.
    ///
    /// >>> import coffer
    /// >>> coffer.Kek.from_bytes(bytes(16)).key_size
    /// 128
    #[staticmethod]
    fn from_bytes(key: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = key.py();
        // Any other length is a wrong key (InvalidKey), however long: nothing is copied.
        let bytes = args::bytes_up_to(key, "key", 32)?.map_err(|_| Error::InvalidKey).or_raise(py)?;
        Ok(PyKek { inner: keywrap::Kek::from_slice(bytes.as_slice()).or_raise(py)? })
    }

    /// The key size in bits: 128, 192 or 256.
    ///
    /// >>> import coffer
    /// >>> coffer.Kek.from_bytes(bytes(24)).key_size
    /// 192
    #[getter]
    fn key_size(&self) -> usize {
        self.inner.as_bytes().len().saturating_mul(8)
    }

    /// AES-KW (RFC 3394) wrap of `key`: 16 to 65,536 bytes, a multiple of
    /// 8. Returns `len(key) + 8` bytes. Deterministic.
    ///
    /// >>> import coffer
    /// >>> kek = coffer.Kek.from_bytes(bytes(range(16)))
    /// >>> kek.wrap(bytes.fromhex("00112233445566778899aabbccddeeff")).hex()
    /// '1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5'
    fn wrap<'py>(&self, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let py = key.py();
        let data = args::bytes(key, "key", MAX_KEY_DATA_LEN)?;
        let wrapped = self.inner.wrap_to_vec(data.as_slice()).or_raise(py)?;
        Ok(PyBytes::new(py, &wrapped))
    }

    /// AES-KW (RFC 3394) unwrap. Returns the key as a bytearray, which the
    /// caller can wipe (`buf[:] = bytes(len(buf))`). A wrong KEK or
    /// modified bytes raise DecryptError.
    ///
    /// >>> import coffer
    /// >>> kek = coffer.Kek.generate()
    /// >>> kek.unwrap(kek.wrap(bytes(32))) == bytes(32)
    /// True
    fn unwrap<'py>(&self, wrapped: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyByteArray>> {
        let py = wrapped.py();
        let input = args::bytes(wrapped, "wrapped", MAX_WRAPPED_LEN)?;
        let key = self.inner.unwrap_to_vec(input.as_slice()).or_raise(py)?;
        Ok(PyByteArray::new(py, &key))
    }

    /// AES-KWP (RFC 5649) wrap of `key`: 1 to 65,536 bytes of any length.
    /// Returns the key padded to a multiple of 8, plus 8 bytes.
    ///
    /// >>> import coffer
    /// >>> len(coffer.Kek.generate().wrap_padded(b"seven b"))
    /// 16
    fn wrap_padded<'py>(&self, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let py = key.py();
        let data = args::bytes(key, "key", MAX_KEY_DATA_LEN)?;
        let wrapped = self.inner.wrap_padded_to_vec(data.as_slice()).or_raise(py)?;
        Ok(PyBytes::new(py, &wrapped))
    }

    /// AES-KWP (RFC 5649) unwrap, returning a bytearray. A wrong KEK,
    /// modified bytes or bad padding raise DecryptError.
    ///
    /// >>> import coffer
    /// >>> kek = coffer.Kek.generate()
    /// >>> bytes(kek.unwrap_padded(kek.wrap_padded(b"seven b")))
    /// b'seven b'
    fn unwrap_padded<'py>(&self, wrapped: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyByteArray>> {
        let py = wrapped.py();
        let input = args::bytes(wrapped, "wrapped", MAX_WRAPPED_LEN)?;
        let key = self.inner.unwrap_padded_to_vec(input.as_slice()).or_raise(py)?;
        Ok(PyByteArray::new(py, &key))
    }

    /// The raw key bytes, as a bytearray the caller can wipe
    /// (`buf[:] = bytes(len(buf))`). An explicit export: store it only
    /// somewhere as safe as the KEK itself.
    ///
    /// >>> import coffer
    /// >>> len(coffer.Kek.generate().to_bytes())
    /// 32
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyByteArray> {
        PyByteArray::new(py, self.inner.as_bytes())
    }

    fn __repr__(&self) -> String {
        format!("Kek(AES-{}, <redacted>)", self.key_size())
    }
}
