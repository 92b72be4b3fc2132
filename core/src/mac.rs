//! HMAC-SHA-256 (RFC 2104) with constant-time verification.
//!
//! ```
//! use coffer_core::mac::HmacSha256Key;
//!
//! let key = HmacSha256Key::new(b"webhook secret, at least 32 bytes long!")?;
//! let tag = key.sign(b"payload");
//! key.verify(b"payload", &tag)?;
//! assert!(key.verify(b"payl0ad", &tag).is_err());
//! # Ok::<(), coffer_core::Error>(())
//! ```

use hmac::{Hmac, KeyInit, Mac};
use sha2::Digest;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};
use crate::rng::{self, TryCryptoRng};

/// HMAC-SHA-256 tag length in bytes.
pub const TAG_LEN: usize = 32;
/// Shortest truncated tag [`HmacSha256Key::verify_truncated`] accepts (128 bits).
pub const MIN_TRUNCATED_TAG_LEN: usize = 16;
/// SHA-256 block length; longer keys are hashed first (RFC 2104 §2).
const BLOCK_LEN: usize = 64;

/// An HMAC-SHA-256 key of any length. Keys longer than 64 bytes are hashed
/// first, as RFC 2104 says, so the stored form is always one block.
/// Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct HmacSha256Key {
    block: [u8; BLOCK_LEN],
}

impl core::fmt::Debug for HmacSha256Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HmacSha256Key(<redacted>)")
    }
}

impl HmacSha256Key {
    /// Makes a key from `key` bytes (any length; 32 or more is recommended).
    ///
    /// # Errors
    /// None today; the `Result` leaves room for a minimum-length policy.
    pub fn new(key: &[u8]) -> Result<Self> {
        let mut block = [0u8; BLOCK_LEN];
        if key.len() > BLOCK_LEN {
            let digest: [u8; 32] = sha2::Sha256::digest(key).into();
            block.get_mut(..32).ok_or(Error::InvalidKey)?.copy_from_slice(&digest);
        } else {
            block.get_mut(..key.len()).ok_or(Error::InvalidKey)?.copy_from_slice(key);
        }
        Ok(HmacSha256Key { block })
    }

    /// Generates a random 32-byte key.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self> {
        let mut key = [0u8; 32];
        rng::fill(rng, &mut key)?;
        let k = Self::new(&key);
        key.zeroize();
        k
    }

    fn mac(&self) -> Hmac<sha2::Sha256> {
        // The stored key is exactly one block, which HMAC uses as is.
        <Hmac<sha2::Sha256> as KeyInit>::new(&self.block.into())
    }

    /// The tag over the concatenation of `parts` (e.g. timestamp, `.`, body).
    pub fn sign_parts(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let mut m = self.mac();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// The tag over `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; TAG_LEN] {
        self.sign_parts(&[msg])
    }

    /// Checks a full 32-byte `tag` over `msg` in constant time.
    ///
    /// # Errors
    /// [`Error::Verify`] if the tag is wrong or not 32 bytes long.
    pub fn verify(&self, msg: &[u8], tag: &[u8]) -> Result<()> {
        self.verify_parts(&[msg], tag)
    }

    /// Checks a full 32-byte `tag` over the concatenation of `parts`.
    pub fn verify_parts(&self, parts: &[&[u8]], tag: &[u8]) -> Result<()> {
        if tag.len() != TAG_LEN {
            return Err(Error::Verify);
        }
        let expected = self.sign_parts(parts);
        if bool::from(expected.ct_eq(tag)) { Ok(()) } else { Err(Error::Verify) }
    }

    /// Checks a tag truncated to its leftmost `tag.len()` bytes (RFC 2104 §5),
    /// with `tag.len()` from [`MIN_TRUNCATED_TAG_LEN`] to 32.
    pub fn verify_truncated(&self, msg: &[u8], tag: &[u8]) -> Result<()> {
        if !(MIN_TRUNCATED_TAG_LEN..=TAG_LEN).contains(&tag.len()) {
            return Err(Error::Verify);
        }
        let expected = self.sign(msg);
        let prefix = expected.get(..tag.len()).ok_or(Error::Verify)?;
        if bool::from(prefix.ct_eq(tag)) { Ok(()) } else { Err(Error::Verify) }
    }
}
