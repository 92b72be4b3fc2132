//! `coffer cert ca|csr|issue|pair|verify|show|crl`: PEM in, PEM out.

use std::path::Path;

use coffer_core::cert::{
    self, CaParams, Certificate, Csr, KeyAlgorithm, KeyPair, KeySigner, LeafKeyUsage, LeafParams, LeafUsage,
    San, SignatureScheme,
};
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaKeySize;
use coffer_hsm::{Handle, KeyType, SessionId};

use crate::fail::{Fail, Result};
use crate::output::{Access, Target};
use crate::report::result;
use crate::store::Store;
use crate::time::iso8601;
use serde_json::json;

mod chain;
mod key_file;
mod options;
mod renew;

pub use chain::{NewCrl, NewIntermediate, Verify, crl, intermediate, show, verify};
use renew::write_bundle;
pub use renew::{Renewal, renew};

use key_file::{CA_KEY_PASSPHRASE, KEY_PASSPHRASE, key_pem, new_key_passphrase, read_key_with};
pub use options::{Window, time_arg};
use options::{leaf_names, not_rsa, rsa_scheme, sans, scheme, within_ca};

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

/// `--key-usage`: keyUsage names, comma-separated.
fn key_usage(text: &str) -> Result<LeafKeyUsage> {
    LeafKeyUsage::parse(text).map_err(|_| {
        Fail::usage(format!("invalid --key-usage `{text}`"))
            .hint("give a comma-separated list of digitalSignature, contentCommitment, keyEncipherment, keyAgreement")
    })
}

/// Reads a text (PEM) file, naming it in the error.
pub fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Fail::io(format!("reading {}", path.display()), &e))
}

/// Plans an output file before any work (see [`crate::output`]).
fn plan(path: &Path) -> Result<Target> {
    Target::plan(Some(path), false)
}

/// Reads a PKCS#8 PEM private key file; an encrypted one (`ENCRYPTED
/// PRIVATE KEY`) needs `--key-passphrase-file`, a plain one refuses it.
pub fn read_key(path: &Path, passphrase_file: Option<&Path>) -> Result<KeyPair> {
    read_key_with(path, passphrase_file, KEY_PASSPHRASE)
}

pub fn read_cert(path: &Path) -> Result<Certificate> {
    Certificate::from_pem(&read(path)?)
        .map_err(|e| Fail::usage(format!("{}: not a PEM certificate ({e})", path.display())))
}

/// Reads a `--ca-cert` file: the CA certificate, optionally followed by
/// the certificates above it (its issuing chain, which `--bundle-out`
/// copies after the leaf).
pub fn read_ca_cert(path: &Path) -> Result<Certificate> {
    let all = Certificate::all_from_pem(&read(path)?)
        .map_err(|e| Fail::usage(format!("{}: not a PEM certificate ({e})", path.display())))?;
    all.into_iter().next().ok_or_else(|| Fail::usage(format!("{}: holds no certificate", path.display())))
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

/// Refuses `--key-passphrase-file` without a `--private-key` file (clap's
/// `requires` does not fire beside the conflicting `--key`).
pub fn passphrase_needs_key_file(passphrase: Option<&Path>, private_key: Option<&Path>) -> Result<()> {
    match (passphrase, private_key) {
        (Some(_), None) => {
            Err(Fail::usage(format!("{KEY_PASSPHRASE} opens a --private-key file, and none is given"))
                .hint(format!("drop {KEY_PASSPHRASE}: a keystore key (--key) needs no passphrase file")))
        }
        _ => Ok(()),
    }
}

/// A passphrase option given with a keystore key, which has no file.
fn no_file(id: &str, option: &str) -> Fail {
    Fail::usage(format!("{option} is for key files, and key:{id} is in the keystore"))
        .hint(format!("drop {option}"))
}

/// `--scheme` for a keystore key: checked to be an RSA key (only then is
/// the key looked up); `None` signs with the key's default scheme.
fn stored_scheme(
    store: &mut Store,
    session: SessionId,
    handle: Handle,
    name: Option<&str>,
    id: &str,
) -> Result<Option<SignatureScheme>> {
    let Some(name) = name else { return Ok(None) };
    let chosen = rsa_scheme(name)?;
    match store.hsm.info(session, handle)?.key_type {
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => Ok(Some(chosen)),
        _ => Err(not_rsa(name, &format!("key:{id}"))),
    }
}

/// `--scheme` for a key of `alg` about to be generated, checked before
/// the (slow, for RSA) generation.
fn check_new_key_scheme(name: Option<&str>, alg: KeyAlgorithm, alg_name: &str) -> Result<()> {
    match (name, alg) {
        (Some(n), KeyAlgorithm::P256) => Err(not_rsa(n, &format!("the new {alg_name} key"))),
        (Some(n), _) => rsa_scheme(n).map(drop),
        (None, _) => Ok(()),
    }
}

pub struct NewCa<'a> {
    pub subject: &'a str,
    /// `Some(id)`: the CA key is the keystore's key `id` (nothing is written but the certificate).
    pub in_store: Option<&'a str>,
    pub algorithm: &'a str,
    pub window: Window,
    pub path_len: Option<u8>,
    /// `pkcs1` or `pss` for an RSA key.
    pub scheme: Option<&'a str>,
    /// Where the new key goes (absent with `in_store`).
    pub key_out: Option<&'a Path>,
    /// Encrypts the new key under this file's first line.
    pub key_passphrase_file: Option<&'a Path>,
    pub cert_out: &'a Path,
}

