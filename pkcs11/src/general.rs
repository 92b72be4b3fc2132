//! General-purpose functions (PKCS#11 v2.40 §5.4): `C_Initialize`,
//! `C_Finalize`, `C_GetInfo`.

use std::ffi::c_void;

use cryptoki_sys::{
    CK_C_INITIALIZE_ARGS, CK_INFO, CK_RV, CK_VERSION, CKF_OS_LOCKING_OK, CKR_ARGUMENTS_BAD, CKR_CANT_LOCK,
    CKR_CRYPTOKI_ALREADY_INITIALIZED, CKR_CRYPTOKI_NOT_INITIALIZED, CKR_GENERAL_ERROR,
};

use crate::boundary::{CkResult, boundary, padded, ref_in, write_out};
use crate::config::ModuleConfig;
use crate::module::{Module, lock, lock_to_finalize, require_initialized};

/// The manufacturer shown in `CK_INFO`, `CK_SLOT_INFO` and `CK_TOKEN_INFO`.
pub(crate) const MANUFACTURER: &str = "coffer";

/// The module's version (the crate version), as a `CK_VERSION`.
pub(crate) fn library_version() -> CK_VERSION {
    let major = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap_or(0);
    let minor = env!("CARGO_PKG_VERSION_MINOR").parse().unwrap_or(0);
    CK_VERSION { major, minor }
}

/// Tells the operator why `C_Initialize` failed: one line on standard
/// error (the return code alone cannot say which file or setting is wrong).
fn diagnose(message: &str) {
    eprintln!("coffer-pkcs11: {message}");
}

/// Checks `CK_C_INITIALIZE_ARGS` (§5.4 `C_Initialize`): NULL is fine;
/// `pReserved` must be NULL; the four mutex callbacks must be all given or
/// all NULL; callbacks without `CKF_OS_LOCKING_OK` are refused with
/// `CKR_CANT_LOCK`, because the module locks only with the OS's own
/// primitives (it never calls the application's).
///
/// # Safety
/// A non-NULL `args` must point to a valid `CK_C_INITIALIZE_ARGS`.
unsafe fn check_args(args: *mut c_void) -> CkResult<()> {
    if args.is_null() {
        return Ok(());
    }
    // SAFETY: non-NULL, and a CK_C_INITIALIZE_ARGS by the caller's contract.
    let args = unsafe { ref_in(args.cast::<CK_C_INITIALIZE_ARGS>().cast_const()) }?;
    if !args.pReserved.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    let given = [
        args.CreateMutex.is_some(),
        args.DestroyMutex.is_some(),
        args.LockMutex.is_some(),
        args.UnlockMutex.is_some(),
    ];
    match given {
        [false, false, false, false] => Ok(()),
        [true, true, true, true] if args.flags & CKF_OS_LOCKING_OK != 0 => Ok(()),
        [true, true, true, true] => Err(CKR_CANT_LOCK),
        _ => Err(CKR_ARGUMENTS_BAD),
    }
}

/// `C_Initialize`: checks the arguments, reads the configuration
/// (`COFFER_PKCS11_CONF`) and opens the keystore. A missing or bad
/// configuration, or a keystore that cannot be opened, is
/// `CKR_GENERAL_ERROR` with one line on standard error saying why.
///
/// # Safety
/// A non-NULL `init_args` must point to a valid `CK_C_INITIALIZE_ARGS`.
pub(crate) unsafe extern "C" fn initialize(init_args: *mut c_void) -> CK_RV {
    boundary(|| {
        // SAFETY: forwarded contract of this function.
        unsafe { check_args(init_args) }?;
        let mut guard = lock()?;
        if guard.is_some() {
            return Err(CKR_CRYPTOKI_ALREADY_INITIALIZED);
        }
        let config = ModuleConfig::from_env().map_err(|e| {
            diagnose(&e.to_string());
            CKR_GENERAL_ERROR
        })?;
        let module = Module::open(config).map_err(|e| {
            diagnose(&e);
            CKR_GENERAL_ERROR
        })?;
        *guard = Some(module);
        Ok(())
    })
}

/// `C_Finalize`: ends every session and the login and closes the
/// keystore. `pReserved` must be NULL. It also recovers a module whose
/// lock a panic poisoned (every other call then returns
/// `CKR_GENERAL_ERROR`): finalize and initialize again.
pub(crate) extern "C" fn finalize(reserved: *mut c_void) -> CK_RV {
    boundary(|| {
        if !reserved.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let mut guard = lock_to_finalize();
        let mut module = guard.take().ok_or(CKR_CRYPTOKI_NOT_INITIALIZED)?;
        // The keystore closes when the module is dropped; a failed logout
        // changes nothing of that.
        let _ = module.log_out();
        drop(module);
        Ok(())
    })
}

/// `C_GetInfo`: Cryptoki version 2.40, the manufacturer and description
/// (space-padded), no flags, the library version.
///
/// # Safety
/// A non-NULL `info` must be valid for a write of `CK_INFO`.
pub(crate) unsafe extern "C" fn get_info(info: *mut CK_INFO) -> CK_RV {
    boundary(|| {
        require_initialized()?;
        let value = CK_INFO {
            cryptokiVersion: CK_VERSION { major: 2, minor: 40 },
            manufacturerID: padded(MANUFACTURER),
            flags: 0,
            libraryDescription: padded("coffer software HSM"),
            libraryVersion: library_version(),
        };
        // SAFETY: forwarded contract of this function.
        unsafe { write_out(info, value) }
    })
}
