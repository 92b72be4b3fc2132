//! `RsaPrivateKey` and `RsaPublicKey`: RSA 2048–4096 with OAEP-SHA-256,
//! PSS-SHA-256 and PKCS#1 v1.5 SHA-256, over `coffer_core::rsa`.

use coffer_core::Error;
use coffer_core::rng::OsRng;
use coffer_core::rsa::{MAX_ENCODED_KEY_LEN, MAX_LABEL_LEN, RsaKeySize, RsaPrivateKey, RsaPublicKey};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use crate::errors::{self, CoreResultExt};
use crate::{args, encoded};

/// The byte length of the largest modulus coffer accepts (4096 bits): no
/// ciphertext or signature is longer.
const MAX_MODULUS_LEN: usize = 512;

/// A signature scheme named by its Python string.
#[derive(Clone, Copy)]
enum Scheme {
    Pss,
    Pkcs1v15,
}

/// The scheme named `name`; None is the default, PSS.
fn scheme(py: Python<'_>, name: Option<&str>) -> PyResult<Scheme> {
    match name {
        None | Some("pss") => Ok(Scheme::Pss),
        Some("pkcs1v15") => Ok(Scheme::Pkcs1v15),
        Some(other) => {
            Err(errors::invalid_input(py, format!("scheme must be \"pss\" or \"pkcs1v15\", not {other:?}")))
        }
    }
}

fn label<'py>(label: Option<&Bound<'py, PyAny>>) -> PyResult<Option<args::Input<'py>>> {
    label.map(|l| args::bytes(l, "label", MAX_LABEL_LEN)).transpose()
}

/// An RSA private key (2048 to 4096 bits, e = 65537): PSS and PKCS#1 v1.5
/// signatures with SHA-256, OAEP-SHA-256 decryption, and an envelope
/// recipient's unlock key. Private-key operations are blinded and release
/// the GIL. The key is wiped when the object is freed.
///
/// >>> import coffer
/// >>> key = coffer.RsaPrivateKey.generate(2048)
/// >>> signature = key.sign(b"release 1.2.0")
/// >>> key.public_key().verify(b"release 1.2.0", signature)
/// >>> bytes(key.decrypt_oaep(key.public_key().encrypt_oaep(b"data key")))
/// b'data key'
#[pyclass(frozen, name = "RsaPrivateKey", module = "coffer")]
pub(crate) struct PyRsaPrivateKey {
    pub(crate) inner: RsaPrivateKey,
}

/// An RSA public key: verifies PSS and PKCS#1 v1.5 SHA-256 signatures,
/// encrypts with OAEP-SHA-256, and is an envelope recipient. Two keys are
/// equal when modulus and exponent are.
///
/// >>> import coffer
/// >>> key = coffer.RsaPrivateKey.generate(2048)
/// >>> public = coffer.RsaPublicKey.from_pem(key.public_key().to_pem())
/// >>> public == key.public_key(), public.key_size
/// (True, 2048)
#[pyclass(frozen, eq, name = "RsaPublicKey", module = "coffer")]
#[derive(PartialEq)]
pub(crate) struct PyRsaPublicKey {
    pub(crate) inner: RsaPublicKey,
}

#[pymethods]
impl PyRsaPrivateKey {
    /// A new key of `bits` bits (2048, 3072 or 4096; others raise
    /// InvalidInput) with e = 65537. Takes about a second for 4096 bits;
    /// the GIL is released meanwhile.
    ///
    /// >>> import coffer
    /// >>> coffer.RsaPrivateKey.generate(2048).key_size
    /// 2048
    #[staticmethod]
    #[pyo3(signature = (bits = None))]
    #[pyo3(text_signature = "(bits=3072)")]
    fn generate(py: Python<'_>, bits: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let bits = bits.map(|b| args::int_u32(b, "bits")).transpose()?.unwrap_or(3072);
        let size = match bits {
            2048 => RsaKeySize::Rsa2048,
            3072 => RsaKeySize::Rsa3072,
            4096 => RsaKeySize::Rsa4096,
            _ => {
                return Err(errors::invalid_input(
                    py,
                    format!("bits must be 2048, 3072 or 4096, not {bits}"),
                ));
            }
        };
        let key = py.detach(|| RsaPrivateKey::generate(&mut OsRng, size)).or_raise(py)?;
        Ok(Self { inner: key })
    }

    /// Reads a PEM `PRIVATE KEY` (unencrypted PKCS#8) block, as str or
    /// bytes. Keys outside 2048-4096 bits or with e other than 65537 raise
    /// InvalidKey; more than 16 KiB raises InvalidInput.
    ///
    /// >>> import coffer
    /// >>> pem = coffer.RsaPrivateKey.generate(2048).to_pem()
    /// >>> coffer.RsaPrivateKey.from_pem(pem).to_pem() == pem
    /// True
    #[staticmethod]
    fn from_pem(pem: &Bound<'_, PyAny>) -> PyResult<Self> {
        encoded::from_pem(pem, MAX_ENCODED_KEY_LEN, Error::InvalidKey, RsaPrivateKey::from_pkcs8_pem)
            .map(|inner| Self { inner })
    }

