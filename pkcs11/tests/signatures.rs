//! `C_Sign*` / `C_Verify*` through `C_GetFunctionList`'s table: each
//! mechanism signs and verifies, a changed message or signature is
//! refused, the public keys read from `CKA_EC_POINT` and
//! `CKA_MODULUS`/`CKA_PUBLIC_EXPONENT` verify the module's signatures,
//! and keys are refused for the wrong mechanism, usage or object.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

#[macro_use]
mod common;

use std::ptr::null_mut;

use common::keys::*;
use common::{Loaded, Token, serial};
use cryptoki_sys::*;

/// DER of a definite length.
fn der_len(len: usize) -> Vec<u8> {
    match len {
        0..0x80 => vec![len as u8],
        0x80..0x100 => vec![0x81, len as u8],
        _ => vec![0x82, (len >> 8) as u8, len as u8],
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    [vec![tag], der_len(content.len()), content.to_vec()].concat()
}

/// An RSA SubjectPublicKeyInfo made from a modulus and exponent, as an
/// application holding only the PKCS#11 attributes would make it.
fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let int = |v: &[u8]| tlv(0x02, &[if v[0] & 0x80 != 0 { vec![0] } else { vec![] }, v.to_vec()].concat());
    let key = tlv(0x30, &[int(n), int(e)].concat());
    // rsaEncryption, NULL parameters.
    let algorithm = tlv(
        0x30,
        &[tlv(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]), vec![0x05, 0x00]].concat(),
    );
    tlv(0x30, &[algorithm, tlv(0x03, &[vec![0], key].concat())].concat())
}

#[test]
fn each_mechanism_signs_and_verifies_and_refuses_a_changed_message() {
    let _serial = serial();
    let _token = Token::new("sign-verify");
    let _loaded = Loaded::new();
    let s = open(true);
    login(s);
    let (ec_pub, ec_priv) = ec_pair(s, "ec");
    let (rsa_pub, rsa_priv) = rsa_pair(s, "rsa");
    let mac = hmac_key(s, "mac");
    let cases = [
        (CKM_ECDSA_SHA256, ec_priv, ec_pub, 64),
        (CKM_SHA256_RSA_PKCS, rsa_priv, rsa_pub, 256),
        (CKM_SHA256_RSA_PKCS_PSS, rsa_priv, rsa_pub, 256),
        (CKM_SHA256_HMAC, mac, mac, 32),
    ];
    for (mech, signer, verifier, len) in cases {
        let sig = sign(s, mech, signer, b"pay 100 to alice");
        assert_eq!(sig.len(), len, "{mech:#x}");
        assert_eq!(verify(s, mech, verifier, b"pay 100 to alice", &sig), CKR_OK, "{mech:#x}");
        assert_eq!(verify(s, mech, verifier, b"pay 900 to alice", &sig), CKR_SIGNATURE_INVALID, "{mech:#x}");
        let mut flipped = sig.clone();
        flipped[len / 2] ^= 1;
        assert_eq!(
            verify(s, mech, verifier, b"pay 100 to alice", &flipped),
            CKR_SIGNATURE_INVALID,
            "{mech:#x}"
        );
        assert_eq!(
            verify(s, mech, verifier, b"pay 100 to alice", &sig[1..]),
            CKR_SIGNATURE_LEN_RANGE,
            "{mech:#x}"
        );
        // The failed verification ended the operation.
        let mut data = *b"x";
        assert_eq!(p11!(C_VerifyUpdate(s, data.as_mut_ptr(), 1)), CKR_OPERATION_NOT_INITIALIZED);

        // Multi-part gives a signature the one-part verify accepts, and back.
        let rv = with_mechanism(mech, |m| p11!(C_SignInit(s, m, signer)));
        assert_eq!(rv, CKR_OK);
        for part in [&b"pay 100 "[..], b"", b"to alice"] {
            let mut part = part.to_vec();
            assert_eq!(p11!(C_SignUpdate(s, part.as_mut_ptr(), part.len() as CK_ULONG)), CKR_OK);
        }
        let mut parts_sig = vec![0u8; len];
        let mut sig_len = len as CK_ULONG;
        assert_eq!(p11!(C_SignFinal(s, parts_sig.as_mut_ptr(), &mut sig_len)), CKR_OK);
        assert_eq!(verify(s, mech, verifier, b"pay 100 to alice", &parts_sig), CKR_OK, "{mech:#x}");
        let rv = with_mechanism(mech, |m| p11!(C_VerifyInit(s, m, verifier)));
        assert_eq!(rv, CKR_OK);
        let mut part = b"pay 100 to alice".to_vec();
        assert_eq!(p11!(C_VerifyUpdate(s, part.as_mut_ptr(), 7)), CKR_OK);
        assert_eq!(p11!(C_VerifyUpdate(s, part[7..].as_mut_ptr(), 9)), CKR_OK);
        assert_eq!(p11!(C_VerifyFinal(s, parts_sig.as_mut_ptr(), len as CK_ULONG)), CKR_OK, "{mech:#x}");
    }
    // PKCS#1 v1.5 and HMAC are deterministic: both ways agree.
    assert_eq!(sign(s, CKM_SHA256_HMAC, mac, b"m"), sign(s, CKM_SHA256_HMAC, mac, b"m"));
    assert_eq!(sign(s, CKM_SHA256_RSA_PKCS, rsa_priv, b"m"), sign(s, CKM_SHA256_RSA_PKCS, rsa_priv, b"m"));
}

