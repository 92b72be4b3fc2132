//! AES key wrap: AES-KW (RFC 3394) and AES-KWP (RFC 5649) under 128-, 192-
//! or 256-bit key-encryption keys.
//!
//! Wrapping is deterministic and authenticated: an unwrap with the wrong KEK
//! or of modified bytes fails with [`Error::Decrypt`].
//!
//! Limits: AES-KW key data is 16 to [`MAX_KEY_DATA_LEN`] bytes, a multiple of
//! 8; AES-KWP key data is 1 to [`MAX_KEY_DATA_LEN`] bytes.
//!
//! ```
//! use coffer_core::keywrap::{Kek, wrapped_len_kw};
//!
//! let kek = Kek::from_slice(&[0x11; 32])?;
//! let dek = [0x22u8; 32];
//! let mut wrapped = [0u8; wrapped_len_kw(32)];
//! let n = kek.wrap(&dek, &mut wrapped)?;
//! let mut unwrapped = [0u8; 32];
//! let m = kek.unwrap(&wrapped[..n], &mut unwrapped)?;
//! assert_eq!(&unwrapped[..m], &dek);
//! # Ok::<(), coffer_core::Error>(())
//! ```

use aes_kw::{KeyInit, KwAes128, KwAes192, KwAes256, KwpAes128, KwpAes192, KwpAes256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};
use crate::rng::{self, TryCryptoRng};

/// Largest key data accepted for wrapping, in bytes (64 KiB: room for any
/// RSA-4096 PKCS#8 key many times over).
pub const MAX_KEY_DATA_LEN: usize = 64 * 1024;
/// Bytes that wrapping adds to AES-KW key data (the integrity block).
pub const KW_OVERHEAD: usize = 8;

/// Length of the AES-KW output for `key_len` bytes of key data.
pub const fn wrapped_len_kw(key_len: usize) -> usize {
    key_len.saturating_add(KW_OVERHEAD)
}

/// Length of the AES-KWP output for `key_len` bytes of key data (padded to
/// a multiple of 8, plus the 8-byte integrity block).
pub const fn wrapped_len_kwp(key_len: usize) -> usize {
    (key_len.saturating_add(7) / 8).saturating_mul(8).saturating_add(KW_OVERHEAD)
}

/// A key-encryption key for AES-KW/KWP: 16, 24 or 32 bytes. Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Kek {
    bytes: [u8; 32],
    len: u8,
}

impl core::fmt::Debug for Kek {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Kek(AES-{}, <redacted>)", u32::from(self.len).saturating_mul(8))
    }
}

macro_rules! with_kw {
    ($kek:expr, $kw128:ty, $kw192:ty, $kw256:ty, |$c:ident| $body:expr) => {{
        let key = $kek.as_bytes();
        match key.len() {
            16 => {
                let $c = <$kw128>::new_from_slice(key).map_err(|_| Error::InvalidKey)?;
                $body
            }
            24 => {
                let $c = <$kw192>::new_from_slice(key).map_err(|_| Error::InvalidKey)?;
                $body
            }
            _ => {
                let $c = <$kw256>::new_from_slice(key).map_err(|_| Error::InvalidKey)?;
                $body
            }
        }
    }};
}

impl Kek {
    /// Reads a KEK from 16, 24 or 32 bytes; other lengths give [`Error::InvalidKey`].
    pub fn from_slice(key: &[u8]) -> Result<Self> {
        let len = match key.len() {
            16 | 24 | 32 => key.len(),
            _ => return Err(Error::InvalidKey),
        };
        let mut bytes = [0u8; 32];
        bytes.get_mut(..len).ok_or(Error::InvalidKey)?.copy_from_slice(key);
        Ok(Kek { bytes, len: u8::try_from(len).map_err(|_| Error::InvalidKey)? })
    }

