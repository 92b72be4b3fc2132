//! Keystore version 2 (KEYSTORE.md §12) against an independent
//! implementation: `vectors/keystore_v2/make_golden.py`, Python
//! `cryptography` and `hashlib` written from the spec text alone.
//!
//! - Golden records built by Python open in Rust and give the golden
//!   results (HMAC, AES-KWP wrap, listing, audit chain, generation).
//! - Negative vectors, each changing one thing in the golden records, fail
//!   with the exact error the spec names.
//! - Records written by Rust are read and verified by the Python reader,
//!   which holds §13 to account too: with the passphrase alone it opens
//!   every record but no tenant's key material; with one user's PIN, that
//!   user's tenant's material and no other's (§13.6); and an offline reset
//!   of a failure count is found at login or by `audit_verify` (§13.4).
//!
//! The golden records predate credentials (§13.5): they hold role PIN
//! records (kind 0x11) and keys of tenant acme without tenant records, so
//! every `Hsm::open` of them converts them first, in one transaction.
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
use std::sync::atomic::{AtomicU32, Ordering};

use coffer_core::envelope::{EncryptionContext, KekHolder};
use coffer_core::keywrap::Kek;
use coffer_core::mac::HmacSha256Key;
use coffer_core::rng::OsRng;
use coffer_hsm::audit::{Actor, AuditEvent, KeyRef, Operation};
use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::record_store::{MAX_SCAN, MemoryStore, RecordStore};
use coffer_hsm::{
    Clock, Config, Error, Handle, Hsm, KeyAttributes, KeyInfo, KeyState, KeyType, Role, SessionId, Usage,
    V1_AUDITOR, V1_USER, WrapMechanism,
};
use coffer_store::SqliteStore;
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
/// The credentials the golden role PIN records become (§13.5).
const USER: &str = V1_USER;
const AUDITOR: &str = V1_AUDITOR;

fn so_actor() -> Actor {
    Actor { user: Actor::SECURITY_OFFICER.into(), role: Role::SecurityOfficer }
}

fn user_actor() -> Actor {
    Actor { user: USER.into(), role: Role::User }
}

fn auditor_actor() -> Actor {
    Actor { user: AUDITOR.into(), role: Role::Auditor }
}

/// The audit events of opening the golden records, in sequence order: the
/// conversion of §13.5 logs each role PIN record it turns into a credential
/// as `UserCreated` (the security officer, the user bound to the tenants
/// that have keys — acme alone — and the auditor).
fn converted_events() -> Vec<AuditEvent> {
    vec![
        AuditEvent::UserCreated { user: so_actor(), tenants: vec![] },
        AuditEvent::UserCreated { user: user_actor(), tenants: vec!["acme".into()] },
        AuditEvent::UserCreated { user: auditor_actor(), tenants: vec![] },
    ]
}

/// The PIN of the user `globex-user` of [`globex_session`].
const GLOBEX_PIN: &[u8] = b"globex-pin";

/// The golden tenant acme has no tenant key (it was converted); globex,
/// made here by the security officer, has one. Its user `globex-user`
/// (PIN [`GLOBEX_PIN`]) is logged in on globex.
fn globex_session(hsm: &mut Hsm) -> SessionId {
    let so = hsm.login_so(0, SO_PIN).unwrap();
    hsm.create_tenant(&mut OsRng, so, "globex").unwrap();
    hsm.create_user(&mut OsRng, so, "globex-user", Role::User, &["globex"], GLOBEX_PIN).unwrap();
    hsm.logout(so).unwrap();
    hsm.login(0, "globex-user", GLOBEX_PIN, Some("globex")).unwrap()
}

/// HKDF-SHA-256 with no salt, 32 bytes (RFC 5869), as §12.2 derives the
/// record keys: written here from the RFC, on HMAC alone.
fn hkdf32(ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let prk = HmacSha256Key::new(&[0u8; 32]).unwrap().sign(ikm);
    HmacSha256Key::new(&prk).unwrap().sign_parts(&[info, &[0x01]])
}

