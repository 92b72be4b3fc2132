//! `C_InitToken`, `C_InitPIN` and `C_SetPIN` through `C_GetFunctionList`'s
//! table: an empty slot initialized, an initialized one never
//! reinitialized, the user's credential created and its lockout cleared by
//! the security officer, PINs changed in every session state, and each
//! refusal's code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

#[macro_use]
mod common;

use std::path::Path;
use std::ptr::null_mut;

use common::keys::{aes_key, open};
use common::{Loaded, SO_PIN, TempDir, USER_PIN, make_keystore, serial, set_config, write_config};
use cryptoki_sys::*;

/// `C_Login` with `pin` as `who`.
fn log_in(session: CK_SESSION_HANDLE, who: CK_USER_TYPE, pin: &[u8]) -> CK_RV {
    let mut pin = pin.to_vec();
    p11!(C_Login(session, who, pin.as_mut_ptr(), pin.len() as CK_ULONG))
}

/// `C_InitToken` on slot `slot` with `so_pin` and a label padded to 32 bytes.
fn init_token(slot: CK_SLOT_ID, so_pin: &[u8], label: &str) -> CK_RV {
    let mut pin = so_pin.to_vec();
    let mut padded = [b' '; 32];
    padded[..label.len()].copy_from_slice(label.as_bytes());
    p11!(C_InitToken(slot, pin.as_mut_ptr(), pin.len() as CK_ULONG, padded.as_mut_ptr()))
}

fn init_pin(session: CK_SESSION_HANDLE, pin: &[u8]) -> CK_RV {
    let mut pin = pin.to_vec();
    p11!(C_InitPIN(session, pin.as_mut_ptr(), pin.len() as CK_ULONG))
}

fn set_pin(session: CK_SESSION_HANDLE, old: &[u8], new: &[u8]) -> CK_RV {
    let mut old = old.to_vec();
    let mut new = new.to_vec();
    p11!(C_SetPIN(session, old.as_mut_ptr(), old.len() as CK_ULONG, new.as_mut_ptr(), new.len() as CK_ULONG))
}

fn token_info(slot: CK_SLOT_ID) -> CK_TOKEN_INFO {
    // SAFETY: CK_TOKEN_INFO is plain data; all zeroes is a valid value.
    let mut info: CK_TOKEN_INFO = unsafe { std::mem::zeroed() };
    assert_eq!(p11!(C_GetTokenInfo(slot, &mut info)), CKR_OK);
    info
}

/// A two-slot keystore whose module config shows slot 1 (no token yet).
fn empty_slot(dir: &Path) {
    let store = make_keystore(dir, 2);
    let conf = write_config(dir, &store, 1);
    set_config(Some(&conf));
}

#[test]
fn an_empty_slot_is_initialized_and_given_a_user_and_an_initialized_one_is_never_reinitialized() {
    let _serial = serial();
    let dir = TempDir::new("init-token");
    empty_slot(&dir.0);
    let _loaded = Loaded::new();
    assert_eq!(token_info(1).flags & CKF_TOKEN_INITIALIZED, 0);

    // Not while a session is open; not with a PIN outside 6..=64 bytes.
    let s = open_on(1, true);
    assert_eq!(init_token(1, b"new-so-pin", "fresh"), CKR_SESSION_EXISTS);
    assert_eq!(p11!(C_CloseSession(s)), CKR_OK);
    assert_eq!(init_token(1, b"short", "fresh"), CKR_PIN_LEN_RANGE);
    assert_eq!(init_token(1, b"new-so-pin", "   "), CKR_ARGUMENTS_BAD);
    assert_eq!(init_token(7, b"new-so-pin", "fresh"), CKR_SLOT_ID_INVALID);
    let mut pin = b"new-so-pin".to_vec();
    assert_eq!(p11!(C_InitToken(1, pin.as_mut_ptr(), 10, null_mut())), CKR_ARGUMENTS_BAD);

    assert_eq!(init_token(1, b"new-so-pin", "fresh"), CKR_OK);
    let info = token_info(1);
    assert_ne!(info.flags & CKF_TOKEN_INITIALIZED, 0);
    assert_eq!(&info.label[..6], b"fresh ");

    // Initialized now: a wrong SO PIN is refused as such, the right one
    // still does not reinitialize.
    assert_eq!(init_token(1, b"wrong-so-pin", "again"), CKR_PIN_INCORRECT);
    assert_eq!(init_token(1, b"new-so-pin", "again"), CKR_FUNCTION_FAILED);
    assert_eq!(&token_info(1).label[..6], b"fresh ");

    // The user has no PIN yet; the SO gives it one (creating the
    // credential and its tenant), only the SO may.
    let s = open_on(1, true);
    assert_eq!(log_in(s, CKU_USER, USER_PIN), CKR_PIN_INCORRECT);
    assert_eq!(init_pin(s, USER_PIN), CKR_USER_NOT_LOGGED_IN);
    assert_eq!(log_in(s, CKU_SO, b"new-so-pin"), CKR_OK);
    assert_eq!(init_pin(s, b"12345"), CKR_PIN_LEN_RANGE);
    assert_eq!(init_pin(s, USER_PIN), CKR_OK);
    assert_eq!(p11!(C_Logout(s)), CKR_OK);
    assert_eq!(log_in(s, CKU_USER, USER_PIN), CKR_OK);
    assert_eq!(init_pin(s, USER_PIN), CKR_USER_NOT_LOGGED_IN);
    // The user works in the new tenant.
    assert_ne!(aes_key(s, "first"), 0);
}

