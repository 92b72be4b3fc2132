//! PINs: salted PBKDF2-HMAC-SHA-256 hashes, constant-time comparison and
//! lockout after repeated failures.

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::error::{Error, Result};
use coffer_core::rng::TryCryptoRng;

/// Shortest PIN accepted, in bytes.
pub const MIN_PIN_LEN: usize = 6;
/// Longest PIN accepted, in bytes.
pub const MAX_PIN_LEN: usize = 64;
/// Default PBKDF2 iterations for PIN hashes: about 10 ms per login on a
/// server core with SHA extensions; with the lockout this bounds online
/// guessing, and it slows offline guessing from a stolen, unsealed state.
pub const DEFAULT_PIN_ITERATIONS: u32 = 100_000;
/// Default number of consecutive failures that lock a role.
pub const DEFAULT_MAX_FAILURES: u8 = 5;

/// A stored PIN: salt, cost, hash and failure count. Holds no PIN bytes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PinRecord {
    pub(crate) salt: [u8; 16],
    pub(crate) iterations: u32,
    pub(crate) hash: [u8; 32],
    pub(crate) failures: u8,
}

impl core::fmt::Debug for PinRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PinRecord")
            .field("iterations", &self.iterations)
            .field("failures", &self.failures)
            .finish()
    }
}

fn derive(pin: &[u8], salt: &[u8; 16], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pin, salt, iterations, &mut out);
    out
}

impl PinRecord {
    /// Length of [`PinRecord::to_bytes`]: salt, iterations, hash, failures.
    pub(crate) const ENCODED_LEN: usize = 16 + 4 + 32 + 1;

    /// `salt (16) || iterations (4) || hash (32) || failures (1)`, as both
    /// keystore states store it (KEYSTORE.md §3.1, §3.2).
    pub(crate) fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        let (salt, rest) = out.split_at_mut(16);
        let (iterations, rest) = rest.split_at_mut(4);
        let (hash, failures) = rest.split_at_mut(32);
        salt.copy_from_slice(&self.salt);
        iterations.copy_from_slice(&self.iterations.to_be_bytes());
        hash.copy_from_slice(&self.hash);
        failures.copy_from_slice(&[self.failures]);
        out
    }

    pub(crate) fn new<R: TryCryptoRng + ?Sized>(rng: &mut R, pin: &[u8], iterations: u32) -> Result<Self> {
        if pin.len() < MIN_PIN_LEN || pin.len() > MAX_PIN_LEN {
            return Err(Error::PinPolicy);
        }
        let mut salt = [0u8; 16];
        rng.try_fill_bytes(&mut salt).map_err(|_| Error::Crypto(coffer_core::Error::Rng))?;
        let hash = derive(pin, &salt, iterations);
        Ok(PinRecord { salt, iterations, hash, failures: 0 })
    }

    /// Spends the time of one PIN check and learns nothing: a login for an
    /// unknown user takes as long as one with a wrong PIN.
    #[cfg(feature = "alloc")]
    pub(crate) fn burn(pin: &[u8], iterations: u32) {
        let mut out = derive(pin, &[0u8; 16], iterations);
        out.zeroize();
    }

    /// The key this PIN wraps its grants with (KEYSTORE.md §13.2); call
    /// only after [`Self::check`] accepted `pin`.
    #[cfg(feature = "alloc")]
    pub(crate) fn wrap_key(&self, pin: &[u8]) -> crate::store::grants::WrapKey {
        crate::store::grants::WrapKey::derive(pin, &self.salt, self.iterations)
    }

    pub(crate) fn is_locked(&self, max_failures: u8) -> bool {
        self.failures >= max_failures
    }

    /// Checks `pin`; counts a failure or resets the count. A locked record
    /// is refused before hashing, so a locked PIN cannot be probed.
    pub(crate) fn check(&mut self, pin: &[u8], max_failures: u8) -> Result<()> {
        if self.is_locked(max_failures) {
            return Err(Error::PinLocked);
        }
        let mut candidate = derive(pin, &self.salt, self.iterations);
        let ok = bool::from(candidate.ct_eq(&self.hash));
        candidate.zeroize();
        if ok {
            self.failures = 0;
            Ok(())
        } else {
            self.failures = self.failures.saturating_add(1);
            if self.is_locked(max_failures) { Err(Error::PinLocked) } else { Err(Error::PinIncorrect) }
        }
    }
}

/// The PIN fields of both keystore states, on the crate's strict reader.
impl crate::wire::Reader<'_> {
    /// A PIN record as [`PinRecord::to_bytes`] writes it; 0 iterations is corrupt.
    pub(crate) fn pin(&mut self) -> Result<PinRecord> {
        let record =
            PinRecord { salt: self.arr()?, iterations: self.u32()?, hash: self.arr()?, failures: self.u8()? };
        if record.iterations == 0 {
            return Err(Error::KeystoreCorrupt);
        }
        Ok(record)
    }

    /// `00` (no PIN) or `01 || pin`.
    pub(crate) fn opt_pin(&mut self) -> Result<Option<PinRecord>> {
        if self.bool()? { self.pin().map(Some) } else { Ok(None) }
    }
}
