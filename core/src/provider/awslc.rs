//! The aws-lc-rs side of each primitive (feature `aws-lc`).
//!
//! Every function here gets inputs that coffer's own types have already
//! read and checked (lengths, limits, key policies, strict DER), and
//! returns coffer's errors. Keys are handed over in the encodings coffer
//! already writes (PKCS#8, SPKI, SEC1 points), so no format changes.

use alloc::vec::Vec;

use aws_lc_rs::aead::{AES_256_GCM_SIV, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::agreement;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::key_wrap::{AES_128, AES_256, AesKek, KeyWrap, KeyWrapPadded};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey,
};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, ParsedPublicKey,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RSA_PSS_2048_8192_SHA256, RSA_PSS_SHA256, RsaKeyPair,
    UnparsedPublicKey,
};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

// AES-256-GCM-SIV.

fn gcm_siv_key(key: &[u8; 32]) -> Result<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM_SIV, key).map(LessSafeKey::new).map_err(|_| Error::Internal)
}

/// Encrypts `buf` in place; returns the tag.
pub(crate) fn gcm_siv_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> Result<[u8; 16]> {
    let tag = gcm_siv_key(key)?
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
        .map_err(|_| Error::InvalidLength)?;
    tag.as_ref().try_into().map_err(|_| Error::Internal)
}

/// Decrypts `buf` in place after checking `tag`. On failure aws-lc has
/// already zeroed `buf` (`EVP_AEAD_CTX_open_gather` clears its output).
pub(crate) fn gcm_siv_open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; 16],
) -> Result<()> {
    gcm_siv_key(key)?
        .open_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), tag, buf)
        .map(|_| ())
        .map_err(|_| Error::Decrypt)
}

// AES-KW and AES-KWP.

/// aws-lc-rs wraps under AES-128 and AES-256 KEKs only; `None` for the
/// others, which stay on the RustCrypto code.
fn kek(key: &[u8]) -> Option<AesKek> {
    let cipher = match key.len() {
        16 => &AES_128,
        32 => &AES_256,
        _ => return None,
    };
    AesKek::new(cipher, key).ok()
}

/// AES-KW (`padded == false`) or AES-KWP wrap of `input` into `out`, which
/// the caller sized exactly. `None` if aws-lc-rs does not take this KEK.
pub(crate) fn wrap(key: &[u8], padded: bool, input: &[u8], out: &mut [u8]) -> Option<Result<usize>> {
    let kek = kek(key)?;
    let res = if padded { kek.wrap_with_padding(input, out) } else { kek.wrap(input, out) };
    Some(res.map(|w| w.len()).map_err(|_| Error::InvalidLength))
}

/// AES-KW or AES-KWP unwrap of `input` into `out` (`input.len() - 8`
/// bytes); any failure is [`Error::Decrypt`] and the caller zeroes `out`.
pub(crate) fn unwrap(key: &[u8], padded: bool, input: &[u8], out: &mut [u8]) -> Option<Result<usize>> {
    let kek = kek(key)?;
    let res = if padded { kek.unwrap_with_padding(input, out) } else { kek.unwrap(input, out) };
    Some(res.map(|k| k.len()).map_err(|_| Error::Decrypt))
}

// P-256.

/// A P-256 private key as aws-lc holds it, for ECDSA and ECDH.
pub(crate) struct P256Private {
    ecdsa: EcdsaKeyPair,
    ecdh: agreement::PrivateKey,
}

impl P256Private {
    /// From the 32-byte scalar and its uncompressed public point (aws-lc
    /// checks that the two agree).
    pub(crate) fn new(scalar: &[u8], public_point: &[u8]) -> Result<Self> {
        let ecdsa = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            scalar,
            public_point,
        )
        .map_err(|_| Error::InvalidKey)?;
        let ecdh = agreement::PrivateKey::from_private_key(&agreement::ECDH_P256, scalar)
            .map_err(|_| Error::InvalidKey)?;
        Ok(P256Private { ecdsa, ecdh })
    }

    /// ECDSA-SHA-256 of `msg` as `r ‖ s` (randomized nonce).
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<[u8; 64]> {
        let sig = self.ecdsa.sign(&SystemRandom::new(), msg).map_err(|_| Error::Internal)?;
        sig.as_ref().try_into().map_err(|_| Error::Internal)
    }

    /// The ECDH shared x-coordinate with the uncompressed point `peer`.
    pub(crate) fn diffie_hellman(&self, peer: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, peer);
        agreement::agree(&self.ecdh, peer, Error::InvalidKey, |shared| {
            let mut out = Zeroizing::new([0u8; 32]);
            if shared.len() != out.len() {
                return Err(Error::Internal);
            }
            out.copy_from_slice(shared);
            Ok(out)
        })
    }
}

