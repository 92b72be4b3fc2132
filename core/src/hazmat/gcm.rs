//! AES-256-GCM (NIST SP 800-38D) with a 96-bit nonce and a 128-bit tag,
//! for protocols that fix GCM and let the caller choose the nonce, such as
//! PKCS#11's `CKM_AES_GCM` (the application passes the IV).
//!
//! **Hazmat**: GCM under a repeated nonce with the same key loses both
//! confidentiality (the two keystreams cancel) and authenticity (the GHASH
//! key can be recovered, and with it any tag forged). The caller must never
//! use one nonce twice under one key. Where coffer chooses, it uses
//! AES-256-GCM-SIV instead ([`crate::aead`]), which tolerates a repeat.
//!
//! The in-place functions work on caller buffers; [`encrypt`] and
//! [`decrypt`] return vectors, built on the same in-place code.
//!
//! Limits (SP 800-38D §5.2.1.1): a plaintext of at most
//! [`MAX_PLAINTEXT_LEN`] = 2^36 − 32 bytes and associated data of at most
//! [`MAX_AAD_LEN`] = 2^61 − 1 bytes; beyond them encryption is
//! [`Error::InvalidLength`] and decryption [`Error::Decrypt`].
//!
//! Provider: always the RustCrypto `aes-gcm` crate, also when coffer-core
//! is built with the `aws-lc` feature (see [`crate::provider`]); the
//! output is the same bytes either way, as GCM is deterministic.
//!
//! ```
//! use coffer_core::hazmat::gcm;
//!
//! let key = [0x42; 32];
//! // A nonce used once under this key: a counter, or 12 random bytes.
//! let nonce = [1; 12];
//! let sealed = gcm::encrypt(&key, &nonce, b"record 17", b"hello")?;
//! assert_eq!(sealed.len(), 5 + gcm::TAG_LEN);
//! assert_eq!(&gcm::decrypt(&key, &nonce, b"record 17", &sealed)?[..], b"hello");
//! // Other associated data, or any changed byte, is refused.
//! assert_eq!(gcm::decrypt(&key, &nonce, b"record 18", &sealed).unwrap_err(), coffer_core::Error::Decrypt);
//! # Ok::<(), coffer_core::Error>(())
//! ```

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use alloc::vec::Vec;
use zeroize::Zeroize;

use crate::SecretBytes;
use crate::error::{Error, Result};

/// Key length in bytes (AES-256).
pub const KEY_LEN: usize = 32;
/// Nonce (IV) length in bytes: 96 bits, the length SP 800-38D recommends.
pub const NONCE_LEN: usize = 12;
/// Authentication tag length in bytes: the full 128 bits.
pub const TAG_LEN: usize = 16;
/// Largest plaintext accepted, in bytes: 2^36 − 32 (SP 800-38D §5.2.1.1).
pub const MAX_PLAINTEXT_LEN: u64 = aes_gcm::P_MAX;
/// Largest associated data accepted, in bytes: 2^61 − 1.
pub const MAX_AAD_LEN: u64 = aes_gcm::A_MAX;

