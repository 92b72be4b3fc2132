//! AES-256-GCM-SIV (RFC 8452): nonce-misuse-resistant authenticated encryption.
//!
//! The in-place functions work on caller buffers and never allocate; the
//! `alloc` feature adds [`Aes256GcmSivKey::seal`] and [`Aes256GcmSivKey::open`]
//! returning vectors, built on the same in-place code.
//!
//! Limits (RFC 8452 §6): plaintext and associated data are each at most
//! [`MAX_PLAINTEXT_LEN`] / [`MAX_AAD_LEN`] bytes; longer inputs give
//! [`Error::InvalidLength`].
//!
//! ```
//! use coffer_core::aead::{Aes256GcmSivKey, Nonce, TAG_LEN};
//!
//! let key = Aes256GcmSivKey::from_bytes([0x42; 32]);
//! let nonce = Nonce::from_bytes([1; 12]);
//! let mut buf = [0u8; 5 + TAG_LEN];
//! buf[..5].copy_from_slice(b"hello");
//! let sealed_len = key.seal_in_place(&nonce, b"tenant=acme", &mut buf, 5)?;
//! assert_eq!(sealed_len, 5 + TAG_LEN);
//! let plaintext = key.open_in_place(&nonce, b"tenant=acme", &mut buf)?;
//! assert_eq!(plaintext, b"hello");
//! # Ok::<(), coffer_core::Error>(())
//! ```

#[cfg(not(feature = "aws-lc"))]
use aes_gcm_siv::Aes256GcmSiv;
#[cfg(not(feature = "aws-lc"))]
use aes_gcm_siv::aead::{AeadInOut, KeyInit};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};
use crate::rng::{self, TryCryptoRng};

/// Key length in bytes (AES-256).
pub const KEY_LEN: usize = 32;
/// Nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// Authentication tag length in bytes.
pub const TAG_LEN: usize = 16;
/// Largest plaintext accepted, in bytes (2^36, RFC 8452 §6).
pub const MAX_PLAINTEXT_LEN: u64 = aes_gcm_siv::P_MAX;
/// Largest associated data accepted, in bytes (2^36, RFC 8452 §6).
pub const MAX_AAD_LEN: u64 = aes_gcm_siv::A_MAX;

/// An AES-256-GCM-SIV key. Zeroized on drop; `Debug` does not print it.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Aes256GcmSivKey {
    bytes: [u8; KEY_LEN],
}

impl core::fmt::Debug for Aes256GcmSivKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Aes256GcmSivKey(<redacted>)")
    }
}

/// A 96-bit nonce. GCM-SIV tolerates repetition (only equal messages become
/// linkable), but a fresh random nonce per message is still the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// Wraps 12 bytes as a nonce.
    pub const fn from_bytes(bytes: [u8; NONCE_LEN]) -> Self {
        Nonce(bytes)
    }

    /// Reads a nonce from a slice of exactly [`NONCE_LEN`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        bytes.try_into().map(Nonce).map_err(|_| Error::InvalidLength)
    }

    /// Draws a random nonce.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self> {
        let mut n = [0u8; NONCE_LEN];
        rng::fill(rng, &mut n)?;
        Ok(Nonce(n))
    }

    /// The nonce bytes.
    pub const fn as_bytes(&self) -> &[u8; NONCE_LEN] {
        &self.0
    }
}

/// A detached authentication tag.
pub type Tag = [u8; TAG_LEN];

