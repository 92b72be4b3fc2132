//! The device token (`coffer_hsm::device`): the HSM's rules with fixed
//! capacities and no heap, one test per rule; its audit records verify with
//! the server's audit code; its sealed state survives storage and refuses a
//! wrong key, a rollback and corruption.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

use coffer_core::envelope::{EncryptionContext, HeaderRef};
use coffer_core::mac::HmacSha256Key;
use coffer_core::p256::P256PublicKey;
use coffer_core::rng::OsRng;
use coffer_hsm::audit::{AuditEvent, AuditSegment, verify_segments};
use coffer_hsm::device::{DeviceConfig, DeviceKeyType, DeviceToken};
use coffer_hsm::keystore::MasterKey;
use coffer_hsm::{Clock, Error, FixedStorage, KeyState, Role, Storage, Usage};

#[derive(Clone, Copy)]
struct Rtc;
impl Clock for Rtc {
    fn now(&self) -> u64 {
        1_790_000_000
    }
}

const SO_PIN: &[u8] = b"so-pin-1234";
const USER_PIN: &[u8] = b"user-pin-1234";
const AUDITOR_PIN: &[u8] = b"auditor-pin-1234";
const MASTER: [u8; 32] = [0x42; 32];

type Token = DeviceToken<Rtc, 4, 48>;
const SCRATCH: usize = Token::SEALED_MAX_LEN;

fn config() -> DeviceConfig {
    DeviceConfig { pin_iterations: 1_000, audit_reserve: 6, ..DeviceConfig::default() }
}

fn token() -> Token {
    let mut t = Token::init(&mut OsRng, &MasterKey::from_bytes(MASTER), config(), SO_PIN, Rtc).unwrap();
    t.login(Role::SecurityOfficer, SO_PIN).unwrap();
    t.set_pin(&mut OsRng, Role::User, USER_PIN).unwrap();
    t.set_pin(&mut OsRng, Role::Auditor, AUDITOR_PIN).unwrap();
    t.logout().unwrap();
    t
}

fn ctx() -> EncryptionContext<'static> {
    let mut c = EncryptionContext::new();
    c.insert(b"device", b"sensor-12").unwrap();
    c
}

const ALL: Usage = Usage::ENCRYPT;

fn kek(t: &mut Token, id: &str) -> coffer_hsm::Handle {
    let usage = ALL | Usage::DECRYPT | Usage::WRAP | Usage::UNWRAP;
    t.generate(&mut OsRng, DeviceKeyType::Aes256, id, usage, false).unwrap()
}

/// The device's audit key, as the server derives it from the master key.
fn audit_key() -> HmacSha256Key {
    let mut okm = [0u8; 32];
    coffer_core::kdf::hkdf_sha256(None, &MASTER, b"coffer device audit v1", &mut okm).unwrap();
    HmacSha256Key::new(&okm).unwrap()
}

#[test]
fn wrong_pins_lock_a_role_until_the_security_officer_unblocks_it() {
    let mut t = token();
    for _ in 0..4 {
        assert_eq!(t.login(Role::User, b"wrong-pin!").unwrap_err(), Error::PinIncorrect);
    }
    assert_eq!(t.login(Role::User, b"wrong-pin!").unwrap_err(), Error::PinLocked);
    assert_eq!(t.login(Role::User, USER_PIN).unwrap_err(), Error::PinLocked);
    t.login(Role::SecurityOfficer, SO_PIN).unwrap();
    t.set_pin(&mut OsRng, Role::User, b"new-user-pin").unwrap();
    t.logout().unwrap();
    t.login(Role::User, b"new-user-pin").unwrap();
}

