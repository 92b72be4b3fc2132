//! The keystore's exception classes and the one mapping from
//! `coffer_hsm::Error` to Python.
//!
//! ```text
//! CofferError(Exception)
//! └── KeystoreError(CofferError)
//!     ├── AuthError(KeystoreError)
//!     │   └── LockedError(AuthError)
//!     └── PolicyError(KeystoreError)
//! ```
//!
//! Made the way `src/errors.rs` makes the other six: `type(name, bases,
//! namespace)` once, when the module is first imported.

use coffer_hsm::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTuple, PyType};

use crate::errors;

/// Which Python exception an HSM failure becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `KeystoreError`: the store or the keystore's state.
    Keystore,
    /// `AuthError`: a wrong PIN or passphrase, or no session.
    Auth,
    /// `LockedError`: too many wrong PINs.
    Locked,
    /// `PolicyError`: role, tenant, usage or lifecycle refuses it.
    Policy,
    /// `InvalidInput`: an argument out of range.
    InvalidInput,
    /// `VerifyError`: the audit chain does not verify.
    Verify,
}

/// The mapping of every `coffer_hsm::Error` that is not a core error (the
/// table in README.md, "Exceptions"). `Error` is `#[non_exhaustive]`: a
/// variant added later becomes `KeystoreError` until it is listed here.
pub(crate) fn kind_of(e: Error) -> Kind {
    match e {
        Error::PinIncorrect | Error::NotLoggedIn | Error::KeystoreAuth => Kind::Auth,
        Error::PinLocked => Kind::Locked,
        Error::RoleNotAllowed
        | Error::TenantNotAllowed
        | Error::PolicyDenied
        | Error::KeyState
        | Error::KeyExpired
        | Error::NotExtractable
        | Error::NotWrappable => Kind::Policy,
        Error::PinPolicy | Error::InvalidInput | Error::AlreadyExists => Kind::InvalidInput,
        Error::AuditTampered { .. } => Kind::Verify,
        Error::NotFound
        | Error::Capacity
        | Error::AuditFull
        | Error::TokenState
        | Error::KeystoreCorrupt
        | Error::KeystoreRollback
        | Error::Storage
        | Error::Io
        | Error::Store(_)
        | Error::Crypto(_) => Kind::Keystore,
        _ => Kind::Keystore,
    }
}

/// The Python exception for an HSM error. A core error (`Error::Crypto`)
/// maps as core's errors do (`DecryptError`, `VerifyError`, ...).
///
/// `KeystoreAuth` is an `AuthError` when it answers the passphrase
/// (`Keystore.open`); anywhere else it means a record that does not open,
/// which is a `KeystoreError` (see [`from_hsm_after_open`]).
pub(crate) fn from_hsm(py: Python<'_>, e: Error) -> PyErr {
    if let Error::Crypto(core) = e {
        return errors::from_core(py, core);
    }
    raise(py, kind_of(e), message(e))
}

/// As [`from_hsm`], for operations on an open keystore: a record that does
/// not open there was modified (the passphrase already opened the rest).
pub(crate) fn from_hsm_after_open(py: Python<'_>, e: Error) -> PyErr {
    if e == Error::KeystoreAuth {
        return raise(
            py,
            Kind::Keystore,
            "a keystore record does not open: it was modified or is sealed under another key".to_owned(),
        );
    }
    from_hsm(py, e)
}

fn message(e: Error) -> String {
    match e {
        Error::NotFound => "no such key, tenant or user (keys are found in the session's tenant)".to_owned(),
        Error::InvalidInput => "invalid argument: names are 1 to 64 bytes of letters, digits and . _ - @, \
             a key id is unique in its tenant, and the key type must fit the operation"
            .to_owned(),
        Error::KeystoreRollback => {
            "the store is older than its generation file says (restored from a backup?); \
             if that is intended, remove the generation file (generation_file=, default <store>.generation)"
                .to_owned()
        }
        other => other.to_string(),
    }
}

/// A Python exception of `kind` with `message`.
pub(crate) fn raise(py: Python<'_>, kind: Kind, message: String) -> PyErr {
    let classes = match classes(py) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let ty = match kind {
        Kind::Keystore => &classes.keystore,
        Kind::Auth => &classes.auth,
        Kind::Locked => &classes.locked,
        Kind::Policy => &classes.policy,
        Kind::InvalidInput => return errors::invalid_input(py, message),
        Kind::Verify => return errors::raise(py, errors::Kind::Verify, message),
    };
    PyErr::from_type(ty.bind(py).clone(), message)
}

