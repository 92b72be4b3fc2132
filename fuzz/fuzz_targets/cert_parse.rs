//! The X.509 readers on arbitrary bytes: certificates (DER, PEM and PEM
//! bundles), PKCS#10 requests and revocation lists. None may panic, and
//! whatever one accepts must hold together:
//! - its accessors answer (subject, issuer, serial, names, key, usages,
//!   revoked entries, cRLNumber) without panicking;
//! - its DER re-parses, and its PEM re-reads, to an equal value, and a
//!   bundle of the PEM twice reads as two equal certificates;
//! - the parsed structure encodes back to exactly the bytes read (DER is
//!   canonical: coffer checks signatures over the re-encoded to-be-signed
//!   part, so two encodings of one value must not both parse);
//! - names and key usages it reports print in a form their own parsers
//!   read back to the same value;
//! - a request whose signature verifies yields its own public key.
#![no_main]

use coffer_core::cert::{self, Certificate, Crl, Csr, LeafKeyUsage, San};
use libfuzzer_sys::fuzz_target;
use x509_cert::der::{Decode, Encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Certificate::from_der(data) {
        certificate(&c);
        let reencoded = x509_cert::Certificate::from_der(data).and_then(|x| x.to_der());
        assert_eq!(reencoded.as_deref(), Ok(data), "a certificate coffer accepts is canonical DER");
    }
    if let Ok(r) = Csr::from_der(data) {
        request(&r);
    }
    if let Ok(l) = Crl::from_der(data) {
        revocation_list(&l);
        let reencoded = x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(data)
            .and_then(|x| x.to_der());
        assert_eq!(reencoded.as_deref(), Ok(data), "a CRL coffer accepts is canonical DER");
    }
    let Ok(text) = core::str::from_utf8(data) else { return };
    if let Ok(c) = Certificate::from_pem(text) {
        certificate(&c);
    }
    if let Ok(all) = Certificate::all_from_pem(text) {
        assert!(!all.is_empty() && all.len() <= cert::MAX_BUNDLE_CERTS);
        all.iter().for_each(certificate);
    }
    if let Ok(r) = Csr::from_pem(text) {
        request(&r);
    }
    if let Ok(l) = Crl::from_pem(text) {
        revocation_list(&l);
    }
});

fn certificate(c: &Certificate) {
    let _ = (c.subject(), c.issuer(), c.serial(), c.not_before(), c.not_after());
    let _ = (c.public_key(), c.ca_path_len(), c.leaf_usage());
    if c.ca_path_len().is_some() {
        assert_eq!(c.leaf_usage(), None, "a CA has no leaf usage");
    }
    names_print_and_parse_back(&c.subject_alt_names());
    if let Some(ku) = c.key_usage() {
        let text = ku.to_string();
        if !text.is_empty() {
            assert_eq!(LeafKeyUsage::parse(&text), Ok(ku), "key usage {text:?} reads back");
        }
    }
    assert_eq!(Certificate::from_der(c.to_der()).as_ref(), Ok(c));
    let pem = c.to_pem().expect("a parsed certificate writes PEM");
    assert_eq!(Certificate::from_pem(&pem).as_ref(), Ok(c));
    let bundle = Certificate::all_from_pem(&format!("{pem}{pem}")).expect("a bundle of two");
    assert_eq!(bundle, [c.clone(), c.clone()]);
}

fn request(r: &Csr) {
    let _ = r.subject();
    let key = r.public_key();
    names_print_and_parse_back(&r.requested_sans());
    if let Ok(verified) = cert::verify_csr(r) {
        assert_eq!(Ok(verified), key, "a verified request yields its own key");
    }
    assert_eq!(Csr::from_der(r.to_der()).as_ref(), Ok(r));
    let pem = r.to_pem().expect("a parsed request writes PEM");
    assert_eq!(Csr::from_pem(&pem).as_ref(), Ok(r));
}

fn revocation_list(l: &Crl) {
    let _ = (l.issuer(), l.this_update(), l.next_update(), l.number());
    let revoked = l.revoked();
    assert!(revoked.len() <= cert::MAX_CRL_ENTRIES);
    let _ = l.check_critical_extensions();
    assert_eq!(Crl::from_der(l.to_der()).as_ref(), Ok(l));
    let pem = l.to_pem().expect("a parsed CRL writes PEM");
    assert_eq!(Crl::from_pem(&pem).as_ref(), Ok(l));
}

/// Every name that passes its own rules prints as text that parses back to it.
fn names_print_and_parse_back(names: &[San]) {
    for san in names.iter().filter(|s| s.validate().is_ok()) {
        assert_eq!(San::parse(&san.to_string()).as_ref(), Ok(san), "subject alt name {san}");
    }
}
