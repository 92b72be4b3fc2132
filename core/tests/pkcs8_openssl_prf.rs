//! Encrypted PKCS#8 keys written by the OpenSSL command-line tool open in
//! coffer with the right passphrase, whatever PBKDF2 PRF they use:
//! `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA1` (OpenSSL
//! 1.x's default, still common), SHA-224, SHA-256 (OpenSSL 3's default),
//! SHA-384 and SHA-512, for a P-256 and an RSA key. A wrong passphrase is
//! still refused with `Error::Decrypt`.
//!
//! Needs `openssl` on PATH: when it is missing the test fails under
//! `CI=true`, and elsewhere prints one `SKIPPED:` line (STYLE.md rule 21).

// miri: runs the openssl command-line tool, and miri cannot start processes.
#![cfg(not(miri))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

use coffer_core::Error;
use coffer_core::cert::KeyPair;

const P256_PEM: &str = include_str!("data/p256.pkcs8.pem");
const RSA2048_PKCS8: &[u8] = include_bytes!("data/rsa2048.pkcs8.der");

const PASSPHRASE: &str = "correct horse battery staple";
const PRFS: [&str; 5] =
    ["hmacWithSHA1", "hmacWithSHA224", "hmacWithSHA256", "hmacWithSHA384", "hmacWithSHA512"];

/// Whether `openssl` can run here: `false` after one SKIPPED line when it
/// cannot (outside CI); under `CI=true` its absence fails the test.
fn openssl_present(test: &str) -> bool {
    let started = Command::new("openssl").arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if started.is_ok_and(|s| s.success()) {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: the OpenSSL command-line tool `openssl` is not installed, and CI=true requires this test \
         to run: apt-get install openssl"
    );
    println!("SKIPPED: {test}: openssl is not installed (apt-get install openssl)");
    false
}

/// Runs `openssl args...` with `input` on stdin; returns stdout.
fn openssl(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .env_remove("OPENSSL_CONF")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf <prf>` of the unencrypted
/// PEM key `plain`, as PEM.
fn openssl_encrypt(plain: &str, prf: &str) -> String {
    let pass = format!("pass:{PASSPHRASE}");
    let args = ["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-v2prf", prf, "-passout", &pass];
    let encrypted = String::from_utf8(openssl(&args, plain.as_bytes())).unwrap();
    // The file really uses that PRF: `openssl asn1parse` names it, except
    // HMAC-SHA-1, the DEFAULT of PBKDF2-params, which DER leaves out.
    let text = String::from_utf8(openssl(&["asn1parse"], encrypted.as_bytes())).unwrap();
    if prf == "hmacWithSHA1" {
        assert!(text.contains(":PBKDF2") && !text.contains(":hmacWith"), "not the default PRF:\n{text}");
    } else {
        assert!(text.contains(&format!(":{prf}")), "{prf} not in:\n{text}");
    }
    encrypted
}

#[test]
fn openssl_keys_under_every_pbkdf2_prf_open_with_the_right_passphrase_only() {
    if !openssl_present("openssl_keys_under_every_pbkdf2_prf_open_with_the_right_passphrase_only") {
        return;
    }
    let p256 = KeyPair::from_pkcs8_pem(P256_PEM).unwrap();
    let rsa = KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    for key in [&p256, &rsa] {
        let plain = key.to_pkcs8_pem().unwrap();
        for prf in PRFS {
            let encrypted = openssl_encrypt(&plain, prf);
            let opened = KeyPair::from_encrypted_pkcs8_pem(&encrypted, PASSPHRASE.as_bytes())
                .unwrap_or_else(|e| panic!("{prf}: {e}"));
            assert_eq!(opened.public_key(), key.public_key(), "{prf}");
            let wrong = KeyPair::from_encrypted_pkcs8_pem(&encrypted, b"correct horse battery stapler");
            assert_eq!(wrong.unwrap_err(), Error::Decrypt, "{prf}");
        }
    }
}
