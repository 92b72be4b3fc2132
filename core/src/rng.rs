//! Randomness: every operation that needs it takes a caller-supplied RNG.
//!
//! `coffer-core` never picks an entropy source itself. Functions take
//! `&mut R` where `R: TryCryptoRng` (rand_core 0.10); an infallible
//! `CryptoRng` works too. On a device, pass the hardware TRNG driver; under
//! the `std` feature, [`OsRng`] is the operating system's generator.

use crate::error::{Error, Result};
pub use rand_core::{CryptoRng, TryCryptoRng};

/// The operating system's random number generator (`getrandom`).
///
/// ```
/// use coffer_core::{aead::Aes256GcmSivKey, rng::OsRng};
/// let key = Aes256GcmSivKey::generate(&mut OsRng).unwrap();
/// # let _ = key;
/// ```
#[cfg(feature = "std")]
pub use getrandom::SysRng as OsRng;

/// Fills `dest` from `rng`, mapping any RNG failure to [`Error::Rng`].
pub(crate) fn fill<R: TryCryptoRng + ?Sized>(rng: &mut R, dest: &mut [u8]) -> Result<()> {
    rng.try_fill_bytes(dest).map_err(|_| Error::Rng)
}
