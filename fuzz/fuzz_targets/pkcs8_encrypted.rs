//! Key pairs and public keys read from arbitrary bytes: encrypted PKCS#8
//! (DER and PEM) under a fixed passphrase, plain PKCS#8 and SPKI (DER and
//! PEM). None may panic, and:
//! - an encrypted key fails only as `from_encrypted_pkcs8_der` documents
//!   (`Decrypt`, `LimitExceeded`, `InvalidKey`, `InvalidLength`), or as
//!   the plain reader of what it decrypted to (`KeyPolicy` for RSA);
//! - a key read writes PKCS#8 (and its public half SPKI) that reads back to
//!   the same key, DER and PEM alike.
//!
//! Time: the key derivation's cost comes from the input, and coffer allows
//! up to 10,000,000 PBKDF2 iterations or scrypt N·r·p = 2^21, seconds per
//! run. Inputs that ask for more than this target's own small bounds are
//! skipped before coffer sees them (the limit checks themselves are unit
//! tests of coffer-core); the seeds ask for less (fuzz/README.md).
#![no_main]

use coffer_core::Error;
use coffer_core::cert::{KeyPair, PublicKey};
use libfuzzer_sys::fuzz_target;
use pkcs8::der::Decode;
use pkcs8::pkcs5::EncryptionScheme;
use pkcs8::pkcs5::pbes2::Kdf;

/// The passphrase the encrypted seeds were written with.
const PASSPHRASE: &[u8] = b"fuzz-passphrase";
/// Most PBKDF2 iterations run here (OpenSSL writes 2,048).
const MAX_ITERATIONS: u32 = 4096;
/// Largest scrypt N·r·p run here (the seeds use N = 1024, r = 1..8, p = 1).
const MAX_SCRYPT_COST: u64 = 1 << 13;

fuzz_target!(|data: &[u8]| {
    if cheap_to_derive(data) {
        encrypted(KeyPair::from_encrypted_pkcs8_der(data, PASSPHRASE));
    }
    plain(KeyPair::from_pkcs8_der(data));
    public(PublicKey::from_spki_der(data));
    let Ok(text) = core::str::from_utf8(data) else { return };
    let der = pkcs8::der::pem::decode_vec(text.as_bytes());
    if der.is_ok_and(|(_, der)| cheap_to_derive(&der)) {
        encrypted(KeyPair::from_encrypted_pkcs8_pem(text, PASSPHRASE));
    }
    plain(KeyPair::from_pkcs8_pem(text));
    public(PublicKey::from_spki_pem(text));
});

/// Whether `der`'s key derivation (if it is encrypted PKCS#8 at all) stays
/// within this target's bounds.
fn cheap_to_derive(der: &[u8]) -> bool {
    let Ok(info) = pkcs8::EncryptedPrivateKeyInfoRef::from_der(der) else { return true };
    let EncryptionScheme::Pbes2(params) = info.encryption_algorithm else { return true };
    match &params.kdf {
        Kdf::Pbkdf2(p) => p.iteration_count <= MAX_ITERATIONS,
        Kdf::Scrypt(p) => p
            .cost_parameter
            .checked_mul(u64::from(p.block_size))
            .and_then(|c| c.checked_mul(u64::from(p.parallelization)))
            .is_some_and(|c| c <= MAX_SCRYPT_COST),
        _ => true,
    }
}

fn encrypted(result: Result<KeyPair, Error>) {
    match result {
        Ok(key) => round_trips(&key),
        Err(e) => assert!(
            matches!(
                e,
                Error::Decrypt
                    | Error::LimitExceeded
                    | Error::InvalidKey
                    | Error::InvalidLength
                    | Error::KeyPolicy
            ),
            "undocumented encrypted PKCS#8 error {e:?}"
        ),
    }
}

fn plain(result: Result<KeyPair, Error>) {
    match result {
        Ok(key) => round_trips(&key),
        Err(e) => assert!(
            matches!(e, Error::InvalidKey | Error::InvalidLength | Error::KeyPolicy),
            "undocumented PKCS#8 error {e:?}"
        ),
    }
}

fn public(result: Result<PublicKey, Error>) {
    match result {
        Ok(key) => {
            let der = key.to_spki_der().expect("a key read writes SPKI");
            assert_eq!(PublicKey::from_spki_der(&der).as_ref(), Ok(&key));
            let pem = key.to_spki_pem().expect("a key read writes PEM");
            assert_eq!(PublicKey::from_spki_pem(&pem).as_ref(), Ok(&key));
        }
        Err(e) => assert!(
            matches!(e, Error::InvalidKey | Error::InvalidLength | Error::KeyPolicy),
            "undocumented SPKI error {e:?}"
        ),
    }
}

fn round_trips(key: &KeyPair) {
    let der = key.to_pkcs8_der().expect("a key read writes PKCS#8");
    let back = KeyPair::from_pkcs8_der(&der).expect("its own PKCS#8 reads");
    assert_eq!(back.public_key(), key.public_key());
    let pem = key.to_pkcs8_pem().expect("a key read writes PEM");
    assert_eq!(KeyPair::from_pkcs8_pem(&pem).map(|k| k.public_key()), Ok(key.public_key()));
    public(Ok(key.public_key()));
}
