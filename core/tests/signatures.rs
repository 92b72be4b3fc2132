//! Signatures with a key pair outside any keystore ([`KeyPair::sign`],
//! [`PublicKey::verify`]): every scheme round trips; a changed message,
//! signature or key is refused with `Error::Verify`; a scheme of the other
//! key type is `Error::InvalidInput`; and the OpenSSL 3 command-line tool,
//! an independent implementation, verifies coffer's signatures while
//! coffer verifies OpenSSL's (STYLE.md rule 19). The OpenSSL tests need
//! `openssl` on PATH and fail, saying so, when it is absent.
// miri: every test signs with RSA-2048 (about 6 min a signature under miri) or P-256, and one runs openssl.
#![cfg(not(miri))]
#![cfg(all(feature = "std", feature = "rsa"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::path::PathBuf;
use std::process::Command;

use coffer_core::Error;
use coffer_core::cert::{KeyPair, SignatureScheme};
use coffer_core::rng::OsRng;

const RSA2048_PKCS8: &[u8] = include_bytes!("data/rsa2048.pkcs8.der");
const P256_PKCS8: &[u8] = include_bytes!("data/p256.pkcs8.der");
const MSG: &[u8] = b"release 1.2.3: signed by the build key";

/// Each fixture key with the schemes it signs under.
fn keys_and_schemes() -> Vec<(KeyPair, SignatureScheme)> {
    vec![
        (KeyPair::from_pkcs8_der(P256_PKCS8).unwrap(), SignatureScheme::EcdsaP256Sha256),
        (KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap(), SignatureScheme::RsaPssSha256),
        (KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap(), SignatureScheme::RsaPkcs1Sha256),
    ]
}

#[test]
fn every_scheme_round_trips_and_refuses_any_change() {
    for (key, scheme) in keys_and_schemes() {
        let public = key.public_key();
        let sig = key.sign(&mut OsRng, scheme, MSG).unwrap();
        assert_eq!(public.verify(scheme, MSG, &sig), Ok(()), "{scheme:?}");
        assert_eq!(public.verify(scheme, b"release 1.2.4", &sig), Err(Error::Verify), "{scheme:?}");
        for i in [0, sig.len() / 2, sig.len() - 1] {
            let mut bad = sig.clone();
            bad[i] ^= 0x01;
            assert_eq!(public.verify(scheme, MSG, &bad), Err(Error::Verify), "{scheme:?} byte {i}");
        }
        assert_eq!(public.verify(scheme, MSG, &sig[..sig.len() - 1]), Err(Error::Verify), "{scheme:?}");
        assert_eq!(public.verify(scheme, MSG, &[]), Err(Error::Verify), "{scheme:?}");
    }
}

#[test]
fn pss_and_pkcs1_signatures_are_not_each_others() {
    let key = KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    let pss = key.sign(&mut OsRng, SignatureScheme::RsaPssSha256, MSG).unwrap();
    let pkcs1 = key.sign(&mut OsRng, SignatureScheme::RsaPkcs1Sha256, MSG).unwrap();
    assert_eq!(key.public_key().verify(SignatureScheme::RsaPkcs1Sha256, MSG, &pss), Err(Error::Verify));
    assert_eq!(key.public_key().verify(SignatureScheme::RsaPssSha256, MSG, &pkcs1), Err(Error::Verify));
}

#[test]
fn a_scheme_of_the_other_key_type_is_an_invalid_input() {
    let p256 = KeyPair::from_pkcs8_der(P256_PKCS8).unwrap();
    let rsa = KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    for scheme in [SignatureScheme::RsaPssSha256, SignatureScheme::RsaPkcs1Sha256] {
        assert_eq!(p256.sign(&mut OsRng, scheme, MSG), Err(Error::InvalidInput));
        assert_eq!(p256.public_key().verify(scheme, MSG, &[0; 64]), Err(Error::InvalidInput));
    }
    assert_eq!(rsa.sign(&mut OsRng, SignatureScheme::EcdsaP256Sha256, MSG), Err(Error::InvalidInput));
    assert_eq!(
        rsa.public_key().verify(SignatureScheme::EcdsaP256Sha256, MSG, &[0; 64]),
        Err(Error::InvalidInput)
    );
}

#[test]
fn ecdsa_signatures_are_der_and_deterministic_under_rustcrypto_only() {
    let key = KeyPair::from_pkcs8_der(P256_PKCS8).unwrap();
    let a = key.sign(&mut OsRng, SignatureScheme::EcdsaP256Sha256, MSG).unwrap();
    let b = key.sign(&mut OsRng, SignatureScheme::EcdsaP256Sha256, MSG).unwrap();
    // RFC 6979 under RustCrypto; a random nonce per signature under aws-lc.
    let rustcrypto = coffer_core::provider::ACTIVE == coffer_core::provider::Provider::RustCrypto;
    assert_eq!(a == b, rustcrypto, "RFC 6979 only under RustCrypto");
    key.public_key().verify(SignatureScheme::EcdsaP256Sha256, MSG, &a).unwrap();
    key.public_key().verify(SignatureScheme::EcdsaP256Sha256, MSG, &b).unwrap();
    assert_eq!(a[0], 0x30, "a DER SEQUENCE");
    assert!((8..=72).contains(&a.len()));
}

