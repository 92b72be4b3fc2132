//! What the Rust tests of the C ABI share.

use std::ptr::null_mut;

use coffer::boundary::{coffer_bytes, coffer_bytes_free};
use coffer::envelope::{coffer_key_kind, coffer_kv, coffer_recipient, coffer_unlock_key};

/// Library-allocated bytes, freed on drop.
pub struct Bytes(pub coffer_bytes);

impl Bytes {
    pub fn new() -> Self {
        Bytes(coffer_bytes { data: null_mut(), len: 0 })
    }

    /// Where a function writes its output.
    pub fn out(&mut self) -> *mut coffer_bytes {
        &mut self.0
    }

    /// A copy of the bytes written (none before a successful call).
    #[allow(dead_code, reason = "not every test file that includes this module reads outputs")]
    pub fn to_vec(&self) -> Vec<u8> {
        if self.0.data.is_null() {
            return Vec::new();
        }
        // SAFETY: coffer wrote `len` bytes at `data` and they live until the drop.
        unsafe { std::slice::from_raw_parts(self.0.data, self.0.len) }.to_vec()
    }
}

impl Drop for Bytes {
    fn drop(&mut self) {
        coffer_bytes_free(&mut self.0);
    }
}

/// The `kind` value of a KEK recipient or unlock key.
#[allow(dead_code, reason = "not every test file that includes this module seals envelopes")]
pub const KIND_KEK: u32 = coffer_key_kind::COFFER_KEY_KEK as u32;

/// A KEK recipient: key id `id`, version `version`, the 32-byte `kek`.
#[allow(dead_code, reason = "not every test file that includes this module seals envelopes")]
pub fn recipient(id: &[u8], version: u32, kek: &[u8]) -> coffer_recipient {
    coffer_recipient {
        kind: KIND_KEK,
        key_id: id.as_ptr(),
        key_id_len: id.len(),
        version,
        key: kek.as_ptr(),
        key_len: kek.len(),
    }
}

/// The unlock key that opens what [`recipient`] with the same arguments sealed.
#[allow(dead_code, reason = "not every test file that includes this module opens envelopes")]
pub fn unlock(id: &[u8], version: u32, kek: &[u8]) -> coffer_unlock_key {
    coffer_unlock_key {
        kind: KIND_KEK,
        key_id: id.as_ptr(),
        key_id_len: id.len(),
        version,
        key: kek.as_ptr(),
        key_len: kek.len(),
    }
}

/// One context entry.
#[allow(dead_code, reason = "not every test file that includes this module binds a context")]
pub fn kv(key: &[u8], value: &[u8]) -> coffer_kv {
    coffer_kv { key: key.as_ptr(), key_len: key.len(), value: value.as_ptr(), value_len: value.len() }
}