#[test]
fn only_the_user_uses_keys_and_only_the_auditor_reads_the_log() {
    let mut t = token();
    t.login(Role::User, USER_PIN).unwrap();
    let k = kek(&mut t, "data");
    assert_eq!(t.audit_verify().unwrap_err(), Error::RoleNotAllowed);
    assert_eq!(t.login(Role::Auditor, AUDITOR_PIN).unwrap_err(), Error::TokenState, "one session at a time");
    t.logout().unwrap();
    for (role, pin) in [(Role::SecurityOfficer, SO_PIN), (Role::Auditor, AUDITOR_PIN)] {
        t.login(role, pin).unwrap();
        let mut out = [0u8; 512];
        assert_eq!(
            t.seal_envelope(&mut OsRng, k, &ctx(), b"x", &mut out).unwrap_err(),
            Error::RoleNotAllowed
        );
        assert_eq!(
            t.generate(&mut OsRng, DeviceKeyType::Aes256, "other", ALL, false).unwrap_err(),
            Error::RoleNotAllowed
        );
        t.logout().unwrap();
    }
    assert_eq!(t.find("data").unwrap_err(), Error::NotLoggedIn);
    t.login(Role::Auditor, AUDITOR_PIN).unwrap();
    assert_eq!(t.audit_verify(), Ok(()));
}

#[test]
fn usage_and_lifecycle_are_checked_before_any_crypto() {
    let mut t = token();
    t.login(Role::User, USER_PIN).unwrap();
    let seal_only =
        t.generate(&mut OsRng, DeviceKeyType::Aes256, "seal-only", Usage::ENCRYPT, false).unwrap();
    let mut out = [0u8; 512];
    let n = t.seal_envelope(&mut OsRng, seal_only, &ctx(), b"reading", &mut out).unwrap();
    assert_eq!(
        t.open_envelope(&mut OsRng, seal_only, &ctx(), &mut out[..n]).unwrap_err(),
        Error::PolicyDenied
    );

    let k = kek(&mut t, "kek");
    let n = t.seal_envelope(&mut OsRng, k, &ctx(), b"reading", &mut out).unwrap();
    let sealed = out;
    t.set_state(k, KeyState::Deactivated).unwrap();
    // Deactivated: old data still opens, nothing new is sealed.
    let mut buf = sealed;
    assert_eq!(t.open_envelope(&mut OsRng, k, &ctx(), &mut buf[..n]).unwrap(), b"reading");
    assert_eq!(t.seal_envelope(&mut OsRng, k, &ctx(), b"x", &mut out).unwrap_err(), Error::KeyState);
    // Wrong type for the operation.
    assert_eq!(t.sign(k, b"msg").unwrap_err(), Error::InvalidInput);
    // Destroyed: nothing works, the id is not reused.
    t.destroy(k).unwrap();
    let mut buf = sealed;
    assert_eq!(t.open_envelope(&mut OsRng, k, &ctx(), &mut buf[..n]).unwrap_err(), Error::KeyState);
    assert_eq!(t.destroy(k).unwrap_err(), Error::KeyState);
    assert_eq!(t.set_state(k, KeyState::Active).unwrap_err(), Error::KeyState);
    assert_eq!(
        t.generate(&mut OsRng, DeviceKeyType::Aes256, "kek", ALL, false).unwrap_err(),
        Error::InvalidInput
    );
}

#[test]
fn a_failed_open_releases_nothing() {
    let mut t = token();
    t.login(Role::User, USER_PIN).unwrap();
    let k = kek(&mut t, "kek");
    let mut out = [0u8; 512];
    let n = t.seal_envelope(&mut OsRng, k, &ctx(), b"secret reading", &mut out).unwrap();
    out[n - 1] ^= 1;
    assert_eq!(
        t.open_envelope(&mut OsRng, k, &ctx(), &mut out[..n]).unwrap_err(),
        Error::Crypto(coffer_core::Error::Decrypt)
    );
    assert!(out[..n].iter().all(|&b| b == 0), "the buffer is zeroed");
}

