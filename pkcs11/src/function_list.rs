//! The entry point: `C_GetFunctionList` and the static function list it
//! hands out, every entry present (PKCS#11 v2.40 §5.4).

use cryptoki_sys::{
    CK_FLAGS, CK_FUNCTION_LIST, CK_INTERFACE, CK_RV, CK_ULONG, CK_UTF8CHAR, CK_VERSION, CKR_ARGUMENTS_BAD,
};

use crate::boundary::{boundary, sized_out, write_out};
use crate::unsupported as ns;
use crate::{attribute, cipher, digest, find, general, keygen, pin, random, session, sign, slot, wrap};

/// The function list `C_GetFunctionList` hands out: version 2.40, every
/// entry present (the ones this version does not implement return
/// `CKR_FUNCTION_NOT_SUPPORTED`).
static FUNCTION_LIST: CK_FUNCTION_LIST = CK_FUNCTION_LIST {
    version: CK_VERSION { major: 2, minor: 40 },
    C_Initialize: Some(general::initialize),
    C_Finalize: Some(general::finalize),
    C_GetInfo: Some(general::get_info),
    C_GetFunctionList: Some(C_GetFunctionList),
    C_GetSlotList: Some(slot::get_slot_list),
    C_GetSlotInfo: Some(slot::get_slot_info),
    C_GetTokenInfo: Some(slot::get_token_info),
    C_GetMechanismList: Some(slot::get_mechanism_list),
    C_GetMechanismInfo: Some(slot::get_mechanism_info),
    C_InitToken: Some(pin::init_token),
    C_InitPIN: Some(pin::init_pin),
    C_SetPIN: Some(pin::set_pin),
    C_OpenSession: Some(session::open_session),
    C_CloseSession: Some(session::close_session),
    C_CloseAllSessions: Some(session::close_all_sessions),
    C_GetSessionInfo: Some(session::get_session_info),
    C_GetOperationState: Some(ns::get_operation_state),
    C_SetOperationState: Some(ns::set_operation_state),
    C_Login: Some(session::login),
    C_Logout: Some(session::logout),
    C_CreateObject: Some(ns::create_object),
    C_CopyObject: Some(ns::copy_object),
    C_DestroyObject: Some(attribute::destroy_object),
    C_GetObjectSize: Some(ns::get_object_size),
    C_GetAttributeValue: Some(attribute::get_attribute_value),
    C_SetAttributeValue: Some(attribute::set_attribute_value),
    C_FindObjectsInit: Some(find::find_objects_init),
    C_FindObjects: Some(find::find_objects),
    C_FindObjectsFinal: Some(find::find_objects_final),
    C_EncryptInit: Some(cipher::encrypt_init),
    C_Encrypt: Some(cipher::encrypt),
    C_EncryptUpdate: Some(cipher::encrypt_update),
    C_EncryptFinal: Some(cipher::encrypt_final),
    C_DecryptInit: Some(cipher::decrypt_init),
    C_Decrypt: Some(cipher::decrypt),
    C_DecryptUpdate: Some(cipher::decrypt_update),
    C_DecryptFinal: Some(cipher::decrypt_final),
    C_DigestInit: Some(digest::digest_init),
    C_Digest: Some(digest::digest),
    C_DigestUpdate: Some(digest::digest_update),
    C_DigestKey: Some(ns::digest_key),
    C_DigestFinal: Some(digest::digest_final),
    C_SignInit: Some(sign::sign_init),
    C_Sign: Some(sign::sign),
    C_SignUpdate: Some(sign::sign_update),
    C_SignFinal: Some(sign::sign_final),
    C_SignRecoverInit: Some(ns::sign_recover_init),
    C_SignRecover: Some(ns::sign_recover),
    C_VerifyInit: Some(sign::verify_init),
    C_Verify: Some(sign::verify),
    C_VerifyUpdate: Some(sign::verify_update),
    C_VerifyFinal: Some(sign::verify_final),
    C_VerifyRecoverInit: Some(ns::verify_recover_init),
    C_VerifyRecover: Some(ns::verify_recover),
    C_DigestEncryptUpdate: Some(ns::digest_encrypt_update),
    C_DecryptDigestUpdate: Some(ns::decrypt_digest_update),
    C_SignEncryptUpdate: Some(ns::sign_encrypt_update),
    C_DecryptVerifyUpdate: Some(ns::decrypt_verify_update),
    C_GenerateKey: Some(keygen::generate_key),
    C_GenerateKeyPair: Some(keygen::generate_key_pair),
    C_WrapKey: Some(wrap::wrap_key),
    C_UnwrapKey: Some(wrap::unwrap_key),
    C_DeriveKey: Some(ns::derive_key),
    C_SeedRandom: Some(random::seed_random),
    C_GenerateRandom: Some(random::generate_random),
    C_GetFunctionStatus: Some(ns::get_function_status),
    C_CancelFunction: Some(ns::cancel_function),
    C_WaitForSlotEvent: Some(ns::wait_for_slot_event),
};

