//! The options and rules of issue 15 point 4, each shown by an input that
//! keeps it and one that breaks it: subject alternative names (their text
//! forms and validation, in every builder), a server certificate names
//! its host, a leaf never outlives its issuer (and starts with it at the
//! earliest), no zero-day validity, RSA-PSS signing, and the cost limits
//! on reading encrypted PKCS#8.
//!
//! Times are fixed (seconds since the Unix epoch) so that nothing depends
//! on the clock.

#![allow(clippy::unwrap_used, clippy::panic, clippy::arithmetic_side_effects)]

use std::net::IpAddr;

use coffer_core::Error;
use coffer_core::cert::{
    self, CaParams, Certificate, KeyAlgorithm, KeyPair, KeySigner, LeafParams, LeafUsage, San,
    SignatureScheme, Validity,
};
use coffer_core::rng::OsRng;
use pkcs8::der::{Decode, Encode};
use pkcs8::pkcs5::EncryptionScheme;
use pkcs8::pkcs5::pbes2::{Kdf, ScryptParams};

const RSA2048_PKCS8: &[u8] = include_bytes!("data/rsa2048.pkcs8.der");
const P256_PKCS8: &[u8] = include_bytes!("data/p256.pkcs8.der");

/// 2023-11-14T22:13:20Z .. 2033-05-18T03:33:20Z.
const CA_VALIDITY: Validity = Validity { not_before: 1_700_000_000, not_after: 2_000_000_000 };
/// Inside the CA's window.
const LEAF_VALIDITY: Validity = Validity { not_before: 1_750_000_000, not_after: 1_760_000_000 };

fn p256() -> KeyPair {
    KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap()
}

fn ca(key: &KeyPair) -> Certificate {
    let params = CaParams { subject: "CN=Options CA", validity: CA_VALIDITY, path_len: Some(0) };
    cert::self_signed_ca(&mut OsRng, key, &params).unwrap()
}

fn dns(name: &str) -> San {
    San::Dns(name.into())
}

/// Issues a leaf for a fresh P-256 key under a fresh P-256 CA.
fn issue(validity: Validity, usage: LeafUsage, sans: &[San]) -> Result<Certificate, Error> {
    let ca_key = p256();
    let ca = ca(&ca_key);
    let params = LeafParams { validity, usage, sans, key_usage: None };
    cert::issue_leaf(
        &mut OsRng,
        &ca,
        &ca_key,
        ca_key.default_scheme(),
        "CN=agent",
        &p256().public_key(),
        &params,
    )
}

