//! `coffer cert renew`, and the full-chain bundle `--bundle-out` writes
//! for `cert issue`, `cert pair` and `cert renew`.

use std::path::Path;

use coffer_core::cert::{self, Certificate, KeyAlgorithm, KeyPair, LeafUsage, PublicKey};
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaKeySize;

use super::key_file::{key_pem, new_key_passphrase};
use super::{CaKey, Issue, algorithm, leaf_result, plan, prepare, read, read_cert, stored_scheme};
use crate::fail::{Fail, Result};
use crate::output::{Access, Target};
use crate::store::Store;

/// The bundle a TLS peer sends: the leaf, then the issuing chain from the
/// `--ca-cert` file (the CA certificate and any further certificates the
/// file holds, in its order), leaving out self-signed certificates: a
/// root is the peer's trust anchor and is not sent.
pub(super) fn bundle_pem(leaf: &Certificate, ca_cert_file: &Path) -> Result<String> {
    let chain = Certificate::all_from_pem(&read(ca_cert_file)?).map_err(|e| {
        Fail::usage(format!("{}: not a PEM certificate bundle ({e})", ca_cert_file.display()))
    })?;
    let mut pem = leaf.to_pem()?;
    for c in chain.iter().filter(|c| c.issuer() != c.subject()) {
        pem.push_str(&c.to_pem()?);
    }
    Ok(pem)
}

/// Writes the bundle when `--bundle-out` was given (its target planned
/// before anything was signed).
pub(super) fn write_bundle(target: Option<&Target>, leaf: &Certificate, ca_cert_file: &Path) -> Result<()> {
    match target {
        Some(t) => t.write_bytes(Access::Public, bundle_pem(leaf, ca_cert_file)?.as_bytes()),
        None => Ok(()),
    }
}

/// `cert renew`'s own arguments: the certificate to renew, and where the
/// new one (and a new key, if one is made) goes.
pub struct Renewal<'a> {
    pub old: &'a Path,
    pub out: &'a Path,
    /// Certify a new key, written here, instead of the old certificate's.
    pub new_key_out: Option<&'a Path>,
    /// The new key's algorithm (default: the old key's).
    pub algorithm: Option<&'a str>,
    pub key_passphrase_file: Option<&'a Path>,
}

fn usage_name(usage: LeafUsage) -> &'static str {
    match usage {
        LeafUsage::Server => "server",
        LeafUsage::Client => "client",
        _ => "both",
    }
}

fn algorithm_of(key: &PublicKey) -> KeyAlgorithm {
    match key {
        PublicKey::Rsa(k) if k.bits() > 3072 => KeyAlgorithm::Rsa(RsaKeySize::Rsa4096),
        PublicKey::Rsa(k) if k.bits() > 2048 => KeyAlgorithm::Rsa(RsaKeySize::Rsa3072),
        PublicKey::Rsa(_) => KeyAlgorithm::Rsa(RsaKeySize::Rsa2048),
        _ => KeyAlgorithm::P256,
    }
}

/// `cert renew`: the old certificate's subject, names and usage again,
/// with a new validity and serial, for its key or a new one, signed by its
/// issuer (a key file or a keystore key).
pub fn renew(i: &Issue<'_>, r: &Renewal<'_>, open: impl FnOnce() -> Result<Store>) -> Result<()> {
    let old = read_cert(r.old)?;
    let Some(usage) = old.leaf_usage() else {
        return Err(Fail::usage(format!(
            "{} is not a TLS leaf certificate (a CA, or no serverAuth/clientAuth usage)",
            r.old.display()
        ))
        .hint("renew an intermediate CA with `coffer cert intermediate` from a new request"));
    };
    let cert_t = plan(r.out)?;
    let bundle_t = i.bundle_out.map(plan).transpose()?;
    let key_t = r.new_key_out.map(plan).transpose()?;
    let issue = Issue { usage: usage_name(usage), san: &[], ..*i };
    let p = prepare(&issue)?;
    if old.issuer() != p.ca_cert.subject() {
        return Err(Fail::usage(format!(
            "{} was issued by {}, not by the --ca-cert {}",
            r.old.display(),
            old.issuer(),
            p.ca_cert.subject()
        ))
        .hint("renew with the CA that issued it"));
    }
    let new_key = match r.new_key_out {
        None if r.algorithm.is_some() || r.key_passphrase_file.is_some() => {
            return Err(Fail::usage(
                "--algorithm and --key-passphrase-file are for the new key of --new-key-out",
            )
            .hint("add --new-key-out <file> to certify a new key, or drop them to keep the old key"));
        }
        None => None,
        Some(_) => {
            let alg = match r.algorithm {
                Some(name) => algorithm(name)?,
                None => algorithm_of(&old.public_key()?),
            };
            let pass = new_key_passphrase(r.key_passphrase_file)?;
            Some((KeyPair::generate(&mut OsRng, alg)?, pass))
        }
    };
    let public = new_key.as_ref().map(|(k, _)| k.public_key());
    let renewed = match &p.ca_key {
        CaKey::File(ca_key, chosen) => {
            cert::renew(&mut OsRng, &p.ca_cert, ca_key, *chosen, &old, p.validity, public.as_ref())?
        }
        CaKey::Stored(id) => {
            let mut store = open()?;
            let (s, h) = store.user_key(id)?;
            let chosen = stored_scheme(&mut store, s, h, i.scheme, id)?;
            store.hsm.renew_certificate(
                &mut OsRng,
                s,
                h,
                chosen,
                &p.ca_cert,
                &old,
                p.validity,
                public.as_ref(),
            )?
        }
    };
    if let (Some(t), Some((key, pass))) = (&key_t, &new_key) {
        t.write_bytes(Access::Private, key_pem(key, pass.as_deref().map(Vec::as_slice))?.as_bytes())?;
    }
    cert_t.write_bytes(Access::Public, renewed.to_pem()?.as_bytes())?;
    write_bundle(bundle_t.as_ref(), &renewed, i.ca_cert)?;
    leaf_result(&renewed, r.new_key_out, r.out)
}
