//! The HSM's rules, one test per rule: roles and lockout, tenant isolation,
//! lifecycle and usage policy, extraction, rotation and rewrap, shredding,
//! and persistence through the sealed keystore.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

use coffer_core::envelope::{EncryptionContext, HeaderRef};
use coffer_core::rng::OsRng;
use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::{
    Clock, Config, Error, Handle, Hsm, KeyAttributes, KeyState, KeyType, MemoryStorage, Role, SessionId,
    Usage,
};

struct FixedClock;
impl Clock for FixedClock {
    fn now(&self) -> u64 {
        1_790_000_000
    }
}

const SO_PIN: &[u8] = b"so-pin-123456";
const USER_PIN: &[u8] = b"user-pin-123456";
const AUDITOR_PIN: &[u8] = b"auditor-pin-1234";
/// The one user of this file, bound to both of its tenants. The keystore
/// round trips (a version-1 export and load) bring the user and auditor
/// PINs back under these names ([`coffer_hsm::V1_USER`], [`coffer_hsm::V1_AUDITOR`]).
const USER: &str = "user";
const AUDITOR: &str = "auditor";
/// The tenants this file uses.
const TENANTS: [&str; 2] = ["acme", "globex"];

fn config() -> Config {
    // Low PIN cost keeps the tests fast; the default is 100,000.
    Config { pin_iterations: 1_000, ..Config::default() }
}

fn hsm() -> Hsm {
    hsm_with(2, config())
}

/// An HSM with `slots` slots and `config`, its first token initialized with
/// the tenants acme and globex, the user [`USER`] of both, and the auditor [`AUDITOR`].
fn hsm_with(slots: usize, config: Config) -> Hsm {
    let mut hsm = Hsm::new(slots, config, Box::new(FixedClock)).unwrap();
    hsm.init_token(&mut OsRng, 0, "main", SO_PIN).unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    create_tenants_and_user(&mut hsm, so);
    hsm.create_user(&mut OsRng, so, AUDITOR, Role::Auditor, &[], AUDITOR_PIN).unwrap();
    hsm.logout(so).unwrap();
    hsm
}

/// Creates the tenants acme and globex and the user [`USER`] bound to both.
fn create_tenants_and_user(hsm: &mut Hsm, so: SessionId) {
    for tenant in TENANTS {
        hsm.create_tenant(&mut OsRng, so, tenant).unwrap();
    }
    hsm.create_user(&mut OsRng, so, USER, Role::User, &TENANTS, USER_PIN).unwrap();
}

fn attrs(tenant: &str, key_id: &str, usage: Usage) -> KeyAttributes {
    KeyAttributes {
        label: format!("{tenant}/{key_id}"),
        tenant: tenant.into(),
        key_id: key_id.into(),
        usage,
        extractable: false,
        active: true,
    }
}

fn user(hsm: &mut Hsm, tenant: &str) -> SessionId {
    hsm.login(0, USER, USER_PIN, Some(tenant)).unwrap()
}

fn kek(hsm: &mut Hsm, s: SessionId, tenant: &str) -> Handle {
    let all = Usage::ENCRYPT | Usage::DECRYPT | Usage::WRAP | Usage::UNWRAP;
    hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs(tenant, "kek", all)).unwrap()
}

fn ctx(tenant: &str) -> EncryptionContext<'_> {
    let mut c = EncryptionContext::new();
    c.insert(b"tenant", tenant.as_bytes()).unwrap();
    c
}

#[test]
fn wrong_pins_lock_the_user_until_the_security_officer_unblocks() {
    let mut hsm = hsm();
    for _ in 0..4 {
        assert_eq!(hsm.login(0, USER, b"wrong-pin!", Some("acme")).unwrap_err(), Error::PinIncorrect);
    }
    assert_eq!(hsm.login(0, USER, b"wrong-pin!", Some("acme")).unwrap_err(), Error::PinLocked);
    // Locked: even the right PIN is refused.
    assert_eq!(hsm.login(0, USER, USER_PIN, Some("acme")).unwrap_err(), Error::PinLocked);
    let so = hsm.login_so(0, SO_PIN).unwrap();
    hsm.unblock_user(&mut OsRng, so, USER, b"new-user-pin").unwrap();
    assert!(hsm.login(0, USER, b"new-user-pin", Some("acme")).is_ok());
    assert_eq!(hsm.login(0, USER, USER_PIN, Some("acme")).unwrap_err(), Error::PinIncorrect);
}

#[test]
fn a_successful_login_resets_the_failure_count() {
    let mut hsm = hsm();
    for _ in 0..4 {
        assert_eq!(hsm.login(0, USER, b"wrong-pin!", Some("acme")).unwrap_err(), Error::PinIncorrect);
    }
    user(&mut hsm, "acme");
    for _ in 0..4 {
        assert_eq!(hsm.login(0, USER, b"wrong-pin!", Some("acme")).unwrap_err(), Error::PinIncorrect);
    }
}

#[test]
fn pins_outside_the_length_policy_are_refused() {
    let mut hsm = Hsm::new(1, config(), Box::new(FixedClock)).unwrap();
    assert_eq!(hsm.init_token(&mut OsRng, 0, "t", b"short").unwrap_err(), Error::PinPolicy);
    assert_eq!(hsm.init_token(&mut OsRng, 0, "t", &[b'x'; 65]).unwrap_err(), Error::PinPolicy);
}

#[test]
fn the_auditor_and_the_security_officer_cannot_use_keys() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let h = kek(&mut hsm, s, "acme");
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    for session in [auditor, so] {
        assert_eq!(
            hsm.seal_envelope(&mut OsRng, session, h, &ctx("acme"), b"x").unwrap_err(),
            Error::RoleNotAllowed
        );
        assert_eq!(hsm.list(session).unwrap_err(), Error::RoleNotAllowed);
    }
    // The auditor reads and verifies the log; a user cannot.
    assert!(!hsm.audit_records(auditor).unwrap().is_empty());
    hsm.audit_verify(auditor).unwrap();
    assert_eq!(hsm.audit_verify(s).unwrap_err(), Error::RoleNotAllowed);
}

