//! Data encryption by handle (AES-256-GCM and RSA-OAEP): round trips,
//! the usage, state and tenant rules with their audit records, refusals of
//! a wrong tag, nonce, associated data or label, and decryption with a
//! rotated key's older versions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use coffer_core::rng::OsRng;
use coffer_hsm::audit::{AuditEvent, Operation, Refusal};
use coffer_hsm::{
    Config, Error, Handle, Hsm, KeyAttributes, KeyState, KeyType, Role, SessionId, SystemClock, Usage,
};

const SO_PIN: &[u8] = b"so-pin-123456";
const USER_PIN: &[u8] = b"user-pin-123456";
const AUDITOR_PIN: &[u8] = b"auditor-pin-1234";
const DECRYPT: coffer_core::Error = coffer_core::Error::Decrypt;

/// An HSM whose token has the tenants acme and globex, a user of both and an auditor.
fn hsm() -> Hsm {
    let mut hsm =
        Hsm::new(1, Config { pin_iterations: 1_000, ..Config::default() }, Box::new(SystemClock)).unwrap();
    hsm.init_token(&mut OsRng, 0, "main", SO_PIN).unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    for tenant in ["acme", "globex"] {
        hsm.create_tenant(&mut OsRng, so, tenant).unwrap();
    }
    hsm.create_user(&mut OsRng, so, "user", Role::User, &["acme", "globex"], USER_PIN).unwrap();
    hsm.create_user(&mut OsRng, so, "auditor", Role::Auditor, &[], AUDITOR_PIN).unwrap();
    hsm.logout(so).unwrap();
    hsm
}

fn user(hsm: &mut Hsm, tenant: &str) -> SessionId {
    hsm.login(0, "user", USER_PIN, Some(tenant)).unwrap()
}

fn key(hsm: &mut Hsm, s: SessionId, tenant: &str, key_type: KeyType, key_id: &str, usage: Usage) -> Handle {
    let attrs = KeyAttributes {
        label: format!("{tenant}/{key_id}"),
        tenant: tenant.into(),
        key_id: key_id.into(),
        usage,
        extractable: false,
        active: true,
    };
    hsm.generate(&mut OsRng, s, key_type, attrs).unwrap()
}

/// The token's last audit record about a key (a use or a refusal).
fn last_key_event(hsm: &mut Hsm) -> AuditEvent {
    let auditor = hsm.login(0, "auditor", AUDITOR_PIN, None).unwrap();
    let records = hsm.audit_records(auditor).unwrap();
    hsm.logout(auditor).unwrap();
    records
        .into_iter()
        .rev()
        .map(|r| r.event)
        .find(|e| matches!(e, AuditEvent::KeyUsed { .. } | AuditEvent::Refused { key: Some(_), .. }))
        .expect("a key event")
}

/// The operation of a `KeyUsed` record, or the attempt and reason of a refusal.
fn used(event: &AuditEvent) -> Option<Operation> {
    match event {
        AuditEvent::KeyUsed { operation, .. } => Some(*operation),
        _ => None,
    }
}

fn refused(event: &AuditEvent) -> Option<(Operation, Refusal)> {
    match event {
        AuditEvent::Refused { attempted, reason, .. } => Some((*attempted, *reason)),
        _ => None,
    }
}

/// Usage ENCRYPT and DECRYPT.
fn both() -> Usage {
    Usage::ENCRYPT | Usage::DECRYPT
}

#[test]
fn gcm_round_trips_and_each_use_is_audited() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let k = key(&mut hsm, s, "acme", KeyType::Aes256, "records", both());
    let nonce = [3; 12];
    let sealed = hsm.encrypt_gcm(s, k, &nonce, b"record 17", b"balance: 100").unwrap();
    assert_eq!(sealed.len(), 12 + 16);
    assert_eq!(used(&last_key_event(&mut hsm)), Some(Operation::Seal));
    assert_eq!(&hsm.decrypt_gcm(s, k, &nonce, b"record 17", &sealed).unwrap()[..], b"balance: 100");
    assert_eq!(used(&last_key_event(&mut hsm)), Some(Operation::Open));
    // The empty message still has a tag.
    let empty = hsm.encrypt_gcm(s, k, &[4; 12], b"", b"").unwrap();
    assert_eq!(empty.len(), 16);
    assert!(hsm.decrypt_gcm(s, k, &[4; 12], b"", &empty).unwrap().is_empty());
}

