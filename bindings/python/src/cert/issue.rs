//! Making certificates and requests: `self_signed_ca`, `csr`,
//! `issue_leaf`, `issue_from_csr`, `issue_intermediate`. Every rule (a
//! leaf never outlives its issuer, a server names its host, names and
//! keyUsage are valid) is core's; the GIL is released while they sign.

use coffer_core::cert::{
    self, CaParams, IntermediateParams, KeySigner, LeafKeyUsage, LeafParams, LeafUsage, MAX_SUBJECT_LEN,
};
use coffer_core::rng::OsRng;
use pyo3::prelude::*;

use super::arguments;
use super::certificate::{PyCertificate, PyCsr};
use crate::errors::{self, CoreResultExt};

/// The leaf usage named `name`: "server" (the default), "client" or "both".
fn usage(py: Python<'_>, name: Option<&str>) -> PyResult<LeafUsage> {
    match name {
        None | Some("server") => Ok(LeafUsage::Server),
        Some("client") => Ok(LeafUsage::Client),
        Some("both") => Ok(LeafUsage::ServerAndClient),
        Some(other) => Err(errors::invalid_input(
            py,
            format!("usage must be \"server\", \"client\" or \"both\", not {other:?}"),
        )),
    }
}

fn key_usage(py: Python<'_>, text: Option<&str>) -> PyResult<Option<LeafKeyUsage>> {
    text.map(|t| LeafKeyUsage::parse(t).or_raise(py)).transpose()
}

fn subject_arg(py: Python<'_>, subject: &str) -> PyResult<()> {
    if subject.len() > MAX_SUBJECT_LEN {
        return Err(errors::invalid_input(py, format!("subject is at most {MAX_SUBJECT_LEN} bytes")));
    }
    Ok(())
}

/// A self-signed CA certificate for `key` (a KeyPair, P256PrivateKey or
/// RsaPrivateKey) with `subject` (RFC 4514, "CN=Acme Root CA,O=Acme"):
/// basicConstraints CA:TRUE with `path_len` (None: unlimited; 0: it may
/// issue only leaves), keyUsage keyCertSign and cRLSign. Valid from
/// `not_before` (default: five minutes ago) to `not_after` (default: `days`
/// days, 3650, from now); times are ints (Unix seconds) or aware datetimes.
/// `scheme`: None for the key's default (ECDSA-SHA-256, or PKCS#1 v1.5
/// SHA-256 for RSA), "pss" for RSASSA-PSS.
///
/// >>> import coffer
/// >>> ca = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Acme Root CA", days=365, path_len=1)
/// >>> ca.is_ca, ca.path_len, ca.issuer
/// (True, 1, 'CN=Acme Root CA')
#[pyfunction]
#[pyo3(signature = (key, subject, *, days = None, not_before = None, not_after = None, path_len = None, scheme = None))]
#[pyo3(
    text_signature = "(key, subject, *, days=3650, not_before=None, not_after=None, path_len=None, scheme=None)"
)]
#[allow(clippy::too_many_arguments, reason = "keyword arguments of one Python function")]
pub(crate) fn self_signed_ca(
    key: &Bound<'_, PyAny>,
    subject: &str,
    days: Option<&Bound<'_, PyAny>>,
    not_before: Option<&Bound<'_, PyAny>>,
    not_after: Option<&Bound<'_, PyAny>>,
    path_len: Option<&Bound<'_, PyAny>>,
    scheme: Option<&str>,
) -> PyResult<PyCertificate> {
    let py = key.py();
    subject_arg(py, subject)?;
    let key = arguments::signing_key(key, "key")?;
    let key = key.get();
    let scheme = arguments::scheme(py, key, scheme)?;
    let validity = arguments::validity(py, days, 3650, not_before, not_after)?;
    let path_len = arguments::path_len(path_len)?;
    let params = CaParams { subject, validity, path_len };
    let inner = py
        .detach(|| cert::self_signed_ca_with(&mut KeySigner::new(&mut OsRng, key, scheme)?, &params))
        .or_raise(py)?;
    Ok(PyCertificate { inner })
}

