//! The C API's keystore in a PostgreSQL database, called as C calls it:
//! `coffer_keystore_create` on a `postgres://` URL makes a keystore that a
//! second handle opened on the same URL sees, a database that already
//! holds one is refused, and a server nobody listens on is
//! `COFFER_ERR_STORE_UNAVAILABLE`. Each test starts its own throwaway
//! server (`coffer_store::testing::PostgresServer`); without PostgreSQL
//! installed they print a SKIPPED line, except under `CI=true`, where
//! they fail.
// miri: starts PostgreSQL servers (miri cannot start processes) and runs the keystore's C SQLite code.
#![cfg(not(miri))]
#![allow(clippy::panic, reason = "a failed call is a test failure, reported by panic")]

use std::ptr;

use coffer::keystore::{
    COFFER_USAGE_DECRYPT, COFFER_USAGE_ENCRYPT, coffer_key_attributes, coffer_key_type, coffer_keystore,
    coffer_keystore_create, coffer_keystore_find, coffer_keystore_free, coffer_keystore_generate,
    coffer_keystore_generation, coffer_keystore_init_token, coffer_keystore_login_so,
    coffer_keystore_login_user, coffer_keystore_open, coffer_keystore_secret, coffer_keystore_tenant_create,
    coffer_keystore_user_create, coffer_role,
};
use coffer::status::{
    COFFER_ERR_ALREADY_EXISTS, COFFER_ERR_KEYSTORE_AUTH, COFFER_ERR_KEYSTORE_EXISTS,
    COFFER_ERR_KEYSTORE_MISSING, COFFER_ERR_KEYSTORE_ROLLBACK, COFFER_ERR_STORE_UNAVAILABLE, COFFER_OK,
};
use coffer_store::testing::PostgresServer;

const MASTER: u32 = coffer_keystore_secret::COFFER_KEYSTORE_MASTER_KEY as u32;
const USER: u32 = coffer_role::COFFER_ROLE_USER as u32;
const KEY: [u8; 32] = [0x5a; 32];
const SO_PIN: &[u8] = b"so-pin-0001";
const USER_NAME: &[u8] = b"alice";
const USER_PIN: &[u8] = b"user-pin-01";
const TENANT: &[u8] = b"acme";

