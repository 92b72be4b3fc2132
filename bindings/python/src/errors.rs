//! The exception hierarchy and the one mapping from `coffer_core::Error` to it.
//!
//! ```text
//! CofferError(Exception)
//! ├── InvalidInput(CofferError, ValueError)
//! ├── InvalidKey(CofferError, ValueError)
//! ├── MalformedError(CofferError, ValueError)
//! ├── DecryptError(CofferError)
//! └── VerifyError(CofferError)
//! ```
//!
//! Two of the classes have two bases, which `pyo3::create_exception!`
//! cannot make, so all six are made the same way: by calling `type(name,
//! bases, namespace)` once, when the module is first imported.

use coffer_core::Error;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// Which Python exception a failure becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `CofferError` itself: failures that are not the caller's input
    /// (the RNG, an encoder, an internal check).
    Base,
    /// `InvalidInput`: an argument out of range or against a limit.
    InvalidInput,
    /// `InvalidKey`: key material that is malformed or refused by policy.
    InvalidKey,
    /// `MalformedError`: bytes that do not parse as what they should hold.
    Malformed,
    /// `DecryptError`: a ciphertext, envelope or wrapped key that does not open.
    Decrypt,
    /// `VerifyError`: a signature, MAC or certificate check that fails.
    Verify,
}

/// The mapping of every `coffer_core::Error` to a Python exception (the
/// table in README.md, "Exceptions"). `Error` is `#[non_exhaustive]`: a
/// variant added to core later becomes `CofferError` until it is listed here.
pub(crate) fn kind_of(e: Error) -> Kind {
    match e {
        Error::Decrypt => Kind::Decrypt,
        Error::Verify
        | Error::CertificateExpired
        | Error::CertificateNotYetValid
        | Error::NotACa
        | Error::IssuerMismatch
        | Error::UnknownCriticalExtension
        | Error::UnsupportedAlgorithm(_)
        | Error::NoPathToTrustAnchor
        | Error::PathTooLong
        | Error::NameMismatch
        | Error::WrongPurpose
        | Error::Revoked
        | Error::CrlOutOfDate => Kind::Verify,
        Error::InvalidKey | Error::KeyPolicy | Error::KeyMismatch => Kind::InvalidKey,
        Error::Malformed | Error::MalformedCertificate => Kind::Malformed,
        Error::InvalidLength
        | Error::LimitExceeded
        | Error::InvalidInput
        | Error::InvalidSubject
        | Error::InvalidSubjectAltName
        | Error::ServerNameMissing
        | Error::OutlivesIssuer
        | Error::InvalidValidity
        | Error::InvalidKeyUsage => Kind::InvalidInput,
        Error::BufferTooSmall { .. } | Error::Encoding | Error::Rng | Error::Internal => Kind::Base,
        _ => Kind::Base,
    }
}

/// The six exception classes, made once per process.
struct Exceptions {
    base: Py<PyType>,
    invalid_input: Py<PyType>,
    invalid_key: Py<PyType>,
    malformed: Py<PyType>,
    decrypt: Py<PyType>,
    verify: Py<PyType>,
}

static EXCEPTIONS: PyOnceLock<Exceptions> = PyOnceLock::new();

const BASE_DOC: &str = "Base class of every error coffer raises.

Catch it to handle any coffer failure; the subclasses say what kind:
InvalidInput, InvalidKey, MalformedError, DecryptError, VerifyError.