#[test]
fn the_security_officer_resets_a_locked_users_pin() {
    let _serial = serial();
    let _token = common::Token::new("init-pin-unlock");
    let _loaded = Loaded::new();
    let s = open(true);
    let mut rv = CKR_OK;
    for _ in 0..5 {
        rv = log_in(s, CKU_USER, b"not-her-pin");
    }
    assert_eq!(rv, CKR_PIN_LOCKED);
    assert_eq!(log_in(s, CKU_USER, USER_PIN), CKR_PIN_LOCKED);
    assert_eq!(log_in(s, CKU_SO, SO_PIN), CKR_OK);
    assert_eq!(init_pin(s, b"fresh-user-pin"), CKR_OK);
    assert_eq!(p11!(C_Logout(s)), CKR_OK);
    assert_eq!(log_in(s, CKU_USER, USER_PIN), CKR_PIN_INCORRECT);
    assert_eq!(log_in(s, CKU_USER, b"fresh-user-pin"), CKR_OK);
    // Her keys are still hers.
    assert_ne!(aes_key(s, "after-reset"), 0);
}

#[test]
fn pins_change_in_every_session_state() {
    let _serial = serial();
    let _token = common::Token::new("set-pin");
    let _loaded = Loaded::new();

    // A read-only session cannot change a PIN.
    let ro = open(false);
    assert_eq!(set_pin(ro, USER_PIN, b"second-pin"), CKR_SESSION_READ_ONLY);
    assert_eq!(p11!(C_CloseSession(ro)), CKR_OK);

    // A public read/write session changes the user's PIN, checking the old one.
    let s = open(true);
    assert_eq!(set_pin(s, b"not-her-pin", b"second-pin"), CKR_PIN_INCORRECT);
    assert_eq!(set_pin(s, USER_PIN, b"short"), CKR_PIN_LEN_RANGE);
    assert_eq!(set_pin(s, USER_PIN, b"second-pin"), CKR_OK);
    assert_eq!(log_in(s, CKU_USER, USER_PIN), CKR_PIN_INCORRECT);
    assert_eq!(log_in(s, CKU_USER, b"second-pin"), CKR_OK);

    // Logged in: the user's own PIN.
    assert_eq!(set_pin(s, b"not-her-pin", b"third-pin"), CKR_PIN_INCORRECT);
    assert_eq!(set_pin(s, b"second-pin", b"third-pin"), CKR_OK);
    assert_eq!(p11!(C_Logout(s)), CKR_OK);
    assert_eq!(log_in(s, CKU_USER, b"third-pin"), CKR_OK);
    assert_eq!(p11!(C_Logout(s)), CKR_OK);

    // The security officer's own PIN.
    assert_eq!(log_in(s, CKU_SO, SO_PIN), CKR_OK);
    assert_eq!(set_pin(s, SO_PIN, b"new-so-pin"), CKR_OK);
    assert_eq!(p11!(C_Logout(s)), CKR_OK);
    assert_eq!(log_in(s, CKU_SO, SO_PIN), CKR_PIN_INCORRECT);
    assert_eq!(log_in(s, CKU_SO, b"new-so-pin"), CKR_OK);

    // NULL PINs are refused.
    let mut new = b"fourth-pin".to_vec();
    assert_eq!(p11!(C_SetPIN(s, null_mut(), 0, new.as_mut_ptr(), 10)), CKR_ARGUMENTS_BAD);
}

/// A session on `slot`.
fn open_on(slot: CK_SLOT_ID, read_write: bool) -> CK_SESSION_HANDLE {
    let mut session: CK_SESSION_HANDLE = 0;
    let flags = CKF_SERIAL_SESSION | if read_write { CKF_RW_SESSION } else { 0 };
    assert_eq!(p11!(C_OpenSession(slot, flags, null_mut(), None, &mut session)), CKR_OK);
    session
}