#[test]
fn gcm_refuses_a_changed_tag_ciphertext_nonce_or_associated_data() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let k = key(&mut hsm, s, "acme", KeyType::Aes256, "records", both());
    let nonce = [5; 12];
    let sealed = hsm.encrypt_gcm(s, k, &nonce, b"aad", b"the plaintext").unwrap();
    for i in [0, 5, sealed.len() - 16, sealed.len() - 1] {
        let mut bad = sealed.clone();
        bad[i] ^= 0x80;
        assert_eq!(hsm.decrypt_gcm(s, k, &nonce, b"aad", &bad).unwrap_err(), Error::Crypto(DECRYPT), "{i}");
    }
    assert_eq!(hsm.decrypt_gcm(s, k, &[6; 12], b"aad", &sealed).unwrap_err(), Error::Crypto(DECRYPT));
    assert_eq!(hsm.decrypt_gcm(s, k, &nonce, b"aae", &sealed).unwrap_err(), Error::Crypto(DECRYPT));
    assert_eq!(hsm.decrypt_gcm(s, k, &nonce, b"aad", &sealed[..15]).unwrap_err(), Error::Crypto(DECRYPT));
    assert_eq!(hsm.decrypt_gcm(s, k, &nonce, b"aad", &sealed[1..]).unwrap_err(), Error::Crypto(DECRYPT));
}

#[test]
fn oaep_round_trips_and_a_wrong_label_or_ciphertext_is_refused() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let k = key(&mut hsm, s, "acme", KeyType::Rsa2048, "transport", both());
    let ct = hsm.encrypt_oaep(&mut OsRng, s, k, b"label", b"a data key").unwrap();
    assert_eq!(ct.len(), 256);
    assert_eq!(used(&last_key_event(&mut hsm)), Some(Operation::Seal));
    assert_eq!(&hsm.decrypt_oaep(&mut OsRng, s, k, b"label", &ct).unwrap()[..], b"a data key");
    assert_eq!(used(&last_key_event(&mut hsm)), Some(Operation::Open));
    let wrong =
        |hsm: &mut Hsm, label: &[u8], ct: &[u8]| hsm.decrypt_oaep(&mut OsRng, s, k, label, ct).unwrap_err();
    assert_eq!(wrong(&mut hsm, b"", &ct), Error::Crypto(DECRYPT));
    assert_eq!(wrong(&mut hsm, b"labe1", &ct), Error::Crypto(DECRYPT));
    assert_eq!(wrong(&mut hsm, b"label", &ct[1..]), Error::Crypto(DECRYPT));
    let mut flipped = ct.clone();
    flipped[100] ^= 1;
    assert_eq!(wrong(&mut hsm, b"label", &flipped), Error::Crypto(DECRYPT));
    // The longest plaintext for a 2048-bit key is 256 - 66 bytes.
    assert!(hsm.encrypt_oaep(&mut OsRng, s, k, b"", &[1; 190]).is_ok());
    assert_eq!(
        hsm.encrypt_oaep(&mut OsRng, s, k, b"", &[1; 191]).unwrap_err(),
        Error::Crypto(coffer_core::Error::InvalidLength)
    );
}

#[test]
fn oaep_decrypts_what_the_exported_public_key_encrypts() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let k = key(&mut hsm, s, "acme", KeyType::Rsa3072, "transport", Usage::DECRYPT);
    let spki = hsm.public_key_der(s, k).unwrap();
    let public = coffer_core::rsa::RsaPublicKey::from_spki_der(&spki).unwrap();
    let ct = public.oaep_encrypt_with_label(&mut OsRng, b"from outside", b"ctx").unwrap();
    assert_eq!(&hsm.decrypt_oaep(&mut OsRng, s, k, b"ctx", &ct).unwrap()[..], b"from outside");
}

#[test]
fn a_key_without_the_usage_is_refused_and_the_refusal_audited() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let decrypt_only = key(&mut hsm, s, "acme", KeyType::Aes256, "d", Usage::DECRYPT);
    let encrypt_only = key(&mut hsm, s, "acme", KeyType::Aes256, "e", Usage::ENCRYPT);
    let signer = key(&mut hsm, s, "acme", KeyType::Rsa2048, "signer", Usage::SIGN | Usage::VERIFY);

    assert_eq!(hsm.encrypt_gcm(s, decrypt_only, &[0; 12], b"", b"x").unwrap_err(), Error::PolicyDenied);
    assert_eq!(refused(&last_key_event(&mut hsm)), Some((Operation::Seal, Refusal::UsageNotAllowed)));
    let sealed = hsm.encrypt_gcm(s, encrypt_only, &[0; 12], b"", b"x").unwrap();
    assert_eq!(hsm.decrypt_gcm(s, encrypt_only, &[0; 12], b"", &sealed).unwrap_err(), Error::PolicyDenied);
    assert_eq!(refused(&last_key_event(&mut hsm)), Some((Operation::Open, Refusal::UsageNotAllowed)));

    assert_eq!(hsm.encrypt_oaep(&mut OsRng, s, signer, b"", b"x").unwrap_err(), Error::PolicyDenied);
    assert_eq!(refused(&last_key_event(&mut hsm)), Some((Operation::Seal, Refusal::UsageNotAllowed)));
    assert_eq!(hsm.decrypt_oaep(&mut OsRng, s, signer, b"", &[0; 256]).unwrap_err(), Error::PolicyDenied);
    assert_eq!(refused(&last_key_event(&mut hsm)), Some((Operation::Open, Refusal::UsageNotAllowed)));

    // A key of the other kind is refused before any audit record.
    assert_eq!(hsm.encrypt_gcm(s, signer, &[0; 12], b"", b"x").unwrap_err(), Error::InvalidInput);
    assert_eq!(hsm.encrypt_oaep(&mut OsRng, s, encrypt_only, b"", b"x").unwrap_err(), Error::InvalidInput);
}

