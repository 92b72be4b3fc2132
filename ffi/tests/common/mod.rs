//! What the Rust tests of the C ABI share.

use std::ptr::null_mut;

use coffer::boundary::{coffer_bytes, coffer_bytes_free};

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
