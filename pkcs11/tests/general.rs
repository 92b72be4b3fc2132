//! The module's general, slot, token and mechanism functions called
//! through `C_GetFunctionList`'s table: initialization and its arguments,
//! the configuration, the info structs, and the two-call size convention.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

#[macro_use]
mod common;

use std::ffi::c_void;
use std::ptr::null_mut;

use common::{LABEL, Loaded, Token, serial, set_config};
use cryptoki_sys::*;

/// A CK_C_INITIALIZE_ARGS mutex callback; never called by the module.
unsafe extern "C" fn no_mutex(_: *mut c_void) -> CK_RV {
    CKR_GENERAL_ERROR
}

/// A CK_CREATEMUTEX callback; never called by the module.
unsafe extern "C" fn no_create(_: *mut *mut c_void) -> CK_RV {
    CKR_GENERAL_ERROR
}

fn args(callbacks: [bool; 4], flags: CK_FLAGS) -> CK_C_INITIALIZE_ARGS {
    let [create, destroy, lock, unlock] = callbacks;
    CK_C_INITIALIZE_ARGS {
        CreateMutex: create.then_some(no_create as unsafe extern "C" fn(*mut *mut c_void) -> CK_RV),
        DestroyMutex: destroy.then_some(no_mutex as unsafe extern "C" fn(*mut c_void) -> CK_RV),
        LockMutex: lock.then_some(no_mutex as unsafe extern "C" fn(*mut c_void) -> CK_RV),
        UnlockMutex: unlock.then_some(no_mutex as unsafe extern "C" fn(*mut c_void) -> CK_RV),
        flags,
        pReserved: null_mut(),
    }
}

