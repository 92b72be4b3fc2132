//! Plain tests for keys, encodings, limits and published known answers.
//!
//! Fixtures in `tests/data` were made by openssl from the same key pairs
//! (see `tests/data/README.md`), so coffer's encodings can be compared with
//! openssl's byte for byte.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use coffer_core::Error;
use coffer_core::aead::{Aes256GcmSivKey, Nonce, TAG_LEN};
use coffer_core::hash::{sha256, sha384, sha512};
use coffer_core::kdf::{MAX_OUTPUT_LEN, Prk, hkdf_sha256};
use coffer_core::keywrap::{Kek, MAX_KEY_DATA_LEN, wrapped_len_kw, wrapped_len_kwp};
use coffer_core::mac::HmacSha256Key;
use coffer_core::p256::{P256PublicKey, P256SecretKey, P256Signature};
use coffer_core::rng::OsRng;
use coffer_core::rsa::{RsaPolicy, RsaPrivateKey, RsaPublicKey};

const RSA1024_PKCS8: &[u8] = include_bytes!("data/rsa1024.pkcs8.der");
const RSA1024_SPKI: &[u8] = include_bytes!("data/rsa1024.spki.der");
const RSA2048_PKCS8: &[u8] = include_bytes!("data/rsa2048.pkcs8.der");
const RSA2048_PKCS1: &[u8] = include_bytes!("data/rsa2048.pkcs1.der");
const RSA2048_SPKI: &[u8] = include_bytes!("data/rsa2048.spki.der");
const RSA2048_SPKI_PEM: &str = include_str!("data/rsa2048.spki.pem");
const RSA2048_E3_PKCS8: &[u8] = include_bytes!("data/rsa2048_e3.pkcs8.der");
const RSA2048_E3_SPKI: &[u8] = include_bytes!("data/rsa2048_e3.spki.der");
const RSA3072_PKCS8: &[u8] = include_bytes!("data/rsa3072.pkcs8.der");
const RSA4096_PKCS8: &[u8] = include_bytes!("data/rsa4096.pkcs8.der");
const P256_PKCS8: &[u8] = include_bytes!("data/p256.pkcs8.der");
const P256_PKCS8_PEM: &str = include_str!("data/p256.pkcs8.pem");
const P256_SEC1: &[u8] = include_bytes!("data/p256.sec1.der");
const P256_SPKI: &[u8] = include_bytes!("data/p256.spki.der");

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("valid hex in test vector")
}

/// An RNG that always fails, to check failures surface as `Error::Rng`.
struct FailingRng;

impl rand_core::TryRng for FailingRng {
    type Error = core::fmt::Error;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Err(core::fmt::Error)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Err(core::fmt::Error)
    }

    fn try_fill_bytes(&mut self, _dst: &mut [u8]) -> Result<(), Self::Error> {
        Err(core::fmt::Error)
    }
}

impl rand_core::TryCryptoRng for FailingRng {}

// ---------------------------------------------------------------- RSA policy

/// The default policy, but admitting 1024-bit moduli.
const ADMIT_1024: RsaPolicy = RsaPolicy { min_bits: 1024, ..RsaPolicy::DEFAULT };
/// The default policy, but admitting any public exponent.
const ADMIT_ANY_E: RsaPolicy = RsaPolicy { require_e_65537: false, ..RsaPolicy::DEFAULT };

#[test]
fn rsa_policy_rejects_a_1024_bit_private_key() {
    assert_eq!(RsaPrivateKey::from_pkcs8_der(RSA1024_PKCS8).err(), Some(Error::KeyPolicy));
}

#[test]
fn rsa_policy_rejects_a_1024_bit_public_key() {
    assert_eq!(RsaPublicKey::from_spki_der(RSA1024_SPKI).err(), Some(Error::KeyPolicy));
}

#[test]
fn rsa_policy_rejects_a_private_key_with_exponent_3() {
    assert_eq!(RsaPrivateKey::from_pkcs8_der(RSA2048_E3_PKCS8).err(), Some(Error::KeyPolicy));
}

#[test]
fn rsa_policy_rejects_a_public_key_with_exponent_3() {
    assert_eq!(RsaPublicKey::from_spki_der(RSA2048_E3_SPKI).err(), Some(Error::KeyPolicy));
}

#[test]
#[cfg_attr(miri, ignore = "imports two RSA private keys twice each: 45 s under miri")]
fn rsa_policy_rejects_the_same_keys_in_pem() {
    for (der, policy) in [(RSA1024_PKCS8, ADMIT_1024), (RSA2048_E3_PKCS8, ADMIT_ANY_E)] {
        let sk = RsaPrivateKey::from_pkcs8_der_with_policy(der, &policy).unwrap();
        let private_pem = sk.to_pkcs8_pem().unwrap();
        assert_eq!(RsaPrivateKey::from_pkcs8_pem(&private_pem).err(), Some(Error::KeyPolicy));
        let public_pem = sk.public_key().to_spki_pem().unwrap();
        assert_eq!(RsaPublicKey::from_spki_pem(&public_pem).err(), Some(Error::KeyPolicy));
    }
}

