//! Every named field of every state, changed once, gives the documented outcome.

use super::*;
use crate::cfhs::assert_key_works;

/// One change to one region of a state.
#[derive(Clone, Debug)]
enum Change {
    /// XOR the byte at this offset of the region.
    Xor(usize, u8),
    /// Set the byte at this offset of the region.
    Set(usize, u8),
    /// Replace the whole region (same length).
    Field(Vec<u8>),
    /// Append one byte to the state.
    Append,
}

/// What the changed state must do.
#[derive(Clone, Debug)]
enum Expect {
    /// Loading fails with exactly this error.
    Refused(Error),
    /// It loads; logging in `role` of `slot` with its golden PIN gives this.
    Login { slot: usize, role: Role, outcome: Result<(), Error> },
    /// It loads; the key's `info` shows this expiry.
    ExpiresAt { slot: usize, key: usize, value: u64 },
    /// It loads; the key's `info` shows this latest version.
    LatestVersion { slot: usize, key: usize, value: u32 },
    /// It loads; the key's version `version` no longer gives what the facts predict.
    MaterialChanged { slot: usize, key: usize, version: usize },
    /// It loads and every key still gives what the facts predict.
    Unchanged { slot: usize },
    /// It loads; nothing observable depends on the field (the rule says why).
    Loads,
}

/// A region's name split into its indices and its kind:
/// `slot[0].key[3].version[1].material` -> kind `slot.key.version.material`.
#[derive(Default, Debug)]
struct RegionPath {
    kind: String,
    slot: usize,
    key: usize,
    version: usize,
    record: usize,
}

fn parse_region(name: &str) -> RegionPath {
    let mut p = RegionPath::default();
    let mut kind = Vec::new();
    for part in name.split('.') {
        match part.split_once('[') {
            Some((base, rest)) => {
                let i: usize = rest.trim_end_matches(']').parse().unwrap();
                match base {
                    "slot" => p.slot = i,
                    "key" => p.key = i,
                    "version" => p.version = i,
                    "record" => p.record = i,
                    other => panic!("unknown indexed part {other} in {name}"),
                }
                kind.push(base);
            }
            None => kind.push(part),
        }
    }
    p.kind = kind.join(".");
    p
}

