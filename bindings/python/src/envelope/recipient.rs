//! `Recipient` (who an envelope is sealed for) and `UnlockKey` (a key that
//! may open one): Python objects that hold a key object, a key id and a
//! version, and lend them to `coffer_core::envelope` as its borrowed enums.

use coffer_core::envelope::{MAX_KEY_ID_LEN, Recipient, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::p256::{P256PublicKey, P256SecretKey};
use coffer_core::rsa::{RsaPrivateKey, RsaPublicKey};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::args;
use crate::errors;
use crate::keywrap::PyKek;
use crate::p256::{PyP256PrivateKey, PyP256PublicKey};
use crate::rsa::{PyRsaPrivateKey, PyRsaPublicKey};

/// The key length envelope KEKs must have (AES-256, FORMAT.md §1.4).
const ENVELOPE_KEK_LEN: usize = 32;

/// A key id argument (`str` as UTF-8, or bytes) of 1 to 64 bytes.
pub(super) fn key_id(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let id = args::text_or_bytes(obj, "key_id", MAX_KEY_ID_LEN)?;
    if id.as_slice().is_empty() {
        return Err(errors::invalid_input(obj.py(), format!("key_id must be 1 to {MAX_KEY_ID_LEN} bytes")));
    }
    Ok(id.as_slice().to_vec())
}

pub(super) fn version(obj: Option<&Bound<'_, PyAny>>) -> PyResult<u32> {
    obj.map(|v| args::int_u32(v, "version")).transpose().map(|v| v.unwrap_or(1))
}

fn envelope_kek(kek: &Bound<'_, PyKek>) -> PyResult<Py<PyKek>> {
    if kek.get().inner.as_bytes().len() != ENVELOPE_KEK_LEN {
        return Err(errors::invalid_input(kek.py(), "envelope KEKs must be AES-256 (32 bytes)".to_owned()));
    }
    Ok(kek.clone().unbind())
}

/// A key id as reprs show it: Python's repr of the str when it is UTF-8,
/// of the bytes otherwise.
fn id_repr(py: Python<'_>, id: &[u8]) -> String {
    let shown = match core::str::from_utf8(id) {
        Ok(text) => PyString::new(py, text).repr(),
        Err(_) => PyBytes::new(py, id).repr(),
    };
    shown.map(|r| r.to_string()).unwrap_or_default()
}

enum RecipientKey {
    Kek(Py<PyKek>),
    Rsa(Py<PyRsaPublicKey>),
    P256(Py<PyP256PublicKey>),
}

/// Someone to seal an envelope for: a KEK (AES-256-KW), an RSA public key
/// (RSA-OAEP-SHA-256) or a P-256 public key (ECDH-ES), with the key id and
/// version written into the envelope's header. Make one with
/// `Recipient.kek`, `Recipient.rsa` or `Recipient.p256`.
///
/// >>> import coffer
/// >>> kek = coffer.Kek.generate()
/// >>> coffer.Recipient.kek("backup-kek", kek, version=3)
/// Recipient(kind='kek', key_id='backup-kek', version=3)
#[pyclass(frozen, name = "Recipient", module = "coffer")]
pub(crate) struct PyRecipient {
    key: RecipientKey,
    key_id: Vec<u8>,
    version: u32,
}

/// A recipient's parts borrowed for the length of one call; `Send`, so it
/// crosses into the part of the call that runs without the GIL.
pub(crate) struct RecipientRef<'a> {
    key: RecipientKeyRef<'a>,
    key_id: &'a [u8],
    version: u32,
}

enum RecipientKeyRef<'a> {
    Kek(&'a Kek),
    Rsa(&'a RsaPublicKey),
    P256(&'a P256PublicKey),
}

impl RecipientRef<'_> {
    /// coffer-core's recipient.
    pub(crate) fn to_core(&self) -> Recipient<'_> {
        let (key_id, version) = (self.key_id, self.version);
        match self.key {
            RecipientKeyRef::Kek(kek) => Recipient::Kek { key_id, version, kek },
            RecipientKeyRef::Rsa(public_key) => Recipient::Rsa { key_id, version, public_key },
            RecipientKeyRef::P256(public_key) => Recipient::P256 { key_id, version, public_key },
        }
    }
}

impl PyRecipient {
    /// The parts, borrowed.
    pub(crate) fn lend(&self) -> RecipientRef<'_> {
        let key = match &self.key {
            RecipientKey::Kek(k) => RecipientKeyRef::Kek(&k.get().inner),
            RecipientKey::Rsa(k) => RecipientKeyRef::Rsa(&k.get().inner),
            RecipientKey::P256(k) => RecipientKeyRef::P256(&k.get().inner),
        };
        RecipientRef { key, key_id: &self.key_id, version: self.version }
    }
}