fn cipher(key: &[u8; KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(&(*key).into())
}

fn check_limits(msg_len: usize, aad_len: usize) -> Result<()> {
    let too_long = |len: usize, max: u64| u64::try_from(len).map_or(true, |l| l > max);
    if too_long(msg_len, MAX_PLAINTEXT_LEN) || too_long(aad_len, MAX_AAD_LEN) {
        return Err(Error::InvalidLength);
    }
    Ok(())
}

/// Encrypts `buf` in place and returns the detached tag.
///
/// # Errors
/// [`Error::InvalidLength`] if `buf` or `aad` exceeds the limits.
pub fn encrypt_in_place_detached(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN]> {
    check_limits(buf.len(), aad.len())?;
    let tag = cipher(key)
        .encrypt_inout_detached(&(*nonce).into(), aad, buf.into())
        .map_err(|_| Error::InvalidLength)?;
    Ok(tag.into())
}

/// Decrypts `buf` in place after checking `tag` (in constant time).
///
/// # Errors
/// [`Error::Decrypt`], whatever was wrong (tag, key, nonce, associated
/// data, a length beyond the limits); `buf` is then all zeros: neither
/// plaintext nor ciphertext is left.
pub fn decrypt_in_place_detached(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<()> {
    let res = if check_limits(buf.len(), aad.len()).is_err() {
        Err(Error::Decrypt)
    } else {
        cipher(key)
            .decrypt_inout_detached(&(*nonce).into(), aad, buf.into(), &(*tag).into())
            .map_err(|_| Error::Decrypt)
    };
    if res.is_err() {
        buf.zeroize();
    }
    res
}

/// Encrypts `plaintext` into a new vector `ciphertext ‖ tag`
/// (`plaintext.len() + TAG_LEN` bytes), the layout of PKCS#11's
/// `CKM_AES_GCM` (v2.40 §2.12.3).
///
/// # Errors
/// [`Error::InvalidLength`] if `plaintext` or `aad` exceeds the limits.
pub fn encrypt(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    check_limits(plaintext.len(), aad.len())?;
    let total = plaintext.len().checked_add(TAG_LEN).ok_or(Error::InvalidLength)?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(plaintext);
    let tag = encrypt_in_place_detached(key, nonce, aad, &mut out)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts `sealed` = `ciphertext ‖ tag` into a new buffer that is wiped
/// when dropped. No plaintext is released unless the tag checks.
///
/// # Errors
/// [`Error::Decrypt`] for a bad tag, a wrong key, nonce or associated
/// data, input shorter than a tag or beyond the limits.
pub fn decrypt(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Result<SecretBytes> {
    let ct_len = sealed.len().checked_sub(TAG_LEN).ok_or(Error::Decrypt)?;
    let (ct, tag_bytes) = sealed.split_at(ct_len);
    let tag: [u8; TAG_LEN] = tag_bytes.try_into().map_err(|_| Error::Decrypt)?;
    let mut out = SecretBytes::from(ct.to_vec());
    decrypt_in_place_detached(key, nonce, aad, &mut out, &tag)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    /// One known-answer vector: key, IV, plaintext, AAD, ciphertext, tag (hex).
    struct Vector {
        name: &'static str,
        key: &'static str,
        iv: &'static str,
        pt: &'static str,
        aad: &'static str,
        ct: &'static str,
        tag: &'static str,
    }

    const K0: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    const K1: &str = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
    const IV1: &str = "cafebabefacedbaddecaf888";

    /// McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)"
    /// (the GCM specification submitted to NIST), Appendix B, test cases
    /// 13–16: AES-256 with a 96-bit IV.
    const VECTORS: [Vector; 4] = [
        Vector {
            name: "test case 13",
            key: K0,
            iv: "000000000000000000000000",
            pt: "",
            aad: "",
            ct: "",
            tag: "530f8afbc74536b9a963b4f1c4cb738b",
        },
        Vector {
            name: "test case 14",
            key: K0,
            iv: "000000000000000000000000",
            pt: "00000000000000000000000000000000",
            aad: "",
            ct: "cea7403d4d606b6e074ec5d3baf39d18",
            tag: "d0d1c8a799996bf0265b98b5d48ab919",
        },
        Vector {
            name: "test case 15",
            key: K1,
            iv: IV1,
            pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                 1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
            aad: "",
            ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
                 8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
            tag: "b094dac5d93471bdec1a502270e3cc6c",
        },
        Vector {
            name: "test case 16",
            key: K1,
            iv: IV1,
            pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                 1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
                 8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            tag: "76fc6ece0f4e1768cddf8853bb2d551b",
        },
    ];

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn the_mcgrew_viega_aes256_vectors_encrypt_and_decrypt() {
        for v in &VECTORS {
            let key: [u8; KEY_LEN] = unhex(v.key).try_into().unwrap();
            let iv: [u8; NONCE_LEN] = unhex(v.iv).try_into().unwrap();
            let (pt, aad) = (unhex(v.pt), unhex(v.aad));
            let expected = [unhex(v.ct), unhex(v.tag)].concat();
            assert_eq!(encrypt(&key, &iv, &aad, &pt).unwrap(), expected, "{}", v.name);
            assert_eq!(&decrypt(&key, &iv, &aad, &expected).unwrap()[..], &pt[..], "{}", v.name);
        }
    }

    #[test]
    fn a_flipped_bit_anywhere_in_the_vectors_is_refused() {
        for v in &VECTORS {
            let key: [u8; KEY_LEN] = unhex(v.key).try_into().unwrap();
            let iv: [u8; NONCE_LEN] = unhex(v.iv).try_into().unwrap();
            let aad = unhex(v.aad);
            let sealed = [unhex(v.ct), unhex(v.tag)].concat();
            // Each bit of the tag, and the first bit of each ciphertext byte.
            let tag_start = sealed.len() - TAG_LEN;
            let bits =
                (0..TAG_LEN * 8).map(|b| (tag_start + b / 8, b % 8)).chain((0..tag_start).map(|i| (i, 0)));
            // Under miri (CI runs these tests there too) every 13th flip:
            // each decryption is slow there, and the spread still reaches
            // every tag byte and the ciphertext.
            for (byte, bit) in bits.step_by(if cfg!(miri) { 13 } else { 1 }) {
                let mut bad = sealed.clone();
                bad[byte] ^= 1 << bit;
                assert_eq!(decrypt(&key, &iv, &aad, &bad).err(), Some(Error::Decrypt), "{} {byte}", v.name);
            }
            let mut other_iv = iv;
            other_iv[11] ^= 1;
            assert_eq!(decrypt(&key, &other_iv, &aad, &sealed).err(), Some(Error::Decrypt), "{}", v.name);
            let other_aad = [&aad[..], b"x"].concat();
            assert_eq!(decrypt(&key, &iv, &other_aad, &sealed).err(), Some(Error::Decrypt), "{}", v.name);
            let mut other_key = key;
            other_key[0] ^= 1;
            assert_eq!(decrypt(&other_key, &iv, &aad, &sealed).err(), Some(Error::Decrypt), "{}", v.name);
            assert_eq!(decrypt(&key, &iv, &aad, &sealed[1..]).err(), Some(Error::Decrypt), "{}", v.name);
            assert_eq!(decrypt(&key, &iv, &aad, &sealed[..TAG_LEN - 1]).err(), Some(Error::Decrypt));
        }
    }

    #[test]
    fn a_refused_decryption_leaves_the_buffer_zeroed() {
        let (key, iv) = ([7; KEY_LEN], [9; NONCE_LEN]);
        let mut buf = *b"attack at dawn";
        let mut tag = encrypt_in_place_detached(&key, &iv, b"", &mut buf).unwrap();
        tag[0] ^= 1;
        assert_eq!(decrypt_in_place_detached(&key, &iv, b"", &mut buf, &tag), Err(Error::Decrypt));
        assert_eq!(buf, [0; 14]);
    }

    /// SP 800-38D's limit (2^36 − 32 bytes of plaintext), checked at the
    /// edge: too large to encrypt in a test, so the check is tested alone.
    #[test]
    #[cfg(target_pointer_width = "64")]
    #[allow(clippy::cast_possible_truncation, reason = "64-bit targets only")]
    fn the_length_limits_admit_exactly_the_maximum() {
        let p = MAX_PLAINTEXT_LEN as usize;
        assert_eq!(MAX_PLAINTEXT_LEN, (1 << 36) - 32);
        assert_eq!(check_limits(p, 0), Ok(()));
        assert_eq!(check_limits(p + 1, 0), Err(Error::InvalidLength));
        assert_eq!(check_limits(0, usize::MAX), Err(Error::InvalidLength));
    }
}