    /// Reads a DER `PrivateKeyInfo` (unencrypted PKCS#8).
    ///
    /// >>> import coffer
    /// >>> der = coffer.RsaPrivateKey.generate(2048).to_der()
    /// >>> coffer.RsaPrivateKey.from_der(der).to_der() == der
    /// True
    #[staticmethod]
    fn from_der(der: &Bound<'_, PyAny>) -> PyResult<Self> {
        encoded::from_der(der, MAX_ENCODED_KEY_LEN, RsaPrivateKey::from_pkcs8_der).map(|inner| Self { inner })
    }

    /// The key as a PEM `PRIVATE KEY` block (unencrypted PKCS#8, LF line
    /// endings). A Python str cannot be wiped: prefer `to_der()` where the
    /// copy matters.
    ///
    /// >>> import coffer
    /// >>> coffer.RsaPrivateKey.generate(2048).to_pem().splitlines()[0]
    /// '-----BEGIN PRIVATE KEY-----'
    fn to_pem<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        // Straight from the wiped-on-drop buffer into the Python str: no other copy.
        let pem = self.inner.to_pkcs8_pem().or_raise(py)?;
        Ok(PyString::new(py, pem.as_str()))
    }

    /// The key as DER PKCS#8, in a bytearray the caller can wipe
    /// (`buf[:] = bytes(len(buf))`).
    ///
    /// >>> import coffer
    /// >>> coffer.RsaPrivateKey.generate(2048).to_der()[:2].hex()
    /// '3082'
    fn to_der<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyByteArray>> {
        let der = self.inner.to_pkcs8_der().or_raise(py)?;
        Ok(PyByteArray::new(py, &der))
    }

    /// The modulus size in bits.
    ///
    /// >>> import coffer
    /// >>> coffer.RsaPrivateKey.generate(2048).key_size
    /// 2048
    #[getter]
    fn key_size(&self) -> usize {
        self.inner.public_key().bits()
    }

    /// The matching public key.
    ///
    /// >>> import coffer
    /// >>> coffer.RsaPrivateKey.generate(2048).public_key().key_size
    /// 2048
    fn public_key(&self) -> PyRsaPublicKey {
        PyRsaPublicKey { inner: self.inner.public_key() }
    }

    /// Signs `data` with SHA-256: `scheme="pss"` (RSASSA-PSS, MGF1-SHA-256,
    /// 32-byte salt; randomized) or `"pkcs1v15"` (RSASSA-PKCS1-v1_5;
    /// deterministic). The GIL is released while it runs.
    ///
    /// >>> import coffer
    /// >>> key = coffer.RsaPrivateKey.generate(2048)
    /// >>> len(key.sign(b"data", scheme="pkcs1v15"))
    /// 256
    #[pyo3(signature = (data, scheme = None))]
    #[pyo3(text_signature = "(self, data, scheme='pss')")]
    fn sign<'py>(&self, data: &Bound<'py, PyAny>, scheme: Option<String>) -> PyResult<Bound<'py, PyBytes>> {
        let py = data.py();
        let scheme = self::scheme(py, scheme.as_deref())?;
        let msg = args::bytes(data, "data", usize::MAX)?;
        let (key, msg) = (&self.inner, msg.as_slice());
        let sig = py
            .detach(|| match scheme {
                Scheme::Pss => key.sign_pss(&mut OsRng, msg),
                Scheme::Pkcs1v15 => key.sign_pkcs1v15(&mut OsRng, msg),
            })
            .or_raise(py)?;
        Ok(PyBytes::new(py, &sig))
    }

    /// RSA-OAEP decryption with SHA-256 (label hash and MGF1) and an
    /// optional `label` (at most 1,024 bytes). Returns a bytearray the
    /// caller can wipe. Any failure raises DecryptError. The GIL is
    /// released while it runs.
    ///
    /// >>> import coffer
    /// >>> key = coffer.RsaPrivateKey.generate(2048)
    /// >>> ciphertext = key.public_key().encrypt_oaep(b"data key", label=b"v1")
    /// >>> bytes(key.decrypt_oaep(ciphertext, label=b"v1"))
    /// b'data key'
    #[pyo3(signature = (ciphertext, label = None))]
    fn decrypt_oaep<'py>(
        &self,
        ciphertext: &Bound<'py, PyAny>,
        label: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyByteArray>> {
        let py = ciphertext.py();
        let label = self::label(label)?;
        // Longer than any modulus: it cannot open, so nothing is copied.
        let Ok(ct) = args::bytes_up_to(ciphertext, "ciphertext", MAX_MODULUS_LEN)? else {
            return Err(Error::Decrypt).or_raise(py);
        };
        let (key, ct, label) =
            (&self.inner, ct.as_slice(), label.as_ref().map_or(&[][..], args::Input::as_slice));
        let plaintext = py.detach(|| key.oaep_decrypt_with_label(&mut OsRng, ct, label)).or_raise(py)?;
        Ok(PyByteArray::new(py, &plaintext))
    }

    fn __repr__(&self) -> String {
        format!("RsaPrivateKey({} bits, <redacted>)", self.key_size())
    }
}

