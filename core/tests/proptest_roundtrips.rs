//! Property tests: every primitive of coffer-core gives back what it was given
//! (STYLE.md rule 20, "round trips").
//!
//! Keys come from a [`SeededRng`] seeded by proptest, so a failing case
//! replays from its seed. RSA uses the 2048-bit openssl fixture key and few
//! cases, since every RSA private operation costs milliseconds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    missing_docs
)]

mod seeded_rng;

use coffer_core::aead::{Aes256GcmSivKey, Nonce, TAG_LEN};
use coffer_core::hash::{Sha256, Sha384, Sha512, sha256, sha384, sha512};
use coffer_core::kdf::{MAX_OUTPUT_LEN, Prk, hkdf_sha256};
use coffer_core::keywrap::{KW_OVERHEAD, Kek, wrapped_len_kw, wrapped_len_kwp};
use coffer_core::mac::{HmacSha256Key, MIN_TRUNCATED_TAG_LEN, TAG_LEN as HMAC_TAG_LEN};
use coffer_core::p256::{MAX_DER_SIGNATURE_LEN, P256PublicKey, P256SecretKey};
use proptest::collection::vec;
use proptest::prelude::*;
use seeded_rng::{SeedableRng, SeededRng};

/// `cases` cases; under miri (`.ci/run`), where one case's crypto takes
/// seconds to interpret, `under_miri` cases and no regression file (miri's
/// isolation has no file system).
fn cases(cases: u32, under_miri: u32) -> ProptestConfig {
    if cfg!(miri) {
        ProptestConfig { cases: under_miri, failure_persistence: None, ..ProptestConfig::default() }
    } else {
        ProptestConfig { cases, ..ProptestConfig::default() }
    }
}

/// A KEK of each size AES-KW allows: 16, 24 or 32 bytes.
fn kek_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![vec(any::<u8>(), 16), vec(any::<u8>(), 24), vec(any::<u8>(), 32)]
}

/// AES-KW key data: 16..=512 bytes, a multiple of 8.
fn kw_key_data() -> impl Strategy<Value = Vec<u8>> {
    (2usize..=64).prop_flat_map(|blocks| vec(any::<u8>(), blocks * 8))
}

fn p256_key(seed: [u8; 32]) -> P256SecretKey {
    P256SecretKey::generate(&mut SeededRng::from_seed(seed)).unwrap()
}

mod aead {
    use super::*;

