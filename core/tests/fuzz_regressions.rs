//! Regressions found by the fuzz campaign (fuzz/regressions/<target>/<name>),
//! each test named after what it found.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use coffer_core::Error;
use coffer_core::cert::{self, CaParams, Certificate, KeyAlgorithm, KeyPair, Validity};
use coffer_core::rng::OsRng;

/// `cert_parse/explicit-default-version-is-not-canonical`: a certificate
/// whose TBS carries the DEFAULT version v1 explicitly (`a0 03 02 01 00`,
/// which DER omits) parsed, although it encodes back to other bytes: one
/// certificate had two encodings, and its signature was checked over the
/// re-encoded bytes, not the ones signed. Non-canonical DER is refused.
#[test]
#[cfg_attr(miri, ignore = "makes a P-256 key and signs a certificate (minutes under miri); reads the clock")]
fn explicit_default_version_is_not_canonical() {
    let der = include_bytes!("data/explicit-default-version.der");
    assert_eq!(&der[8..13], &[0xa0, 0x03, 0x02, 0x01, 0x00], "the explicit v1 the campaign found");
    assert_eq!(Certificate::from_der(der).unwrap_err(), Error::MalformedCertificate);
    // Canonical certificates still parse, and keep their exact bytes.
    let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let params =
        CaParams { subject: "CN=Canonical", validity: Validity::days_from_now(1).unwrap(), path_len: None };
    let good = cert::self_signed_ca(&mut OsRng, &key, &params).unwrap();
    assert_eq!(Certificate::from_der(good.to_der()).unwrap(), good);
}
