//! Session management (PKCS#11 v2.40 §5.6): opening and closing sessions,
//! their state, and the application's one login.
//!
//! The login belongs to the application, not to a session (§6.7): a
//! `C_Login` on any session logs every session in, `C_Logout` logs them
//! all out, and closing the last session logs out too. `CKU_USER` is the
//! coffer credential named in the configuration (`user`, acting in
//! `tenant`), `CKU_SO` is coffer's security officer; each has coffer's own
//! PIN, failure count and lockout (README.md, "Roles").

use std::ffi::c_void;

use cryptoki_sys::{
    CK_FLAGS, CK_NOTIFY, CK_RV, CK_SESSION_HANDLE, CK_SESSION_INFO, CK_SLOT_ID, CK_ULONG, CK_USER_TYPE,
    CK_UTF8CHAR, CKF_RW_SESSION, CKF_SERIAL_SESSION, CKR_ARGUMENTS_BAD, CKR_GENERAL_ERROR,
    CKR_OPERATION_NOT_INITIALIZED, CKR_SESSION_PARALLEL_NOT_SUPPORTED, CKR_SESSION_READ_ONLY_EXISTS,
    CKR_SESSION_READ_WRITE_SO_EXISTS, CKR_USER_ALREADY_LOGGED_IN, CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
    CKR_USER_NOT_LOGGED_IN, CKR_USER_TYPE_INVALID, CKS_RO_PUBLIC_SESSION, CKS_RO_USER_FUNCTIONS,
    CKS_RW_PUBLIC_SESSION, CKS_RW_SO_FUNCTIONS, CKS_RW_USER_FUNCTIONS, CKU_CONTEXT_SPECIFIC, CKU_SO,
    CKU_USER,
};

use crate::boundary::{boundary, bytes_in, write_out};
use crate::error::rv_of;
use crate::module::{LoggedIn, Login, Session, with_module};

/// `C_OpenSession`: `CKF_SERIAL_SESSION` is required
/// (`CKR_SESSION_PARALLEL_NOT_SUPPORTED` otherwise); `CKF_RW_SESSION`
/// makes it read/write. A read-only session cannot be opened while the
/// security officer is logged in (`CKR_SESSION_READ_WRITE_SO_EXISTS`).
/// The module never calls `notify`.
///
/// # Safety
/// A non-NULL `session` must be valid for a write of `CK_SESSION_HANDLE`.
pub(crate) unsafe extern "C" fn open_session(
    slot: CK_SLOT_ID,
    flags: CK_FLAGS,
    _application: *mut c_void,
    _notify: CK_NOTIFY,
    session: *mut CK_SESSION_HANDLE,
) -> CK_RV {
    boundary(|| {
        let handle = with_module(|m| {
            m.check_slot(slot)?;
            if flags & CKF_SERIAL_SESSION == 0 {
                return Err(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
            }
            if session.is_null() {
                return Err(CKR_ARGUMENTS_BAD);
            }
            let read_write = flags & CKF_RW_SESSION != 0;
            if !read_write && m.login.as_ref().is_some_and(|l| l.who == LoggedIn::SecurityOfficer) {
                return Err(CKR_SESSION_READ_WRITE_SO_EXISTS);
            }
            m.add_session(Session::new(read_write))
        })?;
        // SAFETY: forwarded contract of this function.
        unsafe { write_out(session, handle) }
    })
}

/// `C_CloseSession`: ends the session and its operation; closing the
/// application's last session logs it out.
pub(crate) extern "C" fn close_session(session: CK_SESSION_HANDLE) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            m.session(session)?;
            m.sessions.remove(&session);
            if m.sessions.is_empty() { m.log_out() } else { Ok(()) }
        })
    })
}

/// `C_CloseAllSessions`: ends every session on the slot and the login.
pub(crate) extern "C" fn close_all_sessions(slot: CK_SLOT_ID) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            m.check_slot(slot)?;
            m.sessions.clear();
            m.log_out()
        })
    })
}