struct Classes {
    keystore: Py<PyType>,
    auth: Py<PyType>,
    locked: Py<PyType>,
    policy: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

const KEYSTORE_DOC: &str = "The keystore refused or failed an operation.

Its subclasses say why: AuthError (a wrong passphrase or PIN, or a session
that logged out), LockedError (too many wrong PINs) and PolicyError (the
role, tenant, usage or lifecycle of the key does not allow it). Raised
itself for a key, tenant or user that does not exist, a store that cannot
be opened or written, a store that holds no keystore (or already holds
one), a full audit log, and a record that was modified.

>>> import coffer
>>> ks = coffer.Keystore.create(\":memory:\", so_pin=\"so-pin-1\", pin_iterations=1000)
>>> so = ks.login_so(\"so-pin-1\")
>>> try:
...     so.create_user(\"alice\", \"alice-pin\", tenants=[\"nobody\"])
... except coffer.KeystoreError as e:
...     print(type(e).__name__)
KeystoreError
";

const AUTH_DOC: &str = "A wrong passphrase or PIN, an unknown user, or a session that logged out.

An unknown user name is refused exactly as a wrong PIN, so that names cannot
be probed. Each wrong PIN counts towards the credential's lockout.

>>> import coffer
>>> ks = coffer.Keystore.create(\":memory:\", so_pin=\"so-pin-1\", pin_iterations=1000)
>>> try:
...     ks.login_so(\"wrong-pin\")
... except coffer.AuthError:
...     print(\"refused\")
refused
";

const LOCKED_DOC: &str = "Too many wrong PINs: the credential is locked.

Also an AuthError. The security officer unblocks a user or auditor with
Session.unblock_user(); a locked security officer stays locked.

>>> import coffer
>>> ks = coffer.Keystore.create(\":memory:\", so_pin=\"so-pin-1\",
...                             pin_iterations=1000, max_pin_failures=2)
>>> for attempt in range(2):
...     try:
...         ks.login_so(\"wrong-pin\")
...     except coffer.AuthError as e:
...         print(type(e).__name__)
AuthError
LockedError
";

const POLICY_DOC: &str = "The keystore's policy refuses the operation.

The session's role may not do it (a user shredding a tenant), the key is
another tenant's, its usage does not allow it (sealing with a sign-only
key), or its lifecycle state does not (a destroyed or shredded key). The
refusal is an audit record, committed before this is raised.

>>> import coffer
>>> ks = coffer.Keystore.create(\":memory:\", so_pin=\"so-pin-1\", pin_iterations=1000)
>>> so = ks.login_so(\"so-pin-1\")
>>> so.create_tenant(\"acme\")
>>> so.create_user(\"alice\", \"alice-pin\", tenants=[\"acme\"])
>>> alice = ks.login(\"alice\", \"alice-pin\")
>>> transport = alice.generate(\"transport\", \"aes256\", usage=[\"wrap\", \"unwrap\"])
>>> try:
...     alice.seal(transport, b\"data\")
... except coffer.PolicyError:
...     print(\"refused\")
refused
";

fn make_all(py: Python<'_>) -> PyResult<Classes> {
    let base = errors::base_class(py)?;
    let keystore = errors::make_type(py, "KeystoreError", PyTuple::new(py, [base])?, KEYSTORE_DOC)?;
    let under_keystore = || PyTuple::new(py, [keystore.bind(py).clone()]);
    let auth = errors::make_type(py, "AuthError", under_keystore()?, AUTH_DOC)?;
    let locked =
        errors::make_type(py, "LockedError", PyTuple::new(py, [auth.bind(py).clone()])?, LOCKED_DOC)?;
    let policy = errors::make_type(py, "PolicyError", under_keystore()?, POLICY_DOC)?;
    Ok(Classes { keystore, auth, locked, policy })
}

fn classes(py: Python<'_>) -> PyResult<&'static Classes> {
    CLASSES.get_or_try_init(py, || make_all(py))
}

/// Adds the four classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let c = classes(py)?;
    m.add("KeystoreError", c.keystore.bind(py))?;
    m.add("AuthError", c.auth.bind(py))?;
    m.add("LockedError", c.locked.bind(py))?;
    m.add("PolicyError", c.policy.bind(py))?;
    Ok(())
}
