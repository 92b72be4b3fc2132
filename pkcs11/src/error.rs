//! coffer-hsm's errors as PKCS#11 return codes.

use coffer_hsm::{Error, StoreError};
use cryptoki_sys::{
    CK_RV, CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY, CKR_FUNCTION_FAILED, CKR_KEY_FUNCTION_NOT_PERMITTED,
    CKR_KEY_HANDLE_INVALID, CKR_KEY_TYPE_INCONSISTENT, CKR_PIN_INCORRECT, CKR_PIN_LEN_RANGE, CKR_PIN_LOCKED,
    CKR_SIGNATURE_INVALID, CKR_USER_NOT_LOGGED_IN, CKR_USER_PIN_NOT_INITIALIZED,
};

/// The `CKR_` code of a coffer-hsm error.
///
/// - a wrong PIN (or an unknown user name, which coffer refuses alike) is
///   `CKR_PIN_INCORRECT`, a locked credential `CKR_PIN_LOCKED`, a new PIN
///   outside coffer's 6..=64 bytes `CKR_PIN_LEN_RANGE`;
/// - a slot without a token (`TokenState`) is `CKR_USER_PIN_NOT_INITIALIZED`:
///   an uninitialized token has no PIN to log in with;
/// - a full audit log or a full disk is `CKR_DEVICE_MEMORY`;
/// - a store that fails, a keystore that was rolled back, tampered with or
///   sealed under another secret, is `CKR_DEVICE_ERROR` (the token failed);
/// - anything else is `CKR_FUNCTION_FAILED`.
pub(crate) fn rv_of(e: &Error) -> CK_RV {
    match e {
        Error::PinIncorrect => CKR_PIN_INCORRECT,
        Error::PinLocked => CKR_PIN_LOCKED,
        Error::PinPolicy => CKR_PIN_LEN_RANGE,
        Error::NotLoggedIn => CKR_USER_NOT_LOGGED_IN,
        Error::TokenState => CKR_USER_PIN_NOT_INITIALIZED,
        Error::AuditFull | Error::Store(StoreError::NoSpace) => CKR_DEVICE_MEMORY,
        Error::Store(_)
        | Error::Storage
        | Error::Io
        | Error::KeystoreAuth
        | Error::KeystoreCorrupt
        | Error::KeystoreRollback
        | Error::AuditTampered { .. } => CKR_DEVICE_ERROR,
        _ => CKR_FUNCTION_FAILED,
    }
}

/// The `CKR_` code of a coffer-hsm error from using a key (sign, verify):
/// a usage, lifecycle state or expiry that forbids it is
/// `CKR_KEY_FUNCTION_NOT_PERMITTED`; a key that is gone or not the
/// tenant's `CKR_KEY_HANDLE_INVALID`; a key of another type
/// `CKR_KEY_TYPE_INCONSISTENT`; a signature or MAC that does not verify
/// `CKR_SIGNATURE_INVALID`; anything else as [`rv_of`].
pub(crate) fn rv_of_key_use(e: &Error) -> CK_RV {
    match e {
        Error::PolicyDenied | Error::KeyState | Error::KeyExpired => CKR_KEY_FUNCTION_NOT_PERMITTED,
        Error::NotFound | Error::TenantNotAllowed => CKR_KEY_HANDLE_INVALID,
        Error::InvalidInput => CKR_KEY_TYPE_INCONSISTENT,
        Error::Crypto(coffer_core::Error::Verify) => CKR_SIGNATURE_INVALID,
        _ => rv_of(e),
    }
}
