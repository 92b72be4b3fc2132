//! The rules coffer's certificate code enforces, each shown by an input
//! that breaks exactly one of them and the exact error it gives
//! (STYLE.md rule 19, negative vectors), plus the round trips and serial
//! number properties the certificates must have.
//!
//! Times are fixed (seconds since the Unix epoch) so that validity checks
//! do not depend on the clock.

// miri: every test makes keys and signs certificates (an ECDSA signature takes 1.5 min under miri, RSA 6).
#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::collections::HashSet;
use std::ops::Range;

use coffer_core::Error;
use coffer_core::cert::{
    self, CaParams, Certificate, CertificatePair, Csr, KeyAlgorithm, KeyPair, LeafParams, LeafUsage,
    PublicKey, San, SignatureScheme, Validity,
};
use coffer_core::rng::OsRng;

const RSA2048_PKCS8: &[u8] = include_bytes!("data/rsa2048.pkcs8.der");
const P256_PKCS8: &[u8] = include_bytes!("data/p256.pkcs8.der");

/// 2023-11-14T22:13:20Z .. 2033-05-18T03:33:20Z.
const CA_VALIDITY: Validity = Validity { not_before: 1_700_000_000, not_after: 2_000_000_000 };
/// 2025-06-15T15:06:40Z .. 2025-10-09T06:53:20Z.
const LEAF_VALIDITY: Validity = Validity { not_before: 1_750_000_000, not_after: 1_760_000_000 };
/// A moment inside both windows.
const NOW: u64 = 1_755_000_000;

// ---------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------

fn p256() -> KeyPair {
    KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap()
}

fn ca(key: &KeyPair, subject: &str, validity: Validity) -> Certificate {
    let params = CaParams { subject, validity, path_len: Some(0) };
    cert::self_signed_ca(&mut OsRng, key, &params).unwrap()
}

fn issue(
    ca: &Certificate,
    ca_key: &KeyPair,
    subject: &str,
    key: &PublicKey,
    validity: Validity,
) -> Result<Certificate, Error> {
    let sans = [San::Dns("agent.acme.test".into())];
    let params = LeafParams { validity, usage: LeafUsage::ServerAndClient, sans: &sans, key_usage: None };
    cert::issue_leaf(&mut OsRng, ca, ca_key, ca_key.default_scheme(), subject, key, &params)
}

/// A P-256 CA named `CN=Acme CA` and a leaf `CN=agent,O=Acme` under it.
struct Chain {
    ca_key: KeyPair,
    ca: Certificate,
    leaf_key: KeyPair,
    leaf: Certificate,
}

fn chain() -> Chain {
    chain_with(p256())
}

fn chain_with(ca_key: KeyPair) -> Chain {
    let ca = ca(&ca_key, "CN=Acme CA", CA_VALIDITY);
    let leaf_key = p256();
    let leaf = issue(&ca, &ca_key, "CN=agent,O=Acme", &leaf_key.public_key(), LEAF_VALIDITY).unwrap();
    Chain { ca_key, ca, leaf_key, leaf }
}

// A minimal DER walker, enough to find fields to tamper with. X.509 and
// PKCS#10 use only one-byte tags.

