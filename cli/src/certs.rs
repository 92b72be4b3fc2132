//! `coffer cert ca|csr|issue|verify|pair`: PEM in, PEM out.

use std::net::IpAddr;
use std::path::Path;

use coffer_core::cert::{
    self, CaParams, Certificate, Csr, KeyAlgorithm, KeyPair, LeafParams, LeafUsage, San, Validity,
};
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaKeySize;

use crate::fail::{Fail, Result};
use crate::output::{Access, Target};
use crate::report::result;
use crate::store::Store;
use crate::time::iso8601;
use serde_json::json;

pub fn algorithm(name: &str) -> Result<KeyAlgorithm> {
    Ok(match name {
        "rsa2048" => KeyAlgorithm::Rsa(RsaKeySize::Rsa2048),
        "rsa3072" => KeyAlgorithm::Rsa(RsaKeySize::Rsa3072),
        "rsa4096" => KeyAlgorithm::Rsa(RsaKeySize::Rsa4096),
        "p256" => KeyAlgorithm::P256,
        other => {
            return Err(Fail::usage(format!("unknown key algorithm `{other}`"))
                .hint("use rsa2048, rsa3072, rsa4096 or p256"));
        }
    })
}

pub fn leaf_usage(name: &str) -> Result<LeafUsage> {
    Ok(match name {
        "server" => LeafUsage::Server,
        "client" => LeafUsage::Client,
        "both" => LeafUsage::ServerAndClient,
        other => {
            return Err(Fail::usage(format!("unknown certificate usage `{other}`"))
                .hint("use server, client or both"));
        }
    })
}

/// `--san` values: an IP address, a `uri:` prefix, or a DNS name.
pub fn sans(values: &[String]) -> Vec<San> {
    values
        .iter()
        .map(|v| {
            if let Ok(ip) = v.parse::<IpAddr>() {
                San::Ip(ip)
            } else if let Some(uri) = v.strip_prefix("uri:") {
                San::Uri(uri.to_string())
            } else {
                San::Dns(v.clone())
            }
        })
        .collect()
}

/// Reads a text (PEM) file, naming it in the error.
pub fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Fail::io(format!("reading {}", path.display()), &e))
}

/// Plans an output file before any work (see [`crate::output`]).
fn plan(path: &Path) -> Result<Target> {
    Target::plan(Some(path), false)
}

pub fn read_key(path: &Path) -> Result<KeyPair> {
    let pem = zeroize::Zeroizing::new(read(path)?);
    KeyPair::from_pkcs8_pem(&pem).map_err(|e| {
        Fail::usage(format!("{}: {e}", path.display())).hint("give an unencrypted PKCS#8 PEM private key")
    })
}

pub fn read_cert(path: &Path) -> Result<Certificate> {
    Certificate::from_pem(&read(path)?)
        .map_err(|e| Fail::usage(format!("{}: not a PEM certificate ({e})", path.display())))
}

/// A key named on the command line: `key:<id>` for a key in the keystore
/// (used in a user session of `--user` in `--tenant`), else a PKCS#8 PEM file.
#[derive(Clone, Copy)]
pub enum KeySpec<'a> {
    Stored(&'a str),
    File(&'a Path),
}

impl<'a> KeySpec<'a> {
    pub fn parse(arg: &'a str) -> KeySpec<'a> {
        match arg.strip_prefix("key:") {
            Some(id) => KeySpec::Stored(id),
            None => KeySpec::File(Path::new(arg)),
        }
    }
}

pub struct NewCa<'a> {
    pub subject: &'a str,
    /// `Some(id)`: the CA key is the keystore's key `id` (nothing is written but the certificate).
    pub in_store: Option<&'a str>,
    pub algorithm: &'a str,
    pub days: u32,
    pub path_len: Option<u8>,
    /// Where the new key goes (absent with `in_store`).
    pub key_out: Option<&'a Path>,
    pub cert_out: &'a Path,
}

/// `cert ca`: a new key pair written to `--key-out`, or the keystore's key
/// `--in-store <id>` (which never leaves it), and its self-signed certificate.
pub fn ca(c: &NewCa<'_>, open: impl FnOnce() -> Result<Store>) -> Result<()> {
    let key_t = c.key_out.map(plan).transpose()?;
    let cert_t = plan(c.cert_out)?;
    let params =
        CaParams { subject: c.subject, validity: Validity::days_from_now(c.days)?, path_len: c.path_len };
    let (ca, key_text) = match (c.in_store, key_t) {
        (Some(id), None) => {
            let mut store = open()?;
            let (s, h) = store.user_key(id)?;
            (store.hsm.ca_certificate(&mut OsRng, s, h, None, &params)?, format!("key:{id} in the keystore"))
        }
        (None, Some(key_t)) => {
            let key = KeyPair::generate(&mut OsRng, algorithm(c.algorithm)?)?;
            let ca = cert::self_signed_ca(&mut OsRng, &key, &params)?;
            key_t.write_bytes(Access::Private, key.to_pkcs8_pem()?.as_bytes())?;
            (ca, c.key_out.map(|p| p.display().to_string()).unwrap_or_default())
        }
        _ => return Err(Fail::usage("give exactly one of --key-out <file> or --in-store <key id>")),
    };
    cert_t.write_bytes(Access::Public, ca.to_pem()?.as_bytes())?;
    result(
        &format!(
            "CA {} written: key {key_text}, certificate {}, valid until {}",
            ca.subject(),
            c.cert_out.display(),
            iso8601(ca.not_after())
        ),
        &json!({"subject": ca.subject().to_string(), "key": key_text, "certificate": c.cert_out,
                "not_after": iso8601(ca.not_after())}),
    )
}

/// `cert csr`: a request for a key file's key, or (`key:<id>`) for a key
/// in the keystore, signed there.
pub fn csr(
    key: KeySpec<'_>,
    subject: &str,
    san: &[String],
    out: &Path,
    open: impl FnOnce() -> Result<Store>,
) -> Result<()> {
    let target = plan(out)?;
    let names = sans(san);
    let csr = match key {
        KeySpec::File(path) => cert::csr(&mut OsRng, &read_key(path)?, subject, &names)?,
        KeySpec::Stored(id) => {
            let mut store = open()?;
            let (s, h) = store.user_key(id)?;
            store.hsm.certificate_request(&mut OsRng, s, h, None, subject, &names)?
        }
    };
    target.write_bytes(Access::Public, csr.to_pem()?.as_bytes())?;
    result(
        &format!("CSR for {subject} written to {}", out.display()),
        &json!({"subject": subject, "csr": out}),
    )
}

pub struct Issue<'a> {
    pub ca_cert: &'a Path,
    pub ca_key: KeySpec<'a>,
    pub days: u32,
    pub usage: &'a str,
    pub san: &'a [String],
}

