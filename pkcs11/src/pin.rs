//! Token and PIN administration (PKCS#11 v2.40 §5.6): `C_InitToken`,
//! `C_InitPIN` and `C_SetPIN`, over coffer-hsm's token initialization,
//! credentials and PIN changes (each an audit record in the keystore).
//!
//! - `C_InitToken` initializes an empty coffer slot: the PIN becomes the
//!   security officer's, the label the token's. A slot that already holds
//!   a token is not reinitialized: the SO PIN is checked (a wrong one
//!   counts towards the SO's lockout) and the call then fails with
//!   `CKR_FUNCTION_FAILED`, since reinitializing would destroy every
//!   tenant's keys in a keystore other processes share; coffer retires
//!   keys per tenant instead (`coffer tenant shred`).
//! - `C_InitPIN` (security officer logged in) gives the configured user
//!   its PIN: a new coffer credential for the configured `tenant` (the
//!   tenant is created if the token has none of that name), or, if the
//!   credential exists, its PIN reset and its lockout cleared (coffer's
//!   `unblock_user`).
//! - `C_SetPIN` changes the PIN of whoever is logged in; in a public
//!   session it changes the configured user's PIN, checking the old one.

use coffer_core::rng::OsRng;
use coffer_hsm::Role;
use cryptoki_sys::{
    CK_RV, CK_SESSION_HANDLE, CK_SLOT_ID, CK_ULONG, CK_UTF8CHAR, CKR_ARGUMENTS_BAD, CKR_FUNCTION_FAILED,
    CKR_SESSION_EXISTS, CKR_SESSION_READ_ONLY, CKR_USER_NOT_LOGGED_IN,
};

use crate::boundary::{CkResult, boundary, bytes_in};
use crate::error::rv_of;
use crate::module::{LoggedIn, Module, with_module};

/// The length of `C_InitToken`'s label: 32 bytes, padded with spaces.
const LABEL_LEN: CK_ULONG = 32;

/// A PIN argument: NULL is `CKR_ARGUMENTS_BAD` (the module has no
/// protected authentication path).
///
/// # Safety
/// A non-NULL `pin` must be readable for `len` bytes.
unsafe fn pin_in<'a>(pin: *const CK_UTF8CHAR, len: CK_ULONG) -> CkResult<&'a [u8]> {
    if pin.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: non-NULL; readable for `len` bytes by the caller's contract.
    unsafe { bytes_in(pin, len) }
}

/// `C_InitToken`: initializes the token of an empty slot (module doc).
/// `CKR_SESSION_EXISTS` while the application has a session open;
/// `CKR_ARGUMENTS_BAD` for a NULL PIN or label, or a label that is not
/// UTF-8 or is all spaces; `CKR_PIN_LEN_RANGE` for an SO PIN outside
/// 6..=64 bytes.
///
/// # Safety
/// A non-NULL `pin` must be readable for `pin_len` bytes, a non-NULL
/// `label` for 32 bytes.
pub(crate) unsafe extern "C" fn init_token(
    slot: CK_SLOT_ID,
    pin: *mut CK_UTF8CHAR,
    pin_len: CK_ULONG,
    label: *mut CK_UTF8CHAR,
) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            m.check_slot(slot)?;
            if !m.sessions.is_empty() {
                return Err(CKR_SESSION_EXISTS);
            }
            // SAFETY: forwarded contract of this function.
            let pin = unsafe { pin_in(pin.cast_const(), pin_len) }?;
            if label.is_null() {
                return Err(CKR_ARGUMENTS_BAD);
            }
            // SAFETY: non-NULL; readable for 32 bytes by the caller's contract.
            let label = unsafe { bytes_in(label.cast_const(), LABEL_LEN) }?;
            let label = std::str::from_utf8(label).map_err(|_| CKR_ARGUMENTS_BAD)?.trim_end_matches(' ');
            if label.is_empty() {
                return Err(CKR_ARGUMENTS_BAD);
            }
            let coffer_slot = m.coffer_slot();
            if m.hsm.token_label(coffer_slot).is_ok() {
                // Already initialized: authorize with the SO PIN, then refuse.
                let so = m.hsm.login_so(coffer_slot, pin).map_err(|e| rv_of(&e))?;
                m.hsm.logout(so).map_err(|e| rv_of(&e))?;
                eprintln!(
                    "coffer-pkcs11: C_InitToken: the token is already initialized; coffer does not \
                     reinitialize a token (every tenant's keys would be lost): shred tenants one by one \
                     with `coffer tenant shred`, or configure a new keystore"
                );
                return Err(CKR_FUNCTION_FAILED);
            }
            m.hsm.init_token(&mut OsRng, coffer_slot, label, pin).map_err(|e| rv_of(&e))
        })
    })
}

