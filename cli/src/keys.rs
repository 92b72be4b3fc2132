//! `coffer key ...`.

use coffer_core::rng::OsRng;
use coffer_hsm::{Handle, KeyAttributes, KeyInfo, KeyType, SessionId, Usage};
use serde_json::json;

use crate::fail::{Fail, Result};
use crate::report::{print_line, result};
use crate::store::Store;
use crate::time::iso8601;

/// Parses a key type name.
pub fn key_type(name: &str) -> Result<KeyType> {
    KeyType::from_name(name).ok_or_else(|| {
        Fail::usage(format!("unknown key type `{name}`"))
            .hint("use aes256, hmac, p256, rsa2048, rsa3072 or rsa4096")
    })
}

/// Parses `encrypt,decrypt,...`; `None` gives the type's natural usage.
pub fn usage(list: Option<&str>, t: KeyType) -> Result<Usage> {
    let Some(list) = list else {
        return Ok(t.default_usage());
    };
    let mut u = Usage::NONE;
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let flag = Usage::from_name(name).ok_or_else(|| {
            Fail::usage(format!("unknown usage `{name}`"))
                .hint("use a comma-separated list of encrypt, decrypt, wrap, unwrap, sign, verify, derive")
        })?;
        u = u | flag;
    }
    Ok(u)
}

fn usage_names(u: Usage) -> Vec<&'static str> {
    u.names().collect()
}

fn info_json(k: &KeyInfo) -> serde_json::Value {
    json!({
        "handle": k.handle.get(),
        "key_id": k.attributes.key_id,
        "tenant": k.attributes.tenant,
        "label": k.attributes.label,
        "type": k.key_type.name(),
        "usage": usage_names(k.attributes.usage),
        "extractable": k.attributes.extractable,
        "sensitive": k.sensitive,
        "state": k.state.name(),
        "version": k.version,
        "expires_at": k.expires_at.map(iso8601),
    })
}

fn info_line(k: &KeyInfo) -> String {
    format!(
        "{:<24} {:<11} {:<12} v{:<3} {:<28} {}",
        k.attributes.key_id,
        k.key_type.name(),
        k.state.name(),
        k.version,
        usage_names(k.attributes.usage).join(","),
        k.expires_at.map(|t| format!("expires {}", iso8601(t))).unwrap_or_default()
    )
}

/// Parses an expiry: an ISO 8601 UTC date or time, seconds since the
/// epoch, or `+N` followed by `d`, `h`, `m` or `s`.
pub fn expiry(text: &str, now: u64) -> Result<u64> {
    let bad = || {
        Fail::usage(format!("bad expiry `{text}`"))
            .hint("use 2027-01-31, 2027-01-31T12:00:00Z, seconds since the epoch, or +30d, +12h, +15m")
    };
    if let Some(rel) = text.strip_prefix('+') {
        let (num, unit) = rel.split_at(rel.len().saturating_sub(1));
        let n: u64 = num.parse().map_err(|_| bad())?;
        let mult = match unit {
            "d" => 86_400,
            "h" => 3_600,
            "m" => 60,
            "s" => 1,
            _ => return Err(bad()),
        };
        n.checked_mul(mult).and_then(|d| now.checked_add(d)).ok_or_else(bad)
    } else {
        crate::time::parse(text).ok_or_else(bad)
    }
}

pub fn find(store: &mut Store, s: SessionId, key_id: &str) -> Result<Handle> {
    Ok(store.hsm.find(s, key_id)?)
}

pub struct Create<'a> {
    pub key_id: &'a str,
    pub key_type: &'a str,
    pub usage: Option<&'a str>,
    pub label: Option<&'a str>,
    pub extractable: bool,
    pub expires: Option<&'a str>,
}