pub fn issue(i: &Issue<'_>, csr_path: &Path, out: &Path, open: impl FnOnce() -> Result<Store>) -> Result<()> {
    let target = plan(out)?;
    let csr = Csr::from_pem(&read(csr_path)?)
        .map_err(|e| Fail::usage(format!("{}: not a PEM CSR ({e})", csr_path.display())))?;
    let leaf = sign_request(i, &csr, open)?;
    target.write_bytes(Access::Public, leaf.to_pem()?.as_bytes())?;
    leaf_result(&leaf, None, out)
}

/// Issues a certificate from `csr` with the CA key of `i` (a file, or a key
/// in the keystore that signs there).
fn sign_request(i: &Issue<'_>, csr: &Csr, open: impl FnOnce() -> Result<Store>) -> Result<Certificate> {
    let ca_cert = read_cert(i.ca_cert)?;
    let names = sans(i.san);
    let params =
        LeafParams { validity: Validity::days_from_now(i.days)?, usage: leaf_usage(i.usage)?, sans: &names };
    Ok(match i.ca_key {
        KeySpec::File(path) => {
            let ca_key = read_key(path)?;
            cert::issue_from_csr(&mut OsRng, &ca_cert, &ca_key, ca_key.default_scheme(), csr, &params)?
        }
        KeySpec::Stored(id) => {
            let mut store = open()?;
            let (s, h) = store.user_key(id)?;
            store.hsm.issue_certificate(&mut OsRng, s, h, None, &ca_cert, csr, &params)?
        }
    })
}

/// `cert pair`: a new key and a certificate for it, issued by the CA.
pub fn pair(
    i: &Issue<'_>,
    subject: &str,
    algorithm_name: &str,
    key_out: &Path,
    cert_out: &Path,
    open: impl FnOnce() -> Result<Store>,
) -> Result<()> {
    let (key_t, cert_t) = (plan(key_out)?, plan(cert_out)?);
    let key = KeyPair::generate(&mut OsRng, algorithm(algorithm_name)?)?;
    // The new key asks for its certificate as any requester would.
    let csr = cert::csr(&mut OsRng, &key, subject, &sans(i.san))?;
    let leaf = sign_request(i, &csr, open)?;
    key_t.write_bytes(Access::Private, key.to_pkcs8_pem()?.as_bytes())?;
    cert_t.write_bytes(Access::Public, leaf.to_pem()?.as_bytes())?;
    leaf_result(&leaf, Some(key_out), cert_out)
}

/// Reports an issued certificate (and its new key file).
fn leaf_result(leaf: &Certificate, key_out: Option<&Path>, cert_out: &Path) -> Result<()> {
    let key_text = key_out.map(|k| format!("key {}, ", k.display())).unwrap_or_default();
    result(
        &format!(
            "certificate for {} written: {key_text}certificate {}, valid until {}",
            leaf.subject(),
            cert_out.display(),
            iso8601(leaf.not_after())
        ),
        &json!({"subject": leaf.subject().to_string(), "key": key_out, "certificate": cert_out,
                "not_after": iso8601(leaf.not_after())}),
    )
}

pub fn verify(ca: &Path, leaf: &Path) -> Result<()> {
    let ca = read_cert(ca)?;
    let leaf_cert = read_cert(leaf)?;
    cert::verify_chain_now(&leaf_cert, &ca)?;
    result(
        &format!(
            "{}: OK (issued by {}, valid until {})",
            leaf.display(),
            ca.subject(),
            iso8601(leaf_cert.not_after())
        ),
        &json!({"valid": true, "subject": leaf_cert.subject().to_string(), "issuer": ca.subject().to_string(),
                "not_after": iso8601(leaf_cert.not_after())}),
    )
}