#[test]
fn the_public_key_attributes_verify_the_modules_signatures() {
    let _serial = serial();
    let _token = Token::new("public-attributes");
    let _loaded = Loaded::new();
    let s = open(true);
    login(s);
    let (ec_pub, ec_priv) = ec_pair(s, "ec");
    let (rsa_pub, rsa_priv) = rsa_pair(s, "rsa");

    let point = attr(s, ec_pub, CKA_EC_POINT).unwrap();
    assert_eq!(&point[..2], &[0x04, 0x41], "a DER OCTET STRING of the 65-byte point");
    let ec_key = coffer_core::p256::P256PublicKey::from_sec1_bytes(&point[2..]).unwrap();
    let sig = sign(s, CKM_ECDSA_SHA256, ec_priv, b"release 1.2");
    ec_key.verify_fixed(b"release 1.2", &sig).unwrap();
    assert!(ec_key.verify_fixed(b"release 1.3", &sig).is_err());

    let n = attr(s, rsa_pub, CKA_MODULUS).unwrap();
    let e = attr(s, rsa_pub, CKA_PUBLIC_EXPONENT).unwrap();
    let spki = rsa_spki(&n, &e);
    assert_eq!(attr(s, rsa_pub, CKA_PUBLIC_KEY_INFO).unwrap(), spki);
    let rsa_key = coffer_core::rsa::RsaPublicKey::from_spki_der(&spki).unwrap();
    let pkcs1 = sign(s, CKM_SHA256_RSA_PKCS, rsa_priv, b"release 1.2");
    rsa_key.verify_pkcs1v15(b"release 1.2", &pkcs1).unwrap();
    let pss = sign(s, CKM_SHA256_RSA_PKCS_PSS, rsa_priv, b"release 1.2");
    rsa_key.verify_pss(b"release 1.2", &pss).unwrap();
    assert!(rsa_key.verify_pss(b"release 1.3", &pss).is_err());
}