impl Aes256GcmSivKey {
    /// Wraps 32 raw key bytes.
    pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Aes256GcmSivKey { bytes }
    }

    /// Reads a key from a slice of exactly [`KEY_LEN`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|_| Error::InvalidKey)?;
        Ok(Aes256GcmSivKey { bytes })
    }

    /// Generates a fresh random key.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self> {
        let mut key = Aes256GcmSivKey { bytes: [0; KEY_LEN] };
        rng::fill(rng, &mut key.bytes)?;
        Ok(key)
    }

    /// The raw key bytes, for wrapping or export. Handle with care.
    pub const fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    #[cfg(not(feature = "aws-lc"))]
    fn cipher(&self) -> Aes256GcmSiv {
        Aes256GcmSiv::new(&self.bytes.into())
    }

    /// Encrypts `buf` in place and returns the detached tag.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] if `buf` or `aad` exceeds the RFC 8452 limits.
    pub fn seal_in_place_detached(&self, nonce: &Nonce, aad: &[u8], buf: &mut [u8]) -> Result<Tag> {
        check_limits(buf.len(), aad.len())?;
        #[cfg(feature = "aws-lc")]
        let tag = crate::provider::awslc::gcm_siv_seal(&self.bytes, &nonce.0, aad, buf)?;
        #[cfg(not(feature = "aws-lc"))]
        let tag: Tag = self
            .cipher()
            .encrypt_inout_detached(&nonce.0.into(), aad, buf.into())
            .map_err(|_| Error::InvalidLength)?
            .into();
        Ok(tag)
    }

    /// Decrypts `buf` in place after checking `tag`.
    ///
    /// On failure the error is [`Error::Decrypt`], whatever was wrong, and
    /// all of `buf` is zeroed: neither plaintext nor ciphertext is left (the
    /// same under either [`provider`](crate::provider)).
    pub fn open_in_place_detached(&self, nonce: &Nonce, aad: &[u8], buf: &mut [u8], tag: &Tag) -> Result<()> {
        let res = if check_limits(buf.len(), aad.len()).is_err() {
            Err(Error::Decrypt)
        } else {
            #[cfg(feature = "aws-lc")]
            let res = crate::provider::awslc::gcm_siv_open(&self.bytes, &nonce.0, aad, buf, tag);
            #[cfg(not(feature = "aws-lc"))]
            let res = self
                .cipher()
                .decrypt_inout_detached(&nonce.0.into(), aad, buf.into(), &(*tag).into())
                .map_err(|_| Error::Decrypt);
            res
        };
        if res.is_err() {
            buf.zeroize();
        }
        res
    }

    /// Encrypts the first `msg_len` bytes of `buf` in place and appends the
    /// tag, returning the sealed length `msg_len + TAG_LEN`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `buf` cannot hold the tag after the
    /// message; [`Error::InvalidLength`] if `msg_len > buf.len()` or a limit is exceeded.
    pub fn seal_in_place(&self, nonce: &Nonce, aad: &[u8], buf: &mut [u8], msg_len: usize) -> Result<usize> {
        let needed = msg_len.checked_add(TAG_LEN).ok_or(Error::InvalidLength)?;
        if msg_len > buf.len() {
            return Err(Error::InvalidLength);
        }
        let out = buf.get_mut(..needed).ok_or(Error::BufferTooSmall { needed })?;
        let (msg, tag_out) = out.split_at_mut(msg_len);
        let tag = self.seal_in_place_detached(nonce, aad, msg)?;
        tag_out.copy_from_slice(&tag);
        Ok(needed)
    }

    /// Opens `buf` = ciphertext ‖ tag in place and returns the plaintext,
    /// a prefix of `buf`.
    ///
    /// On failure the error is [`Error::Decrypt`] and all of `buf` (the tag
    /// too) is zeroed.
    pub fn open_in_place<'a>(&self, nonce: &Nonce, aad: &[u8], buf: &'a mut [u8]) -> Result<&'a mut [u8]> {
        let Some(ct_len) = buf.len().checked_sub(TAG_LEN) else {
            buf.zeroize();
            return Err(Error::Decrypt);
        };
        let (ct, tag_bytes) = buf.split_at_mut(ct_len);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(tag_bytes);
        if let Err(e) = self.open_in_place_detached(nonce, aad, ct, &tag) {
            tag_bytes.zeroize();
            return Err(e);
        }
        Ok(ct)
    }

    /// Encrypts `plaintext` into a new vector `ciphertext ‖ tag`.
    #[cfg(feature = "alloc")]
    pub fn seal(&self, nonce: &Nonce, aad: &[u8], plaintext: &[u8]) -> Result<alloc::vec::Vec<u8>> {
        check_limits(plaintext.len(), aad.len())?;
        let total = plaintext.len().checked_add(TAG_LEN).ok_or(Error::InvalidLength)?;
        let mut out = alloc::vec::Vec::with_capacity(total);
        out.extend_from_slice(plaintext);
        out.resize(total, 0);
        self.seal_in_place(nonce, aad, &mut out, plaintext.len())?;
        Ok(out)
    }

    /// Opens `ciphertext ‖ tag` into a new zeroizing vector.
    #[cfg(feature = "alloc")]
    pub fn open(
        &self,
        nonce: &Nonce,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<alloc::vec::Vec<u8>>> {
        let mut out = zeroize::Zeroizing::new(sealed.to_vec());
        let pt_len = self.open_in_place(nonce, aad, &mut out)?.len();
        out.truncate(pt_len);
        Ok(out)
    }
}

fn check_limits(msg_len: usize, aad_len: usize) -> Result<()> {
    let too_long = |len: usize, max: u64| u64::try_from(len).map_or(true, |l| l > max);
    if too_long(msg_len, MAX_PLAINTEXT_LEN) || too_long(aad_len, MAX_AAD_LEN) {
        return Err(Error::InvalidLength);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8452's limits (2^36 bytes for both), checked at the exact edges:
    /// too large to encrypt in a test, so the check is tested alone.
    #[test]
    #[cfg(target_pointer_width = "64")]
    #[allow(clippy::cast_possible_truncation, reason = "64-bit targets only")]
    fn the_length_limits_admit_exactly_the_maximum() {
        let (p, a) = (MAX_PLAINTEXT_LEN as usize, MAX_AAD_LEN as usize);
        assert_eq!(MAX_PLAINTEXT_LEN, 1 << 36);
        assert_eq!(MAX_AAD_LEN, 1 << 36);
        assert_eq!(check_limits(p, a), Ok(()));
        assert_eq!(check_limits(0, 0), Ok(()));
        assert_eq!(check_limits(p + 1, 0), Err(Error::InvalidLength));
        assert_eq!(check_limits(0, a + 1), Err(Error::InvalidLength));
        assert_eq!(check_limits(usize::MAX, usize::MAX), Err(Error::InvalidLength));
    }
}