#[test]
fn usage_policy_is_enforced_before_any_crypto() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let enc_only =
        hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs("acme", "enc", Usage::ENCRYPT)).unwrap();
    let env = hsm.seal_envelope(&mut OsRng, s, enc_only, &ctx("acme"), b"data").unwrap();
    assert_eq!(
        hsm.open_envelope(&mut OsRng, s, enc_only, &ctx("acme"), &env).unwrap_err(),
        Error::PolicyDenied
    );
    let mac = hsm.generate(&mut OsRng, s, KeyType::HmacSha256, attrs("acme", "mac", Usage::VERIFY)).unwrap();
    assert_eq!(hsm.hmac_sign(s, mac, &[b"body"]).unwrap_err(), Error::PolicyDenied);
    // A key of the wrong type for the operation is an argument error.
    assert_eq!(hsm.sign(&mut OsRng, s, mac, b"m").unwrap_err(), Error::InvalidInput);
    // Sign and verify are separate rights.
    let sign_only = hsm.generate(&mut OsRng, s, KeyType::P256, attrs("acme", "sign", Usage::SIGN)).unwrap();
    let sig = hsm.sign(&mut OsRng, s, sign_only, b"m").unwrap();
    assert_eq!(hsm.verify(s, sign_only, b"m", &sig).unwrap_err(), Error::PolicyDenied);
    let verify_only =
        hsm.generate(&mut OsRng, s, KeyType::P256, attrs("acme", "verify", Usage::VERIFY)).unwrap();
    assert_eq!(hsm.sign(&mut OsRng, s, verify_only, b"m").unwrap_err(), Error::PolicyDenied);
}

#[test]
fn usage_flags_are_distinct_rights_that_combine_with_or() {
    let flags = Usage::ALL;
    for (i, a) in flags.iter().enumerate() {
        assert!(!Usage::NONE.allows(*a), "NONE allows {a:?}");
        assert!(Usage::NONE.allows(Usage::NONE));
        assert_eq!(*a | *a, *a, "{a:?} | {a:?}");
        assert_eq!(*a | Usage::NONE, *a);
        for (j, b) in flags.iter().enumerate() {
            assert_eq!(a.allows(*b), i == j, "{a:?} allows {b:?}");
            let both = *a | *b;
            assert!(both.allows(*a) && both.allows(*b), "{a:?} | {b:?}");
            assert_eq!(both | *a, both, "adding {a:?} again to {both:?}");
            for (k, c) in flags.iter().enumerate() {
                assert_eq!(both.allows(*c), k == i || k == j, "{a:?} | {b:?} allows {c:?}");
            }
        }
    }
}

#[test]
fn handles_are_distinct_numbers_that_name_their_key_and_are_never_reused() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let a = kek(&mut hsm, s, "acme");
    let b = hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs("acme", "second", Usage::ENCRYPT)).unwrap();
    assert_ne!(a.get(), b.get());
    assert_eq!(Handle::from_raw(a.get()), a);
    assert_eq!(hsm.info(s, Handle::from_raw(b.get())).unwrap().attributes.key_id, "second");
    hsm.destroy(s, b).unwrap();
    let c = hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs("acme", "third", Usage::ENCRYPT)).unwrap();
    assert!(![a.get(), b.get()].contains(&c.get()), "{c:?} reuses a number of {a:?} or {b:?}");
    assert_eq!(hsm.info(s, Handle::from_raw(c.get())).unwrap().attributes.key_id, "third");
    // A number no key has is NotFound.
    assert_eq!(hsm.info(s, Handle::from_raw(u64::MAX)).unwrap_err(), Error::NotFound);
}

#[test]
fn lifecycle_states_gate_operations() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let mut a = attrs("acme", "kek", Usage::ENCRYPT | Usage::DECRYPT);
    a.active = false;
    let h = hsm.generate(&mut OsRng, s, KeyType::Aes256, a).unwrap();
    assert_eq!(hsm.seal_envelope(&mut OsRng, s, h, &ctx("acme"), b"x").unwrap_err(), Error::KeyState);
    hsm.set_state(s, h, KeyState::Active).unwrap();
    let env = hsm.seal_envelope(&mut OsRng, s, h, &ctx("acme"), b"x").unwrap();
    hsm.set_state(s, h, KeyState::Deactivated).unwrap();
    // Deactivated keys still open existing data but protect nothing new.
    assert_eq!(&hsm.open_envelope(&mut OsRng, s, h, &ctx("acme"), &env).unwrap()[..], b"x");
    assert_eq!(hsm.seal_envelope(&mut OsRng, s, h, &ctx("acme"), b"y").unwrap_err(), Error::KeyState);
    assert_eq!(hsm.set_state(s, h, KeyState::Active).unwrap_err(), Error::KeyState);
}

#[test]
fn destroyed_keys_cannot_be_used_in_any_way() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let h = kek(&mut hsm, s, "acme");
    let env = hsm.seal_envelope(&mut OsRng, s, h, &ctx("acme"), b"x").unwrap();
    hsm.destroy(s, h).unwrap();
    assert_eq!(hsm.open_envelope(&mut OsRng, s, h, &ctx("acme"), &env).unwrap_err(), Error::KeyState);
    assert_eq!(hsm.seal_envelope(&mut OsRng, s, h, &ctx("acme"), b"x").unwrap_err(), Error::KeyState);
    assert_eq!(hsm.rotate(&mut OsRng, s, h).unwrap_err(), Error::KeyState);
    assert_eq!(hsm.destroy(s, h).unwrap_err(), Error::KeyState);
    assert_eq!(hsm.info(s, h).unwrap().state, KeyState::Destroyed);
}

