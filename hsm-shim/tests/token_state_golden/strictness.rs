//! Beyond one field: unknown events inside a valid chain, duplicates, the
//! limits §3.1/§3.2 do not write down, and what the device does not check.

use super::*;

/// Recomputes every MAC of the records `{prefix}record[i]` of `state` from
/// (`first_seq`, `prev_mac`) under `key` (audit module docs, § Format), so
/// that only what else was changed is wrong.
fn rechain(state: &mut [u8], f: &Value, prefix: &str, key: &[u8], first_seq: u64, prev_mac: &[u8]) {
    let mut prev = prev_mac.to_vec();
    let mut i = 0;
    while let Some((time_at, _)) = region(f, &format!("{prefix}record[{i}].time")) {
        let (event_at, event_len) = region(f, &format!("{prefix}record[{i}].event")).unwrap();
        let (mac_at, _) = region(f, &format!("{prefix}record[{i}].mac")).unwrap();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
        mac.update(b"coffer audit v1");
        mac.update(&prev);
        mac.update(&(first_seq + i as u64).to_be_bytes());
        mac.update(&state[time_at..time_at + 8]);
        mac.update(&state[event_at..event_at + event_len]);
        prev = mac.finalize().into_bytes().to_vec();
        state[mac_at..mac_at + 32].copy_from_slice(&prev);
        i += 1;
    }
    assert!(i > 0, "no records under {prefix}");
}

#[test]
fn rechaining_the_golden_records_unchanged_gives_the_same_state() {
    for name in CFHS_FILES {
        let f = file_facts(name);
        let mut s = state(name);
        for (slot, token) in f["slots"].as_array().unwrap().iter().enumerate() {
            if !token.is_null() {
                let (seq, prev) = (num(&token["audit_first_seq"]), hex(&token["audit_prev_mac"]));
                rechain(&mut s, f, &format!("slot[{slot}].audit."), &hex(&token["audit_key"]), seq, &prev);
            }
        }
        assert!(s == state(name), "{name}");
    }
    let f = file_facts(CFDS_FILE);
    let mut s = state(CFDS_FILE);
    rechain(&mut s, f, "", &hex(&f["audit_key"]), num(&f["anchor_seq"]), &hex(&f["anchor_mac"]));
    assert!(s == state(CFDS_FILE));
}

/// The audit format accepts exactly its grammar (audit module docs,
/// § Format: "an unknown tag ... is KeystoreCorrupt; then the chain must
/// verify"): an unknown event tag is refused even where the chain is valid.
#[test]
fn an_unknown_event_tag_in_a_valid_cfhs_chain_is_keystore_corrupt() {
    for name in CFHS_FILES {
        let f = file_facts(name);
        for (slot, token) in f["slots"].as_array().unwrap().iter().enumerate() {
            if token.is_null() {
                continue;
            }
            let prefix = format!("slot[{slot}].audit.");
            let mut s = state(name);
            let (event_at, _) = region(f, &format!("{prefix}record[0].event")).unwrap();
            s[event_at] = 0xff;
            let (seq, prev) = (num(&token["audit_first_seq"]), hex(&token["audit_prev_mac"]));
            rechain(&mut s, f, &prefix, &hex(&token["audit_key"]), seq, &prev);
            assert_eq!(load_hsm(&reseal(&s)).unwrap_err(), Error::KeystoreCorrupt, "{name} slot {slot}");
        }
    }
}