#[pymethods]
impl PyRsaPublicKey {
    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block, as str or bytes.
    ///
    /// >>> import coffer
    /// >>> pem = coffer.RsaPrivateKey.generate(2048).public_key().to_pem()
    /// >>> coffer.RsaPublicKey.from_pem(pem).to_pem() == pem
    /// True
    #[staticmethod]
    fn from_pem(pem: &Bound<'_, PyAny>) -> PyResult<Self> {
        encoded::from_pem(pem, MAX_ENCODED_KEY_LEN, Error::InvalidKey, RsaPublicKey::from_spki_pem)
            .map(|inner| Self { inner })
    }

    /// Reads a DER SubjectPublicKeyInfo.
    ///
    /// >>> import coffer
    /// >>> der = coffer.RsaPrivateKey.generate(2048).public_key().to_der()
    /// >>> coffer.RsaPublicKey.from_der(der).to_der() == der
    /// True
    #[staticmethod]
    fn from_der(der: &Bound<'_, PyAny>) -> PyResult<Self> {
        encoded::from_der(der, MAX_ENCODED_KEY_LEN, RsaPublicKey::from_spki_der).map(|inner| Self { inner })
    }

    /// The key as a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo, LF line endings).
    ///
    /// >>> import coffer
    /// >>> coffer.RsaPrivateKey.generate(2048).public_key().to_pem().splitlines()[0]
    /// '-----BEGIN PUBLIC KEY-----'
    fn to_pem(&self, py: Python<'_>) -> PyResult<String> {
        self.inner.to_spki_pem().or_raise(py)
    }

    /// The key as DER SubjectPublicKeyInfo.
    ///
    /// >>> import coffer
    /// >>> len(coffer.RsaPrivateKey.generate(2048).public_key().to_der())
    /// 294
    fn to_der<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        encoded::to_der(py, self.inner.to_spki_der())
    }

    /// The modulus size in bits.
    ///
    /// >>> import coffer
    /// >>> coffer.RsaPrivateKey.generate(3072).public_key().key_size
    /// 3072
    #[getter]
    fn key_size(&self) -> usize {
        self.inner.bits()
    }

    /// Checks a SHA-256 `signature` over `data` made with `scheme` ("pss"
    /// or "pkcs1v15"). Returns None; raises VerifyError for a wrong one.
    ///
    /// >>> import coffer
    /// >>> key = coffer.RsaPrivateKey.generate(2048)
    /// >>> key.public_key().verify(b"data", key.sign(b"data", "pkcs1v15"), "pkcs1v15")
    #[pyo3(signature = (data, signature, scheme = None))]
    #[pyo3(text_signature = "(self, data, signature, scheme='pss')")]
    fn verify(
        &self,
        data: &Bound<'_, PyAny>,
        signature: &Bound<'_, PyAny>,
        scheme: Option<String>,
    ) -> PyResult<()> {
        let py = data.py();
        let scheme = self::scheme(py, scheme.as_deref())?;
        let msg = args::bytes(data, "data", usize::MAX)?;
        let Ok(sig) = args::bytes_up_to(signature, "signature", MAX_MODULUS_LEN)? else {
            return Err(Error::Verify).or_raise(py);
        };
        match scheme {
            Scheme::Pss => self.inner.verify_pss(msg.as_slice(), sig.as_slice()),
            Scheme::Pkcs1v15 => self.inner.verify_pkcs1v15(msg.as_slice(), sig.as_slice()),
        }
        .or_raise(py)
    }

    /// RSA-OAEP encryption of `data` with SHA-256 (label hash and MGF1)
    /// and an optional `label` (at most 1,024 bytes). `data` may be at most
    /// `key_size // 8 - 66` bytes (190 for RSA-2048); longer raises
    /// InvalidInput. Randomized: each call gives a different ciphertext.
    ///
    /// >>> import coffer
    /// >>> public = coffer.RsaPrivateKey.generate(2048).public_key()
    /// >>> len(public.encrypt_oaep(bytes(32)))
    /// 256
    #[pyo3(signature = (data, label = None))]
    fn encrypt_oaep<'py>(
        &self,
        data: &Bound<'py, PyAny>,
        label: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let py = data.py();
        let label = self::label(label)?;
        let pt = args::bytes(data, "data", self.inner.oaep_max_plaintext_len())?;
        let label = label.as_ref().map_or(&[][..], args::Input::as_slice);
        let ct = self.inner.oaep_encrypt_with_label(&mut OsRng, pt.as_slice(), label).or_raise(py)?;
        Ok(PyBytes::new(py, &ct))
    }

    fn __repr__(&self) -> String {
        format!("RsaPublicKey({} bits)", self.key_size())
    }
}