#[test]
fn keys_are_refused_for_the_wrong_mechanism_usage_object_or_login() {
    let _serial = serial();
    let _token = Token::new("sign-refusals");
    let _loaded = Loaded::new();
    let s = open(true);
    login(s);
    let (ec_pub, ec_priv) = ec_pair(s, "ec");
    let (_, rsa_priv) = rsa_pair(s, "rsa");
    let aes = aes_key(s, "aes");
    // A pair that may only verify.
    let mut public = Tpl::new(&[(CKA_EC_PARAMS, Val::Bytes(P256_OID.to_vec()))]);
    let mut private = Tpl::new(&[(CKA_SIGN, Val::Bool(false))]);
    let (verify_only_pub, verify_only) = try_pair(s, CKM_EC_KEY_PAIR_GEN, &mut public, &mut private).unwrap();
    assert!(!attr_bool(s, verify_only, CKA_SIGN));

    assert_eq!(try_sign(s, CKM_SHA256_RSA_PKCS, ec_priv, b"m"), Err(CKR_KEY_TYPE_INCONSISTENT));
    assert_eq!(try_sign(s, CKM_ECDSA_SHA256, rsa_priv, b"m"), Err(CKR_KEY_TYPE_INCONSISTENT));
    assert_eq!(try_sign(s, CKM_SHA256_HMAC, aes, b"m"), Err(CKR_KEY_TYPE_INCONSISTENT));
    assert_eq!(try_sign(s, CKM_ECDSA_SHA256, verify_only, b"m"), Err(CKR_KEY_FUNCTION_NOT_PERMITTED));
    assert_eq!(try_sign(s, CKM_ECDSA_SHA256, ec_pub, b"m"), Err(CKR_KEY_FUNCTION_NOT_PERMITTED));
    assert_eq!(verify(s, CKM_ECDSA_SHA256, ec_priv, b"m", &[0; 64]), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_eq!(verify(s, CKM_ECDSA_SHA256, verify_only_pub, b"m", &[0; 64]), CKR_SIGNATURE_INVALID);
    assert_eq!(try_sign(s, CKM_ECDSA_SHA256, 9_999, b"m"), Err(CKR_KEY_HANDLE_INVALID));
    assert_eq!(try_sign(s, CKM_ECDSA_SHA384, ec_priv, b"m"), Err(CKR_MECHANISM_INVALID));

    // PSS with parameters other than coffer's.
    let mut params = CK_RSA_PKCS_PSS_PARAMS { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, sLen: 20 };
    let mut m = CK_MECHANISM {
        mechanism: CKM_SHA256_RSA_PKCS_PSS,
        pParameter: std::ptr::from_mut(&mut params).cast(),
        ulParameterLen: size_of::<CK_RSA_PKCS_PSS_PARAMS>() as CK_ULONG,
    };
    assert_eq!(p11!(C_SignInit(s, &mut m, rsa_priv)), CKR_MECHANISM_PARAM_INVALID);
    params = CK_RSA_PKCS_PSS_PARAMS { hashAlg: CKM_SHA_1, mgf: CKG_MGF1_SHA1, sLen: 32 };
    m.pParameter = std::ptr::from_mut(&mut params).cast();
    assert_eq!(p11!(C_SignInit(s, &mut m, rsa_priv)), CKR_MECHANISM_PARAM_INVALID);
    let mut no_params = mechanism(CKM_SHA256_RSA_PKCS_PSS);
    assert_eq!(p11!(C_SignInit(s, &mut no_params, rsa_priv)), CKR_MECHANISM_PARAM_INVALID);

    // A read-only session signs; without a login nothing does.
    let ro = open(false);
    assert_eq!(sign(ro, CKM_ECDSA_SHA256, ec_priv, b"m").len(), 64);
    assert_eq!(p11!(C_Logout(s)), CKR_OK);
    assert_eq!(try_sign(s, CKM_ECDSA_SHA256, ec_priv, b"m"), Err(CKR_USER_NOT_LOGGED_IN));
}

#[test]
fn sign_operations_keep_the_two_call_convention_and_the_session_rules() {
    let _serial = serial();
    let _token = Token::new("sign-state");
    let _loaded = Loaded::new();
    let s = open(true);
    login(s);
    let (ec_pub, ec_priv) = ec_pair(s, "ec");
    let mut data = *b"abc";
    let mut sig = [0u8; 64];
    let mut len: CK_ULONG = 0;
    assert_eq!(
        p11!(C_Sign(s, data.as_mut_ptr(), 3, sig.as_mut_ptr(), &mut len)),
        CKR_OPERATION_NOT_INITIALIZED
    );
    assert_eq!(p11!(C_SignFinal(s, sig.as_mut_ptr(), &mut len)), CKR_OPERATION_NOT_INITIALIZED);
    assert_eq!(p11!(C_Verify(s, data.as_mut_ptr(), 3, sig.as_mut_ptr(), 64)), CKR_OPERATION_NOT_INITIALIZED);

    let mut m = mechanism(CKM_ECDSA_SHA256);
    assert_eq!(p11!(C_SignInit(s, &mut m, ec_priv)), CKR_OK);
    assert_eq!(p11!(C_SignInit(s, &mut m, ec_priv)), CKR_OPERATION_ACTIVE);
    // A verify operation is separate.
    assert_eq!(p11!(C_VerifyInit(s, &mut m, ec_pub)), CKR_OK);
    // Size query, then a short buffer: the operation stays.
    assert_eq!(p11!(C_Sign(s, data.as_mut_ptr(), 3, null_mut(), &mut len)), CKR_OK);
    assert_eq!(len, 64);
    len = 63;
    assert_eq!(p11!(C_Sign(s, data.as_mut_ptr(), 3, sig.as_mut_ptr(), &mut len)), CKR_BUFFER_TOO_SMALL);
    assert_eq!(len, 64);
    assert_eq!(p11!(C_Sign(s, data.as_mut_ptr(), 3, sig.as_mut_ptr(), &mut len)), CKR_OK);
    assert_eq!(
        p11!(C_Sign(s, data.as_mut_ptr(), 3, sig.as_mut_ptr(), &mut len)),
        CKR_OPERATION_NOT_INITIALIZED
    );
    assert_eq!(p11!(C_Verify(s, data.as_mut_ptr(), 3, sig.as_mut_ptr(), 64)), CKR_OK);

    // C_Sign cannot finish a multi-part operation; it stays for C_SignFinal.
    assert_eq!(p11!(C_SignInit(s, &mut m, ec_priv)), CKR_OK);
    assert_eq!(p11!(C_SignUpdate(s, data.as_mut_ptr(), 3)), CKR_OK);
    assert_eq!(p11!(C_Sign(s, data.as_mut_ptr(), 3, sig.as_mut_ptr(), &mut len)), CKR_OPERATION_ACTIVE);
    len = 64;
    assert_eq!(p11!(C_SignFinal(s, sig.as_mut_ptr(), &mut len)), CKR_OK);
    assert_eq!(verify(s, CKM_ECDSA_SHA256, ec_pub, b"abc", &sig), CKR_OK);

    // A multi-part operation collects at most 16 MiB; one byte more is
    // CKR_DATA_LEN_RANGE and ends the operation.
    let mut big = vec![0x5au8; 16 * 1024 * 1024];
    assert_eq!(p11!(C_SignInit(s, &mut m, ec_priv)), CKR_OK);
    assert_eq!(p11!(C_SignUpdate(s, big.as_mut_ptr(), big.len() as CK_ULONG)), CKR_OK);
    assert_eq!(p11!(C_SignUpdate(s, data.as_mut_ptr(), 1)), CKR_DATA_LEN_RANGE);
    assert_eq!(p11!(C_SignFinal(s, sig.as_mut_ptr(), &mut len)), CKR_OPERATION_NOT_INITIALIZED);
    assert_eq!(p11!(C_VerifyInit(s, &mut m, ec_pub)), CKR_OK);
    big.push(0);
    assert_eq!(p11!(C_VerifyUpdate(s, big.as_mut_ptr(), big.len() as CK_ULONG)), CKR_DATA_LEN_RANGE);
    assert_eq!(p11!(C_VerifyFinal(s, sig.as_mut_ptr(), 64)), CKR_OPERATION_NOT_INITIALIZED);

    // Closing the session drops its operations.
    assert_eq!(p11!(C_SignInit(s, &mut m, ec_priv)), CKR_OK);
    let other = open(true);
    assert_eq!(p11!(C_CloseSession(s)), CKR_OK);
    assert_eq!(p11!(C_SignUpdate(s, data.as_mut_ptr(), 3)), CKR_SESSION_HANDLE_INVALID);
    assert_eq!(p11!(C_SignUpdate(other, data.as_mut_ptr(), 3)), CKR_OPERATION_NOT_INITIALIZED);
}

/// `CKM_ECDSA` signs the application's hash: a SHA-256 digest gives a
/// signature that verifies as ECDSA-SHA-256 over the message; a SHA-384
/// digest (cut to its leftmost 256 bits) gives one that OpenSSL's
/// `pkeyutl -verify` accepts over the same digest; wrong lengths, updates
/// and changed digests are refused.
#[test]
fn ecdsa_signs_the_applications_hash() {
    use coffer_core::hash::{sha256, sha384};
    use coffer_core::p256::{P256PublicKey, P256Signature};
    let _serial = serial();
    let _token = Token::new("ecdsa-prehash");
    let _loaded = Loaded::new();
    let s = open(true);
    login(s);
    let (ec_pub, ec_priv) = ec_pair(s, "ec");
    let point = attr(s, ec_pub, CKA_EC_POINT).unwrap();
    let key = P256PublicKey::from_sec1_bytes(&point[2..]).unwrap();

    let digest = sha256(b"release 1.2");
    let sig = sign(s, CKM_ECDSA, ec_priv, &digest);
    key.verify_fixed(b"release 1.2", &sig).unwrap();
    assert_eq!(verify(s, CKM_ECDSA, ec_pub, &digest, &sig), CKR_OK);
    assert_eq!(verify(s, CKM_ECDSA_SHA256, ec_pub, b"release 1.2", &sig), CKR_OK);
    assert_eq!(verify(s, CKM_ECDSA, ec_pub, &sha256(b"release 1.3"), &sig), CKR_SIGNATURE_INVALID);
    assert_eq!(try_sign(s, CKM_ECDSA, ec_priv, &[]), Err(CKR_DATA_LEN_RANGE));
    assert_eq!(try_sign(s, CKM_ECDSA, ec_priv, &[7; 65]), Err(CKR_DATA_LEN_RANGE));

    // Single-part only: an update is refused and ends the operation.
    assert_eq!(with_mechanism(CKM_ECDSA, |m| p11!(C_SignInit(s, m, ec_priv))), CKR_OK);
    let mut part = digest.to_vec();
    assert_eq!(p11!(C_SignUpdate(s, part.as_mut_ptr(), part.len() as CK_ULONG)), CKR_FUNCTION_NOT_SUPPORTED);
    assert_eq!(p11!(C_SignFinal(s, null_mut(), &mut 0)), CKR_OPERATION_NOT_INITIALIZED);

    let long = sha384(b"release 1.2");
    let sig = sign(s, CKM_ECDSA, ec_priv, &long);
    assert_eq!(verify(s, CKM_ECDSA, ec_pub, &long, &sig), CKR_OK);
    let sig_array: [u8; 64] = sig.as_slice().try_into().unwrap();
    let der = P256Signature::from_bytes(sig_array).to_der().unwrap();
    let dir = common::TempDir::new("ecdsa-openssl");
    std::fs::write(dir.0.join("pub.pem"), key.to_spki_pem().unwrap()).unwrap();
    std::fs::write(dir.0.join("digest.bin"), long).unwrap();
    std::fs::write(dir.0.join("sig.der"), der.as_bytes()).unwrap();
    let run = |digest_file: &str| {
        std::process::Command::new("openssl")
            .args([
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "pub.pem",
                "-in",
                digest_file,
                "-sigfile",
                "sig.der",
            ])
            .current_dir(&dir.0)
            .output()
    };
    match run("digest.bin") {
        Ok(out) => {
            assert!(
                out.status.success(),
                "openssl pkeyutl -verify: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::write(dir.0.join("other.bin"), sha384(b"release 1.3")).unwrap();
            assert!(!run("other.bin").unwrap().status.success(), "OpenSSL refuses another digest");
        }
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            println!("SKIPPED: OpenSSL's check of CKM_ECDSA needs `openssl` ({e}; apt-get install openssl)");
        }
        Err(e) => panic!("openssl is required under CI: {e}"),
    }
}