    proptest! {
        #![proptest_config(cases(ProptestConfig::default().cases, 1))]

        #[test]
        #[cfg_attr(miri, ignore = "seals and opens up to 2 KiB twice per case: 15 s under miri")]
        fn seal_in_place_then_open_in_place_returns_the_plaintext(
            key in any::<[u8; 32]>(),
            nonce in any::<[u8; 12]>(),
            aad in vec(any::<u8>(), 0..256),
            plaintext in vec(any::<u8>(), 0..2048),
            slack in 0usize..32,
        ) {
            let key = Aes256GcmSivKey::from_bytes(key);
            let nonce = Nonce::from_bytes(nonce);
            // The buffer may be longer than needed; only the sealed prefix is used.
            let mut buf = plaintext.clone();
            buf.resize(plaintext.len() + TAG_LEN + slack, 0xEE);
            let sealed_len = key.seal_in_place(&nonce, &aad, &mut buf, plaintext.len()).unwrap();
            prop_assert_eq!(sealed_len, plaintext.len() + TAG_LEN);
            prop_assert!(buf[sealed_len..].iter().all(|&b| b == 0xEE), "bytes past the tag were touched");

            let opened = key.open_in_place(&nonce, &aad, &mut buf[..sealed_len]).unwrap();
            prop_assert_eq!(&opened[..], &plaintext[..]);
        }

        #[test]
        #[cfg_attr(miri, ignore = "seals and opens up to 2 KiB twice per case: 15 s under miri")]
        fn vec_seal_matches_in_place_seal_and_vec_open_returns_the_plaintext(
            key in any::<[u8; 32]>(),
            nonce in any::<[u8; 12]>(),
            aad in vec(any::<u8>(), 0..256),
            plaintext in vec(any::<u8>(), 0..2048),
        ) {
            let key = Aes256GcmSivKey::from_bytes(key);
            let nonce = Nonce::from_bytes(nonce);
            let sealed = key.seal(&nonce, &aad, &plaintext).unwrap();
            prop_assert_eq!(sealed.len(), plaintext.len() + TAG_LEN);

            let mut buf = plaintext.clone();
            buf.resize(plaintext.len() + TAG_LEN, 0);
            key.seal_in_place(&nonce, &aad, &mut buf, plaintext.len()).unwrap();
            prop_assert_eq!(&sealed, &buf);

            let opened = key.open(&nonce, &aad, &sealed).unwrap();
            prop_assert_eq!(&opened[..], &plaintext[..]);
        }

        #[test]
        fn detached_seal_then_detached_open_returns_the_plaintext_and_matches_the_attached_form(
            key in any::<[u8; 32]>(),
            nonce in any::<[u8; 12]>(),
            aad in vec(any::<u8>(), 0..256),
            plaintext in vec(any::<u8>(), 0..2048),
        ) {
            let key = Aes256GcmSivKey::from_bytes(key);
            let nonce = Nonce::from_bytes(nonce);
            let mut buf = plaintext.clone();
            let tag = key.seal_in_place_detached(&nonce, &aad, &mut buf).unwrap();

            let attached = key.seal(&nonce, &aad, &plaintext).unwrap();
            prop_assert_eq!(&attached[..plaintext.len()], &buf[..]);
            prop_assert_eq!(&attached[plaintext.len()..], &tag[..]);

            key.open_in_place_detached(&nonce, &aad, &mut buf, &tag).unwrap();
            prop_assert_eq!(&buf, &plaintext);
        }

        #[test]
        fn key_and_nonce_survive_a_trip_through_their_byte_forms(
            key in any::<[u8; 32]>(),
            nonce in any::<[u8; 12]>(),
        ) {
            let k = Aes256GcmSivKey::from_slice(&key).unwrap();
            prop_assert_eq!(k.as_bytes(), &key);
            let n = Nonce::from_slice(&nonce).unwrap();
            prop_assert_eq!(n, Nonce::from_bytes(nonce));
            prop_assert_eq!(n.as_bytes(), &nonce);
        }
    }
}

mod keywrap {
    use super::*;

    proptest! {
        #[test]
        #[cfg_attr(miri, ignore = "wraps up to 512 bytes (thousands of AES blocks): minutes under miri")]
        fn kw_wrap_then_unwrap_returns_the_key_data(kek_raw in kek_bytes(), data in kw_key_data()) {
            let kek = Kek::from_slice(&kek_raw).unwrap();
            prop_assert_eq!(kek.as_bytes(), &kek_raw[..]);
            let mut wrapped = vec![0u8; wrapped_len_kw(data.len())];
            let n = kek.wrap(&data, &mut wrapped).unwrap();
            prop_assert_eq!(n, data.len() + KW_OVERHEAD);
            prop_assert_eq!(n, wrapped.len());

            let mut out = vec![0u8; n - KW_OVERHEAD];
            let m = kek.unwrap(&wrapped, &mut out).unwrap();
            prop_assert_eq!(m, data.len());
            prop_assert_eq!(&out, &data);
        }

        #[test]
        #[cfg_attr(miri, ignore = "wraps up to 512 bytes (thousands of AES blocks): minutes under miri")]
        fn kw_vec_variants_match_the_slice_variants(kek in kek_bytes(), data in kw_key_data()) {
            let kek = Kek::from_slice(&kek).unwrap();
            let wrapped = kek.wrap_to_vec(&data).unwrap();
            let mut slice_wrapped = vec![0u8; wrapped_len_kw(data.len())];
            kek.wrap(&data, &mut slice_wrapped).unwrap();
            prop_assert_eq!(&wrapped, &slice_wrapped);
            prop_assert_eq!(&kek.unwrap_to_vec(&wrapped).unwrap()[..], &data[..]);
        }

        #[test]
        #[cfg_attr(miri, ignore = "wraps up to 512 bytes (thousands of AES blocks): minutes under miri")]
        fn kwp_wrap_then_unwrap_returns_key_data_of_any_length(
            kek in kek_bytes(),
            data in vec(any::<u8>(), 1..=512),
        ) {
            let kek = Kek::from_slice(&kek).unwrap();
            let mut wrapped = vec![0u8; wrapped_len_kwp(data.len())];
            let n = kek.wrap_padded(&data, &mut wrapped).unwrap();
            prop_assert_eq!(n, wrapped_len_kwp(data.len()));
            prop_assert_eq!(n % 8, 0);
            prop_assert!(n >= data.len() + KW_OVERHEAD && n < data.len() + KW_OVERHEAD + 8);

            // `out` needs room for the padded length, the function returns the real one.
            let mut out = vec![0u8; n - KW_OVERHEAD];
            let m = kek.unwrap_padded(&wrapped, &mut out).unwrap();
            prop_assert_eq!(m, data.len());
            prop_assert_eq!(&out[..m], &data[..]);

            let vec_wrapped = kek.wrap_padded_to_vec(&data).unwrap();
            prop_assert_eq!(&vec_wrapped, &wrapped);
            prop_assert_eq!(&kek.unwrap_padded_to_vec(&wrapped).unwrap()[..], &data[..]);
        }

        #[test]
        #[cfg_attr(miri, ignore = "wraps up to 512 bytes (thousands of AES blocks): minutes under miri")]
        fn wrapping_is_deterministic(kek in kek_bytes(), data in kw_key_data()) {
            let kek = Kek::from_slice(&kek).unwrap();
            prop_assert_eq!(kek.wrap_to_vec(&data).unwrap(), kek.wrap_to_vec(&data).unwrap());
            prop_assert_eq!(kek.wrap_padded_to_vec(&data).unwrap(), kek.wrap_padded_to_vec(&data).unwrap());
        }
    }
}

