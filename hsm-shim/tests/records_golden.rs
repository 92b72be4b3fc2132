//! Keystore version 2 (KEYSTORE.md §12) against an independent
//! implementation: `vectors/keystore_v2/make_golden.py`, Python
//! `cryptography` and `hashlib` written from the spec text alone.
//!
//! - Golden records built by Python open in Rust and give the golden
//!   results (HMAC, AES-KWP wrap, listing, audit chain, generation).
//! - Negative vectors, each changing one thing in the golden records, fail
//!   with the exact error the spec names.
//! - Records written by Rust are read and verified by the Python reader.
//!
//! `golden.json` is checked in and never regenerated silently: a test
//! checks that the script still reproduces it byte for byte.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use coffer_core::envelope::EncryptionContext;
use coffer_core::rng::OsRng;
use coffer_hsm::audit::{Actor, AuditEvent, KeyRef, Operation};
use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::record_store::{MAX_SCAN, MemoryStore, RecordStore};
use coffer_hsm::{Clock, Config, Error, Handle, Hsm, KeyAttributes, KeyInfo, KeyState, KeyType, Role, Usage};
use serde_json::Value;

/// The clock of every HSM in these tests: after the golden records' times.
const NOW: u64 = 1_800_000_000;

struct FixedClock;
impl Clock for FixedClock {
    fn now(&self) -> u64 {
        NOW
    }
}

type Rows = Vec<(Vec<u8>, Vec<u8>)>;

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn script() -> PathBuf {
    repo_path("vectors/keystore_v2/make_golden.py")
}

