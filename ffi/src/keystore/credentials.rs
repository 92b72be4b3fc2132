//! Tenants and credentials: the security officer creates tenants and the
//! users (bound to tenants) and auditors that log in with their own PINs,
//! lists and removes them, unblocks a locked credential, and re-keys the
//! store under a new passphrase or master key.

use coffer_core::rng::OsRng;
use coffer_hsm::Role;

use super::{coffer_keystore, role_of, secret_in, with_session, with_state};
use crate::boundary::{bytes_out, coffer_bytes, ffi_boundary, slice_in, str_in};
use crate::status::{COFFER_ERR_INVALID_ARGUMENT, coffer_status};

/// Creates the tenant `name` (1..=64 bytes of ASCII letters, digits and
/// `. _ - @`) on the security officer session's token.
///
/// Errors: `COFFER_ERR_NOT_LOGGED_IN`; `COFFER_ERR_ROLE_NOT_ALLOWED` for
/// another role (an audited refusal); `COFFER_ERR_INVALID_ARGUMENT` for a
/// bad name; `COFFER_ERR_ALREADY_EXISTS`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_tenant_create(
    keystore: *const coffer_keystore,
    so_session: u64,
    name: *const u8,
    name_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let name = unsafe { str_in(name, name_len) }?;
        // SAFETY: the header's contract for handles.
        unsafe { with_session(keystore, so_session, |hsm, so| hsm.create_tenant(&mut OsRng, so, name)) }
    })
}

/// Creates the credential `name` (as a tenant name) with its own `pin`
/// (6..=64 bytes): `role` `COFFER_ROLE_USER` bound to `tenants`, a
/// comma-separated list of 1 to 16 existing tenants (`"acme,globex"`, no
/// spaces; a name twice counts once), or `COFFER_ROLE_AUDITOR` with a
/// `tenants_len` of 0. Security officer session.
///
/// Errors: `COFFER_ERR_NOT_FOUND` for a tenant that does not exist;
/// `COFFER_ERR_KEY_STATE` for a shredded one; `COFFER_ERR_ALREADY_EXISTS`;
/// `COFFER_ERR_INVALID_ARGUMENT` for a bad user or tenant name (a space,
/// an empty entry), the name `so`, the security officer role, or a role
/// and tenant list that do not match;
/// `COFFER_ERR_UNKNOWN_VALUE` for an unknown role; `COFFER_ERR_PIN_POLICY`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn coffer_keystore_user_create(
    keystore: *const coffer_keystore,
    so_session: u64,
    name: *const u8,
    name_len: usize,
    role: u32,
    tenants: *const u8,
    tenants_len: usize,
    pin: *const u8,
    pin_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let name = unsafe { str_in(name, name_len) }?;
        // SAFETY: as above.
        let pin = unsafe { slice_in(pin, pin_len) }?;
        let tenants: Vec<&str> = if tenants_len == 0 {
            Vec::new()
        } else {
            // SAFETY: as above.
            unsafe { str_in(tenants, tenants_len) }?.split(',').collect()
        };
        let role = role_of(role)?;
        if role == Role::SecurityOfficer {
            return Err(COFFER_ERR_INVALID_ARGUMENT);
        }
        // SAFETY: the header's contract for handles.
        unsafe {
            with_session(keystore, so_session, |hsm, so| {
                hsm.create_user(&mut OsRng, so, name, role, &tenants, pin)
            })
        }
    })
}

/// Removes the credential `name`: it can no longer log in, and its sessions
/// on this keystore handle end (sessions other handles or processes opened
/// keep working until they log out). Security officer session.
///
/// Errors: `COFFER_ERR_NOT_FOUND` for an unknown name; `COFFER_ERR_ROLE_NOT_ALLOWED`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_user_remove(
    keystore: *const coffer_keystore,
    so_session: u64,
    name: *const u8,
    name_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let name = unsafe { str_in(name, name_len) }?;
        // SAFETY: the header's contract for handles.
        unsafe { with_session(keystore, so_session, |hsm, so| hsm.remove_user(so, name)) }
    })
}

/// Unblocks the credential `name`: gives it `new_pin` (6..=64 bytes) and
/// clears its failure count. Security officer session.
///
/// Errors: `COFFER_ERR_NOT_FOUND` for an unknown name; `COFFER_ERR_PIN_POLICY`;
/// `COFFER_ERR_ROLE_NOT_ALLOWED`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_pin_unblock(
    keystore: *const coffer_keystore,
    so_session: u64,
    name: *const u8,
    name_len: usize,
    new_pin: *const u8,
    new_pin_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let name = unsafe { str_in(name, name_len) }?;
        // SAFETY: as above.
        let pin = unsafe { slice_in(new_pin, new_pin_len) }?;
        // SAFETY: the header's contract for handles.
        unsafe { with_session(keystore, so_session, |hsm, so| hsm.unblock_user(&mut OsRng, so, name, pin)) }
    })
}