mod hash {
    use super::*;

    proptest! {
        #![proptest_config(cases(ProptestConfig::default().cases, 2))]

        #[test]
        fn incremental_digests_equal_one_shot_digests_for_any_split(
            data in vec(any::<u8>(), 0..1024),
            split in any::<prop::sample::Index>(),
        ) {
            let at = split.index(data.len() + 1);
            let (a, b) = data.split_at(at);

            let mut h = Sha256::new();
            h.update(a);
            h.update(b);
            prop_assert_eq!(h.finalize(), sha256(&data));

            let mut h = Sha384::new();
            h.update(a);
            h.update(b);
            prop_assert_eq!(h.finalize(), sha384(&data));

            let mut h = Sha512::new();
            h.update(a);
            h.update(b);
            prop_assert_eq!(h.finalize(), sha512(&data));
        }
    }
}

mod kdf {
    use super::*;

    /// `(l1, l2)` with `1 <= l1 < l2 <= MAX_OUTPUT_LEN`.
    fn two_lengths() -> impl Strategy<Value = (usize, usize)> {
        (1..MAX_OUTPUT_LEN).prop_flat_map(|l1| (Just(l1), (l1 + 1)..=MAX_OUTPUT_LEN))
    }

    proptest! {
        #![proptest_config(cases(ProptestConfig::default().cases, 1))]

        #[test]
        #[cfg_attr(miri, ignore = "HKDF outputs of up to 8,160 bytes: a minute per case under miri")]
        fn a_shorter_expansion_is_a_prefix_of_a_longer_one(
            salt in proptest::option::of(vec(any::<u8>(), 0..128)),
            ikm in vec(any::<u8>(), 0..128),
            info in vec(any::<u8>(), 0..128),
            (l1, l2) in two_lengths(),
        ) {
            let mut short = vec![0u8; l1];
            let mut long = vec![0u8; l2];
            hkdf_sha256(salt.as_deref(), &ikm, &info, &mut short).unwrap();
            hkdf_sha256(salt.as_deref(), &ikm, &info, &mut long).unwrap();
            prop_assert_eq!(&long[..l1], &short[..]);
        }

        #[test]
        #[cfg_attr(miri, ignore = "three HKDF outputs of up to 1 KiB: 15 s per case under miri")]
        fn one_shot_hkdf_equals_extract_then_expand_and_is_deterministic(
            salt in proptest::option::of(vec(any::<u8>(), 0..128)),
            ikm in vec(any::<u8>(), 0..128),
            info in vec(any::<u8>(), 0..128),
            len in 1usize..=1024,
        ) {
            let mut one_shot = vec![0u8; len];
            hkdf_sha256(salt.as_deref(), &ikm, &info, &mut one_shot).unwrap();

            let prk = Prk::extract(salt.as_deref(), &ikm);
            let mut first = vec![0u8; len];
            let mut second = vec![0u8; len];
            prk.expand(&info, &mut first).unwrap();
            prk.expand(&info, &mut second).unwrap();
            prop_assert_eq!(&first, &one_shot);
            prop_assert_eq!(&second, &one_shot);
        }

        #[test]
        fn a_missing_salt_equals_32_zero_bytes_of_salt(
            ikm in vec(any::<u8>(), 0..128),
            info in vec(any::<u8>(), 0..128),
        ) {
            let mut none = [0u8; 64];
            let mut zeros = [0u8; 64];
            hkdf_sha256(None, &ikm, &info, &mut none).unwrap();
            hkdf_sha256(Some(&[0u8; 32]), &ikm, &info, &mut zeros).unwrap();
            prop_assert_eq!(none, zeros);
        }
    }
}