#[test]
fn non_extractable_keys_cannot_be_exported_in_any_way() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let wrapper = kek(&mut hsm, s, "acme");
    let secret =
        hsm.generate(&mut OsRng, s, KeyType::HmacSha256, attrs("acme", "webhook", Usage::SIGN)).unwrap();
    assert_eq!(hsm.export_wrapped(s, wrapper, secret).unwrap_err(), Error::NotExtractable);
    // Nor under itself, nor via another tenant.
    assert_eq!(hsm.export_wrapped(s, wrapper, wrapper).unwrap_err(), Error::NotExtractable);
    // Key info never carries material: its Debug output has no 32-byte hex.
    let info = format!("{:?}", hsm.info(s, secret).unwrap());
    assert!(!info.contains("bytes"));

    let mut a = attrs("acme", "movable", Usage::SIGN | Usage::VERIFY);
    a.extractable = true;
    let movable = hsm.generate(&mut OsRng, s, KeyType::HmacSha256, a).unwrap();
    let wrapped = hsm.export_wrapped(s, wrapper, movable).unwrap();
    let back = hsm
        .import_wrapped(
            s,
            wrapper,
            KeyType::HmacSha256,
            attrs("acme", "moved", Usage::SIGN | Usage::VERIFY),
            &wrapped,
        )
        .unwrap();
    let tag = hsm.hmac_sign(s, movable, &[b"t=1.", b"body"]).unwrap();
    hsm.hmac_verify(s, back, &[b"t=1.", b"body"], &tag).unwrap();
}

#[test]
fn importing_material_that_is_not_a_key_of_the_type_is_an_invalid_key_and_creates_nothing() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let wrapper = kek(&mut hsm, s, "acme");
    let invalid_key = Error::Crypto(coffer_core::Error::InvalidKey);
    // 16 bytes are no AES-256 or HMAC key; 32 bytes of 0xff are no P-256 scalar
    // (above the group order); 32 bytes are no RSA PKCS#8 key.
    let cases = [
        (KeyType::Aes256, vec![7u8; 16]),
        (KeyType::HmacSha256, vec![7u8; 48]),
        (KeyType::P256, vec![0xff; 32]),
        (KeyType::Rsa2048, vec![7u8; 32]),
    ];
    for (key_type, material) in cases {
        let wrapped = hsm.wrap_key(s, wrapper, &material).unwrap();
        let err = hsm.import_wrapped(s, wrapper, key_type, attrs("acme", "imported", Usage::SIGN), &wrapped);
        assert_eq!(err.unwrap_err(), invalid_key, "{key_type:?}");
        assert_eq!(hsm.find(s, "imported").unwrap_err(), Error::NotFound, "{key_type:?}");
    }
    // The right material under the same attributes imports.
    let wrapped = hsm.wrap_key(s, wrapper, &[7u8; 32]).unwrap();
    hsm.import_wrapped(s, wrapper, KeyType::HmacSha256, attrs("acme", "imported", Usage::SIGN), &wrapped)
        .unwrap();
}

#[test]
fn plaintext_import_is_refused_unless_the_config_allows_it() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let err = hsm.import_plain(s, KeyType::Aes256, attrs("acme", "k", Usage::ENCRYPT), &[7; 32]).unwrap_err();
    assert_eq!(err, Error::PolicyDenied);
}

#[test]
fn rotation_keeps_old_envelopes_open_and_rewrap_moves_them_to_the_new_version() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let h = kek(&mut hsm, s, "acme");
    let old = hsm.seal_envelope(&mut OsRng, s, h, &ctx("acme"), b"payload").unwrap();
    assert_eq!(hsm.rotate(&mut OsRng, s, h).unwrap(), 2);
    assert_eq!(&hsm.open_envelope(&mut OsRng, s, h, &ctx("acme"), &old).unwrap()[..], b"payload");
    let new = hsm.seal_envelope(&mut OsRng, s, h, &ctx("acme"), b"fresh").unwrap();
    let version = |env: &[u8]| HeaderRef::parse(env).unwrap().recipients().next().unwrap().key_version;
    assert_eq!(version(&new), 2);
    let rewrapped = hsm.rewrap_envelope(&mut OsRng, s, h, &old).unwrap();
    assert_eq!(version(&rewrapped), 2);
    let (ho, hr) = (
        HeaderRef::parse(&old).unwrap().as_bytes().len(),
        HeaderRef::parse(&rewrapped).unwrap().as_bytes().len(),
    );
    assert_eq!(old[ho..], rewrapped[hr..], "rewrap must not touch the payload");
    assert_eq!(&hsm.open_envelope(&mut OsRng, s, h, &ctx("acme"), &rewrapped).unwrap()[..], b"payload");
}

#[test]
fn tenant_a_handles_never_work_for_tenant_b() {
    let mut hsm = hsm();
    let a = user(&mut hsm, "acme");
    let b = user(&mut hsm, "globex");
    let ka = kek(&mut hsm, a, "acme");
    let kb = kek(&mut hsm, b, "globex");
    let env_a = hsm.seal_envelope(&mut OsRng, a, ka, &ctx("acme"), b"acme data").unwrap();
    // B's session with A's handle: refused as another tenant's.
    assert_eq!(
        hsm.open_envelope(&mut OsRng, b, ka, &ctx("acme"), &env_a).unwrap_err(),
        Error::TenantNotAllowed
    );
    assert_eq!(hsm.info(b, ka).unwrap_err(), Error::TenantNotAllowed);
    assert_eq!(hsm.destroy(b, ka).unwrap_err(), Error::TenantNotAllowed);
    assert_eq!(hsm.info(a, ka).unwrap().state, KeyState::Active, "the refused destroy changed nothing");
    // B's own key on A's envelope, with either context: decryption fails.
    for c in [ctx("acme"), ctx("globex")] {
        assert_eq!(
            hsm.open_envelope(&mut OsRng, b, kb, &c, &env_a).unwrap_err(),
            Error::Crypto(coffer_core::Error::Decrypt)
        );
    }
    // A cannot create keys for B.
    let err = hsm.generate(&mut OsRng, a, KeyType::Aes256, attrs("globex", "x", Usage::ENCRYPT)).unwrap_err();
    assert_eq!(err, Error::InvalidInput);
    assert_eq!(hsm.list(b).unwrap().len(), 1);
    assert_eq!(hsm.find(b, "kek").unwrap(), kb);
}