/// The record key of credential `name` (§12.1: `16 || slot || U`, with
/// `U = HMAC-SHA-256(index key, "user" || str(name))[0..16]`).
fn credential_record(master: &[u8; 32], slot: u8, name: &str) -> Vec<u8> {
    let index_key = HmacSha256Key::new(&hkdf32(master, b"coffer records v2 index")).unwrap();
    let u = index_key.sign_parts(&[b"user", &[name.len() as u8], name.as_bytes()]);
    let mut k = vec![0x16, slot];
    k.extend_from_slice(&u[..16]);
    k
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

/// The stored generation is 7; opening converts the role PIN records
/// (§13.5) in one transaction, which writes generation 8.
#[test]
fn golden_records_open_at_their_stored_generation_with_their_config_and_label() {
    let g = golden();
    let mut hsm = open_golden(&golden_rows());
    assert_eq!(g["facts"]["generation"].as_u64().unwrap(), 7);
    assert_eq!(hsm.generation(), 7 + 1, "the conversion is one transaction");
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
    // Reading writes nothing; the next write (a login's audit record) is
    // generation + 1. (The golden security officer's PIN, now the
    // credential `so`, logs in.)
    assert_eq!(hsm.generation(), 8);
    hsm.login_so(0, SO_PIN).unwrap();
    assert_eq!(hsm.generation(), 9);
}

/// §13.5 on the golden records: the tenant with keys (acme) gets a tenant
/// record, the role PINs become `so`, `user` (bound to acme) and
/// `auditor` with their hashes, and the role PIN records are gone.
#[test]
fn opening_the_golden_records_converts_their_role_pins_into_credentials() {
    let mut hsm = open_golden(&golden_rows());
    let so = hsm.login_so(0, SO_PIN).unwrap();
    let tenants: Vec<String> = hsm.tenants(so).unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(tenants, ["acme"]);
    let users: Vec<(String, Role, Vec<String>, u8)> =
        hsm.users(so).unwrap().into_iter().map(|u| (u.name, u.role, u.tenants, u.failures)).collect();
    assert_eq!(
        users,
        [(AUDITOR.into(), Role::Auditor, vec![], 0), (USER.into(), Role::User, vec!["acme".into()], 0)]
    );
    assert!(hsm.login(0, USER, USER_PIN, Some("acme")).is_ok());
    assert!(hsm.login(0, AUDITOR, AUDITOR_PIN, None).is_ok());
    let mut store = hsm.into_store();
    assert_eq!(rows_of_kind(store.as_mut(), 0x11), Rows::new(), "no role PIN record is left");
    assert_eq!(rows_of_kind(store.as_mut(), 0x16).len(), 3);
    assert_eq!(rows_of_kind(store.as_mut(), 0x17).len(), 1);
    assert_eq!(
        rows_of_kind(store.as_mut(), 0x18),
        Rows::new(),
        "acme's keys keep their material in the clear"
    );
}

#[test]
fn golden_webhook_key_gives_the_golden_hmac() {
    let g = golden();
    let mut hsm = open_golden(&golden_rows());
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
    let mut hsm = open_golden(&golden_rows());
    let user = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    let kek = hsm.find(user, "kek").unwrap();
    assert_eq!(kek, Handle::from_raw(2));
    let wrapped = hsm.wrap_key(user, kek, &[0x11; 32]).unwrap();
    assert_eq!(to_hex(&wrapped), g["facts"]["kwp_kek_v2"].as_str().unwrap());
    assert_eq!(&hsm.unwrap_key(user, kek, &wrapped).unwrap()[..], &[0x11; 32]);
}

#[test]
fn golden_keys_list_with_their_attributes_and_versions() {
    let mut hsm = open_golden(&golden_rows());
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
            // Records from before the `imported` bit read as generated.
            local: true,
        },
        KeyInfo {
            handle: Handle::from_raw(1),
            key_type: KeyType::HmacSha256,
            attributes: attrs("acme webhooks", "webhooks", Usage::SIGN | Usage::VERIFY),
            state: KeyState::Active,
            version: 1,
            expires_at: None,
            sensitive: true,
            // Records from before the `imported` bit read as generated.
            local: true,
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
    let mut hsm = open_golden(&golden_rows());
    let user = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    let webhooks = hsm.find(user, "webhooks").unwrap();
    hsm.hmac_sign(user, webhooks, &[b"golden message"]).unwrap();
    let kek = hsm.find(user, "kek").unwrap();
    hsm.wrap_key(user, kek, &[0x11; 32]).unwrap();
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();

    let records = hsm.audit_records(auditor).unwrap();
    let golden_audit = g["facts"]["audit"].as_array().unwrap();
    let mut expected = golden_events();
    expected.extend(converted_events());
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
    assert_eq!(next_seq, 13, "6 golden, 3 of the conversion, 4 of this test");
    assert_eq!(last_mac, records.last().unwrap().mac);
}

// ------------------------------------------------------------ (b) negative vectors

/// The golden records converted (§13.5), then the webhooks key's value
/// stored under the kek's handle. (Before the conversion the same change
/// fails the open: the conversion reads every key record for its tenant.)
#[test]
fn a_key_value_stored_under_another_handle_is_keystore_auth_when_used() {
    let mut rows = golden_rows();
    let webhooks_value = value_of(&rows, &key_record(1));
    set_row(&mut rows, &key_record(2), webhooks_value);
    assert_eq!(
        open_rows(&rows, &golden_master()).unwrap_err(),
        Error::KeystoreAuth,
        "the conversion reads it"
    );

    let mut rows = dump(open_golden(&golden_rows()).into_store().as_mut());
    let webhooks_value = value_of(&rows, &key_record(1));
    set_row(&mut rows, &key_record(2), webhooks_value);
    let mut hsm = open_golden(&rows);
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
    let mut hsm = open_golden(&rows);
    let globex = globex_session(&mut hsm);
    assert_eq!(hsm.find(globex, "webhooks"), Err(Error::KeystoreAuth));
    assert_eq!(hsm.find(globex, "kek"), Err(Error::NotFound), "globex has no kek entry at all");
}

#[test]
fn a_deleted_index_entry_reads_as_not_found() {
    let g = golden();
    let mut rows = golden_rows();
    delete_row(&mut rows, &hex_field(&g["facts"]["keys"][0]["index_record_key"]));
    let mut hsm = open_golden(&rows);
    let user = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    assert_eq!(hsm.find(user, "webhooks"), Err(Error::NotFound));
    assert_eq!(hsm.find(user, "kek"), Ok(Handle::from_raw(2)));
}

#[test]
fn a_deleted_key_record_reads_as_not_found_when_used() {
    let mut rows = golden_rows();
    delete_row(&mut rows, &key_record(1));
    let mut hsm = open_golden(&rows);
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
    let mut hsm = open_golden(&rows);
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
    cases.push(("kdf 02 without room for its wrapped master key", m));
    let mut m = meta.clone();
    m[5] = 0x03;
    cases.push(("reserved kdf 03", m));
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
    let mut hsm = open_golden(&rows);
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
    let mut hsm = open_golden(&rows);
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    // The conversion and the login appended records 6.. after the head; record 5 is the gap.
    assert_eq!(hsm.audit_verify(auditor), Err(Error::AuditTampered { index: 5 }));
}

/// Every record of `kind` in `store`.
fn rows_of_kind(store: &mut dyn RecordStore, kind: u8) -> Rows {
    let mut tx = store.begin().unwrap();
    tx.scan(&[kind], None, MAX_SCAN).unwrap()
}

/// The credentials (kind 0x16) are each sealed to their own record key (a
/// blinded user name, computed here from §12.1): the user's record copied
/// onto the auditor's opens for neither PIN, and the user's own still does.
#[test]
fn a_user_credential_record_copied_to_the_auditor_is_keystore_auth_at_auditor_login() {
    let master = *golden_master().as_bytes();
    let mut store = open_golden(&golden_rows()).into_store();
    let user_key = credential_record(&master, 0, USER);
    let auditor_key = credential_record(&master, 0, AUDITOR);
    let credentials = rows_of_kind(store.as_mut(), 0x16);
    let record_keys: Vec<&Vec<u8>> = credentials.iter().map(|(k, _)| k).collect();
    assert!(
        record_keys.contains(&&user_key) && record_keys.contains(&&auditor_key),
        "blinded names of §12.1"
    );
    let user_record = value_of(&credentials, &user_key);
    {
        let mut tx = store.begin().unwrap();
        tx.put(&auditor_key, &user_record).unwrap();
        tx.commit().unwrap();
    }
    let mut hsm =
        Hsm::open(&mut OsRng, store, &KeySource::MasterKey(&golden_master()), Box::new(FixedClock)).unwrap();
    assert_eq!(hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap_err(), Error::KeystoreAuth);
    assert_eq!(hsm.login(0, AUDITOR, USER_PIN, None).unwrap_err(), Error::KeystoreAuth);
    assert!(hsm.login(0, USER, USER_PIN, Some("acme")).is_ok(), "the user's own record still opens");
}

/// The golden role PIN records are bound to their record keys too: the
/// user's copied onto the security officer's opens for no PIN. The
/// conversion of §13.5 reads them when the store is opened, so it is the
/// open that fails, before anyone can log in.
#[test]
fn the_golden_user_pin_record_copied_to_the_security_officer_is_keystore_auth_at_open() {
    let mut rows = golden_rows();
    let user_pin = value_of(&rows, &[0x11, 0x00, 0x02]);
    set_row(&mut rows, &[0x11, 0x00, 0x01], user_pin);
    assert_eq!(open_rows(&rows, &golden_master()).unwrap_err(), Error::KeystoreAuth);
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

/// The script run with `args`: (exit code, stdout, stderr).
fn python(args: &[&str]) -> (i32, String, String) {
    let out = run_python(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A fresh temporary path: the process id and a counter keep the tests
/// that run in parallel apart.
fn temp_path(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("coffer-records-golden-{}-{n}-{name}", std::process::id()))
}

fn write_rows_json(path: &Path, rows: &Rows) {
    let rows: Vec<[String; 2]> = rows.iter().map(|(k, v)| [to_hex(k), to_hex(v)]).collect();
    std::fs::write(path, serde_json::to_string(&serde_json::json!({ "rows": rows })).unwrap()).unwrap();
}

fn read_rows_json(path: &Path) -> Rows {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["rows"].as_array().unwrap().iter().map(|row| (hex_field(&row[0]), hex_field(&row[1]))).collect()
}

/// `--read` of `rows`; returns (exit code, stdout, stderr).
fn python_read(name: &str, rows: &Rows, master: &[u8; 32]) -> (i32, String, String) {
    python_read_with(name, rows, master, &[])
}

/// `--read` of `rows` with more arguments (`--pin`, `--reset-failures`).
fn python_read_with(name: &str, rows: &Rows, master: &[u8; 32], more: &[&str]) -> (i32, String, String) {
    let path = temp_path(name);
    write_rows_json(&path, rows);
    let master = to_hex(master);
    let mut args = vec!["--read", path.to_str().unwrap(), "--master-hex", &master];
    args.extend_from_slice(more);
    let result = python(&args);
    std::fs::remove_file(&path).unwrap();
    result
}

/// Every record of `store`, as a dump of the database would hold them.
fn dump(store: &mut dyn RecordStore) -> Rows {
    let mut tx = store.begin().unwrap();
    tx.scan(&[], None, MAX_SCAN).unwrap()
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
        hsm.create_tenant(&mut OsRng, so, tenant).unwrap();
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

    let rows = dump(hsm.into_store().as_mut());
    let (code, stdout, stderr) = python_read("rust-written.json", &rows, &master_bytes);
    assert_eq!(code, 0, "the Python reader refused the Rust-written store: {stderr}\n{stdout}");

    let records = summary_line(&stdout, "records");
    // Tenants made by this version have tenant keys: every key is a sealed
    // key record (0x18), found through the same index (0x13).
    assert_eq!(field(records, "key"), "0");
    assert_eq!(field(records, "sealed_key"), "5");
    assert_eq!(field(records, "index"), "5");
    assert_eq!(field(records, "token"), "2");
    assert_eq!(field(records, "audit_head"), "2");
    // Credentials (0x16): so, user and auditor of slot 0, so of slot 1; no
    // role PIN record (0x11) is written any more. Tenants (0x17): 2.
    assert_eq!(field(records, "credential"), "4");
    assert_eq!(field(records, "pin"), "0");
    assert_eq!(field(records, "tenant"), "2");
    assert_eq!(field(records, "ignored"), "0", "the reader knows every kind Rust wrote");
    assert_eq!(summary_line(&stdout, "generation"), generation.to_string());
    assert_eq!(summary_line(&stdout, "tenants"), "\"acme\",\"globex\"");
    assert_eq!(
        summary_line(&stdout, "config"),
        "max_pin_failures=5 pin_iterations=1000 allow_plain_import=0 audit_max_records=1000 audit_reserve=10 slot_count=2"
    );
    assert_eq!(
        summary_line(&stdout, "slot 0"),
        "label=\"rust written\" next_handle=6 keys=5 pins=- credentials=auditor,so,user"
    );
    assert_eq!(
        summary_line(&stdout, "slot 1"),
        "label=\"second slot\" next_handle=1 keys=0 pins=- credentials=so"
    );
    assert_eq!(field(summary_line(&stdout, "credential 0/so"), "failures"), "0");
    // Each credential agrees with the audit record it names and with the
    // replayed chain (§13.4); the wrong PIN counted on the user's own.
    for name in ["so", USER, AUDITOR] {
        let line = summary_line(&stdout, &format!("credential 0/{name}"));
        assert_eq!(field(line, "binding"), "verified", "{line}");
        assert_eq!(field(line, "failures"), if name == USER { "1" } else { "0" }, "{line}");
    }
    assert_eq!(field(summary_line(&stdout, "credential 1/so"), "binding"), "verified");

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
        assert_eq!(field(line, "local"), if info.local { "1" } else { "0" }, "{line}");
        assert_eq!(field(line, "expires_at"), info.expires_at.unwrap_or(0).to_string(), "{line}");
    }
    let hooks_line = summary_line(&stdout, &format!("key 0/{}", hooks.get()));
    assert_eq!(field(hooks_line, "state"), "destroyed");
    assert_eq!(field(hooks_line, "versions"), "-", "a destroyed key keeps no version");
    assert_eq!(field(summary_line(&stdout, &format!("key 0/{}", kek.get())), "versions"), "1,2,3");
    assert_eq!(field(summary_line(&stdout, &format!("key 0/{}", rsa.get())), "state"), "deactivated");
}

/// The `flags` byte of a key record (§3.1): the Python reader, written from
/// the spec, reads bit 1 (imported) of keys that came in wrapped, with and
/// without bit 0 (extractable), and bit 1 clear for generated keys.
#[test]
fn python_reader_reads_the_imported_bit_of_unwrapped_keys() {
    if !python_ready("python_reader_reads_the_imported_bit_of_unwrapped_keys") {
        return;
    }
    let master_bytes: [u8; 32] = core::array::from_fn(|i| (0x40 + i) as u8);
    let master = MasterKey::from_bytes(master_bytes);
    let config = Config { pin_iterations: 1_000, ..Config::default() };
    let source = KeySource::MasterKey(&master);
    let mut hsm =
        Hsm::create(&mut OsRng, Box::new(MemoryStore::new()), &source, 1, config, Box::new(FixedClock))
            .unwrap();
    hsm.init_token(&mut OsRng, 0, "imported", SO_PIN).unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    hsm.create_tenant(&mut OsRng, so, "acme").unwrap();
    hsm.create_user(&mut OsRng, so, USER, Role::User, &["acme"], USER_PIN).unwrap();
    let s = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    let attrs = |key_id: &str, usage: Usage, extractable: bool| KeyAttributes {
        label: key_id.into(),
        tenant: "acme".into(),
        key_id: key_id.into(),
        usage,
        extractable,
        active: true,
    };
    let kek = hsm
        .generate(&mut OsRng, s, KeyType::Aes256, attrs("kek", Usage::WRAP | Usage::UNWRAP, false))
        .unwrap();
    let hooks = hsm.generate(&mut OsRng, s, KeyType::HmacSha256, attrs("hooks", Usage::SIGN, true)).unwrap();
    let wrapped = hsm.export_wrapped_as(&mut OsRng, s, kek, hooks, WrapMechanism::AesKw).unwrap();
    let mut imported = Vec::new();
    for (key_id, extractable) in [("copy", false), ("movable-copy", true)] {
        let a = attrs(key_id, Usage::SIGN, extractable);
        imported.push(
            hsm.import_wrapped_as(&mut OsRng, s, kek, WrapMechanism::AesKw, KeyType::HmacSha256, a, &wrapped)
                .unwrap(),
        );
    }
    let rows = dump(hsm.into_store().as_mut());
    let (code, stdout, stderr) = python_read("imported.json", &rows, &master_bytes);
    assert_eq!(code, 0, "the Python reader refused the store: {stderr}\n{stdout}");
    for (handle, extractable, local) in
        [(kek, "0", "1"), (hooks, "1", "1"), (imported[0], "0", "0"), (imported[1], "1", "0")]
    {
        let line = summary_line(&stdout, &format!("key 0/{}", handle.get()));
        assert_eq!((field(line, "extractable"), field(line, "local")), (extractable, local), "{line}");
    }
}

// ------------------------------------------------------------ (d) §13.6 with the Python reader as the other party

/// The message the Python reader authenticates with each key's material
/// (`CHECK_MESSAGE` in make_golden.py).
const CHECK_MESSAGE: &[u8] = b"coffer keystore v2 reader check";
const PASSPHRASE: &str = "a leaked passphrase";
const TOKEN_SO_PIN: &[u8] = b"so-pin-of-the-token";
const ALICE_PIN: &[u8] = b"alice-pin";
const BOB_PIN: &[u8] = b"bob-pin-1";

/// A token with tenants `tenant-a` and `tenant-b` (each with a tenant key),
/// the users alice (tenant-a) and bob (tenant-b), the auditor [`AUDITOR`]
/// and one HMAC key `hooks` in each tenant, made through the public API
/// (PIN iterations 1,000). Returns the HSM and each key's handle and its
/// HMAC-SHA-256 of [`CHECK_MESSAGE`] as the HSM computes it.
fn two_tenants(store: Box<dyn RecordStore + Send>, source: &KeySource<'_>) -> (Hsm, [(Handle, [u8; 32]); 2]) {
    let config = Config { pin_iterations: 1_000, ..Config::default() };
    let mut hsm = Hsm::create(&mut OsRng, store, source, 1, config, Box::new(FixedClock)).unwrap();
    hsm.init_token(&mut OsRng, 0, "tenant keys", TOKEN_SO_PIN).unwrap();
    let so = hsm.login_so(0, TOKEN_SO_PIN).unwrap();
    hsm.create_tenant(&mut OsRng, so, "tenant-a").unwrap();
    hsm.create_tenant(&mut OsRng, so, "tenant-b").unwrap();
    hsm.create_user(&mut OsRng, so, "alice", Role::User, &["tenant-a"], ALICE_PIN).unwrap();
    hsm.create_user(&mut OsRng, so, "bob", Role::User, &["tenant-b"], BOB_PIN).unwrap();
    hsm.create_user(&mut OsRng, so, AUDITOR, Role::Auditor, &[], AUDITOR_PIN).unwrap();
    let mut keys = Vec::new();
    for (user, pin, tenant) in [("alice", ALICE_PIN, "tenant-a"), ("bob", BOB_PIN, "tenant-b")] {
        let session = hsm.login(0, user, pin, Some(tenant)).unwrap();
        let attributes = KeyAttributes {
            label: format!("{tenant} hooks"),
            tenant: tenant.into(),
            key_id: "hooks".into(),
            usage: Usage::SIGN | Usage::VERIFY,
            extractable: false,
            active: true,
        };
        let handle = hsm.generate(&mut OsRng, session, KeyType::HmacSha256, attributes).unwrap();
        let tag = hsm.hmac_sign(session, handle, &[CHECK_MESSAGE]).unwrap();
        keys.push((handle, tag));
        hsm.logout(session).unwrap();
    }
    (hsm, [keys[0], keys[1]])
}

/// A SQLite store written by [`two_tenants`] under [`PASSPHRASE`], closed;
/// removed when dropped.
struct TwoTenantsFile {
    path: PathBuf,
    alice: (Handle, [u8; 32]),
    bob: (Handle, [u8; 32]),
}

impl TwoTenantsFile {
    fn new(name: &str) -> Self {
        let path = temp_path(name);
        let store = SqliteStore::open(&path).unwrap();
        let (hsm, [alice, bob]) = two_tenants(Box::new(store), &KeySource::Passphrase(PASSPHRASE.as_bytes()));
        drop(hsm); // closes the database
        TwoTenantsFile { path, alice, bob }
    }

    /// `--read` with the passphrase and `more`.
    fn read(&self, more: &[&str]) -> (i32, String, String) {
        let mut args = vec!["--read", self.path.to_str().unwrap(), "--passphrase", PASSPHRASE];
        args.extend_from_slice(more);
        python(&args)
    }
}

impl Drop for TwoTenantsFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// §13.6, first half: the store and its passphrase open every record —
/// names, credentials, attributes, the audit chain — but the material of
/// the keys of tenants with a tenant key stays sealed.
#[test]
fn python_with_the_passphrase_alone_opens_every_record_but_no_tenants_key_material() {
    if !python_ready("python_with_the_passphrase_alone_opens_every_record_but_no_tenants_key_material") {
        return;
    }
    let file = TwoTenantsFile::new("passphrase-alone.sqlite");
    let (code, stdout, stderr) = file.read(&[]);
    assert_eq!(code, 0, "{stderr}\n{stdout}");
    let records = summary_line(&stdout, "records");
    assert_eq!(field(records, "sealed_key"), "2");
    assert_eq!(field(records, "key"), "0", "no material in the clear");
    assert_eq!(field(records, "credential"), "4", "so, alice, bob and the auditor");
    assert_eq!(field(records, "tenant"), "2");
    assert_eq!(field(summary_line(&stdout, "credential 0/bob"), "tenants"), "\"tenant-b\"");
    assert_eq!(field(summary_line(&stdout, "credential 0/bob"), "binding"), "verified");
    assert_eq!(field(summary_line(&stdout, "tenant 0/tenant-a"), "state"), "tenant-key");
    for (handle, tenant) in [(file.alice.0, "tenant-a"), (file.bob.0, "tenant-b")] {
        let key = summary_line(&stdout, &format!("key 0/{}", handle.get()));
        assert_eq!(field(key, "tenant"), format!("\"{tenant}\""), "the attributes are readable");
        assert_eq!(field(key, "sealed"), "1");
        let material = summary_line(&stdout, &format!("material 0/{}", handle.get()));
        assert_eq!(material, format!("sealed tenant=\"{tenant}\" refused_by=-"));
    }
    assert!(!stdout.contains("hmac="), "no material was opened:\n{stdout}");
    assert!(!stdout.contains("unlocked "), "{stdout}");
}

/// §13.6, second half: with bob's PIN the reader opens tenant-b's grant and
/// so its key's material — whose HMAC of the check message is the HSM's —
/// while tenant-b's key does not open tenant-a's material. Alice's PIN is
/// the mirror image; the security officer's opens both (the SO's grants).
#[test]
fn python_with_bobs_pin_opens_tenant_b_material_only_and_agrees_with_the_hsm() {
    if !python_ready("python_with_bobs_pin_opens_tenant_b_material_only_and_agrees_with_the_hsm") {
        return;
    }
    let file = TwoTenantsFile::new("bobs-pin.sqlite");
    let (alice, bob) = (file.alice, file.bob);
    let material = |stdout: &str, handle: Handle| {
        summary_line(stdout, &format!("material 0/{}", handle.get())).to_string()
    };

    let bob_pin = format!("bob={}", std::str::from_utf8(BOB_PIN).unwrap());
    let (code, stdout, stderr) = file.read(&["--pin", &bob_pin]);
    assert_eq!(code, 0, "{stderr}\n{stdout}");
    assert_eq!(summary_line(&stdout, "unlocked 0/bob"), "tenant_keys=\"tenant-b\"");
    assert_eq!(material(&stdout, bob.0), format!("opened tenant=\"tenant-b\" hmac={}", to_hex(&bob.1)));
    // Tenant-b's key was tried on tenant-a's material, and refused.
    assert_eq!(material(&stdout, alice.0), "sealed tenant=\"tenant-a\" refused_by=\"tenant-b\"");

    let alice_pin = format!("alice={}", std::str::from_utf8(ALICE_PIN).unwrap());
    let (code, stdout, stderr) = file.read(&["--pin", &alice_pin]);
    assert_eq!(code, 0, "{stderr}\n{stdout}");
    assert_eq!(material(&stdout, alice.0), format!("opened tenant=\"tenant-a\" hmac={}", to_hex(&alice.1)));
    assert_eq!(material(&stdout, bob.0), "sealed tenant=\"tenant-b\" refused_by=\"tenant-a\"");

    let so_pin = format!("so={}", std::str::from_utf8(TOKEN_SO_PIN).unwrap());
    let (code, stdout, stderr) = file.read(&["--pin", &so_pin]);
    assert_eq!(code, 0, "{stderr}\n{stdout}");
    assert_eq!(summary_line(&stdout, "unlocked 0/so"), "tenant_keys=\"tenant-a\",\"tenant-b\"");
    assert_eq!(material(&stdout, alice.0), format!("opened tenant=\"tenant-a\" hmac={}", to_hex(&alice.1)));
    assert_eq!(material(&stdout, bob.0), format!("opened tenant=\"tenant-b\" hmac={}", to_hex(&bob.1)));

    // A wrong PIN opens nothing: the reader says so and stops.
    let (code, stdout, stderr) = file.read(&["--pin", "bob=not-bobs-pin"]);
    assert_eq!(code, 2, "{stdout}");
    assert_eq!(stderr.trim_end(), "FAILED: the PIN given for credential 0/bob does not match its PIN hash");
}

/// §13.5 and §13.6 on the golden records: the store Rust converted reads in
/// Python as the spec says — acme in state 00, the credentials `so`, `user`
/// (acme) and `auditor` each bound to its `UserCreated`, no role PIN record
/// left — and a tenant in state 00 keeps its material in the clear: the
/// master key alone gives the webhooks key's HMAC that the HSM computes.
#[test]
fn python_reads_the_converted_golden_records_and_the_clear_material_of_acme() {
    if !python_ready("python_reads_the_converted_golden_records_and_the_clear_material_of_acme") {
        return;
    }
    let mut hsm = open_golden(&golden_rows());
    let user = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    let webhooks = hsm.find(user, "webhooks").unwrap();
    let tag = hsm.hmac_sign(user, webhooks, &[CHECK_MESSAGE]).unwrap();
    let rows = dump(hsm.into_store().as_mut());
    let (code, stdout, stderr) = python_read("converted-golden.json", &rows, golden_master().as_bytes());
    assert_eq!(code, 0, "{stderr}\n{stdout}");
    let records = summary_line(&stdout, "records");
    assert_eq!((field(records, "pin"), field(records, "credential")), ("0", "3"));
    assert_eq!(
        (field(records, "tenant"), field(records, "key"), field(records, "sealed_key")),
        ("1", "2", "0")
    );
    assert_eq!(
        summary_line(&stdout, "tenant 0/acme"),
        format!("state=no-tenant-key created={NOW} so_grant=0")
    );
    for (name, tenants) in [("so", "-"), (USER, "\"acme\""), (AUDITOR, "-")] {
        let line = summary_line(&stdout, &format!("credential 0/{name}"));
        assert_eq!((field(line, "tenants"), field(line, "grants")), (tenants, "0"), "{line}");
        assert_eq!(field(line, "binding"), "verified", "{line}");
    }
    assert_eq!(
        summary_line(&stdout, &format!("material 0/{}", webhooks.get())),
        format!("clear tenant=\"acme\" hmac={}", to_hex(&tag))
    );
}

/// Bob locked out (five wrong PINs, then the right one refused as locked),
/// alice untouched, in a memory store under a master key: the rows, the
/// master key, and the sequence numbers of bob's creation and of the last
/// record about him (the refusal of the right PIN, `pin-locked`).
struct LockedBob {
    rows: Rows,
    master: [u8; 32],
    created_seq: u64,
    locked_seq: u64,
}

fn locked_bob() -> LockedBob {
    let master: [u8; 32] = core::array::from_fn(|i| (0x30 + i) as u8);
    let (mut hsm, _) =
        two_tenants(Box::new(MemoryStore::new()), &KeySource::MasterKey(&MasterKey::from_bytes(master)));
    assert_eq!(hsm.config().max_pin_failures, 5);
    for attempt in 1..=5 {
        let expected = if attempt < 5 { Error::PinIncorrect } else { Error::PinLocked };
        assert_eq!(hsm.login(0, "bob", b"wrong-pin", None).unwrap_err(), expected, "attempt {attempt}");
    }
    assert_eq!(hsm.login(0, "bob", BOB_PIN, None).unwrap_err(), Error::PinLocked);
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    let records = hsm.audit_records(auditor).unwrap();
    let about_bob = |r: &&coffer_hsm::audit::AuditRecord| match &r.event {
        AuditEvent::Refused { who, .. } | AuditEvent::UserLoggedIn { who, .. } => who.user == "bob",
        AuditEvent::UserCreated { user, .. } => user.user == "bob",
        _ => false,
    };
    let last = records.iter().rfind(about_bob).unwrap();
    assert!(
        matches!(&last.event, AuditEvent::Refused { reason: coffer_hsm::audit::Refusal::PinLocked, .. }),
        "{last:?}"
    );
    let created = records
        .iter()
        .find(|r| matches!(&r.event, AuditEvent::UserCreated { user, .. } if user.user == "bob"));
    let users = hsm.users(auditor).unwrap();
    let bob = users.iter().find(|u| u.name == "bob").unwrap();
    assert_eq!((bob.failures, bob.locked), (5, true));
    LockedBob {
        rows: dump(hsm.into_store().as_mut()),
        master,
        created_seq: created.unwrap().seq,
        locked_seq: last.seq,
    }
}

/// The rows after make_golden.py's `--reset-failures NAME` (and `more`):
/// the credential record rewritten with failure count 0, sealed again under
/// the store's keys (§12.2), as an attacker with the master key would.
fn reset_failures(name: &str, fixture: &LockedBob, more: &[&str]) -> Rows {
    let out = temp_path(&format!("reset-{name}-out.json"));
    let mut args = vec!["--reset-failures", name, "--tamper-out", out.to_str().unwrap()];
    args.extend_from_slice(more);
    let (code, stdout, stderr) =
        python_read_with(&format!("reset-{name}-in.json"), &fixture.rows, &fixture.master, &args);
    assert_eq!(code, 0, "{stderr}\n{stdout}");
    assert!(stdout.starts_with(&format!("tampered: credential 0/{name}: failures ")), "{stdout}");
    let rows = read_rows_json(&out);
    std::fs::remove_file(&out).unwrap();
    assert_eq!(rows.len(), fixture.rows.len(), "one record rewritten, none added or removed");
    rows
}

/// Control for the two tamper tests: the untampered store keeps bob locked
/// and passes both checks, in Rust and in Python; and a record re-sealed by
/// the tamper tool without a change (alice's count is already 0) is accepted
/// by both — so what the next tests detect is the edited count, not the re-seal.
#[test]
fn an_untampered_locked_store_and_an_unchanged_reseal_pass_the_login_and_replay_checks() {
    if !python_ready("an_untampered_locked_store_and_an_unchanged_reseal_pass_the_login_and_replay_checks") {
        return;
    }
    let fixture = locked_bob();
    let master = MasterKey::from_bytes(fixture.master);
    let mut hsm = open_rows(&fixture.rows, &master).unwrap();
    assert_eq!(hsm.login(0, "bob", BOB_PIN, None).unwrap_err(), Error::PinLocked, "the lockout holds");
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    assert_eq!(hsm.audit_verify(auditor), Ok(()));
    let (code, stdout, stderr) = python_read("untampered-locked.json", &fixture.rows, &fixture.master);
    assert_eq!(code, 0, "{stderr}\n{stdout}");
    let bob = summary_line(&stdout, "credential 0/bob");
    assert_eq!((field(bob, "failures"), field(bob, "binding")), ("5", "verified"));
    assert_eq!(field(bob, "last_seq"), fixture.locked_seq.to_string());

    let resealed = reset_failures("alice", &fixture, &[]);
    assert_ne!(resealed, fixture.rows, "alice's record was sealed again, with a new nonce");
    let mut hsm = open_rows(&resealed, &master).unwrap();
    assert!(hsm.login(0, "alice", ALICE_PIN, None).is_ok());
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    assert_eq!(hsm.audit_verify(auditor), Ok(()));
    let (code, stdout, stderr) = python_read("resealed-alice.json", &resealed, &fixture.master);
    assert_eq!(code, 0, "{stderr}\n{stdout}");
}

/// §13.4 at login: bob's count edited to 0 offline, his record still naming
/// the `pin-locked` refusal, disagrees with it — the right PIN is refused
/// with `AuditTampered` at that record, and the Python reader finds it too.
#[test]
fn an_offline_reset_of_a_locked_failure_count_is_audit_tampered_at_login() {
    if !python_ready("an_offline_reset_of_a_locked_failure_count_is_audit_tampered_at_login") {
        return;
    }
    let fixture = locked_bob();
    let tampered = reset_failures("bob", &fixture, &[]);
    let mut hsm = open_rows(&tampered, &MasterKey::from_bytes(fixture.master)).unwrap();
    let index = usize::try_from(fixture.locked_seq).unwrap();
    assert_eq!(hsm.login(0, "bob", BOB_PIN, None).unwrap_err(), Error::AuditTampered { index });
    assert_eq!(hsm.login(0, "bob", b"wrong-pin", None).unwrap_err(), Error::AuditTampered { index });
    assert!(hsm.login(0, "alice", ALICE_PIN, None).is_ok(), "other credentials are unaffected");

    let (code, stdout, stderr) = python_read("reset-bob.json", &tampered, &fixture.master);
    assert_eq!(code, 1, "{stdout}");
    let expected = "FAILED: AuditTampered: slot 0: credential \"bob\": failure count 0 disagrees with the record it names";
    assert!(stderr.starts_with(expected), "{stderr}");
    assert!(stderr.trim_end().ends_with(&format!("(index {index})")), "{stderr}");
}

/// §13.4 in `audit_verify`: the edit also names bob's creation record
/// (`UserCreated` allows any count), so the login's one-record check
/// passes — but the replay finds later live records about bob, the last
/// of them the `pin-locked` refusal, and reports it. The Python reader's
/// replay agrees.
#[test]
fn an_offline_reset_naming_the_creation_record_passes_login_but_fails_audit_verify() {
    if !python_ready("an_offline_reset_naming_the_creation_record_passes_login_but_fails_audit_verify") {
        return;
    }
    let fixture = locked_bob();
    let tampered = reset_failures("bob", &fixture, &["--repoint-to-creation"]);
    let index = usize::try_from(fixture.locked_seq).unwrap();

    let (code, stdout, stderr) = python_read("repointed-bob.json", &tampered, &fixture.master);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "FAILED: AuditTampered: slot 0: credential \"bob\": names audit record {}, but the last live record \
             about it is {index} (index {index})",
            fixture.created_seq
        )
    );

    let mut hsm = open_rows(&tampered, &MasterKey::from_bytes(fixture.master)).unwrap();
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    assert_eq!(hsm.audit_verify(auditor), Err(Error::AuditTampered { index }));
    // The point check passes: the lockout is gone and a wrong PIN counts
    // as the first one, not as a refusal of a locked credential.
    assert_eq!(hsm.login(0, "bob", b"wrong-pin", None).unwrap_err(), Error::PinIncorrect);
    // The replay now sees a wrong PIN after `pin-locked`: still tampered,
    // at that newest record about bob.
    let newest = hsm.audit_records(auditor).unwrap().last().unwrap().seq;
    let newest = usize::try_from(newest).unwrap();
    assert_eq!(hsm.audit_verify(auditor), Err(Error::AuditTampered { index: newest }));
}

