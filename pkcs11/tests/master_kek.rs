//! The module over a keystore whose master key is held by a KEK in another
//! PKCS#11 module (`master_kek` in the config, KEYSTORE.md §12.3 kdf 02),
//! against SoftHSMv2: the store is created by coffer-hsm under a KEK that
//! SoftHSM generated (sensitive, never extractable); the module opens it
//! through SoftHSM, keeps what it writes across `C_Finalize` /
//! `C_Initialize`, and refuses to start with a passphrase or another key.
//!
//! Without SoftHSM the test prints `SKIPPED: <test>: softhsm2 not installed`
//! and passes, except under `CI=true`, where it fails (`tests/support/softhsm.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

#[macro_use]
mod common;

use std::path::Path;

use coffer_core::rng::OsRng;
use coffer_hsm::keystore::KeySource;
use coffer_hsm::{Config, Hsm, Pkcs11Kek, Pkcs11Uri, Role, SystemClock};
use coffer_store::SqliteStore;
use common::keys::{Tpl, Val, aes_key, find, login, open};
use common::{Loaded, SO_PIN, TENANT, TempDir, USER, USER_PIN, serial, set_config};
use cryptoki_sys::*;

#[path = "../../tests/support/softhsm.rs"]
mod softhsm;

use softhsm::MODULE;

/// A config for the store at `store` unlocked by `unlock` (a config line).
fn write_config(dir: &Path, store: &Path, unlock: &str) -> std::path::PathBuf {
    let conf = dir.join(format!("coffer-pkcs11-{}.conf", unlock.len()));
    let text = format!("store = {}\n{unlock}\nuser = {USER}\ntenant = {TENANT}\n", store.display());
    std::fs::write(&conf, text).unwrap();
    conf
}

#[test]
fn a_store_held_by_a_softhsm_kek_opens_through_it_and_no_other_way() {
    let test = "a_store_held_by_a_softhsm_kek_opens_through_it_and_no_other_way";
    if !softhsm::installed(test) {
        return;
    }
    let _serial = serial();
    let dir = TempDir::new("master-kek");
    let d = &dir.0;
    let softhsm_conf = softhsm::token(d, "vault");
    // SAFETY: this binary's one test; nothing else reads the environment now.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &softhsm_conf) };
    let uri = |object: &str| {
        format!(
            "pkcs11:token=vault;object={object}?module-path={MODULE}&pin-source=file:{}",
            d.join("pin").display()
        )
    };

    // The store, created under a KEK SoftHSM generates.
    let kek = Pkcs11Kek::generate_kek(&Pkcs11Uri::parse(&uri("coffer-master")).unwrap().to_config().unwrap())
        .unwrap();
    let store = d.join("hsm.sqlite");
    {
        let config = Config { pin_iterations: 1_000, ..Config::default() };
        let mut hsm = Hsm::create(
            &mut OsRng,
            Box::new(SqliteStore::open(&store).unwrap()),
            &KeySource::Held(&kek),
            1,
            config,
            Box::new(SystemClock),
        )
        .unwrap();
        hsm.init_token(&mut OsRng, 0, "held", SO_PIN).unwrap();
        let so = hsm.login_so(0, SO_PIN).unwrap();
        hsm.create_tenant(&mut OsRng, so, TENANT).unwrap();
        hsm.create_user(&mut OsRng, so, USER, Role::User, &[TENANT], USER_PIN).unwrap();
    }
    drop(kek);

    // The module opens it through SoftHSM; a key it makes is in the store.
    set_config(Some(&write_config(d, &store, &format!("master_kek = {}", uri("coffer-master")))));
    {
        let _loaded = Loaded::new();
        let session = open(true);
        login(session);
        aes_key(session, "records");
    }
    {
        let _loaded = Loaded::new();
        let session = open(false);
        login(session);
        let mut by_id = Tpl::new(&[(CKA_ID, Val::Bytes(b"records".to_vec()))]);
        assert_eq!(find(session, &mut by_id).len(), 1, "the key survived C_Finalize");
    }

    // No other key of the token, and no passphrase, opens it.
    let other =
        Pkcs11Kek::generate_kek(&Pkcs11Uri::parse(&uri("other")).unwrap().to_config().unwrap()).unwrap();
    drop(other);
    std::fs::write(d.join("passphrase"), "a guess\n").unwrap();
    for unlock in [
        format!("master_kek = {}", uri("other")),
        format!("master_kek = {}", uri("missing")),
        "passphrase_file = passphrase".to_string(),
    ] {
        set_config(Some(&write_config(d, &store, &unlock)));
        assert_eq!(p11!(C_Initialize(std::ptr::null_mut())), CKR_GENERAL_ERROR, "{unlock}");
    }
    set_config(None);
}