#[test]
fn crypto_shred_destroys_every_key_of_the_tenant_and_then_opening_fails() {
    let mut hsm = hsm();
    let a = user(&mut hsm, "acme");
    let b = user(&mut hsm, "globex");
    let ka = kek(&mut hsm, a, "acme");
    hsm.rotate(&mut OsRng, a, ka).unwrap();
    hsm.generate(&mut OsRng, a, KeyType::HmacSha256, attrs("acme", "webhook", Usage::SIGN)).unwrap();
    let kb = kek(&mut hsm, b, "globex");
    let env_a = hsm.seal_envelope(&mut OsRng, a, ka, &ctx("acme"), b"acme").unwrap();
    let env_b = hsm.seal_envelope(&mut OsRng, b, kb, &ctx("globex"), b"globex").unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    let evidence = hsm.shred_tenant(so, "acme").unwrap();
    assert_eq!(evidence.keys, vec![("kek".to_string(), 2), ("webhook".to_string(), 1)]);
    assert_eq!(evidence.audit.len(), 3, "two destructions and the shred itself");
    assert_eq!(hsm.open_envelope(&mut OsRng, a, ka, &ctx("acme"), &env_a).unwrap_err(), Error::KeyState);
    // The other tenant is untouched.
    assert_eq!(&hsm.open_envelope(&mut OsRng, b, kb, &ctx("globex"), &env_b).unwrap()[..], b"globex");
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    hsm.audit_verify(auditor).unwrap();
}

#[test]
fn signatures_and_webhook_macs_work_by_handle() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let ec =
        hsm.generate(&mut OsRng, s, KeyType::P256, attrs("acme", "ec", Usage::SIGN | Usage::VERIFY)).unwrap();
    let sig = hsm.sign(&mut OsRng, s, ec, b"message").unwrap();
    hsm.verify(s, ec, b"message", &sig).unwrap();
    assert_eq!(hsm.verify(s, ec, b"massage", &sig).unwrap_err(), Error::Crypto(coffer_core::Error::Verify));
    let spki = hsm.public_key_der(s, ec).unwrap();
    let pk = coffer_core::p256::P256PublicKey::from_spki_der(&spki).unwrap();
    pk.verify_der(b"message", &sig).unwrap();
}

#[test]
fn prehashed_ecdsa_works_by_handle_within_the_keys_policy() {
    use coffer_core::hash::sha256;
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let ec =
        hsm.generate(&mut OsRng, s, KeyType::P256, attrs("acme", "ec", Usage::SIGN | Usage::VERIFY)).unwrap();
    let digest = sha256(b"message");
    let sig = hsm.sign_prehash(s, ec, &digest).unwrap();
    hsm.verify_prehash(s, ec, &digest, &sig).unwrap();
    // The same signature as ECDSA-SHA-256 over the message.
    let der = coffer_core::p256::P256Signature::from_bytes(sig).to_der().unwrap();
    hsm.verify(s, ec, b"message", der.as_bytes()).unwrap();
    let refused = Error::Crypto(coffer_core::Error::Verify);
    assert_eq!(hsm.verify_prehash(s, ec, &sha256(b"massage"), &sig).unwrap_err(), refused);
    assert_eq!(hsm.verify_prehash(s, ec, &digest, &sig[..63]).unwrap_err(), refused);
    assert_eq!(hsm.sign_prehash(s, ec, &[]).unwrap_err(), Error::Crypto(coffer_core::Error::InvalidLength));

    // Usage and key type are checked first.
    let verify_only = hsm.generate(&mut OsRng, s, KeyType::P256, attrs("acme", "v", Usage::VERIFY)).unwrap();
    assert_eq!(hsm.sign_prehash(s, verify_only, &digest).unwrap_err(), Error::PolicyDenied);
    let aes = kek(&mut hsm, s, "acme");
    assert_eq!(hsm.sign_prehash(s, aes, &digest).unwrap_err(), Error::InvalidInput);
}

#[test]
fn the_keystore_round_trips_and_refuses_a_wrong_key_and_a_rollback() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let h = kek(&mut hsm, s, "acme");
    let env = hsm.seal_envelope(&mut OsRng, s, h, &ctx("acme"), b"persisted").unwrap();
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let source = KeySource::MasterKey(&master);
    let mut storage = MemoryStorage::new();
    let so_session = hsm.login_so(0, SO_PIN).unwrap();
    let first = hsm.save(&mut OsRng, so_session, &mut storage, &source).unwrap();
    let old_blob = coffer_hsm::Storage::read(&mut storage).unwrap().unwrap();
    let so_session = hsm.login_so(0, SO_PIN).unwrap();
    let second = hsm.save(&mut OsRng, so_session, &mut storage, &source).unwrap();
    assert_eq!(second, first + 1);

    let mut loaded = Hsm::load(&mut storage, &source, Some(second), Box::new(FixedClock)).unwrap();
    let s2 = loaded.login(0, USER, USER_PIN, Some("acme")).unwrap();
    let h2 = loaded.find(s2, "kek").unwrap();
    assert_eq!(&loaded.open_envelope(&mut OsRng, s2, h2, &ctx("acme"), &env).unwrap()[..], b"persisted");
    let auditor = loaded.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    loaded.audit_verify(auditor).unwrap();

    let other = MasterKey::generate(&mut OsRng).unwrap();
    let err = Hsm::load(&mut storage, &KeySource::MasterKey(&other), None, Box::new(FixedClock)).unwrap_err();
    assert_eq!(err, Error::KeystoreAuth);
    let mut rolled_back = MemoryStorage::new();
    coffer_hsm::Storage::write(&mut rolled_back, &old_blob).unwrap();
    let err = Hsm::load(&mut rolled_back, &source, Some(second), Box::new(FixedClock)).unwrap_err();
    assert_eq!(err, Error::KeystoreRollback);
}