/// A limit of §13.4, pinned so that closing it is a deliberate change (see
/// the finding in the review of §13): the replay restarts the count at the
/// last record that fixes it, so once the repointed edit is followed by a
/// login with the right PIN (`UserLoggedIn`, count 0, named by the
/// credential), neither check finds the reset any more — although the
/// chain shows `pin-locked` followed by a login with no `UserUnblocked`
/// between, which no untampered store can hold. The Python reader, written
/// from the same text, accepts the store too. §13.6's "audit_verify finds
/// them" holds only until the credential's next successful login.
#[test]
fn a_right_pin_login_after_the_repointed_reset_is_still_found_by_the_replay() {
    if !python_ready("a_right_pin_login_after_the_repointed_reset_is_still_found_by_the_replay") {
        return;
    }
    let fixture = locked_bob();
    let tampered = reset_failures("bob", &fixture, &["--repoint-to-creation"]);
    let mut hsm = open_rows(&tampered, &MasterKey::from_bytes(fixture.master)).unwrap();
    // The login check cannot tell (the named record agrees) ...
    assert!(hsm.login(0, "bob", BOB_PIN, None).is_ok(), "the locked credential logs in");
    // ... but a login cannot follow a lock without an unblock: the replay finds it.
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    let records = hsm.audit_records(auditor).unwrap();
    let login = records
        .iter()
        .rev()
        .find(|r| matches!(&r.event, AuditEvent::UserLoggedIn { who, .. } if who.user == "bob"))
        .unwrap();
    let index = usize::try_from(login.seq).unwrap();
    assert_eq!(hsm.audit_verify(auditor), Err(Error::AuditTampered { index }));
    let rows = dump(hsm.into_store().as_mut());
    let (code, stdout, stderr) = python_read("repointed-then-login.json", &rows, &fixture.master);
    assert_ne!(code, 0, "the Python reader accepted it: {stdout}");
    assert!(stderr.contains("AuditTampered") && stderr.contains("cannot follow a lock"), "{stderr}");
}

