//! `KeyPair`: a P-256 or RSA private key for certificates, with PKCS#8
//! (plain and passphrase-encrypted) in and out, over `coffer_core::cert::KeyPair`.

use coffer_core::Error;
use coffer_core::cert::{KeyAlgorithm, KeyPair, MAX_ENCODED_LEN, MAX_PASSPHRASE_LEN};
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaKeySize;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyString};

use super::arguments;
use crate::errors::{self, CoreResultExt};
use crate::p256::PyP256PrivateKey;
use crate::rsa::PyRsaPrivateKey;
use crate::{args, encoded};

/// Longest PEM text read: twice the DER limit, as core allows.
const MAX_PEM_LEN: usize = MAX_ENCODED_LEN.saturating_mul(2);

/// A private key that signs certificates, requests and revocation lists:
/// P-256 or RSA (2048, 3072 or 4096 bits). PKCS#8 in and out, plain or
/// encrypted with a passphrase (PBES2: PBKDF2-HMAC-SHA-256 and
/// AES-256-CBC, which OpenSSL and `cryptography` read). The key is wiped
/// when the object is freed; its repr never shows it.
///
/// >>> import coffer
/// >>> key = coffer.KeyPair.generate("p256")
/// >>> key.algorithm
/// 'p256'
/// >>> coffer.KeyPair.from_pem(key.to_pem()).public_key() == key.public_key()
/// True
#[pyclass(frozen, name = "KeyPair", module = "coffer")]
pub(crate) struct PyKeyPair {
    pub(crate) inner: KeyPair,
}

fn passphrase<'py>(obj: Option<&Bound<'py, PyAny>>) -> PyResult<Option<args::Input<'py>>> {
    obj.map(|p| args::text_or_bytes(p, "passphrase", MAX_PASSPHRASE_LEN)).transpose()
}

#[pymethods]
impl PyKeyPair {
    /// A new random key: `algorithm` is "p256" (the default), "rsa2048",
    /// "rsa3072" or "rsa4096"; others raise InvalidInput. The GIL is
    /// released while an RSA key is generated (about a second for 4096 bits).
    ///
    /// >>> import coffer
    /// >>> coffer.KeyPair.generate("rsa2048").algorithm
    /// 'rsa2048'
    #[staticmethod]
    #[pyo3(signature = (algorithm = "p256"))]
    fn generate(py: Python<'_>, algorithm: &str) -> PyResult<Self> {
        let algorithm = match algorithm {
            "p256" => KeyAlgorithm::P256,
            "rsa2048" => KeyAlgorithm::Rsa(RsaKeySize::Rsa2048),
            "rsa3072" => KeyAlgorithm::Rsa(RsaKeySize::Rsa3072),
            "rsa4096" => KeyAlgorithm::Rsa(RsaKeySize::Rsa4096),
            other => {
                return Err(errors::invalid_input(
                    py,
                    format!(
                        "algorithm must be \"p256\", \"rsa2048\", \"rsa3072\" or \"rsa4096\", not {other:?}"
                    ),
                ));
            }
        };
        let key = py.detach(|| KeyPair::generate(&mut OsRng, algorithm)).or_raise(py)?;
        Ok(Self { inner: key })
    }

    /// Reads a PEM `PRIVATE KEY` block (PKCS#8), or with `passphrase` an
    /// `ENCRYPTED PRIVATE KEY` block, as str or bytes. A wrong passphrase
    /// raises DecryptError; anything that is not such a key InvalidKey.
    ///
    /// >>> import coffer
    /// >>> key = coffer.KeyPair.generate()
    /// >>> pem = key.to_pem(passphrase=b"correct horse")
    /// >>> pem.splitlines()[0]
    /// '-----BEGIN ENCRYPTED PRIVATE KEY-----'
    /// >>> coffer.KeyPair.from_pem(pem, passphrase=b"correct horse").public_key() == key.public_key()
    /// True
    #[staticmethod]
    #[pyo3(signature = (pem, passphrase = None))]
    fn from_pem(pem: &Bound<'_, PyAny>, passphrase: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let py = pem.py();
        let key = match self::passphrase(passphrase)? {
            None => encoded::from_pem(pem, MAX_PEM_LEN, Error::InvalidKey, KeyPair::from_pkcs8_pem)?,
            Some(secret) => {
                let text = encoded::from_pem(pem, MAX_PEM_LEN, Error::InvalidKey, |t| Ok(t.to_owned()))?;
                let secret = secret.as_slice();
                py.detach(|| KeyPair::from_encrypted_pkcs8_pem(&text, secret)).or_raise(py)?
            }
        };
        Ok(Self { inner: key })
    }

    /// Reads a DER `PrivateKeyInfo` (PKCS#8), or with `passphrase` a DER
    /// `EncryptedPrivateKeyInfo`.
    ///
    /// >>> import coffer
    /// >>> der = coffer.KeyPair.generate().to_der()
    /// >>> coffer.KeyPair.from_der(der).to_der() == der
    /// True
    #[staticmethod]
    #[pyo3(signature = (der, passphrase = None))]
    fn from_der(der: &Bound<'_, PyAny>, passphrase: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let py = der.py();
        let key = match self::passphrase(passphrase)? {
            None => encoded::from_der(der, MAX_ENCODED_LEN, KeyPair::from_pkcs8_der)?,
            Some(secret) => {
                let input = args::bytes(der, "der", MAX_ENCODED_LEN)?;
                let (bytes, secret) = (input.as_slice(), secret.as_slice());
                py.detach(|| KeyPair::from_encrypted_pkcs8_der(bytes, secret)).or_raise(py)?
            }
        };
        Ok(Self { inner: key })
    }