#[test]
#[cfg_attr(miri, ignore = "imports RSA-1024 and e=3 private keys: 15 s under miri")]
fn a_relaxed_policy_admits_the_keys_the_default_refuses() {
    let small = RsaPrivateKey::from_pkcs8_der_with_policy(RSA1024_PKCS8, &ADMIT_1024).unwrap();
    assert_eq!(small.public_key().bits(), 1024);
    assert_eq!(small.public_key().to_spki_der().unwrap(), RSA1024_SPKI);
    assert_eq!(
        RsaPublicKey::from_spki_der_with_policy(RSA1024_SPKI, &ADMIT_1024).unwrap(),
        small.public_key()
    );

    let e3 = RsaPrivateKey::from_pkcs8_der_with_policy(RSA2048_E3_PKCS8, &ADMIT_ANY_E).unwrap();
    assert_eq!(e3.public_key().bits(), 2048);
    assert_eq!(e3.public_key().to_spki_der().unwrap(), RSA2048_E3_SPKI);
    assert_eq!(
        RsaPublicKey::from_spki_der_with_policy(RSA2048_E3_SPKI, &ADMIT_ANY_E).unwrap(),
        e3.public_key()
    );
}

#[test]
#[cfg_attr(miri, ignore = "imports RSA-2048, -3072 and -4096 private keys: a minute under miri")]
fn rsa_policy_admits_2048_3072_and_4096_bit_keys() {
    for (der, bits) in [(RSA2048_PKCS8, 2048), (RSA3072_PKCS8, 3072), (RSA4096_PKCS8, 4096)] {
        let pk = RsaPrivateKey::from_pkcs8_der(der).unwrap().public_key();
        assert_eq!(pk.bits(), bits);
        assert_eq!(RsaPublicKey::from_spki_der(&pk.to_spki_der().unwrap()).unwrap(), pk);
    }
}

#[test]
#[cfg_attr(miri, ignore = "imports RSA-3072 and RSA-4096 private keys: 1.5 min under miri")]
fn a_custom_policy_enforces_its_own_bounds() {
    let at_most_3072 = RsaPolicy { max_bits: 3072, ..RsaPolicy::DEFAULT };
    assert_eq!(
        RsaPrivateKey::from_pkcs8_der_with_policy(RSA4096_PKCS8, &at_most_3072).err(),
        Some(Error::KeyPolicy)
    );
    assert!(RsaPrivateKey::from_pkcs8_der_with_policy(RSA3072_PKCS8, &at_most_3072).is_ok());

    let at_least_3072 = RsaPolicy { min_bits: 3072, ..RsaPolicy::DEFAULT };
    assert_eq!(
        RsaPublicKey::from_spki_der_with_policy(RSA2048_SPKI, &at_least_3072).err(),
        Some(Error::KeyPolicy)
    );
    assert_eq!(RsaPolicy::default(), RsaPolicy::DEFAULT);
}

// ----------------------------------------------------------- RSA encodings

#[test]
#[cfg_attr(miri, ignore = "imports the RSA-2048 private key: 10-15 s under miri, once is enough")]
fn rsa_pkcs8_der_export_reproduces_the_openssl_encoding() {
    let sk = RsaPrivateKey::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    assert_eq!(&sk.to_pkcs8_der().unwrap()[..], RSA2048_PKCS8);
}

#[test]
#[cfg_attr(miri, ignore = "imports the RSA-2048 private key twice: 40 s under miri")]
fn rsa_pkcs8_pem_round_trip_keeps_the_key() {
    let sk = RsaPrivateKey::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    let pem = sk.to_pkcs8_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{}", &pem[..40]);
    assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
    let again = RsaPrivateKey::from_pkcs8_pem(&pem).unwrap();
    assert_eq!(again.public_key(), sk.public_key());
    assert_eq!(&again.to_pkcs8_der().unwrap()[..], RSA2048_PKCS8);
}

#[test]
#[cfg_attr(miri, ignore = "imports the RSA-2048 private key: 10-15 s under miri, once is enough")]
fn rsa_spki_der_export_matches_openssl_and_round_trips() {
    let pk = RsaPrivateKey::from_pkcs8_der(RSA2048_PKCS8).unwrap().public_key();
    assert_eq!(pk.to_spki_der().unwrap(), RSA2048_SPKI);
    assert_eq!(RsaPublicKey::from_spki_der(RSA2048_SPKI).unwrap(), pk);
}

#[test]
#[cfg_attr(miri, ignore = "imports the RSA-2048 private key: 10-15 s under miri, once is enough")]
fn rsa_spki_pem_export_matches_openssl_and_round_trips() {
    let pk = RsaPrivateKey::from_pkcs8_der(RSA2048_PKCS8).unwrap().public_key();
    assert_eq!(pk.to_spki_pem().unwrap(), RSA2048_SPKI_PEM);
    assert_eq!(RsaPublicKey::from_spki_pem(RSA2048_SPKI_PEM).unwrap(), pk);
}