fn golden() -> Value {
    let path = repo_path("vectors/keystore_v2/golden.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn from_hex(s: &str) -> Vec<u8> {
    assert_eq!(s.len() % 2, 0, "odd-length hex {s}");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_field(v: &Value) -> Vec<u8> {
    from_hex(v.as_str().unwrap())
}

fn golden_rows() -> Rows {
    golden()["rows"].as_array().unwrap().iter().map(|row| (hex_field(&row[0]), hex_field(&row[1]))).collect()
}

fn golden_master() -> MasterKey {
    MasterKey::from_bytes(core::array::from_fn(|i| i as u8))
}

/// The value of record `key` in `rows`.
fn value_of(rows: &Rows, key: &[u8]) -> Vec<u8> {
    rows.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no record {}", to_hex(key))).1.clone()
}

fn set_row(rows: &mut Rows, key: &[u8], value: Vec<u8>) {
    match rows.iter_mut().find(|(k, _)| k == key) {
        Some(row) => row.1 = value,
        None => rows.push((key.to_vec(), value)),
    }
}

fn delete_row(rows: &mut Rows, key: &[u8]) {
    let before = rows.len();
    rows.retain(|(k, _)| k != key);
    assert_eq!(rows.len(), before - 1, "record {} was not there to delete", to_hex(key));
}

/// The rows in a fresh store: begin, put each, commit.
fn store_of(rows: &Rows) -> MemoryStore {
    let mut store = MemoryStore::new();
    let mut tx = store.begin().unwrap();
    for (k, v) in rows {
        tx.put(k, v).unwrap();
    }
    tx.commit().unwrap();
    store
}

fn open_rows(rows: &Rows, master: &MasterKey) -> Result<Hsm, Error> {
    Hsm::open(&mut OsRng, Box::new(store_of(rows)), &KeySource::MasterKey(master), Box::new(FixedClock))
}

fn open_golden(rows: &Rows) -> Hsm {
    open_rows(rows, &golden_master()).unwrap()
}

/// The golden PINs (`facts.pins`).
const SO_PIN: &[u8] = b"so-pin-1";
const USER_PIN: &[u8] = b"user-pin";
const AUDITOR_PIN: &[u8] = b"audit-pin";
/// The credentials [`provision`] creates.
const USER: &str = "user";
const AUDITOR: &str = "auditor";

/// The golden records predate per-user credentials: their user and auditor
/// PIN records (kind 0x11, roles 0x02 and 0x03) log nobody in. The golden
/// security officer (PIN record 0x11/0x01, which still opens) creates the
/// tenants acme and globex, the user [`USER`] of both and the auditor
/// [`AUDITOR`], with the golden PINs: the audit records of
/// [`provisioned_events`].
fn provision(hsm: &mut Hsm) {
    let so = hsm.login_so(0, SO_PIN).unwrap();
    for tenant in ["acme", "globex"] {
        hsm.create_tenant(so, tenant).unwrap();
    }
    hsm.create_user(&mut OsRng, so, USER, Role::User, &["acme", "globex"], USER_PIN).unwrap();
    hsm.create_user(&mut OsRng, so, AUDITOR, Role::Auditor, &[], AUDITOR_PIN).unwrap();
    hsm.logout(so).unwrap();
}

/// The golden records, opened and [`provision`]ed.
fn open_provisioned(rows: &Rows) -> Hsm {
    let mut hsm = open_golden(rows);
    provision(&mut hsm);
    hsm
}

fn user_actor() -> Actor {
    Actor { user: USER.into(), role: Role::User }
}

fn auditor_actor() -> Actor {
    Actor { user: AUDITOR.into(), role: Role::Auditor }
}

/// The audit events of [`provision`], in sequence order.
fn provisioned_events() -> Vec<AuditEvent> {
    vec![
        AuditEvent::UserLoggedIn {
            who: Actor { user: Actor::SECURITY_OFFICER.into(), role: Role::SecurityOfficer },
            tenant: String::new(),
        },
        AuditEvent::TenantCreated { tenant: "acme".into() },
        AuditEvent::TenantCreated { tenant: "globex".into() },
        AuditEvent::UserCreated { user: user_actor(), tenants: vec!["acme".into(), "globex".into()] },
        AuditEvent::UserCreated { user: auditor_actor(), tenants: vec![] },
    ]
}

fn key_record(handle: u64) -> Vec<u8> {
    let mut k = vec![0x12, 0x00];
    k.extend_from_slice(&handle.to_be_bytes());
    k
}

fn audit_record(seq: u64) -> Vec<u8> {
    let mut k = vec![0x15, 0x00];
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn key_ref(key_id: &str, version: u32, handle: u64) -> KeyRef {
    KeyRef { tenant: "acme".into(), key_id: key_id.into(), version, handle }
}

/// The golden audit events, written out here from the brief (not read from
/// the JSON), in sequence order.
fn golden_events() -> Vec<AuditEvent> {
    vec![
        AuditEvent::TokenInitialized,
        AuditEvent::PinChanged { role: Role::User },
        AuditEvent::PinChanged { role: Role::Auditor },
        AuditEvent::KeyCreated { key: key_ref("webhooks", 1, 1) },
        AuditEvent::KeyCreated { key: key_ref("kek", 1, 2) },
        AuditEvent::KeyRotated { key: key_ref("kek", 2, 2), new_version: 2 },
    ]
}

// ------------------------------------------------------------ (a) golden records open in Rust

#[test]
fn golden_records_open_at_their_stored_generation_with_their_config_and_label() {
    let g = golden();
    let mut hsm = open_golden(&golden_rows());
    assert_eq!(hsm.generation(), g["facts"]["generation"].as_u64().unwrap());
    assert_eq!(hsm.generation(), 7);
    assert_eq!(
        hsm.config(),
        Config {
            max_pin_failures: 5,
            pin_iterations: 1000,
            allow_plain_import: false,
            audit_max_records: 1000,
            audit_reserve: 10,
        }
    );
    assert_eq!(hsm.token_label(0).unwrap(), "golden");
    assert_eq!(hsm.token_label(1), Err(Error::InvalidInput), "slot_count is 1");
    // Reading writes nothing; the first write (a login's audit record) is
    // generation + 1. (The golden security officer's PIN record opens.)
    assert_eq!(hsm.generation(), 7);
    hsm.login_so(0, SO_PIN).unwrap();
    assert_eq!(hsm.generation(), 8);
}

#[test]
fn golden_webhook_key_gives_the_golden_hmac() {
    let g = golden();
    let mut hsm = open_provisioned(&golden_rows());
    let user = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    let webhooks = hsm.find(user, "webhooks").unwrap();
    assert_eq!(webhooks, Handle::from_raw(1));
    let message = hex_field(&g["facts"]["hmac_message"]);
    assert_eq!(message, b"golden message");
    let tag = hsm.hmac_sign(user, webhooks, &[&message]).unwrap();
    assert_eq!(to_hex(&tag), g["facts"]["hmac_webhooks"].as_str().unwrap());
    assert_eq!(hsm.hmac_verify(user, webhooks, &[&message], &tag), Ok(()));
}

#[test]
fn golden_kek_wraps_under_its_version_2_material_as_the_golden_kwp() {
    let g = golden();
    let mut hsm = open_provisioned(&golden_rows());
    let user = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    let kek = hsm.find(user, "kek").unwrap();
    assert_eq!(kek, Handle::from_raw(2));
    let wrapped = hsm.wrap_key(user, kek, &[0x11; 32]).unwrap();
    assert_eq!(to_hex(&wrapped), g["facts"]["kwp_kek_v2"].as_str().unwrap());
    assert_eq!(&hsm.unwrap_key(user, kek, &wrapped).unwrap()[..], &[0x11; 32]);
}

#[test]
fn golden_keys_list_with_their_attributes_and_versions() {
    let mut hsm = open_provisioned(&golden_rows());
    let user = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    let attrs = |label: &str, key_id: &str, usage: Usage| KeyAttributes {
        label: label.into(),
        tenant: "acme".into(),
        key_id: key_id.into(),
        usage,
        extractable: false,
        active: true,
    };
    // In key id order: "kek" < "webhooks".
    let expected = vec![
        KeyInfo {
            handle: Handle::from_raw(2),
            key_type: KeyType::Aes256,
            attributes: attrs(
                "acme kek",
                "kek",
                Usage::ENCRYPT | Usage::DECRYPT | Usage::WRAP | Usage::UNWRAP,
            ),
            state: KeyState::Active,
            version: 2,
            expires_at: None,
            sensitive: true,
        },
        KeyInfo {
            handle: Handle::from_raw(1),
            key_type: KeyType::HmacSha256,
            attributes: attrs("acme webhooks", "webhooks", Usage::SIGN | Usage::VERIFY),
            state: KeyState::Active,
            version: 1,
            expires_at: None,
            sensitive: true,
        },
    ];
    assert_eq!(hsm.list(user).unwrap(), expected);
    // Version 1 of the kek is kept: Python's KWP wrap under its material unwraps.
    let wrapped_v1 = hex_field(&golden()["facts"]["kwp_kek_v1"]);
    assert_eq!(&hsm.unwrap_key(user, Handle::from_raw(2), &wrapped_v1).unwrap()[..], &[0x11; 32]);
}

#[test]
fn golden_audit_chain_verifies_and_the_auditor_sees_the_golden_records_first() {
    let g = golden();
    let mut hsm = open_provisioned(&golden_rows());
    let user = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    let webhooks = hsm.find(user, "webhooks").unwrap();
    hsm.hmac_sign(user, webhooks, &[b"golden message"]).unwrap();
    let kek = hsm.find(user, "kek").unwrap();
    hsm.wrap_key(user, kek, &[0x11; 32]).unwrap();
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();

    let records = hsm.audit_records(auditor).unwrap();
    let golden_audit = g["facts"]["audit"].as_array().unwrap();
    let mut expected = golden_events();
    expected.extend(provisioned_events());
    expected.extend([
        AuditEvent::UserLoggedIn { who: user_actor(), tenant: "acme".into() },
        AuditEvent::KeyUsed { key: key_ref("webhooks", 1, 1), operation: Operation::Sign },
        AuditEvent::KeyUsed { key: key_ref("kek", 2, 2), operation: Operation::Wrap },
        AuditEvent::UserLoggedIn { who: auditor_actor(), tenant: String::new() },
    ]);
    assert_eq!(records.iter().map(|r| r.event.clone()).collect::<Vec<_>>(), expected);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64);
        match golden_audit.get(i) {
            Some(want) => {
                assert_eq!(r.time, want["time"].as_u64().unwrap(), "time of record {i}");
                assert_eq!(to_hex(&r.mac), want["mac"].as_str().unwrap(), "MAC of record {i}");
            }
            None => assert_eq!(r.time, NOW, "time of record {i}, written by this test"),
        }
    }
    // The first new record chains from the golden head's last MAC.
    assert_eq!(
        golden_audit.last().unwrap()["mac"],
        g["facts"]["audit_head"]["last_mac"],
        "golden head's last_mac is its last record's MAC"
    );
    assert_eq!(hsm.audit_verify(auditor), Ok(()));
    let (next_seq, last_mac) = hsm.audit_head(auditor).unwrap();
    assert_eq!(next_seq, 15, "6 golden, 5 of provisioning, 4 of this test");
    assert_eq!(last_mac, records.last().unwrap().mac);
}

// ------------------------------------------------------------ (b) negative vectors

#[test]
fn a_key_value_stored_under_another_handle_is_keystore_auth_when_used() {
    let mut rows = golden_rows();
    let webhooks_value = value_of(&rows, &key_record(1));
    set_row(&mut rows, &key_record(2), webhooks_value);
    let mut hsm = open_provisioned(&rows);
    let user = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    // find is the one index read of §12.1 ("finds a key by (tenant, key id)
    // with one read"): it does not open the key record, so it still answers.
    let kek = hsm.find(user, "kek").unwrap();
    assert_eq!(kek, Handle::from_raw(2));
    // Every use opens the record, which no longer opens under its record key.
    assert_eq!(hsm.wrap_key(user, kek, &[0x11; 32]), Err(Error::KeystoreAuth));
    assert_eq!(hsm.info(user, kek), Err(Error::KeystoreAuth));
    assert_eq!(hsm.list(user), Err(Error::KeystoreAuth));
    // The record left in place still works.
    let webhooks = hsm.find(user, "webhooks").unwrap();
    assert!(hsm.hmac_sign(user, webhooks, &[b"golden message"]).is_ok());
}

/// An index value moved to another tenant's index key is `KeystoreAuth`,
/// not `NotFound`: the sealed value is bound to its record key (the
/// associated data holds it, §12.2), so the lookup under the other tenant's
/// key finds a record but cannot open it. (`NotFound` would mean Rust looked
/// up another key than the Python-computed blinded index.)
#[test]
fn an_index_value_moved_to_another_tenants_index_key_is_keystore_auth() {
    let g = golden();
    let mut rows = golden_rows();
    let acme_webhooks = hex_field(&g["facts"]["keys"][0]["index_record_key"]);
    let globex_webhooks = hex_field(&g["facts"]["globex_webhooks_index_record_key"]);
    let moved = value_of(&rows, &acme_webhooks);
    set_row(&mut rows, &globex_webhooks, moved);
    let mut hsm = open_provisioned(&rows);
    let globex = hsm.login(0, USER, USER_PIN, Some("globex")).unwrap();
    assert_eq!(hsm.find(globex, "webhooks"), Err(Error::KeystoreAuth));
    assert_eq!(hsm.find(globex, "kek"), Err(Error::NotFound), "globex has no kek entry at all");
}

#[test]
fn a_deleted_index_entry_reads_as_not_found() {
    let g = golden();
    let mut rows = golden_rows();
    delete_row(&mut rows, &hex_field(&g["facts"]["keys"][0]["index_record_key"]));
    let mut hsm = open_provisioned(&rows);
    let user = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    assert_eq!(hsm.find(user, "webhooks"), Err(Error::NotFound));
    assert_eq!(hsm.find(user, "kek"), Ok(Handle::from_raw(2)));
}

#[test]
fn a_deleted_key_record_reads_as_not_found_when_used() {
    let mut rows = golden_rows();
    delete_row(&mut rows, &key_record(1));
    let mut hsm = open_provisioned(&rows);
    let user = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    // The index entry is still there and find reads only it.
    let webhooks = hsm.find(user, "webhooks").unwrap();
    assert_eq!(hsm.hmac_sign(user, webhooks, &[b"golden message"]), Err(Error::NotFound));
    assert_eq!(hsm.info(user, webhooks), Err(Error::NotFound));
}

/// KEYSTORE.md §12.6 says "a deleted key or index entry reads as
/// `NotFound`"; a listing that meets an index entry whose key record is
/// gone fails as a whole with `KeystoreCorrupt` instead (the Python reader
/// calls that store corrupt too). This pins today's behaviour, so that a
/// change (skip the key, or `NotFound`) is a deliberate one; the spec
/// sentence does not say what a listing does.
#[test]
fn listing_a_tenant_whose_key_record_was_deleted_is_keystore_corrupt() {
    let mut rows = golden_rows();
    delete_row(&mut rows, &key_record(1));
    let mut hsm = open_provisioned(&rows);
    let user = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    assert_eq!(hsm.list(user), Err(Error::KeystoreCorrupt));
}

#[test]
fn any_changed_byte_of_the_meta_check_nonce_or_tag_is_keystore_auth_at_open() {
    let rows = golden_rows();
    let meta = value_of(&rows, &[0x00]);
    assert_eq!(meta.len(), 4 + 1 + 1 + 12 + 16, "raw-key meta record");
    for i in 6..meta.len() {
        let mut changed = rows.clone();
        let mut m = meta.clone();
        m[i] ^= 0x01;
        set_row(&mut changed, &[0x00], m);
        assert_eq!(open_rows(&changed, &golden_master()).unwrap_err(), Error::KeystoreAuth, "byte {i}");
    }
}

#[test]
fn a_changed_meta_header_is_keystore_corrupt_at_open() {
    let rows = golden_rows();
    let meta = value_of(&rows, &[0x00]);
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    for i in 0..4 {
        let mut m = meta.clone();
        m[i] ^= 0x20;
        cases.push(("magic", m));
    }
    let mut m = meta.clone();
    m[4] = 0x01;
    cases.push(("version 01", m));
    let mut m = meta.clone();
    m[5] = 0x02;
    cases.push(("reserved kdf 02", m));
    let mut m = meta.clone();
    m[5] = 0x01;
    cases.push(("kdf 01 without room for its parameters", m));
    cases.push(("one byte short", meta[..meta.len() - 1].to_vec()));
    let mut m = meta.clone();
    m.push(0);
    cases.push(("one trailing byte", m));
    for (what, m) in cases {
        let mut changed = rows.clone();
        set_row(&mut changed, &[0x00], m);
        assert_eq!(open_rows(&changed, &golden_master()).unwrap_err(), Error::KeystoreCorrupt, "{what}");
    }
}

#[test]
fn a_store_without_a_meta_record_holds_no_hsm() {
    let mut rows = golden_rows();
    delete_row(&mut rows, &[0x00]);
    assert_eq!(open_rows(&rows, &golden_master()).unwrap_err(), Error::TokenState);
}

#[test]
fn a_wrong_master_key_is_keystore_auth_at_open() {
    let mut wrong: [u8; 32] = core::array::from_fn(|i| i as u8);
    wrong[31] ^= 0x80;
    assert_eq!(open_rows(&golden_rows(), &MasterKey::from_bytes(wrong)).unwrap_err(), Error::KeystoreAuth);
}

#[test]
fn a_passphrase_does_not_open_a_raw_master_key_store() {
    let store = store_of(&golden_rows());
    let err = Hsm::open(
        &mut OsRng,
        Box::new(store),
        &KeySource::Passphrase(b"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
        Box::new(FixedClock),
    )
    .unwrap_err();
    assert_eq!(err, Error::KeystoreAuth);
}

#[test]
fn an_audit_record_deleted_from_the_middle_is_audit_tampered_at_its_index() {
    let mut rows = golden_rows();
    delete_row(&mut rows, &audit_record(2));
    let mut hsm = open_provisioned(&rows);
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    assert_eq!(hsm.audit_verify(auditor), Err(Error::AuditTampered { index: 2 }));
}

/// Lowering the head's `next_seq` would need a re-seal, impossible without
/// the master key; deleting the last record is what the store can do, and
/// the head (which still counts it) catches it.
#[test]
fn the_last_audit_record_deleted_is_audit_tampered_at_its_index() {
    let mut rows = golden_rows();
    delete_row(&mut rows, &audit_record(5));
    let mut hsm = open_provisioned(&rows);
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    // Provisioning and the login appended records 6.. after the head; record 5 is the gap.
    assert_eq!(hsm.audit_verify(auditor), Err(Error::AuditTampered { index: 5 }));
}

/// Every record of `kind` in `store`.
fn rows_of_kind(store: &mut dyn RecordStore, kind: u8) -> Rows {
    let mut tx = store.begin().unwrap();
    tx.scan(&[kind], None, MAX_SCAN).unwrap()
}

/// The credentials are user records (kind 0x16) on top of the golden ones,
/// each sealed to its own record key (a blinded user name).
#[test]
fn a_user_pin_record_copied_to_the_auditor_is_keystore_auth_at_auditor_login() {
    let reopen = |store| {
        Hsm::open(&mut OsRng, store, &KeySource::MasterKey(&golden_master()), Box::new(FixedClock)).unwrap()
    };
    // The user's record key is the one kind 0x16 record before the auditor is made.
    let mut hsm = open_golden(&golden_rows());
    let so = hsm.login_so(0, SO_PIN).unwrap();
    hsm.create_tenant(so, "acme").unwrap();
    hsm.create_user(&mut OsRng, so, USER, Role::User, &["acme"], USER_PIN).unwrap();
    let mut store = hsm.into_store();
    let users = rows_of_kind(store.as_mut(), 0x16);
    assert_eq!(users.len(), 1);
    let (user_key, user_record) = users[0].clone();
    let mut hsm = reopen(store);
    let so = hsm.login_so(0, SO_PIN).unwrap();
    hsm.create_user(&mut OsRng, so, AUDITOR, Role::Auditor, &[], AUDITOR_PIN).unwrap();
    let mut store = hsm.into_store();
    let users = rows_of_kind(store.as_mut(), 0x16);
    assert_eq!(users.len(), 2);
    let auditor_key = users.iter().map(|(k, _)| k.clone()).find(|k| *k != user_key).unwrap();

    {
        let mut tx = store.begin().unwrap();
        tx.put(&auditor_key, &user_record).unwrap();
        tx.commit().unwrap();
    }
    let mut hsm = reopen(store);
    assert_eq!(hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap_err(), Error::KeystoreAuth);
    assert_eq!(hsm.login(0, AUDITOR, USER_PIN, None).unwrap_err(), Error::KeystoreAuth);
    assert!(hsm.login(0, USER, USER_PIN, Some("acme")).is_ok(), "the user's own record still opens");
}

/// The golden role PIN records are bound to their record keys too: the
/// user's copied onto the security officer's opens for neither PIN.
#[test]
fn the_golden_user_pin_record_copied_to_the_security_officer_is_keystore_auth_at_so_login() {
    let mut rows = golden_rows();
    let user_pin = value_of(&rows, &[0x11, 0x00, 0x02]);
    set_row(&mut rows, &[0x11, 0x00, 0x01], user_pin);
    let mut hsm = open_golden(&rows);
    assert_eq!(hsm.login_so(0, SO_PIN).unwrap_err(), Error::KeystoreAuth);
    assert_eq!(hsm.login_so(0, USER_PIN).unwrap_err(), Error::KeystoreAuth);
}

// ------------------------------------------------------------ (c) the Python reader

/// Whether python3 with `cryptography` (AES-GCM-SIV) is here. Absent: a CI
/// run fails with what to install; a local run prints one SKIPPED line.
fn python_ready(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{test}: python3 with the cryptography package is needed; install it with: pip install cryptography"
        );
    }
    println!(
        "SKIPPED: {test}: python3 with the cryptography package is needed; install it with: pip install cryptography"
    );
    false
}

