//! The token in a PostgreSQL database: the module opens a keystore named
//! by a `postgres://` URL, and sees what another connection to it (as
//! another process would) commits — here, the PIN failures that lock the
//! user. The test starts its own throwaway server
//! (`coffer_store::testing::PostgresServer`); without PostgreSQL installed
//! it prints a SKIPPED line, except under `CI=true`, where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

#[macro_use]
mod common;

use std::ptr::null_mut;

use coffer_core::rng::OsRng;
use coffer_hsm::keystore::KeySource;
use coffer_hsm::{Config, Error, Hsm, Role, SystemClock};
use coffer_store::PostgresStore;
use coffer_store::testing::PostgresServer;
use common::{LABEL, Loaded, PASSPHRASE, SO_PIN, TENANT, TempDir, USER, USER_PIN, serial, set_config};
use cryptoki_sys::*;

fn login(session: CK_SESSION_HANDLE, pin: &[u8]) -> CK_RV {
    let mut pin = pin.to_vec();
    let len = pin.len() as CK_ULONG;
    p11!(C_Login(session, CKU_USER, pin.as_mut_ptr(), len))
}

#[test]
fn a_token_in_postgresql_is_shared_with_other_connections() {
    let _serial = serial();
    let server = match PostgresServer::start() {
        Ok(Some(server)) => server,
        Ok(None) => return, // not installed, not in CI: a SKIPPED line was printed
        Err(message) => panic!("{message}"),
    };
    let url = server.url();
    let source = KeySource::Passphrase(PASSPHRASE);
    let config = Config { pin_iterations: 1_000, ..Config::default() };
    let store = PostgresStore::connect(&url).unwrap();
    let mut hsm =
        Hsm::create(&mut OsRng, Box::new(store), &source, 1, config, Box::new(SystemClock)).unwrap();
    hsm.init_token(&mut OsRng, 0, LABEL, SO_PIN).unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    hsm.create_tenant(&mut OsRng, so, TENANT).unwrap();
    hsm.create_user(&mut OsRng, so, USER, Role::User, &[TENANT], USER_PIN).unwrap();
    hsm.logout(so).unwrap();

    let dir = TempDir::new("postgres");
    std::fs::write(dir.0.join("passphrase"), PASSPHRASE).unwrap();
    let conf = dir.0.join("coffer-pkcs11.conf");
    std::fs::write(&conf, format!("store = {url}\npassphrase_file = passphrase\nuser = {USER}\n")).unwrap();
    set_config(Some(&conf));
    let _loaded = Loaded::new();

    let mut token = CK_TOKEN_INFO::default();
    assert_eq!(p11!(C_GetTokenInfo(0, &mut token)), CKR_OK);
    assert_eq!(std::str::from_utf8(&token.label).unwrap(), format!("{LABEL:32}"));
    let mut session: CK_SESSION_HANDLE = 0;
    let flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
    assert_eq!(p11!(C_OpenSession(0, flags, null_mut(), None, &mut session)), CKR_OK);
    assert_eq!(login(session, USER_PIN), CKR_OK);
    assert_eq!(p11!(C_Logout(session)), CKR_OK);

    // Four wrong PINs through the module, the fifth through another
    // connection: the lock it commits holds for the module too.
    for _ in 0..4 {
        assert_eq!(login(session, b"wrong-pin"), CKR_PIN_INCORRECT);
    }
    assert_eq!(hsm.login(0, USER, b"wrong-pin", None), Err(Error::PinLocked));
    assert_eq!(login(session, USER_PIN), CKR_PIN_LOCKED);
}