    /// Converts a `P256PrivateKey` or `RsaPrivateKey` (through core's PKCS#8).
    ///
    /// >>> import coffer
    /// >>> p256 = coffer.P256PrivateKey.generate()
    /// >>> coffer.KeyPair.from_private_key(p256).public_key() == p256.public_key()
    /// True
    #[staticmethod]
    fn from_private_key(key: &Bound<'_, PyAny>) -> PyResult<Self> {
        let inner = match arguments::signing_key(key, "key")? {
            arguments::SigningKey::Converted(k) => *k,
            arguments::SigningKey::Borrowed(k) => {
                KeyPair::from_pkcs8_der(&k.to_pkcs8_der().or_raise(key.py())?).or_raise(key.py())?
            }
        };
        Ok(Self { inner })
    }

    /// The key as a `P256PrivateKey` or `RsaPrivateKey`, for signing,
    /// OAEP or envelopes.
    ///
    /// >>> import coffer
    /// >>> coffer.KeyPair.generate("p256").private_key()
    /// P256PrivateKey(<redacted>)
    fn private_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let der = self.inner.to_pkcs8_der().or_raise(py)?;
        match &self.inner {
            KeyPair::P256(_) => {
                let inner = coffer_core::p256::P256SecretKey::from_pkcs8_der(&der).or_raise(py)?;
                Ok(Bound::new(py, PyP256PrivateKey { inner })?.into_any())
            }
            KeyPair::Rsa(_) => {
                let inner = coffer_core::rsa::RsaPrivateKey::from_pkcs8_der(&der).or_raise(py)?;
                Ok(Bound::new(py, PyRsaPrivateKey { inner })?.into_any())
            }
            _ => Err(Error::InvalidKey).or_raise(py),
        }
    }

    /// The key as a PEM block: `PRIVATE KEY` (PKCS#8), or with `passphrase`
    /// `ENCRYPTED PRIVATE KEY` (600,000 PBKDF2 iterations: a few hundred
    /// milliseconds, with the GIL released). A Python str cannot be wiped:
    /// prefer `to_der()` where the copy matters.
    ///
    /// >>> import coffer
    /// >>> coffer.KeyPair.generate().to_pem().splitlines()[0]
    /// '-----BEGIN PRIVATE KEY-----'
    #[pyo3(signature = (passphrase = None))]
    fn to_pem<'py>(
        &self,
        py: Python<'py>,
        passphrase: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyString>> {
        match self::passphrase(passphrase)? {
            None => {
                let pem = self.inner.to_pkcs8_pem().or_raise(py)?;
                Ok(PyString::new(py, pem.as_str()))
            }
            Some(secret) => {
                let (key, secret) = (&self.inner, secret.as_slice());
                let pem = py.detach(|| key.to_encrypted_pkcs8_pem(&mut OsRng, secret)).or_raise(py)?;
                Ok(PyString::new(py, &pem))
            }
        }
    }

    /// The key as DER PKCS#8 (encrypted with `passphrase` if given), in a
    /// bytearray the caller can wipe.
    ///
    /// >>> import coffer
    /// >>> coffer.KeyPair.generate().to_der()[:2].hex()
    /// '3081'
    #[pyo3(signature = (passphrase = None))]
    fn to_der<'py>(
        &self,
        py: Python<'py>,
        passphrase: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyByteArray>> {
        match self::passphrase(passphrase)? {
            None => {
                let der = self.inner.to_pkcs8_der().or_raise(py)?;
                Ok(PyByteArray::new(py, &der))
            }
            Some(secret) => {
                let (key, secret) = (&self.inner, secret.as_slice());
                let der = py.detach(|| key.to_encrypted_pkcs8_der(&mut OsRng, secret)).or_raise(py)?;
                Ok(PyByteArray::new(py, &der))
            }
        }
    }

    /// The public key: a `P256PublicKey` or `RsaPublicKey` (SPKI out
    /// through their `to_pem()` / `to_der()`).
    ///
    /// >>> import coffer
    /// >>> coffer.KeyPair.generate().public_key().to_pem().splitlines()[0]
    /// '-----BEGIN PUBLIC KEY-----'
    fn public_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        arguments::public_key_object(py, self.inner.public_key())
    }

    /// "p256", "rsa2048", "rsa3072" or "rsa4096".
    ///
    /// >>> import coffer
    /// >>> coffer.KeyPair.generate().algorithm
    /// 'p256'
    #[getter]
    fn algorithm(&self) -> String {
        match &self.inner {
            KeyPair::P256(_) => "p256".to_owned(),
            KeyPair::Rsa(k) => format!("rsa{}", k.public_key().bits()),
            _ => "unknown".to_owned(),
        }
    }

    fn __repr__(&self) -> String {
        format!("KeyPair({}, <redacted>)", self.algorithm())
    }
}
