//! `coffer wrap|unwrap|sign|verify|hmac`: keys in the keystore by id, or
//! key files for the other party's side.

use std::path::Path;

use coffer_core::cert::{KeyPair, PublicKey};
use coffer_core::rng::OsRng;

use crate::data::read_public_key;
use crate::fail::{Fail, Result, exit};
use crate::output::{Access, Target};
use crate::report::result;
use crate::store::Store;
use serde_json::json;

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Fail::io(format!("reading {}", path.display()), &e))
}

/// Runs `f` on the stored key `id` of the tenant in a user session.
fn with_stored_key<T>(
    open: impl FnOnce() -> Result<Store>,
    id: &str,
    f: impl FnOnce(&mut coffer_hsm::Hsm, coffer_hsm::SessionId, coffer_hsm::Handle) -> coffer_hsm::Result<T>,
) -> Result<T> {
    let mut store = open()?;
    let (s, h) = store.user_key(id)?;
    Ok(f(&mut store.hsm, s, h)?)
}

/// `wrap`: with `--key` an AES-KWP (or with `--kw` AES-KW) wrap under a stored KEK; with
/// `--public-key` RSA-OAEP-SHA-256 to an RSA public key or certificate.
pub fn wrap(
    kw: bool,
    store: impl FnOnce() -> Result<Store>,
    key: Option<&str>,
    public_key: Option<&Path>,
    input: &Path,
    out: &Path,
) -> Result<()> {
    let target = Target::plan(Some(out), false)?;
    let material = zeroize::Zeroizing::new(read_bytes(input)?);
    let wrapped = match (key, public_key) {
        (Some(id), None) if kw => with_stored_key(store, id, |hsm, s, h| hsm.wrap_key_kw(s, h, &material))?,
        (Some(id), None) => with_stored_key(store, id, |hsm, s, h| hsm.wrap_key(s, h, &material))?,
        (None, Some(path)) => match read_public_key(path)? {
            PublicKey::Rsa(k) => k.oaep_encrypt(&mut OsRng, &material)?,
            _ => return Err(Fail::usage("RSA-OAEP needs an RSA public key")),
        },
        _ => return Err(Fail::usage("give exactly one of --key <id> or --public-key <file>")),
    };
    target.write_bytes(Access::Public, &wrapped)
}

/// `unwrap`: the inverse of [`wrap`], with `--key` or `--private-key`.
pub fn unwrap(
    kw: bool,
    store: impl FnOnce() -> Result<Store>,
    key: Option<&str>,
    private_key: Option<&Path>,
    key_passphrase: Option<&Path>,
    input: &Path,
    out: &Path,
) -> Result<()> {
    let target = Target::plan(Some(out), false)?;
    let wrapped = read_bytes(input)?;
    let material = match (key, private_key) {
        (Some(id), None) if kw => with_stored_key(store, id, |hsm, s, h| hsm.unwrap_key_kw(s, h, &wrapped))?,
        (Some(id), None) => with_stored_key(store, id, |hsm, s, h| hsm.unwrap_key(s, h, &wrapped))?,
        (None, Some(path)) => match crate::certs::read_key(path, key_passphrase)? {
            KeyPair::Rsa(k) => k.oaep_decrypt(&mut OsRng, &wrapped)?,
            _ => return Err(Fail::usage("RSA-OAEP needs an RSA private key")),
        },
        _ => return Err(Fail::usage("give exactly one of --key <id> or --private-key <file>")),
    };
    target.write_bytes(Access::Private, &material)
}

/// `sign --key <id>`: ECDSA P-256 (DER) or RSA-PSS with a stored key.
pub fn sign(store: &mut Store, key_id: &str, input: &Path, out: &Path) -> Result<()> {
    let target = Target::plan(Some(out), false)?;
    let msg = read_bytes(input)?;
    let (s, h) = store.user_key(key_id)?;
    let sig = store.hsm.sign(&mut OsRng, s, h, &msg)?;
    target.write_bytes(Access::Public, &sig)
}

/// `verify`: with a stored key, or a public key / certificate file.
pub fn verify(
    store: impl FnOnce() -> Result<Store>,
    key: Option<&str>,
    public_key: Option<&Path>,
    input: &Path,
    sig: &Path,
) -> Result<()> {
    let msg = read_bytes(input)?;
    let sig = read_bytes(sig)?;
    match (key, public_key) {
        (Some(id), None) => with_stored_key(store, id, |hsm, s, h| hsm.verify(s, h, &msg, &sig))?,
        (None, Some(path)) => match read_public_key(path)? {
            PublicKey::Rsa(k) => k.verify_pss(&msg, &sig)?,
            PublicKey::P256(k) => k.verify_der(&msg, &sig)?,
            _ => return Err(Fail::usage("unsupported public key type")),
        },
        _ => return Err(Fail::usage("give exactly one of --key <id> or --public-key <file>")),
    }
    result("signature OK", &json!({"valid": true}))
}

/// The webhook signature header: `t=<unix seconds>,v1=<hex HMAC-SHA-256 of "t.body">`.
pub fn hmac_sign(store: &mut Store, key_id: &str, body: &Path, timestamp: Option<u64>) -> Result<()> {
    let body = read_bytes(body)?;
    let t = timestamp.unwrap_or_else(crate::keys::now);
    let msg = coffer_core::mac::WebhookMessage::new(t, &body);
    let (s, h) = store.user_key(key_id)?;
    let tag = store.hsm.hmac_sign(s, h, &msg.parts())?;
    let header = format!("t={t},v1={}", hex::encode(tag));
    result(&header, &json!({"signature": header, "timestamp": t}))
}

/// Checks a webhook signature header against the body, within `tolerance`
/// seconds of now (replays outside the window are refused); the MAC is
/// compared in constant time inside the keystore.
pub fn hmac_verify(store: &mut Store, key_id: &str, body: &Path, header: &str, tolerance: u64) -> Result<()> {
    let body = read_bytes(body)?;
    let bad =
        || Fail::usage(format!("bad signature header `{header}`")).hint("expected t=<seconds>,v1=<hex>");
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.parse::<u64>().map_err(|_| bad())?),
            Some(("v1", v)) => v1 = Some(hex::decode(v).map_err(|_| bad())?),
            _ => {}
        }
    }
    let (t, tag) = (t.ok_or_else(bad)?, v1.ok_or_else(bad)?);
    let msg = coffer_core::mac::WebhookMessage::new(t, &body);
    if msg.check_fresh(crate::keys::now(), tolerance).is_err() {
        return Err(Fail::new(exit::REFUSED, format!("timestamp {t} is outside the {tolerance} s window"))
            .hint("a replayed or delayed webhook: refuse it"));
    }
    let (s, h) = store.user_key(key_id)?;
    store.hsm.hmac_verify(s, h, &msg.parts(), &tag)?;
    result(&format!("webhook signature OK (t={t})"), &json!({"valid": true, "timestamp": t}))
}