pub fn create(store: &mut Store, c: &Create<'_>) -> Result<()> {
    let t = key_type(c.key_type)?;
    let usage = usage(c.usage, t)?;
    let s = store.user()?;
    let attrs = KeyAttributes {
        label: c.label.unwrap_or(c.key_id).to_string(),
        tenant: store.tenant_of(s)?,
        key_id: c.key_id.to_string(),
        usage,
        extractable: c.extractable,
        active: true,
    };
    let h = store.hsm.generate(&mut OsRng, s, t, attrs)?;
    if let Some(e) = c.expires {
        store.hsm.set_expiry(s, h, Some(expiry(e, now())?))?;
    }
    let k = store.hsm.info(s, h)?;
    result(&info_line(&k), &info_json(&k))
}

pub fn list(store: &mut Store, json_out: bool) -> Result<()> {
    let s = store.user()?;
    let keys = store.hsm.list(s)?;
    if json_out {
        print_line(&serde_json::Value::Array(keys.iter().map(info_json).collect()).to_string())
    } else {
        keys.iter().try_for_each(|k| print_line(&info_line(k)))
    }
}

pub fn show(store: &mut Store, key_id: &str) -> Result<()> {
    let s = store.user()?;
    let h = find(store, s, key_id)?;
    let k = store.hsm.info(s, h)?;
    let text = [
        format!("key id      {}", k.attributes.key_id),
        format!("tenant      {}", k.attributes.tenant),
        format!("label       {}", k.attributes.label),
        format!("type        {}", k.key_type.name()),
        format!("state       {}", k.state.name()),
        format!("version     {}", k.version),
        format!("usage       {}", usage_names(k.attributes.usage).join(", ")),
        format!("extractable {}", k.attributes.extractable),
        format!("expires     {}", k.expires_at.map_or("never".to_string(), iso8601)),
    ]
    .join("\n");
    result(&text, &info_json(&k))
}

pub fn rotate(store: &mut Store, key_id: &str) -> Result<()> {
    let s = store.user()?;
    let h = find(store, s, key_id)?;
    let v = store.hsm.rotate(&mut OsRng, s, h)?;
    result(
        &format!("{key_id}: now version {v} (older versions still decrypt, unwrap and verify)"),
        &json!({"key_id": key_id, "version": v}),
    )
}

pub fn destroy(store: &mut Store, key_id: &str) -> Result<()> {
    let s = store.user()?;
    let h = find(store, s, key_id)?;
    store.hsm.destroy(s, h)?;
    result(
        &format!("{key_id}: destroyed (every version); envelopes sealed only to it can no longer be opened"),
        &json!({"key_id": key_id, "destroyed": true}),
    )
}

pub fn expire(store: &mut Store, key_id: &str, at: Option<&str>) -> Result<()> {
    let s = store.user()?;
    let h = find(store, s, key_id)?;
    let at = at.map(|t| expiry(t, now())).transpose()?;
    store.hsm.set_expiry(s, h, at)?;
    result(
        &format!("{key_id}: expires {}", at.map_or("never".to_string(), iso8601)),
        &json!({"key_id": key_id, "expires_at": at.map(iso8601)}),
    )
}

pub fn sweep(store: &mut Store) -> Result<()> {
    let s = store.user()?;
    let due = store.hsm.sweep_expired(s)?;
    let ids = due.iter().map(|h| Ok(store.hsm.info(s, *h)?.attributes.key_id)).collect::<Result<Vec<_>>>()?;
    let mut text: Vec<String> = ids.iter().map(|id| format!("deactivated {id}")).collect();
    text.push(format!("{} expired key(s) deactivated", ids.len()));
    result(&text.join("\n"), &json!({"deactivated": ids}))
}

pub fn export_public(store: &mut Store, key_id: &str) -> Result<String> {
    let s = store.user()?;
    let h = find(store, s, key_id)?;
    let der = store.hsm.public_key_der(s, h)?;
    let pk = coffer_core::cert::PublicKey::from_spki_der(&der)?;
    Ok(pk.to_spki_pem()?)
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
