//! Property tests for envelope v1: round trips, rewrap, single-bit flips,
//! and a parser that never panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use coffer_core::Error;
use coffer_core::envelope::{self, EncryptionContext, HeaderRef, Limits, Recipient, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::p256::P256SecretKey;
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaPrivateKey;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use std::sync::OnceLock;

fn rsa_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::from_pkcs8_der(include_bytes!("data/rsa2048.pkcs8.der")).unwrap())
}

/// Fresh symmetric and P-256 keys for one case (RSA uses the fixture key).
struct Keys {
    kek: Kek,
    ec: P256SecretKey,
}

fn context_strategy() -> impl Strategy<Value = std::collections::BTreeMap<Vec<u8>, Vec<u8>>> {
    btree_map(vec(any::<u8>(), 1..16), vec(any::<u8>(), 0..32), 0..6)
}

fn as_context(map: &std::collections::BTreeMap<Vec<u8>, Vec<u8>>) -> EncryptionContext<'_> {
    let mut c = EncryptionContext::new();
    for (k, v) in map {
        c.insert(k, v).unwrap();
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn seal_then_open_returns_the_plaintext_for_any_payload_context_and_recipients(
        pt in vec(any::<u8>(), 0..2000),
        ctx in context_strategy(),
        kinds in 1u8..8,
        chunk in prop_oneof![Just(256u32), Just(300u32), Just(65536u32)],
    ) {
        let keys = Keys { kek: Kek::generate(&mut OsRng).unwrap(), ec: P256SecretKey::generate(&mut OsRng).unwrap() };
        let ec_pub = keys.ec.public_key();
        let rsa_pub = rsa_key().public_key();
        let mut to = Vec::new();
        let mut unlock = Vec::new();
        if kinds & 1 != 0 {
            to.push(Recipient::Kek { key_id: b"kek", version: 1, kek: &keys.kek });
            unlock.push(UnlockKey::Kek { key_id: b"kek", version: 1, kek: &keys.kek });
        }
        if kinds & 2 != 0 {
            to.push(Recipient::P256 { key_id: b"ec", version: 1, public_key: &ec_pub });
            unlock.push(UnlockKey::P256 { key_id: b"ec", version: 1, secret_key: &keys.ec });
        }
        if kinds & 4 != 0 {
            to.push(Recipient::Rsa { key_id: b"rsa", version: 1, public_key: &rsa_pub });
            unlock.push(UnlockKey::Rsa { key_id: b"rsa", version: 1, private_key: rsa_key() });
        }
        let c = as_context(&ctx);
        let env = envelope::seal_with_chunk_size(&mut OsRng, &to, &c, &pt, chunk).unwrap();
        for key in &unlock {
            prop_assert_eq!(&envelope::open(&mut OsRng, &[*key], &c, &env).unwrap()[..], &pt[..]);
        }
    }

    #[test]
    fn rewrap_keeps_the_plaintext(pt in vec(any::<u8>(), 0..1500), ctx in context_strategy()) {
        let (v1, v2) = (Kek::generate(&mut OsRng).unwrap(), Kek::generate(&mut OsRng).unwrap());
        let c = as_context(&ctx);
        let env = envelope::seal_with_chunk_size(
            &mut OsRng, &[Recipient::Kek { key_id: b"k", version: 1, kek: &v1 }], &c, &pt, 256).unwrap();
        let old = UnlockKey::Kek { key_id: b"k", version: 1, kek: &v1 };
        let re = envelope::rewrap(&mut OsRng, &env, &old, &Recipient::Kek { key_id: b"k", version: 2, kek: &v2 }).unwrap();
        let new = UnlockKey::Kek { key_id: b"k", version: 2, kek: &v2 };
        prop_assert_eq!(&envelope::open(&mut OsRng, &[new], &c, &re).unwrap()[..], &pt[..]);
    }

    #[test]
    fn any_single_bit_flip_is_rejected(pt in vec(any::<u8>(), 0..700), ctx in context_strategy(), pick in any::<prop::sample::Index>(), bit in 0u8..8) {
        let kek = Kek::generate(&mut OsRng).unwrap();
        let ec = P256SecretKey::generate(&mut OsRng).unwrap();
        let ec_pub = ec.public_key();
        let c = as_context(&ctx);
        let to = [
            Recipient::Kek { key_id: b"kek", version: 1, kek: &kek },
            Recipient::P256 { key_id: b"ec", version: 1, public_key: &ec_pub },
        ];
        let env = envelope::seal_with_chunk_size(&mut OsRng, &to, &c, &pt, 256).unwrap();
        let mut bad = env.clone();
        let at = pick.index(bad.len());
        bad[at] ^= 1 << bit;
        for key in [UnlockKey::Kek { key_id: b"kek", version: 1, kek: &kek }, UnlockKey::P256 { key_id: b"ec", version: 1, secret_key: &ec }] {
            // Flipping a byte of the *other* recipient's record leaves this
            // key's path intact: that is the one flip that may still open,
            // and then it must give exactly the original plaintext.
            match envelope::open(&mut OsRng, &[key], &c, &bad) {
                Err(e) => prop_assert_eq!(e, Error::Decrypt),
                Ok(got) => {
                    prop_assert_eq!(&got[..], &pt[..]);
                    let h = HeaderRef::parse(&bad).unwrap();
                    let own = h.recipients().find(|r| key.matches(r)).unwrap();
                    let orig = HeaderRef::parse(&env).unwrap();
                    let own_orig = orig.recipients().find(|r| key.matches(r)).unwrap();
                    prop_assert_eq!(own, own_orig, "a flip inside this key's own record must not open");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_parser_never_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..600)) {
        let kek = Kek::from_slice(&[7u8; 32]).unwrap();
        let key = [UnlockKey::Kek { key_id: b"k", version: 1, kek: &kek }];
        let _ = HeaderRef::parse(&bytes);
        prop_assert_eq!(envelope::open(&mut OsRng, &key, &EncryptionContext::new(), &bytes).unwrap_err(), Error::Decrypt);
    }

    #[test]
    fn the_parser_never_panics_on_a_mutated_real_header(edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let kek = Kek::from_slice(&[7u8; 32]).unwrap();
        let mut c = EncryptionContext::new();
        c.insert(b"tenant", b"acme").unwrap();
        let to = [Recipient::Kek { key_id: b"k", version: 1, kek: &kek }];
        let env = envelope::seal_with_chunk_size(&mut OsRng, &to, &c, b"some payload bytes", 256).unwrap();
        let mut bytes = env.clone();
        for (i, v) in &edits {
            let at = i.index(bytes.len());
            bytes[at] = *v;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        if let Ok(h) = HeaderRef::parse_with_limits(&bytes, &Limits::DEFAULT) {
            let _ = h.recipients().count();
        }
        let key = [UnlockKey::Kek { key_id: b"k", version: 1, kek: &kek }];
        match envelope::open(&mut OsRng, &key, &c, &bytes) {
            Ok(pt) => prop_assert_eq!(&pt[..], b"some payload bytes"),
            Err(e) => prop_assert_eq!(e, Error::Decrypt),
        }
    }
}
