//! Key material in and out of the keystore under its own keys, AES-KWP
//! (RFC 5649): wrapping and unwrapping the caller's data keys, importing a
//! wrapped key as a new key object, and exporting an extractable key
//! wrapped under another key.

use super::{coffer_key_attributes, coffer_keystore, new_key, with_key};
use crate::boundary::{bytes_out, coffer_bytes, ffi_boundary, require, slice_in};
use crate::status::{COFFER_ERR_INVALID_LENGTH, coffer_status};

/// Longest key material the keystore wraps, unwraps or imports, in bytes
/// (an RSA-4096 PKCS#8 key fits).
pub const COFFER_KEYSTORE_MAX_MATERIAL_LEN: usize = 16384;

/// Wraps the caller's key material (a data key, 1..=16384 bytes) with
/// AES-KWP (RFC 5649) under the current version of the AES-256 key `kek`
/// (usage WRAP). On success `*wrapped` holds the wrapped key, which
/// `coffer_keystore_unwrap_key` or `coffer_keystore_import_wrapped`
/// accept, as does `coffer_kwp_unwrap` with the same KEK bytes.
///
/// Errors: `COFFER_ERR_INVALID_LENGTH` for material of 0 or more than
/// 16384 bytes; `COFFER_ERR_INVALID_ARGUMENT` for a key that is not
/// AES-256; `COFFER_ERR_POLICY_DENIED`, `COFFER_ERR_KEY_STATE`,
/// `COFFER_ERR_KEY_EXPIRED` and the other key checks.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_wrap_key(
    keystore: *const coffer_keystore,
    session: u64,
    kek: u64,
    material: *const u8,
    material_len: usize,
    wrapped: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(wrapped)?;
        // SAFETY: the header's contract for input buffers.
        let material = unsafe { slice_in(material, material_len) }?;
        if material.is_empty() || material.len() > COFFER_KEYSTORE_MAX_MATERIAL_LEN {
            return Err(COFFER_ERR_INVALID_LENGTH);
        }
        // SAFETY: the header's contract for handles.
        let out = unsafe { with_key(keystore, session, kek, |hsm, id, h| hsm.wrap_key(id, h, material)) }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(wrapped, &out) }
    })
}

/// Unwraps key material wrapped with AES-KWP under any version of the
/// AES-256 key `kek` (usage UNWRAP, also when the key is deactivated). On
/// success `*material` holds it (secret: `coffer_bytes_free` zeroes it).
///
/// Errors: `COFFER_ERR_DECRYPT` if no version unwraps it (a wrong key,
/// changed or truncated bytes); the key checks of `coffer_keystore_wrap_key`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_unwrap_key(
    keystore: *const coffer_keystore,
    session: u64,
    kek: u64,
    wrapped: *const u8,
    wrapped_len: usize,
    material: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(material)?;
        // SAFETY: the header's contract for input buffers.
        let wrapped = unsafe { slice_in(wrapped, wrapped_len) }?;
        // SAFETY: the header's contract for handles.
        let key = unsafe { with_key(keystore, session, kek, |hsm, id, h| hsm.unwrap_key(id, h, wrapped)) }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(material, &key) }
    })
}

/// Imports a key wrapped with AES-KWP under any version of the AES-256 key
/// `unwrapping` (usage UNWRAP) as a new key of `key_type` (a
/// `coffer_key_type`) with `attributes`, for the user session's tenant. On
/// success `*handle` is the new key's handle number. The wrapped material
/// is, per type: 32 random bytes for `COFFER_KEY_TYPE_AES256` and
/// `COFFER_KEY_TYPE_HMAC_SHA256`; the 32-byte big-endian private scalar for
/// `COFFER_KEY_TYPE_P256`; PKCS#8 DER (`coffer_keypair_to_pkcs8_der`) of a
/// key of exactly that size for the RSA types. The material never leaves
/// the keystore unwrapped. Wrap it with `coffer_keystore_wrap_key`, with
/// `coffer_kwp_wrap` under the same KEK bytes, or take it from
/// `coffer_keystore_export_wrapped` of another keystore sharing the KEK.
///
/// Errors: `COFFER_ERR_DECRYPT` if no version of `unwrapping` unwraps it;
/// `COFFER_ERR_INVALID_KEY` for material that is not a key of `key_type`;
/// `COFFER_ERR_LIMIT_EXCEEDED` for a key id outside 1..=64 bytes;
/// `COFFER_ERR_INVALID_ARGUMENT` for a bad label, a key id the tenant
/// already uses, or an `unwrapping` key that is not AES-256;
/// `COFFER_ERR_UNKNOWN_VALUE` for a bad type or usage flag;
/// `COFFER_ERR_ROLE_NOT_ALLOWED` for a non-user session; the key checks of
/// `coffer_keystore_wrap_key`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn coffer_keystore_import_wrapped(
    keystore: *const coffer_keystore,
    session: u64,
    unwrapping: u64,
    key_type: u32,
    attributes: *const coffer_key_attributes,
    wrapped: *const u8,
    wrapped_len: usize,
    handle: *mut u64,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let wrapped = unsafe { slice_in(wrapped, wrapped_len) }?;
        let unwrapping = coffer_hsm::Handle::from_raw(unwrapping);
        // SAFETY: the header's contract for handles, structs and output slots.
        unsafe {
            new_key(keystore, session, key_type, attributes, handle, |hsm, id, key_type, attrs| {
                hsm.import_wrapped(id, unwrapping, key_type, attrs, wrapped)
            })
        }
    })
}

/// Exports the current version of the extractable key `target` wrapped
/// with AES-KWP under the current version of the AES-256 key `wrapping`
/// (usage WRAP), in the form `coffer_keystore_import_wrapped` takes. A key
/// created with `extractable` false is never exported, in any form.
///
/// Errors: `COFFER_ERR_NOT_EXTRACTABLE` (an audited refusal);
/// `COFFER_ERR_KEY_STATE` for a destroyed key; the key checks of
/// `coffer_keystore_wrap_key` for `wrapping`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_export_wrapped(
    keystore: *const coffer_keystore,
    session: u64,
    wrapping: u64,
    target: u64,
    wrapped: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(wrapped)?;
        // SAFETY: the header's contract for handles.
        let out = unsafe {
            with_key(keystore, session, wrapping, |hsm, id, w| {
                hsm.export_wrapped(id, w, coffer_hsm::Handle::from_raw(target))
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(wrapped, &out) }
    })
}
