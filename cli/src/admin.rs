//! The security officer's and every credential holder's administration:
//! `coffer tenant create|list|shred`, `coffer user create|list|remove`,
//! `coffer pin change|unblock`, `coffer passphrase change`.

use std::path::Path;

use coffer_core::rng::OsRng;
use coffer_hsm::Role;
use coffer_hsm::keystore::KeySource;
use serde_json::json;

use crate::audit_cmd::{record_json, record_line};
use crate::fail::{Fail, Result};
use crate::report::{print_line, result};
use crate::secret_input;
use crate::store::Store;
use crate::time::iso8601;

pub fn tenant_create(store: &mut Store, name: &str) -> Result<()> {
    check_name(name, "tenant")?;
    let so = store.security_officer()?;
    store.hsm.create_tenant(&mut OsRng, so, name)?;
    result(&format!("tenant {name} created"), &json!({"tenant": name, "created": true}))
}

pub fn tenant_list(store: &mut Store, json_out: bool) -> Result<()> {
    let so = store.security_officer()?;
    let tenants = store.hsm.tenants(so)?;
    if json_out {
        let v: Vec<_> =
            tenants.iter().map(|t| json!({"name": t.name, "created": iso8601(t.created)})).collect();
        print_line(&json!(v).to_string())
    } else {
        for t in &tenants {
            print_line(&format!("{:<24} created {}", t.name, iso8601(t.created)))?;
        }
        Ok(())
    }
}

pub fn tenant_shred(store: &mut Store, tenant: &str, json_out: bool) -> Result<()> {
    let so = store.security_officer()?;
    let evidence = store.hsm.shred_tenant(so, tenant)?;
    if json_out {
        let keys: Vec<_> = evidence.keys.iter().map(|(id, v)| json!({"key_id": id, "version": v})).collect();
        let audit: Vec<_> = evidence.audit.iter().map(record_json).collect();
        print_line(&json!({"tenant": evidence.tenant, "destroyed": keys, "audit": audit}).to_string())
    } else {
        print_line(&format!(
            "tenant {} shredded: {} key(s) destroyed",
            evidence.tenant,
            evidence.keys.len()
        ))?;
        for (id, v) in &evidence.keys {
            let versions = if *v == 1 { "version 1".to_string() } else { format!("versions 1 to {v}") };
            print_line(&format!("  destroyed {id} ({versions})"))?;
        }
        for r in &evidence.audit {
            print_line(&format!("  audit {}", record_line(r)))?;
        }
        print_line("every envelope sealed only to these keys can no longer be opened")
    }
}

/// `coffer user create NAME (--tenants a,b | --auditor)`: the new PIN from
/// `COFFER_NEW_PIN` or a prompt (twice).
pub fn user_create(store: &mut Store, name: &str, tenants: &[String], auditor: bool) -> Result<()> {
    check_name(name, "user")?;
    let role = if auditor { Role::Auditor } else { Role::User };
    if !auditor && tenants.is_empty() {
        return Err(Fail::usage(format!("no tenant for {name}"))
            .hint("pass --tenants <a,b,...> (or --tenant <id>), or --auditor for an auditor"));
    }
    let pin = secret_input::read_new(&format!("new PIN of {name}"), None, "COFFER_NEW_PIN")?;
    let so = store.security_officer()?;
    let names: Vec<&str> = tenants.iter().map(String::as_str).collect();
    store.hsm.create_user(&mut OsRng, so, name, role, &names, &pin).map_err(|e| match e {
        coffer_hsm::Error::NotFound => Fail::from(e)
            .context(format!("a tenant of {} does not exist", tenants.join(",")))
            .hint("create it first: `coffer tenant create <id>`"),
        other => other.into(),
    })?;
    let text = match role {
        Role::Auditor => format!("auditor {name} created"),
        _ => format!("user {name} created for tenant(s) {}", tenants.join(",")),
    };
    result(&text, &json!({"user": name, "role": role.name(), "tenants": tenants, "created": true}))
}

