//! Tokens, PINs, login and logout.

use coffer_core::rng::OsRng;

use super::{SessionRecord, coffer_keystore, role_of, with_state};
use crate::boundary::{ffi_boundary, require, slice_in, str_in, write_out};
use crate::status::{
    COFFER_ERR_CAPACITY, COFFER_ERR_INVALID_ARGUMENT, COFFER_ERR_NOT_LOGGED_IN, coffer_status,
};

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

/// Sets (or resets, which unblocks it) the PIN of the user or auditor role
/// on the security officer session's token.
///
/// Errors: `COFFER_ERR_NOT_LOGGED_IN`; `COFFER_ERR_ROLE_NOT_ALLOWED` unless
/// `so_session` is a security officer; `COFFER_ERR_INVALID_ARGUMENT` for
/// the security officer role itself; `COFFER_ERR_PIN_POLICY`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_set_pin(
    keystore: *const coffer_keystore,
    so_session: u64,
    role: u32,
    pin: *const u8,
    pin_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let pin = unsafe { slice_in(pin, pin_len) }?;
        let role = role_of(role)?;
        // SAFETY: the header's contract for handles.
        unsafe {
            with_state(keystore, |s| {
                let so = s.session(so_session)?;
                Ok(s.hsm.set_pin(&mut OsRng, so.id, role, pin)?)
            })
        }
    })
}

/// Logs in `role` on `slot` with `pin`. A user session names its `tenant`
/// (1..=64 bytes) and sees only that tenant's keys; security officer and
/// auditor sessions pass NULL and 0. On success `*session` is the session
/// number for this keystore.
///
/// Errors: `COFFER_ERR_PIN_INCORRECT`, then `COFFER_ERR_PIN_LOCKED` after 5
/// failures; `COFFER_ERR_TOKEN_STATE` if the slot has no token or the role
/// has no PIN yet; `COFFER_ERR_INVALID_ARGUMENT` for a tenant given (or
/// missing) against the role.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_login(
    keystore: *const coffer_keystore,
    slot: u32,
    role: u32,
    pin: *const u8,
    pin_len: usize,
    tenant: *const u8,
    tenant_len: usize,
    session: *mut u64,
) -> coffer_status {
    ffi_boundary(|| {
        require(session)?;
        // SAFETY: the header's contract for input buffers.
        let pin = unsafe { slice_in(pin, pin_len) }?;
        let tenant = if tenant.is_null() && tenant_len == 0 {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { str_in(tenant, tenant_len) }?)
        };
        let role = role_of(role)?;
        let slot = usize::try_from(slot).map_err(|_| COFFER_ERR_INVALID_ARGUMENT)?;
        // SAFETY: the header's contract for handles.
        let number = unsafe {
            with_state(keystore, |s| {
                let id = s.hsm.login(slot, role, pin, tenant)?;
                let number = s.next_session;
                s.next_session = s.next_session.checked_add(1).ok_or(COFFER_ERR_CAPACITY)?;
                s.sessions.insert(number, SessionRecord { id, tenant: tenant.map(str::to_owned) });
                Ok(number)
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { write_out(session, number) }
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