#[test]
fn a_removed_credential_put_back_offline_is_audit_tampered_at_verify() {
    let master: [u8; 32] = core::array::from_fn(|i| (0x50 + i) as u8);
    let (hsm, _) =
        two_tenants(Box::new(MemoryStore::new()), &KeySource::MasterKey(&MasterKey::from_bytes(master)));
    let before = dump(hsm.into_store().as_mut());
    let mut hsm = open_rows(&before, &MasterKey::from_bytes(master)).unwrap();
    let so = hsm.login_so(0, TOKEN_SO_PIN).unwrap();
    hsm.remove_user(so, "alice").unwrap();
    assert_eq!(hsm.login(0, "alice", ALICE_PIN, None).unwrap_err(), Error::PinIncorrect);
    let mut after = dump(hsm.into_store().as_mut());
    // Put alice's credential record back as it was before the removal: the
    // one credential record in `before` that is missing from `after`.
    let missing: Vec<_> = before
        .iter()
        .filter(|(k, _)| k.first() == Some(&0x16) && !after.iter().any(|(a, _)| a == k))
        .cloned()
        .collect();
    assert_eq!(missing.len(), 1, "exactly alice's record went");
    after.extend(missing);
    let mut hsm = open_rows(&after, &MasterKey::from_bytes(master)).unwrap();
    // Her login passes its point check (the record names her last login),
    // but the replay sees the removal as the last word about her.
    assert!(hsm.login(0, "alice", ALICE_PIN, None).is_ok());
    let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None).unwrap();
    // KEYSTORE.md §13.4: after `UserRemoved` only a new `UserCreated` may
    // follow, so the record that disagrees is her login after the removal.
    let records = hsm.audit_records(auditor).unwrap();
    let removed = records
        .iter()
        .position(|r| matches!(&r.event, AuditEvent::UserRemoved { user } if user.user == "alice"))
        .unwrap();
    let login = records[removed..]
        .iter()
        .find(|r| matches!(&r.event, AuditEvent::UserLoggedIn { who, .. } if who.user == "alice"))
        .unwrap();
    let index = usize::try_from(login.seq).unwrap();
    assert_eq!(hsm.audit_verify(auditor), Err(Error::AuditTampered { index }));
}