#[test]
fn rsa_keys_and_certificates_work_by_handle_and_survive_the_keystore() {
    use coffer_core::cert::{self, CaParams, KeyAlgorithm, KeyPair, Validity};
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let usage = Usage::ENCRYPT | Usage::DECRYPT | Usage::SIGN | Usage::VERIFY;
    let rsa = hsm.generate(&mut OsRng, s, KeyType::Rsa2048, attrs("acme", "server-rsa", usage)).unwrap();
    let env = hsm.seal_envelope(&mut OsRng, s, rsa, &ctx("acme"), b"to the server").unwrap();
    assert_eq!(
        HeaderRef::parse(&env).unwrap().recipients().next().unwrap().kind,
        coffer_core::envelope::RecipientKind::RsaOaep
    );
    assert_eq!(&hsm.open_envelope(&mut OsRng, s, rsa, &ctx("acme"), &env).unwrap()[..], b"to the server");
    let sig = hsm.sign(&mut OsRng, s, rsa, b"hello").unwrap();
    hsm.verify(s, rsa, b"hello", &sig).unwrap();
    let spki = hsm.public_key_der(s, rsa).unwrap();
    coffer_core::rsa::RsaPublicKey::from_spki_der(&spki).unwrap().verify_pss(b"hello", &sig).unwrap();

    // A certificate object verifies what its key signed.
    let ca_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let ca = cert::self_signed_ca(
        &mut OsRng,
        &ca_key,
        &CaParams {
            subject: "CN=Acme CA",
            validity: Validity { not_before: 1_700_000_000, not_after: 1_900_000_000 },
            path_len: Some(0),
        },
    )
    .unwrap();
    let ca_obj = hsm.import_certificate(s, attrs("acme", "acme-ca", Usage::NONE), ca.to_der()).unwrap();
    assert_eq!(hsm.certificate_der(s, ca_obj).unwrap(), ca.to_der());
    let KeyPair::P256(ca_sk) = &ca_key else { panic!("P-256 key") };
    let sig = ca_sk.sign_der(b"signed by the CA");
    hsm.verify(s, ca_obj, b"signed by the CA", sig.as_bytes()).unwrap();
    assert_eq!(
        hsm.import_certificate(s, attrs("acme", "junk", Usage::NONE), b"not a certificate").unwrap_err(),
        Error::Crypto(coffer_core::Error::MalformedCertificate)
    );

    let master = MasterKey::generate(&mut OsRng).unwrap();
    let mut storage = MemoryStorage::new();
    let so_session = hsm.login_so(0, SO_PIN).unwrap();
    hsm.save(&mut OsRng, so_session, &mut storage, &KeySource::MasterKey(&master)).unwrap();
    let mut loaded =
        Hsm::load(&mut storage, &KeySource::MasterKey(&master), None, Box::new(FixedClock)).unwrap();
    let s2 = loaded.login(0, USER, USER_PIN, Some("acme")).unwrap();
    let rsa2 = loaded.find(s2, "server-rsa").unwrap();
    assert_eq!(
        &loaded.open_envelope(&mut OsRng, s2, rsa2, &ctx("acme"), &env).unwrap()[..],
        b"to the server"
    );
    let ca2 = loaded.find(s2, "acme-ca").unwrap();
    assert_eq!(loaded.certificate_der(s2, ca2).unwrap(), ca.to_der());
}

/// An HSM whose audit log holds 60 records with a reserve of 8: key work
/// stops at 52, the security officer at 56, the auditor at 60.
fn small_log_hsm() -> Hsm {
    hsm_with(1, Config { audit_max_records: 60, audit_reserve: 8, ..config() })
}

#[test]
fn a_full_audit_log_stops_key_work_until_the_auditor_archives_it() {
    let mut hsm = small_log_hsm();
    let s = user(&mut hsm, "acme");
    let k = kek(&mut hsm, s, "acme");
    let mut sealed = 0;
    let err = loop {
        match hsm.seal_envelope(&mut OsRng, s, k, &ctx("acme"), b"record") {
            Ok(_) => sealed += 1,
            Err(e) => break e,
        }
        assert!(sealed < 100, "the log never filled");
    };
    assert_eq!(err, Error::AuditFull);
    // Every operation that would log is refused up front, and nothing happened.
    assert_eq!(
        hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs("acme", "k2", Usage::ENCRYPT)).unwrap_err(),
        Error::AuditFull
    );
    // A user login is refused before its PIN is checked: wrong PINs are not counted.
    for _ in 0..10 {
        assert_eq!(hsm.login(0, USER, b"wrong-pin!", Some("acme")).unwrap_err(), Error::AuditFull);
    }

    // The security officer and the auditor still log in.
    let so = hsm.login_so(0, SO_PIN).unwrap();
    hsm.logout(so).unwrap();
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    let held = hsm.audit_records(auditor).unwrap();
    assert_eq!(held.len(), 54, "52 for key work, then the SO's and the auditor's logins");
    let archived = hsm.audit_archive(auditor, 50).unwrap();
    assert_eq!((archived.anchor.seq, archived.records.len()), (0, 50));
    let live = hsm.audit_records(auditor).unwrap();
    assert_eq!(live.len(), 5);
    assert_eq!(live[0].seq, 50);
    assert_eq!(live[4].event, coffer_hsm::audit::AuditEvent::AuditArchived { first_seq: 0, count: 50 });
    assert_eq!(hsm.audit_verify(auditor), Ok(()));
    assert_eq!(hsm.audit_verify_archive(auditor, std::slice::from_ref(&archived)), Ok(()));
    // Without the archive, the chain does not reach back to the genesis.
    assert_eq!(hsm.audit_verify_archive(auditor, &[]), Err(Error::AuditTampered { index: 0 }));

    // Key work resumes, and the refused wrong PINs did not lock the user.
    let s2 = user(&mut hsm, "acme");
    hsm.seal_envelope(&mut OsRng, s2, k, &ctx("acme"), b"record").unwrap();
}

#[test]
fn the_security_officer_cannot_use_up_the_auditors_reserve() {
    let mut hsm = small_log_hsm();
    let mut logins = 0;
    let err = loop {
        match hsm.login_so(0, SO_PIN) {
            Ok(so) => {
                hsm.logout(so).unwrap();
                logins += 1;
            }
            Err(e) => break e,
        }
        assert!(logins < 100, "the log never filled");
    };
    assert_eq!(err, Error::AuditFull);
    // Wrong SO PINs are refused before the check too: the SO is not locked.
    for _ in 0..10 {
        assert_eq!(hsm.login_so(0, b"wrong-pin!").unwrap_err(), Error::AuditFull);
    }
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    let held = hsm.audit_records(auditor).unwrap().len();
    assert_eq!(held, 57, "56 up to the SO's limit, then the auditor's login");
    hsm.audit_archive(auditor, held).unwrap();
    // After archiving, the keystore saves and the SO logs in again.
    let mut storage = MemoryStorage::new();
    let master = MasterKey::from_slice(&[9u8; 32]).unwrap();
    let so_session = hsm.login_so(0, SO_PIN).unwrap();
    hsm.save(&mut OsRng, so_session, &mut storage, &KeySource::MasterKey(&master)).unwrap();
    hsm.login_so(0, SO_PIN).unwrap();
}

