//! The entry point: `C_GetFunctionList` and the static function list it
//! hands out, every entry present (PKCS#11 v2.40 §5.4).

use cryptoki_sys::{CK_FUNCTION_LIST, CK_RV, CK_VERSION, CKR_ARGUMENTS_BAD};

use crate::boundary::{boundary, write_out};
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
