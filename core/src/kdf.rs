//! HKDF-SHA-256 (RFC 5869).
//!
//! ```
//! use coffer_core::kdf::hkdf_sha256;
//!
//! let mut okm = [0u8; 42];
//! hkdf_sha256(Some(b"salt"), b"input key material", b"coffer example", &mut okm)?;
//! # Ok::<(), coffer_core::Error>(())
//! ```

use hkdf::Hkdf;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

/// Longest output one expansion can give: 255 × 32 bytes (RFC 5869 §2.3).
pub const MAX_OUTPUT_LEN: usize = 255 * 32;

/// A pseudorandom key from the HKDF extract step. Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Prk([u8; 32]);

impl core::fmt::Debug for Prk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Prk(<redacted>)")
    }
}

impl Prk {
    /// HKDF-Extract: `salt` (none means 32 zero bytes) and input keying material.
    pub fn extract(salt: Option<&[u8]>, ikm: &[u8]) -> Self {
        let (prk, _) = Hkdf::<sha2::Sha256>::extract(salt, ikm);
        Prk(prk.into())
    }

    /// HKDF-Expand into `okm` (1..=[`MAX_OUTPUT_LEN`] bytes).
    ///
    /// # Errors
    /// [`Error::InvalidLength`] if `okm` is empty or longer than the maximum.
    pub fn expand(&self, info: &[u8], okm: &mut [u8]) -> Result<()> {
        if okm.is_empty() || okm.len() > MAX_OUTPUT_LEN {
            return Err(Error::InvalidLength);
        }
        let hk = Hkdf::<sha2::Sha256>::from_prk(&self.0).map_err(|_| Error::Internal)?;
        hk.expand(info, okm).map_err(|_| Error::InvalidLength)
    }
}

/// HKDF-SHA-256 extract, then two expansions of the same PRK into `a.1`
/// and `b.1` with infos `a.0` and `b.0`: the same bytes as
/// [`Prk::extract`] followed by two [`Prk::expand`] calls, with HMAC keyed
/// by the PRK once instead of twice.
pub(crate) fn extract_expand_two(
    salt: &[u8],
    ikm: &[u8],
    a: (&[u8], &mut [u8]),
    b: (&[u8], &mut [u8]),
) -> Result<()> {
    let (mut prk, hk) = Hkdf::<sha2::Sha256>::extract(Some(salt), ikm);
    prk.zeroize();
    hk.expand(a.0, a.1).map_err(|_| Error::InvalidLength)?;
    hk.expand(b.0, b.1).map_err(|_| Error::InvalidLength)
}

/// One-shot HKDF-SHA-256: extract then expand into `okm`.
///
/// # Errors
/// [`Error::InvalidLength`] if `okm` is empty or longer than [`MAX_OUTPUT_LEN`].
pub fn hkdf_sha256(salt: Option<&[u8]>, ikm: &[u8], info: &[u8], okm: &mut [u8]) -> Result<()> {
    Prk::extract(salt, ikm).expand(info, okm)
}