/// KEYSTORE.md §3.2 as it stands: loading verifies the chain, not each
/// event's grammar, so a record whose event has an unknown tag and a valid
/// MAC loads, and is exported as a segment that the server's
/// `AuditSegment::decode` refuses. (A known gap, in the issue-16 note: when
/// the device checks the grammar, the load is `KeystoreCorrupt` and this
/// test and §3.2 change with it.)
#[test]
fn an_unknown_event_tag_in_a_valid_cfds_chain_loads() {
    let f = file_facts(CFDS_FILE);
    let mut s = state(CFDS_FILE);
    let (event_at, _) = region(f, "record[0].event").unwrap();
    s[event_at] = 0xff;
    rechain(&mut s, f, "", &hex(&f["audit_key"]), num(&f["anchor_seq"]), &hex(&f["anchor_mac"]));
    let mut t = load_device(&reseal(&s)).unwrap();
    t.login(Role::Auditor, pin_of(&f["auditor_pin"])).unwrap();
    t.audit_verify().unwrap();
    let mut segment = vec![0u8; 4096];
    let n = t.audit_export(1, &mut segment).unwrap();
    assert_eq!(AuditSegment::decode(&segment[..n]).unwrap_err(), Error::KeystoreCorrupt);
}

/// §3.2: a key's material is "32; zeros once destroyed", and decoding is
/// strict: a destroyed key with material left in it is KeystoreCorrupt
/// (found by this test; it used to load).
#[test]
fn a_destroyed_device_key_with_material_left_in_it_is_keystore_corrupt() {
    let f = file_facts(CFDS_FILE);
    let old = f["keys"].as_array().unwrap().iter().position(|k| text(&k["key_id"]) == "old").unwrap();
    let (at, len) = region(f, &format!("key[{old}].material")).unwrap();
    let mut s = state(CFDS_FILE);
    assert_eq!(&s[at..at + len], &[0u8; 32], "the golden destroyed key has zero material");
    s[at..at + len].copy_from_slice(&[0x5a; 32]);
    assert_eq!(load_device(&reseal(&s)).unwrap_err(), Error::KeystoreCorrupt);
}

#[test]
fn a_duplicate_handle_or_tenant_and_key_id_is_keystore_corrupt_but_a_key_id_in_another_tenant_loads() {
    let name = "cfhs_v3.cfks";
    let f = file_facts(name);
    let keys = f["slots"][0]["keys"].as_array().unwrap();
    let (kek, mac, old) = (&keys[0], &keys[1], &keys[5]);
    assert_eq!((text(&kek["key_id"]), text(&mac["key_id"]), text(&old["key_id"])), ("kek", "mac", "old"));
    assert_eq!((text(&kek["tenant"]), text(&mac["tenant"]), text(&old["tenant"])), ("acme", "acme", "beta"));
    let s = state(name);
    let duplicate_handle = with_region(f, &s, "slot[0].key[1].handle", &be(num(&kek["handle"]), 8));
    assert_eq!(load_hsm(&reseal(&duplicate_handle)).unwrap_err(), Error::KeystoreCorrupt);
    let duplicate_id = with_region(f, &s, "slot[0].key[1].key_id", b"\x03kek");
    assert_eq!(load_hsm(&reseal(&duplicate_id)).unwrap_err(), Error::KeystoreCorrupt);
    let other_tenant = with_region(f, &s, "slot[0].key[5].key_id", b"\x03kek");
    let mut hsm = load_hsm(&reseal(&other_tenant)).unwrap();
    let b = hsm.login(0, V1_USER, b"user-pin-v3", Some("beta")).unwrap();
    assert_eq!(hsm.find(b, "kek").unwrap(), handle(old));

    let f = file_facts(CFDS_FILE);
    let s = state(CFDS_FILE);
    assert_eq!((text(&f["keys"][0]["key_id"]), text(&f["keys"][1]["key_id"])), ("kek", "mac"));
    let duplicate_handle = with_region(f, &s, "key[1].handle", &be(num(&f["keys"][0]["handle"]), 8));
    assert_eq!(load_device(&reseal(&duplicate_handle)).unwrap_err(), Error::KeystoreCorrupt);
    let duplicate_id = with_region(f, &s, "key[1].key_id", b"\x03kek");
    assert_eq!(load_device(&reseal(&duplicate_id)).unwrap_err(), Error::KeystoreCorrupt);
}