// ------------------------------------------------------------ §12.3 kdf 02

/// The golden rows with the meta record of `facts.held_meta`: the same
/// master key, held by the KEK `facts.held_kek`.
fn held_rows() -> Rows {
    let mut rows = golden_rows();
    set_row(&mut rows, &[0x00], hex_field(&golden()["facts"]["held_meta"]));
    rows
}

fn held_kek() -> Kek {
    Kek::from_slice(&hex_field(&golden()["facts"]["held_kek"])).unwrap()
}

fn open_held(rows: &Rows, kek: &Kek) -> Result<Hsm, Error> {
    let holder: &dyn KekHolder = kek;
    Hsm::open(&mut OsRng, Box::new(store_of(rows)), &KeySource::Held(holder), Box::new(FixedClock))
}

#[test]
fn golden_held_meta_opens_the_golden_records_with_the_kek_alone() {
    let g = golden();
    let rows = held_rows();
    let meta = value_of(&rows, &[0x00]);
    assert_eq!(meta.len(), 4 + 1 + 1 + 40 + 12 + 16, "held meta record");
    assert_eq!(meta[5], 0x02);
    let mut hsm = open_held(&rows, &held_kek()).unwrap();
    assert_eq!(hsm.generation(), 7 + 1);
    let user = hsm.login(0, USER, USER_PIN, Some("acme")).unwrap();
    let webhooks = hsm.find(user, "webhooks").unwrap();
    let tag = hsm.hmac_sign(user, webhooks, &[&hex_field(&g["facts"]["hmac_message"])]).unwrap();
    assert_eq!(to_hex(&tag), g["facts"]["hmac_webhooks"].as_str().unwrap());
}