#[test]
fn device_envelopes_name_the_key_and_signatures_verify_outside() {
    let mut t = token();
    t.login(Role::User, USER_PIN).unwrap();
    let k = kek(&mut t, "telemetry");
    let mut out = [0u8; 512];
    let n = t.seal_envelope(&mut OsRng, k, &ctx(), b"reading", &mut out).unwrap();
    let header = HeaderRef::parse(&out[..n]).unwrap();
    let r = header.recipients().next().unwrap();
    assert_eq!((r.key_id, r.key_version), (&b"telemetry"[..], 1));

    let signer =
        t.generate(&mut OsRng, DeviceKeyType::P256, "id", Usage::SIGN | Usage::VERIFY, false).unwrap();
    let sig = t.sign(signer, b"boot measurement").unwrap();
    let public = P256PublicKey::from_sec1_bytes(&t.public_key(signer).unwrap()).unwrap();
    assert_eq!(public.verify_fixed(b"boot measurement", &sig), Ok(()));
    assert_eq!(t.verify(signer, b"boot measurement", &sig), Ok(()));
    assert_eq!(t.verify(signer, b"other", &sig).unwrap_err(), Error::Crypto(coffer_core::Error::Verify));

    let mac = t
        .generate(&mut OsRng, DeviceKeyType::HmacSha256, "hook", Usage::SIGN | Usage::VERIFY, false)
        .unwrap();
    let tag = t.hmac_sign(mac, b"body").unwrap();
    assert_eq!(t.hmac_verify(mac, b"body", &tag), Ok(()));
    assert_eq!(t.hmac_verify(mac, b"bodx", &tag).unwrap_err(), Error::Crypto(coffer_core::Error::Verify));
}

#[test]
fn only_extractable_keys_leave_the_device_and_only_wrapped() {
    let mut a = token();
    a.login(Role::User, USER_PIN).unwrap();
    let wrap = kek(&mut a, "transport");
    let secret = a.generate(&mut OsRng, DeviceKeyType::HmacSha256, "sealed", Usage::SIGN, false).unwrap();
    let mut out = [0u8; 64];
    assert_eq!(a.export_wrapped(secret, wrap, &mut out).unwrap_err(), Error::NotExtractable);
    let movable = a
        .generate(&mut OsRng, DeviceKeyType::HmacSha256, "movable", Usage::SIGN | Usage::VERIFY, true)
        .unwrap();
    let n = a.export_wrapped(movable, wrap, &mut out).unwrap();
    assert_eq!(n, 40);
    // Imported back under the same wrap key, it makes the same MACs.
    let again =
        a.import_wrapped(wrap, DeviceKeyType::HmacSha256, "moved", Usage::SIGN, false, &out[..n]).unwrap();
    assert_eq!(a.hmac_sign(again, b"m").unwrap(), a.hmac_sign(movable, b"m").unwrap());
    // A changed wrapped key does not unwrap.
    out[5] ^= 1;
    assert_eq!(
        a.import_wrapped(wrap, DeviceKeyType::HmacSha256, "bad", Usage::SIGN, false, &out[..n]).unwrap_err(),
        Error::Crypto(coffer_core::Error::Decrypt)
    );
}

#[test]
fn the_key_capacity_is_fixed() {
    let mut t = token();
    t.login(Role::User, USER_PIN).unwrap();
    for i in 0..4 {
        kek(&mut t, &format!("k{i}"));
    }
    assert_eq!(t.generate(&mut OsRng, DeviceKeyType::Aes256, "k4", ALL, false).unwrap_err(), Error::Capacity);
    assert_eq!(
        t.generate(&mut OsRng, DeviceKeyType::Aes256, &"x".repeat(33), ALL, false).unwrap_err(),
        Error::InvalidInput
    );
}

