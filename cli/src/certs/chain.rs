//! `coffer cert verify` (a path from a leaf through intermediates to a
//! trusted CA, with purpose, name and revocation checks), `cert show`,
//! `cert intermediate` and `cert crl`.

use std::path::Path;

use coffer_core::cert::{
    self, Certificate, Crl, CrlParams, Csr, ExpectedName, IntermediateParams, PathOptions, Purpose,
    Revocation, Validity,
};
use coffer_core::rng::OsRng;
use serde_json::{Value, json};

use super::key_file::read_key_with;
use super::options::scheme;
use super::{KeySpec, plan, read, stored_scheme};
use crate::fail::{Fail, Result};
use crate::output::Access;
use crate::report::result;
use crate::store::Store;
use crate::time::iso8601;

/// Every certificate of the PEM files `paths` (each may be a bundle).
fn certificates(paths: &[std::path::PathBuf]) -> Result<Vec<Certificate>> {
    let mut out = Vec::new();
    for p in paths {
        let found = Certificate::all_from_pem(&read(p)?)
            .map_err(|e| Fail::usage(format!("{}: not PEM certificates ({e})", p.display())))?;
        out.extend(found);
    }
    Ok(out)
}

fn crls(paths: &[std::path::PathBuf]) -> Result<Vec<Crl>> {
    paths
        .iter()
        .map(|p| {
            Crl::from_pem(&read(p)?).map_err(|e| Fail::usage(format!("{}: not a PEM CRL ({e})", p.display())))
        })
        .collect()
}

/// `cert verify`'s arguments.
pub struct Verify<'a> {
    /// Trust anchors (PEM files, bundles allowed).
    pub ca: &'a [std::path::PathBuf],
    /// The certificate: a PEM file whose first block is the leaf; any
    /// further blocks are untrusted intermediates.
    pub cert: &'a Path,
    pub untrusted: &'a [std::path::PathBuf],
    pub crl: &'a [std::path::PathBuf],
    /// `server` or `client`.
    pub purpose: Option<&'a str>,
    pub dns_name: Option<&'a str>,
    pub ip: Option<std::net::IpAddr>,
}

/// `cert verify`: builds and checks a path now (see `cert::verify_path`).
pub fn verify(v: &Verify<'_>) -> Result<()> {
    let anchors = certificates(v.ca)?;
    let mut given = certificates(std::slice::from_ref(&v.cert.to_path_buf()))?;
    let leaf = given.remove(0);
    given.extend(certificates(v.untrusted)?);
    let lists = crls(v.crl)?;
    let purpose = match v.purpose {
        None => None,
        Some("server") => Some(Purpose::ServerAuth),
        Some(_) => Some(Purpose::ClientAuth),
    };
    let name = match (v.dns_name, v.ip) {
        (Some(d), _) => Some(ExpectedName::Dns(d)),
        (None, Some(ip)) => Some(ExpectedName::Ip(ip)),
        _ => None,
    };
    let opts = PathOptions { now: crate::keys::now(), purpose, name, crls: &lists };
    let path = cert::verify_path(&leaf, &given, &anchors, &opts)
        .map_err(|e| Fail::from(e).context(format!("{}", v.cert.display())))?;
    let subjects: Vec<String> = path.chain().iter().map(Certificate::subject).collect();
    let until = path.chain().iter().map(Certificate::not_after).min().unwrap_or_default();
    result(
        &format!("{}: OK: {} (valid until {})", v.cert.display(), subjects.join(" <- "), iso8601(until)),
        &json!({"valid": true, "chain": subjects, "not_after": iso8601(until)}),
    )
}

/// `cert show`: a certificate (or bundle), request or CRL, as text or JSON.
pub fn show(path: &Path) -> Result<()> {
    let text = read(path)?;
    let value = if text.contains("-----BEGIN CERTIFICATE REQUEST-----") {
        let csr = Csr::from_pem(&text).map_err(|e| Fail::usage(format!("{}: {e}", path.display())))?;
        json!({"type": "request", "subject": csr.subject(),
               "names": csr.requested_sans().iter().map(ToString::to_string).collect::<Vec<_>>(),
               "signature_valid": cert::verify_csr(&csr).is_ok()})
    } else if text.contains("-----BEGIN X509 CRL-----") {
        let crl = Crl::from_pem(&text).map_err(|e| Fail::usage(format!("{}: {e}", path.display())))?;
        let revoked: Vec<Value> = crl
            .revoked()
            .iter()
            .map(|(s, t)| json!({"serial": hex::encode(s), "revoked_at": iso8601(*t)}))
            .collect();
        json!({"type": "crl", "issuer": crl.issuer(), "number": crl.number().map(hex::encode),
               "this_update": iso8601(crl.this_update()), "next_update": crl.next_update().map(iso8601),
               "revoked": revoked})
    } else {
        let certs = certificates(std::slice::from_ref(&path.to_path_buf()))?;
        let shown: Vec<Value> = certs.iter().map(certificate_json).collect();
        json!({"type": "certificates", "certificates": shown})
    };
    result(&show_text(&value), &value)
}

