//! Key importers (PKCS#8, SPKI, SEC1, PEM) never panic on arbitrary input.
#![no_main]

use coffer_core::p256::{P256PublicKey, P256SecretKey};
use coffer_core::rsa::{RsaPrivateKey, RsaPublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = P256SecretKey::from_pkcs8_der(data);
    let _ = P256PublicKey::from_spki_der(data);
    let _ = P256PublicKey::from_sec1_bytes(data);
    let _ = RsaPrivateKey::from_pkcs8_der(data);
    let _ = RsaPublicKey::from_spki_der(data);
    if let Ok(s) = core::str::from_utf8(data) {
        let _ = P256SecretKey::from_pkcs8_pem(s);
        let _ = P256PublicKey::from_spki_pem(s);
        let _ = RsaPrivateKey::from_pkcs8_pem(s);
        let _ = RsaPublicKey::from_spki_pem(s);
    }
});
