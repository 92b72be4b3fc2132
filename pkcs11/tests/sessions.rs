//! Sessions and login through `C_GetFunctionList`'s table: serial and
//! read/write sessions, their states, one login shared by every session,
//! coffer's PIN lockout, and bad handles.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

#[macro_use]
mod common;

use std::ptr::null_mut;

use common::{Loaded, SO_PIN, Token, USER_PIN, serial};
use cryptoki_sys::*;

fn open(flags: CK_FLAGS) -> CK_SESSION_HANDLE {
    let mut session: CK_SESSION_HANDLE = 0;
    assert_eq!(p11!(C_OpenSession(0, flags, null_mut(), None, &mut session)), CKR_OK);
    assert_ne!(session, CK_INVALID_HANDLE);
    session
}

const RO: CK_FLAGS = CKF_SERIAL_SESSION;
const RW: CK_FLAGS = CKF_SERIAL_SESSION | CKF_RW_SESSION;

fn login(session: CK_SESSION_HANDLE, user: CK_USER_TYPE, pin: &[u8]) -> CK_RV {
    let mut pin = pin.to_vec();
    let len = pin.len() as CK_ULONG;
    p11!(C_Login(session, user, pin.as_mut_ptr(), len))
}

fn state(session: CK_SESSION_HANDLE) -> CK_STATE {
    let mut info = CK_SESSION_INFO::default();
    assert_eq!(p11!(C_GetSessionInfo(session, &mut info)), CKR_OK);
    info.state
}

