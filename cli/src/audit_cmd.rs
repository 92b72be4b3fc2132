//! `coffer audit show|verify` (an auditor credential): records printed one
//! per line as text or as JSON with structured fields, filtered by tenant,
//! user, key and time.

use coffer_hsm::audit::{AuditEvent, AuditRecord};
use serde_json::{Value, json};

use crate::fail::{Fail, Result};
use crate::store::Store;
use crate::time;

/// Which records `audit show` prints (all given filters must match).
#[derive(Default)]
pub struct Filter {
    pub tenant: Option<String>,
    pub user: Option<String>,
    pub key: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

/// The filter with its times parsed.
struct Parsed<'a> {
    f: &'a Filter,
    since: Option<u64>,
    until: Option<u64>,
}

fn parse_time(text: Option<&str>, what: &str) -> Result<Option<u64>> {
    text.map(|t| {
        time::parse(t).ok_or_else(|| {
            Fail::usage(format!("bad {what} time `{t}`"))
                .hint("use 2026-11-25, 2026-11-25T18:00:00Z (UTC) or seconds since the Unix epoch")
        })
    })
    .transpose()
}

impl Parsed<'_> {
    fn matches(&self, r: &AuditRecord) -> bool {
        let e = &r.event;
        self.since.is_none_or(|t| r.time >= t)
            && self.until.is_none_or(|t| r.time <= t)
            && self.f.user.as_deref().is_none_or(|u| e.actor().is_some_and(|w| w.user == u))
            && self.f.key.as_deref().is_none_or(|k| e.key().is_some_and(|key| key.key_id == k))
            && self.f.tenant.as_deref().is_none_or(|t| tenants_of(e).any(|x| x == t))
    }
}

/// The operation and refusal reason an event names, if any.
fn operation_and_reason(e: &AuditEvent) -> (Option<&'static str>, Option<&'static str>) {
    match e {
        AuditEvent::KeyUsed { operation, .. } | AuditEvent::PolicyDenied { operation, .. } => {
            (Some(operation.name()), None)
        }
        AuditEvent::Refused { attempted, reason, .. } => (Some(attempted.name()), Some(reason.name())),
        _ => (None, None),
    }
}

/// Every tenant the event is about (its own, its key's, those it lists).
fn tenants_of(e: &AuditEvent) -> impl Iterator<Item = &str> {
    let listed: &[String] = match e {
        AuditEvent::UserCreated { tenants, .. } => tenants,
        _ => &[],
    };
    e.tenant().into_iter().chain(e.key().map(|k| k.tenant.as_str())).chain(listed.iter().map(String::as_str))
}