#[test]
fn a_rotated_key_still_decrypts_what_its_older_versions_encrypted() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let aes = key(&mut hsm, s, "acme", KeyType::Aes256, "records", both());
    let rsa = key(&mut hsm, s, "acme", KeyType::Rsa2048, "transport", both());
    let nonce = [9; 12];
    let old_gcm = hsm.encrypt_gcm(s, aes, &nonce, b"a", b"written under v1").unwrap();
    let old_oaep = hsm.encrypt_oaep(&mut OsRng, s, rsa, b"l", b"written under v1").unwrap();
    hsm.rotate(&mut OsRng, s, aes).unwrap();
    hsm.rotate(&mut OsRng, s, rsa).unwrap();
    assert_eq!(&hsm.decrypt_gcm(s, aes, &nonce, b"a", &old_gcm).unwrap()[..], b"written under v1");
    assert_eq!(&hsm.decrypt_oaep(&mut OsRng, s, rsa, b"l", &old_oaep).unwrap()[..], b"written under v1");
    // New encryptions use the new version: the same nonce gives other bytes.
    let new_gcm = hsm.encrypt_gcm(s, aes, &nonce, b"a", b"written under v1").unwrap();
    assert_ne!(new_gcm, old_gcm);
    assert_eq!(&hsm.decrypt_gcm(s, aes, &nonce, b"a", &new_gcm).unwrap()[..], b"written under v1");
}

#[test]
fn a_deactivated_key_decrypts_but_no_longer_encrypts() {
    let mut hsm = hsm();
    let s = user(&mut hsm, "acme");
    let aes = key(&mut hsm, s, "acme", KeyType::Aes256, "records", both());
    let rsa = key(&mut hsm, s, "acme", KeyType::Rsa2048, "transport", both());
    let sealed = hsm.encrypt_gcm(s, aes, &[1; 12], b"", b"old data").unwrap();
    let ct = hsm.encrypt_oaep(&mut OsRng, s, rsa, b"", b"old data").unwrap();
    hsm.set_state(s, aes, KeyState::Deactivated).unwrap();
    hsm.set_state(s, rsa, KeyState::Deactivated).unwrap();
    assert_eq!(hsm.encrypt_gcm(s, aes, &[2; 12], b"", b"new").unwrap_err(), Error::KeyState);
    assert_eq!(refused(&last_key_event(&mut hsm)), Some((Operation::Seal, Refusal::WrongState)));
    assert_eq!(hsm.encrypt_oaep(&mut OsRng, s, rsa, b"", b"new").unwrap_err(), Error::KeyState);
    assert_eq!(&hsm.decrypt_gcm(s, aes, &[1; 12], b"", &sealed).unwrap()[..], b"old data");
    assert_eq!(&hsm.decrypt_oaep(&mut OsRng, s, rsa, b"", &ct).unwrap()[..], b"old data");
}

#[test]
fn another_tenants_key_is_refused_and_the_refusal_audited() {
    let mut hsm = hsm();
    let globex = user(&mut hsm, "globex");
    let theirs = key(&mut hsm, globex, "globex", KeyType::Aes256, "payroll", both());
    let their_rsa = key(&mut hsm, globex, "globex", KeyType::Rsa2048, "transport", both());
    let sealed = hsm.encrypt_gcm(globex, theirs, &[1; 12], b"", b"salaries").unwrap();
    let ct = hsm.encrypt_oaep(&mut OsRng, globex, their_rsa, b"", b"salaries").unwrap();
    let acme = user(&mut hsm, "acme");
    assert_eq!(hsm.decrypt_gcm(acme, theirs, &[1; 12], b"", &sealed).unwrap_err(), Error::TenantNotAllowed);
    assert_eq!(refused(&last_key_event(&mut hsm)), Some((Operation::Open, Refusal::OtherTenant)));
    assert_eq!(hsm.encrypt_gcm(acme, theirs, &[2; 12], b"", b"x").unwrap_err(), Error::TenantNotAllowed);
    assert_eq!(hsm.decrypt_oaep(&mut OsRng, acme, their_rsa, b"", &ct).unwrap_err(), Error::TenantNotAllowed);
    assert_eq!(refused(&last_key_event(&mut hsm)), Some((Operation::Open, Refusal::OtherTenant)));
}