#[test]
fn a_pkcs1_rsa_private_key_is_not_accepted_as_pkcs8() {
    assert_eq!(RsaPrivateKey::from_pkcs8_der(RSA2048_PKCS1).err(), Some(Error::InvalidKey));
}

#[test]
fn rsa_importers_refuse_p256_keys_garbage_and_truncations() {
    assert_eq!(RsaPrivateKey::from_pkcs8_der(P256_PKCS8).err(), Some(Error::InvalidKey));
    assert_eq!(RsaPublicKey::from_spki_der(P256_SPKI).err(), Some(Error::InvalidKey));
    assert_eq!(
        RsaPrivateKey::from_pkcs8_der(&RSA2048_PKCS8[..RSA2048_PKCS8.len() - 1]).err(),
        Some(Error::InvalidKey)
    );
    assert_eq!(RsaPublicKey::from_spki_der(&RSA2048_SPKI[..100]).err(), Some(Error::InvalidKey));
    assert_eq!(RsaPrivateKey::from_pkcs8_der(b"").err(), Some(Error::InvalidKey));
    assert_eq!(RsaPrivateKey::from_pkcs8_pem("not a pem").err(), Some(Error::InvalidKey));
    assert_eq!(RsaPublicKey::from_spki_pem(P256_PKCS8_PEM).err(), Some(Error::InvalidKey));
}

#[test]
fn rsa_importers_refuse_oversized_encodings_before_parsing() {
    let big = vec![0u8; coffer_core::rsa::MAX_ENCODED_KEY_LEN + 1];
    assert_eq!(RsaPrivateKey::from_pkcs8_der(&big).err(), Some(Error::InvalidLength));
    assert_eq!(RsaPublicKey::from_spki_der(&big).err(), Some(Error::InvalidLength));
    let big_pem = "A".repeat(coffer_core::rsa::MAX_ENCODED_KEY_LEN + 1);
    assert_eq!(RsaPrivateKey::from_pkcs8_pem(&big_pem).err(), Some(Error::InvalidLength));
    assert_eq!(RsaPublicKey::from_spki_pem(&big_pem).err(), Some(Error::InvalidLength));
}

// ------------------------------------------------------------ RSA operations

#[test]
#[cfg_attr(miri, ignore = "an RSA private-key operation takes about 6 min under miri")]
fn rsa_oaep_takes_190_bytes_under_a_2048_bit_key_and_refuses_191() {
    let sk = RsaPrivateKey::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    let pk = sk.public_key();
    assert_eq!(pk.oaep_max_plaintext_len(), 190);
    let ct = pk.oaep_encrypt(&mut OsRng, &[0x5A; 190]).unwrap();
    assert_eq!(&sk.oaep_decrypt(&mut OsRng, &ct).unwrap()[..], &[0x5A; 190][..]);
    assert_eq!(pk.oaep_encrypt(&mut OsRng, &[0x5A; 191]).err(), Some(Error::InvalidLength));
}

#[test]
#[cfg_attr(miri, ignore = "imports the RSA-2048 private key: 10-15 s under miri, once is enough")]
fn rsa_oaep_refuses_labels_over_the_limit() {
    let sk = RsaPrivateKey::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    let pk = sk.public_key();
    let long = vec![0u8; coffer_core::rsa::MAX_LABEL_LEN + 1];
    assert_eq!(pk.oaep_encrypt_with_label(&mut OsRng, b"k", &long).err(), Some(Error::InvalidLength));
    let ct = pk.oaep_encrypt(&mut OsRng, b"k").unwrap();
    assert_eq!(sk.oaep_decrypt_with_label(&mut OsRng, &ct, &long).err(), Some(Error::Decrypt));
}

#[test]
#[cfg_attr(miri, ignore = "an RSA private-key operation takes about 6 min under miri")]
fn rsa_ciphertexts_and_signatures_of_the_wrong_length_are_rejected() {
    let sk = RsaPrivateKey::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    let pk = sk.public_key();
    let mut ct = pk.oaep_encrypt(&mut OsRng, b"key").unwrap();
    let mut pss = sk.sign_pss(&mut OsRng, b"msg").unwrap();
    let mut pkcs1 = sk.sign_pkcs1v15(&mut OsRng, b"msg").unwrap();
    // A leading zero byte keeps the integer value but not the length.
    for v in [&mut ct, &mut pss, &mut pkcs1] {
        v.insert(0, 0);
    }
    assert_eq!(sk.oaep_decrypt(&mut OsRng, &ct).err(), Some(Error::Decrypt));
    assert_eq!(pk.verify_pss(b"msg", &pss), Err(Error::Verify));
    assert_eq!(pk.verify_pkcs1v15(b"msg", &pkcs1), Err(Error::Verify));
    assert_eq!(sk.oaep_decrypt(&mut OsRng, &ct[..255]).err(), Some(Error::Decrypt));
    assert_eq!(pk.verify_pss(b"msg", &pss[..255]), Err(Error::Verify));
    assert_eq!(pk.verify_pkcs1v15(b"msg", &[]), Err(Error::Verify));
}