/// `cert ca`: a new key pair written to `--key-out`, or the keystore's key
/// `--in-store <id>` (which never leaves it), and its self-signed certificate.
pub fn ca(c: &NewCa<'_>, open: impl FnOnce() -> Result<Store>) -> Result<()> {
    let key_t = c.key_out.map(plan).transpose()?;
    let cert_t = plan(c.cert_out)?;
    let params = CaParams { subject: c.subject, validity: c.window.validity()?, path_len: c.path_len };
    let (ca, key_text) = match (c.in_store, key_t) {
        (Some(id), None) => {
            if c.key_passphrase_file.is_some() {
                return Err(no_file(id, KEY_PASSPHRASE));
            }
            let mut store = open()?;
            let (s, h) = store.user_key(id)?;
            let chosen = stored_scheme(&mut store, s, h, c.scheme, id)?;
            (
                store.hsm.ca_certificate(&mut OsRng, s, h, chosen, &params)?,
                format!("key:{id} in the keystore"),
            )
        }
        (None, Some(key_t)) => {
            let alg = algorithm(c.algorithm)?;
            check_new_key_scheme(c.scheme, alg, c.algorithm)?;
            let pass = new_key_passphrase(c.key_passphrase_file)?;
            let key = KeyPair::generate(&mut OsRng, alg)?;
            let chosen = scheme(c.scheme, &key, c.algorithm)?;
            let ca = cert::self_signed_ca_with(&mut KeySigner::new(&mut OsRng, &key, chosen)?, &params)?;
            key_t.write_bytes(
                Access::Private,
                key_pem(&key, pass.as_deref().map(Vec::as_slice))?.as_bytes(),
            )?;
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

/// `cert csr`'s arguments.
pub struct Request<'a> {
    pub key: KeySpec<'a>,
    pub subject: &'a str,
    pub san: &'a [String],
    /// `pkcs1` or `pss` for an RSA key.
    pub scheme: Option<&'a str>,
    /// Opens an encrypted key file.
    pub key_passphrase_file: Option<&'a Path>,
    pub out: &'a Path,
}

/// `cert csr`: a request for a key file's key, or (`key:<id>`) for a key
/// in the keystore, signed there.
pub fn csr(r: &Request<'_>, open: impl FnOnce() -> Result<Store>) -> Result<()> {
    let target = plan(r.out)?;
    let names = sans(r.san)?;
    let csr = match r.key {
        KeySpec::File(path) => {
            let key = read_key(path, r.key_passphrase_file)?;
            let chosen = scheme(r.scheme, &key, &path.display().to_string())?;
            cert::csr_with(&mut KeySigner::new(&mut OsRng, &key, chosen)?, r.subject, &names)?
        }
        KeySpec::Stored(id) => {
            if r.key_passphrase_file.is_some() {
                return Err(no_file(id, KEY_PASSPHRASE));
            }
            let mut store = open()?;
            let (s, h) = store.user_key(id)?;
            let chosen = stored_scheme(&mut store, s, h, r.scheme, id)?;
            store.hsm.certificate_request(&mut OsRng, s, h, chosen, r.subject, &names)?
        }
    };
    target.write_bytes(Access::Public, csr.to_pem()?.as_bytes())?;
    result(
        &format!("CSR for {} written to {}", r.subject, r.out.display()),
        &json!({"subject": r.subject, "csr": r.out}),
    )
}

/// The options `cert issue` and `cert pair` share: the CA and what the
/// certificate says.
pub struct Issue<'a> {
    pub ca_cert: &'a Path,
    pub ca_key: KeySpec<'a>,
    /// Opens an encrypted `--ca-key` file.
    pub ca_key_passphrase_file: Option<&'a Path>,
    /// `pkcs1` or `pss` for an RSA CA key.
    pub scheme: Option<&'a str>,
    pub window: Window,
    pub usage: &'a str,
    pub san: &'a [String],
    /// `--key-usage`: the keyUsage names, comma-separated.
    pub key_usage: Option<&'a str>,
    /// Also write the leaf followed by its issuing chain here.
    pub bundle_out: Option<&'a Path>,
}

/// The CA's key: read from a file (with the scheme it signs with), or
/// the keystore's key that signs there.
#[allow(clippy::large_enum_variant, reason = "one per command; boxing would only add an allocation")]
enum CaKey<'a> {
    File(KeyPair, SignatureScheme),
    Stored(&'a str),
}

/// What issuing needs, read and checked before any request is made: the CA
/// certificate and key, the names and the validity.
struct Prepared<'a> {
    ca_cert: Certificate,
    ca_key: CaKey<'a>,
    names: Vec<San>,
    usage: LeafUsage,
    key_usage: Option<LeafKeyUsage>,
    validity: coffer_core::cert::Validity,
}

