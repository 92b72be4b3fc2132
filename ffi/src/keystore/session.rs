//! Tokens, logins (security officer, users and auditors), own PIN change, logout.

use coffer_core::rng::OsRng;

use super::{coffer_keystore, with_session, with_state};
use crate::boundary::{ffi_boundary, require, slice_in, str_in, write_out};
use crate::status::{COFFER_ERR_INVALID_ARGUMENT, COFFER_ERR_NOT_LOGGED_IN, coffer_status};

/// Initializes the token in the empty slot `slot` with a `label` (1..=64
/// bytes) and the security officer PIN `so_pin` (6..=64 bytes).
///
/// Errors: `COFFER_ERR_TOKEN_STATE` if the slot already holds a token;
/// `COFFER_ERR_INVALID_ARGUMENT` for a bad slot or label; `COFFER_ERR_PIN_POLICY`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_init_token(
    keystore: *const coffer_keystore,
    slot: u32,
    label: *const u8,
    label_len: usize,
    so_pin: *const u8,
    so_pin_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let label = unsafe { str_in(label, label_len) }?;
        // SAFETY: as above.
        let pin = unsafe { slice_in(so_pin, so_pin_len) }?;
        let slot = usize::try_from(slot).map_err(|_| COFFER_ERR_INVALID_ARGUMENT)?;
        // SAFETY: the header's contract for handles.
        unsafe { with_state(keystore, |s| Ok(s.hsm.init_token(&mut OsRng, slot, label, pin)?)) }
    })
}

/// Logs the security officer in on `slot` with `pin`. On success
/// `*session` is the session number for this keystore.
///
/// Errors: `COFFER_ERR_PIN_INCORRECT`, then `COFFER_ERR_PIN_LOCKED` after 5
/// failures (each refusal is an audit record); `COFFER_ERR_TOKEN_STATE` if
/// the slot has no token.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_login_so(
    keystore: *const coffer_keystore,
    slot: u32,
    pin: *const u8,
    pin_len: usize,
    session: *mut u64,
) -> coffer_status {
    ffi_boundary(|| {
        require(session)?;
        // SAFETY: the header's contract for input buffers.
        let pin = unsafe { slice_in(pin, pin_len) }?;
        let slot = usize::try_from(slot).map_err(|_| COFFER_ERR_INVALID_ARGUMENT)?;
        // SAFETY: the header's contract for handles.
        let number = unsafe { with_state(keystore, |s| s.open_session(|hsm| hsm.login_so(slot, pin))) }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { write_out(session, number) }
    })
}

/// Logs in the user or auditor credential `user` (1..=64 bytes, made by
/// `coffer_keystore_user_create`) on `slot` with its own `pin`. A user
/// session acts in `tenant` (1..=64 bytes), which must be one of the
/// credential's tenants; a length of 0 (NULL or "") picks its only tenant,
/// and an auditor passes a length of 0. On success `*session` is the session number.
///
/// Errors: `COFFER_ERR_PIN_INCORRECT` (wrong PIN or unknown user, alike),
/// then `COFFER_ERR_PIN_LOCKED` after 5 failures; `COFFER_ERR_TOKEN_STATE`
/// if the slot has no token; `COFFER_ERR_AUDIT_TAMPERED` if the credential
/// disagrees with the audit record it names (an offline edit, KEYSTORE.md
/// §13.4); `COFFER_ERR_TENANT_NOT_ALLOWED`
/// for a tenant the credential is not bound to; `COFFER_ERR_INVALID_ARGUMENT`
/// for a tenant given to an auditor or none to a user of several tenants.
/// Every refusal is an audit record.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn coffer_keystore_login_user(
    keystore: *const coffer_keystore,
    slot: u32,
    user: *const u8,
    user_len: usize,
    pin: *const u8,
    pin_len: usize,
    tenant: *const u8,
    tenant_len: usize,
    session: *mut u64,
) -> coffer_status {
    ffi_boundary(|| {
        require(session)?;
        // SAFETY: the header's contract for input buffers.
        let user = unsafe { str_in(user, user_len) }?;
        // SAFETY: as above.
        let pin = unsafe { slice_in(pin, pin_len) }?;
        // NULL or "" with length 0: no tenant (the user's only one, or an auditor).
        let tenant = if tenant_len == 0 {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { str_in(tenant, tenant_len) }?)
        };
        let slot = usize::try_from(slot).map_err(|_| COFFER_ERR_INVALID_ARGUMENT)?;
        // SAFETY: the header's contract for handles.
        let number =
            unsafe { with_state(keystore, |s| s.open_session(|hsm| hsm.login(slot, user, pin, tenant))) }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { write_out(session, number) }
    })
}

/// Changes the PIN of the session's own credential (any role): `old_pin`
/// must be its current PIN (a wrong one counts as a failed login).
///
/// Errors: `COFFER_ERR_NOT_LOGGED_IN`; `COFFER_ERR_PIN_INCORRECT` /
/// `COFFER_ERR_PIN_LOCKED`; `COFFER_ERR_PIN_POLICY` for a new PIN outside
/// 6..=64 bytes.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_pin_change(
    keystore: *const coffer_keystore,
    session: u64,
    old_pin: *const u8,
    old_pin_len: usize,
    new_pin: *const u8,
    new_pin_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let old = unsafe { slice_in(old_pin, old_pin_len) }?;
        // SAFETY: as above.
        let new = unsafe { slice_in(new_pin, new_pin_len) }?;
        // SAFETY: the header's contract for handles.
        unsafe { with_session(keystore, session, |hsm, id| hsm.change_pin(&mut OsRng, id, old, new)) }
    })
}

/// Ends a session.
///
/// Errors: `COFFER_ERR_NOT_LOGGED_IN` for an unknown session.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_logout(keystore: *const coffer_keystore, session: u64) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        unsafe {
            with_state(keystore, |s| {
                let rec = s.sessions.remove(&session).ok_or(COFFER_ERR_NOT_LOGGED_IN)?;
                Ok(s.hsm.logout(rec.id)?)
            })
        }
    })
}
