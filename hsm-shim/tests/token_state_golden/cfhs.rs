//! §3.1 `CFHS` goldens: every recorded fact holds.

use super::*;

/// The key's attributes as `info` reports them, against the facts.
fn assert_info(info: &KeyInfo, key: &Value) {
    let id = text(&key["key_id"]);
    assert_eq!(info.handle, handle(key), "{id}");
    assert_eq!(info.key_type, key_type(text(&key["type"])), "{id}");
    assert_eq!(info.attributes.label, text(&key["label"]), "{id}");
    assert_eq!(info.attributes.tenant, text(&key["tenant"]), "{id}");
    assert_eq!(info.attributes.key_id, id);
    assert_eq!(info.attributes.usage, usage(num(&key["usage"])), "{id}");
    assert_eq!(info.attributes.extractable, key["extractable"].as_bool().unwrap(), "{id}");
    assert_eq!(info.attributes.active, key["created_active"].as_bool().unwrap(), "{id}");
    assert_eq!(info.state, key_state(text(&key["state"])), "{id}");
    assert_eq!(u64::from(info.version), num(&key["latest_version"]), "{id}");
    let expires_at = num(&key["expires_at"]);
    assert_eq!(info.expires_at, (expires_at != 0).then_some(expires_at), "{id}");
}

/// What the key's material predicts, through the operations its type,
/// usage and state allow; refusals where they forbid.
pub(crate) fn assert_key_works(hsm: &mut Hsm, s: SessionId, key: &Value) {
    let id = text(&key["key_id"]);
    let h = handle(key);
    let state = key_state(text(&key["state"]));
    match key_type(text(&key["type"])) {
        KeyType::Aes256 => {
            let wrapped = match (state, expired(key)) {
                (KeyState::Destroyed, _) | (KeyState::Deactivated, _) => Err(Error::KeyState),
                (_, true) => Err(Error::KeyExpired),
                _ => Ok(()),
            };
            match wrapped {
                Ok(()) => {
                    assert_eq!(
                        hsm.wrap_key_kw(s, h, &wrap_input()).unwrap(),
                        hex(&key["kw_of_wrap_input"]),
                        "{id}"
                    );
                    assert_eq!(
                        hsm.wrap_key(s, h, &wrap_input()).unwrap(),
                        hex(&key["kwp_of_wrap_input"]),
                        "{id}"
                    );
                }
                Err(e) => assert_eq!(hsm.wrap_key(s, h, &wrap_input()).unwrap_err(), e, "{id}"),
            }
            if state != KeyState::Destroyed {
                for (version, wrapped) in key["kwp_of_wrap_input_by_version"].as_object().unwrap() {
                    let unwrapped = hsm.unwrap_key(s, h, &hex(wrapped)).unwrap();
                    assert_eq!(&unwrapped[..], &wrap_input()[..], "{id} version {version}");
                }
            }
        }
        KeyType::HmacSha256 => match state {
            KeyState::Active => {
                let tag = hsm.hmac_sign(s, h, &[&mac_message()]).unwrap();
                assert_eq!(tag.to_vec(), hex(&key["hmac_of_mac_message"]), "{id}");
            }
            _ => assert_eq!(hsm.hmac_sign(s, h, &[&mac_message()]).unwrap_err(), Error::KeyState, "{id}"),
        },
        KeyType::P256 | KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
            assert_eq!(hsm.public_key_der(s, h).unwrap(), hex(&key["spki"]), "{id}");
            let sig = hsm.sign(&mut OsRng, s, h, b"signed by a golden key").unwrap();
            hsm.verify(s, h, b"signed by a golden key", &sig).unwrap();
        }
        KeyType::Certificate => {
            assert_eq!(hsm.certificate_der(s, h).unwrap(), hex(&key["certificate"]), "{id}");
            assert_eq!(hsm.public_key_der(s, h).unwrap(), hex(&key["spki"]), "{id}");
        }
        other => panic!("{id}: unexpected key type {other:?}"),
    }
}

