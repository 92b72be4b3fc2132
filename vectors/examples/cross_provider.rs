//! What one provider writes, the other reads: run once built with the
//! default (RustCrypto) provider and once with `--features aws-lc`.
//!
//! ```text
//! cargo run -p coffer-vectors --example cross_provider -- write DIR/rustcrypto
//! cargo run -p coffer-vectors --features aws-lc --example cross_provider -- write DIR/aws-lc
//! cargo run -p coffer-vectors --example cross_provider -- read DIR/aws-lc
//! cargo run -p coffer-vectors --features aws-lc --example cross_provider -- read DIR/rustcrypto
//! ```
//!
//! `write` seals envelopes (one per recipient kind: AES-256 KEK, RSA-2048
//! OAEP, P-256 ECDH-ES, and one for all three), signs a message (ECDSA
//! P-256, RSA-PSS, RSA PKCS#1 v1.5) and writes the deterministic outputs
//! (AES-KW, AES-KWP, AES-256-GCM-SIV under fixed keys and nonce), all from
//! fixed keys. `read` opens every envelope with every key it was sealed
//! for, verifies every signature, and checks the deterministic outputs are
//! byte for byte its own. It prints one line per check and exits 1 on any
//! failure (also if the directory was written by the same provider).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::Path;

use coffer_core::aead::{Aes256GcmSivKey, Nonce};
use coffer_core::envelope::{self, EncryptionContext, Recipient, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::p256::P256SecretKey;
use coffer_core::provider;
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaPrivateKey;

const RSA2048: &[u8] = include_bytes!("../../core/tests/data/rsa2048.pkcs8.der");
const MESSAGE: &[u8] = b"cross-provider check: what one writes, the other reads";

struct Keys {
    kek: Kek,
    rsa: RsaPrivateKey,
    p256: P256SecretKey,
}

fn keys() -> Keys {
    Keys {
        kek: Kek::from_slice(&[0x11; 32]).unwrap(),
        rsa: RsaPrivateKey::from_pkcs8_der(RSA2048).unwrap(),
        p256: P256SecretKey::from_bytes(&[0x22; 32]).unwrap(),
    }
}

fn context() -> EncryptionContext<'static> {
    let mut ctx = EncryptionContext::new();
    ctx.insert(b"tenant", b"acme").unwrap();
    ctx
}

/// The payload: 200 KiB, so the envelope has several 64 KiB chunks.
fn plaintext() -> Vec<u8> {
    (0..200 * 1024u32).map(|i| (i % 251) as u8).collect()
}

/// Fixed-input outputs that must be the same bytes under every provider.
fn deterministic(k: &Keys) -> Vec<(&'static str, Vec<u8>)> {
    let data: Vec<u8> = (0u8..32).collect();
    let aead = Aes256GcmSivKey::from_bytes([0x33; 32]);
    vec![
        ("aes-kw", k.kek.wrap_to_vec(&data).unwrap()),
        ("aes-kwp", k.kek.wrap_padded_to_vec(&data[..21]).unwrap()),
        ("aes-256-gcm-siv", aead.seal(&Nonce::from_bytes([0x44; 12]), b"aad", &plaintext()).unwrap()),
    ]
}

fn write(dir: &Path) {
    let k = keys();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("provider"), provider::ACTIVE.name()).unwrap();
    let rsa_pub = k.rsa.public_key();
    let p256_pub = k.p256.public_key();
    let kek = Recipient::Kek { key_id: b"kek", version: 1, kek: &k.kek };
    let rsa = Recipient::Rsa { key_id: b"rsa", version: 1, public_key: &rsa_pub };
    let p256 = Recipient::P256 { key_id: b"p256", version: 1, public_key: &p256_pub };
    let pt = plaintext();
    for (name, to) in
        [("kek", vec![kek]), ("rsa", vec![rsa]), ("p256", vec![p256]), ("all", vec![kek, rsa, p256])]
    {
        let sealed = envelope::seal(&mut OsRng, &to, &context(), &pt).unwrap();
        std::fs::write(dir.join(format!("envelope-{name}")), sealed).unwrap();
    }
    std::fs::write(dir.join("sig-ecdsa"), k.p256.sign_der(MESSAGE).as_bytes()).unwrap();
    std::fs::write(dir.join("sig-pss"), k.rsa.sign_pss(&mut OsRng, MESSAGE).unwrap()).unwrap();
    std::fs::write(dir.join("sig-pkcs1"), k.rsa.sign_pkcs1v15(&mut OsRng, MESSAGE).unwrap()).unwrap();
    for (name, bytes) in deterministic(&k) {
        std::fs::write(dir.join(format!("fixed-{name}")), bytes).unwrap();
    }
    println!("{}: wrote {}", provider::ACTIVE.name(), dir.display());
}

fn read(dir: &Path) -> bool {
    let k = keys();
    let me = provider::ACTIVE.name();
    let writer = std::fs::read_to_string(dir.join("provider")).unwrap();
    let mut ok = writer != me;
    if !ok {
        println!("FAILED: {} was written by {writer}, the provider reading it", dir.display());
    }
    let mut check = |what: String, pass: bool| {
        println!("{} {what} (written by {writer}, read by {me})", if pass { "ok    " } else { "FAILED" });
        ok &= pass;
    };
    let unlock_kek = UnlockKey::Kek { key_id: b"kek", version: 1, kek: &k.kek };
    let unlock_rsa = UnlockKey::Rsa { key_id: b"rsa", version: 1, private_key: &k.rsa };
    let unlock_p256 = UnlockKey::P256 { key_id: b"p256", version: 1, secret_key: &k.p256 };
    let pt = plaintext();
    for (name, keys) in [
        ("kek", vec![("kek", unlock_kek)]),
        ("rsa", vec![("rsa", unlock_rsa)]),
        ("p256", vec![("p256", unlock_p256)]),
        ("all", vec![("kek", unlock_kek), ("rsa", unlock_rsa), ("p256", unlock_p256)]),
    ] {
        let sealed = std::fs::read(dir.join(format!("envelope-{name}"))).unwrap();
        for (key_name, key) in keys {
            let opened = envelope::open(&mut OsRng, &[key], &context(), &sealed);
            check(
                format!("envelope for {name} opened with the {key_name} key"),
                opened.is_ok_and(|p| *p == pt),
            );
        }
    }
    let spki_ok = |sig: &str, verify: &dyn Fn(&[u8]) -> bool| verify(&std::fs::read(dir.join(sig)).unwrap());
    let p256_pub = k.p256.public_key();
    let rsa_pub = k.rsa.public_key();
    check("ECDSA P-256 signature".into(), spki_ok("sig-ecdsa", &|s| p256_pub.verify_der(MESSAGE, s).is_ok()));
    check("RSA-PSS signature".into(), spki_ok("sig-pss", &|s| rsa_pub.verify_pss(MESSAGE, s).is_ok()));
    check(
        "RSA PKCS#1 v1.5 signature".into(),
        spki_ok("sig-pkcs1", &|s| rsa_pub.verify_pkcs1v15(MESSAGE, s).is_ok()),
    );
    for (name, mine) in deterministic(&k) {
        let theirs = std::fs::read(dir.join(format!("fixed-{name}"))).unwrap();
        check(format!("{name} output, byte for byte"), theirs == mine);
    }
    ok
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("write"), Some(dir)) => write(Path::new(dir)),
        (Some("read"), Some(dir)) => {
            if !read(Path::new(dir)) {
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("usage: cross_provider write|read DIR");
            std::process::exit(2);
        }
    }
}