#[test]
#[cfg_attr(miri, ignore = "an RSA private-key operation takes about 6 min under miri")]
fn pss_and_pkcs1v15_signatures_are_not_interchangeable() {
    let sk = RsaPrivateKey::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    let pk = sk.public_key();
    let pss = sk.sign_pss(&mut OsRng, b"msg").unwrap();
    let pkcs1 = sk.sign_pkcs1v15(&mut OsRng, b"msg").unwrap();
    assert_eq!(pk.verify_pkcs1v15(b"msg", &pss), Err(Error::Verify));
    assert_eq!(pk.verify_pss(b"msg", &pkcs1), Err(Error::Verify));
}

#[test]
#[cfg_attr(miri, ignore = "RSA-4096 decryption and signing take far longer than RSA-2048's 6 min under miri")]
fn a_4096_bit_key_encrypts_and_signs() {
    let sk = RsaPrivateKey::from_pkcs8_der(RSA4096_PKCS8).unwrap();
    let pk = sk.public_key();
    assert_eq!(pk.oaep_max_plaintext_len(), 512 - 66);
    let ct = pk.oaep_encrypt(&mut OsRng, b"data key").unwrap();
    assert_eq!(ct.len(), 512);
    assert_eq!(&sk.oaep_decrypt(&mut OsRng, &ct).unwrap()[..], b"data key");
    let sig = sk.sign_pss(&mut OsRng, b"msg").unwrap();
    assert_eq!(pk.verify_pss(b"msg", &sig), Ok(()));
}

// ------------------------------------------------------------ P-256 encodings

#[test]
#[cfg_attr(miri, ignore = "a P-256 scalar multiplication (key, signature, ECDH) takes a minute under miri")]
fn p256_key_from_the_openssl_fixture_signs_and_its_public_key_verifies() {
    let sk = P256SecretKey::from_pkcs8_der(P256_PKCS8).unwrap();
    let pk = P256PublicKey::from_spki_der(P256_SPKI).unwrap();
    assert_eq!(sk.public_key(), pk);
    assert_eq!(pk.verify(b"coffer", &sk.sign(b"coffer")), Ok(()));
    assert_eq!(pk.verify_der(b"coffer", sk.sign_der(b"coffer").as_bytes()), Ok(()));
    assert_eq!(pk.verify(b"coffee", &sk.sign(b"coffer")), Err(Error::Verify));
}

#[test]
#[cfg_attr(miri, ignore = "a P-256 scalar multiplication (key, signature, ECDH) takes a minute under miri")]
fn p256_pkcs8_der_round_trip_keeps_the_key() {
    let sk = P256SecretKey::from_pkcs8_der(P256_PKCS8).unwrap();
    let der = sk.to_pkcs8_der().unwrap();
    let again = P256SecretKey::from_pkcs8_der(&der).unwrap();
    assert_eq!(again.to_bytes(), sk.to_bytes());
    assert_eq!(again.public_key(), sk.public_key());
}

#[test]
#[cfg_attr(miri, ignore = "P-256 PKCS#8 import recomputes the public key: 1.5 min under miri")]
fn p256_pkcs8_pem_from_openssl_reads_and_round_trips() {
    let from_pem = P256SecretKey::from_pkcs8_pem(P256_PKCS8_PEM).unwrap();
    let from_der = P256SecretKey::from_pkcs8_der(P256_PKCS8).unwrap();
    assert_eq!(from_pem.to_bytes(), from_der.to_bytes());

    let pem = from_pem.to_pkcs8_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{}", &pem[..40]);
    assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
    assert_eq!(P256SecretKey::from_pkcs8_pem(&pem).unwrap().to_bytes(), from_der.to_bytes());
}

#[test]
#[cfg_attr(miri, ignore = "a P-256 scalar multiplication (key, signature, ECDH) takes a minute under miri")]
fn p256_spki_export_matches_openssl_and_round_trips_in_der_and_pem() {
    let pk = P256SecretKey::from_pkcs8_der(P256_PKCS8).unwrap().public_key();
    assert_eq!(pk.to_spki_der().unwrap(), P256_SPKI);
    let pem = pk.to_spki_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{}", &pem[..40]);
    assert_eq!(P256PublicKey::from_spki_pem(&pem).unwrap(), pk);
}

#[test]
fn a_sec1_ec_private_key_is_not_accepted_as_pkcs8() {
    assert_eq!(P256SecretKey::from_pkcs8_der(P256_SEC1).err(), Some(Error::InvalidKey));
}