#[test]
fn a_held_store_opens_with_no_other_source_and_no_other_kek() {
    let rows = held_rows();
    assert_eq!(open_rows(&rows, &golden_master()).unwrap_err(), Error::KeystoreAuth, "the master key itself");
    let passphrase =
        Hsm::open(&mut OsRng, Box::new(store_of(&rows)), &KeySource::Passphrase(b"x"), Box::new(FixedClock));
    assert_eq!(passphrase.unwrap_err(), Error::KeystoreAuth);
    let mut other = hex_field(&golden()["facts"]["held_kek"]);
    other[0] ^= 1;
    assert_eq!(open_held(&rows, &Kek::from_slice(&other).unwrap()).unwrap_err(), Error::KeystoreAuth);
    // And the KEK does not open the raw-key golden store.
    assert_eq!(open_held(&golden_rows(), &held_kek()).unwrap_err(), Error::KeystoreAuth);
}

#[test]
fn any_changed_byte_of_the_held_meta_after_its_kdf_is_keystore_auth() {
    let rows = held_rows();
    let meta = value_of(&rows, &[0x00]);
    for i in 6..meta.len() {
        let mut changed = rows.clone();
        let mut m = meta.clone();
        m[i] ^= 0x01;
        set_row(&mut changed, &[0x00], m);
        assert_eq!(open_held(&changed, &held_kek()).unwrap_err(), Error::KeystoreAuth, "byte {i}");
    }
}