fn run_python(args: &[&str]) -> Output {
    Command::new("python3").arg(script()).args(args).output().expect("running python3")
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("coffer-records-golden-{}-{name}", std::process::id()))
}

fn write_rows_json(path: &Path, rows: &Rows) {
    let rows: Vec<[String; 2]> = rows.iter().map(|(k, v)| [to_hex(k), to_hex(v)]).collect();
    std::fs::write(path, serde_json::to_string(&serde_json::json!({ "rows": rows })).unwrap()).unwrap();
}

/// `--read` of `rows`; returns (exit code, stdout, stderr).
fn python_read(name: &str, rows: &Rows, master: &[u8; 32]) -> (i32, String, String) {
    let path = temp_path(name);
    write_rows_json(&path, rows);
    let out = run_python(&["--read", path.to_str().unwrap(), "--master-hex", &to_hex(master)]);
    std::fs::remove_file(&path).unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The value of `name: value` lines of the reader's summary.
fn summary_line<'a>(stdout: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}: ");
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no `{name}:` line in\n{stdout}"))
}

/// `field=value` of a summary line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}=");
    line.split(' ').find_map(|w| w.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {name}= in `{line}`"))
}

#[test]
fn python_regenerates_golden_json_byte_for_byte() {
    if !python_ready("python_regenerates_golden_json_byte_for_byte") {
        return;
    }
    let path = temp_path("regenerated.json");
    let out = run_python(&["--out", path.to_str().unwrap()]);
    assert!(out.status.success(), "make_golden.py failed: {}", String::from_utf8_lossy(&out.stderr));
    let fresh = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let committed = std::fs::read(repo_path("vectors/keystore_v2/golden.json")).unwrap();
    assert!(fresh == committed, "make_golden.py no longer reproduces the committed golden.json");
}