#[test]
fn a_session_must_be_serial() {
    let _serial = serial();
    let _token = Token::new("serial");
    let _loaded = Loaded::new();
    let mut session: CK_SESSION_HANDLE = 0;
    assert_eq!(
        p11!(C_OpenSession(0, CKF_RW_SESSION, null_mut(), None, &mut session)),
        CKR_SESSION_PARALLEL_NOT_SUPPORTED
    );
    assert_eq!(p11!(C_OpenSession(0, 0, null_mut(), None, &mut session)), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    assert_eq!(p11!(C_OpenSession(0, RW, null_mut(), None, null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(p11!(C_OpenSession(9, RW, null_mut(), None, &mut session)), CKR_SLOT_ID_INVALID);
}

#[test]
fn session_info_tells_the_slot_the_flags_and_the_state() {
    let _serial = serial();
    let _token = Token::new("session-info");
    let _loaded = Loaded::new();
    let ro = open(RO);
    let rw = open(RW);
    let mut info = CK_SESSION_INFO::default();
    assert_eq!(p11!(C_GetSessionInfo(ro, &mut info)), CKR_OK);
    assert_eq!((info.slotID, info.state, info.flags, info.ulDeviceError), (0, CKS_RO_PUBLIC_SESSION, RO, 0));
    assert_eq!(p11!(C_GetSessionInfo(rw, &mut info)), CKR_OK);
    assert_eq!((info.state, info.flags), (CKS_RW_PUBLIC_SESSION, RW));
    assert_eq!(p11!(C_GetSessionInfo(rw, null_mut())), CKR_ARGUMENTS_BAD);

    let mut token = CK_TOKEN_INFO::default();
    assert_eq!(p11!(C_GetTokenInfo(0, &mut token)), CKR_OK);
    assert_eq!((token.ulSessionCount, token.ulRwSessionCount), (2, 1));

    // One login for every session of the application.
    assert_eq!(login(ro, CKU_USER, USER_PIN), CKR_OK);
    assert_eq!(state(ro), CKS_RO_USER_FUNCTIONS);
    assert_eq!(state(rw), CKS_RW_USER_FUNCTIONS);
    let later = open(RW);
    assert_eq!(state(later), CKS_RW_USER_FUNCTIONS, "a session opened later shares the login");
    assert_eq!(p11!(C_Logout(rw)), CKR_OK);
    assert_eq!(state(ro), CKS_RO_PUBLIC_SESSION);
    assert_eq!(state(later), CKS_RW_PUBLIC_SESSION);
}

#[test]
fn login_and_logout_follow_the_standard() {
    let _serial = serial();
    let _token = Token::new("login");
    let _loaded = Loaded::new();
    let rw = open(RW);
    assert_eq!(p11!(C_Logout(rw)), CKR_USER_NOT_LOGGED_IN);
    assert_eq!(login(rw, 7, USER_PIN), CKR_USER_TYPE_INVALID);
    assert_eq!(login(rw, CKU_CONTEXT_SPECIFIC, USER_PIN), CKR_OPERATION_NOT_INITIALIZED);
    assert_eq!(p11!(C_Login(rw, CKU_USER, null_mut(), 9)), CKR_ARGUMENTS_BAD);

    assert_eq!(login(rw, CKU_USER, USER_PIN), CKR_OK);
    assert_eq!(login(rw, CKU_USER, USER_PIN), CKR_USER_ALREADY_LOGGED_IN);
    assert_eq!(login(rw, CKU_SO, SO_PIN), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    assert_eq!(p11!(C_Logout(rw)), CKR_OK);
    assert_eq!(p11!(C_Logout(rw)), CKR_USER_NOT_LOGGED_IN);

    // The security officer: only with read/write sessions.
    let ro = open(RO);
    assert_eq!(login(rw, CKU_SO, SO_PIN), CKR_SESSION_READ_ONLY_EXISTS);
    assert_eq!(p11!(C_CloseSession(ro)), CKR_OK);
    assert_eq!(login(rw, CKU_SO, SO_PIN), CKR_OK);
    assert_eq!(state(rw), CKS_RW_SO_FUNCTIONS);
    assert_eq!(login(rw, CKU_SO, SO_PIN), CKR_USER_ALREADY_LOGGED_IN);
    assert_eq!(login(rw, CKU_USER, USER_PIN), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    let mut session: CK_SESSION_HANDLE = 0;
    assert_eq!(p11!(C_OpenSession(0, RO, null_mut(), None, &mut session)), CKR_SESSION_READ_WRITE_SO_EXISTS);

    // Closing the last session logs the application out.
    assert_eq!(p11!(C_CloseSession(rw)), CKR_OK);
    let again = open(RO);
    assert_eq!(state(again), CKS_RO_PUBLIC_SESSION);
    assert_eq!(p11!(C_Logout(again)), CKR_USER_NOT_LOGGED_IN);
}

#[test]
fn wrong_pins_lock_the_credential_in_the_keystore() {
    let _serial = serial();
    let _token = Token::new("lockout");
    {
        let _loaded = Loaded::new();
        let rw = open(RW);
        // coffer locks a credential at its fifth consecutive wrong PIN.
        for attempt in 1..=4 {
            assert_eq!(login(rw, CKU_USER, b"wrong-pin"), CKR_PIN_INCORRECT, "attempt {attempt}");
        }
        assert_eq!(login(rw, CKU_USER, b"wrong-pin"), CKR_PIN_LOCKED);
        assert_eq!(login(rw, CKU_USER, USER_PIN), CKR_PIN_LOCKED, "the right PIN no longer opens it");
        assert_eq!(state(rw), CKS_RW_PUBLIC_SESSION);
        // The security officer's PIN has its own count.
        assert_eq!(login(rw, CKU_SO, b"wrong-so"), CKR_PIN_INCORRECT);
        assert_eq!(login(rw, CKU_SO, SO_PIN), CKR_OK);
    }
    // The lock is in the keystore: it outlives the module.
    let _loaded = Loaded::new();
    let rw = open(RW);
    assert_eq!(login(rw, CKU_USER, USER_PIN), CKR_PIN_LOCKED);
}

#[test]
fn a_bad_session_handle_is_session_handle_invalid_everywhere() {
    let _serial = serial();
    let _token = Token::new("bad-handle");
    let _loaded = Loaded::new();
    let rw = open(RW);
    let mut info = CK_SESSION_INFO::default();
    let mut byte = [0u8; 8];
    let mut len: CK_ULONG = 8;
    let mut mech = CK_MECHANISM { mechanism: CKM_SHA256, pParameter: null_mut(), ulParameterLen: 0 };
    for bad in [CK_INVALID_HANDLE, rw + 1, CK_ULONG::MAX] {
        assert_eq!(p11!(C_GetSessionInfo(bad, &mut info)), CKR_SESSION_HANDLE_INVALID);
        assert_eq!(p11!(C_CloseSession(bad)), CKR_SESSION_HANDLE_INVALID);
        assert_eq!(login(bad, CKU_USER, USER_PIN), CKR_SESSION_HANDLE_INVALID);
        assert_eq!(p11!(C_Logout(bad)), CKR_SESSION_HANDLE_INVALID);
        assert_eq!(p11!(C_GenerateRandom(bad, byte.as_mut_ptr(), 8)), CKR_SESSION_HANDLE_INVALID);
        assert_eq!(p11!(C_SeedRandom(bad, byte.as_mut_ptr(), 8)), CKR_SESSION_HANDLE_INVALID);
        assert_eq!(p11!(C_DigestInit(bad, &mut mech)), CKR_SESSION_HANDLE_INVALID);
        assert_eq!(
            p11!(C_Digest(bad, byte.as_mut_ptr(), 8, byte.as_mut_ptr(), &mut len)),
            CKR_SESSION_HANDLE_INVALID
        );
        assert_eq!(p11!(C_DigestUpdate(bad, byte.as_mut_ptr(), 8)), CKR_SESSION_HANDLE_INVALID);
        assert_eq!(p11!(C_DigestFinal(bad, byte.as_mut_ptr(), &mut len)), CKR_SESSION_HANDLE_INVALID);
        assert_eq!(p11!(C_GetFunctionStatus(bad)), CKR_SESSION_HANDLE_INVALID);
    }
    // A closed session's handle is invalid too.
    assert_eq!(p11!(C_CloseSession(rw)), CKR_OK);
    assert_eq!(p11!(C_GetSessionInfo(rw, &mut info)), CKR_SESSION_HANDLE_INVALID);
    assert_eq!(p11!(C_CloseSession(rw)), CKR_SESSION_HANDLE_INVALID);
}

#[test]
fn close_all_sessions_ends_every_session_and_the_login() {
    let _serial = serial();
    let _token = Token::new("close-all");
    let _loaded = Loaded::new();
    let a = open(RW);
    let b = open(RO);
    assert_eq!(login(a, CKU_USER, USER_PIN), CKR_OK);
    assert_eq!(p11!(C_CloseAllSessions(3)), CKR_SLOT_ID_INVALID);
    assert_eq!(p11!(C_CloseAllSessions(0)), CKR_OK);
    let mut info = CK_SESSION_INFO::default();
    assert_eq!(p11!(C_GetSessionInfo(a, &mut info)), CKR_SESSION_HANDLE_INVALID);
    assert_eq!(p11!(C_GetSessionInfo(b, &mut info)), CKR_SESSION_HANDLE_INVALID);
    let c = open(RW);
    assert_eq!(state(c), CKS_RW_PUBLIC_SESSION);
    assert_eq!(login(c, CKU_USER, USER_PIN), CKR_OK, "logged out, so a new login works");
}

#[test]
fn c_finalize_ends_sessions_and_the_login() {
    let _serial = serial();
    let _token = Token::new("finalize");
    let session;
    {
        let _loaded = Loaded::new();
        session = open(RW);
        assert_eq!(login(session, CKU_USER, USER_PIN), CKR_OK);
    }
    let _loaded = Loaded::new();
    let mut info = CK_SESSION_INFO::default();
    assert_eq!(p11!(C_GetSessionInfo(session, &mut info)), CKR_SESSION_HANDLE_INVALID);
    let fresh = open(RW);
    assert_eq!(login(fresh, CKU_USER, USER_PIN), CKR_OK);
}