fn prepare<'a>(i: &Issue<'a>) -> Result<Prepared<'a>> {
    let ca_cert = read_ca_cert(i.ca_cert)?;
    let names = sans(i.san)?;
    let usage = leaf_usage(i.usage)?;
    let key_usage = i.key_usage.map(key_usage).transpose()?;
    let validity = i.window.validity()?;
    within_ca(&validity, &ca_cert)?;
    let ca_key = match i.ca_key {
        KeySpec::File(path) => {
            let key = read_key_with(path, i.ca_key_passphrase_file, CA_KEY_PASSPHRASE)?;
            let chosen = scheme(i.scheme, &key, &path.display().to_string())?;
            CaKey::File(key, chosen)
        }
        KeySpec::Stored(id) if i.ca_key_passphrase_file.is_some() => {
            return Err(no_file(id, CA_KEY_PASSPHRASE));
        }
        KeySpec::Stored(id) => CaKey::Stored(id),
    };
    Ok(Prepared { ca_cert, ca_key, names, usage, key_usage, validity })
}

pub fn issue(i: &Issue<'_>, csr_path: &Path, out: &Path, open: impl FnOnce() -> Result<Store>) -> Result<()> {
    let target = plan(out)?;
    let bundle = i.bundle_out.map(plan).transpose()?;
    let prepared = prepare(i)?;
    let csr = Csr::from_pem(&read(csr_path)?)
        .map_err(|e| Fail::usage(format!("{}: not a PEM CSR ({e})", csr_path.display())))?;
    let leaf = sign_request(i, &prepared, &csr, open)?;
    target.write_bytes(Access::Public, leaf.to_pem()?.as_bytes())?;
    write_bundle(bundle.as_ref(), &leaf, i.ca_cert)?;
    leaf_result(&leaf, None, out)
}

/// Issues a certificate from `csr` with the CA key of `i` (a file, or a key
/// in the keystore that signs there).
fn sign_request(
    i: &Issue<'_>,
    p: &Prepared<'_>,
    csr: &Csr,
    open: impl FnOnce() -> Result<Store>,
) -> Result<Certificate> {
    let carried = if p.names.is_empty() { csr.requested_sans() } else { p.names.clone() };
    leaf_names(p.usage, i.usage, &carried)?;
    let params = LeafParams { validity: p.validity, usage: p.usage, sans: &p.names, key_usage: p.key_usage };
    Ok(match &p.ca_key {
        CaKey::File(ca_key, chosen) => {
            cert::issue_from_csr(&mut OsRng, &p.ca_cert, ca_key, *chosen, csr, &params)?
        }
        CaKey::Stored(id) => {
            let mut store = open()?;
            let (s, h) = store.user_key(id)?;
            let chosen = stored_scheme(&mut store, s, h, i.scheme, id)?;
            store.hsm.issue_certificate(&mut OsRng, s, h, chosen, &p.ca_cert, csr, &params)?
        }
    })
}

/// `cert pair`'s own arguments: the new key and where things go.
pub struct NewPair<'a> {
    pub subject: &'a str,
    pub algorithm: &'a str,
    pub key_out: &'a Path,
    /// Encrypts the new key under this file's first line.
    pub key_passphrase_file: Option<&'a Path>,
    pub cert_out: &'a Path,
}

/// `cert pair`: a new key and a certificate for it, issued by the CA.
pub fn pair(i: &Issue<'_>, n: &NewPair<'_>, open: impl FnOnce() -> Result<Store>) -> Result<()> {
    let (key_t, cert_t) = (plan(n.key_out)?, plan(n.cert_out)?);
    let bundle = i.bundle_out.map(plan).transpose()?;
    let alg = algorithm(n.algorithm)?;
    // Everything that can be refused is, before the (slow, for RSA) key generation.
    let prepared = prepare(i)?;
    leaf_names(prepared.usage, i.usage, &prepared.names)?;
    let pass = new_key_passphrase(n.key_passphrase_file)?;
    let key = KeyPair::generate(&mut OsRng, alg)?;
    // The new key asks for its certificate as any requester would.
    let csr = cert::csr(&mut OsRng, &key, n.subject, &prepared.names)?;
    let leaf = sign_request(i, &prepared, &csr, open)?;
    key_t.write_bytes(Access::Private, key_pem(&key, pass.as_deref().map(Vec::as_slice))?.as_bytes())?;
    cert_t.write_bytes(Access::Public, leaf.to_pem()?.as_bytes())?;
    write_bundle(bundle.as_ref(), &leaf, i.ca_cert)?;
    leaf_result(&leaf, Some(n.key_out), n.cert_out)
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