#[test]
fn python_reader_verifies_the_golden_records_and_rejects_a_wrong_master_key() {
    if !python_ready("python_reader_verifies_the_golden_records_and_rejects_a_wrong_master_key") {
        return;
    }
    let master = *golden_master().as_bytes();
    let (code, stdout, stderr) = python_read("golden-ok.json", &golden_rows(), &master);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary_line(&stdout, "generation"), "7");
    assert_eq!(summary_line(&stdout, "audit 0"), "verified=6 anchor_seq=0 next_seq=6");

    let mut wrong = master;
    wrong[0] ^= 1;
    let (code, _, stderr) = python_read("golden-wrong-key.json", &golden_rows(), &wrong);
    assert_eq!(code, 1);
    assert!(stderr.starts_with("FAILED: KeystoreAuth: meta check tag"), "{stderr}");
}

#[test]
fn python_reader_rejects_a_golden_audit_record_deleted_from_the_middle() {
    if !python_ready("python_reader_rejects_a_golden_audit_record_deleted_from_the_middle") {
        return;
    }
    let mut rows = golden_rows();
    delete_row(&mut rows, &audit_record(2));
    let (code, _, stderr) = python_read("golden-gap.json", &rows, golden_master().as_bytes());
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("FAILED: AuditTampered: slot 0: audit record seq 2 (index 2) is missing"),
        "{stderr}"
    );
}