#[pymethods]
impl PyRecipient {
    /// A KEK recipient: the data key is wrapped with AES-256-KW under
    /// `kek`, which must be AES-256 (InvalidInput otherwise). `key_id` is
    /// 1 to 64 bytes (a str is encoded as UTF-8); `version` 0 to 2**32-1.
    ///
    /// >>> import coffer
    /// >>> coffer.Recipient.kek(b"kek-1", coffer.Kek.generate()).kind
    /// 'kek'
    #[staticmethod]
    #[pyo3(signature = (key_id, kek, version = None))]
    #[pyo3(text_signature = "(key_id, kek, version=1)")]
    fn kek(
        key_id: &Bound<'_, PyAny>,
        kek: &Bound<'_, PyKek>,
        version: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Self {
            key: RecipientKey::Kek(envelope_kek(kek)?),
            key_id: self::key_id(key_id)?,
            version: self::version(version)?,
        })
    }

    /// An RSA recipient: the data key is encrypted with RSA-OAEP-SHA-256
    /// to `public_key`.
    ///
    /// >>> import coffer
    /// >>> public = coffer.RsaPrivateKey.generate(2048).public_key()
    /// >>> coffer.Recipient.rsa("escrow", public).kind
    /// 'rsa'
    #[staticmethod]
    #[pyo3(signature = (key_id, public_key, version = None))]
    #[pyo3(text_signature = "(key_id, public_key, version=1)")]
    fn rsa(
        key_id: &Bound<'_, PyAny>,
        public_key: &Bound<'_, PyRsaPublicKey>,
        version: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Self {
            key: RecipientKey::Rsa(public_key.clone().unbind()),
            key_id: self::key_id(key_id)?,
            version: self::version(version)?,
        })
    }

    /// A P-256 recipient: the data key is wrapped under a key agreed by
    /// ECDH between a fresh ephemeral key and `public_key` (ECDH-ES,
    /// HKDF-SHA-256, AES-256-KW).
    ///
    /// >>> import coffer
    /// >>> public = coffer.P256PrivateKey.generate().public_key()
    /// >>> coffer.Recipient.p256("device-17", public, version=2).version
    /// 2
    #[staticmethod]
    #[pyo3(signature = (key_id, public_key, version = None))]
    #[pyo3(text_signature = "(key_id, public_key, version=1)")]
    fn p256(
        key_id: &Bound<'_, PyAny>,
        public_key: &Bound<'_, PyP256PublicKey>,
        version: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Self {
            key: RecipientKey::P256(public_key.clone().unbind()),
            key_id: self::key_id(key_id)?,
            version: self::version(version)?,
        })
    }

    /// The kind: "kek", "rsa" or "p256" (as `inspect()` names them).
    ///
    /// >>> import coffer
    /// >>> coffer.Recipient.kek("k", coffer.Kek.generate()).kind
    /// 'kek'
    #[getter]
    fn kind(&self) -> &'static str {
        match self.key {
            RecipientKey::Kek(_) => "kek",
            RecipientKey::Rsa(_) => "rsa",
            RecipientKey::P256(_) => "p256",
        }
    }

    /// The key id, as bytes.
    ///
    /// >>> import coffer
    /// >>> coffer.Recipient.kek("k", coffer.Kek.generate()).key_id
    /// b'k'
    #[getter]
    fn key_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.key_id)
    }

    /// The key version.
    ///
    /// >>> import coffer
    /// >>> coffer.Recipient.kek("k", coffer.Kek.generate()).version
    /// 1
    #[getter]
    fn version(&self) -> u32 {
        self.version
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Recipient(kind='{}', key_id={}, version={})",
            self.kind(),
            id_repr(py, &self.key_id),
            self.version
        )
    }
}

enum UnlockSecret {
    Kek(Py<PyKek>),
    Rsa(Py<PyRsaPrivateKey>),
    P256(Py<PyP256PrivateKey>),
}

/// A key that may open an envelope: a KEK, an RSA private key or a P-256
/// private key, with the key id and version it was sealed under. It opens
/// recipients of its kind with the same key id and version.
///
/// >>> import coffer
/// >>> kek = coffer.Kek.generate()
/// >>> envelope = coffer.seal(b"data", [coffer.Recipient.kek("k", kek)])
/// >>> bytes(coffer.open(envelope, [coffer.UnlockKey.kek("k", kek)]))
/// b'data'
#[pyclass(frozen, name = "UnlockKey", module = "coffer")]
pub(crate) struct PyUnlockKey {
    key: UnlockSecret,
    key_id: Vec<u8>,
    version: u32,
}

/// An unlock key's parts borrowed for one call (`Send`, like [`RecipientRef`]).
pub(crate) struct UnlockKeyRef<'a> {
    key: UnlockSecretRef<'a>,
    key_id: &'a [u8],
    version: u32,
}

