//! Key objects: generating, finding, rotating and destroying keys, and
//! crypto-shredding a tenant.

use coffer_core::rng::OsRng;

use super::{coffer_key_attributes, coffer_keystore, key_id_str_in, new_key, with_key, with_state};
use crate::boundary::{ffi_boundary, require, str_in, write_out};
use crate::status::coffer_status;

/// Generates a key of `key_type` (a `coffer_key_type`) for the user
/// session's tenant. On success `*handle` is the key's handle number.
///
/// Errors: `COFFER_ERR_ROLE_NOT_ALLOWED` for a non-user session;
/// `COFFER_ERR_LIMIT_EXCEEDED` for a key id outside 1..=64 bytes;
/// `COFFER_ERR_INVALID_ARGUMENT` for a label outside 1..=64 bytes or a key
/// id the tenant already uses; `COFFER_ERR_UNKNOWN_VALUE` for a bad type or
/// usage flag.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_generate(
    keystore: *const coffer_keystore,
    session: u64,
    key_type: u32,
    attributes: *const coffer_key_attributes,
    handle: *mut u64,
) -> coffer_status {
    // SAFETY: the header's contract for handles, structs and output slots.
    ffi_boundary(|| unsafe {
        new_key(keystore, session, key_type, attributes, handle, |hsm, id, key_type, attrs| {
            hsm.generate(&mut OsRng, id, key_type, attrs)
        })
    })
}

/// Looks up the session tenant's key by `key_id`; `*handle` receives its handle number.
///
/// Errors: `COFFER_ERR_NOT_FOUND`; `COFFER_ERR_LIMIT_EXCEEDED` for a key id
/// outside 1..=64 bytes.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_find(
    keystore: *const coffer_keystore,
    session: u64,
    key_id: *const u8,
    key_id_len: usize,
    handle: *mut u64,
) -> coffer_status {
    ffi_boundary(|| {
        require(handle)?;
        // SAFETY: the header's contract for input buffers.
        let key_id = unsafe { key_id_str_in(key_id, key_id_len) }?;
        // SAFETY: the header's contract for handles.
        let h = unsafe {
            with_state(keystore, |s| {
                let rec = s.session(session)?;
                Ok(s.hsm.find(rec.id, key_id)?)
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { write_out(handle, h.get()) }
    })
}

/// Creates a new version of the key `handle`; it becomes the one that
/// seals and signs, while older versions still open and verify. `*version`
/// (may be NULL) receives the new version number.
///
/// Errors: `COFFER_ERR_KEY_STATE` unless the key is active; `COFFER_ERR_CAPACITY`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_rotate(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    version: *mut u32,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let v = unsafe { with_key(keystore, session, handle, |hsm, id, h| hsm.rotate(&mut OsRng, id, h)) }?;
        if version.is_null() {
            return Ok(());
        }
        // SAFETY: non-NULL; the caller's output slot.
        unsafe { write_out(version, v) }
    })
}

/// Destroys every version of the key `handle` (crypto-shred): nothing it
/// sealed can be opened any more. The handle stays known, in state destroyed.
///
/// Errors: `COFFER_ERR_KEY_STATE` if already destroyed.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_destroy(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        unsafe { with_key(keystore, session, handle, |hsm, id, h| hsm.destroy(id, h)) }
    })
}

/// Crypto-shreds a tenant: destroys every key of `tenant`, and its tenant
/// key with every grant of it (KEYSTORE.md §13.3), on the security
/// officer session's token. `*destroyed` (may be NULL) receives the number
/// of keys destroyed.
///
/// Errors: `COFFER_ERR_ROLE_NOT_ALLOWED` unless `so_session` is a security officer;
/// `COFFER_ERR_NOT_FOUND` for a tenant never created (a shredded tenant stays,
/// so shredding it again destroys nothing and succeeds).
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_shred_tenant(
    keystore: *const coffer_keystore,
    so_session: u64,
    tenant: *const u8,
    tenant_len: usize,
    destroyed: *mut usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let tenant = unsafe { str_in(tenant, tenant_len) }?;
        // SAFETY: the header's contract for handles.
        let n = unsafe {
            with_state(keystore, |s| {
                let rec = s.session(so_session)?;
                Ok(s.hsm.shred_tenant(rec.id, tenant)?.keys.len())
            })
        }?;
        if destroyed.is_null() {
            return Ok(());
        }
        // SAFETY: non-NULL; the caller's output slot.
        unsafe { write_out(destroyed, n) }
    })
}