mod mac {
    use super::*;
    use hmac::{KeyInit, Mac};

    proptest! {
        #![proptest_config(cases(ProptestConfig::default().cases, 2))]

        #[test]
        fn a_tag_verifies_in_full_in_parts_and_truncated(
            key in vec(any::<u8>(), 0..200),
            msg in vec(any::<u8>(), 0..1024),
            split in any::<prop::sample::Index>(),
            truncated_len in MIN_TRUNCATED_TAG_LEN..=HMAC_TAG_LEN,
        ) {
            let key = HmacSha256Key::new(&key).unwrap();
            let tag = key.sign(&msg);
            prop_assert_eq!(key.verify(&msg, &tag), Ok(()));

            let (a, b) = msg.split_at(split.index(msg.len() + 1));
            prop_assert_eq!(key.sign_parts(&[a, b]), tag);
            prop_assert_eq!(key.verify_parts(&[a, b], &tag), Ok(()));

            prop_assert_eq!(key.verify_truncated(&msg, &tag[..truncated_len]), Ok(()));
        }

        #[test]
        fn hmac_matches_the_reference_hmac_for_any_key_length(
            key in vec(any::<u8>(), 0..200),
            msg in vec(any::<u8>(), 0..512),
        ) {
            // coffer stores keys as one zero-padded block and hashes keys
            // longer than a block itself; the hmac crate is the reference.
            let mut reference = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
            reference.update(&msg);
            let expected: [u8; 32] = reference.finalize().into_bytes().into();
            prop_assert_eq!(HmacSha256Key::new(&key).unwrap().sign(&msg), expected);
        }

        #[test]
        fn a_key_longer_than_a_block_equals_its_sha256_digest(
            key in vec(any::<u8>(), 65..300),
            msg in vec(any::<u8>(), 0..256),
        ) {
            let long = HmacSha256Key::new(&key).unwrap();
            let hashed = HmacSha256Key::new(&sha256(&key)).unwrap();
            prop_assert_eq!(long.sign(&msg), hashed.sign(&msg));
        }
    }
}

mod p256 {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        #[cfg_attr(miri, ignore = "P-256 keygen, signing and verifying: minutes per case under miri")]
        fn a_signature_from_a_seeded_key_verifies_in_fixed_and_der_form(
            seed in any::<[u8; 32]>(),
            msg in vec(any::<u8>(), 0..512),
        ) {
            let sk = p256_key(seed);
            let pk = sk.public_key();

            let sig = sk.sign(&msg);
            prop_assert_eq!(pk.verify(&msg, &sig), Ok(()));
            prop_assert_eq!(pk.verify_fixed(&msg, sig.as_bytes()), Ok(()));
            // RFC 6979 under RustCrypto: the same key and message give the
            // same signature; aws-lc draws a random nonce each time.
            let rustcrypto = coffer_core::provider::ACTIVE == coffer_core::provider::Provider::RustCrypto;
            prop_assert_eq!(sk.sign(&msg) == sig, rustcrypto);

            let der = sk.sign_der(&msg);
            prop_assert!(der.as_bytes().len() <= MAX_DER_SIGNATURE_LEN);
            prop_assert_eq!(pk.verify_der(&msg, der.as_bytes()), Ok(()));
        }