#[test]
fn a_held_meta_of_the_wrong_length_is_keystore_corrupt() {
    let rows = held_rows();
    let meta = value_of(&rows, &[0x00]);
    let mut long = meta.clone();
    long.insert(6, 0);
    for (what, m) in [("one byte short", meta[..meta.len() - 1].to_vec()), ("one byte long", long)] {
        let mut changed = rows.clone();
        set_row(&mut changed, &[0x00], m);
        assert_eq!(open_held(&changed, &held_kek()).unwrap_err(), Error::KeystoreCorrupt, "{what}");
    }
}

/// A holder whose device fails: its error passes through as `Crypto`, not
/// as a wrong key.
struct Unplugged;
impl KekHolder for Unplugged {
    fn wrap_dek(&self, _: &[u8; 32]) -> coffer_core::Result<[u8; 40]> {
        Err(coffer_core::Error::Internal)
    }
    fn unwrap_dek(&self, _: &[u8; 40]) -> coffer_core::Result<zeroize::Zeroizing<[u8; 32]>> {
        Err(coffer_core::Error::Internal)
    }
}

#[test]
fn a_failing_holder_is_a_crypto_error_and_creates_nothing() {
    let holder: &dyn KekHolder = &Unplugged;
    let opened = Hsm::open(
        &mut OsRng,
        Box::new(store_of(&held_rows())),
        &KeySource::Held(holder),
        Box::new(FixedClock),
    );
    assert_eq!(opened.unwrap_err(), Error::Crypto(coffer_core::Error::Internal));
    let path = temp_path("unplugged.db");
    let config = Config { pin_iterations: 1_000, ..Config::default() };
    let created = Hsm::create(
        &mut OsRng,
        Box::new(SqliteStore::open(&path).unwrap()),
        &KeySource::Held(holder),
        1,
        config,
        Box::new(FixedClock),
    );
    assert_eq!(created.unwrap_err(), Error::Crypto(coffer_core::Error::Internal));
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(dump(&mut store), Rows::new(), "nothing was written");
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// A store created under a held KEK, re-keyed to a passphrase and back to
/// another KEK: each time only the current source opens it, and the
/// Python reader (written from §12.3) opens it with the KEK alone.
#[test]
fn a_held_store_rekeys_to_a_passphrase_and_back_and_python_reads_it() {
    let kek = Kek::from_slice(&[0x42; 32]).unwrap();
    let holder: &dyn KekHolder = &kek;
    let config = Config { pin_iterations: 1_000, ..Config::default() };
    let mut hsm = Hsm::create(
        &mut OsRng,
        Box::new(MemoryStore::new()),
        &KeySource::Held(holder),
        1,
        config,
        Box::new(FixedClock),
    )
    .unwrap();
    hsm.init_token(&mut OsRng, 0, "held", SO_PIN).unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    hsm.create_tenant(&mut OsRng, so, "acme").unwrap();
    let mut store = hsm.into_store();
    let rows = dump(store.as_mut());
    let meta = value_of(&rows, &[0x00]);
    assert_eq!((meta.len(), meta[5]), (74, 0x02));
    // The wrapped master key is AES-KW under the KEK, per RFC 3394.
    let master = kek.unwrap_to_vec(&meta[6..46]).unwrap();
    assert_eq!(master.len(), 32);
    let master = MasterKey::from_slice(&master).unwrap();
    assert!(open_rows(&rows, &master).is_err(), "kdf 02 is not opened by the raw master key");
    assert!(open_held(&rows, &kek).is_ok());

    if python_ready("a_held_store_rekeys_to_a_passphrase_and_back_and_python_reads_it") {
        let path = temp_path("held.json");
        write_rows_json(&path, &rows);
        let (code, stdout, stderr) =
            python(&["--read", path.to_str().unwrap(), "--kek-hex", &to_hex(&[0x42; 32])]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(summary_line(&stdout, "kdf"), "held");
        let (code, _, stderr) =
            python(&["--read", path.to_str().unwrap(), "--kek-hex", &to_hex(&[0x43; 32])]);
        assert_eq!(code, 1);
        assert!(
            stderr.starts_with("FAILED: KeystoreAuth: the wrapped master key does not unwrap"),
            "{stderr}"
        );
        std::fs::remove_file(&path).unwrap();
    }

    let mut hsm = Hsm::open(&mut OsRng, store, &KeySource::Held(holder), Box::new(FixedClock)).unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    hsm.change_passphrase(&mut OsRng, so, &KeySource::Passphrase(b"a passphrase")).unwrap();
    let mut store = hsm.into_store();
    let rows = dump(store.as_mut());
    assert_eq!(value_of(&rows, &[0x00])[5], 0x01);
    assert_eq!(open_held(&rows, &kek).unwrap_err(), Error::KeystoreAuth, "the old KEK opens nothing");

    let mut hsm =
        Hsm::open(&mut OsRng, store, &KeySource::Passphrase(b"a passphrase"), Box::new(FixedClock)).unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    let second = Kek::from_slice(&[0x77; 32]).unwrap();
    hsm.change_passphrase(&mut OsRng, so, &KeySource::Held(&second)).unwrap();
    let mut store = hsm.into_store();
    let rows = dump(store.as_mut());
    assert_eq!(value_of(&rows, &[0x00])[5], 0x02);
    assert_eq!(open_held(&rows, &kek).unwrap_err(), Error::KeystoreAuth);
    let passphrase = Hsm::open(
        &mut OsRng,
        Box::new(store_of(&rows)),
        &KeySource::Passphrase(b"a passphrase"),
        Box::new(FixedClock),
    );
    assert_eq!(passphrase.unwrap_err(), Error::KeystoreAuth);
    let mut hsm = open_held(&rows, &second).unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    assert_eq!(hsm.tenants(so).unwrap().len(), 1, "the records came through both re-keys");
}
