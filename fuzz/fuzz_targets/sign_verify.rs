//! Signatures (coffer_core::cert::KeyPair::sign, PublicKey::verify): a
//! message from the input signed with a fixed key, then one edit, then
//! verify. Verification succeeds exactly when message and signature are
//! unchanged, and every failure is exactly `Error::Verify` (a scheme of the
//! other key type is `InvalidInput`). ECDSA signing is deterministic, and
//! its fixed-size (r || s) form verifies and fails on a flipped bit alike.
//!
//! Keys: P-256 (core/tests/data/p256.pkcs8.der) for most inputs; RSA-2048
//! (core/tests/data/rsa2048.pkcs8.der) with PKCS#1 v1.5 and PSS for one in
//! eight, since RSA signing is slow.
//!
//! Input: scheme (1), edit kind (1), edit position (2), edit byte (1),
//! then the message.
#![no_main]

use coffer_core::Error;
use coffer_core::cert::{KeyPair, PublicKey, SignatureScheme};
use coffer_core::p256::{P256PublicKey, P256SecretKey};
use coffer_core::rng::OsRng;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The fixtures, read once: the P-256 key (also as a bare secret key for
/// the fixed-size form) and the RSA-2048 key.
struct Keys {
    p256: KeyPair,
    /// Public halves, computed once (a P-256 public key is a scalar multiplication).
    p256_pub: PublicKey,
    rsa_pub: PublicKey,
    p256_secret: P256SecretKey,
    p256_public: P256PublicKey,
    rsa: KeyPair,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let p256_der = include_bytes!("../../core/tests/data/p256.pkcs8.der");
        let p256_secret = P256SecretKey::from_pkcs8_der(p256_der).expect("the P-256 fixture");
        let p256 = KeyPair::from_pkcs8_der(p256_der).expect("the P-256 fixture");
        let rsa = KeyPair::from_pkcs8_der(include_bytes!("../../core/tests/data/rsa2048.pkcs8.der"))
            .expect("the RSA-2048 fixture");
        Keys {
            p256_pub: p256.public_key(),
            rsa_pub: rsa.public_key(),
            p256,
            p256_public: p256_secret.public_key(),
            p256_secret,
            rsa,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&[scheme, kind, hi, lo, byte], msg)) = data.split_first_chunk::<5>() else { return };
    let keys = keys();
    let (key, public, scheme, other) = match scheme {
        0 => (&keys.rsa, &keys.rsa_pub, SignatureScheme::RsaPkcs1Sha256, SignatureScheme::EcdsaP256Sha256),
        1 => (&keys.rsa, &keys.rsa_pub, SignatureScheme::RsaPssSha256, SignatureScheme::EcdsaP256Sha256),
        _ => (&keys.p256, &keys.p256_pub, SignatureScheme::EcdsaP256Sha256, SignatureScheme::RsaPssSha256),
    };
    // 2 of 256 scheme bytes pick RSA; the fuzzer's seeds and mutations make
    // it more often than that, so thin it out further to one in eight.
    if matches!(scheme, SignatureScheme::RsaPkcs1Sha256 | SignatureScheme::RsaPssSha256) && kind & 0x70 != 0 {
        return;
    }
    // Each P-256 operation takes milliseconds under the sanitizer: one
    // signature and one verification per run, the rest one run in eight.
    let thorough = kind & 0x80 != 0 && kind & 0x30 == 0;
    let sig = key.sign(&mut OsRng, scheme, msg).expect("signing never fails");
    assert_eq!(key.sign(&mut OsRng, other, msg), Err(Error::InvalidInput));
    assert_eq!(public.verify(other, msg, &sig), Err(Error::InvalidInput));
    if thorough && scheme == SignatureScheme::EcdsaP256Sha256 {
        assert_eq!(key.sign(&mut OsRng, scheme, msg).as_ref(), Ok(&sig), "RFC 6979: deterministic");
        let fixed = keys.p256_secret.sign(msg);
        assert_eq!(keys.p256_public.verify_fixed(msg, fixed.as_bytes()), Ok(()));
        let mut flipped = *fixed.as_bytes();
        flipped[usize::from(lo) % flipped.len()] ^= 1 << (byte % 8);
        assert_eq!(keys.p256_public.verify_fixed(msg, &flipped), Err(Error::Verify));
    }

    let (mut m, mut s) = (msg.to_vec(), sig.clone());
    let at = usize::from(u16::from_be_bytes([hi, lo]));
    match kind % 6 {
        0 => {}
        1 => {
            let i = at % s.len();
            s[i] ^= 1 << (byte % 8);
        }
        2 if !m.is_empty() => {
            let i = at % m.len();
            m[i] ^= 1 << (byte % 8);
        }
        2 => m.push(byte),
        3 => s.truncate(at % s.len()),
        4 => s.push(byte),
        _ => m.insert(at % (m.len() + 1), byte),
    }
    let unchanged = m == msg && s == sig;
    match public.verify(scheme, &m, &s) {
        Ok(()) => assert!(unchanged, "an edited message or signature verified"),
        Err(e) => {
            assert!(!unchanged);
            assert_eq!(e, Error::Verify);
        }
    }
});
