//! Certificates over `coffer_core::cert`: key pairs (`KeyPair`), X.509
//! certificates and PKCS#10 requests (`Certificate`, `Csr`), issuing
//! (`self_signed_ca`, `csr`, `issue_leaf`, `issue_from_csr`,
//! `issue_intermediate`), path validation (`verify_chain`) and revocation
//! lists (`Crl`, `issue_crl`).
//!
//! | file | Python names |
//! | --- | --- |
//! | [`key_pair`] | `KeyPair` |
//! | [`certificate`] | `Certificate`, `Csr` |
//! | [`issue`] | `self_signed_ca`, `csr`, `issue_leaf`, `issue_from_csr`, `issue_intermediate` |
//! | [`verify`] | `verify_chain` |
//! | [`crl`] | `Crl`, `issue_crl` |
//! | [`arguments`] | (reading keys, names, times and certificate lists from Python) |
//!
//! Every check (names, validity windows, path rules) is core's; this module
//! only converts arguments and results. The GIL is released while anything
//! is signed, generated or verified.

pub(crate) mod arguments;
pub(crate) mod certificate;
pub(crate) mod crl;
pub(crate) mod issue;
pub(crate) mod key_pair;
pub(crate) mod verify;

use pyo3::prelude::*;

/// Adds the classes and functions of this module to `m`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<key_pair::PyKeyPair>()?;
    m.add_class::<certificate::PyCertificate>()?;
    m.add_class::<certificate::PyCsr>()?;
    m.add_class::<crl::PyCrl>()?;
    m.add_function(wrap_pyfunction!(issue::self_signed_ca, m)?)?;
    m.add_function(wrap_pyfunction!(issue::csr, m)?)?;
    m.add_function(wrap_pyfunction!(issue::issue_leaf, m)?)?;
    m.add_function(wrap_pyfunction!(issue::issue_from_csr, m)?)?;
    m.add_function(wrap_pyfunction!(issue::issue_intermediate, m)?)?;
    m.add_function(wrap_pyfunction!(verify::verify_chain, m)?)?;
    m.add_function(wrap_pyfunction!(crl::issue_crl, m)?)?;
    Ok(())
}
