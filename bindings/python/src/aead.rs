//! `Aead`: AES-256-GCM-SIV (RFC 8452), over `coffer_core::aead`.

use coffer_core::aead::{
    Aes256GcmSivKey, KEY_LEN, MAX_AAD_LEN, MAX_PLAINTEXT_LEN, NONCE_LEN, Nonce, TAG_LEN,
};
use coffer_core::rng::OsRng;
use coffer_core::{Error, SecretBytes};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};

use crate::args;
use crate::errors::{self, CoreResultExt};

/// A core limit (a `u64`) as a `usize`; the whole address space where it does not fit.
fn limit(max: u64) -> usize {
    usize::try_from(max).unwrap_or(usize::MAX)
}

/// An AES-256-GCM-SIV key (RFC 8452): authenticated encryption that stays
/// safe when a nonce repeats (only identical messages become linkable).
/// The output is `ciphertext || 16-byte tag`, as `cryptography`'s
/// `AESGCMSIV.encrypt` writes it. `Aead(key)` takes 32 key bytes (other
/// lengths raise InvalidKey); `Aead.generate()` makes a random key. The
/// key is wiped when the object is freed.
///
/// >>> import os, coffer
/// >>> aead = coffer.Aead.generate()
/// >>> nonce = os.urandom(12)
/// >>> sealed = aead.seal(nonce, b"secret record", b"tenant=acme")
/// >>> bytes(aead.open(nonce, sealed, b"tenant=acme"))
/// b'secret record'
#[pyclass(frozen, name = "Aead", module = "coffer")]
pub(crate) struct PyAead {
    key: Aes256GcmSivKey,
}

fn nonce(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Nonce> {
    let wrong_length = || errors::invalid_input(py, format!("nonce must be {NONCE_LEN} bytes"));
    let input = args::bytes_up_to(obj, "nonce", NONCE_LEN)?.map_err(|_| wrong_length())?;
    Nonce::from_slice(input.as_slice()).map_err(|_| wrong_length())
}

#[pymethods]
impl PyAead {
    // Documented on the class: Python shows a class's doc for its constructor.
    #[new]
    fn new(key: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = key.py();
        // Any other length is a wrong key (InvalidKey), however long: nothing is copied.
        let bytes = args::bytes_up_to(key, "key", KEY_LEN)?.map_err(|_| Error::InvalidKey).or_raise(py)?;
        Ok(PyAead { key: Aes256GcmSivKey::from_slice(bytes.as_slice()).or_raise(py)? })
    }

    /// A new random key from the operating system's generator.
    ///
    /// >>> import coffer
    /// >>> len(coffer.Aead.generate().to_bytes())
    /// 32
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<Self> {
        Ok(PyAead { key: Aes256GcmSivKey::generate(&mut OsRng).or_raise(py)? })
    }

    /// Encrypts `plaintext` (at most 2**36 bytes) under a 12-byte `nonce`,
    /// authenticating `aad` too. Returns `ciphertext || tag`, 16 bytes
    /// longer than the plaintext. The GIL is released while it runs.
    ///
    /// >>> import coffer
    /// >>> aead = coffer.Aead(bytes(32))
    /// >>> len(aead.seal(bytes(12), b"hello"))
    /// 21
    #[pyo3(signature = (nonce, plaintext, aad = None))]
    #[pyo3(text_signature = "(self, nonce, plaintext, aad=b'')")]
    fn seal<'py>(
        &self,
        nonce: &Bound<'py, PyAny>,
        plaintext: &Bound<'py, PyAny>,
        aad: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let py = nonce.py();
        let n = self::nonce(py, nonce)?;
        let pt = args::bytes(plaintext, "plaintext", limit(MAX_PLAINTEXT_LEN))?;
        let aad = aad.map(|a| args::bytes(a, "aad", limit(MAX_AAD_LEN))).transpose()?;
        let (pt, aad_bytes) = (pt.as_slice(), aad.as_ref().map_or(&[][..], args::Input::as_slice));
        let key = &self.key;
        let sealed = py.detach(|| key.seal(&n, aad_bytes, pt)).or_raise(py)?;
        Ok(PyBytes::new(py, &sealed))
    }

    /// Checks and decrypts `ciphertext || tag`. Returns the plaintext as a
    /// bytearray the caller can wipe (`buf[:] = bytes(len(buf))`). A wrong
    /// key, nonce or aad, or any modified byte, raises DecryptError. The
    /// GIL is released while it runs.
    ///
    /// >>> import coffer
    /// >>> aead = coffer.Aead(bytes(32))
    /// >>> bytes(aead.open(bytes(12), aead.seal(bytes(12), b"hello")))
    /// b'hello'
    #[pyo3(signature = (nonce, ciphertext, aad = None))]
    #[pyo3(text_signature = "(self, nonce, ciphertext, aad=b'')")]
    fn open<'py>(
        &self,
        nonce: &Bound<'py, PyAny>,
        ciphertext: &Bound<'py, PyAny>,
        aad: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyByteArray>> {
        let py = nonce.py();
        let n = self::nonce(py, nonce)?;
        let max = limit(MAX_PLAINTEXT_LEN).saturating_add(TAG_LEN);
        let ct = args::bytes(ciphertext, "ciphertext", max)?;
        let aad = aad.map(|a| args::bytes(a, "aad", limit(MAX_AAD_LEN))).transpose()?;
        let (ct, aad_bytes) = (ct.as_slice(), aad.as_ref().map_or(&[][..], args::Input::as_slice));
        let key = &self.key;
        let plaintext = py
            .detach(|| {
                // Opened in place in a buffer wiped in bulk when dropped.
                let mut buf = SecretBytes::from(ct.to_vec());
                let len = key.open_in_place(&n, aad_bytes, &mut buf)?.len();
                buf.truncate(len);
                Ok::<_, Error>(buf)
            })
            .or_raise(py)?;
        Ok(PyByteArray::new(py, &plaintext))
    }

    /// The raw key bytes, as a bytearray the caller can wipe. An explicit
    /// export: store it only somewhere as safe as the key itself.
    ///
    /// >>> import coffer
    /// >>> bytes(coffer.Aead(bytes(32)).to_bytes()) == bytes(32)
    /// True
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyByteArray> {
        PyByteArray::new(py, self.key.as_bytes())
    }

    fn __repr__(&self) -> &'static str {
        "Aead(AES-256-GCM-SIV, <redacted>)"
    }
}