pub fn user_list(store: &mut Store, json_out: bool) -> Result<()> {
    let so = store.security_officer()?;
    let users = store.hsm.users(so)?;
    if json_out {
        let v: Vec<_> = users
            .iter()
            .map(|u| {
                json!({
                    "name": u.name, "role": u.role.name(), "tenants": u.tenants,
                    "failures": u.failures, "locked": u.locked, "created": iso8601(u.created),
                })
            })
            .collect();
        return print_line(&json!(v).to_string());
    }
    for u in &users {
        let state = if u.locked { "LOCKED".to_string() } else { format!("{} failed PIN(s)", u.failures) };
        let tenants = if u.tenants.is_empty() { "-".to_string() } else { u.tenants.join(",") };
        print_line(&format!("{:<20} {:<8} {:<30} {}", u.name, u.role.name(), tenants, state))?;
    }
    Ok(())
}

pub fn user_remove(store: &mut Store, name: &str) -> Result<()> {
    let so = store.security_officer()?;
    store.hsm.remove_user(so, name)?;
    result(&format!("user {name} removed"), &json!({"user": name, "removed": true}))
}

/// `coffer pin change [--so]`: the current PIN as for a login
/// (`COFFER_SO_PIN` with `--so`, else `COFFER_PIN` for the `--user`
/// credential, user or auditor), the new one from `COFFER_NEW_PIN` or a
/// prompt (twice).
pub fn pin_change(store: &mut Store, so: bool) -> Result<()> {
    let (who, env) = if so {
        ("the security officer".to_string(), "COFFER_SO_PIN")
    } else {
        (store.user_name()?, "COFFER_PIN")
    };
    let old = secret_input::read(&format!("current PIN of {who}"), None, env)?;
    let new = secret_input::read_new(&format!("new PIN of {who}"), None, "COFFER_NEW_PIN")?;
    let session =
        if so { store.hsm.login_so(crate::store::SLOT, &old)? } else { store.login_as(&who, &old)? };
    store.hsm.change_pin(&mut OsRng, session, &old, &new)?;
    result(&format!("PIN of {who} changed"), &json!({"pin_changed": who}))
}

/// `coffer pin unblock NAME`: a new PIN (COFFER_NEW_PIN or a prompt) and a
/// cleared failure count, by the security officer.
pub fn pin_unblock(store: &mut Store, name: &str) -> Result<()> {
    let new = secret_input::read_new(&format!("new PIN of {name}"), None, "COFFER_NEW_PIN")?;
    let so = store.security_officer()?;
    store.hsm.unblock_user(&mut OsRng, so, name, &new)?;
    result(
        &format!("{name} unblocked with a new PIN; they should change it with `coffer pin change`"),
        &json!({"user": name, "unblocked": true}),
    )
}

/// `coffer passphrase change`: re-keys the store under a new passphrase
/// (`--new-passphrase-file`, `COFFER_NEW_PASSPHRASE` or a prompt, twice) or
/// under a KEK in a PKCS#11 HSM (`--new-master-kek`).
pub fn passphrase_change(store: &mut Store, new_file: Option<&Path>, new_kek: Option<&str>) -> Result<()> {
    if let Some(uri) = new_kek {
        let kek = crate::store::master_kek(uri)?;
        let so = store.security_officer()?;
        store.hsm.change_passphrase(&mut OsRng, so, &KeySource::Held(&kek))?;
        return result(
            "keystore re-keyed under the KEK in the HSM; open it with --master-kek from now on",
            &json!({"passphrase_changed": true, "master_kek": true}),
        );
    }
    let new = secret_input::read_new("new keystore passphrase", new_file, "COFFER_NEW_PASSPHRASE")?;
    let so = store.security_officer()?;
    store.hsm.change_passphrase(&mut OsRng, so, &KeySource::Passphrase(&new))?;
    result(
        "keystore re-keyed under the new passphrase; the old one opens nothing",
        &json!({"passphrase_changed": true, "master_kek": false}),
    )
}

fn check_name(name: &str, what: &str) -> Result<()> {
    if coffer_hsm::is_valid_name(name) {
        Ok(())
    } else {
        Err(Fail::usage(format!("bad {what} name `{name}`"))
            .hint("use 1 to 64 ASCII letters, digits and . _ - @, not starting with -"))
    }
}