/// Logs in every role of `slot` with its golden PIN and checks every fact
/// of the token.
fn assert_token(hsm: &mut Hsm, slot: usize, token: &Value, max_failures: u64) {
    assert_eq!(hsm.token_label(slot).unwrap(), text(&token["label"]));

    let so = &token["so_pin"];
    if locked(so, max_failures) {
        assert_eq!(hsm.login_so(slot, pin_of(so)).unwrap_err(), Error::PinLocked, "slot {slot}: locked SO");
    } else {
        assert_eq!(hsm.login_so(slot, b"not the so pin").unwrap_err(), Error::PinIncorrect, "slot {slot}");
        let s = hsm.login_so(slot, pin_of(so)).unwrap();
        hsm.logout(s).unwrap();
    }

    let auditor = &token["auditor_pin"];
    if !auditor.is_null() {
        assert!(!locked(auditor, max_failures), "no golden auditor is locked");
        let a = hsm.login(slot, V1_AUDITOR, pin_of(auditor), None).unwrap();
        hsm.audit_verify(a).unwrap();
        let expected = token["audit_records"].as_array().unwrap();
        let records = hsm.audit_records(a).unwrap();
        assert!(records.len() >= expected.len(), "slot {slot}: the golden records are all there");
        for (record, fact) in records.iter().zip(expected) {
            assert_eq!(record.seq, num(&fact["seq"]), "slot {slot}");
            assert_eq!(record.time, num(&fact["time"]), "slot {slot} seq {}", record.seq);
            assert_eq!(record.mac.to_vec(), hex(&fact["mac"]), "slot {slot} seq {}", record.seq);
        }
        // Re-encoded by coffer, the golden records are the golden log byte for byte.
        let anchor = AuditAnchor {
            seq: num(&token["audit_first_seq"]),
            prev_mac: hex(&token["audit_prev_mac"]).try_into().unwrap(),
        };
        let segment = AuditSegment { anchor, records: records[..expected.len()].to_vec() };
        assert_eq!(to_hex(&segment.encode()), text(&token["audit_log"]), "slot {slot}: audit log");
        if let Some(archived) = token.get("archived_segment") {
            let archived = AuditSegment::decode(&hex(archived)).unwrap();
            assert_eq!(archived.end(), anchor, "slot {slot}: the archive ends where the log starts");
            hsm.audit_verify_archive(a, &[archived]).unwrap();
        }
        hsm.logout(a).unwrap();
    }

    let user = &token["user_pin"];
    if user.is_null() {
        return;
    }
    assert!(!locked(user, max_failures), "no golden user is locked");
    let keys = token["keys"].as_array().unwrap();
    for tenant in tenants(token) {
        let s = hsm.login(slot, V1_USER, pin_of(user), Some(&tenant)).unwrap();
        let mine: Vec<&Value> = keys.iter().filter(|k| text(&k["tenant"]) == tenant).collect();
        let listed: Vec<Handle> = hsm.list(s).unwrap().iter().map(|i| i.handle).collect();
        let mut expected: Vec<&Value> = mine.clone();
        expected.sort_by_key(|k| text(&k["key_id"]).to_owned());
        assert_eq!(
            listed,
            expected.iter().map(|k| handle(k)).collect::<Vec<_>>(),
            "slot {slot} tenant {tenant}"
        );
        for key in mine {
            assert_eq!(hsm.find(s, text(&key["key_id"])).unwrap(), handle(key), "{}", key["key_id"]);
            assert_info(&hsm.info(s, handle(key)).unwrap(), key);
            assert_key_works(hsm, s, key);
        }
        for other in keys.iter().filter(|k| text(&k["tenant"]) != tenant) {
            assert_eq!(
                hsm.info(s, handle(other)).unwrap_err(),
                Error::TenantNotAllowed,
                "{}",
                other["key_id"]
            );
        }
        hsm.logout(s).unwrap();
    }
}

fn assert_cfhs_golden(name: &str) -> Hsm {
    let f = file_facts(name);
    let mut hsm = load_hsm(&golden(name)).unwrap();
    let config = hsm.config();
    assert_eq!(u64::from(config.max_pin_failures), num(&f["max_pin_failures"]), "{name}");
    assert_eq!(u64::from(config.pin_iterations), num(&f["pin_iterations"]), "{name}");
    assert_eq!(config.allow_plain_import, f["allow_plain_import"].as_bool().unwrap(), "{name}");
    assert_eq!(u64::from(config.audit_max_records), num(&f["audit_max_records"]), "{name}");
    assert_eq!(u64::from(config.audit_reserve), num(&f["audit_reserve"]), "{name}");
    for (slot, token) in f["slots"].as_array().unwrap().iter().enumerate() {
        if token.is_null() {
            assert_eq!(hsm.token_label(slot).unwrap_err(), Error::TokenState, "{name}: slot {slot} is empty");
        } else {
            assert_token(&mut hsm, slot, token, num(&f["max_pin_failures"]));
        }
    }
    let slots = f["slots"].as_array().unwrap().len();
    assert_eq!(hsm.token_label(slots).unwrap_err(), Error::InvalidInput, "{name}: no slot past the last");
    hsm
}

#[test]
fn cfhs_v3_golden_loads_with_every_recorded_fact() {
    let mut hsm = assert_cfhs_golden("cfhs_v3.cfks");
    // Spelled out, beyond the facts sweep: what the writer meant.
    assert_eq!(hsm.token_label(0).unwrap(), "ledger-v3");
    assert_eq!(hsm.token_label(2).unwrap(), "archive-v3");
    assert_eq!(hsm.login_so(2, b"so-pin-archive").unwrap_err(), Error::PinLocked);
    let s = hsm.login(0, V1_USER, b"user-pin-v3", Some("acme")).unwrap();
    let kek = hsm.find(s, "kek").unwrap();
    assert_eq!(kek, Handle::from_raw(1));
    // Usage WRAP | UNWRAP only: no envelope.
    let ctx = EncryptionContext::new();
    assert_eq!(hsm.seal_envelope(&mut OsRng, s, kek, &ctx, b"x").unwrap_err(), Error::PolicyDenied);
    let mac = hsm.find(s, "mac").unwrap();
    assert_eq!(hsm.info(s, mac).unwrap().expires_at, Some(1_900_000_000));
}

#[test]
fn cfhs_v2_golden_loads_with_every_recorded_fact() {
    let hsm = assert_cfhs_golden("cfhs_v2.cfks");
    assert!(!hsm.config().allow_plain_import);
}

#[test]
fn cfhs_v1_golden_loads_with_every_recorded_fact_and_the_default_audit_limits() {
    let hsm = assert_cfhs_golden("cfhs_v1.cfks");
    // Version 01 has no audit limits: the defaults of §3.1.
    assert_eq!((hsm.config().audit_max_records, hsm.config().audit_reserve), (1_000_000, 64));
}