#[test]
fn audit_limits_and_archives_survive_the_keystore() {
    let mut hsm = small_log_hsm();
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    let archived = hsm.audit_archive(auditor, 3).unwrap();
    let mut storage = MemoryStorage::new();
    let master = MasterKey::from_slice(&[9u8; 32]).unwrap();
    let so_session = hsm.login_so(0, SO_PIN).unwrap();
    hsm.save(&mut OsRng, so_session, &mut storage, &KeySource::MasterKey(&master)).unwrap();
    let loaded = Hsm::load(&mut storage, &KeySource::MasterKey(&master), None, Box::new(FixedClock)).unwrap();
    assert_eq!(loaded.config().audit_max_records, 60);
    let mut loaded = loaded;
    let auditor = loaded.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    assert_eq!(loaded.audit_verify_archive(auditor, &[archived]), Ok(()));
    assert_eq!(loaded.audit_records(auditor).unwrap()[0].seq, 3);
}

#[test]
fn an_audit_config_outside_its_ranges_is_refused() {
    for (max, reserve) in [(60, 60), (60, 1), (2_000_000, 64), (10, 0)] {
        let config = Config { audit_max_records: max, audit_reserve: reserve, ..config() };
        assert_eq!(
            Hsm::new(1, config, Box::new(FixedClock)).unwrap_err(),
            Error::InvalidInput,
            "{max}/{reserve}"
        );
    }
}

#[test]
fn certificate_objects_can_be_required_to_chain_to_a_stored_ca() {
    use coffer_core::cert::{
        self, CaParams, KeyAlgorithm, KeyPair, LeafParams, LeafUsage, SignatureScheme, Validity,
    };
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let make_ca = |subject: &str, not_after: u64| {
        let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
        let params = CaParams {
            subject,
            validity: Validity { not_before: 1_700_000_000, not_after },
            path_len: Some(0),
        };
        let ca = cert::self_signed_ca(&mut OsRng, &key, &params).unwrap();
        (key, ca)
    };
    let issue = |ca: &cert::Certificate, ca_key: &KeyPair, not_after: u64| {
        let agent = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
        let params = LeafParams {
            validity: Validity { not_before: 1_700_000_000, not_after },
            usage: LeafUsage::Client,
            sans: &[],
            key_usage: None,
        };
        cert::issue_leaf(
            &mut OsRng,
            ca,
            ca_key,
            SignatureScheme::EcdsaP256Sha256,
            "CN=agent-7",
            &agent.public_key(),
            &params,
        )
        .unwrap()
    };
    let (ca_key, ca) = make_ca("CN=Acme Agents CA", 1_900_000_000);
    let ca_obj = hsm.import_certificate(s, attrs("acme", "agents-ca", Usage::NONE), ca.to_der()).unwrap();

    // Issued by the stored CA: stored, and it verifies again later.
    let good = issue(&ca, &ca_key, 1_800_000_000);
    let leaf = hsm
        .import_certificate_issued_by(s, attrs("acme", "agent-7", Usage::NONE), good.to_der(), ca_obj)
        .unwrap();
    assert_eq!(hsm.verify_certificate(s, leaf, ca_obj), Ok(()));

    // Issued by another CA with the same name: refused, nothing stored.
    let (other_key, other_ca) = make_ca("CN=Acme Agents CA", 1_900_000_000);
    let forged = issue(&other_ca, &other_key, 1_800_000_000);
    assert_eq!(
        hsm.import_certificate_issued_by(s, attrs("acme", "forged", Usage::NONE), forged.to_der(), ca_obj)
            .unwrap_err(),
        Error::Crypto(coffer_core::Error::Verify)
    );
    assert_eq!(hsm.find(s, "forged").unwrap_err(), Error::NotFound);

    // Expired at the HSM clock's time (1,790,000,000).
    let expired = issue(&ca, &ca_key, 1_780_000_000);
    assert_eq!(
        hsm.import_certificate_issued_by(s, attrs("acme", "old", Usage::NONE), expired.to_der(), ca_obj)
            .unwrap_err(),
        Error::Crypto(coffer_core::Error::CertificateExpired)
    );

    // A leaf is not a CA; a key that is not a certificate is not a CA object.
    assert_eq!(
        hsm.import_certificate_issued_by(s, attrs("acme", "chained", Usage::NONE), good.to_der(), leaf)
            .unwrap_err(),
        Error::Crypto(coffer_core::Error::NotACa)
    );
    let k = kek(&mut hsm, s, "acme");
    assert_eq!(hsm.verify_certificate(s, k, ca_obj).unwrap_err(), Error::InvalidInput);
    assert_eq!(
        hsm.import_certificate_issued_by(s, attrs("acme", "x", Usage::NONE), good.to_der(), k).unwrap_err(),
        Error::InvalidInput
    );

    // A deactivated CA still verifies; another tenant's CA is refused.
    hsm.set_state(s, ca_obj, KeyState::Deactivated).unwrap();
    assert_eq!(hsm.verify_certificate(s, leaf, ca_obj), Ok(()));
    let b = hsm.login(0, USER, USER_PIN, Some("globex")).unwrap();
    assert_eq!(
        hsm.import_certificate_issued_by(b, attrs("globex", "a", Usage::NONE), good.to_der(), ca_obj)
            .unwrap_err(),
        Error::TenantNotAllowed
    );
    assert_eq!(hsm.find(b, "a").unwrap_err(), Error::NotFound, "nothing was stored");
}