/// One record as JSON: `seq`, `time` (ISO 8601 UTC), `unix_time`, `event`
/// (a kebab-case kind), `text` (the line `audit show` prints), the
/// structured fields the event has (`user`, `role`, `tenant`, `tenants`,
/// `key`, `operation`, `reason`) and the record's `mac` in hex.
pub fn record_json(r: &AuditRecord) -> Value {
    let e = &r.event;
    let mut v = json!({
        "seq": r.seq,
        "time": time::iso8601(r.time),
        "unix_time": r.time,
        "event": e.kind(),
        "text": event_text(e),
        "mac": hex::encode(r.mac),
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(w) = e.actor() {
            obj.insert("user".into(), json!(w.user));
            obj.insert("role".into(), json!(w.role.name()));
        }
        if let Some(t) = e.tenant() {
            obj.insert("tenant".into(), json!(t));
        }
        if let AuditEvent::UserCreated { tenants, .. } = e {
            obj.insert("tenants".into(), json!(tenants));
        }
        if let AuditEvent::CertificateSigned { serial, subject, names, not_before, not_after, .. } = e {
            obj.insert("serial".into(), json!(hex::encode(serial)));
            obj.insert("subject".into(), json!(subject));
            obj.insert("names".into(), json!(names));
            if *not_after != 0 {
                obj.insert("not_before".into(), json!(time::iso8601(*not_before)));
                obj.insert("not_after".into(), json!(time::iso8601(*not_after)));
            }
        }
        if let Some(k) = e.key() {
            obj.insert(
                "key".into(),
                json!({"tenant": k.tenant, "key_id": k.key_id, "version": k.version, "handle": k.handle}),
            );
        }
        let (operation, reason) = operation_and_reason(e);
        if let Some(o) = operation {
            obj.insert("operation".into(), json!(o));
        }
        if let Some(reason) = reason {
            obj.insert("reason".into(), json!(reason));
        }
    }
    v
}

/// One record as a line of text: sequence number, UTC time, what happened
/// (times inside the event in ISO 8601 too).
pub fn record_line(r: &AuditRecord) -> String {
    format!("#{:<6} {}  {}", r.seq, time::iso8601(r.time), event_text(&r.event))
}

/// The event's text, with the times it carries as ISO 8601 UTC.
fn event_text(e: &AuditEvent) -> String {
    match e {
        AuditEvent::KeyExpirySet { key, expires_at } if *expires_at != 0 => {
            format!("key expiry set to {}: {key}", time::iso8601(*expires_at))
        }
        AuditEvent::CertificateSigned {
            key,
            object: coffer_hsm::audit::SignedObject::RevocationList,
            subject,
            names,
            not_before,
            not_after,
            ..
        } => format!(
            "revocation list signed for {subject}: {} revoked, valid {} to {}, by {key}",
            names.len(),
            time::iso8601(*not_before),
            time::iso8601(*not_after)
        ),
        AuditEvent::CertificateSigned { key, serial, subject, names, not_before, not_after, .. }
            if *not_after != 0 =>
        {
            let names = if names.is_empty() { String::new() } else { format!(" [{}]", names.join(", ")) };
            format!(
                "certificate issued: serial {}, subject {subject}{names}, valid {} to {}, by {key}",
                hex::encode(serial),
                time::iso8601(*not_before),
                time::iso8601(*not_after)
            )
        }
        other => other.to_string(),
    }
}

pub fn show(store: &mut Store, filter: &Filter, json_out: bool) -> Result<()> {
    let parsed = Parsed {
        f: filter,
        since: parse_time(filter.since.as_deref(), "--since")?,
        until: parse_time(filter.until.as_deref(), "--until")?,
    };
    let a = store.auditor()?;
    let records = store.hsm.audit_records(a)?;
    let shown = records.iter().filter(|r| parsed.matches(r));
    if json_out {
        let v: Vec<Value> = shown.map(record_json).collect();
        crate::report::print_line(&Value::Array(v).to_string())?;
    } else {
        for r in shown {
            crate::report::print_line(&record_line(r))?;
        }
    }
    Ok(())
}

/// `coffer audit verify [--expect-head N:MAC]`: the chain, every
/// credential against it (KEYSTORE.md §13.4), and optionally a head kept
/// from an earlier run: record N − 1 must still carry MAC, which a rewritten
/// chain would not. Prints the head to keep for next time.
pub fn verify(store: &mut Store, expect_head: Option<&str>) -> Result<()> {
    let expected = expect_head.map(parse_head).transpose()?;
    let a = store.auditor()?;
    let verified = store.hsm.audit_verify(a);
    let (count, mac) = store.hsm.audit_head(a)?;
    verified?;
    if let Some((n, want)) = expected {
        let seq = n.checked_sub(1).ok_or_else(|| Fail::usage("--expect-head counts records from 1"))?;
        let held = store.hsm.audit_records(a)?;
        let first = held.first().map_or(count, |r| r.seq);
        let found = held.iter().find(|r| r.seq == seq);
        match found {
            Some(r) if r.mac == want => {}
            Some(_) => {
                return Err(Fail::new(
                    crate::fail::exit::REFUSED,
                    format!("audit log rewritten: record {seq} no longer has the MAC of the kept head"),
                ));
            }
            None if seq < first => {
                return Err(Fail::new(
                    crate::fail::exit::REFUSED,
                    format!(
                        "record {seq} of the kept head is archived: check it against the archived segment"
                    ),
                ));
            }
            None => {
                return Err(Fail::new(
                    crate::fail::exit::REFUSED,
                    format!(
                        "audit log shortened: record {seq} of the kept head is gone ({count} records now)"
                    ),
                ));
            }
        }
    }
    let head = format!("{count}:{}", hex::encode(mac));
    crate::report::result(
        &format!(
            "audit log OK: {count} records, HMAC chain intact, every credential agrees with it\n\
             head {head} (keep it; check later with --expect-head)"
        ),
        &serde_json::json!({"ok": true, "records": count, "head": head}),
    )
}

/// `N:MAC` as printed by `audit verify`.
fn parse_head(text: &str) -> Result<(u64, [u8; 32])> {
    let bad = || {
        Fail::usage(format!("bad head `{text}`"))
            .hint("pass it as `audit verify` printed it: <count>:<64 hex digits>")
    };
    let (n, mac) = text.split_once(':').ok_or_else(bad)?;
    let n: u64 = n.parse().map_err(|_| bad())?;
    let bytes = hex::decode(mac).map_err(|_| bad())?;
    Ok((n, bytes.try_into().map_err(|_| bad())?))
}
