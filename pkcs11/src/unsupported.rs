//! The functions this version of the module does not provide: each is in
//! the function list and returns `CKR_FUNCTION_NOT_SUPPORTED` (after
//! `CKR_CRYPTOKI_NOT_INITIALIZED` when the module is not initialized), the
//! standard's code for a function a library does not implement.
//! `C_GetFunctionStatus` and `C_CancelFunction` are the legacy exception:
//! v2.40 §5.16 says they return `CKR_FUNCTION_NOT_PARALLEL`.
//!
//! The functions below come in later versions (README.md, "Not yet").

use std::ffi::c_void;

use cryptoki_sys::{
    CK_ATTRIBUTE, CK_BYTE, CK_FLAGS, CK_MECHANISM, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_SLOT_ID,
    CK_ULONG, CKR_FUNCTION_NOT_PARALLEL, CKR_FUNCTION_NOT_SUPPORTED,
};

use crate::boundary::boundary;
use crate::module::{require_initialized, with_session};

/// Defines `extern "C"` functions, with the given parameter types, that
/// return `CKR_FUNCTION_NOT_SUPPORTED` once the module is initialized.
macro_rules! not_supported {
    ($($(#[$doc:meta])* $name:ident($($arg:ty),* $(,)?);)*) => {
        $(
            $(#[$doc])*
            pub(crate) extern "C" fn $name($(_: $arg),*) -> CK_RV {
                boundary(|| {
                    require_initialized()?;
                    Err(CKR_FUNCTION_NOT_SUPPORTED)
                })
            }
        )*
    };
}

not_supported! {
    /// `C_GetOperationState`.
    get_operation_state(CK_SESSION_HANDLE, *mut CK_BYTE, *mut CK_ULONG);
    /// `C_SetOperationState`.
    set_operation_state(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, CK_OBJECT_HANDLE, CK_OBJECT_HANDLE);
    /// `C_CreateObject`.
    create_object(CK_SESSION_HANDLE, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_OBJECT_HANDLE);
    /// `C_CopyObject`.
    copy_object(CK_SESSION_HANDLE, CK_OBJECT_HANDLE, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_OBJECT_HANDLE);
    /// `C_GetObjectSize`.
    get_object_size(CK_SESSION_HANDLE, CK_OBJECT_HANDLE, *mut CK_ULONG);
    /// `C_DigestKey` (coffer does not digest key material).
    digest_key(CK_SESSION_HANDLE, CK_OBJECT_HANDLE);
    /// `C_SignRecoverInit`.
    sign_recover_init(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
    /// `C_SignRecover`.
    sign_recover(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    /// `C_VerifyRecoverInit`.
    verify_recover_init(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
    /// `C_VerifyRecover`.
    verify_recover(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    /// `C_DigestEncryptUpdate`.
    digest_encrypt_update(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    /// `C_DecryptDigestUpdate`.
    decrypt_digest_update(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    /// `C_SignEncryptUpdate`.
    sign_encrypt_update(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    /// `C_DecryptVerifyUpdate`.
    decrypt_verify_update(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    /// `C_DeriveKey`.
    derive_key(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_OBJECT_HANDLE);
    /// `C_WaitForSlotEvent` (the one slot never changes).
    wait_for_slot_event(CK_FLAGS, *mut CK_SLOT_ID, *mut c_void);
}

/// `C_GetFunctionStatus`: the legacy `CKR_FUNCTION_NOT_PARALLEL` (§5.16).
pub(crate) extern "C" fn get_function_status(session: CK_SESSION_HANDLE) -> CK_RV {
    boundary(|| {
        with_session(session, |_| Ok(()))?;
        Err(CKR_FUNCTION_NOT_PARALLEL)
    })
}

/// `C_CancelFunction`: the legacy `CKR_FUNCTION_NOT_PARALLEL` (§5.16).
pub(crate) extern "C" fn cancel_function(session: CK_SESSION_HANDLE) -> CK_RV {
    boundary(|| {
        with_session(session, |_| Ok(()))?;
        Err(CKR_FUNCTION_NOT_PARALLEL)
    })
}