#[test]
fn p256_importers_refuse_rsa_keys_garbage_and_oversized_input() {
    assert_eq!(P256SecretKey::from_pkcs8_der(RSA2048_PKCS8).err(), Some(Error::InvalidKey));
    assert_eq!(P256PublicKey::from_spki_der(RSA2048_SPKI).err(), Some(Error::InvalidKey));
    assert_eq!(P256PublicKey::from_spki_pem(RSA2048_SPKI_PEM).err(), Some(Error::InvalidKey));
    assert_eq!(
        P256SecretKey::from_pkcs8_der(&P256_PKCS8[..P256_PKCS8.len() - 1]).err(),
        Some(Error::InvalidKey)
    );
    assert_eq!(P256SecretKey::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\n").err(), Some(Error::InvalidKey));

    let big = vec![0u8; coffer_core::p256::MAX_ENCODED_KEY_LEN + 1];
    assert_eq!(P256SecretKey::from_pkcs8_der(&big).err(), Some(Error::InvalidLength));
    assert_eq!(P256PublicKey::from_spki_der(&big).err(), Some(Error::InvalidLength));
    let big_pem = "A".repeat(coffer_core::p256::MAX_ENCODED_KEY_LEN + 1);
    assert_eq!(P256SecretKey::from_pkcs8_pem(&big_pem).err(), Some(Error::InvalidLength));
    assert_eq!(P256PublicKey::from_spki_pem(&big_pem).err(), Some(Error::InvalidLength));
}

// ---------------------------------------------------------- P-256 raw forms

/// The order n of the P-256 group, big-endian.
const P256_ORDER: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

#[test]
fn p256_scalars_zero_and_the_group_order_are_invalid_keys() {
    assert_eq!(P256SecretKey::from_bytes(&[0u8; 32]).err(), Some(Error::InvalidKey));
    assert_eq!(P256SecretKey::from_bytes(&h(P256_ORDER)).err(), Some(Error::InvalidKey));
    assert_eq!(P256SecretKey::from_bytes(&[0xFF; 32]).err(), Some(Error::InvalidKey));
    let mut one = [0u8; 32];
    one[31] = 1;
    assert!(P256SecretKey::from_bytes(&one).is_ok());
}

#[test]
fn a_point_off_the_curve_or_with_a_bad_prefix_is_an_invalid_key() {
    let good = P256PublicKey::from_spki_der(P256_SPKI).unwrap().to_uncompressed();
    let mut off_curve = good;
    off_curve[64] ^= 1;
    assert_eq!(P256PublicKey::from_sec1_bytes(&off_curve).err(), Some(Error::InvalidKey));
    let mut bad_prefix = good;
    bad_prefix[0] = 0x05;
    assert_eq!(P256PublicKey::from_sec1_bytes(&bad_prefix).err(), Some(Error::InvalidKey));
    // The SEC1 encoding of the identity, a single zero byte.
    assert_eq!(P256PublicKey::from_sec1_bytes(&[0x00]).err(), Some(Error::InvalidKey));
}

#[test]
#[cfg_attr(miri, ignore = "a P-256 scalar multiplication (key, signature, ECDH) takes a minute under miri")]
fn a_high_s_signature_verifies_as_documented() {
    // p256.rs: "Verification accepts both low-S and high-S signatures".
    let sk = P256SecretKey::from_pkcs8_der(P256_PKCS8).unwrap();
    let sig = *sk.sign(b"msg").as_bytes();
    let (r, s) = sig.split_at(32);
    let n = h(P256_ORDER);
    // n - s, big-endian, with borrow.
    let mut flipped_s = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(n[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        flipped_s[i] = u8::try_from(d + 256 * borrow).unwrap();
    }
    assert_eq!(borrow, 0);
    let mut other = [0u8; 64];
    other[..32].copy_from_slice(r);
    other[32..].copy_from_slice(&flipped_s);
    assert_ne!(other, sig);
    assert_eq!(sk.public_key().verify(b"msg", &P256Signature::from_bytes(other)), Ok(()));
}

#[test]
#[cfg_attr(miri, ignore = "a P-256 scalar multiplication (key, signature, ECDH) takes a minute under miri")]
fn malformed_p256_signatures_are_rejected_as_verify_failures() {
    let sk = P256SecretKey::from_pkcs8_der(P256_PKCS8).unwrap();
    let pk = sk.public_key();
    let sig = sk.sign(b"msg");
    assert_eq!(pk.verify_fixed(b"msg", &sig.as_bytes()[..63]), Err(Error::Verify));
    assert_eq!(pk.verify(b"msg", &P256Signature::from_bytes([0; 64])), Err(Error::Verify));
    let mut r_is_n = [0u8; 64];
    r_is_n[..32].copy_from_slice(&h(P256_ORDER));
    r_is_n[63] = 1;
    assert_eq!(pk.verify(b"msg", &P256Signature::from_bytes(r_is_n)), Err(Error::Verify));

    let der = sk.sign_der(b"msg");
    let mut long = der.as_bytes().to_vec();
    long.resize(coffer_core::p256::MAX_DER_SIGNATURE_LEN + 1, 0);
    assert_eq!(pk.verify_der(b"msg", &long), Err(Error::Verify));
    // Trailing bytes after the DER SEQUENCE are not strict DER.
    let mut trailing = der.as_bytes().to_vec();
    trailing.push(0);
    assert_eq!(pk.verify_der(b"msg", &trailing), Err(Error::Verify));
    assert_eq!(pk.verify_der(b"msg", sig.as_bytes()), Err(Error::Verify));
}

#[test]
#[cfg_attr(miri, ignore = "a P-256 scalar multiplication (key, signature, ECDH) takes a minute under miri")]
fn ecdh_with_the_fixture_key_agrees_both_ways() {
    let a = P256SecretKey::from_pkcs8_der(P256_PKCS8).unwrap();
    let b = P256SecretKey::generate(&mut OsRng).unwrap();
    assert_eq!(a.diffie_hellman(&b.public_key()).as_bytes(), b.diffie_hellman(&a.public_key()).as_bytes());
}

// ------------------------------------------------------ raw key lengths

#[test]
fn raw_keys_of_the_wrong_length_are_invalid_keys() {
    for len in [0, 16, 31, 33, 64] {
        assert_eq!(
            Aes256GcmSivKey::from_slice(&vec![1u8; len]).err(),
            Some(Error::InvalidKey),
            "AES key of {len}"
        );
    }
    for len in [0, 8, 15, 17, 23, 25, 31, 33, 48, 64] {
        assert_eq!(Kek::from_slice(&vec![1u8; len]).err(), Some(Error::InvalidKey), "KEK of {len}");
    }
    for len in [0, 31, 33, 64] {
        assert_eq!(
            P256SecretKey::from_bytes(&vec![1u8; len]).err(),
            Some(Error::InvalidKey),
            "P-256 scalar of {len}"
        );
    }
    for len in [0, 32, 64, 66] {
        assert_eq!(
            P256PublicKey::from_sec1_bytes(&vec![4u8; len]).err(),
            Some(Error::InvalidKey),
            "SEC1 point of {len}"
        );
    }
}

#[test]
fn keks_of_16_24_and_32_bytes_are_accepted_and_named_by_size() {
    for (len, name) in [(16, "AES-128"), (24, "AES-192"), (32, "AES-256")] {
        let kek = Kek::from_slice(&vec![7u8; len]).unwrap();
        assert_eq!(kek.as_bytes(), &vec![7u8; len][..]);
        assert_eq!(format!("{kek:?}"), format!("Kek({name}, <redacted>)"));
    }
}

#[test]
fn a_nonce_of_the_wrong_length_is_an_invalid_length() {
    for len in [0, 11, 13, 16] {
        assert_eq!(Nonce::from_slice(&vec![0u8; len]).err(), Some(Error::InvalidLength), "nonce of {len}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "a P-256 scalar multiplication (key, signature, ECDH) takes a minute under miri")]
fn debug_output_of_secret_keys_prints_no_key_bytes() {
    let rsa = RsaPrivateKey::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    let p256 = P256SecretKey::from_pkcs8_der(P256_PKCS8).unwrap();
    let shared = p256.diffie_hellman(&p256.public_key());
    assert_eq!(format!("{:?}", Aes256GcmSivKey::from_bytes([0xAB; 32])), "Aes256GcmSivKey(<redacted>)");
    assert_eq!(format!("{:?}", HmacSha256Key::new(&[0xAB; 32]).unwrap()), "HmacSha256Key(<redacted>)");
    assert_eq!(format!("{:?}", Prk::extract(None, &[0xAB; 32])), "Prk(<redacted>)");
    assert_eq!(format!("{p256:?}"), "P256SecretKey(<redacted>)");
    assert_eq!(format!("{shared:?}"), "SharedSecret(<redacted>)");
    assert_eq!(format!("{rsa:?}"), "RsaPrivateKey(2048 bits, <redacted>)");
    assert_eq!(format!("{:?}", rsa.public_key()), "RsaPublicKey(2048 bits)");
}

// ------------------------------------------------------ buffers and limits

#[test]
fn aead_seal_reports_the_buffer_size_it_needs() {
    let key = Aes256GcmSivKey::from_bytes([1; 32]);
    let nonce = Nonce::from_bytes([2; 12]);
    let mut buf = [0u8; 10 + TAG_LEN - 1];
    let err = key.seal_in_place(&nonce, b"", &mut buf, 10).unwrap_err();
    assert_eq!(err, Error::BufferTooSmall { needed: 10 + TAG_LEN });
    assert_eq!(err.to_string(), "output buffer too small: pass a buffer of at least 26 bytes");
    assert_eq!(buf, [0u8; 10 + TAG_LEN - 1], "a refused seal wrote to the buffer");

    // A message longer than the buffer is a caller error, not a size hint.
    assert_eq!(key.seal_in_place(&nonce, b"", &mut buf, 30), Err(Error::InvalidLength));
}

#[test]
fn aead_open_of_input_shorter_than_a_tag_is_a_decrypt_failure() {
    let key = Aes256GcmSivKey::from_bytes([1; 32]);
    let nonce = Nonce::from_bytes([2; 12]);
    for len in [0, 1, TAG_LEN - 1] {
        let mut buf = vec![0u8; len];
        assert_eq!(key.open_in_place(&nonce, b"", &mut buf).err(), Some(Error::Decrypt), "{len} bytes");
        assert_eq!(key.open(&nonce, b"", &buf).err(), Some(Error::Decrypt), "{len} bytes");
    }
}

#[test]
fn key_wrap_reports_the_buffer_sizes_it_needs() {
    let kek = Kek::from_slice(&[3; 32]).unwrap();
    let data = [4u8; 32];

    let mut short = [0u8; 39];
    assert_eq!(kek.wrap(&data, &mut short), Err(Error::BufferTooSmall { needed: 40 }));
    assert_eq!(wrapped_len_kw(32), 40);
    let wrapped = kek.wrap_to_vec(&data).unwrap();
    let mut short = [0u8; 31];
    assert_eq!(kek.unwrap(&wrapped, &mut short), Err(Error::BufferTooSmall { needed: 32 }));

    let data = [4u8; 20];
    let mut short = [0u8; 31];
    assert_eq!(wrapped_len_kwp(20), 32);
    assert_eq!(kek.wrap_padded(&data, &mut short), Err(Error::BufferTooSmall { needed: 32 }));
    let wrapped = kek.wrap_padded_to_vec(&data).unwrap();
    assert_eq!(wrapped.len(), 32);
    // Unwrapping needs room for the padded length, 24, not the key's 20.
    let mut short = [0u8; 20];
    assert_eq!(kek.unwrap_padded(&wrapped, &mut short), Err(Error::BufferTooSmall { needed: 24 }));
    let mut room = [0u8; 24];
    assert_eq!(kek.unwrap_padded(&wrapped, &mut room), Ok(20));
    assert_eq!(&room[..20], &data);
}

#[test]
#[cfg_attr(miri, ignore = "wraps 64 KiB with AES-KW and AES-KWP (100,000 AES blocks): hours under miri")]
fn key_wrap_refuses_key_data_of_lengths_it_cannot_wrap() {
    let kek = Kek::from_slice(&[3; 16]).unwrap();
    for len in [0, 8, 17, 20, MAX_KEY_DATA_LEN + 8] {
        assert_eq!(kek.wrap_to_vec(&vec![0u8; len]).err(), Some(Error::InvalidLength), "KW of {len}");
    }
    for len in [0, MAX_KEY_DATA_LEN + 1] {
        assert_eq!(kek.wrap_padded_to_vec(&vec![0u8; len]).err(), Some(Error::InvalidLength), "KWP of {len}");
    }
    let max = vec![9u8; MAX_KEY_DATA_LEN];
    assert_eq!(&kek.unwrap_to_vec(&kek.wrap_to_vec(&max).unwrap()).unwrap()[..], &max[..]);
    assert_eq!(&kek.unwrap_padded_to_vec(&kek.wrap_padded_to_vec(&max).unwrap()).unwrap()[..], &max[..]);
}

#[test]
fn key_unwrap_of_an_impossible_length_is_a_decrypt_failure() {
    let kek = Kek::from_slice(&[3; 16]).unwrap();
    for len in [0, 8, 16, 25, 31] {
        assert_eq!(kek.unwrap_to_vec(&vec![0u8; len]).err(), Some(Error::Decrypt), "KW unwrap of {len}");
    }
    for len in [0, 8, 17, 23] {
        assert_eq!(
            kek.unwrap_padded_to_vec(&vec![0u8; len]).err(),
            Some(Error::Decrypt),
            "KWP unwrap of {len}"
        );
    }
}

/// keywrap.rs promises "On failure all of `out` is zeroed" for `unwrap` and
/// `unwrap_padded`, including when the input length is impossible (a
/// regression test: that early return once left the caller's bytes in place).
#[test]
fn a_failed_unwrap_of_an_impossible_length_zeroes_the_output() {
    let kek = Kek::from_slice(&[3; 16]).unwrap();
    let mut out = [0xA5u8; 64];
    assert_eq!(kek.unwrap(&[0u8; 16], &mut out), Err(Error::Decrypt));
    assert_eq!(out[..8], [0u8; 8], "KW left the caller's bytes in `out`");
    let mut out = [0xA5u8; 64];
    assert_eq!(kek.unwrap_padded(&[0u8; 8], &mut out), Err(Error::Decrypt));
    assert_eq!(out[..8], [0u8; 8], "KWP left the caller's bytes in `out`");
}

#[test]
#[cfg_attr(miri, ignore = "expands HKDF to its 8,160-byte limit (255 HMACs): 30 s under miri")]
fn hkdf_refuses_empty_and_overlong_output() {
    let prk = Prk::extract(None, b"ikm");
    assert_eq!(hkdf_sha256(None, b"ikm", b"", &mut []), Err(Error::InvalidLength));
    assert_eq!(prk.expand(b"", &mut []), Err(Error::InvalidLength));
    let mut too_long = vec![0u8; MAX_OUTPUT_LEN + 1];
    assert_eq!(hkdf_sha256(None, b"ikm", b"", &mut too_long), Err(Error::InvalidLength));
    assert_eq!(prk.expand(b"", &mut too_long), Err(Error::InvalidLength));
    let mut max = vec![0u8; MAX_OUTPUT_LEN];
    assert_eq!(prk.expand(b"", &mut max), Ok(()));
    assert_eq!(MAX_OUTPUT_LEN, 8160);
}

#[test]
fn rng_failures_surface_as_rng_errors() {
    assert_eq!(Aes256GcmSivKey::generate(&mut FailingRng).err(), Some(Error::Rng));
    assert_eq!(Nonce::generate(&mut FailingRng).err(), Some(Error::Rng));
    assert_eq!(Kek::generate(&mut FailingRng).err(), Some(Error::Rng));
    assert_eq!(HmacSha256Key::generate(&mut FailingRng).err(), Some(Error::Rng));
    assert_eq!(P256SecretKey::generate(&mut FailingRng).err(), Some(Error::Rng));
    // The PBES2 salt and IV come from the caller's RNG under either provider.
    let pair = coffer_core::cert::KeyPair::from_pkcs8_der(P256_PKCS8).unwrap();
    assert_eq!(pair.to_encrypted_pkcs8_der(&mut FailingRng, b"pw").err(), Some(Error::Rng));

    let sk = RsaPrivateKey::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    if coffer_core::provider::ACTIVE == coffer_core::provider::Provider::AwsLc {
        // Documented: aws-lc draws RSA's randomness from its own generator,
        // so the caller's failing one is never asked.
        assert!(sk.public_key().oaep_encrypt(&mut FailingRng, b"k").is_ok());
        assert!(sk.sign_pss(&mut FailingRng, b"m").is_ok());
        assert!(sk.sign_pkcs1v15(&mut FailingRng, b"m").is_ok());
    } else {
        assert_eq!(sk.public_key().oaep_encrypt(&mut FailingRng, b"k").err(), Some(Error::Rng));
        assert_eq!(sk.sign_pss(&mut FailingRng, b"m").err(), Some(Error::Rng));
        assert_eq!(sk.sign_pkcs1v15(&mut FailingRng, b"m").err(), Some(Error::Rng));
    }
    let ct = sk.public_key().oaep_encrypt(&mut OsRng, b"k").unwrap();
    if coffer_core::provider::ACTIVE == coffer_core::provider::Provider::AwsLc {
        // aws-lc blinds with its own generator.
        assert_eq!(&sk.oaep_decrypt(&mut FailingRng, &ct).unwrap()[..], b"k");
    } else {
        // Decryption failures stay opaque, whatever the cause.
        assert_eq!(sk.oaep_decrypt(&mut FailingRng, &ct).err(), Some(Error::Decrypt));
    }
}

// ------------------------------------------------------- known answers

#[test]
fn hkdf_sha256_matches_rfc_5869_test_case_1() {
    let ikm = [0x0b; 22];
    let salt = h("000102030405060708090a0b0c");
    let info = h("f0f1f2f3f4f5f6f7f8f9");
    let mut okm = [0u8; 42];
    hkdf_sha256(Some(&salt), &ikm, &info, &mut okm).unwrap();
    assert_eq!(
        okm[..],
        h("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")[..]
    );
}

#[test]
fn hkdf_sha256_matches_rfc_5869_test_case_3_with_empty_or_absent_salt() {
    let expected = h("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
    let mut okm = [0u8; 42];
    hkdf_sha256(Some(&[]), &[0x0b; 22], b"", &mut okm).unwrap();
    assert_eq!(okm[..], expected[..]);
    hkdf_sha256(None, &[0x0b; 22], b"", &mut okm).unwrap();
    assert_eq!(okm[..], expected[..]);
}

#[test]
fn sha2_digests_of_abc_match_fips_180_2() {
    assert_eq!(sha256(b"abc")[..], h("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")[..]);
    assert_eq!(
        sha384(b"abc")[..],
        h("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7")
            [..]
    );
    assert_eq!(
        sha512(b"abc")[..],
        h(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        )[..]
    );
    assert_eq!(sha256(b"")[..], h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")[..]);
}

#[test]
fn hmac_sha256_matches_rfc_4231_test_cases_1_2_and_6() {
    let cases: [(&[u8], &[u8], &str); 3] = [
        (&[0x0b; 20], b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        // Test case 6: a 131-byte key, longer than a block, hashed first.
        (
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
    ];
    for (key, msg, tag) in cases {
        let key = HmacSha256Key::new(key).unwrap();
        assert_eq!(key.sign(msg)[..], h(tag)[..]);
        assert_eq!(key.verify(msg, &h(tag)), Ok(()));
    }
}