fn certificate_json(c: &Certificate) -> Value {
    json!({
        "subject": c.subject(), "issuer": c.issuer(), "serial": hex::encode(c.serial()),
        "not_before": iso8601(c.not_before()), "not_after": iso8601(c.not_after()),
        "ca": c.ca_path_len().is_some(),
        "path_len": c.ca_path_len().flatten(),
        "names": c.subject_alt_names().iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// The JSON of `show` as `key: value` lines (nested objects indented).
fn show_text(v: &Value) -> String {
    fn lines(v: &Value, indent: usize, out: &mut Vec<String>) {
        if let Value::Object(map) = v {
            for (k, val) in map {
                match val {
                    Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
                        out.push(format!("{:indent$}{k}:", ""));
                        for item in items {
                            lines(item, indent.saturating_add(2), out);
                            out.push(String::new());
                        }
                    }
                    Value::Array(items) => out.push(format!(
                        "{:indent$}{k}: {}",
                        "",
                        items
                            .iter()
                            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    Value::String(s) => out.push(format!("{:indent$}{k}: {s}", "")),
                    other => out.push(format!("{:indent$}{k}: {other}", "")),
                }
            }
        }
    }
    let mut out = Vec::new();
    lines(v, 0, &mut out);
    out.join("\n").trim_end().to_string()
}

/// `cert intermediate`'s arguments.
pub struct NewIntermediate<'a> {
    pub ca_cert: &'a Path,
    pub ca_key: KeySpec<'a>,
    pub ca_key_passphrase_file: Option<&'a Path>,
    pub scheme: Option<&'a str>,
    pub csr: &'a Path,
    pub path_len: Option<u8>,
    pub days: u32,
    pub out: &'a Path,
}

/// `cert intermediate`: a CA certificate for a request, below the CA.
pub fn intermediate(n: &NewIntermediate<'_>, open: impl FnOnce() -> Result<Store>) -> Result<()> {
    let target = plan(n.out)?;
    let ca = super::read_ca_cert(n.ca_cert)?;
    let csr = Csr::from_pem(&read(n.csr)?)
        .map_err(|e| Fail::usage(format!("{}: not a PEM CSR ({e})", n.csr.display())))?;
    let params = IntermediateParams { validity: Validity::days_from_now(n.days)?, path_len: n.path_len };
    let issued = match n.ca_key {
        KeySpec::File(path) => {
            let key = read_key_with(path, n.ca_key_passphrase_file, "--ca-key-passphrase-file")?;
            let chosen = scheme(n.scheme, &key, &path.display().to_string())?;
            cert::issue_intermediate(&mut OsRng, &ca, &key, chosen, &csr, &params)?
        }
        KeySpec::Stored(id) => {
            let mut store = open()?;
            let (s, h) = store.user_key(id)?;
            let chosen = stored_scheme(&mut store, s, h, n.scheme, id)?;
            store.hsm.issue_intermediate(&mut OsRng, s, h, chosen, &ca, &csr, &params)?
        }
    };
    target.write_bytes(Access::Public, issued.to_pem()?.as_bytes())?;
    let limit = issued.ca_path_len().flatten().map_or_else(|| "no limit".to_string(), |l| l.to_string());
    result(
        &format!(
            "intermediate CA {} written to {} (issued by {}, path length {limit}, valid until {})",
            issued.subject(),
            n.out.display(),
            ca.subject(),
            iso8601(issued.not_after())
        ),
        &json!({"subject": issued.subject(), "issuer": ca.subject(), "certificate": n.out,
                "path_len": issued.ca_path_len().flatten(), "not_after": iso8601(issued.not_after())}),
    )
}

/// `cert crl`'s arguments.
pub struct NewCrl<'a> {
    pub ca_cert: &'a Path,
    pub ca_key: KeySpec<'a>,
    pub ca_key_passphrase_file: Option<&'a Path>,
    pub scheme: Option<&'a str>,
    /// Certificates to list as revoked (PEM files).
    pub revoke: &'a [std::path::PathBuf],
    /// Serial numbers (hex) to list as revoked.
    pub revoke_serial: &'a [String],
    pub number: u64,
    pub days: u32,
    pub out: &'a Path,
}

/// `cert crl`: a revocation list signed by the CA key (a file or a key in
/// the keystore), valid from now for `days`.
pub fn crl(c: &NewCrl<'_>, open: impl FnOnce() -> Result<Store>) -> Result<()> {
    let target = plan(c.out)?;
    let ca = super::read_ca_cert(c.ca_cert)?;
    let mut serials: Vec<Vec<u8>> = certificates(c.revoke)?.iter().map(|r| r.serial().to_vec()).collect();
    for s in c.revoke_serial {
        serials.push(hex::decode(s.trim_start_matches("0x")).map_err(|_| {
            Fail::usage(format!("bad --revoke-serial `{s}`"))
                .hint("give the serial number in hex, as cert show prints it")
        })?);
    }
    let now = crate::keys::now();
    let revoked: Vec<Revocation<'_>> =
        serials.iter().map(|s| Revocation { serial: s, revoked_at: now }).collect();
    let next = now.saturating_add(u64::from(c.days).saturating_mul(86_400));
    let params = CrlParams {
        number: c.number,
        this_update: now.saturating_sub(300),
        next_update: next,
        revoked: &revoked,
    };
    let list = match c.ca_key {
        KeySpec::File(path) => {
            let key = read_key_with(path, c.ca_key_passphrase_file, "--ca-key-passphrase-file")?;
            let chosen = scheme(c.scheme, &key, &path.display().to_string())?;
            cert::issue_crl(&mut OsRng, &ca, &key, chosen, &params)?
        }
        KeySpec::Stored(id) => {
            let mut store = open()?;
            let (s, h) = store.user_key(id)?;
            let chosen = stored_scheme(&mut store, s, h, c.scheme, id)?;
            store.hsm.issue_crl(&mut OsRng, s, h, chosen, &ca, &params)?
        }
    };
    target.write_bytes(Access::Public, list.to_pem()?.as_bytes())?;
    result(
        &format!(
            "CRL {} of {} written to {}: {} revoked, next update {}",
            c.number,
            ca.subject(),
            c.out.display(),
            revoked.len(),
            iso8601(next)
        ),
        &json!({"crl": c.out, "issuer": ca.subject(), "number": c.number, "revoked": revoked.len(),
                "next_update": iso8601(next)}),
    )
}