/// Whether `der` holds `tag`, a short length and `value` (an IMPLICIT
/// GeneralName such as rfc822Name `[1]`).
fn holds_tagged(der: &[u8], tag: u8, value: &[u8]) -> bool {
    let mut needle = vec![tag, u8::try_from(value.len()).unwrap()];
    needle.extend_from_slice(value);
    der.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------
// Subject alternative names
// ---------------------------------------------------------------------------

#[test]
fn the_four_prefixed_forms_parse_and_print_back() {
    let cases = [
        ("dns:agent-7.acme.test", dns("agent-7.acme.test")),
        ("dns:*.acme.test", dns("*.acme.test")),
        ("dns:localhost", dns("localhost")),
        ("ip:10.0.0.7", San::Ip(IpAddr::from([10, 0, 0, 7]))),
        ("ip:2001:db8::7", San::Ip("2001:db8::7".parse().unwrap())),
        ("uri:spiffe://acme.test/agent-7", San::Uri("spiffe://acme.test/agent-7".into())),
        (
            "uri:urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
            San::Uri("urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66".into()),
        ),
        ("email:ops@acme.test", San::Email("ops@acme.test".into())),
        ("email:first.last+tag@mail.acme.test", San::Email("first.last+tag@mail.acme.test".into())),
    ];
    for (text, san) in cases {
        assert_eq!(San::parse(text), Ok(san.clone()), "{text}");
        assert_eq!(text.parse::<San>(), Ok(san.clone()), "{text}");
        assert_eq!(san.to_string(), text);
    }
    assert_eq!(San::parse("DNS:acme.test"), Ok(dns("acme.test")), "the prefix in any case");
}

#[test]
fn a_name_without_a_known_prefix_is_refused() {
    for text in ["acme.test", "10.0.0.7", "ops@acme.test", "", ":acme.test", "dn:acme.test", "host:acme.test"]
    {
        assert_eq!(San::parse(text), Err(Error::InvalidSubjectAltName), "{text:?}");
    }
}

/// `san` fails validation, and its text form (`dns:...`) does not parse.
fn assert_refused(san: &San) {
    assert_eq!(san.validate(), Err(Error::InvalidSubjectAltName), "{san:?}");
    assert_eq!(San::parse(&san.to_string()), Err(Error::InvalidSubjectAltName), "{san}");
}

#[test]
fn invalid_dns_names_are_refused() {
    let long_label = "a".repeat(64);
    let max_label = "a".repeat(63);
    // 4 labels of 63 and dots: 255 bytes; 3 of 63 and one of 61: 253.
    let too_long = [max_label.as_str(); 4].join(".");
    let longest = format!("{}.{}", [max_label.as_str(); 3].join("."), "a".repeat(61));
    assert_eq!(longest.len(), 253);
    assert_eq!(dns(&longest).validate(), Ok(()));
    assert_eq!(dns(&format!("{max_label}.test")).validate(), Ok(()));
    for bad in [
        "",
        "bad name.test",
        " acme.test",
        "acme.test.",
        ".acme.test",
        "acme..test",
        "-acme.test",
        "acme-.test",
        "acme_1.test",
        "ac\u{e9}me.test",
        "*",
        "*.",
        "a.*.test",
        "**.acme.test",
        "*acme.test",
        "acme.test/x",
        &format!("{long_label}.test"),
        &too_long,
    ] {
        assert_refused(&dns(bad));
    }
}

#[test]
fn invalid_email_addresses_are_refused() {
    let long_local = "a".repeat(65);
    assert_eq!(San::Email(format!("{}@acme.test", "a".repeat(64))).validate(), Ok(()));
    for bad in [
        "",
        "ops",
        "@acme.test",
        "ops@",
        "ops@@acme.test",
        "o ps@acme.test",
        "ops@acme test",
        "ops@*.acme.test",
        "ops@acme.test.",
        "\u{f6}ps@acme.test",
        "ops@ac\u{e9}me.test",
        &format!("{long_local}@acme.test"),
    ] {
        assert_refused(&San::Email(bad.into()));
    }
}

#[test]
fn uris_need_a_scheme_and_plain_ascii() {
    assert_eq!(San::Uri(format!("https://{}", "a".repeat(2040))).validate(), Ok(()));
    for bad in [
        "",
        "acme.test/agent",
        "://acme.test",
        "1https://acme.test",
        "ht tp://acme.test",
        "https:",
        "https://acme.test/a b",
        "https://acme.test/\u{e9}",
        "https://acme.test/\t",
        &format!("https://{}", "a".repeat(2041)),
    ] {
        assert_refused(&San::Uri(bad.into()));
    }
}

#[test]
fn ip_forms_must_parse() {
    for bad in ["ip:", "ip:10.0.0.300", "ip:10.0.0", "ip:acme.test", "ip:[::1]"] {
        assert_eq!(San::parse(bad), Err(Error::InvalidSubjectAltName), "{bad:?}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "makes P-256 keys and signs certificates: minutes each under miri")]
fn every_builder_refuses_an_invalid_name() {
    let key = p256();
    let ca_key = p256();
    let ca = ca(&ca_key);
    for bad in [dns("bad name"), dns(""), San::Email("ops".into()), San::Uri("no scheme".into())] {
        let sans = [dns("agent.acme.test"), bad.clone()];
        assert_eq!(
            cert::csr(&mut OsRng, &key, "CN=agent", &sans).unwrap_err(),
            Error::InvalidSubjectAltName,
            "{bad:?}"
        );
        let params =
            LeafParams { validity: LEAF_VALIDITY, usage: LeafUsage::Client, sans: &sans, key_usage: None };
        let err = cert::issue_leaf(
            &mut OsRng,
            &ca,
            &ca_key,
            ca_key.default_scheme(),
            "CN=a",
            &key.public_key(),
            &params,
        )
        .unwrap_err();
        assert_eq!(err, Error::InvalidSubjectAltName, "{bad:?}");
        let req = cert::csr(&mut OsRng, &key, "CN=agent", &[dns("agent.acme.test")]).unwrap();
        let err = cert::issue_from_csr(&mut OsRng, &ca, &ca_key, ca_key.default_scheme(), &req, &params)
            .unwrap_err();
        assert_eq!(err, Error::InvalidSubjectAltName, "{bad:?}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "makes P-256 keys and signs certificates: minutes each under miri")]
fn an_email_name_is_written_as_an_rfc822_name() {
    let sans = [dns("agent.acme.test"), San::Email("ops@acme.test".into())];
    let leaf = issue(LEAF_VALIDITY, LeafUsage::ServerAndClient, &sans).unwrap();
    // GeneralName rfc822Name is [1] IMPLICIT IA5String (RFC 5280 §4.2.1.6).
    assert!(holds_tagged(leaf.to_der(), 0x81, b"ops@acme.test"));
    assert!(holds_tagged(leaf.to_der(), 0x82, b"agent.acme.test"));
    let req = cert::csr(&mut OsRng, &p256(), "CN=agent", &sans).unwrap();
    assert!(holds_tagged(req.to_der(), 0x81, b"ops@acme.test"));
}

// ---------------------------------------------------------------------------
// A server names its host
// ---------------------------------------------------------------------------

#[test]
#[cfg_attr(miri, ignore = "makes P-256 keys and signs certificates: minutes each under miri")]
fn a_server_certificate_without_a_dns_or_ip_name_is_refused() {
    let uri = San::Uri("spiffe://acme.test/agent".into());
    let email = San::Email("ops@acme.test".into());
    for usage in [LeafUsage::Server, LeafUsage::ServerAndClient] {
        for sans in [vec![], vec![uri.clone()], vec![email.clone(), uri.clone()]] {
            assert_eq!(
                issue(LEAF_VALIDITY, usage, &sans).unwrap_err(),
                Error::ServerNameMissing,
                "{usage:?} {sans:?}"
            );
        }
        assert!(issue(LEAF_VALIDITY, usage, &[uri.clone(), dns("agent.acme.test")]).is_ok(), "{usage:?}");
        assert!(issue(LEAF_VALIDITY, usage, &[San::Ip(IpAddr::from([10, 0, 0, 7]))]).is_ok(), "{usage:?}");
    }
    // A client needs no name.
    assert!(issue(LEAF_VALIDITY, LeafUsage::Client, &[]).is_ok());
}

#[test]
#[cfg_attr(miri, ignore = "makes P-256 keys and signs certificates: minutes each under miri")]
fn a_server_certificate_from_a_csr_takes_its_host_name_from_the_request() {
    let ca_key = p256();
    let ca = ca(&ca_key);
    let key = p256();
    let params = LeafParams { validity: LEAF_VALIDITY, usage: LeafUsage::Server, sans: &[], key_usage: None };
    let named = cert::csr(&mut OsRng, &key, "CN=agent", &[dns("agent.acme.test")]).unwrap();
    let leaf =
        cert::issue_from_csr(&mut OsRng, &ca, &ca_key, ca_key.default_scheme(), &named, &params).unwrap();
    assert_eq!(leaf.subject_alt_names(), [dns("agent.acme.test")]);
    let unnamed = cert::csr(&mut OsRng, &key, "CN=agent.acme.test", &[]).unwrap();
    let err = cert::issue_from_csr(&mut OsRng, &ca, &ca_key, ca_key.default_scheme(), &unnamed, &params)
        .unwrap_err();
    assert_eq!(err, Error::ServerNameMissing, "the CN is not a host name");
}

#[test]
#[cfg_attr(miri, ignore = "makes P-256 keys and signs certificates: minutes each under miri")]
fn a_subject_that_is_no_distinguished_name_is_invalid_subject_everywhere() {
    let key = p256();
    let ca_key = p256();
    let ca = ca(&ca_key);
    let long = format!("CN={}", "a".repeat(cert::MAX_SUBJECT_LEN));
    for bad in ["", "agent-7", "CN", "=agent", "CN=a,,O=b", long.as_str()] {
        assert_eq!(cert::csr(&mut OsRng, &key, bad, &[]).unwrap_err(), Error::InvalidSubject, "{bad:?}");
        let params = CaParams { subject: bad, validity: CA_VALIDITY, path_len: None };
        assert_eq!(cert::self_signed_ca(&mut OsRng, &key, &params).unwrap_err(), Error::InvalidSubject);
        let params =
            LeafParams { validity: LEAF_VALIDITY, usage: LeafUsage::Client, sans: &[], key_usage: None };
        let err = cert::issue_leaf(
            &mut OsRng,
            &ca,
            &ca_key,
            ca_key.default_scheme(),
            bad,
            &key.public_key(),
            &params,
        )
        .unwrap_err();
        assert_eq!(err, Error::InvalidSubject, "{bad:?}");
    }
    assert!(cert::csr(&mut OsRng, &key, "CN=agent-7,O=Acme", &[]).is_ok());
}

#[test]
fn certificate_rule_errors_say_what_was_wrong() {
    let says = |e: Error, words: &[&str]| {
        let text = e.to_string();
        for w in words {
            assert!(text.contains(w), "{e:?}: `{text}` lacks `{w}`");
        }
    };
    says(Error::InvalidSubject, &["subject", "CN="]);
    says(Error::InvalidSubjectAltName, &["dns:", "ip:", "uri:", "email:"]);
    says(Error::ServerNameMissing, &["server", "DNS name or IP address"]);
    says(Error::OutlivesIssuer, &["outlives its issuer", "notAfter"]);
    says(Error::InvalidValidity, &["zero days"]);
}

// ---------------------------------------------------------------------------
// Validity
// ---------------------------------------------------------------------------

#[test]
#[cfg_attr(miri, ignore = "reads the system clock, which miri's isolation refuses")]
fn zero_days_of_validity_are_refused() {
    assert_eq!(Validity::days_from_now(0), Err(Error::InvalidValidity));
    let one = Validity::days_from_now(1).unwrap();
    assert_eq!(one.not_after - one.not_before, 86_400 + 300);
}

#[test]
#[cfg_attr(miri, ignore = "makes P-256 keys and signs certificates: minutes each under miri")]
fn a_leaf_never_outlives_its_issuer() {
    let sans = [dns("agent.acme.test")];
    let to_the_end = Validity { not_before: LEAF_VALIDITY.not_before, not_after: CA_VALIDITY.not_after };
    let leaf = issue(to_the_end, LeafUsage::Server, &sans).unwrap();
    assert_eq!(leaf.not_after(), CA_VALIDITY.not_after);
    let one_second_more = Validity { not_after: CA_VALIDITY.not_after + 1, ..to_the_end };
    assert_eq!(issue(one_second_more, LeafUsage::Server, &sans).unwrap_err(), Error::OutlivesIssuer);
    assert_eq!(issue(one_second_more, LeafUsage::Client, &[]).unwrap_err(), Error::OutlivesIssuer);
}

#[test]
#[cfg_attr(miri, ignore = "signs with RSA-2048 and P-256: minutes per signature under miri")]
fn the_issuer_rule_holds_for_requests_and_for_any_signer() {
    let ca_key = KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    let ca = ca(&ca_key);
    let key = p256();
    let req = cert::csr(&mut OsRng, &key, "CN=agent", &[dns("agent.acme.test")]).unwrap();
    let long = Validity { not_before: LEAF_VALIDITY.not_before, not_after: CA_VALIDITY.not_after + 86_400 };
    let params = LeafParams { validity: long, usage: LeafUsage::Server, sans: &[], key_usage: None };
    let scheme = SignatureScheme::RsaPssSha256;
    assert_eq!(
        cert::issue_from_csr(&mut OsRng, &ca, &ca_key, scheme, &req, &params).unwrap_err(),
        Error::OutlivesIssuer
    );
    let mut rng = OsRng;
    let mut signer = KeySigner::new(&mut rng, &ca_key, scheme).unwrap();
    assert_eq!(
        cert::issue_from_csr_with(&mut signer, &ca, &req, &params).unwrap_err(),
        Error::OutlivesIssuer
    );
    let sans = [dns("agent.acme.test")];
    let direct = LeafParams { sans: &sans, ..params.clone() };
    assert_eq!(
        cert::issue_leaf_with(&mut signer, &ca, "CN=agent", &key.public_key(), &direct).unwrap_err(),
        Error::OutlivesIssuer
    );
    let fits = LeafParams { validity: LEAF_VALIDITY, ..params };
    assert!(cert::issue_from_csr_with(&mut signer, &ca, &req, &fits).is_ok());
}

#[test]
#[cfg_attr(miri, ignore = "makes P-256 keys and signs certificates: minutes each under miri")]
fn a_leaf_starting_before_its_issuer_starts_with_it() {
    let sans = [dns("agent.acme.test")];
    let early = Validity { not_before: CA_VALIDITY.not_before - 86_400, not_after: LEAF_VALIDITY.not_after };
    let leaf = issue(early, LeafUsage::Server, &sans).unwrap();
    assert_eq!((leaf.not_before(), leaf.not_after()), (CA_VALIDITY.not_before, LEAF_VALIDITY.not_after));
    // Ending before the issuer starts leaves no window at all.
    let before = Validity { not_before: 1_600_000_000, not_after: CA_VALIDITY.not_before - 1 };
    assert_eq!(issue(before, LeafUsage::Server, &sans).unwrap_err(), Error::OutlivesIssuer);
}

// ---------------------------------------------------------------------------
// Signature schemes
// ---------------------------------------------------------------------------

/// `id-RSASSA-PSS` (1.2.840.113549.1.1.10) as DER.
const RSASSA_PSS_OID: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];

#[test]
#[cfg_attr(miri, ignore = "signs with RSA-2048 and P-256: minutes per signature under miri")]
fn an_rsa_ca_signs_with_pss_when_asked_and_a_p256_ca_cannot() {
    let ca_key = KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap();
    let mut rng = OsRng;
    let mut signer = KeySigner::new(&mut rng, &ca_key, SignatureScheme::RsaPssSha256).unwrap();
    let params = CaParams { subject: "CN=PSS CA", validity: CA_VALIDITY, path_len: None };
    let ca = cert::self_signed_ca_with(&mut signer, &params).unwrap();
    assert!(ca.to_der().windows(RSASSA_PSS_OID.len()).any(|w| w == RSASSA_PSS_OID));
    let sans = [dns("agent.acme.test")];
    let leaf_params =
        LeafParams { validity: LEAF_VALIDITY, usage: LeafUsage::Server, sans: &sans, key_usage: None };
    let key = p256();
    let leaf = cert::issue_leaf_with(&mut signer, &ca, "CN=agent", &key.public_key(), &leaf_params).unwrap();
    assert!(leaf.to_der().windows(RSASSA_PSS_OID.len()).any(|w| w == RSASSA_PSS_OID));
    assert_eq!(cert::verify_chain(&leaf, &ca, LEAF_VALIDITY.not_before).unwrap(), key.public_key());

    let p256_key = KeyPair::from_pkcs8_der(P256_PKCS8).unwrap();
    for scheme in [SignatureScheme::RsaPssSha256, SignatureScheme::RsaPkcs1Sha256] {
        assert!(
            matches!(KeySigner::new(&mut rng, &p256_key, scheme), Err(Error::InvalidInput)),
            "{scheme:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Encrypted PKCS#8: the cost a file may ask for
// ---------------------------------------------------------------------------

/// `key` encrypted by coffer, with its key derivation replaced by `kdf`
/// (the ciphertext stays; only the limits are under test).
fn with_kdf(key: &KeyPair, kdf: impl FnOnce(&Kdf) -> Kdf) -> Vec<u8> {
    let der = key.to_encrypted_pkcs8_der(&mut OsRng, b"passphrase").unwrap();
    let mut info = pkcs8::EncryptedPrivateKeyInfoOwned::from_der(&der).unwrap();
    let EncryptionScheme::Pbes2(params) = &mut info.encryption_algorithm else {
        panic!("coffer writes PBES2")
    };
    params.kdf = kdf(&params.kdf);
    info.to_der().unwrap()
}

fn iterations(n: u32) -> impl FnOnce(&Kdf) -> Kdf {
    move |kdf| {
        let mut p = *kdf.pbkdf2().unwrap();
        p.iteration_count = n;
        Kdf::Pbkdf2(p)
    }
}

#[test]
#[cfg_attr(miri, ignore = "encrypts a key with 600,000 PBKDF2 iterations: hours under miri")]
fn pbkdf2_iterations_above_the_limit_are_refused_before_any_derivation() {
    let key = p256();
    assert_eq!(KeyPair::MAX_PBKDF2_ITERATIONS, 10_000_000);
    for n in [KeyPair::MAX_PBKDF2_ITERATIONS + 1, 100_000_000, u32::MAX] {
        let der = with_kdf(&key, iterations(n));
        assert_eq!(
            KeyPair::from_encrypted_pkcs8_der(&der, b"passphrase").unwrap_err(),
            Error::LimitExceeded,
            "{n}"
        );
    }
    // Within the limit, a changed count derives another key: the passphrase is "wrong".
    let der = with_kdf(&key, iterations(1_000));
    assert_eq!(KeyPair::from_encrypted_pkcs8_der(&der, b"passphrase").unwrap_err(), Error::Decrypt);
}

#[test]
#[cfg_attr(miri, ignore = "encrypts a key with 600,000 PBKDF2 iterations: hours under miri")]
fn scrypt_costs_above_the_limit_are_refused_before_any_derivation() {
    let key = p256();
    let scrypt = |n: u64, r: u16, p: u16| {
        move |kdf: &Kdf| {
            let salt = kdf.pbkdf2().unwrap().salt;
            Kdf::Scrypt(ScryptParams {
                salt,
                cost_parameter: n,
                block_size: r,
                parallelization: p,
                key_length: None,
            })
        }
    };
    assert_eq!(KeyPair::MAX_SCRYPT_COST, 1 << 21);
    for (n, r, p) in [(1 << 21, 1, 2), (1 << 18, 8, 2), (1 << 20, 8, 1), (u64::MAX, 8, 1)] {
        let der = with_kdf(&key, scrypt(n, r, p));
        let err = KeyPair::from_encrypted_pkcs8_der(&der, b"passphrase").unwrap_err();
        assert_eq!(err, Error::LimitExceeded, "N={n} r={r} p={p}");
    }
    // Within the limit (OpenSSL's default): derived, and the wrong key for this ciphertext.
    let der = with_kdf(&key, scrypt(1 << 14, 8, 1));
    assert_eq!(KeyPair::from_encrypted_pkcs8_der(&der, b"passphrase").unwrap_err(), Error::Decrypt);
}

#[test]
#[cfg_attr(miri, ignore = "encrypts a key with 600,000 PBKDF2 iterations: hours under miri")]
fn an_encrypted_key_round_trips_and_a_wrong_passphrase_is_refused() {
    let key = KeyPair::from_pkcs8_der(P256_PKCS8).unwrap();
    let pem = key.to_encrypted_pkcs8_pem(&mut OsRng, b"correct horse").unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    let back = KeyPair::from_encrypted_pkcs8_pem(&pem, b"correct horse").unwrap();
    assert_eq!(back.public_key(), key.public_key());
    assert_eq!(KeyPair::from_encrypted_pkcs8_pem(&pem, b"correct horsE").unwrap_err(), Error::Decrypt);
}

// ---------------------------------------------------------------------------
// Renewal
// ---------------------------------------------------------------------------

#[test]
#[cfg_attr(miri, ignore = "makes P-256 keys and signs certificates: minutes each under miri")]
fn renewal_keeps_subject_names_and_usage_and_refuses_what_its_issuer_did_not_issue() {
    let ca_key = p256();
    let issuer = ca(&ca_key);
    let agent = p256();
    let names = [dns("agent.acme.test"), San::Uri("spiffe://acme.test/agent".into())];
    for usage in [LeafUsage::Server, LeafUsage::Client, LeafUsage::ServerAndClient] {
        let params = LeafParams { validity: LEAF_VALIDITY, usage, sans: &names, key_usage: None };
        let scheme = ca_key.default_scheme();
        let old = cert::issue_leaf(
            &mut OsRng,
            &issuer,
            &ca_key,
            scheme,
            "CN=agent,O=Acme",
            &agent.public_key(),
            &params,
        )
        .unwrap();
        assert_eq!(old.leaf_usage(), Some(usage));
        let later =
            Validity { not_before: LEAF_VALIDITY.not_after, not_after: LEAF_VALIDITY.not_after + 86_400 };
        let renewed = cert::renew(&mut OsRng, &issuer, &ca_key, scheme, &old, later, None).unwrap();
        assert_eq!(renewed.subject(), "CN=agent,O=Acme");
        assert_eq!(renewed.subject_alt_names(), names);
        assert_eq!(renewed.leaf_usage(), Some(usage));
        assert_eq!((renewed.not_before(), renewed.not_after()), (later.not_before, later.not_after));
        assert_eq!(renewed.public_key().unwrap(), agent.public_key());
        assert_ne!(renewed.serial(), old.serial());
        cert::verify_chain(&renewed, &issuer, later.not_before + 1).unwrap();
        // The old one may have expired: renewing it still works.
        let rsa = KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap().public_key();
        let rekeyed = cert::renew(&mut OsRng, &issuer, &ca_key, scheme, &old, later, Some(&rsa)).unwrap();
        assert_eq!(rekeyed.public_key().unwrap(), rsa);
    }
    let params = LeafParams { validity: LEAF_VALIDITY, usage: LeafUsage::Client, sans: &[], key_usage: None };
    let scheme = ca_key.default_scheme();
    let old =
        cert::issue_leaf(&mut OsRng, &issuer, &ca_key, scheme, "CN=agent", &agent.public_key(), &params)
            .unwrap();
    // Another CA of the same name (another key) did not issue it.
    let impostor_key = p256();
    let impostor = ca(&impostor_key);
    let err =
        cert::renew(&mut OsRng, &impostor, &impostor_key, scheme, &old, LEAF_VALIDITY, None).unwrap_err();
    assert_eq!(err, Error::IssuerMismatch);
    // A CA is not renewed as a leaf; a renewal never outlives the CA.
    assert_eq!(
        cert::renew(&mut OsRng, &issuer, &ca_key, scheme, &issuer, LEAF_VALIDITY, None).unwrap_err(),
        Error::WrongPurpose
    );
    let past_ca = Validity { not_after: CA_VALIDITY.not_after + 1, ..LEAF_VALIDITY };
    assert_eq!(
        cert::renew(&mut OsRng, &issuer, &ca_key, scheme, &old, past_ca, None).unwrap_err(),
        Error::OutlivesIssuer
    );
}

// ---------------------------------------------------------------------------
// keyUsage
// ---------------------------------------------------------------------------

#[test]
#[cfg_attr(miri, ignore = "makes P-256 keys and signs certificates: minutes each under miri")]
fn key_usage_is_the_keys_default_or_a_choice_within_the_rules() {
    use cert::LeafKeyUsage as Ku;
    let ca_key = p256();
    let issuer = ca(&ca_key);
    let ec = p256().public_key();
    let rsa = KeyPair::from_pkcs8_der(RSA2048_PKCS8).unwrap().public_key();
    let issue_for = |key: &cert::PublicKey, key_usage: Option<Ku>| {
        let params = LeafParams { validity: LEAF_VALIDITY, usage: LeafUsage::Client, sans: &[], key_usage };
        cert::issue_leaf(&mut OsRng, &issuer, &ca_key, ca_key.default_scheme(), "CN=agent", key, &params)
    };
    // Defaults by key type.
    assert_eq!(issue_for(&ec, None).unwrap().key_usage(), Some(Ku::DIGITAL_SIGNATURE | Ku::KEY_AGREEMENT));
    assert_eq!(
        issue_for(&rsa, None).unwrap().key_usage(),
        Some(Ku::DIGITAL_SIGNATURE | Ku::KEY_ENCIPHERMENT)
    );
    // Choices within the rules are written as asked.
    for (key, ku) in [
        (&ec, Ku::DIGITAL_SIGNATURE),
        (&ec, Ku::DIGITAL_SIGNATURE | Ku::CONTENT_COMMITMENT | Ku::KEY_AGREEMENT),
        (&rsa, Ku::DIGITAL_SIGNATURE | Ku::CONTENT_COMMITMENT),
        (&rsa, Ku::DIGITAL_SIGNATURE | Ku::KEY_ENCIPHERMENT),
    ] {
        assert_eq!(issue_for(key, Some(ku)).unwrap().key_usage(), Some(ku), "{ku}");
    }
    // Against the rules: refused.
    for (key, ku) in [
        (&ec, Ku::KEY_AGREEMENT),
        (&ec, Ku::CONTENT_COMMITMENT),
        (&ec, Ku::DIGITAL_SIGNATURE | Ku::KEY_ENCIPHERMENT),
        (&rsa, Ku::DIGITAL_SIGNATURE | Ku::KEY_AGREEMENT),
        (&rsa, Ku::KEY_ENCIPHERMENT),
    ] {
        assert_eq!(issue_for(key, Some(ku)).unwrap_err(), Error::InvalidKeyUsage, "{ku}");
    }
    // Names, as written and read.
    assert_eq!(
        Ku::parse("digitalSignature, key-agreement").unwrap(),
        Ku::DIGITAL_SIGNATURE | Ku::KEY_AGREEMENT
    );
    assert_eq!(
        (Ku::DIGITAL_SIGNATURE | Ku::CONTENT_COMMITMENT).to_string(),
        "digitalSignature,contentCommitment"
    );
    for bad in ["", "signing", "digitalSignature,", "keyCertSign", "cRLSign"] {
        assert_eq!(Ku::parse(bad), Err(Error::InvalidKeyUsage), "{bad:?}");
    }
    // A renewal for the same key keeps a chosen keyUsage; a new key gets its default.
    let chosen = Ku::DIGITAL_SIGNATURE | Ku::CONTENT_COMMITMENT;
    let old = issue_for(&ec, Some(chosen)).unwrap();
    let scheme = ca_key.default_scheme();
    let same = cert::renew(&mut OsRng, &issuer, &ca_key, scheme, &old, LEAF_VALIDITY, None).unwrap();
    assert_eq!(same.key_usage(), Some(chosen));
    let rekeyed = cert::renew(&mut OsRng, &issuer, &ca_key, scheme, &old, LEAF_VALIDITY, Some(&rsa)).unwrap();
    assert_eq!(rekeyed.key_usage(), Some(Ku::DIGITAL_SIGNATURE | Ku::KEY_ENCIPHERMENT));
}