/// A PIN record with 0 iterations is refused on read. §3.1 writes the
/// `pin` as `iterations (4)` with no range (§12.1 gives "≥ 1" for the same
/// 53 bytes in a version 2 store): reported as a gap in §3.1.
#[test]
fn a_pin_record_with_zero_iterations_is_keystore_corrupt() {
    for name in CFHS_FILES {
        let f = file_facts(name);
        for role in ["so_pin", "user_pin", "auditor_pin"] {
            let s = with_region(f, &state(name), &format!("slot[0].{role}.iterations"), &[0; 4]);
            assert_eq!(load_hsm(&reseal(&s)).unwrap_err(), Error::KeystoreCorrupt, "{name} {role}");
        }
    }
    let f = file_facts(CFDS_FILE);
    for role in ["so_pin", "user_pin", "auditor_pin"] {
        let s = with_region(f, &state(CFDS_FILE), &format!("{role}.iterations"), &[0; 4]);
        assert_eq!(load_device(&reseal(&s)).unwrap_err(), Error::KeystoreCorrupt, "{role}");
    }
}

/// The device state with its first record's event replaced by `event`,
/// every record chained again.
fn device_state_with_first_event(event: &[u8]) -> Vec<u8> {
    let f = file_facts(CFDS_FILE);
    let s = state(CFDS_FILE);
    let (count_at, count_len) = region(f, "record_count").unwrap();
    let mut out = s[..count_at + count_len].to_vec();
    let mut prev = hex(&f["anchor_mac"]);
    let mut i = 0;
    while let Some((time_at, _)) = region(f, &format!("record[{i}].time")) {
        let (event_at, event_len) = region(f, &format!("record[{i}].event")).unwrap();
        let e = if i == 0 { event } else { &s[event_at..event_at + event_len] };
        let t = &s[time_at..time_at + 8];
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&hex(&f["audit_key"])).unwrap();
        mac.update(b"coffer audit v1");
        mac.update(&prev);
        mac.update(&(num(&f["anchor_seq"]) + i as u64).to_be_bytes());
        mac.update(t);
        mac.update(e);
        prev = mac.finalize().into_bytes().to_vec();
        out.extend_from_slice(t);
        out.push(u8::try_from(e.len()).unwrap());
        out.extend_from_slice(e);
        out.extend_from_slice(&prev);
        i += 1;
    }
    out
}

/// `KeyCreated` of key id `"a" * id_len` in the empty tenant, version 1, handle 1.
fn key_created_event(id_len: usize) -> Vec<u8> {
    let mut e = vec![0x20, 0, u8::try_from(id_len).unwrap()];
    e.extend(std::iter::repeat_n(b'a', id_len));
    e.extend(1u32.to_be_bytes());
    e.extend(1u64.to_be_bytes());
    e
}

/// A device record's event of 64 bytes loads, of 65 is refused. §3.2 writes
/// `event_len (1)` with no range (the 64 is `device::MAX_EVENT_LEN`), so a
/// canonical event of 65 ..= 255 bytes is a state the spec allows that
/// coffer refuses: reported as a gap in §3.2.
#[test]
fn a_device_event_of_64_bytes_loads_and_of_65_is_keystore_corrupt() {
    assert_eq!(key_created_event(49).len(), 64);
    let f = file_facts(CFDS_FILE);
    let (at, len) = region(f, "record[0].event").unwrap();
    let first = state(CFDS_FILE)[at..at + len].to_vec();
    assert!(
        device_state_with_first_event(&first) == state(CFDS_FILE),
        "rebuilt unchanged, the state is the same"
    );
    load_device(&reseal(&device_state_with_first_event(&key_created_event(49)))).unwrap();
    let long = device_state_with_first_event(&key_created_event(50));
    assert_eq!(load_device(&reseal(&long)).unwrap_err(), Error::KeystoreCorrupt);
}