>>> import coffer
>>> try:
...     coffer.Kek.from_bytes(b\"short\")
... except coffer.CofferError as e:
...     print(type(e).__name__)
InvalidKey
";

const INVALID_INPUT_DOC: &str = "An argument is out of range or exceeds a documented limit.

Also a ValueError. Raised before any work is done for sizes above
coffer's limits (key-wrap data over 64 KiB, more than 16 recipients, ...).

>>> import coffer
>>> try:
...     coffer.Aead.generate().seal(b\"short nonce\", b\"data\")
... except coffer.InvalidInput as e:
...     print(\"12 bytes\" in str(e))
True
";

const INVALID_KEY_DOC: &str = "Key material is malformed or refused by policy.

Also a ValueError: a key of the wrong length, a PEM or DER encoding that
does not hold a key of the expected kind, an RSA key outside 2048-4096
bits or with an exponent other than 65537.

>>> import coffer
>>> try:
...     coffer.P256PublicKey.from_pem(\"not a key\")
... except coffer.InvalidKey:
...     print(\"refused\")
refused
";

const MALFORMED_DOC: &str = "Bytes that should hold a coffer structure do not parse.

Also a ValueError. inspect() raises it for bytes that are not an envelope
header; webhook_verify() for a signature header that is not t=...,v1=....
Opening an envelope never raises it: a damaged envelope is a DecryptError.

>>> import coffer
>>> try:
...     coffer.inspect(b\"not an envelope\")
... except coffer.MalformedError:
...     print(\"malformed\")
malformed
";

const DECRYPT_DOC: &str = "A ciphertext, envelope or wrapped key does not open.

Wrong key, wrong context or associated data, modified or truncated bytes:
all give this one error, and no plaintext is released.

>>> import coffer
>>> kek = coffer.Kek.generate()
>>> try:
...     kek.unwrap(bytes(40))
... except coffer.DecryptError:
...     print(\"does not open\")
does not open
";

const VERIFY_DOC: &str = "A signature, MAC or webhook signature does not verify.

>>> import coffer
>>> key = coffer.P256PrivateKey.generate()
>>> try:
...     key.public_key().verify(b\"message\", key.sign(b\"other message\"))
... except coffer.VerifyError:
...     print(\"forged\")
forged
";

/// `type(name, bases, {"__module__": "coffer", "__doc__": doc})`.
pub(crate) fn make_type<'py>(
    py: Python<'py>,
    name: &str,
    bases: Bound<'py, PyTuple>,
    doc: &str,
) -> PyResult<Py<PyType>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", "coffer")?;
    namespace.set_item("__doc__", doc)?;
    let made = py.get_type::<PyType>().call1((name, bases, namespace))?;
    Ok(made.cast_into::<PyType>()?.unbind())
}

fn make_all(py: Python<'_>) -> PyResult<Exceptions> {
    let exception = py.get_type::<PyException>();
    let value_error = py.get_type::<PyValueError>();
    let base = make_type(py, "CofferError", PyTuple::new(py, [exception])?, BASE_DOC)?;
    let base_b = base.bind(py);
    let with_value_error = || PyTuple::new(py, [base_b.clone(), value_error.clone()]);
    let alone = || PyTuple::new(py, [base_b.clone()]);
    Ok(Exceptions {
        invalid_input: make_type(py, "InvalidInput", with_value_error()?, INVALID_INPUT_DOC)?,
        invalid_key: make_type(py, "InvalidKey", with_value_error()?, INVALID_KEY_DOC)?,
        malformed: make_type(py, "MalformedError", with_value_error()?, MALFORMED_DOC)?,
        decrypt: make_type(py, "DecryptError", alone()?, DECRYPT_DOC)?,
        verify: make_type(py, "VerifyError", alone()?, VERIFY_DOC)?,
        base,
    })
}

fn exceptions(py: Python<'_>) -> PyResult<&'static Exceptions> {
    EXCEPTIONS.get_or_try_init(py, || make_all(py))
}

/// `CofferError`, the base of the keystore's own classes (`src/keystore/errors.rs`).
pub(crate) fn base_class(py: Python<'_>) -> PyResult<Bound<'_, PyType>> {
    Ok(exceptions(py)?.base.bind(py).clone())
}

/// Adds the six classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let e = exceptions(py)?;
    m.add("CofferError", e.base.bind(py))?;
    m.add("InvalidInput", e.invalid_input.bind(py))?;
    m.add("InvalidKey", e.invalid_key.bind(py))?;
    m.add("MalformedError", e.malformed.bind(py))?;
    m.add("DecryptError", e.decrypt.bind(py))?;
    m.add("VerifyError", e.verify.bind(py))?;
    Ok(())
}

/// A Python exception of `kind` with `message`.
pub(crate) fn raise(py: Python<'_>, kind: Kind, message: String) -> PyErr {
    let e = match exceptions(py) {
        Ok(e) => e,
        Err(err) => return err,
    };
    let ty = match kind {
        Kind::Base => &e.base,
        Kind::InvalidInput => &e.invalid_input,
        Kind::InvalidKey => &e.invalid_key,
        Kind::Malformed => &e.malformed,
        Kind::Decrypt => &e.decrypt,
        Kind::Verify => &e.verify,
    };
    PyErr::from_type(ty.bind(py).clone(), message)
}

/// The Python exception for a core error, with core's message (which says
/// what went wrong and what to do, and never which check of a decryption failed).
pub(crate) fn from_core(py: Python<'_>, e: Error) -> PyErr {
    raise(py, kind_of(e), e.to_string())
}

/// An `InvalidInput` with `message`.
pub(crate) fn invalid_input(py: Python<'_>, message: String) -> PyErr {
    raise(py, Kind::InvalidInput, message)
}

/// `Result<T, coffer_core::Error>` to `PyResult<T>`.
pub(crate) trait CoreResultExt<T> {
    /// Maps a core error to its Python exception.
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> CoreResultExt<T> for Result<T, Error> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| from_core(py, e))
    }
}