/// A PKCS#10 request for `key` with `subject` and `sans` (a list of
/// "dns:host", "ip:address", "uri:..." or "email:local@domain"; at most
/// 64), signed by `key`.
///
/// >>> import coffer
/// >>> request = coffer.csr(coffer.KeyPair.generate(), "CN=agent-7,O=Acme", sans=["dns:agent-7.acme.test"])
/// >>> request.sans
/// ['dns:agent-7.acme.test']
#[pyfunction]
#[pyo3(signature = (key, subject, *, sans = None, scheme = None))]
#[pyo3(text_signature = "(key, subject, *, sans=(), scheme=None)")]
pub(crate) fn csr(
    key: &Bound<'_, PyAny>,
    subject: &str,
    sans: Option<&Bound<'_, PyAny>>,
    scheme: Option<&str>,
) -> PyResult<PyCsr> {
    let py = key.py();
    subject_arg(py, subject)?;
    let names = arguments::sans(sans)?;
    let key = arguments::signing_key(key, "key")?;
    let key = key.get();
    let scheme = arguments::scheme(py, key, scheme)?;
    let inner = py
        .detach(|| cert::csr_with(&mut KeySigner::new(&mut OsRng, key, scheme)?, subject, &names))
        .or_raise(py)?;
    Ok(PyCsr { inner })
}

/// A leaf certificate for `public_key` (a P256PublicKey, RsaPublicKey, or
/// a private key or KeyPair whose public half is meant) with `subject`,
/// issued by the CA certificate `ca` with its key `ca_key`.
///
/// `usage`: "server" (default; extendedKeyUsage serverAuth, and `sans`
/// must hold a DNS name or IP address), "client" or "both". `sans`: a list
/// of "dns:...", "ip:...", "uri:...", "email:...". `key_usage`: None for
/// digitalSignature plus keyAgreement (P-256) or keyEncipherment (RSA), or
/// names such as "digitalSignature,contentCommitment". Validity as for
/// `self_signed_ca` (default 365 days); a window past the CA's notAfter
/// raises InvalidInput (it is never shortened).
///
/// >>> import coffer
/// >>> ca_key = coffer.KeyPair.generate()
/// >>> ca = coffer.self_signed_ca(ca_key, "CN=Acme Root CA")
/// >>> server = coffer.KeyPair.generate()
/// >>> leaf = coffer.issue_leaf(ca, ca_key, "CN=web", server.public_key(), sans=["dns:web.acme.test"])
/// >>> leaf.issuer, leaf.is_ca
/// ('CN=Acme Root CA', False)
#[pyfunction]
#[pyo3(signature = (ca, ca_key, subject, public_key, *, sans = None, usage = None, days = None, not_before = None, not_after = None, key_usage = None, scheme = None))]
#[pyo3(
    text_signature = "(ca, ca_key, subject, public_key, *, sans=(), usage='server', days=365, not_before=None, not_after=None, key_usage=None, scheme=None)"
)]
#[allow(clippy::too_many_arguments, reason = "keyword arguments of one Python function")]
pub(crate) fn issue_leaf(
    ca: PyRef<'_, PyCertificate>,
    ca_key: &Bound<'_, PyAny>,
    subject: &str,
    public_key: &Bound<'_, PyAny>,
    sans: Option<&Bound<'_, PyAny>>,
    usage: Option<&str>,
    days: Option<&Bound<'_, PyAny>>,
    not_before: Option<&Bound<'_, PyAny>>,
    not_after: Option<&Bound<'_, PyAny>>,
    key_usage: Option<&str>,
    scheme: Option<&str>,
) -> PyResult<PyCertificate> {
    let py = ca_key.py();
    subject_arg(py, subject)?;
    let subject_key = arguments::public_key(public_key, "public_key")?;
    let names = arguments::sans(sans)?;
    let usage = self::usage(py, usage)?;
    let key_usage = self::key_usage(py, key_usage)?;
    let validity = arguments::validity(py, days, 365, not_before, not_after)?;
    let key = arguments::signing_key(ca_key, "ca_key")?;
    let key = key.get();
    let scheme = arguments::scheme(py, key, scheme)?;
    let params = LeafParams { validity, usage, sans: &names, key_usage };
    let ca = &ca.inner;
    let inner = py
        .detach(|| cert::issue_leaf(&mut OsRng, ca, key, scheme, subject, &subject_key, &params))
        .or_raise(py)?;
    Ok(PyCertificate { inner })
}

