//! §3.2 `CFDS` golden: every recorded fact holds.

use super::*;

#[test]
fn cfds_v1_golden_loads_with_every_recorded_fact() {
    let f = file_facts(CFDS_FILE);
    let mut t = load_device(&golden(CFDS_FILE)).unwrap();
    let held = f["audit_records"].as_array().unwrap().len();
    assert_eq!(t.audit_len(), held);

    assert_eq!(t.login(Role::SecurityOfficer, b"not the so pin").unwrap_err(), Error::PinIncorrect);
    t.login(Role::SecurityOfficer, pin_of(&f["so_pin"])).unwrap();
    t.logout().unwrap();

    t.login(Role::User, pin_of(&f["user_pin"])).unwrap();
    for key in f["keys"].as_array().unwrap() {
        let id = text(&key["key_id"]);
        let h = t.find(id).unwrap();
        assert_eq!(h, handle(key), "{id}");
        let info = t.info(h).unwrap();
        assert_eq!(info.key_type, device_type(text(&key["type"])), "{id}");
        assert_eq!(info.key_id.as_str(), id);
        assert_eq!(info.usage, usage(num(&key["usage"])), "{id}");
        assert_eq!(info.extractable, key["extractable"].as_bool().unwrap(), "{id}");
        assert_eq!(info.state, key_state(text(&key["state"])), "{id}");
    }
    let kek = t.find("kek").unwrap();
    let mac = t.find("mac").unwrap();
    let ecdsa = t.find("ecdsa").unwrap();
    assert_eq!(
        t.hmac_sign(mac, &mac_message()).unwrap().to_vec(),
        hex(&device_key(f, "mac")["hmac_of_mac_message"])
    );
    let mut out = [0u8; 64];
    let n = t.export_wrapped(mac, kek, &mut out).unwrap();
    assert_eq!(out[..n].to_vec(), hex(&device_key(f, "mac")["kwp_under_kek"]), "mac exported under kek");
    assert_eq!(t.public_key(ecdsa).unwrap().to_vec(), hex(&device_key(f, "ecdsa")["public_point"]));
    let sig = t.sign(ecdsa, b"signed by a golden key").unwrap();
    t.verify(ecdsa, b"signed by a golden key", &sig).unwrap();
    assert_eq!(t.hmac_sign(t.find("staged").unwrap(), b"x").unwrap_err(), Error::KeyState);
    assert_eq!(t.export_wrapped(mac, t.find("old").unwrap(), &mut out).unwrap_err(), Error::KeyState);
    assert_eq!(t.export_wrapped(ecdsa, kek, &mut out).unwrap_err(), Error::NotExtractable);
    t.logout().unwrap();

    // The golden records, exported by the auditor, are the writer's segment byte for byte.
    t.login(Role::Auditor, pin_of(&f["auditor_pin"])).unwrap();
    t.audit_verify().unwrap();
    let mut segment = vec![0u8; 4096];
    let n = t.audit_export(held, &mut segment).unwrap();
    assert_eq!(to_hex(&segment[..n]), text(&f["audit_segment"]));
    let decoded = AuditSegment::decode(&segment[..n]).unwrap();
    assert_eq!(decoded.anchor.seq, num(&f["anchor_seq"]));
    assert_eq!(decoded.anchor.prev_mac.to_vec(), hex(&f["anchor_mac"]));
    t.logout().unwrap();
}

/// The user PIN's stored failure count is exactly 1 of max_pin_failures 3:
/// one more wrong PIN leaves it usable, two lock it.
#[test]
fn cfds_v1_golden_user_has_one_failure_of_three() {
    let f = file_facts(CFDS_FILE);
    assert_eq!((num(&f["user_pin"]["failures"]), num(&f["max_pin_failures"])), (1, 3));
    let pin = pin_of(&f["user_pin"]);

    let mut t = load_device(&golden(CFDS_FILE)).unwrap();
    assert_eq!(t.login(Role::User, b"not the user pin").unwrap_err(), Error::PinIncorrect);
    t.login(Role::User, pin).unwrap();

    let mut t = load_device(&golden(CFDS_FILE)).unwrap();
    assert_eq!(t.login(Role::User, b"not the user pin").unwrap_err(), Error::PinIncorrect);
    assert_eq!(t.login(Role::User, b"not the user pin").unwrap_err(), Error::PinLocked);
    assert_eq!(t.login(Role::User, pin).unwrap_err(), Error::PinLocked);
}

#[test]
fn cfds_v1_golden_in_a_smaller_device_is_capacity() {
    let sealed = golden(CFDS_FILE);
    assert_eq!(load_device_as::<4, LOG>(&sealed).unwrap_err(), Error::Capacity, "5 keys in a 4-key device");
    assert_eq!(
        load_device_as::<KEYS, 6>(&sealed).unwrap_err(),
        Error::Capacity,
        "7 records in a 6-record device"
    );
    assert!(load_device_as::<5, 7>(&sealed).is_ok(), "exactly the capacity it needs");
}