#[test]
fn data_keys_wrap_under_the_current_version_and_unwrap_under_any() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let k = kek(&mut hsm, s, "acme");
    assert!(hsm.info(s, k).unwrap().sensitive, "secret keys are sensitive");
    let dek = [0x5au8; 32];
    let v1 = hsm.wrap_key(s, k, &dek).unwrap();
    assert_eq!(v1.len(), 40);
    hsm.rotate(&mut OsRng, s, k).unwrap();
    let v2 = hsm.wrap_key(s, k, &dek).unwrap();
    assert_ne!(v1, v2, "a new version wraps");
    assert_eq!(&hsm.unwrap_key(s, k, &v1).unwrap()[..], &dek);
    assert_eq!(&hsm.unwrap_key(s, k, &v2).unwrap()[..], &dek);
    let mut bad = v2.clone();
    bad[3] ^= 1;
    assert_eq!(hsm.unwrap_key(s, k, &bad).unwrap_err(), Error::Crypto(coffer_core::Error::Decrypt));
    assert_eq!(hsm.wrap_key(s, k, &[]).unwrap_err(), Error::InvalidInput);
    assert_eq!(hsm.wrap_key(s, k, &vec![0u8; 16 * 1024 + 1]).unwrap_err(), Error::InvalidInput);

    // AES-KW (RFC 3394): 8-byte multiples only; the two modes do not mix.
    let kw = hsm.wrap_key_kw(s, k, &dek).unwrap();
    assert_eq!(kw.len(), 40);
    assert_eq!(&hsm.unwrap_key_kw(s, k, &kw).unwrap()[..], &dek);
    assert_eq!(hsm.unwrap_key(s, k, &kw).unwrap_err(), Error::Crypto(coffer_core::Error::Decrypt));
    assert_eq!(hsm.unwrap_key_kw(s, k, &v2).unwrap_err(), Error::Crypto(coffer_core::Error::Decrypt));
    // 20 bytes is not a multiple of 8: AES-KW's `InvalidLength` (`Kek::wrap`).
    assert_eq!(
        hsm.wrap_key_kw(s, k, &[1u8; 20]).unwrap_err(),
        Error::Crypto(coffer_core::Error::InvalidLength)
    );

    // Deactivated: unwraps what exists, wraps nothing new.
    hsm.set_state(s, k, KeyState::Deactivated).unwrap();
    assert_eq!(hsm.wrap_key(s, k, &dek).unwrap_err(), Error::KeyState);
    assert_eq!(&hsm.unwrap_key(s, k, &v1).unwrap()[..], &dek);

    // Usage: a seal-only key neither wraps nor unwraps.
    let seal_only =
        hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs("acme", "seal-only", Usage::ENCRYPT)).unwrap();
    assert_eq!(hsm.wrap_key(s, seal_only, &dek).unwrap_err(), Error::PolicyDenied);
    assert_eq!(hsm.unwrap_key(s, seal_only, &v1).unwrap_err(), Error::PolicyDenied);
    // Another tenant's session is refused the key.
    let b = hsm.login(0, USER, USER_PIN, Some("globex")).unwrap();
    assert_eq!(hsm.unwrap_key(b, k, &v1).unwrap_err(), Error::TenantNotAllowed);
}