/// The change and the expected outcome for one region of a §3.1 state.
fn cfhs_case(f: &Value, region: &str, len: usize) -> (Change, Expect) {
    use Change::*;
    use Expect::*;
    let p = parse_region(region);
    let max = num(&f["max_pin_failures"]);
    let token = &f["slots"][p.slot];
    let corrupt = Refused(Error::KeystoreCorrupt);
    let tampered = |index: usize| Refused(Error::AuditTampered { index });
    match p.kind.as_str() {
        "magic" => (Xor(0, 0x01), corrupt),
        "version" => (Set(0, 0x04), corrupt),
        "max_pin_failures" => (Set(0, 0), corrupt),
        "pin_iterations" => (Field(be(0, 4)), corrupt),
        "allow_plain_import" | "slot.present" => (Set(0, 2), corrupt),
        "audit_max_records" => (Field(be(1_000_001, 4)), corrupt),
        "audit_reserve" => (Field(be(1, 4)), corrupt),
        "slot_count" => (Set(0, 0), corrupt),
        "slot.label" | "slot.key.label" | "slot.key.tenant" | "slot.key.key_id" => (Set(0, 0), corrupt),
        "slot.so_pin.salt"
        | "slot.so_pin.iterations"
        | "slot.so_pin.hash"
        | "slot.user_pin.salt"
        | "slot.user_pin.iterations"
        | "slot.user_pin.hash"
        | "slot.auditor_pin.salt"
        | "slot.auditor_pin.iterations"
        | "slot.auditor_pin.hash" => {
            let role = role_of(&p.kind);
            let outcome = Err(wrong_pin_outcome(pin_facts(token, role), max));
            (Xor(len - 1, 0x01), Login { slot: p.slot, role, outcome })
        }
        "slot.so_pin.failures" | "slot.user_pin.failures" | "slot.auditor_pin.failures" => {
            let role = role_of(&p.kind);
            if locked(pin_facts(token, role), max) {
                (Set(0, 0), Login { slot: p.slot, role, outcome: Ok(()) })
            } else {
                (Set(0, max as u8), Login { slot: p.slot, role, outcome: Err(Error::PinLocked) })
            }
        }
        "slot.user_pin.present" | "slot.auditor_pin.present" => (Set(0, 2), corrupt),
        "slot.next_handle" => {
            if token["keys"].as_array().unwrap().is_empty() {
                // §3.1 bounds it only by the handles below it: with no keys any value loads.
                (Field(be(0, 8)), Loads)
            } else {
                (Field(be(1, 8)), corrupt)
            }
        }
        "slot.audit_key" => (Xor(0, 0x01), tampered(0)),
        "slot.audit_len" | "slot.audit.count" | "slot.key_count" => (Xor(len - 1, 0x01), corrupt),
        "slot.audit.magic" => (Xor(0, 0x01), corrupt),
        "slot.audit.version" => (Set(0, 0x03), corrupt),
        "slot.audit.first_seq" => (Xor(len - 1, 0x01), tampered(0)),
        "slot.audit.prev_mac" => (Xor(0, 0x01), tampered(0)),
        "slot.audit.record.time" => (Xor(len - 1, 0x01), tampered(p.record)),
        "slot.audit.record.mac" => (Xor(0, 0x01), tampered(p.record)),
        "slot.audit.record.event" => (Set(0, 0xff), corrupt),
        "slot.key.handle" => (Field(be(num(&token["next_handle"]), 8)), corrupt),
        "slot.key.type" => (Set(0, 0x08), corrupt),
        "slot.key.usage" => (Xor(0, 0x80), corrupt),
        // The flags byte (§3.1): bit 1 (imported) is a valid value since it
        // was added, so the corrupt value is an unknown bit, 2 of them.
        "slot.key.extractable" => (Set(0, 4), corrupt),
        "slot.key.created_active" => (Set(0, 2), corrupt),
        "slot.key.state" => (Set(0, 4), corrupt),
        "slot.key.expires_at" => (Field(be(1, 8)), ExpiresAt { slot: p.slot, key: p.key, value: 1 }),
        "slot.key.latest_version" => {
            let value = num(&token["keys"][p.key]["latest_version"]) as u32 ^ 0x10;
            (Xor(len - 1, 0x10), LatestVersion { slot: p.slot, key: p.key, value })
        }
        "slot.key.version_count" => (Field(be(1025, 2)), corrupt),
        "slot.key.version.number" => (Xor(len - 1, 0x10), Unchanged { slot: p.slot }),
        "slot.key.version.material_len" => (Field(be(0, 2)), corrupt),
        "slot.key.version.material" => {
            (Xor(len / 2, 0x01), MaterialChanged { slot: p.slot, key: p.key, version: p.version })
        }
        other => panic!("no rule for §3.1 region kind {other} ({region})"),
    }
}

fn apply(state: &[u8], offset: usize, len: usize, change: &Change) -> Vec<u8> {
    let mut s = state.to_vec();
    match change {
        Change::Xor(at, x) => s[offset + at] ^= x,
        Change::Set(at, v) => {
            assert_ne!(s[offset + at], *v, "a change that changes nothing");
            s[offset + at] = *v;
        }
        Change::Field(bytes) => {
            assert_eq!(bytes.len(), len);
            assert_ne!(&s[offset..offset + len], &bytes[..], "a change that changes nothing");
            s[offset..offset + len].copy_from_slice(bytes);
        }
        Change::Append => s.push(0),
    }
    s
}

/// A user session of `slot` in `tenant` (of a loaded golden HSM).
fn user_session(hsm: &mut Hsm, token: &Value, slot: usize, tenant: &str) -> SessionId {
    hsm.login(slot, V1_USER, pin_of(&token["user_pin"]), Some(tenant)).unwrap()
}