/// The tenants of the session's token as JSON into `*out` (free it with
/// `coffer_bytes_free`): `[{"name":"acme","created":1795632073}, ...]`,
/// by name; `created` is seconds since the Unix epoch. Security officer or
/// auditor session.
///
/// Errors: `COFFER_ERR_ROLE_NOT_ALLOWED` for a user session.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_tenants_json(
    keystore: *const coffer_keystore,
    session: u64,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let json = unsafe {
            with_session(keystore, session, |hsm, id| {
                let items: Vec<String> = hsm
                    .tenants(id)?
                    .iter()
                    .map(|t| format!("{{\"name\":\"{}\",\"created\":{}}}", t.name, t.created))
                    .collect();
                Ok(format!("[{}]", items.join(",")))
            })
        }?;
        // SAFETY: the header's contract for output buffers.
        unsafe { bytes_out(out, json.as_bytes()) }
    })
}

/// The credentials of the session's token (not the security officer) as
/// JSON into `*out` (free it with `coffer_bytes_free`), by name:
/// `[{"name":"alice","role":"user","tenants":["acme"],"failures":0,"locked":false,"created":1795632073}, ...]`
/// (`role` is `"user"` or `"auditor"`). Security officer or auditor session.
///
/// Names are restricted to ASCII letters, digits and `. _ - @`, so the JSON
/// needs no escaping.
///
/// Errors: `COFFER_ERR_ROLE_NOT_ALLOWED` for a user session.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_users_json(
    keystore: *const coffer_keystore,
    session: u64,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let json = unsafe {
            with_session(keystore, session, |hsm, id| {
                let items: Vec<String> = hsm
                    .users(id)?
                    .iter()
                    .map(|u| {
                        let tenants: Vec<String> = u.tenants.iter().map(|t| format!("\"{t}\"")).collect();
                        format!(
                            "{{\"name\":\"{}\",\"role\":\"{}\",\"tenants\":[{}],\"failures\":{},\"locked\":{},\"created\":{}}}",
                            u.name,
                            u.role.name(),
                            tenants.join(","),
                            u.failures,
                            u.locked,
                            u.created
                        )
                    })
                    .collect();
                Ok(format!("[{}]", items.join(",")))
            })
        }?;
        // SAFETY: the header's contract for output buffers.
        unsafe { bytes_out(out, json.as_bytes()) }
    })
}

/// Re-keys the store: every record is sealed again under `secret` (of
/// kind `COFFER_KEYSTORE_PASSPHRASE` or `COFFER_KEYSTORE_MASTER_KEY`, as
/// for `coffer_keystore_create`), in one transaction. Afterwards the old
/// secret opens nothing, and other handles open on the same store fail
/// with `COFFER_ERR_KEYSTORE_AUTH` until reopened. Security officer session.
///
/// Errors: `COFFER_ERR_ROLE_NOT_ALLOWED`; `COFFER_ERR_INVALID_LENGTH` /
/// `COFFER_ERR_INVALID_KEY` / `COFFER_ERR_UNKNOWN_VALUE` for the secret;
/// the store's errors (then nothing changed).
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_passphrase_change(
    keystore: *const coffer_keystore,
    so_session: u64,
    secret_kind: u32,
    secret: *const u8,
    secret_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // The role first: a user session learns nothing of the secret's checks.
        // SAFETY: the header's contract for handles.
        let role = unsafe { with_session(keystore, so_session, |hsm, id| Ok(hsm.whoami(id)?.0.role)) }?;
        if role != Role::SecurityOfficer {
            return Err(crate::status::COFFER_ERR_ROLE_NOT_ALLOWED);
        }
        // SAFETY: the header's contract for input buffers.
        let secret = unsafe { secret_in(secret_kind, secret, secret_len) }?;
        // SAFETY: the header's contract for handles.
        unsafe {
            with_state(keystore, |s| {
                let so = s.session(so_session)?;
                s.hsm.change_passphrase(&mut OsRng, so.id, &secret.source())?;
                // The version-1 export seals under the keystore's secret: the new one now.
                s.secret = secret;
                Ok(())
            })
        }
    })
}