// ---------------------------------------------------------------------------
// OpenSSL, both ways
// ---------------------------------------------------------------------------

const OPENSSL_MISSING: &str = "this test needs the OpenSSL 3 command-line tool `openssl` on PATH, and it could \
     not be started; install it (for example `apt-get install openssl`) and rerun";

/// A fresh directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("coffer-signatures-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `openssl dgst -sha256` options for `scheme`'s padding.
fn padding(scheme: SignatureScheme) -> Vec<&'static str> {
    match scheme {
        SignatureScheme::RsaPssSha256 => {
            vec![
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
                "-sigopt",
                "rsa_mgf1_md:sha256",
            ]
        }
        _ => vec![],
    }
}

fn openssl_dgst(dir: &PathBuf, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .arg("dgst")
        .arg("-sha256")
        .args(args)
        .output()
        .expect(OPENSSL_MISSING);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn openssl_verifies_coffers_signatures_and_coffer_verifies_openssls() {
    let scratch = Scratch::new("openssl");
    let dir = &scratch.0;
    std::fs::write(dir.join("msg.bin"), MSG).unwrap();
    for (key, scheme) in keys_and_schemes() {
        std::fs::write(dir.join("key.pem"), key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        std::fs::write(dir.join("pub.pem"), key.public_key().to_spki_pem().unwrap()).unwrap();

        let ours = key.sign(&mut OsRng, scheme, MSG).unwrap();
        std::fs::write(dir.join("ours.sig"), &ours).unwrap();
        let mut args = vec!["-verify", "pub.pem", "-signature", "ours.sig"];
        args.extend(padding(scheme));
        args.push("msg.bin");
        let (ok, text) = openssl_dgst(dir, &args);
        assert!(ok && text.contains("Verified OK"), "OpenSSL refused coffer's {scheme:?} signature: {text}");

        let mut args = vec!["-sign", "key.pem", "-out", "theirs.sig"];
        args.extend(padding(scheme));
        args.push("msg.bin");
        let (ok, text) = openssl_dgst(dir, &args);
        assert!(ok, "openssl could not sign with {scheme:?}: {text}");
        let theirs = std::fs::read(dir.join("theirs.sig")).unwrap();
        assert_eq!(
            key.public_key().verify(scheme, MSG, &theirs),
            Ok(()),
            "coffer refused OpenSSL's {scheme:?}"
        );
        assert_eq!(key.public_key().verify(scheme, b"another message", &theirs), Err(Error::Verify));
    }
}

// ---------------------------------------------------------------------------
// ECDSA over a caller's digest (PKCS#11's CKM_ECDSA)
// ---------------------------------------------------------------------------

/// RFC 6979 appendix A.2.5 (P-256, SHA-256): signing SHA-256("sample") and
/// SHA-256("test") as prehashed digests gives the published signatures
/// under either provider (the prehash path is always RFC 6979).
#[test]
fn sign_prehash_gives_the_rfc_6979_signatures() {
    use coffer_core::hash::sha256;
    use coffer_core::p256::P256SecretKey;
    let key = P256SecretKey::from_bytes(
        &hex::decode("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721").unwrap(),
    )
    .unwrap();
    for (msg, r, s) in [
        (
            &b"sample"[..],
            "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716",
            "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8",
        ),
        (
            &b"test"[..],
            "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367",
            "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083",
        ),
    ] {
        let sig = key.sign_prehash(&sha256(msg)).unwrap();
        assert_eq!(
            sig.as_bytes().to_vec(),
            [hex::decode(r).unwrap(), hex::decode(s).unwrap()].concat(),
            "{}",
            String::from_utf8_lossy(msg)
        );
        key.public_key().verify_prehash(&sha256(msg), &sig).unwrap();
        key.public_key().verify(msg, &sig).unwrap();
    }
    let sig = key.sign_prehash(&sha256(b"sample")).unwrap();
    assert_eq!(key.public_key().verify_prehash(&sha256(b"samplf"), &sig), Err(Error::Verify));
    assert_eq!(key.sign_prehash(&[]), Err(Error::InvalidLength));
    assert_eq!(key.sign_prehash(&[1; 65]), Err(Error::InvalidLength));
    assert_eq!(key.public_key().verify_prehash(&[], &sig), Err(Error::Verify));
    // Short digests are integers too (FIPS 186-5 takes the whole of a hash
    // shorter than the order): a 20-byte one signs and verifies.
    let short = key.sign_prehash(&[0xab; 20]).unwrap();
    key.public_key().verify_prehash(&[0xab; 20], &short).unwrap();
}