fn postgres_server() -> Option<PostgresServer> {
    match PostgresServer::start() {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

fn create(url: &str, key: &[u8; 32], out: &mut *mut coffer_keystore) -> coffer::status::coffer_status {
    coffer_keystore_create(url.as_ptr(), url.len(), MASTER, key.as_ptr(), key.len(), 1, out)
}

fn open(
    url: &str,
    key: &[u8; 32],
    min: u64,
    out: &mut *mut coffer_keystore,
) -> coffer::status::coffer_status {
    coffer_keystore_open(url.as_ptr(), url.len(), MASTER, key.as_ptr(), key.len(), min, out)
}

fn generation(ks: *const coffer_keystore) -> u64 {
    let mut g = 0;
    assert_eq!(coffer_keystore_generation(ks, &mut g), COFFER_OK);
    g
}

#[test]
fn a_keystore_at_a_postgres_url_is_shared_by_two_handles_and_created_only_once() {
    let Some(server) = postgres_server() else { return };
    let url = server.url();

    let mut missing = ptr::null_mut();
    assert_eq!(open(&url, &KEY, 0, &mut missing), COFFER_ERR_KEYSTORE_MISSING);
    assert!(missing.is_null());

    let mut first = ptr::null_mut();
    assert_eq!(create(&url, &KEY, &mut first), COFFER_OK);
    assert_eq!(generation(first), 1);
    assert_eq!(
        coffer_keystore_init_token(first, 0, b"pg".as_ptr(), 2, SO_PIN.as_ptr(), SO_PIN.len()),
        COFFER_OK
    );
    let mut so = 0;
    assert_eq!(coffer_keystore_login_so(first, 0, SO_PIN.as_ptr(), SO_PIN.len(), &mut so), COFFER_OK);
    assert_eq!(coffer_keystore_tenant_create(first, so, TENANT.as_ptr(), TENANT.len()), COFFER_OK);
    assert_eq!(
        coffer_keystore_user_create(
            first,
            so,
            USER_NAME.as_ptr(),
            USER_NAME.len(),
            USER,
            TENANT.as_ptr(),
            TENANT.len(),
            USER_PIN.as_ptr(),
            USER_PIN.len()
        ),
        COFFER_OK
    );
    let after_first = generation(first);
    assert!(after_first > 1, "every change raises the generation");

    // The database already holds a keystore: a second create is refused.
    let mut again = ptr::null_mut();
    assert_eq!(create(&url, &KEY, &mut again), COFFER_ERR_KEYSTORE_EXISTS);
    assert!(again.is_null());

    // A second handle (another process, as far as the store can tell) sees it.
    let mut wrong = ptr::null_mut();
    assert_eq!(open(&url, &[1; 32], 0, &mut wrong), COFFER_ERR_KEYSTORE_AUTH);
    assert_eq!(open(&url, &KEY, after_first + 1, &mut wrong), COFFER_ERR_KEYSTORE_ROLLBACK);
    let mut second = ptr::null_mut();
    assert_eq!(open(&url, &KEY, after_first, &mut second), COFFER_OK);
    assert_eq!(generation(second), after_first);
    // It sees the first handle's tenant and credential.
    let mut second_so = 0;
    assert_eq!(coffer_keystore_login_so(second, 0, SO_PIN.as_ptr(), SO_PIN.len(), &mut second_so), COFFER_OK);
    assert_eq!(
        coffer_keystore_tenant_create(second, second_so, TENANT.as_ptr(), TENANT.len()),
        COFFER_ERR_ALREADY_EXISTS
    );
    let mut user = 0;
    assert_eq!(
        coffer_keystore_login_user(
            second,
            0,
            USER_NAME.as_ptr(),
            USER_NAME.len(),
            USER_PIN.as_ptr(),
            USER_PIN.len(),
            TENANT.as_ptr(),
            TENANT.len(),
            &mut user
        ),
        COFFER_OK
    );
    let attrs = coffer_key_attributes {
        label: b"pg key".as_ptr(),
        label_len: 6,
        key_id: b"pg-kek".as_ptr(),
        key_id_len: 6,
        usage: COFFER_USAGE_ENCRYPT | COFFER_USAGE_DECRYPT,
        extractable: false,
        active: true,
    };
    let mut made = 0;
    let aes = coffer_key_type::COFFER_KEY_TYPE_AES256 as u32;
    assert_eq!(coffer_keystore_generate(second, user, aes, &attrs, &mut made), COFFER_OK);

    // ... and the first handle sees the key the second made.
    let mut first_user = 0;
    assert_eq!(
        coffer_keystore_login_user(
            first,
            0,
            USER_NAME.as_ptr(),
            USER_NAME.len(),
            USER_PIN.as_ptr(),
            USER_PIN.len(),
            ptr::null(),
            0,
            &mut first_user
        ),
        COFFER_OK
    );
    let mut found = 0;
    assert_eq!(coffer_keystore_find(first, first_user, b"pg-kek".as_ptr(), 6, &mut found), COFFER_OK);
    assert_eq!(found, made);
    // One generation for every handle: each reads the store's current one.
    assert_eq!(generation(first), generation(second));

    coffer_keystore_free(second);
    coffer_keystore_free(first);
}

#[test]
fn a_postgres_url_nobody_listens_on_is_store_unavailable() {
    // A port that was free a moment ago: nothing listens on it.
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => panic!("cannot find a free port: {e}"),
    };
    let url = format!("postgres://coffer@127.0.0.1:{port}/coffer?connect_timeout=5");
    let mut ks = ptr::null_mut();
    assert_eq!(create(&url, &KEY, &mut ks), COFFER_ERR_STORE_UNAVAILABLE);
    assert_eq!(open(&url, &KEY, 0, &mut ks), COFFER_ERR_STORE_UNAVAILABLE);
    assert!(ks.is_null());
}
