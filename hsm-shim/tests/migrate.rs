//! Migration from keystore version 1 (one sealed file) to version 2
//! (records in a store), on a file written by the release before version 2
//! (`vectors/keystore_v1/`, never regenerated).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::PathBuf;

use coffer_core::envelope::EncryptionContext;
use coffer_core::rng::OsRng;
use coffer_hsm::audit::AuditEvent;
use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::{Error, FileStorage, Hsm, RecordStore, Role, SystemClock, V1_AUDITOR, V1_USER};
use coffer_store::SqliteStore;

const PASSPHRASE: &[u8] = b"legacy passphrase";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors/keystore_v1").join(name)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("coffer-migrate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn migrate(store: Box<dyn RecordStore + Send>, passphrase: &[u8]) -> Result<Hsm, Error> {
    let mut file = FileStorage::new(fixture("legacy-v1.cfks")).unwrap();
    let target = MasterKey::from_bytes([0x33; 32]);
    Hsm::import_v1(
        &mut OsRng,
        &mut file,
        &KeySource::Passphrase(passphrase),
        None,
        store,
        &KeySource::MasterKey(&target),
        Box::new(SystemClock),
    )
}

#[test]
fn a_version_1_file_of_the_previous_release_migrates_with_keys_versions_pins_and_audit_log() {
    let dir = temp_dir("sqlite");
    let path = dir.join("store.db");
    drop(migrate(Box::new(SqliteStore::open(&path).unwrap()), PASSPHRASE).unwrap());

    // A fresh process's view: open the migrated store under its new key.
    let mut hsm = Hsm::open(
        &mut OsRng,
        Box::new(SqliteStore::open(&path).unwrap()),
        &KeySource::MasterKey(&MasterKey::from_bytes([0x33; 32])),
        Box::new(SystemClock),
    )
    .unwrap();
    assert_eq!(hsm.token_label(0).unwrap(), "legacy");

    // The shared user PIN became the credential "user", carrying its one
    // failure: three more are "incorrect", the fourth (the fifth in all)
    // locks; the security officer unblocks it.
    for _ in 0..3 {
        assert_eq!(hsm.login(0, V1_USER, b"wrong-pin", Some("acme")).unwrap_err(), Error::PinIncorrect);
    }
    assert_eq!(hsm.login(0, V1_USER, b"wrong-pin", Some("acme")).unwrap_err(), Error::PinLocked);
    assert_eq!(hsm.login(0, V1_USER, b"user-pin", Some("acme")).unwrap_err(), Error::PinLocked);
    let so = hsm.login_so(0, b"so-pin-1").unwrap();
    let tenants: Vec<String> = hsm.tenants(so).unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(tenants, ["acme"], "the tenant with keys became a tenant");
    let users: Vec<(String, Role, Vec<String>, u8, bool)> = hsm
        .users(so)
        .unwrap()
        .into_iter()
        .map(|u| (u.name, u.role, u.tenants, u.failures, u.locked))
        .collect();
    assert_eq!(
        users,
        [
            (V1_AUDITOR.to_string(), Role::Auditor, vec![], 0, false),
            (V1_USER.to_string(), Role::User, vec!["acme".to_string()], 5, true),
        ],
        "the shared PINs became the credentials \"auditor\" and \"user\" (bound to acme, locked)"
    );
    hsm.unblock_user(&mut OsRng, so, V1_USER, b"user-pin").unwrap();
    let s = hsm.login(0, V1_USER, b"user-pin", Some("acme")).unwrap();
    let records = hsm.find(s, "records").unwrap();
    assert_eq!(hsm.info(s, records).unwrap().version, 2);
    let mut ctx = EncryptionContext::new();
    ctx.insert(b"tenant", b"acme").unwrap();
    for (file, text) in [
        ("legacy-envelope-v1.bin", &b"sealed under version 1 before keystore v2"[..]),
        ("legacy-envelope-v2.bin", &b"sealed under version 2 before keystore v2"[..]),
    ] {
        let sealed = std::fs::read(fixture(file)).unwrap();
        assert_eq!(&hsm.open_envelope(&mut OsRng, s, records, &ctx, &sealed).unwrap()[..], text);
    }
    let webhooks = hsm.find(s, "webhooks").unwrap();
    let tag = hsm.hmac_sign(s, webhooks, &[b"golden"]).unwrap();
    let golden = std::fs::read_to_string(fixture("legacy-hmac-golden.hex")).unwrap();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, golden.trim());

    // The old audit chain continues unbroken in the store.
    let a = hsm.login(0, V1_AUDITOR, b"audit-pin", None).unwrap();
    hsm.audit_verify(a).unwrap();
    let log = hsm.audit_records(a).unwrap();
    assert_eq!(log[0].event, AuditEvent::TokenInitialized);
    assert_eq!(log[0].time, 1_764_000_000);
    assert!(log.iter().any(|r| matches!(r.event, AuditEvent::KeystoreSaved { counter: 1 })));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_wrong_passphrase_or_a_store_in_use_migrates_nothing() {
    let dir = temp_dir("refused");
    let path = dir.join("store.db");
    assert_eq!(
        migrate(Box::new(SqliteStore::open(&path).unwrap()), b"wrong passphrase").unwrap_err(),
        Error::KeystoreAuth
    );
    let mut store = SqliteStore::open(&path).unwrap();
    let mut tx = store.begin().unwrap();
    assert!(tx.scan(&[], None, 10).unwrap().is_empty(), "a refused migration wrote nothing");
    drop(tx);
    drop(store);
    drop(migrate(Box::new(SqliteStore::open(&path).unwrap()), PASSPHRASE).unwrap());
    // A store that already holds an HSM is not written over.
    assert_eq!(
        migrate(Box::new(SqliteStore::open(&path).unwrap()), PASSPHRASE).unwrap_err(),
        Error::TokenState
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn creating_an_hsm_in_a_store_that_holds_one_under_another_key_is_refused_as_token_state() {
    let dir = temp_dir("create-twice");
    let path = dir.join("store.db");
    let config = coffer_hsm::Config { pin_iterations: 1_000, ..coffer_hsm::Config::default() };
    let first = MasterKey::from_bytes([1; 32]);
    let second = MasterKey::from_bytes([2; 32]);
    drop(
        Hsm::create(
            &mut OsRng,
            Box::new(SqliteStore::open(&path).unwrap()),
            &KeySource::MasterKey(&first),
            1,
            config,
            Box::new(SystemClock),
        )
        .unwrap(),
    );
    for key in [&first, &second] {
        let again = Hsm::create(
            &mut OsRng,
            Box::new(SqliteStore::open(&path).unwrap()),
            &KeySource::MasterKey(key),
            1,
            config,
            Box::new(SystemClock),
        );
        assert_eq!(again.unwrap_err(), Error::TokenState);
    }
    std::fs::remove_dir_all(&dir).ok();
}