/// `C_GetFunctionList` (PKCS#11 v2.40 §5.4): writes a pointer to the
/// module's function list to `*function_list`. The only function an
/// application may call before `C_Initialize`; the list is static, valid
/// for as long as the library is loaded, and must not be written to.
///
/// Returns `CKR_ARGUMENTS_BAD` for a NULL `function_list`, else `CKR_OK`.
///
/// # Safety
/// A non-NULL `function_list` must be valid for a write of a pointer.
#[unsafe(no_mangle)]
#[allow(non_snake_case, reason = "the PKCS#11 symbol name")]
pub unsafe extern "C" fn C_GetFunctionList(function_list: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    boundary(|| {
        if function_list.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        // The C type is a non-const pointer; applications only read the
        // list (the standard says the module owns it).
        let list = std::ptr::from_ref(&FUNCTION_LIST).cast_mut();
        // SAFETY: non-NULL, and writable by the caller's contract.
        unsafe { write_out(function_list, list) }
    })
}

/// The interface name PKCS#11 3.0 gives the standard function list.
static INTERFACE_NAME: &[u8; 8] = b"PKCS 11\0";

/// The module's one interface (PKCS#11 3.0 §5.4): "PKCS 11", version 2.40
/// (the function list above), no flags. A `CK_INTERFACE` holds raw
/// pointers, so it is wrapped to be a `static`.
struct Interface(CK_INTERFACE);

// SAFETY: the pointers inside point to immutable statics (the name and the
// function list), which any thread may read.
unsafe impl Sync for Interface {}

static INTERFACE: Interface = Interface(CK_INTERFACE {
    pInterfaceName: INTERFACE_NAME.as_ptr().cast_mut(),
    pFunctionList: std::ptr::from_ref(&FUNCTION_LIST).cast_mut().cast(),
    flags: 0,
});

/// `C_GetInterfaceList` (PKCS#11 3.0 §5.4): the module's one interface,
/// "PKCS 11" version 2.40, with the two-call size convention (a NULL list
/// asks for the count). Callable before `C_Initialize`.
///
/// # Safety
/// `count` must be NULL or valid for reads and writes of a `CK_ULONG`; a
/// non-NULL `list` must be valid for writes of `*count` interfaces.
#[unsafe(no_mangle)]
#[allow(non_snake_case, reason = "the PKCS#11 symbol name")]
pub unsafe extern "C" fn C_GetInterfaceList(list: *mut CK_INTERFACE, count: *mut CK_ULONG) -> CK_RV {
    boundary(|| {
        // SAFETY: forwarded contract of this function.
        if let Some(out) = unsafe { sized_out(list, count, 1) }? {
            for entry in out.iter_mut() {
                *entry = INTERFACE.0;
            }
        }
        Ok(())
    })
}

/// `C_GetInterface` (PKCS#11 3.0 §5.4): the interface named `name` ("PKCS
/// 11", or NULL for the default) of `version` (NULL, or 2.40) with every
/// flag of `flags` (the module's interface has none, so any flag asked
/// for is refused). Anything else is `CKR_ARGUMENTS_BAD`, as the standard
/// says for an interface the module does not have. Callable before
/// `C_Initialize`.
///
/// # Safety
/// A non-NULL `name` must be a NUL-terminated string; a non-NULL `version`
/// readable as a `CK_VERSION`; a non-NULL `interface` valid for a write of
/// a pointer.
#[unsafe(no_mangle)]
#[allow(non_snake_case, reason = "the PKCS#11 symbol name")]
pub unsafe extern "C" fn C_GetInterface(
    name: *mut CK_UTF8CHAR,
    version: *mut CK_VERSION,
    interface: *mut *mut CK_INTERFACE,
    flags: CK_FLAGS,
) -> CK_RV {
    boundary(|| {
        if interface.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        if !name.is_null() {
            // SAFETY: a NUL-terminated string by the caller's contract.
            let asked = unsafe { std::ffi::CStr::from_ptr(name.cast_const().cast()) };
            if asked.to_bytes_with_nul() != INTERFACE_NAME {
                return Err(CKR_ARGUMENTS_BAD);
            }
        }
        // SAFETY: forwarded contract of this function (NULL gives None).
        if let Some(asked) = unsafe { version.cast_const().as_ref() }
            && (asked.major, asked.minor) != (FUNCTION_LIST.version.major, FUNCTION_LIST.version.minor)
        {
            return Err(CKR_ARGUMENTS_BAD);
        }
        if flags & !INTERFACE.0.flags != 0 {
            return Err(CKR_ARGUMENTS_BAD);
        }
        // Applications only read the interface (the module owns it).
        let found = std::ptr::from_ref(&INTERFACE.0).cast_mut();
        // SAFETY: non-NULL, and writable by the caller's contract.
        unsafe { write_out(interface, found) }
    })
}