/// `C_GetSessionInfo`: the slot, the state (from the login and whether the
/// session is read/write), the flags it was opened with.
///
/// # Safety
/// A non-NULL `info` must be valid for a write of `CK_SESSION_INFO`.
pub(crate) unsafe extern "C" fn get_session_info(
    session: CK_SESSION_HANDLE,
    info: *mut CK_SESSION_INFO,
) -> CK_RV {
    boundary(|| {
        let value = with_module(|m| {
            let slot_id = m.slot_id();
            let who = m.login.as_ref().map(|l| l.who);
            let read_write = m.session(session)?.read_write;
            let state = match (who, read_write) {
                (None, false) => CKS_RO_PUBLIC_SESSION,
                (None, true) => CKS_RW_PUBLIC_SESSION,
                (Some(LoggedIn::User), false) => CKS_RO_USER_FUNCTIONS,
                (Some(LoggedIn::User), true) => CKS_RW_USER_FUNCTIONS,
                (Some(LoggedIn::SecurityOfficer), true) => CKS_RW_SO_FUNCTIONS,
                // No read-only session exists while the SO is logged in.
                (Some(LoggedIn::SecurityOfficer), false) => return Err(CKR_GENERAL_ERROR),
            };
            let flags = CKF_SERIAL_SESSION | if read_write { CKF_RW_SESSION } else { 0 };
            Ok(CK_SESSION_INFO { slotID: slot_id, state, flags, ulDeviceError: 0 })
        })?;
        // SAFETY: forwarded contract of this function.
        unsafe { write_out(info, value) }
    })
}

/// `C_Login`: `CKU_USER` logs in the configured coffer credential,
/// `CKU_SO` coffer's security officer, with coffer's PIN check and
/// lockout: a wrong PIN is `CKR_PIN_INCORRECT`, a locked credential
/// `CKR_PIN_LOCKED` (each an audit record in the keystore). Already logged
/// in as the same type: `CKR_USER_ALREADY_LOGGED_IN`; as the other:
/// `CKR_USER_ANOTHER_ALREADY_LOGGED_IN`; the SO while a read-only session
/// exists: `CKR_SESSION_READ_ONLY_EXISTS`. `CKU_CONTEXT_SPECIFIC` is
/// `CKR_OPERATION_NOT_INITIALIZED` (no operation of this module needs it).
/// The module has no protected authentication path: `pin` must not be NULL.
///
/// # Safety
/// A non-NULL `pin` must be valid for reads of `pin_len` bytes.
pub(crate) unsafe extern "C" fn login(
    session: CK_SESSION_HANDLE,
    user_type: CK_USER_TYPE,
    pin: *mut CK_UTF8CHAR,
    pin_len: CK_ULONG,
) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            m.session(session)?;
            let who = match user_type {
                CKU_USER => LoggedIn::User,
                CKU_SO => LoggedIn::SecurityOfficer,
                CKU_CONTEXT_SPECIFIC => return Err(CKR_OPERATION_NOT_INITIALIZED),
                _ => return Err(CKR_USER_TYPE_INVALID),
            };
            if let Some(current) = &m.login {
                return Err(if current.who == who {
                    CKR_USER_ALREADY_LOGGED_IN
                } else {
                    CKR_USER_ANOTHER_ALREADY_LOGGED_IN
                });
            }
            if who == LoggedIn::SecurityOfficer && m.sessions.values().any(|s| !s.read_write) {
                return Err(CKR_SESSION_READ_ONLY_EXISTS);
            }
            if pin.is_null() {
                return Err(CKR_ARGUMENTS_BAD);
            }
            // SAFETY: non-NULL; readable for `pin_len` bytes by the caller's contract.
            let pin = unsafe { bytes_in(pin.cast_const(), pin_len) }?;
            let slot = m.coffer_slot();
            let result = match who {
                LoggedIn::User => {
                    let tenant = m.config.tenant.as_deref();
                    m.hsm.login(slot, &m.config.user, pin, tenant)
                }
                LoggedIn::SecurityOfficer => m.hsm.login_so(slot, pin),
            };
            let id = result.map_err(|e| {
                if matches!(e, coffer_hsm::Error::TenantNotAllowed | coffer_hsm::Error::InvalidInput) {
                    // The PIN was right; the configured tenant does not fit the user.
                    eprintln!("coffer-pkcs11: C_Login: {e} (check `tenant` in the module's config file)");
                }
                rv_of(&e)
            })?;
            m.login = Some(Login { who, id });
            Ok(())
        })
    })
}

/// `C_Logout`: ends the application's login (all its sessions become
/// public sessions); `CKR_USER_NOT_LOGGED_IN` if there is none.
pub(crate) extern "C" fn logout(session: CK_SESSION_HANDLE) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            m.session(session)?;
            if m.login.is_none() {
                return Err(CKR_USER_NOT_LOGGED_IN);
            }
            m.log_out()
        })
    })
}