/// Runs one case against the `Hsm` loader; returns the failure, if any.
fn run_cfhs_case(f: &Value, sealed: &[u8], expect: &Expect) -> Result<(), String> {
    let loaded = load_hsm(sealed);
    let mut hsm = match (expect, loaded) {
        (Expect::Refused(e), Err(got)) if *e == got => return Ok(()),
        (Expect::Refused(e), got) => return Err(format!("expected {e:?} at load, got {:?}", got.err())),
        (_, Err(got)) => return Err(format!("expected it to load, got {got:?}")),
        (_, Ok(hsm)) => hsm,
    };
    match expect {
        Expect::Refused(_) => unreachable!(),
        Expect::Login { slot, role, outcome } => {
            let token = &f["slots"][*slot];
            let pin = pin_of(pin_facts(token, *role));
            let got = match role {
                Role::SecurityOfficer => hsm.login_so(*slot, pin).map(drop),
                Role::User => hsm.login(*slot, V1_USER, pin, Some(&tenants(token)[0])).map(drop),
                _ => hsm.login(*slot, V1_AUDITOR, pin, None).map(drop),
            };
            if got != *outcome {
                return Err(format!("login {role:?}: expected {outcome:?}, got {got:?}"));
            }
        }
        Expect::ExpiresAt { slot, key, value } => {
            let info = key_info(&mut hsm, f, *slot, *key)?;
            if info.expires_at != Some(*value) {
                return Err(format!("expires_at: expected {value}, got {:?}", info.expires_at));
            }
        }
        Expect::LatestVersion { slot, key, value } => {
            let info = key_info(&mut hsm, f, *slot, *key)?;
            if info.version != *value {
                return Err(format!("version: expected {value}, got {}", info.version));
            }
        }
        Expect::MaterialChanged { slot, key, version } => {
            let token = &f["slots"][*slot];
            let k = &token["keys"][*key];
            let s = user_session(&mut hsm, token, *slot, text(&k["tenant"]));
            material_changed(&mut hsm, s, k, *version)?;
        }
        Expect::Unchanged { slot } => {
            let token = &f["slots"][*slot];
            for tenant in tenants(token) {
                let s = user_session(&mut hsm, token, *slot, &tenant);
                for k in token["keys"].as_array().unwrap().iter().filter(|k| text(&k["tenant"]) == tenant) {
                    let works = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        assert_key_works(&mut hsm, s, k);
                    }));
                    if works.is_err() {
                        return Err(format!("key {} no longer gives what its facts predict", k["key_id"]));
                    }
                }
                hsm.logout(s).unwrap();
            }
        }
        Expect::Loads => {}
    }
    Ok(())
}

/// The `info` of key `key` of `slot`, seen from a user session of its tenant.
fn key_info(hsm: &mut Hsm, f: &Value, slot: usize, key: usize) -> Result<KeyInfo, String> {
    let token = &f["slots"][slot];
    let k = &token["keys"][key];
    let s = user_session(hsm, token, slot, text(&k["tenant"]));
    hsm.info(s, handle(k)).map_err(|e| format!("info: {e:?}"))
}

/// Version `version` (an index) of `key` no longer gives what its facts predict.
fn material_changed(hsm: &mut Hsm, s: SessionId, key: &Value, version: usize) -> Result<(), String> {
    let h = handle(key);
    let versions = key["versions"].as_array().unwrap();
    let number = num(&versions[version]).to_string();
    let latest = version + 1 == versions.len();
    let state = key_state(text(&key["state"]));
    match key_type(text(&key["type"])) {
        KeyType::Aes256 => {
            let wrapped = hex(&key["kwp_of_wrap_input_by_version"][&number]);
            match hsm.unwrap_key(s, h, &wrapped) {
                Err(Error::Crypto(coffer_core::Error::Decrypt)) => Ok(()),
                other => Err(format!("unwrap under the changed version: {:?}", other.map(|v| v.to_vec()))),
            }
        }
        KeyType::HmacSha256 if state == KeyState::Active && latest => {
            let tag = hsm.hmac_sign(s, h, &[&mac_message()]).map_err(|e| format!("hmac: {e:?}"))?;
            if tag.to_vec() == hex(&key["hmac_of_mac_message"]) {
                Err("the same HMAC".into())
            } else {
                Ok(())
            }
        }
        // A pre-active key makes no MAC: the change shows once it is activated.
        KeyType::HmacSha256 => Ok(()),
        KeyType::P256 | KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 | KeyType::Certificate => {
            match hsm.public_key_der(s, h) {
                Ok(spki) if spki == hex(&key["spki"]) => {
                    // The public key may not cover the byte (an RSA CRT value,
                    // a certificate's signature): the key must then refuse or change its output.
                    if key_type(text(&key["type"])) == KeyType::Certificate {
                        let der = hsm.certificate_der(s, h).map_err(|e| format!("certificate: {e:?}"))?;
                        return if der == hex(&key["certificate"]) {
                            Err("the same certificate".into())
                        } else {
                            Ok(())
                        };
                    }
                    match hsm.sign(&mut OsRng, s, h, b"m") {
                        Ok(sig) => match hsm.verify(s, h, b"m", &sig) {
                            Ok(()) => Err("the same public key, and it still signs and verifies".into()),
                            Err(_) => Ok(()),
                        },
                        Err(_) => Ok(()),
                    }
                }
                Ok(_) => Ok(()),
                // The material is not checked on read; damaged key material
                // is refused at its first use (as §12.1 says of version 2 records).
                Err(Error::Crypto(coffer_core::Error::InvalidKey)) => Ok(()),
                Err(e) => Err(format!("public key: {e:?}")),
            }
        }
        other => Err(format!("unexpected type {other:?}")),
    }
}