#[test]
fn a_full_log_stops_key_work_until_the_auditor_exports_and_releases_it() {
    let mut t = token();
    t.login(Role::User, USER_PIN).unwrap();
    let k = t.generate(&mut OsRng, DeviceKeyType::HmacSha256, "hook", Usage::SIGN, false).unwrap();
    let mut signed = 0;
    let err = loop {
        match t.hmac_sign(k, b"body") {
            Ok(_) => signed += 1,
            Err(e) => break e,
        }
        assert!(signed < 100);
    };
    assert_eq!(err, Error::AuditFull);
    t.logout().unwrap();
    assert_eq!(
        t.login(Role::User, b"wrong-pin!").unwrap_err(),
        Error::AuditFull,
        "refused before the PIN check"
    );
    assert_eq!(t.audit_len(), 42, "48 records less the reserve of 6");

    t.login(Role::Auditor, AUDITOR_PIN).unwrap();
    let mut first = vec![0u8; 8192];
    let n1 = t.audit_export(30, &mut first).unwrap();
    first.truncate(n1);
    t.audit_release(30).unwrap();
    let mut second = vec![0u8; 8192];
    let n2 = t.audit_export(t.audit_len(), &mut second).unwrap();
    second.truncate(n2);
    assert_eq!(t.audit_verify(), Ok(()));

    // The server reads the device's records with its own audit code.
    let first = AuditSegment::decode(&first).unwrap();
    let second = AuditSegment::decode(&second).unwrap();
    assert_eq!(first.records[0].event, AuditEvent::TokenInitialized);
    assert_eq!(second.records.last().unwrap().event, AuditEvent::AuditArchived { first_seq: 0, count: 30 });
    let head = second.end();
    assert_eq!(
        verify_segments(&audit_key(), &[first.clone(), second.clone()], (head.seq, head.prev_mac)),
        Ok(())
    );
    // Without the first segment the chain does not start at the genesis:
    // the first missing record is seq 0 (`verify_segments`' rustdoc).
    assert_eq!(
        verify_segments(&audit_key(), &[second], (head.seq, head.prev_mac)),
        Err(Error::AuditTampered { index: 0 })
    );
    let wrong = HmacSha256Key::new(&[1u8; 32]).unwrap();
    assert_eq!(first.verify(&wrong), Err(Error::AuditTampered { index: 0 }));

    t.logout().unwrap();
    t.login(Role::User, USER_PIN).unwrap();
    t.hmac_sign(k, b"body").unwrap();
}

