//! # coffer-python
//!
//! The native module `coffer._coffer` of the Python package `coffer`: thin
//! PyO3 classes and functions over `coffer-core`, with no cryptography of
//! their own. The Python package (`python/coffer/__init__.py`) re-exports
//! everything here; `python/coffer/_coffer.pyi` is its type stub.
//!
//! | module | Python names |
//! | --- | --- |
//! | [`errors`] | `CofferError`, `InvalidInput`, `InvalidKey`, `MalformedError`, `DecryptError`, `VerifyError`; the mapping from `coffer_core::Error` |
//! | [`args`] | (reading arguments: bytes-like, `str \| bytes`, ints in range; limits checked before copying) |
//! | [`keywrap`] | `Kek` (AES-KW, AES-KWP) |
//! | [`aead`] | `Aead` (AES-256-GCM-SIV) |
//! | [`p256`] | `P256PrivateKey`, `P256PublicKey` |
//! | [`rsa`] | `RsaPrivateKey`, `RsaPublicKey` |
//! | [`cert`] | `KeyPair`, `Certificate`, `Csr`, `Crl`, `self_signed_ca`, `csr`, `issue_leaf`, `issue_from_csr`, `issue_intermediate`, `issue_crl`, `verify_chain` |
//! | [`encoded`] | (reading PEM and DER arguments under their size limits) |
//! | [`envelope`] | `Recipient`, `UnlockKey`, `seal`, `open`, `inspect`, `rewrap`, `add_recipient`, `remove_recipient`, `seal_stream`, `open_stream` |
//! | [`scratch`] | `ScratchFile`, `open_to_scratch` |
//! | [`webhook`] | `webhook_sign`, `webhook_verify` |
//! | [`keystore`] | `Keystore`, `Session`, `KeyHandle`, `KeyInfo`, `AuditRecord`, `ShredEvidence`, `ManualClock`; `KeystoreError`, `AuthError`, `LockedError`, `PolicyError` and the mapping from `coffer_hsm::Error` |
//!
//! Conventions: inputs are copied out of Python objects (or borrowed from
//! immutable `bytes`) before the GIL is released; secrets come back as
//! `bytearray` (the caller can wipe them) and every Rust-side copy of a
//! secret is wiped on drop; every `coffer_core::Error` becomes one of the
//! six exceptions through [`errors::kind_of`]; nothing here panics.

mod aead;
mod args;
mod cert;
mod encoded;
mod envelope;
mod errors;
mod keystore;
mod keywrap;
mod p256;
mod rsa;
mod scratch;
mod webhook;

use pyo3::prelude::*;

/// coffer's native module; import the `coffer` package instead.
#[pymodule]
fn _coffer(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<keywrap::PyKek>()?;
    m.add_class::<aead::PyAead>()?;
    m.add_class::<p256::PyP256PrivateKey>()?;
    m.add_class::<p256::PyP256PublicKey>()?;
    m.add_class::<rsa::PyRsaPrivateKey>()?;
    m.add_class::<rsa::PyRsaPublicKey>()?;
    cert::register(m)?;
    m.add_class::<envelope::PyRecipient>()?;
    m.add_class::<envelope::PyUnlockKey>()?;
    m.add_function(wrap_pyfunction!(envelope::seal, m)?)?;
    m.add_function(wrap_pyfunction!(envelope::open, m)?)?;
    m.add_function(wrap_pyfunction!(envelope::inspect, m)?)?;
    m.add_function(wrap_pyfunction!(envelope::rewrap, m)?)?;
    m.add_function(wrap_pyfunction!(envelope::add_recipient, m)?)?;
    m.add_function(wrap_pyfunction!(envelope::remove_recipient, m)?)?;
    m.add_function(wrap_pyfunction!(envelope::seal_stream, m)?)?;
    m.add_function(wrap_pyfunction!(envelope::open_stream, m)?)?;
    m.add_class::<scratch::PyScratchFile>()?;
    m.add_function(wrap_pyfunction!(scratch::open_to_scratch, m)?)?;
    m.add_function(wrap_pyfunction!(webhook::webhook_sign, m)?)?;
    m.add_function(wrap_pyfunction!(webhook::webhook_verify, m)?)?;
    keystore::register_exceptions(m)?;
    m.add_class::<keystore::PyKeystore>()?;
    m.add_class::<keystore::PySession>()?;
    m.add_class::<keystore::PyKeyHandle>()?;
    m.add_class::<keystore::PyKeyInfo>()?;
    m.add_class::<keystore::PyAuditRecord>()?;
    m.add_class::<keystore::PyShredEvidence>()?;
    m.add_class::<keystore::PyManualClock>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