fn initialize_with(a: &mut CK_C_INITIALIZE_ARGS) -> CK_RV {
    p11!(C_Initialize(std::ptr::from_mut(a).cast::<c_void>()))
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

/// PKCS#11 3.0's interface functions offer one interface, "PKCS 11" 2.40,
/// whose list is `C_GetFunctionList`'s; other names, versions and flags
/// are refused.
#[test]
fn the_interface_functions_offer_the_same_list_as_pkcs_11_version_2_40() {
    use coffer_pkcs11::{C_GetInterface, C_GetInterfaceList};
    let list: *const CK_FUNCTION_LIST = common::functions();
    // SAFETY: the tests pass valid pointers, or NULL where the test is that it is refused.
    let interface_list = |l: *mut CK_INTERFACE, c: *mut CK_ULONG| unsafe { C_GetInterfaceList(l, c) };
    // SAFETY: as above.
    let get = |n: *mut u8, v: *mut CK_VERSION, f: *mut *mut CK_INTERFACE, flags| unsafe {
        C_GetInterface(n, v, f, flags)
    };
    let list_of = |interface: *mut CK_INTERFACE| {
        // SAFETY: the module's static interface, valid while the library is loaded.
        unsafe { &*interface }.pFunctionList.cast_const().cast::<CK_FUNCTION_LIST>()
    };
    let mut count: CK_ULONG = 0;
    assert_eq!(interface_list(null_mut(), &mut count), CKR_OK);
    assert_eq!(count, 1);
    let blank = CK_INTERFACE { pInterfaceName: null_mut(), pFunctionList: null_mut(), flags: 9 };
    let mut interfaces = [blank; 2];
    count = 0;
    assert_eq!(interface_list(interfaces.as_mut_ptr(), &mut count), CKR_BUFFER_TOO_SMALL);
    count = 2;
    assert_eq!(interface_list(interfaces.as_mut_ptr(), &mut count), CKR_OK);
    assert_eq!(count, 1);
    // SAFETY: the module's static NUL-terminated name.
    let name = unsafe { std::ffi::CStr::from_ptr(interfaces[0].pInterfaceName.cast()) };
    assert_eq!(name.to_bytes(), b"PKCS 11");
    assert_eq!(list_of(&mut interfaces[0]), list);
    assert_eq!(interfaces[0].flags, 0);
    assert_eq!(interface_list(null_mut(), null_mut()), CKR_ARGUMENTS_BAD);

    let mut found: *mut CK_INTERFACE = null_mut();
    assert_eq!(get(null_mut(), null_mut(), &mut found, 0), CKR_OK);
    assert_eq!(list_of(found), list);
    let mut pkcs11 = *b"PKCS 11\0";
    let mut v240 = CK_VERSION { major: 2, minor: 40 };
    found = null_mut();
    assert_eq!(get(pkcs11.as_mut_ptr(), &mut v240, &mut found, 0), CKR_OK);
    assert_eq!(list_of(found), list);
    let mut v30 = CK_VERSION { major: 3, minor: 0 };
    assert_eq!(get(pkcs11.as_mut_ptr(), &mut v30, &mut found, 0), CKR_ARGUMENTS_BAD);
    let mut vendor = *b"Vendor coffer\0";
    assert_eq!(get(vendor.as_mut_ptr(), null_mut(), &mut found, 0), CKR_ARGUMENTS_BAD);
    assert_eq!(get(null_mut(), null_mut(), &mut found, CKF_INTERFACE_FORK_SAFE), CKR_ARGUMENTS_BAD);
    assert_eq!(get(null_mut(), null_mut(), null_mut(), 0), CKR_ARGUMENTS_BAD);
}

#[test]
fn the_function_list_is_version_2_40_with_every_entry_present() {
    let f = common::functions();
    assert_eq!((f.version.major, f.version.minor), (2, 40));
    // SAFETY: NULL is what the test is about.
    assert_eq!(unsafe { coffer_pkcs11::C_GetFunctionList(null_mut()) }, CKR_ARGUMENTS_BAD);
    let present = [
        f.C_Initialize.is_some(),
        f.C_Finalize.is_some(),
        f.C_GetInfo.is_some(),
        f.C_GetFunctionList.is_some(),
        f.C_GetSlotList.is_some(),
        f.C_GetSlotInfo.is_some(),
        f.C_GetTokenInfo.is_some(),
        f.C_GetMechanismList.is_some(),
        f.C_GetMechanismInfo.is_some(),
        f.C_InitToken.is_some(),
        f.C_InitPIN.is_some(),
        f.C_SetPIN.is_some(),
        f.C_OpenSession.is_some(),
        f.C_CloseSession.is_some(),
        f.C_CloseAllSessions.is_some(),
        f.C_GetSessionInfo.is_some(),
        f.C_GetOperationState.is_some(),
        f.C_SetOperationState.is_some(),
        f.C_Login.is_some(),
        f.C_Logout.is_some(),
        f.C_CreateObject.is_some(),
        f.C_CopyObject.is_some(),
        f.C_DestroyObject.is_some(),
        f.C_GetObjectSize.is_some(),
        f.C_GetAttributeValue.is_some(),
        f.C_SetAttributeValue.is_some(),
        f.C_FindObjectsInit.is_some(),
        f.C_FindObjects.is_some(),
        f.C_FindObjectsFinal.is_some(),
        f.C_EncryptInit.is_some(),
        f.C_Encrypt.is_some(),
        f.C_EncryptUpdate.is_some(),
        f.C_EncryptFinal.is_some(),
        f.C_DecryptInit.is_some(),
        f.C_Decrypt.is_some(),
        f.C_DecryptUpdate.is_some(),
        f.C_DecryptFinal.is_some(),
        f.C_DigestInit.is_some(),
        f.C_Digest.is_some(),
        f.C_DigestUpdate.is_some(),
        f.C_DigestKey.is_some(),
        f.C_DigestFinal.is_some(),
        f.C_SignInit.is_some(),
        f.C_Sign.is_some(),
        f.C_SignUpdate.is_some(),
        f.C_SignFinal.is_some(),
        f.C_SignRecoverInit.is_some(),
        f.C_SignRecover.is_some(),
        f.C_VerifyInit.is_some(),
        f.C_Verify.is_some(),
        f.C_VerifyUpdate.is_some(),
        f.C_VerifyFinal.is_some(),
        f.C_VerifyRecoverInit.is_some(),
        f.C_VerifyRecover.is_some(),
        f.C_DigestEncryptUpdate.is_some(),
        f.C_DecryptDigestUpdate.is_some(),
        f.C_SignEncryptUpdate.is_some(),
        f.C_DecryptVerifyUpdate.is_some(),
        f.C_GenerateKey.is_some(),
        f.C_GenerateKeyPair.is_some(),
        f.C_WrapKey.is_some(),
        f.C_UnwrapKey.is_some(),
        f.C_DeriveKey.is_some(),
        f.C_SeedRandom.is_some(),
        f.C_GenerateRandom.is_some(),
        f.C_GetFunctionStatus.is_some(),
        f.C_CancelFunction.is_some(),
        f.C_WaitForSlotEvent.is_some(),
    ];
    assert_eq!(present.len(), 68);
    assert!(present.iter().all(|p| *p));
}

#[test]
fn every_function_before_c_initialize_is_cryptoki_not_initialized() {
    let _serial = serial();
    let mut info = CK_INFO::default();
    let mut count: CK_ULONG = 0;
    let mut session: CK_SESSION_HANDLE = 0;
    let mut byte = [0u8; 4];
    let mut mech = CK_MECHANISM { mechanism: CKM_SHA256, pParameter: null_mut(), ulParameterLen: 0 };
    assert_eq!(p11!(C_Finalize(null_mut())), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(p11!(C_GetInfo(&mut info)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(p11!(C_GetSlotList(CK_TRUE, null_mut(), &mut count)), CKR_CRYPTOKI_NOT_INITIALIZED);
    let mut slot_info = CK_SLOT_INFO::default();
    assert_eq!(p11!(C_GetSlotInfo(0, &mut slot_info)), CKR_CRYPTOKI_NOT_INITIALIZED);
    let mut token_info = CK_TOKEN_INFO::default();
    assert_eq!(p11!(C_GetTokenInfo(0, &mut token_info)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(p11!(C_GetMechanismList(0, null_mut(), &mut count)), CKR_CRYPTOKI_NOT_INITIALIZED);
    let flags = CKF_SERIAL_SESSION;
    assert_eq!(p11!(C_OpenSession(0, flags, null_mut(), None, &mut session)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(p11!(C_CloseSession(1)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(p11!(C_CloseAllSessions(0)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(p11!(C_Login(1, CKU_USER, byte.as_mut_ptr(), 4)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(p11!(C_Logout(1)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(p11!(C_GenerateRandom(1, byte.as_mut_ptr(), 4)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(p11!(C_SeedRandom(1, byte.as_mut_ptr(), 4)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(p11!(C_DigestInit(1, &mut mech)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(p11!(C_DigestUpdate(1, byte.as_mut_ptr(), 4)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(p11!(C_FindObjectsInit(1, null_mut(), 0)), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_eq!(p11!(C_InitToken(0, null_mut(), 0, null_mut())), CKR_CRYPTOKI_NOT_INITIALIZED);
}

#[test]
fn c_initialize_checks_its_arguments_and_refuses_a_second_call() {
    let _serial = serial();
    let _token = Token::new("init-args");
    // Callbacks without CKF_OS_LOCKING_OK: the module cannot use them.
    assert_eq!(initialize_with(&mut args([true; 4], 0)), CKR_CANT_LOCK);
    // Some callbacks but not all.
    assert_eq!(initialize_with(&mut args([true, true, false, false], CKF_OS_LOCKING_OK)), CKR_ARGUMENTS_BAD);
    // pReserved must be NULL.
    let mut reserved = args([false; 4], 0);
    let mut anything = 0u8;
    reserved.pReserved = std::ptr::from_mut(&mut anything).cast();
    assert_eq!(initialize_with(&mut reserved), CKR_ARGUMENTS_BAD);
    // None of those initialized the module.
    assert_eq!(p11!(C_Finalize(null_mut())), CKR_CRYPTOKI_NOT_INITIALIZED);

    for (callbacks, flags) in
        [([false; 4], 0), ([false; 4], CKF_OS_LOCKING_OK), ([true; 4], CKF_OS_LOCKING_OK)]
    {
        assert_eq!(initialize_with(&mut args(callbacks, flags)), CKR_OK);
        assert_eq!(p11!(C_Initialize(null_mut())), CKR_CRYPTOKI_ALREADY_INITIALIZED);
        let mut one = 1u8;
        assert_eq!(p11!(C_Finalize(std::ptr::from_mut(&mut one).cast())), CKR_ARGUMENTS_BAD);
        assert_eq!(p11!(C_Finalize(null_mut())), CKR_OK);
        assert_eq!(p11!(C_Finalize(null_mut())), CKR_CRYPTOKI_NOT_INITIALIZED);
    }
}

#[test]
fn a_missing_or_wrong_configuration_fails_c_initialize_with_general_error() {
    let _serial = serial();
    let token = Token::new("bad-config");
    let dir = &token.dir.0;

    set_config(None);
    assert_eq!(p11!(C_Initialize(null_mut())), CKR_GENERAL_ERROR, "no COFFER_PKCS11_CONF");
    set_config(Some(&dir.join("no-such.conf")));
    assert_eq!(p11!(C_Initialize(null_mut())), CKR_GENERAL_ERROR, "no config file");

    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let missing_store =
        write("missing.conf", "store = gone.sqlite\npassphrase_file = passphrase\nuser = alice\n");
    set_config(Some(&missing_store));
    assert_eq!(p11!(C_Initialize(null_mut())), CKR_GENERAL_ERROR, "no keystore file");
    assert!(!dir.join("gone.sqlite").exists(), "a missing keystore is not created");

    std::fs::write(dir.join("wrong-pass"), "not the passphrase").unwrap();
    let wrong = write(
        "wrong.conf",
        &format!("store = {}\npassphrase_file = wrong-pass\nuser = alice\n", token.store.display()),
    );
    set_config(Some(&wrong));
    assert_eq!(p11!(C_Initialize(null_mut())), CKR_GENERAL_ERROR, "wrong passphrase");

    let unknown =
        write("unknown.conf", "store = hsm.sqlite\npassphrase_file = passphrase\nuser = alice\npin = 1\n");
    set_config(Some(&unknown));
    assert_eq!(p11!(C_Initialize(null_mut())), CKR_GENERAL_ERROR, "unknown key");

    set_config(Some(&token.conf));
    let _loaded = Loaded::new();
}

#[test]
fn c_get_info_says_cryptoki_2_40_with_space_padded_text() {
    let _serial = serial();
    let _token = Token::new("info");
    let _loaded = Loaded::new();
    let mut info = CK_INFO::default();
    assert_eq!(p11!(C_GetInfo(&mut info)), CKR_OK);
    assert_eq!((info.cryptokiVersion.major, info.cryptokiVersion.minor), (2, 40));
    assert_eq!(text(&info.manufacturerID), format!("{:32}", "coffer"));
    assert_eq!(text(&info.libraryDescription), format!("{:32}", "coffer software HSM"));
    assert_eq!(info.flags, 0);
    assert_eq!(p11!(C_GetInfo(null_mut())), CKR_ARGUMENTS_BAD);
}

#[test]
fn the_slot_list_follows_the_two_call_convention() {
    let _serial = serial();
    let _token = Token::new("slots");
    let _loaded = Loaded::new();
    let mut count: CK_ULONG = 0;
    assert_eq!(p11!(C_GetSlotList(CK_FALSE, null_mut(), &mut count)), CKR_OK);
    assert_eq!(count, 1);
    let mut slots = [99 as CK_SLOT_ID; 2];
    count = 0;
    assert_eq!(p11!(C_GetSlotList(CK_TRUE, slots.as_mut_ptr(), &mut count)), CKR_BUFFER_TOO_SMALL);
    assert_eq!((count, slots[0]), (1, 99), "too small: the size needed, nothing written");
    count = 2;
    assert_eq!(p11!(C_GetSlotList(CK_TRUE, slots.as_mut_ptr(), &mut count)), CKR_OK);
    assert_eq!((count, slots[0]), (1, 0));
    assert_eq!(p11!(C_GetSlotList(CK_TRUE, slots.as_mut_ptr(), null_mut())), CKR_ARGUMENTS_BAD);
}

#[test]
fn slot_and_token_info_describe_the_keystore_token() {
    let _serial = serial();
    let _token = Token::new("token-info");
    let _loaded = Loaded::new();
    let mut slot = CK_SLOT_INFO::default();
    assert_eq!(p11!(C_GetSlotInfo(0, &mut slot)), CKR_OK);
    assert_eq!(slot.flags, CKF_TOKEN_PRESENT);
    assert_eq!(text(&slot.manufacturerID), format!("{:32}", "coffer"));
    assert_eq!(p11!(C_GetSlotInfo(1, &mut slot)), CKR_SLOT_ID_INVALID);
    assert_eq!(p11!(C_GetSlotInfo(0, null_mut())), CKR_ARGUMENTS_BAD);

    let mut token = CK_TOKEN_INFO::default();
    assert_eq!(p11!(C_GetTokenInfo(0, &mut token)), CKR_OK);
    assert_eq!(text(&token.label), format!("{LABEL:32}"));
    assert_eq!(token.flags, CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED);
    assert_eq!((token.ulMinPinLen, token.ulMaxPinLen), (6, 64));
    assert_eq!((token.ulSessionCount, token.ulRwSessionCount), (0, 0));
    assert_eq!(p11!(C_GetTokenInfo(7, &mut token)), CKR_SLOT_ID_INVALID);
    assert_eq!(p11!(C_GetTokenInfo(0, null_mut())), CKR_ARGUMENTS_BAD);
}

#[test]
fn a_slot_without_a_token_is_reported_uninitialized() {
    let _serial = serial();
    let dir = common::TempDir::new("uninitialized");
    let store = common::make_keystore(&dir.0, 2);
    let conf = common::write_config(&dir.0, &store, 1);
    set_config(Some(&conf));
    let _loaded = Loaded::new();
    let mut count: CK_ULONG = 1;
    let mut slot: CK_SLOT_ID = 0;
    assert_eq!(p11!(C_GetSlotList(CK_TRUE, &mut slot, &mut count)), CKR_OK);
    assert_eq!(slot, 1, "the slot id is the configured coffer slot");
    let mut token = CK_TOKEN_INFO::default();
    assert_eq!(p11!(C_GetTokenInfo(1, &mut token)), CKR_OK);
    assert_eq!(token.flags, CKF_RNG | CKF_LOGIN_REQUIRED);
    assert_eq!(text(&token.label), format!("{:32}", ""));
    let mut session: CK_SESSION_HANDLE = 0;
    let flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
    assert_eq!(p11!(C_OpenSession(1, flags, null_mut(), None, &mut session)), CKR_OK);
    let mut pin = *b"so-pin-1";
    assert_eq!(p11!(C_Login(session, CKU_SO, pin.as_mut_ptr(), 8)), CKR_USER_PIN_NOT_INITIALIZED);
    let mut pin = *b"alice-pin";
    assert_eq!(p11!(C_Login(session, CKU_USER, pin.as_mut_ptr(), 9)), CKR_USER_PIN_NOT_INITIALIZED);
}

#[test]
fn only_implemented_mechanisms_are_listed() {
    let _serial = serial();
    let _token = Token::new("mechanisms");
    let _loaded = Loaded::new();
    let implemented = [
        CKM_SHA256,
        CKM_AES_KEY_GEN,
        CKM_GENERIC_SECRET_KEY_GEN,
        CKM_EC_KEY_PAIR_GEN,
        CKM_RSA_PKCS_KEY_PAIR_GEN,
        CKM_ECDSA,
        CKM_ECDSA_SHA256,
        CKM_SHA256_RSA_PKCS,
        CKM_SHA256_RSA_PKCS_PSS,
        CKM_SHA256_HMAC,
        CKM_AES_GCM,
        CKM_RSA_PKCS_OAEP,
        CKM_AES_KEY_WRAP,
        CKM_AES_KEY_WRAP_KWP,
    ];
    let n = implemented.len() as CK_ULONG;
    let mut count: CK_ULONG = 0;
    assert_eq!(p11!(C_GetMechanismList(0, null_mut(), &mut count)), CKR_OK);
    assert_eq!(count, n);
    let mut list = [0 as CK_MECHANISM_TYPE; 32];
    count = n - 1;
    assert_eq!(p11!(C_GetMechanismList(0, list.as_mut_ptr(), &mut count)), CKR_BUFFER_TOO_SMALL);
    assert_eq!(count, n);
    count = 32;
    assert_eq!(p11!(C_GetMechanismList(0, list.as_mut_ptr(), &mut count)), CKR_OK);
    assert_eq!((count, &list[..implemented.len()]), (n, &implemented[..]));
    assert_eq!(p11!(C_GetMechanismList(3, list.as_mut_ptr(), &mut count)), CKR_SLOT_ID_INVALID);
    assert_eq!(p11!(C_GetMechanismList(0, list.as_mut_ptr(), null_mut())), CKR_ARGUMENTS_BAD);

    let mut info = CK_MECHANISM_INFO::default();
    assert_eq!(p11!(C_GetMechanismInfo(0, CKM_SHA256, &mut info)), CKR_OK);
    assert_eq!((info.flags, info.ulMinKeySize, info.ulMaxKeySize), (CKF_DIGEST, 0, 0));
    let ec = CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;
    for (mechanism, flags, min, max) in [
        (CKM_AES_KEY_GEN, CKF_GENERATE, 32, 32),
        (CKM_GENERIC_SECRET_KEY_GEN, CKF_GENERATE, 256, 256),
        (CKM_EC_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR | ec, 256, 256),
        (CKM_RSA_PKCS_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR, 2048, 4096),
        (CKM_ECDSA, CKF_SIGN | CKF_VERIFY | ec, 256, 256),
        (CKM_ECDSA_SHA256, CKF_SIGN | CKF_VERIFY | ec, 256, 256),
        (CKM_SHA256_RSA_PKCS, CKF_SIGN | CKF_VERIFY, 2048, 4096),
        (CKM_SHA256_RSA_PKCS_PSS, CKF_SIGN | CKF_VERIFY, 2048, 4096),
        (CKM_SHA256_HMAC, CKF_SIGN | CKF_VERIFY, 256, 256),
        (CKM_AES_GCM, CKF_ENCRYPT | CKF_DECRYPT, 32, 32),
        (CKM_RSA_PKCS_OAEP, CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP, 2048, 4096),
        (CKM_AES_KEY_WRAP, CKF_WRAP | CKF_UNWRAP, 32, 32),
        (CKM_AES_KEY_WRAP_KWP, CKF_WRAP | CKF_UNWRAP, 32, 32),
    ] {
        assert_eq!(p11!(C_GetMechanismInfo(0, mechanism, &mut info)), CKR_OK);
        assert_eq!((info.flags, info.ulMinKeySize, info.ulMaxKeySize), (flags, min, max), "{mechanism:#x}");
    }
    for not_yet in [CKM_AES_CBC, CKM_ECDSA_SHA384, CKM_RSA_PKCS, CKM_SHA_1] {
        assert_eq!(p11!(C_GetMechanismInfo(0, not_yet, &mut info)), CKR_MECHANISM_INVALID);
    }
    assert_eq!(p11!(C_GetMechanismInfo(0, CKM_SHA256, null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(p11!(C_GetMechanismInfo(5, CKM_SHA256, &mut info)), CKR_SLOT_ID_INVALID);
}

#[test]
fn functions_not_in_this_version_return_function_not_supported() {
    let _serial = serial();
    let _token = Token::new("not-supported");
    let _loaded = Loaded::new();
    let mut session: CK_SESSION_HANDLE = 0;
    let flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
    assert_eq!(p11!(C_OpenSession(0, flags, null_mut(), None, &mut session)), CKR_OK);
    let mut mech = CK_MECHANISM { mechanism: CKM_AES_KEY_GEN, pParameter: null_mut(), ulParameterLen: 0 };
    let mut handle: CK_OBJECT_HANDLE = 0;
    let mut len: CK_ULONG = 0;
    assert_eq!(p11!(C_CreateObject(session, null_mut(), 0, &mut handle)), CKR_FUNCTION_NOT_SUPPORTED);
    assert_eq!(p11!(C_GetObjectSize(session, 1, &mut len)), CKR_FUNCTION_NOT_SUPPORTED);
    assert_eq!(p11!(C_SignRecoverInit(session, &mut mech, 1)), CKR_FUNCTION_NOT_SUPPORTED);
    assert_eq!(
        p11!(C_DeriveKey(session, &mut mech, 1, null_mut(), 0, &mut handle)),
        CKR_FUNCTION_NOT_SUPPORTED
    );
    assert_eq!(p11!(C_DigestKey(session, 1)), CKR_FUNCTION_NOT_SUPPORTED);
    assert_eq!(p11!(C_GetOperationState(session, null_mut(), &mut len)), CKR_FUNCTION_NOT_SUPPORTED);
    assert_eq!(p11!(C_WaitForSlotEvent(0, null_mut(), null_mut())), CKR_FUNCTION_NOT_SUPPORTED);
    assert_eq!(p11!(C_GetFunctionStatus(session)), CKR_FUNCTION_NOT_PARALLEL);
    assert_eq!(p11!(C_CancelFunction(session)), CKR_FUNCTION_NOT_PARALLEL);
}