#[test]
fn the_sealed_state_round_trips_and_refuses_a_wrong_key_a_rollback_and_corruption() {
    let master = MasterKey::from_bytes(MASTER);
    let mut t = token();
    t.login(Role::User, USER_PIN).unwrap();
    let k = kek(&mut t, "kek");
    let mut out = [0u8; 512];
    let n = t.seal_envelope(&mut OsRng, k, &ctx(), b"reading", &mut out).unwrap();
    t.logout().unwrap();

    let mut storage = FixedStorage::<SCRATCH>::new();
    let mut scratch = vec![0u8; SCRATCH];
    let first = t.save(&mut OsRng, &mut storage, &master, &mut scratch).unwrap();
    assert!(scratch.iter().all(|&b| b == 0), "scratch zeroed after save");
    let old = storage.read().unwrap().unwrap();
    let second = t.save(&mut OsRng, &mut storage, &master, &mut scratch).unwrap();
    assert_eq!(second, first + 1);

    let mut loaded = Token::load(&mut storage, &master, Some(second), Rtc, &mut scratch).unwrap();
    loaded.login(Role::User, USER_PIN).unwrap();
    let k2 = loaded.find("kek").unwrap();
    assert_eq!(k2, k);
    assert_eq!(loaded.open_envelope(&mut OsRng, k2, &ctx(), &mut out[..n]).unwrap(), b"reading");

    let wrong = MasterKey::from_bytes([1; 32]);
    assert_eq!(Token::load(&mut storage, &wrong, None, Rtc, &mut scratch).unwrap_err(), Error::KeystoreAuth);

    let mut rolled_back = FixedStorage::<SCRATCH>::new();
    rolled_back.write(&old).unwrap();
    assert_eq!(
        Token::load(&mut rolled_back, &master, Some(second), Rtc, &mut scratch).unwrap_err(),
        Error::KeystoreRollback
    );

    // KEYSTORE.md §5 names the error of each single changed byte: the magic
    // is `KeystoreCorrupt`; the kdf byte 00 -> 01 reads bytes 6..10 (the
    // high half of a small counter, zero) as iterations, out of range, so
    // `KeystoreCorrupt`; any other byte (counter, nonce, ciphertext, tag)
    // is `KeystoreAuth`.
    for (pos, expected) in [
        (0, Error::KeystoreCorrupt),
        (5, Error::KeystoreCorrupt),
        (10, Error::KeystoreAuth),
        (30, Error::KeystoreAuth),
        (old.len() / 2, Error::KeystoreAuth),
        (old.len() - 1, Error::KeystoreAuth),
    ] {
        let mut bad = old.clone();
        bad[pos] ^= 0x01;
        let mut s = FixedStorage::<SCRATCH>::new();
        s.write(&bad).unwrap();
        let err = Token::load(&mut s, &master, None, Rtc, &mut scratch).unwrap_err();
        assert_eq!(err, expected, "byte {pos}");
        assert_eq!(s.read().unwrap().unwrap(), bad, "left as it was");
    }
    let mut truncated = FixedStorage::<SCRATCH>::new();
    truncated.write(&old[..20]).unwrap();
    assert_eq!(
        Token::load(&mut truncated, &master, None, Rtc, &mut scratch).unwrap_err(),
        Error::KeystoreCorrupt
    );
    assert_eq!(
        Token::load(&mut FixedStorage::<SCRATCH>::new(), &master, None, Rtc, &mut scratch).unwrap_err(),
        Error::TokenState
    );
}

#[test]
fn buffers_and_capacities_that_are_too_small_give_errors() {
    let master = MasterKey::from_bytes(MASTER);
    let mut t = token();
    let mut storage = FixedStorage::<SCRATCH>::new();
    let mut small = vec![0u8; 64];
    assert_eq!(t.save(&mut OsRng, &mut storage, &master, &mut small).unwrap_err(), Error::Capacity);
    assert_eq!(storage.stored_len().unwrap(), None, "nothing written");

    t.login(Role::User, USER_PIN).unwrap();
    for i in 0..4 {
        kek(&mut t, &format!("k{i}"));
    }
    t.logout().unwrap();
    let mut scratch = vec![0u8; SCRATCH];
    t.save(&mut OsRng, &mut storage, &master, &mut scratch).unwrap();
    // A token type with room for fewer keys cannot load it.
    let mut scratch_small = vec![0u8; DeviceToken::<Rtc, 2, 48>::SEALED_MAX_LEN.max(SCRATCH)];
    assert_eq!(
        DeviceToken::<Rtc, 2, 48>::load(&mut storage, &master, None, Rtc, &mut scratch_small).unwrap_err(),
        Error::Capacity
    );
    let mut tiny = vec![0u8; 32];
    assert_eq!(Token::load(&mut storage, &master, None, Rtc, &mut tiny).unwrap_err(), Error::Capacity);
}

#[test]
fn a_config_outside_its_ranges_is_refused() {
    for reserve in [0u16, 1, 48, 100] {
        let config = DeviceConfig { audit_reserve: reserve, ..config() };
        assert_eq!(
            Token::init(&mut OsRng, &MasterKey::from_bytes(MASTER), config, SO_PIN, Rtc).unwrap_err(),
            Error::InvalidInput
        );
    }
    assert_eq!(
        Token::init(&mut OsRng, &MasterKey::from_bytes(MASTER), config(), b"short", Rtc).unwrap_err(),
        Error::PinPolicy
    );
}