/// A store written by Rust through the public API (two slots, every
/// symmetric and asymmetric key type but certificates, rotation, expiry,
/// deactivation, a wrong PIN, a destroyed key, archived audit records) is
/// read by the Python reader, and its summary is what Rust wrote.
#[test]
fn python_reader_verifies_a_store_written_by_rust() {
    if !python_ready("python_reader_verifies_a_store_written_by_rust") {
        return;
    }
    let master_bytes: [u8; 32] = core::array::from_fn(|i| (0xc0 + i) as u8);
    let master = MasterKey::from_bytes(master_bytes);
    let config =
        Config { pin_iterations: 1_000, audit_max_records: 1_000, audit_reserve: 10, ..Config::default() };
    let mut hsm = Hsm::create(
        &mut OsRng,
        Box::new(MemoryStore::new()),
        &KeySource::MasterKey(&master),
        2,
        config,
        Box::new(FixedClock),
    )
    .unwrap();
    hsm.init_token(&mut OsRng, 0, "rust written", b"so-pin-1").unwrap();
    hsm.init_token(&mut OsRng, 1, "second slot", b"so-pin-2").unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    for tenant in ["acme", "globex"] {
        hsm.create_tenant(so, tenant).unwrap();
    }
    hsm.create_user(&mut OsRng, so, USER, Role::User, &["acme", "globex"], USER_PIN).unwrap();
    hsm.create_user(&mut OsRng, so, AUDITOR, Role::Auditor, &[], AUDITOR_PIN).unwrap();

    let acme = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    let attrs = |tenant: &str, key_id: &str, usage: Usage, extractable: bool| KeyAttributes {
        label: format!("{tenant} {key_id}"),
        tenant: tenant.into(),
        key_id: key_id.into(),
        usage,
        extractable,
        active: true,
    };
    let envelope_usage = Usage::ENCRYPT | Usage::DECRYPT | Usage::WRAP | Usage::UNWRAP;
    let kek =
        hsm.generate(&mut OsRng, acme, KeyType::Aes256, attrs("acme", "kek", envelope_usage, false)).unwrap();
    let hooks = hsm
        .generate(
            &mut OsRng,
            acme,
            KeyType::HmacSha256,
            attrs("acme", "webhooks", Usage::SIGN | Usage::VERIFY, true),
        )
        .unwrap();
    let p256 = hsm
        .generate(
            &mut OsRng,
            acme,
            KeyType::P256,
            attrs("acme", "signing", Usage::SIGN | Usage::VERIFY, false),
        )
        .unwrap();
    let rsa = hsm
        .generate(
            &mut OsRng,
            acme,
            KeyType::Rsa2048,
            attrs("acme", "rsa", Usage::ENCRYPT | Usage::DECRYPT, false),
        )
        .unwrap();
    assert_eq!(hsm.rotate(&mut OsRng, acme, kek).unwrap(), 2);
    assert_eq!(hsm.rotate(&mut OsRng, acme, kek).unwrap(), 3);
    let mut context = EncryptionContext::new();
    context.insert(b"tenant", b"acme").unwrap();
    let sealed = hsm.seal_envelope(&mut OsRng, acme, kek, &context, b"records golden").unwrap();
    assert_eq!(&hsm.open_envelope(&mut OsRng, acme, kek, &context, &sealed).unwrap()[..], b"records golden");
    hsm.hmac_sign(acme, hooks, &[b"x"]).unwrap();
    hsm.set_expiry(acme, p256, Some(2_000_000_000)).unwrap();
    hsm.set_state(acme, rsa, KeyState::Deactivated).unwrap();
    hsm.destroy(acme, hooks).unwrap();

    let globex = hsm.login(0, USER, USER_PIN, Some("globex")).unwrap();
    hsm.generate(&mut OsRng, globex, KeyType::Aes256, attrs("globex", "kek", envelope_usage, false)).unwrap();
    assert_eq!(hsm.login(0, USER, b"wrong-pin", Some("acme")).unwrap_err(), Error::PinIncorrect);

    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    let archived = hsm.audit_archive(auditor, 3).unwrap();
    assert_eq!(archived.records.len(), 3);
    assert_eq!(hsm.audit_verify(auditor), Ok(()));

    // What Rust says it holds, before the store is handed over.
    let live = hsm.audit_records(auditor).unwrap().len();
    let (next_seq, _) = hsm.audit_head(auditor).unwrap();
    let mut keys = hsm.list(acme).unwrap();
    keys.extend(hsm.list(globex).unwrap());
    let generation = hsm.generation();
    assert_eq!(keys.len(), 5);
    // The wrong PIN counted, on the user's own credential.
    let users = hsm.users(so).unwrap();
    let failures: Vec<(&str, u8)> = users.iter().map(|u| (u.name.as_str(), u.failures)).collect();
    assert_eq!(failures, [(AUDITOR, 0), (USER, 1)]);

    let mut store = hsm.into_store();
    let rows = {
        let mut tx = store.begin().unwrap();
        tx.scan(&[], None, MAX_SCAN).unwrap()
    };
    let (code, stdout, stderr) = python_read("rust-written.json", &rows, &master_bytes);
    assert_eq!(code, 0, "the Python reader refused the Rust-written store: {stderr}\n{stdout}");

    let records = summary_line(&stdout, "records");
    assert_eq!(field(records, "key"), "5");
    assert_eq!(field(records, "index"), "5");
    assert_eq!(field(records, "token"), "2");
    assert_eq!(field(records, "audit_head"), "2");
    // The reader ignores the kinds it does not know (§12.7): the user
    // (0x16) and tenant (0x17) records, 2 + 2 of slot 0.
    let credential_rows = rows.iter().filter(|(k, _)| matches!(k.first(), Some(0x16 | 0x17))).count();
    assert_eq!(credential_rows, 4);
    assert_eq!(field(records, "pin"), "2", "only the security officers' PIN records");
    assert_eq!(field(records, "ignored"), credential_rows.to_string());
    assert_eq!(summary_line(&stdout, "generation"), generation.to_string());
    assert_eq!(summary_line(&stdout, "tenants"), "\"acme\",\"globex\"");
    assert_eq!(
        summary_line(&stdout, "config"),
        "max_pin_failures=5 pin_iterations=1000 allow_plain_import=0 audit_max_records=1000 audit_reserve=10 slot_count=2"
    );
    assert_eq!(summary_line(&stdout, "slot 0"), "label=\"rust written\" next_handle=6 keys=5 pins=so");
    assert_eq!(summary_line(&stdout, "slot 1"), "label=\"second slot\" next_handle=1 keys=0 pins=so");
    assert_eq!(field(summary_line(&stdout, "pin 0/so"), "failures"), "0");

    let audit = summary_line(&stdout, "audit 0");
    assert_eq!(field(audit, "verified"), live.to_string());
    assert_eq!(field(audit, "anchor_seq"), "3");
    assert_eq!(field(audit, "next_seq"), next_seq.to_string());
    assert_eq!(summary_line(&stdout, "audit 1"), "verified=1 anchor_seq=0 next_seq=1");

    for info in &keys {
        let line = summary_line(&stdout, &format!("key 0/{}", info.handle.get()));
        let key_type = match info.key_type {
            KeyType::Aes256 => "aes-256",
            KeyType::HmacSha256 => "hmac-sha256",
            KeyType::P256 => "p-256",
            KeyType::Rsa2048 => "rsa-2048",
            other => panic!("unexpected key type {other:?}"),
        };
        let state = match info.state {
            KeyState::PreActive => "pre-active",
            KeyState::Active => "active",
            KeyState::Deactivated => "deactivated",
            KeyState::Destroyed => "destroyed",
            other => panic!("unexpected state {other:?}"),
        };
        assert_eq!(field(line, "type"), key_type, "{line}");
        assert_eq!(field(line, "tenant"), format!("\"{}\"", info.attributes.tenant), "{line}");
        assert_eq!(field(line, "key_id"), format!("\"{}\"", info.attributes.key_id), "{line}");
        assert_eq!(field(line, "state"), state, "{line}");
        assert_eq!(field(line, "latest"), info.version.to_string(), "{line}");
        assert_eq!(field(line, "extractable"), if info.attributes.extractable { "1" } else { "0" }, "{line}");
        assert_eq!(field(line, "expires_at"), info.expires_at.unwrap_or(0).to_string(), "{line}");
    }
    let hooks_line = summary_line(&stdout, &format!("key 0/{}", hooks.get()));
    assert_eq!(field(hooks_line, "state"), "destroyed");
    assert_eq!(field(hooks_line, "versions"), "-", "a destroyed key keeps no version");
    assert_eq!(field(summary_line(&stdout, &format!("key 0/{}", kek.get())), "versions"), "1,2,3");
    assert_eq!(field(summary_line(&stdout, &format!("key 0/{}", rsa.get())), "state"), "deactivated");
}
