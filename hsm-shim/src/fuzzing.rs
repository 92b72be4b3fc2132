//! Hooks for the fuzz targets (feature `fuzzing`, not a public API): make
//! records as KEYSTORE.md §12 seals them, so that fuzzed plaintexts get
//! past authentication and reach the record decoders.

use alloc::vec::Vec;

use coffer_core::rng::TryCryptoRng;

use crate::error::Result;
use crate::keystore::MasterKey;
use crate::pin::PinRecord;
use crate::store::records::{Meta, MetaKdf, RecordKeys};

/// `value` of the record `key` sealed under `master` (§12.2).
///
/// # Errors
/// Only if sealing fails.
pub fn seal_record(master: &MasterKey, key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    RecordKeys::derive(master, [0; 16])?.seal(key, plaintext)
}

/// A valid meta record for a raw master key (§12.3).
///
/// # Errors
/// Only if sealing fails.
pub fn meta_record(master: &MasterKey) -> Result<Vec<u8>> {
    Meta { kdf: MetaKdf::Raw }.encode(&mut RecordKeys::derive(master, [0; 16])?)
}

/// The 53-byte PIN record of `pin` (§3.1 `pin`, no failures).
///
/// # Errors
/// [`crate::Error::PinPolicy`] for a PIN outside 6..=64 bytes.
pub fn pin_record<R: TryCryptoRng + ?Sized>(rng: &mut R, pin: &[u8], iterations: u32) -> Result<Vec<u8>> {
    Ok(PinRecord::new(rng, pin, iterations)?.to_bytes().to_vec())
}