        #[test]
        #[cfg_attr(miri, ignore = "P-256 keygen, signing and verifying: minutes per case under miri")]
        fn a_secret_key_and_a_public_point_survive_a_trip_through_their_byte_forms(seed in any::<[u8; 32]>()) {
            let sk = p256_key(seed);
            let pk = sk.public_key();

            let again = P256SecretKey::from_bytes(&sk.to_bytes()[..]).unwrap();
            prop_assert_eq!(again.public_key(), pk);

            let uncompressed = pk.to_uncompressed();
            prop_assert_eq!(uncompressed[0], 0x04);
            prop_assert_eq!(P256PublicKey::from_sec1_bytes(&uncompressed).unwrap(), pk);

            // Compressed form: 02/03 by the parity of y, then x.
            let mut compressed = [0u8; 33];
            compressed[0] = 0x02 | (uncompressed[64] & 1);
            compressed[1..].copy_from_slice(&uncompressed[1..33]);
            prop_assert_eq!(P256PublicKey::from_sec1_bytes(&compressed).unwrap(), pk);
        }

        #[test]
        #[cfg_attr(miri, ignore = "P-256 keygen, signing and verifying: minutes per case under miri")]
        fn ecdh_gives_both_parties_the_same_secret(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            let a = p256_key(a);
            let b = p256_key(b);
            let ab = a.diffie_hellman(&b.public_key());
            let ba = b.diffie_hellman(&a.public_key());
            prop_assert_eq!(ab.as_bytes(), ba.as_bytes());
        }
    }
}

mod rsa {
    use super::*;
    use coffer_core::rng::OsRng;
    use coffer_core::rsa::RsaPrivateKey;
    use std::sync::LazyLock;

    static KEY: LazyLock<RsaPrivateKey> = LazyLock::new(|| {
        RsaPrivateKey::from_pkcs8_der(include_bytes!("data/rsa2048.pkcs8.der"))
            .expect("rsa2048 fixture loads")
    });

    /// 2048-bit modulus, OAEP-SHA-256: 256 - 2·32 - 2.
    const OAEP_MAX: usize = 190;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        #[cfg_attr(miri, ignore = "an RSA-2048 private-key operation takes about 6 min under miri")]
        fn oaep_encrypt_then_decrypt_returns_the_plaintext(
            plaintext in vec(any::<u8>(), 0..=OAEP_MAX),
            label in vec(any::<u8>(), 0..64),
        ) {
            let pk = KEY.public_key();
            prop_assert_eq!(pk.oaep_max_plaintext_len(), OAEP_MAX);

            let ct = pk.oaep_encrypt(&mut OsRng, &plaintext).unwrap();
            prop_assert_eq!(ct.len(), 256);
            prop_assert_eq!(&KEY.oaep_decrypt(&mut OsRng, &ct).unwrap()[..], &plaintext[..]);

            let ct = pk.oaep_encrypt_with_label(&mut OsRng, &plaintext, &label).unwrap();
            prop_assert_eq!(&KEY.oaep_decrypt_with_label(&mut OsRng, &ct, &label).unwrap()[..], &plaintext[..]);
        }

        #[test]
        #[cfg_attr(miri, ignore = "an RSA-2048 private-key operation takes about 6 min under miri")]
        fn a_pss_signature_verifies(msg in vec(any::<u8>(), 0..512)) {
            let sig = KEY.sign_pss(&mut OsRng, &msg).unwrap();
            prop_assert_eq!(sig.len(), 256);
            prop_assert_eq!(KEY.public_key().verify_pss(&msg, &sig), Ok(()));
        }

        #[test]
        #[cfg_attr(miri, ignore = "an RSA-2048 private-key operation takes about 6 min under miri")]
        fn a_pkcs1v15_signature_verifies_and_is_deterministic(msg in vec(any::<u8>(), 0..512)) {
            let sig = KEY.sign_pkcs1v15(&mut OsRng, &msg).unwrap();
            prop_assert_eq!(sig.len(), 256);
            prop_assert_eq!(KEY.public_key().verify_pkcs1v15(&msg, &sig), Ok(()));
            // Blinding changes the computation, never the result.
            prop_assert_eq!(KEY.sign_pkcs1v15(&mut OsRng, &msg).unwrap(), sig);
        }
    }
}