/// A leaf certificate from the request `csr` (its signature checked:
/// VerifyError otherwise), issued by `ca` with `ca_key`. Subject and key
/// come from the request; the names from `sans`, or when it is empty from
/// the request. Other arguments as for `issue_leaf`.
///
/// >>> import coffer
/// >>> ca_key = coffer.KeyPair.generate()
/// >>> ca = coffer.self_signed_ca(ca_key, "CN=Acme Root CA")
/// >>> request = coffer.csr(coffer.KeyPair.generate(), "CN=agent-7", sans=["dns:agent-7.acme.test"])
/// >>> leaf = coffer.issue_from_csr(ca, ca_key, request, usage="both", days=30)
/// >>> leaf.subject, leaf.sans
/// ('CN=agent-7', ['dns:agent-7.acme.test'])
#[pyfunction]
#[pyo3(signature = (ca, ca_key, csr, *, sans = None, usage = None, days = None, not_before = None, not_after = None, key_usage = None, scheme = None))]
#[pyo3(
    text_signature = "(ca, ca_key, csr, *, sans=(), usage='server', days=365, not_before=None, not_after=None, key_usage=None, scheme=None)"
)]
#[allow(clippy::too_many_arguments, reason = "keyword arguments of one Python function")]
pub(crate) fn issue_from_csr(
    ca: PyRef<'_, PyCertificate>,
    ca_key: &Bound<'_, PyAny>,
    csr: PyRef<'_, PyCsr>,
    sans: Option<&Bound<'_, PyAny>>,
    usage: Option<&str>,
    days: Option<&Bound<'_, PyAny>>,
    not_before: Option<&Bound<'_, PyAny>>,
    not_after: Option<&Bound<'_, PyAny>>,
    key_usage: Option<&str>,
    scheme: Option<&str>,
) -> PyResult<PyCertificate> {
    let py = ca_key.py();
    let names = arguments::sans(sans)?;
    let usage = self::usage(py, usage)?;
    let key_usage = self::key_usage(py, key_usage)?;
    let validity = arguments::validity(py, days, 365, not_before, not_after)?;
    let key = arguments::signing_key(ca_key, "ca_key")?;
    let key = key.get();
    let scheme = arguments::scheme(py, key, scheme)?;
    let params = LeafParams { validity, usage, sans: &names, key_usage };
    let (ca, request) = (&ca.inner, &csr.inner);
    let inner =
        py.detach(|| cert::issue_from_csr(&mut OsRng, ca, key, scheme, request, &params)).or_raise(py)?;
    Ok(PyCertificate { inner })
}

/// An intermediate CA certificate from the request `csr` (its signature
/// checked), issued by the CA `ca` with `ca_key`. `path_len`: how many
/// further intermediates may follow it; None for one less than the
/// issuer's limit. Validity as for `self_signed_ca` (default 1825 days),
/// never past the issuer's.
///
/// >>> import coffer
/// >>> root_key = coffer.KeyPair.generate()
/// >>> root = coffer.self_signed_ca(root_key, "CN=Root", path_len=1)
/// >>> issuing_key = coffer.KeyPair.generate()
/// >>> issuing = coffer.issue_intermediate(root, root_key, coffer.csr(issuing_key, "CN=Issuing CA"))
/// >>> issuing.is_ca, issuing.path_len, issuing.issuer
/// (True, 0, 'CN=Root')
#[pyfunction]
#[pyo3(signature = (ca, ca_key, csr, *, path_len = None, days = None, not_before = None, not_after = None, scheme = None))]
#[pyo3(
    text_signature = "(ca, ca_key, csr, *, path_len=None, days=1825, not_before=None, not_after=None, scheme=None)"
)]
#[allow(clippy::too_many_arguments, reason = "keyword arguments of one Python function")]
pub(crate) fn issue_intermediate(
    ca: PyRef<'_, PyCertificate>,
    ca_key: &Bound<'_, PyAny>,
    csr: PyRef<'_, PyCsr>,
    path_len: Option<&Bound<'_, PyAny>>,
    days: Option<&Bound<'_, PyAny>>,
    not_before: Option<&Bound<'_, PyAny>>,
    not_after: Option<&Bound<'_, PyAny>>,
    scheme: Option<&str>,
) -> PyResult<PyCertificate> {
    let py = ca_key.py();
    let validity = arguments::validity(py, days, 1825, not_before, not_after)?;
    let key = arguments::signing_key(ca_key, "ca_key")?;
    let key = key.get();
    let scheme = arguments::scheme(py, key, scheme)?;
    let path_len = arguments::path_len(path_len)?;
    let params = IntermediateParams { validity, path_len };
    let (ca, request) = (&ca.inner, &csr.inner);
    let inner =
        py.detach(|| cert::issue_intermediate(&mut OsRng, ca, key, scheme, request, &params)).or_raise(py)?;
    Ok(PyCertificate { inner })
}