/// Header length and content length of the TLV starting at `at`.
fn tlv_header(der: &[u8], at: usize) -> (usize, usize) {
    let first = der[at + 1];
    if first < 0x80 {
        return (2, usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    let len = der[at + 2..at + 2 + n].iter().fold(0usize, |len, b| (len << 8) | usize::from(*b));
    (2 + n, len)
}

/// The TLVs directly inside the constructed TLV starting at `at`.
fn children(der: &[u8], at: usize) -> Vec<Range<usize>> {
    let (header, len) = tlv_header(der, at);
    let (mut pos, end) = (at + header, at + header + len);
    let mut out = Vec::new();
    while pos < end {
        let (h, l) = tlv_header(der, pos);
        out.push(pos..pos + h + l);
        pos += h + l;
    }
    assert_eq!(pos, end, "children must fill their parent exactly");
    out
}

/// The signature value of a certificate or CSR (`SEQUENCE { body,
/// algorithm, BIT STRING }`): the bytes after the unused-bits octet.
fn signature_value(der: &[u8]) -> Range<usize> {
    let outer = children(der, 0);
    assert_eq!(outer.len(), 3);
    let sig = outer[2].clone();
    assert_eq!(der[sig.start], 0x03, "a BIT STRING");
    let (header, _) = tlv_header(der, sig.start);
    assert_eq!(der[sig.start + header], 0, "no unused bits");
    sig.start + header + 1..sig.end
}

/// Field `index` of a certificate's TBSCertificate (0 version, 1 serial,
/// 2 signature, 3 issuer, 4 validity, 5 subject, 6 SPKI, 7 extensions).
fn tbs_field(der: &[u8], index: usize) -> Range<usize> {
    let tbs = children(der, 0)[0].clone();
    let fields = children(der, tbs.start);
    assert_eq!(der[fields[0].start], 0xa0, "a v3 certificate starts with [0] version");
    fields[index].clone()
}

/// Flips one bit (0x02) of the last byte of a Name: the last character of
/// its last attribute value, which stays a valid string character
/// (`t` becomes `v`, `A` becomes `C`, `7` becomes `5`).
fn flip_last_name_char(der: &mut [u8], name: &Range<usize>) {
    let at = name.end - 1;
    assert!(der[at].is_ascii_alphanumeric(), "the name ends in a letter or digit: {:#04x}", der[at]);
    der[at] ^= 0x02;
}

fn tampered(cert: &Certificate, tamper: impl FnOnce(&mut Vec<u8>)) -> Certificate {
    let mut der = cert.to_der().to_vec();
    tamper(&mut der);
    assert_ne!(der, cert.to_der());
    Certificate::from_der(&der).unwrap()
}

// ---------------------------------------------------------------------------
// The chain is only as good as its CA
// ---------------------------------------------------------------------------

#[test]
fn an_untampered_chain_verifies_and_yields_the_leaf_key() {
    let c = chain();
    assert_eq!(cert::verify_chain(&c.leaf, &c.ca, NOW).unwrap(), c.leaf_key.public_key());
    assert_eq!(c.leaf.issuer(), "CN=Acme CA");
    assert_eq!(c.leaf.subject(), "CN=agent,O=Acme");
    assert_eq!(c.ca.ca_path_len(), Some(Some(0)));
    assert_eq!(c.leaf.ca_path_len(), None);
    assert_eq!(c.leaf.subject_alt_names(), [San::Dns("agent.acme.test".into())]);
}

#[test]
fn a_leaf_signed_by_another_ca_with_the_same_name_fails_with_verify() {
    let c = chain();
    let impostor_key = p256();
    let impostor = ca(&impostor_key, "CN=Acme CA", CA_VALIDITY);
    assert_eq!(impostor.subject(), c.ca.subject());
    let forged =
        issue(&impostor, &impostor_key, "CN=agent,O=Acme", &c.leaf_key.public_key(), LEAF_VALIDITY).unwrap();
    assert_eq!(cert::verify_chain(&forged, &c.ca, NOW).unwrap_err(), Error::Verify);
    assert_eq!(cert::verify_chain(&c.leaf, &impostor, NOW).unwrap_err(), Error::Verify);
}

#[test]
fn a_leaf_signed_by_a_ca_with_another_name_fails_with_issuer_mismatch() {
    let c = chain();
    let other_key = p256();
    let other = ca(&other_key, "CN=Other CA", CA_VALIDITY);
    let leaf = issue(&other, &other_key, "CN=agent,O=Acme", &c.leaf_key.public_key(), LEAF_VALIDITY).unwrap();
    assert_eq!(cert::verify_chain(&leaf, &c.ca, NOW).unwrap_err(), Error::IssuerMismatch);
    assert_eq!(cert::verify_chain(&c.leaf, &other, NOW).unwrap_err(), Error::IssuerMismatch);
}

#[test]
fn a_leaf_used_as_issuer_fails_with_not_a_ca() {
    let c = chain();
    let key = p256();
    let err = issue(&c.leaf, &c.leaf_key, "CN=grandchild", &key.public_key(), LEAF_VALIDITY).unwrap_err();
    assert_eq!(err, Error::NotACa);
}

#[test]
fn a_leaf_used_as_the_trusted_ca_fails_with_not_a_ca() {
    let c = chain();
    assert_eq!(cert::verify_chain(&c.leaf, &c.leaf, NOW).unwrap_err(), Error::NotACa);
    let other = chain_with(p256());
    assert_eq!(cert::verify_chain(&c.leaf, &other.leaf, NOW).unwrap_err(), Error::NotACa);
    // The CA itself, as its own leaf, is fine: a self-signed trust anchor.
    assert_eq!(cert::verify_chain(&c.ca, &c.ca, NOW).unwrap(), c.ca_key.public_key());
}

#[test]
fn issuing_with_a_ca_key_that_does_not_match_the_ca_certificate_fails_with_key_mismatch() {
    let c = chain();
    let wrong = p256();
    let err = issue(&c.ca, &wrong, "CN=agent", &c.leaf_key.public_key(), LEAF_VALIDITY).unwrap_err();
    assert_eq!(err, Error::KeyMismatch);
}

#[test]
fn issuing_with_a_scheme_that_does_not_fit_the_ca_key_fails_with_invalid_input() {
    let c = chain();
    let params = LeafParams { validity: LEAF_VALIDITY, usage: LeafUsage::Client, sans: &[], key_usage: None };
    for scheme in [SignatureScheme::RsaPkcs1Sha256, SignatureScheme::RsaPssSha256] {
        let err =
            cert::issue_leaf(&mut OsRng, &c.ca, &c.ca_key, scheme, "CN=x", &c.leaf_key.public_key(), &params)
                .unwrap_err();
        assert_eq!(err, Error::InvalidInput, "{scheme:?} with a P-256 CA");
    }
    let rsa = KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    let rsa_ca = ca(&rsa, "CN=RSA CA", CA_VALIDITY);
    let err = cert::issue_leaf(
        &mut OsRng,
        &rsa_ca,
        &rsa,
        SignatureScheme::EcdsaP256Sha256,
        "CN=x",
        &c.leaf_key.public_key(),
        &params,
    )
    .unwrap_err();
    assert_eq!(err, Error::InvalidInput);
}

// ---------------------------------------------------------------------------
// Validity windows
// ---------------------------------------------------------------------------

#[test]
fn validity_bounds_are_written_to_the_second() {
    let c = chain();
    assert_eq!((c.ca.not_before(), c.ca.not_after()), (CA_VALIDITY.not_before, CA_VALIDITY.not_after));
    assert_eq!(
        (c.leaf.not_before(), c.leaf.not_after()),
        (LEAF_VALIDITY.not_before, LEAF_VALIDITY.not_after)
    );
}

#[test]
fn an_expired_leaf_fails_with_certificate_expired() {
    let c = chain();
    // notAfter itself is still inside the window (RFC 5280 §4.1.2.5: inclusive).
    assert!(cert::verify_chain(&c.leaf, &c.ca, LEAF_VALIDITY.not_after).is_ok());
    let err = cert::verify_chain(&c.leaf, &c.ca, LEAF_VALIDITY.not_after + 1).unwrap_err();
    assert_eq!(err, Error::CertificateExpired);
    let err = cert::verify_chain(&c.leaf, &c.ca, 1_900_000_000).unwrap_err();
    assert_eq!(err, Error::CertificateExpired);
}

#[test]
fn a_leaf_not_yet_valid_fails_with_certificate_not_yet_valid() {
    let c = chain();
    assert!(cert::verify_chain(&c.leaf, &c.ca, LEAF_VALIDITY.not_before).is_ok());
    let err = cert::verify_chain(&c.leaf, &c.ca, LEAF_VALIDITY.not_before - 1).unwrap_err();
    assert_eq!(err, Error::CertificateNotYetValid);
    let err = cert::verify_chain(&c.leaf, &c.ca, CA_VALIDITY.not_before + 1).unwrap_err();
    assert_eq!(err, Error::CertificateNotYetValid);
}

#[test]
fn an_expired_or_not_yet_valid_ca_fails_even_while_the_leaf_is_valid() {
    let ca_key = p256();
    let short_ca = ca(&ca_key, "CN=Short CA", LEAF_VALIDITY);
    let key = p256();
    // coffer never issues a leaf that outlives its CA: issue it under a
    // longer certificate of the same CA key and name, as a CA re-certified
    // with a shorter validity would have it.
    assert_eq!(
        issue(&short_ca, &ca_key, "CN=agent", &key.public_key(), CA_VALIDITY).unwrap_err(),
        Error::OutlivesIssuer
    );
    let long_ca = ca(&ca_key, "CN=Short CA", CA_VALIDITY);
    let long_leaf = issue(&long_ca, &ca_key, "CN=agent", &key.public_key(), CA_VALIDITY).unwrap();
    assert!(cert::verify_chain(&long_leaf, &short_ca, NOW).is_ok());
    let err = cert::verify_chain(&long_leaf, &short_ca, LEAF_VALIDITY.not_after + 1).unwrap_err();
    assert_eq!(err, Error::CertificateExpired);
    let err = cert::verify_chain(&long_leaf, &short_ca, LEAF_VALIDITY.not_before - 1).unwrap_err();
    assert_eq!(err, Error::CertificateNotYetValid);
}

#[test]
fn an_empty_or_inverted_validity_window_fails_with_invalid_validity() {
    let c = chain();
    for validity in
        [Validity { not_before: NOW, not_after: NOW }, Validity { not_before: NOW, not_after: NOW - 1 }]
    {
        let err = issue(&c.ca, &c.ca_key, "CN=agent", &c.leaf_key.public_key(), validity).unwrap_err();
        assert_eq!(err, Error::InvalidValidity, "{validity:?}");
        let params = CaParams { subject: "CN=CA", validity, path_len: None };
        assert_eq!(cert::self_signed_ca(&mut OsRng, &c.ca_key, &params).unwrap_err(), Error::InvalidValidity);
    }
}

// ---------------------------------------------------------------------------
// Tampering
// ---------------------------------------------------------------------------

#[test]
fn every_flipped_byte_of_a_p256_leaf_signature_fails_with_verify() {
    let c = chain();
    let sig = signature_value(c.leaf.to_der());
    assert!((70..=72).contains(&sig.len()), "a DER ECDSA signature: {} bytes", sig.len());
    for at in sig {
        let bad = tampered(&c.leaf, |der| der[at] ^= 0x01);
        assert_eq!(cert::verify_chain(&bad, &c.ca, NOW).unwrap_err(), Error::Verify, "byte {at}");
    }
}

#[test]
fn every_flipped_byte_of_an_rsa_leaf_signature_fails_with_verify() {
    let ca_key = KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    for scheme in [SignatureScheme::RsaPkcs1Sha256, SignatureScheme::RsaPssSha256] {
        let ca = ca(&ca_key, "CN=RSA CA", CA_VALIDITY);
        let key = p256();
        let sans = [San::Dns("agent.acme.test".into())];
        let params =
            LeafParams { validity: LEAF_VALIDITY, usage: LeafUsage::Server, sans: &sans, key_usage: None };
        let leaf = cert::issue_leaf(&mut OsRng, &ca, &ca_key, scheme, "CN=agent", &key.public_key(), &params)
            .unwrap();
        assert!(cert::verify_chain(&leaf, &ca, NOW).is_ok());
        let sig = signature_value(leaf.to_der());
        assert_eq!(sig.len(), 256);
        for at in sig {
            let bad = tampered(&leaf, |der| der[at] ^= 0x80);
            assert_eq!(
                cert::verify_chain(&bad, &ca, NOW).unwrap_err(),
                Error::Verify,
                "{scheme:?} byte {at}"
            );
        }
    }
}

#[test]
fn a_flipped_byte_in_the_ca_self_signature_fails_with_verify() {
    let c = chain();
    let last = signature_value(c.ca.to_der()).end - 1;
    let bad_ca = tampered(&c.ca, |der| der[last] ^= 0x01);
    assert_eq!(cert::verify_chain(&c.leaf, &bad_ca, NOW).unwrap_err(), Error::Verify);
}

#[test]
fn a_flipped_byte_in_the_leaf_subject_fails_with_verify() {
    let c = chain();
    let subject = tbs_field(c.leaf.to_der(), 5);
    let bad = tampered(&c.leaf, |der| flip_last_name_char(der, &subject));
    // The subject is not compared with anything, so only the signature catches it.
    assert_eq!(bad.subject(), "CN=agenv,O=Acme");
    assert_eq!(cert::verify_chain(&bad, &c.ca, NOW).unwrap_err(), Error::Verify);
}

#[test]
fn a_flipped_byte_in_the_leaf_issuer_fails_with_issuer_mismatch() {
    let c = chain();
    let issuer = tbs_field(c.leaf.to_der(), 3);
    let bad = tampered(&c.leaf, |der| flip_last_name_char(der, &issuer));
    assert_eq!(bad.issuer(), "CN=Acme CC");
    assert_eq!(cert::verify_chain(&bad, &c.ca, NOW).unwrap_err(), Error::IssuerMismatch);
}

#[test]
fn a_flipped_byte_in_the_ca_subject_fails_with_issuer_mismatch() {
    let c = chain();
    let subject = tbs_field(c.ca.to_der(), 5);
    let bad_ca = tampered(&c.ca, |der| flip_last_name_char(der, &subject));
    assert_eq!(bad_ca.subject(), "CN=Acme CC");
    assert_eq!(cert::verify_chain(&c.leaf, &bad_ca, NOW).unwrap_err(), Error::IssuerMismatch);
    // As its own leaf, its unchanged issuer no longer names its subject.
    assert_eq!(cert::verify_chain(&bad_ca, &bad_ca, NOW).unwrap_err(), Error::IssuerMismatch);
    // With issuer and subject both changed the names agree again, and only
    // the self-signature catches it.
    let issuer = tbs_field(c.ca.to_der(), 3);
    let renamed = tampered(&bad_ca, |der| flip_last_name_char(der, &issuer));
    assert_eq!((renamed.issuer().as_str(), renamed.subject().as_str()), ("CN=Acme CC", "CN=Acme CC"));
    assert_eq!(cert::verify_chain(&renamed, &renamed, NOW).unwrap_err(), Error::Verify);
}

#[test]
fn a_flipped_byte_in_the_leaf_public_key_fails_with_verify() {
    let key = KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    let ca_key = p256();
    let ca = ca(&ca_key, "CN=Acme CA", CA_VALIDITY);
    let leaf = issue(&ca, &ca_key, "CN=agent", &key.public_key(), LEAF_VALIDITY).unwrap();
    let spki = tbs_field(leaf.to_der(), 6);
    // A byte in the middle of the RSA modulus: still a well-formed key.
    let at = spki.start + spki.len() / 2;
    let bad = tampered(&leaf, |der| der[at] ^= 0x01);
    assert_ne!(bad.public_key().unwrap(), key.public_key());
    assert_eq!(cert::verify_chain(&bad, &ca, NOW).unwrap_err(), Error::Verify);
}

// ---------------------------------------------------------------------------
// Key pairs
// ---------------------------------------------------------------------------

#[test]
fn a_key_that_does_not_match_its_certificate_fails_with_key_mismatch() {
    let c = chain();
    assert_eq!(CertificatePair::new(p256(), c.leaf.clone()).unwrap_err(), Error::KeyMismatch);
    let rsa = KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    assert_eq!(CertificatePair::new(rsa, c.leaf.clone()).unwrap_err(), Error::KeyMismatch);
    let ca_pair = CertificatePair::new(c.ca_key, c.leaf.clone());
    assert_eq!(ca_pair.unwrap_err(), Error::KeyMismatch);

    let pair = CertificatePair::new(c.leaf_key, c.leaf.clone()).unwrap();
    assert_eq!(pair.certificate(), &c.leaf);
    assert_eq!(pair.key().public_key(), c.leaf.public_key().unwrap());
}

// ---------------------------------------------------------------------------
// CSRs
// ---------------------------------------------------------------------------

fn csr_for(key: &KeyPair) -> Csr {
    let sans = [San::Dns("agent-7.acme.test".into()), San::Uri("spiffe://acme.test/agent-7".into())];
    cert::csr(&mut OsRng, key, "CN=agent-7,O=Acme", &sans).unwrap()
}

fn tampered_csr(csr: &Csr, tamper: impl FnOnce(&mut Vec<u8>)) -> Csr {
    let mut der = csr.to_der().to_vec();
    tamper(&mut der);
    assert_ne!(der, csr.to_der());
    Csr::from_der(&der).unwrap()
}

#[test]
fn a_csr_verifies_and_carries_its_subject_key_and_names() {
    let key = p256();
    let csr = csr_for(&key);
    assert_eq!(cert::verify_csr(&csr).unwrap(), key.public_key());
    assert_eq!(csr.public_key().unwrap(), key.public_key());
    assert_eq!(csr.subject(), "CN=agent-7,O=Acme");
    assert_eq!(
        csr.requested_sans(),
        [San::Dns("agent-7.acme.test".into()), San::Uri("spiffe://acme.test/agent-7".into())]
    );
}

#[test]
fn a_csr_with_a_flipped_signature_byte_fails_with_verify() {
    let c = chain();
    for key in [p256(), KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap()] {
        let csr = csr_for(&key);
        let last = signature_value(csr.to_der()).end - 1;
        let bad = tampered_csr(&csr, |der| der[last] ^= 0x01);
        assert_eq!(cert::verify_csr(&bad).unwrap_err(), Error::Verify);
        let params =
            LeafParams { validity: LEAF_VALIDITY, usage: LeafUsage::Client, sans: &[], key_usage: None };
        let err =
            cert::issue_from_csr(&mut OsRng, &c.ca, &c.ca_key, c.ca_key.default_scheme(), &bad, &params)
                .unwrap_err();
        assert_eq!(err, Error::Verify);
    }
}

#[test]
fn a_csr_with_a_flipped_subject_byte_fails_with_verify() {
    let key = KeyPair::from_pkcs8_der(P256_PKCS8).unwrap();
    let csr = csr_for(&key);
    let der = csr.to_der();
    // CertificationRequestInfo: version, subject, SPKI, [0] attributes.
    let info = children(der, 0)[0].clone();
    let subject = children(der, info.start)[1].clone();
    let bad = tampered_csr(&csr, |der| flip_last_name_char(der, &subject));
    assert_eq!(bad.subject(), "CN=agent-5,O=Acme");
    assert_eq!(cert::verify_csr(&bad).unwrap_err(), Error::Verify);
}

// ---------------------------------------------------------------------------
// Serial numbers
// ---------------------------------------------------------------------------

#[test]
fn serial_numbers_are_positive_at_most_20_bytes_and_all_different() {
    let c = chain();
    let mut certs = vec![c.ca.clone(), c.leaf.clone()];
    for i in 0..30 {
        let key = p256();
        certs.push(
            issue(&c.ca, &c.ca_key, &format!("CN=agent-{i}"), &key.public_key(), LEAF_VALIDITY).unwrap(),
        );
    }
    certs.push(ca(&c.ca_key, "CN=Acme CA", CA_VALIDITY));
    let mut seen = HashSet::new();
    for cert in &certs {
        let serial = cert.serial();
        assert!(
            !serial.is_empty() && serial.len() <= 20,
            "RFC 5280 §4.1.2.2: at most 20 octets: {serial:02x?}"
        );
        assert_eq!(serial[0] & 0x80, 0, "positive: {serial:02x?}");
        assert_ne!(serial[0], 0, "minimal DER, and not zero: {serial:02x?}");
        assert!(seen.insert(serial.to_vec()), "serial repeated: {serial:02x?}");
        // The serial survives a parse of the DER.
        assert_eq!(Certificate::from_der(cert.to_der()).unwrap().serial(), serial);
    }
    assert_eq!(seen.len(), certs.len());
}

// ---------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------

#[test]
fn certificates_round_trip_through_der_and_pem() {
    let c = chain();
    for cert in [&c.ca, &c.leaf] {
        let from_der = Certificate::from_der(cert.to_der()).unwrap();
        assert_eq!(&from_der, cert);
        assert_eq!(from_der.to_der(), cert.to_der());
        let pem = cert.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
        assert!(pem.ends_with("-----END CERTIFICATE-----\n"), "{pem}");
        assert!(pem.lines().all(|l| l.len() <= 64), "{pem}");
        let from_pem = Certificate::from_pem(&pem).unwrap();
        assert_eq!(&from_pem, cert);
        assert_eq!(from_pem.to_pem().unwrap(), pem);
        assert_eq!(from_pem.public_key().unwrap(), cert.public_key().unwrap());
    }
}

#[test]
fn csrs_round_trip_through_der_and_pem() {
    let key = KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    let csr = csr_for(&key);
    let from_der = Csr::from_der(csr.to_der()).unwrap();
    assert_eq!(from_der, csr);
    assert_eq!(from_der.to_der(), csr.to_der());
    let pem = csr.to_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"), "{pem}");
    assert!(pem.ends_with("-----END CERTIFICATE REQUEST-----\n"), "{pem}");
    let from_pem = Csr::from_pem(&pem).unwrap();
    assert_eq!(from_pem, csr);
    assert_eq!(from_pem.to_pem().unwrap(), pem);
    assert_eq!(cert::verify_csr(&from_pem).unwrap(), key.public_key());
}

#[test]
fn a_certificate_and_a_csr_are_not_read_as_each_other() {
    let c = chain();
    let csr = csr_for(&c.leaf_key);
    assert_eq!(Certificate::from_pem(&csr.to_pem().unwrap()).unwrap_err(), Error::MalformedCertificate);
    assert_eq!(Csr::from_pem(&c.leaf.to_pem().unwrap()).unwrap_err(), Error::MalformedCertificate);
    assert_eq!(Certificate::from_der(csr.to_der()).unwrap_err(), Error::MalformedCertificate);
    assert_eq!(Csr::from_der(c.leaf.to_der()).unwrap_err(), Error::MalformedCertificate);
    let der = c.leaf.to_der();
    assert_eq!(Certificate::from_der(&der[..der.len() - 1]).unwrap_err(), Error::MalformedCertificate);
    let mut longer = der.to_vec();
    longer.push(0);
    assert_eq!(Certificate::from_der(&longer).unwrap_err(), Error::MalformedCertificate);
}

#[test]
fn encrypted_pkcs8_round_trips_with_the_right_passphrase_and_fails_with_decrypt_otherwise() {
    let key = p256();
    let pem = key.to_encrypted_pkcs8_pem(&mut OsRng, b"correct horse battery staple").unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"), "{pem}");
    assert!(pem.ends_with("-----END ENCRYPTED PRIVATE KEY-----\n"), "{pem}");

    let back = KeyPair::from_encrypted_pkcs8_pem(&pem, b"correct horse battery staple").unwrap();
    assert_eq!(back.public_key(), key.public_key());
    assert_eq!(back.to_pkcs8_der().unwrap(), key.to_pkcs8_der().unwrap());

    let wrong = KeyPair::from_encrypted_pkcs8_pem(&pem, b"correct horse battery stapler");
    assert_eq!(wrong.unwrap_err(), Error::Decrypt);

    // Refused without running the key derivation.
    assert_eq!(key.to_encrypted_pkcs8_pem(&mut OsRng, b"").unwrap_err(), Error::InvalidInput);
    let plain = key.to_pkcs8_pem().unwrap();
    assert_eq!(KeyPair::from_encrypted_pkcs8_pem(&plain, b"x").unwrap_err(), Error::InvalidKey);
    assert_eq!(KeyPair::from_pkcs8_pem(&pem).unwrap_err(), Error::InvalidKey);
}