    /// Generates a random AES-256 KEK.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self> {
        let mut kek = Kek { bytes: [0; 32], len: 32 };
        rng::fill(rng, &mut kek.bytes)?;
        Ok(kek)
    }

    /// The raw KEK bytes (16, 24 or 32 of them).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// AES-KW (RFC 3394) wrap of `key_data` into `out`; returns the length
    /// written, `key_data.len() + 8`.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] unless `key_data` is 16..=[`MAX_KEY_DATA_LEN`]
    /// bytes and a multiple of 8; [`Error::BufferTooSmall`] if `out` is short.
    pub fn wrap(&self, key_data: &[u8], out: &mut [u8]) -> Result<usize> {
        let n = key_data.len();
        if !(16..=MAX_KEY_DATA_LEN).contains(&n) || !n.is_multiple_of(8) {
            return Err(Error::InvalidLength);
        }
        let needed = wrapped_len_kw(n);
        let out = out.get_mut(..needed).ok_or(Error::BufferTooSmall { needed })?;
        #[cfg(feature = "aws-lc")]
        if let Some(res) = crate::provider::awslc::wrap(self.as_bytes(), false, key_data, out) {
            return res;
        }
        with_kw!(self, KwAes128, KwAes192, KwAes256, |c| c
            .wrap_key(key_data, out)
            .map(|w| w.len())
            .map_err(|_| Error::InvalidLength))
    }

    /// AES-KW (RFC 3394) unwrap of `wrapped` into `out`; returns the length
    /// of the key data, `wrapped.len() - 8`.
    ///
    /// Any integrity failure, and any input of impossible length, gives
    /// [`Error::Decrypt`]. On failure (also [`Error::BufferTooSmall`]) all
    /// of `out` is zeroed, past the part unwrapping would use too.
    pub fn unwrap(&self, wrapped: &[u8], out: &mut [u8]) -> Result<usize> {
        let n = wrapped.len();
        if !(24..=wrapped_len_kw(MAX_KEY_DATA_LEN)).contains(&n) || !n.is_multiple_of(8) {
            out.zeroize();
            return Err(Error::Decrypt);
        }
        let needed = n.saturating_sub(KW_OVERHEAD);
        let Some(room) = out.get_mut(..needed) else {
            out.zeroize();
            return Err(Error::BufferTooSmall { needed });
        };
        let res = match self.unwrap_fast(false, wrapped, room) {
            Some(res) => res,
            None => with_kw!(self, KwAes128, KwAes192, KwAes256, |c| c
                .unwrap_key(wrapped, room)
                .map(|k| k.len())
                .map_err(|_| Error::Decrypt)),
        };
        res.map_err(|_| {
            // All of the caller's buffer, not only the part unwrapping used.
            out.zeroize();
            Error::Decrypt
        })
    }

    /// AES-KWP (RFC 5649) wrap of `key_data` (1..=[`MAX_KEY_DATA_LEN`] bytes,
    /// any length) into `out`; returns the length written, [`wrapped_len_kwp`].
    pub fn wrap_padded(&self, key_data: &[u8], out: &mut [u8]) -> Result<usize> {
        let n = key_data.len();
        if !(1..=MAX_KEY_DATA_LEN).contains(&n) {
            return Err(Error::InvalidLength);
        }
        let needed = wrapped_len_kwp(n);
        let out = out.get_mut(..needed).ok_or(Error::BufferTooSmall { needed })?;
        #[cfg(feature = "aws-lc")]
        if let Some(res) = crate::provider::awslc::wrap(self.as_bytes(), true, key_data, out) {
            return res;
        }
        with_kw!(self, KwpAes128, KwpAes192, KwpAes256, |c| c
            .wrap_key(key_data, out)
            .map(|w| w.len())
            .map_err(|_| Error::InvalidLength))
    }

    /// AES-KWP (RFC 5649) unwrap of `wrapped` into `out`; returns the length
    /// of the key data. `out` needs `wrapped.len() - 8` bytes of room.
    ///
    /// Any integrity or padding failure gives [`Error::Decrypt`]. On failure
    /// all of `out` is zeroed.
    pub fn unwrap_padded(&self, wrapped: &[u8], out: &mut [u8]) -> Result<usize> {
        let n = wrapped.len();
        if !(16..=wrapped_len_kwp(MAX_KEY_DATA_LEN)).contains(&n) || !n.is_multiple_of(8) {
            out.zeroize();
            return Err(Error::Decrypt);
        }
        let needed = n.saturating_sub(KW_OVERHEAD);
        let Some(room) = out.get_mut(..needed) else {
            out.zeroize();
            return Err(Error::BufferTooSmall { needed });
        };
        let res = match self.unwrap_fast(true, wrapped, room) {
            Some(res) => res,
            None => with_kw!(self, KwpAes128, KwpAes192, KwpAes256, |c| c
                .unwrap_key(wrapped, room)
                .map(|k| k.len())
                .map_err(|_| Error::Decrypt)),
        };
        res.map_err(|_| {
            // All of the caller's buffer, not only the part unwrapping used.
            out.zeroize();
            Error::Decrypt
        })
    }

    /// The unwrap by the aws-lc provider when it takes this KEK; `None`
    /// sends the caller to the RustCrypto code.
    #[allow(clippy::unused_self, reason = "uses self under the aws-lc feature")]
    fn unwrap_fast(&self, padded: bool, wrapped: &[u8], room: &mut [u8]) -> Option<Result<usize>> {
        #[cfg(feature = "aws-lc")]
        return crate::provider::awslc::unwrap(self.as_bytes(), padded, wrapped, room);
        #[cfg(not(feature = "aws-lc"))]
        {
            let _ = (padded, wrapped, room);
            None
        }
    }

    /// AES-KW wrap into a new vector.
    #[cfg(feature = "alloc")]
    pub fn wrap_to_vec(&self, key_data: &[u8]) -> Result<alloc::vec::Vec<u8>> {
        let mut out = alloc::vec![0u8; wrapped_len_kw(key_data.len())];
        let n = self.wrap(key_data, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    /// AES-KW unwrap into a new zeroizing vector.
    #[cfg(feature = "alloc")]
    pub fn unwrap_to_vec(&self, wrapped: &[u8]) -> Result<zeroize::Zeroizing<alloc::vec::Vec<u8>>> {
        let mut out = zeroize::Zeroizing::new(alloc::vec![0u8; wrapped.len().saturating_sub(KW_OVERHEAD)]);
        let n = self.unwrap(wrapped, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    /// AES-KWP wrap into a new vector.
    #[cfg(feature = "alloc")]
    pub fn wrap_padded_to_vec(&self, key_data: &[u8]) -> Result<alloc::vec::Vec<u8>> {
        let mut out = alloc::vec![0u8; wrapped_len_kwp(key_data.len())];
        let n = self.wrap_padded(key_data, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    /// AES-KWP unwrap into a new zeroizing vector.
    #[cfg(feature = "alloc")]
    pub fn unwrap_padded_to_vec(&self, wrapped: &[u8]) -> Result<zeroize::Zeroizing<alloc::vec::Vec<u8>>> {
        let mut out = zeroize::Zeroizing::new(alloc::vec![0u8; wrapped.len().saturating_sub(KW_OVERHEAD)]);
        let n = self.unwrap_padded(wrapped, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}