/// `C_InitPIN`: the security officer sets the configured user's PIN
/// (module doc). `CKR_USER_NOT_LOGGED_IN` unless the SO is logged in;
/// `CKR_PIN_LEN_RANGE` for a PIN outside 6..=64 bytes; `CKR_FUNCTION_FAILED`
/// (with a line on stderr) when the credential must be created and the
/// configuration names no `tenant`.
///
/// # Safety
/// A non-NULL `pin` must be readable for `pin_len` bytes.
pub(crate) unsafe extern "C" fn init_pin(
    session: CK_SESSION_HANDLE,
    pin: *mut CK_UTF8CHAR,
    pin_len: CK_ULONG,
) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            m.session(session)?;
            let so = match &m.login {
                Some(login) if login.who == LoggedIn::SecurityOfficer => login.id,
                _ => return Err(CKR_USER_NOT_LOGGED_IN),
            };
            // SAFETY: forwarded contract of this function.
            let pin = unsafe { pin_in(pin.cast_const(), pin_len) }?;
            set_user_pin(m, so, pin).map_err(|e| rv_of(&e))
        })
    })
}

/// Creates the configured user with `pin`, or resets its PIN.
fn set_user_pin(m: &mut Module, so: coffer_hsm::SessionId, pin: &[u8]) -> Result<(), coffer_hsm::Error> {
    let user = m.config.user.clone();
    if m.hsm.users(so)?.iter().any(|u| u.name == user) {
        return m.hsm.unblock_user(&mut OsRng, so, &user, pin);
    }
    let Some(tenant) = m.config.tenant.clone() else {
        eprintln!(
            "coffer-pkcs11: C_InitPIN: the user `{user}` does not exist yet and the module's config file \
             names no `tenant` for it: add `tenant = <name>`"
        );
        return Err(coffer_hsm::Error::InvalidInput);
    };
    if !m.hsm.tenants(so)?.iter().any(|t| t.name == tenant) {
        m.hsm.create_tenant(&mut OsRng, so, &tenant)?;
    }
    m.hsm.create_user(&mut OsRng, so, &user, Role::User, &[tenant.as_str()], pin)
}

/// `C_SetPIN`: changes the logged-in user's or security officer's PIN, or,
/// in a public session, the configured user's. `CKR_SESSION_READ_ONLY` in
/// a read-only session; `CKR_PIN_INCORRECT` / `CKR_PIN_LOCKED` for a wrong
/// old PIN (counted towards the lockout, audited); `CKR_PIN_LEN_RANGE` for
/// a new PIN outside 6..=64 bytes.
///
/// # Safety
/// Non-NULL `old` and `new` must be readable for their lengths.
pub(crate) unsafe extern "C" fn set_pin(
    session: CK_SESSION_HANDLE,
    old: *mut CK_UTF8CHAR,
    old_len: CK_ULONG,
    new: *mut CK_UTF8CHAR,
    new_len: CK_ULONG,
) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            if !m.session(session)?.read_write {
                return Err(CKR_SESSION_READ_ONLY);
            }
            // SAFETY: forwarded contract of this function.
            let old = unsafe { pin_in(old.cast_const(), old_len) }?;
            // SAFETY: as above.
            let new = unsafe { pin_in(new.cast_const(), new_len) }?;
            if let Some(login) = &m.login {
                let id = login.id;
                return m.hsm.change_pin(&mut OsRng, id, old, new).map_err(|e| rv_of(&e));
            }
            let slot = m.coffer_slot();
            let tenant = m.config.tenant.clone();
            let id = m.hsm.login(slot, &m.config.user, old, tenant.as_deref()).map_err(|e| rv_of(&e))?;
            let changed = m.hsm.change_pin(&mut OsRng, id, old, new).map_err(|e| rv_of(&e));
            let ended = m.hsm.logout(id).map_err(|e| rv_of(&e));
            changed.and(ended)
        })
    })
}