/// Verifies an `r ‖ s` ECDSA-SHA-256 signature under the uncompressed point `public_point`.
pub(crate) fn p256_verify(public_point: &[u8], msg: &[u8], sig: &[u8]) -> Result<()> {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public_point).verify(msg, sig).map_err(|_| Error::Verify)
}

// RSA.

/// An RSA private key as aws-lc holds it, for signing and OAEP.
pub(crate) struct RsaPrivate {
    signing: RsaKeyPair,
    oaep: OaepPrivateDecryptingKey,
}

impl RsaPrivate {
    /// From PKCS#8 DER; `None` for a key aws-lc does not take (outside 2048–8192 bits).
    pub(crate) fn from_pkcs8(der: &[u8]) -> Option<Self> {
        let signing = RsaKeyPair::from_pkcs8(der).ok()?;
        let oaep = OaepPrivateDecryptingKey::new(PrivateDecryptingKey::from_pkcs8(der).ok()?).ok()?;
        Some(RsaPrivate { signing, oaep })
    }

    /// RSASSA-PSS (SHA-256, 32-byte salt) or PKCS#1 v1.5 with SHA-256.
    pub(crate) fn sign(&self, pss: bool, msg: &[u8]) -> Result<Vec<u8>> {
        let mut sig = alloc::vec![0u8; self.signing.public_modulus_len()];
        let padding: &'static dyn aws_lc_rs::signature::RsaEncoding =
            if pss { &RSA_PSS_SHA256 } else { &RSA_PKCS1_SHA256 };
        self.signing.sign(padding, &SystemRandom::new(), msg, &mut sig).map_err(|_| Error::Internal)?;
        Ok(sig)
    }

    /// OAEP-SHA-256 (MGF1-SHA-256) decryption; every failure is [`Error::Decrypt`].
    pub(crate) fn oaep_decrypt(&self, ciphertext: &[u8], label: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let mut out = Zeroizing::new(alloc::vec![0u8; self.oaep.min_output_size()]);
        let label = if label.is_empty() { None } else { Some(label) };
        let n = self
            .oaep
            .decrypt(&OAEP_SHA256_MGF1SHA256, ciphertext, &mut out, label)
            .map_err(|_| Error::Decrypt)?
            .len();
        out.truncate(n);
        Ok(out)
    }
}

/// An RSA public key as aws-lc holds it, parsed once for each use.
#[derive(Clone)]
pub(crate) struct RsaPublic {
    pss: ParsedPublicKey,
    pkcs1v15: ParsedPublicKey,
    oaep: PublicEncryptingKey,
}

impl RsaPublic {
    /// From SPKI DER; `None` for a key aws-lc does not take.
    pub(crate) fn from_spki(der: &[u8]) -> Option<Self> {
        Some(RsaPublic {
            pss: ParsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, der).ok()?,
            pkcs1v15: ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).ok()?,
            oaep: PublicEncryptingKey::from_der(der).ok()?,
        })
    }

    /// Verifies a PSS (SHA-256, 32-byte salt) or PKCS#1 v1.5 SHA-256 signature.
    pub(crate) fn verify(&self, pss: bool, msg: &[u8], sig: &[u8]) -> Result<()> {
        let key = if pss { &self.pss } else { &self.pkcs1v15 };
        key.verify_sig(msg, sig).map_err(|_| Error::Verify)
    }

    /// OAEP-SHA-256 (MGF1-SHA-256) encryption of `plaintext` (already
    /// checked against the key's limit).
    pub(crate) fn oaep_encrypt(&self, plaintext: &[u8], label: &[u8]) -> Result<Vec<u8>> {
        let key = OaepPublicEncryptingKey::new(self.oaep.clone()).map_err(|_| Error::Internal)?;
        let mut out = alloc::vec![0u8; key.ciphertext_size()];
        let label = if label.is_empty() { None } else { Some(label) };
        let n = key
            .encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, label)
            .map_err(|_| Error::InvalidLength)?
            .len();
        out.truncate(n);
        Ok(out)
    }
}

/// A new RSA key of `bits` (2048, 3072 or 4096) with e = 65537, as PKCS#8 DER.
pub(crate) fn rsa_generate(bits: usize) -> Result<Zeroizing<Vec<u8>>> {
    let size = match bits {
        2048 => KeySize::Rsa2048,
        3072 => KeySize::Rsa3072,
        4096 => KeySize::Rsa4096,
        _ => return Err(Error::InvalidInput),
    };
    let key = RsaKeyPair::generate(size).map_err(|_| Error::Internal)?;
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'static>>::as_der(&key).map_err(|_| Error::Internal)?;
    Ok(Zeroizing::new(der.as_ref().to_vec()))
}