enum UnlockSecretRef<'a> {
    Kek(&'a Kek),
    Rsa(&'a RsaPrivateKey),
    P256(&'a P256SecretKey),
}

impl UnlockKeyRef<'_> {
    /// coffer-core's unlock key.
    pub(crate) fn to_core(&self) -> UnlockKey<'_> {
        let (key_id, version) = (self.key_id, self.version);
        match self.key {
            UnlockSecretRef::Kek(kek) => UnlockKey::Kek { key_id, version, kek },
            UnlockSecretRef::Rsa(private_key) => UnlockKey::Rsa { key_id, version, private_key },
            UnlockSecretRef::P256(secret_key) => UnlockKey::P256 { key_id, version, secret_key },
        }
    }
}

impl PyUnlockKey {
    /// The parts, borrowed.
    pub(crate) fn lend(&self) -> UnlockKeyRef<'_> {
        let key = match &self.key {
            UnlockSecret::Kek(k) => UnlockSecretRef::Kek(&k.get().inner),
            UnlockSecret::Rsa(k) => UnlockSecretRef::Rsa(&k.get().inner),
            UnlockSecret::P256(k) => UnlockSecretRef::P256(&k.get().inner),
        };
        UnlockKeyRef { key, key_id: &self.key_id, version: self.version }
    }
}

#[pymethods]
impl PyUnlockKey {
    /// Opens KEK recipients with this `key_id` and `version`; `kek` must be AES-256.
    ///
    /// >>> import coffer
    /// >>> coffer.UnlockKey.kek("kek-1", coffer.Kek.generate())
    /// UnlockKey(kind='kek', key_id='kek-1', version=1)
    #[staticmethod]
    #[pyo3(signature = (key_id, kek, version = None))]
    #[pyo3(text_signature = "(key_id, kek, version=1)")]
    fn kek(
        key_id: &Bound<'_, PyAny>,
        kek: &Bound<'_, PyKek>,
        version: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Self {
            key: UnlockSecret::Kek(envelope_kek(kek)?),
            key_id: self::key_id(key_id)?,
            version: self::version(version)?,
        })
    }

    /// Opens RSA recipients with this `key_id` and `version`.
    ///
    /// >>> import coffer
    /// >>> coffer.UnlockKey.rsa("escrow", coffer.RsaPrivateKey.generate(2048)).kind
    /// 'rsa'
    #[staticmethod]
    #[pyo3(signature = (key_id, private_key, version = None))]
    #[pyo3(text_signature = "(key_id, private_key, version=1)")]
    fn rsa(
        key_id: &Bound<'_, PyAny>,
        private_key: &Bound<'_, PyRsaPrivateKey>,
        version: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Self {
            key: UnlockSecret::Rsa(private_key.clone().unbind()),
            key_id: self::key_id(key_id)?,
            version: self::version(version)?,
        })
    }

    /// Opens P-256 recipients with this `key_id` and `version`.
    ///
    /// >>> import coffer
    /// >>> coffer.UnlockKey.p256("device-17", coffer.P256PrivateKey.generate()).kind
    /// 'p256'
    #[staticmethod]
    #[pyo3(signature = (key_id, private_key, version = None))]
    #[pyo3(text_signature = "(key_id, private_key, version=1)")]
    fn p256(
        key_id: &Bound<'_, PyAny>,
        private_key: &Bound<'_, PyP256PrivateKey>,
        version: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Self {
            key: UnlockSecret::P256(private_key.clone().unbind()),
            key_id: self::key_id(key_id)?,
            version: self::version(version)?,
        })
    }

    /// The kind: "kek", "rsa" or "p256".
    ///
    /// >>> import coffer
    /// >>> coffer.UnlockKey.kek("k", coffer.Kek.generate()).kind
    /// 'kek'
    #[getter]
    fn kind(&self) -> &'static str {
        match self.key {
            UnlockSecret::Kek(_) => "kek",
            UnlockSecret::Rsa(_) => "rsa",
            UnlockSecret::P256(_) => "p256",
        }
    }

    /// The key id, as bytes.
    ///
    /// >>> import coffer
    /// >>> coffer.UnlockKey.kek("k", coffer.Kek.generate()).key_id
    /// b'k'
    #[getter]
    fn key_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.key_id)
    }

    /// The key version.
    ///
    /// >>> import coffer
    /// >>> coffer.UnlockKey.kek("k", coffer.Kek.generate(), 7).version
    /// 7
    #[getter]
    fn version(&self) -> u32 {
        self.version
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "UnlockKey(kind='{}', key_id={}, version={})",
            self.kind(),
            id_repr(py, &self.key_id),
            self.version
        )
    }
}