/// A clock the test moves forward.
#[derive(Clone, Default)]
struct TestClock(std::sync::Arc<std::sync::atomic::AtomicU64>);
impl Clock for TestClock {
    fn now(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[test]
fn the_lifecycle_sweep_deactivates_expired_keys_and_the_expiry_survives_the_keystore() {
    let clock = TestClock::default();
    clock.0.store(1_800_000_000, std::sync::atomic::Ordering::SeqCst);
    let mut hsm = Hsm::new(1, config(), Box::new(clock.clone())).unwrap();
    hsm.init_token(&mut OsRng, 0, "main", SO_PIN).unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    create_tenants_and_user(&mut hsm, so);
    let s = user(&mut hsm, "acme");
    let mac = Usage::SIGN | Usage::VERIFY;
    let old = hsm.generate(&mut OsRng, s, KeyType::HmacSha256, attrs("acme", "hooks-1", mac)).unwrap();
    let new = hsm.generate(&mut OsRng, s, KeyType::HmacSha256, attrs("acme", "hooks-2", mac)).unwrap();
    let forever = hsm.generate(&mut OsRng, s, KeyType::HmacSha256, attrs("acme", "hooks-0", mac)).unwrap();
    hsm.set_expiry(s, old, Some(1_800_000_100)).unwrap();
    hsm.set_expiry(s, new, Some(1_800_086_400)).unwrap();
    assert_eq!(hsm.info(s, old).unwrap().expires_at, Some(1_800_000_100));
    let tag = hsm.hmac_sign(s, old, &[b"1800000050.", b"{}"]).unwrap();

    // Not yet due.
    assert_eq!(hsm.sweep_expired(s).unwrap(), vec![]);
    clock.0.store(1_800_000_100, std::sync::atomic::Ordering::SeqCst);
    // Expired and not yet swept: it signs nothing new, and still verifies.
    assert_eq!(hsm.hmac_sign(s, old, &[b"x"]).unwrap_err(), Error::KeyExpired);
    assert_eq!(hsm.hmac_verify(s, old, &[b"1800000050.", b"{}"], &tag), Ok(()));
    assert_eq!(hsm.sweep_expired(s).unwrap(), vec![old]);
    assert_eq!(hsm.info(s, old).unwrap().state, KeyState::Deactivated);
    assert_eq!(hsm.info(s, new).unwrap().state, KeyState::Active);
    assert_eq!(hsm.info(s, forever).unwrap().state, KeyState::Active);
    // Deactivated: it signs nothing new, and still verifies what it signed.
    assert_eq!(hsm.hmac_sign(s, old, &[b"x"]).unwrap_err(), Error::KeyState);
    assert_eq!(hsm.hmac_verify(s, old, &[b"1800000050.", b"{}"], &tag), Ok(()));

    // Only the tenant's own keys are swept; expiry persists. (A version-1
    // keystore binds the user to the tenants that have keys: globex gets one.)
    let g = user(&mut hsm, "globex");
    hsm.generate(&mut OsRng, g, KeyType::HmacSha256, attrs("globex", "hooks-g", mac)).unwrap();
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let mut storage = MemoryStorage::new();
    let so_session = hsm.login_so(0, SO_PIN).unwrap();
    hsm.save(&mut OsRng, so_session, &mut storage, &KeySource::MasterKey(&master)).unwrap();
    let mut loaded =
        Hsm::load(&mut storage, &KeySource::MasterKey(&master), None, Box::new(clock.clone())).unwrap();
    let s = loaded.login(0, USER, USER_PIN, Some("acme")).unwrap();
    assert_eq!(loaded.info(s, new).unwrap().expires_at, Some(1_800_086_400));
    clock.0.store(1_900_000_000, std::sync::atomic::Ordering::SeqCst);
    let other = loaded.login(0, USER, USER_PIN, Some("globex")).unwrap();
    assert_eq!(loaded.sweep_expired(other).unwrap(), vec![]);
    assert_eq!(loaded.sweep_expired(s).unwrap(), vec![new]);
    // Clearing an expiry; a destroyed key takes none.
    loaded.set_expiry(s, forever, None).unwrap();
    loaded.destroy(s, forever).unwrap();
    assert_eq!(loaded.set_expiry(s, forever, Some(1)).unwrap_err(), Error::KeyState);
    assert_eq!(loaded.set_expiry(other, new, Some(1)).unwrap_err(), Error::TenantNotAllowed);
}

#[test]
fn envelopes_stream_by_handle_for_the_kek_and_extra_public_key_recipients() {
    use coffer_core::envelope::{self, Recipient, UnlockKey};
    use coffer_core::p256::P256SecretKey;
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let k = kek(&mut hsm, s, "acme");
    let partner = P256SecretKey::generate(&mut OsRng).unwrap();
    let partner_pk = partner.public_key();
    let extra = [Recipient::P256 { key_id: b"partner", version: 1, public_key: &partner_pk }];
    let plaintext: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let mut sealed = Vec::new();
    let n = hsm.seal_stream(&mut OsRng, s, k, &extra, &ctx("acme"), &plaintext[..], &mut sealed).unwrap();
    assert_eq!(n, plaintext.len() as u64);

    // The HSM opens it by handle, streaming; the partner opens it with its own key.
    let mut opened = Vec::new();
    hsm.open_stream(&mut OsRng, s, k, &ctx("acme"), &sealed[..], &mut opened).unwrap();
    assert_eq!(opened, plaintext);
    let unlock = [UnlockKey::P256 { key_id: b"partner", version: 1, secret_key: &partner }];
    assert_eq!(&envelope::open(&mut OsRng, &unlock, &ctx("acme"), &sealed).unwrap()[..], &plaintext[..]);

    // Wrong context, a flipped byte: the opaque error.
    let mut out = Vec::new();
    assert_eq!(
        hsm.open_stream(&mut OsRng, s, k, &ctx("globex"), &sealed[..], &mut out).unwrap_err(),
        Error::Crypto(coffer_core::Error::Decrypt)
    );
    let mut bad = sealed.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(
        hsm.open_stream(&mut OsRng, s, k, &ctx("acme"), &bad[..], &mut Vec::new()).unwrap_err(),
        Error::Crypto(coffer_core::Error::Decrypt)
    );
}

#[test]
fn sign_with_uses_the_scheme_asked_for_and_refuses_the_other_key_types() {
    use coffer_core::cert::{PublicKey, SignatureScheme};
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let usage = Usage::SIGN | Usage::VERIFY;
    let rsa = hsm.generate(&mut OsRng, s, KeyType::Rsa2048, attrs("acme", "rsa-schemes", usage)).unwrap();
    let ec = hsm.generate(&mut OsRng, s, KeyType::P256, attrs("acme", "ec-schemes", usage)).unwrap();
    let rsa_public = PublicKey::from_spki_der(&hsm.public_key_der(s, rsa).unwrap()).unwrap();
    for scheme in [SignatureScheme::RsaPkcs1Sha256, SignatureScheme::RsaPssSha256] {
        let sig = hsm.sign_with(&mut OsRng, s, rsa, scheme, b"hello").unwrap();
        rsa_public.verify(scheme, b"hello", &sig).unwrap();
        hsm.verify_with(s, rsa, scheme, b"hello", &sig).unwrap();
        let wrong = hsm.verify_with(s, rsa, scheme, b"hellO", &sig).unwrap_err();
        assert_eq!(wrong, Error::Crypto(coffer_core::Error::Verify));
    }
    // PKCS#1 v1.5 signatures are deterministic; PSS ones are not.
    let a = hsm.sign_with(&mut OsRng, s, rsa, SignatureScheme::RsaPkcs1Sha256, b"m").unwrap();
    let b = hsm.sign_with(&mut OsRng, s, rsa, SignatureScheme::RsaPkcs1Sha256, b"m").unwrap();
    assert_eq!(a, b);
    let pss = hsm.sign_with(&mut OsRng, s, rsa, SignatureScheme::RsaPssSha256, b"m").unwrap();
    let pkcs1 = hsm.verify_with(s, rsa, SignatureScheme::RsaPkcs1Sha256, b"m", &pss).unwrap_err();
    assert_eq!(pkcs1, Error::Crypto(coffer_core::Error::Verify));

    let sig = hsm.sign_with(&mut OsRng, s, ec, SignatureScheme::EcdsaP256Sha256, b"hello").unwrap();
    hsm.verify(s, ec, b"hello", &sig).unwrap();
    hsm.verify_with(s, ec, SignatureScheme::EcdsaP256Sha256, b"hello", &sig).unwrap();
    let ec_with_rsa = hsm.sign_with(&mut OsRng, s, ec, SignatureScheme::RsaPssSha256, b"m").unwrap_err();
    assert_eq!(ec_with_rsa, Error::InvalidInput);
    let rsa_with_ec = hsm.sign_with(&mut OsRng, s, rsa, SignatureScheme::EcdsaP256Sha256, b"m").unwrap_err();
    assert_eq!(rsa_with_ec, Error::InvalidInput);
}

#[test]
fn session_tenant_names_the_users_tenant_and_none_for_the_security_officer() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "globex");
    assert_eq!(hsm.session_tenant(s).unwrap().as_deref(), Some("globex"));
    let so = hsm.login_so(0, SO_PIN).unwrap();
    assert_eq!(hsm.session_tenant(so).unwrap(), None);
    hsm.logout(s).unwrap();
    assert_eq!(hsm.session_tenant(s).unwrap_err(), Error::NotLoggedIn);
}
