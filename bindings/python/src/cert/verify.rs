//! `verify_chain`: core's path validation (`coffer_core::cert::verify_path`)
//! from a leaf through intermediates to one of the trusted roots.

use std::net::IpAddr;

use coffer_core::cert::{self, ExpectedName, PathOptions, Purpose};
use pyo3::prelude::*;
use pyo3::types::PyList;

use super::arguments;
use super::certificate::PyCertificate;
use super::crl;
use crate::errors::{self, CoreResultExt};

/// Checks `leaf` against the trusted `roots`, through the untrusted
/// `intermediates` (lists of Certificate; a single Certificate is taken as
/// a list of one), at time `at` (an int of Unix seconds or an aware
/// datetime; default: now), and returns the path as a list of
/// certificates from the leaf to the root.
///
/// Checked, as core's path validator does: every signature, every
/// validity window (the root's included), that each issuer is a CA and no
/// path length is exceeded, no unknown critical extension; with `purpose`
/// ("server" or "client") the leaf's extendedKeyUsage and keyUsage; with
/// `dns_name` or `ip_address` a matching subjectAltName (never the CN);
/// with `crls` (Crl objects) that no certificate is revoked by a list its
/// issuer signed. Any failure raises VerifyError (MalformedError or
/// InvalidKey for a certificate that does not decode or holds an unusable key).
///
/// >>> import coffer
/// >>> root_key = coffer.KeyPair.generate()
/// >>> root = coffer.self_signed_ca(root_key, "CN=Root")
/// >>> leaf = coffer.issue_leaf(root, root_key, "CN=web", coffer.KeyPair.generate(), sans=["dns:web.acme.test"])
/// >>> path = coffer.verify_chain(leaf, [], [root], purpose="server", dns_name="web.acme.test")
/// >>> [c.subject for c in path]
/// ['CN=web', 'CN=Root']
/// >>> try:
/// ...     coffer.verify_chain(leaf, [], [root], dns_name="mail.acme.test")
/// ... except coffer.VerifyError as e:
/// ...     print("refused")
/// refused
#[pyfunction]
#[pyo3(signature = (leaf, intermediates, roots, *, at = None, purpose = None, dns_name = None, ip_address = None, crls = None))]
#[pyo3(
    text_signature = "(leaf, intermediates, roots, *, at=None, purpose=None, dns_name=None, ip_address=None, crls=())"
)]
#[allow(clippy::too_many_arguments, reason = "keyword arguments of one Python function")]
pub(crate) fn verify_chain<'py>(
    leaf: PyRef<'py, PyCertificate>,
    intermediates: &Bound<'py, PyAny>,
    roots: &Bound<'py, PyAny>,
    at: Option<&Bound<'py, PyAny>>,
    purpose: Option<&str>,
    dns_name: Option<&str>,
    ip_address: Option<&str>,
    crls: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let py = leaf.py();
    let intermediates = arguments::certificates(intermediates, "intermediates")?;
    let roots = arguments::certificates(roots, "roots")?;
    let now = match at {
        Some(at) => arguments::seconds(at, "at")?,
        None => arguments::now(py)?,
    };
    let purpose = match purpose {
        None => None,
        Some("server") => Some(Purpose::ServerAuth),
        Some("client") => Some(Purpose::ClientAuth),
        Some(other) => {
            return Err(errors::invalid_input(
                py,
                format!("purpose must be \"server\" or \"client\", not {other:?}"),
            ));
        }
    };
    let ip = match ip_address {
        None => None,
        Some(text) => Some(text.parse::<IpAddr>().map_err(|_| {
            errors::invalid_input(py, format!("ip_address must be an IPv4 or IPv6 address, not {text:?}"))
        })?),
    };
    let name = match (dns_name, ip) {
        (Some(_), Some(_)) => {
            return Err(errors::invalid_input(py, "give dns_name or ip_address, not both".to_owned()));
        }
        (Some(dns), None) => Some(ExpectedName::Dns(dns)),
        (None, Some(ip)) => Some(ExpectedName::Ip(ip)),
        (None, None) => None,
    };
    let lists = crl::lists(crls)?;
    let opts = PathOptions { now, purpose, name, crls: &lists };
    let leaf_cert = &leaf.inner;
    let path = py.detach(|| cert::verify_path(leaf_cert, &intermediates, &roots, &opts)).or_raise(py)?;
    let chain = path
        .chain()
        .iter()
        .map(|c| Bound::new(py, PyCertificate { inner: c.clone() }))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, chain)
}