#[test]
fn every_region_of_every_cfhs_state_changed_gives_the_documented_outcome() {
    let mut failures = Vec::new();
    let mut count = 0;
    for name in CFHS_FILES {
        let f = file_facts(name);
        let state = state(name);
        let mut cases: Vec<(String, usize, usize, Change, Expect)> = f["regions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let (region, offset, len) = (text(&r[0]), num(&r[1]) as usize, num(&r[2]) as usize);
                let (change, expect) = cfhs_case(f, region, len);
                (region.to_owned(), offset, len, change, expect)
            })
            .collect();
        cases.push(("trailing byte".into(), 0, 0, Change::Append, Expect::Refused(Error::KeystoreCorrupt)));
        for (region, offset, len, change, expect) in cases {
            count += 1;
            let sealed = reseal(&apply(&state, offset, len, &change));
            if let Err(why) = run_cfhs_case(f, &sealed, &expect) {
                failures.push(format!("{name} {region} ({change:?}): {why}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {count} cases failed:\n{}", failures.len(), failures.join("\n"));
}

/// The change and the expected outcome for one region of a §3.2 state.
fn cfds_case(f: &Value, region: &str, len: usize) -> (Change, DeviceExpect) {
    use Change::*;
    use DeviceExpect::*;
    let p = parse_region(region);
    let max = num(&f["max_pin_failures"]);
    let corrupt = Refused(Error::KeystoreCorrupt);
    let tampered = |index: usize| Refused(Error::AuditTampered { index });
    match p.kind.as_str() {
        "magic" => (Xor(0, 0x01), corrupt),
        "version" => (Set(0, 0x02), corrupt),
        "max_pin_failures" => (Set(0, 0), corrupt),
        "pin_iterations" => (Field(be(0, 4)), corrupt),
        "audit_reserve" => (Field(be(1, 2)), corrupt),
        "so_pin.present" => (Set(0, 0), corrupt),
        "user_pin.present" | "auditor_pin.present" => (Set(0, 2), corrupt),
        "so_pin.salt"
        | "so_pin.iterations"
        | "so_pin.hash"
        | "user_pin.salt"
        | "user_pin.iterations"
        | "user_pin.hash"
        | "auditor_pin.salt"
        | "auditor_pin.iterations"
        | "auditor_pin.hash" => {
            let role = role_of(&p.kind);
            (Xor(len - 1, 0x01), Login { role, outcome: Err(wrong_pin_outcome(pin_facts(f, role), max)) })
        }
        "so_pin.failures" | "user_pin.failures" | "auditor_pin.failures" => {
            (Set(0, max as u8), Login { role: role_of(&p.kind), outcome: Err(Error::PinLocked) })
        }
        "next_handle" => (Field(be(1, 8)), corrupt),
        "key_count" => (Field(be(KEYS as u64 + 1, 2)), Refused(Error::Capacity)),
        "key.handle" => (Field(be(num(&f["next_handle"]), 8)), corrupt),
        "key.type" => (Set(0, 0x04), corrupt),
        "key.key_id" => (Set(0, 0), corrupt),
        "key.usage" => (Xor(0, 0x80), corrupt),
        "key.extractable" => (Set(0, 2), corrupt),
        "key.state" => (Set(0, 4), corrupt),
        "key.version" => (Field(be(2, 4)), corrupt),
        "key.material" => {
            if text(&f["keys"][p.key]["state"]) == "destroyed" {
                // §3.2: "material (32; zeros once destroyed)".
                (Xor(len / 2, 0x01), corrupt)
            } else {
                (Xor(len / 2, 0x01), MaterialChanged { key: p.key })
            }
        }
        "anchor_seq" => (Xor(len - 1, 0x01), tampered(0)),
        "anchor_mac" => (Xor(0, 0x01), tampered(0)),
        "record_count" => (Field(be(LOG as u64 + 1, 2)), Refused(Error::Capacity)),
        "record.time" => (Xor(len - 1, 0x01), tampered(p.record)),
        "record.mac" => (Xor(0, 0x01), tampered(p.record)),
        "record.event_len" => (Xor(0, 0x01), corrupt),
        // The device checks the chain, not the event's grammar (§3.2, see
        // an_unknown_event_tag_in_a_valid_cfds_chain_loads): the changed event breaks its MAC.
        "record.event" => (Set(0, 0xff), tampered(p.record)),
        other => panic!("no rule for §3.2 region kind {other} ({region})"),
    }
}

#[derive(Clone, Debug)]
enum DeviceExpect {
    Refused(Error),
    Login { role: Role, outcome: Result<(), Error> },
    MaterialChanged { key: usize },
}

fn run_cfds_case(f: &Value, sealed: &[u8], expect: &DeviceExpect) -> Result<(), String> {
    let mut t = match (expect, load_device(sealed)) {
        (DeviceExpect::Refused(e), Err(got)) if *e == got => return Ok(()),
        (DeviceExpect::Refused(e), got) => {
            return Err(format!("expected {e:?} at load, got {:?}", got.err()));
        }
        (_, Err(got)) => return Err(format!("expected it to load, got {got:?}")),
        (_, Ok(t)) => t,
    };
    match expect {
        DeviceExpect::Refused(_) => unreachable!(),
        DeviceExpect::Login { role, outcome } => {
            let got = t.login(*role, pin_of(pin_facts(f, *role)));
            if got != *outcome {
                return Err(format!("login {role:?}: expected {outcome:?}, got {got:?}"));
            }
        }
        DeviceExpect::MaterialChanged { key } => {
            let k = &f["keys"][*key];
            t.login(Role::User, pin_of(&f["user_pin"])).unwrap();
            let h = handle(k);
            let same = match (text(&k["type"]), text(&k["state"])) {
                ("aes256", _) => {
                    let mut out = [0u8; 64];
                    let n = t
                        .export_wrapped(t.find("mac").unwrap(), h, &mut out)
                        .map_err(|e| format!("{e:?}"))?;
                    out[..n] == hex(&device_key(f, "mac")["kwp_under_kek"])[..]
                }
                ("hmac_sha256", "active") => {
                    t.hmac_sign(h, &mac_message()).map_err(|e| format!("{e:?}"))?.to_vec()
                        == hex(&k["hmac_of_mac_message"])
                }
                // A pre-active key makes no MAC: the change shows when it is activated.
                ("hmac_sha256", _) => false,
                ("p256", _) => {
                    t.public_key(h).map_err(|e| format!("{e:?}"))?.to_vec() == hex(&k["public_point"])
                }
                other => return Err(format!("unexpected key {other:?}")),
            };
            if same {
                return Err("the key gives what the unchanged material predicts".into());
            }
        }
    }
    Ok(())
}

#[test]
fn every_region_of_the_cfds_state_changed_gives_the_documented_outcome() {
    let f = file_facts(CFDS_FILE);
    let state = state(CFDS_FILE);
    let mut failures = Vec::new();
    let mut cases: Vec<(String, usize, usize, Change, DeviceExpect)> = f["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let (region, offset, len) = (text(&r[0]), num(&r[1]) as usize, num(&r[2]) as usize);
            let (change, expect) = cfds_case(f, region, len);
            (region.to_owned(), offset, len, change, expect)
        })
        .collect();
    cases.push(("trailing byte".into(), 0, 0, Change::Append, DeviceExpect::Refused(Error::KeystoreCorrupt)));
    let count = cases.len();
    for (region, offset, len, change, expect) in cases {
        let sealed = reseal(&apply(&state, offset, len, &change));
        if let Err(why) = run_cfds_case(f, &sealed, &expect) {
            failures.push(format!("{CFDS_FILE} {region} ({change:?}): {why}"));
        }
    }
    assert!(failures.is_empty(), "{} of {count} cases failed:\n{}", failures.len(), failures.join("\n"));
}
