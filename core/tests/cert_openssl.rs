//! Interoperability of coffer's certificates and keys with the OpenSSL 3
//! command-line tool, in both directions, and a real mutual-TLS handshake
//! between `openssl s_server` and `openssl s_client` on coffer-made
//! certificates.
//!
//! Every test needs the `openssl` binary on `PATH` and fails, saying so,
//! when it is absent (STYLE.md rule 21): nothing here is skipped.
//! Each test works in its own directory under the system temp dir, removed
//! when the test ends.

// miri: runs the openssl command-line tool and a TLS handshake over sockets, and miri cannot start processes.
#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use coffer_core::Error;
use coffer_core::cert::{
    self, CaParams, Certificate, CertificatePair, Csr, KeyAlgorithm, KeyPair, LeafParams, LeafUsage,
    PublicKey, San, SignatureScheme, Validity,
};
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaKeySize;

const RSA2048_PKCS8: &[u8] = include_bytes!("data/rsa2048.pkcs8.der");
const RSA3072_PKCS8: &[u8] = include_bytes!("data/rsa3072.pkcs8.der");
const RSA4096_PKCS8: &[u8] = include_bytes!("data/rsa4096.pkcs8.der");
const P256_PKCS8: &[u8] = include_bytes!("data/p256.pkcs8.der");

/// How long any wait on a running `openssl` process may take.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// Running openssl in a scratch directory
// ---------------------------------------------------------------------------

const OPENSSL_MISSING: &str = "these tests need the OpenSSL 3 command-line tool `openssl` on PATH, \
     and it could not be started; install it (for example `apt-get install openssl`) and rerun";

/// A fresh directory under the system temp dir, removed on drop.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(test: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("coffer-cert-openssl-{}-{test}-{n}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) {
        std::fs::write(self.path(name), contents).unwrap();
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    }

    fn read_string(&self, name: &str) -> String {
        String::from_utf8(self.read(name)).unwrap()
    }

    /// Runs `openssl args...` here with stdin closed; fails the test with a
    /// clear message when the binary is missing.
    fn openssl(&self, args: &[&str]) -> Output {
        openssl_command(&self.dir).args(args).stdin(Stdio::null()).output().expect(OPENSSL_MISSING)
    }

    /// Runs openssl, asserts exit status 0 and returns stdout and stderr.
    fn openssl_ok(&self, args: &[&str]) -> (String, String) {
        let out = self.openssl(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "`openssl {}` failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
            args.join(" "),
            out.status
        );
        (stdout, stderr)
    }

    /// Runs openssl, asserts it exits with `code` (not 0) and returns stdout + stderr.
    fn openssl_fails(&self, code: i32, args: &[&str]) -> String {
        assert_ne!(code, 0);
        let out = self.openssl(args);
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            out.status.code(),
            Some(code),
            "`openssl {}` must exit with {code}:\n{all}",
            args.join(" ")
        );
        all
    }

    /// `openssl verify -CAfile ca leaf` must print exactly `leaf: OK`.
    fn assert_openssl_verifies(&self, ca: &str, leaf: &str) {
        let (stdout, _) = self.openssl_ok(&["verify", "-CAfile", ca, leaf]);
        assert_eq!(stdout, format!("{leaf}: OK\n"));
    }

    /// `openssl x509 -text -noout`, with every line trimmed so blocks can be
    /// matched without depending on indentation or trailing spaces.
    fn x509_text(&self, cert: &str) -> String {
        let (stdout, _) = self.openssl_ok(&["x509", "-in", cert, "-noout", "-text"]);
        trim_lines(&stdout)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn openssl_command(dir: &Path) -> Command {
    let mut cmd = Command::new("openssl");
    cmd.current_dir(dir);
    // A stray config (OPENSSL_CONF) could change defaults under the tests.
    cmd.env_remove("OPENSSL_CONF");
    cmd
}

fn trim_lines(text: &str) -> String {
    text.lines().map(str::trim).collect::<Vec<_>>().join("\n")
}

/// The value line printed under `header` (for example a key identifier).
fn line_after<'a>(text: &'a str, header: &str) -> &'a str {
    let mut lines = text.lines();
    lines.find(|l| *l == header).unwrap_or_else(|| panic!("no line {header:?} in:\n{text}"));
    lines.next().unwrap()
}

// ---------------------------------------------------------------------------
// coffer objects
// ---------------------------------------------------------------------------

fn fixture(der: &[u8]) -> KeyPair {
    KeyPair::from_pkcs8_der(der).unwrap()
}

fn validity() -> Validity {
    Validity::days_from_now(30).unwrap()
}

/// A day shorter than [`validity`]: a leaf made after its CA must not end
/// after it (a leaf never outlives its issuer).
fn leaf_validity() -> Validity {
    Validity::days_from_now(29).unwrap()
}

fn ca_with(key: &KeyPair, subject: &str, path_len: Option<u8>) -> Certificate {
    let params = CaParams { subject, validity: validity(), path_len };
    cert::self_signed_ca(&mut OsRng, key, &params).unwrap()
}

fn leaf_with(
    ca: &Certificate,
    ca_key: &KeyPair,
    scheme: SignatureScheme,
    subject: &str,
    key: &PublicKey,
    usage: LeafUsage,
    sans: &[San],
) -> Certificate {
    let params = LeafParams { validity: leaf_validity(), usage, sans, key_usage: None };
    cert::issue_leaf(&mut OsRng, ca, ca_key, scheme, subject, key, &params).unwrap()
}

fn dns(name: &str) -> San {
    San::Dns(name.into())
}

/// Writes a coffer CA and a leaf under it signed with `scheme` and asserts
/// that `openssl verify` accepts the chain and that key and leaf match.
fn assert_openssl_verifies_chain(test: &str, ca_key: &KeyPair, leaf_key: &KeyPair, scheme: SignatureScheme) {
    let dir = Scratch::new(test);
    let ca = ca_with(ca_key, "CN=Coffer Test CA,O=Coffer", Some(0));
    let sans = [dns("agent.coffer.test")];
    let leaf = leaf_with(
        &ca,
        ca_key,
        scheme,
        "CN=agent,O=Coffer",
        &leaf_key.public_key(),
        LeafUsage::ServerAndClient,
        &sans,
    );
    assert_eq!(cert::verify_chain_now(&leaf, &ca).unwrap(), leaf_key.public_key());
    dir.write("ca.pem", ca.to_pem().unwrap());
    dir.write("leaf.pem", leaf.to_pem().unwrap());
    dir.assert_openssl_verifies("ca.pem", "leaf.pem");
    // The CA verifies against itself as a trust anchor, too.
    dir.assert_openssl_verifies("ca.pem", "ca.pem");
    // And the pair loads as a matching key and certificate.
    dir.write("leaf.key", leaf_key.to_pkcs8_pem().unwrap().as_bytes());
    let (stdout, _) = dir.openssl_ok(&["x509", "-in", "leaf.pem", "-noout", "-pubkey"]);
    let (key_pub, _) = dir.openssl_ok(&["pkey", "-in", "leaf.key", "-pubout"]);
    assert_eq!(stdout, key_pub);
}

// ---------------------------------------------------------------------------
// openssl reads what coffer writes
// ---------------------------------------------------------------------------

#[test]
fn openssl_cli_is_installed_and_is_version_3() {
    let dir = Scratch::new("version");
    let (stdout, _) = dir.openssl_ok(&["version"]);
    assert!(stdout.starts_with("OpenSSL 3."), "these tests need OpenSSL 3, found: {stdout}");
}

#[test]
fn openssl_verifies_a_p256_ca_and_p256_leaf() {
    let ca_key = fixture(P256_PKCS8);
    let leaf_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    assert_openssl_verifies_chain("p256", &ca_key, &leaf_key, SignatureScheme::EcdsaP256Sha256);
}

#[test]
fn openssl_verifies_an_rsa2048_ca_with_pkcs1v15_over_an_rsa3072_leaf() {
    let (ca_key, leaf_key) = (fixture(RSA2048_PKCS8), fixture(RSA3072_PKCS8));
    assert_openssl_verifies_chain("rsa2048", &ca_key, &leaf_key, SignatureScheme::RsaPkcs1Sha256);
}

#[test]
fn openssl_verifies_an_rsa3072_ca_with_pkcs1v15_over_an_rsa4096_leaf() {
    let (ca_key, leaf_key) = (fixture(RSA3072_PKCS8), fixture(RSA4096_PKCS8));
    assert_openssl_verifies_chain("rsa3072", &ca_key, &leaf_key, SignatureScheme::RsaPkcs1Sha256);
}

#[test]
fn openssl_verifies_an_rsa4096_ca_with_pkcs1v15_over_an_rsa2048_leaf() {
    let (ca_key, leaf_key) = (fixture(RSA4096_PKCS8), fixture(RSA2048_PKCS8));
    assert_openssl_verifies_chain("rsa4096", &ca_key, &leaf_key, SignatureScheme::RsaPkcs1Sha256);
}

#[test]
fn openssl_verifies_an_rsa_ca_signing_with_pss_over_an_rsa_leaf() {
    let (ca_key, leaf_key) = (fixture(RSA3072_PKCS8), fixture(RSA2048_PKCS8));
    assert_openssl_verifies_chain("pss", &ca_key, &leaf_key, SignatureScheme::RsaPssSha256);
}

#[test]
fn openssl_verifies_a_p256_leaf_under_an_rsa_ca_and_an_rsa_leaf_under_a_p256_ca() {
    let (rsa, p256) = (fixture(RSA2048_PKCS8), fixture(P256_PKCS8));
    assert_openssl_verifies_chain("mixed-rsa-ca", &rsa, &p256, SignatureScheme::RsaPkcs1Sha256);
    assert_openssl_verifies_chain("mixed-p256-ca", &p256, &rsa, SignatureScheme::EcdsaP256Sha256);
}

#[test]
fn openssl_verify_rejects_a_coffer_leaf_under_another_ca_with_the_same_name() {
    // The harness must be able to see a failure, or the tests above prove nothing.
    let dir = Scratch::new("wrong-ca");
    let (key_a, key_b) = (fixture(P256_PKCS8), KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap());
    let ca_a = ca_with(&key_a, "CN=Coffer Test CA", Some(0));
    let ca_b = ca_with(&key_b, "CN=Coffer Test CA", Some(0));
    let leaf_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let leaf = leaf_with(
        &ca_b,
        &key_b,
        SignatureScheme::EcdsaP256Sha256,
        "CN=agent",
        &leaf_key.public_key(),
        LeafUsage::Client,
        &[],
    );
    dir.write("ca_a.pem", ca_a.to_pem().unwrap());
    dir.write("leaf.pem", leaf.to_pem().unwrap());
    // The leaf's authority key id names the other CA's key, so openssl does
    // not even take ca_a for its issuer.
    let out = dir.openssl_fails(2, &["verify", "-CAfile", "ca_a.pem", "leaf.pem"]);
    assert!(out.contains("error 20 at 0 depth lookup: unable to get local issuer certificate\n"), "{out}");
    assert!(out.contains("error leaf.pem: verification failed\n"), "{out}");
}

#[test]
fn openssl_text_shows_the_ca_and_leaf_extensions_coffer_wrote() {
    let dir = Scratch::new("text");
    let ca_key = fixture(P256_PKCS8);
    let ca = ca_with(&ca_key, "CN=Coffer Test CA,O=Coffer", Some(3));
    let sans = [
        dns("agent-7.acme.test"),
        San::Ip(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))),
        San::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        San::Uri("spiffe://acme.test/agent-7".into()),
    ];
    let rsa_leaf_key = fixture(RSA2048_PKCS8);
    let rsa_leaf = leaf_with(
        &ca,
        &ca_key,
        SignatureScheme::EcdsaP256Sha256,
        "CN=agent-7,O=Acme",
        &rsa_leaf_key.public_key(),
        LeafUsage::ServerAndClient,
        &sans,
    );
    let p256_leaf_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let p256_leaf = leaf_with(
        &ca,
        &ca_key,
        SignatureScheme::EcdsaP256Sha256,
        "CN=agent-8",
        &p256_leaf_key.public_key(),
        LeafUsage::Client,
        &[],
    );
    dir.write("ca.pem", ca.to_pem().unwrap());
    dir.write("rsa_leaf.pem", rsa_leaf.to_pem().unwrap());
    dir.write("p256_leaf.pem", p256_leaf.to_pem().unwrap());

    let ca_text = dir.x509_text("ca.pem");
    for expected in [
        "Version: 3 (0x2)",
        "Signature Algorithm: ecdsa-with-SHA256",
        "Issuer: O = Coffer, CN = Coffer Test CA",
        "Subject: O = Coffer, CN = Coffer Test CA",
        "X509v3 Basic Constraints: critical\nCA:TRUE, pathlen:3",
        "X509v3 Key Usage: critical\nCertificate Sign, CRL Sign",
        "X509v3 Subject Key Identifier:",
        "X509v3 Authority Key Identifier:",
    ] {
        assert!(ca_text.contains(expected), "CA text lacks {expected:?}:\n{ca_text}");
    }
    assert!(!ca_text.contains("Extended Key Usage"), "{ca_text}");

    let rsa_text = dir.x509_text("rsa_leaf.pem");
    for expected in [
        "Version: 3 (0x2)",
        "Issuer: O = Coffer, CN = Coffer Test CA",
        "Subject: O = Acme, CN = agent-7",
        "Public Key Algorithm: rsaEncryption",
        "X509v3 Basic Constraints: critical\nCA:FALSE",
        "X509v3 Key Usage: critical\nDigital Signature, Key Encipherment",
        "X509v3 Extended Key Usage:\nTLS Web Server Authentication, TLS Web Client Authentication",
        "X509v3 Subject Alternative Name:\nDNS:agent-7.acme.test, IP Address:127.0.0.1, \
         IP Address:0:0:0:0:0:0:0:1, URI:spiffe://acme.test/agent-7",
    ] {
        assert!(rsa_text.contains(expected), "RSA leaf text lacks {expected:?}:\n{rsa_text}");
    }

    let p256_text = dir.x509_text("p256_leaf.pem");
    for expected in [
        "Subject: CN = agent-8",
        "Public Key Algorithm: id-ecPublicKey",
        "X509v3 Basic Constraints: critical\nCA:FALSE",
        "X509v3 Key Usage: critical\nDigital Signature, Key Agreement",
        "X509v3 Extended Key Usage:\nTLS Web Client Authentication",
    ] {
        assert!(p256_text.contains(expected), "P-256 leaf text lacks {expected:?}:\n{p256_text}");
    }
    assert!(!p256_text.contains("Subject Alternative Name"), "{p256_text}");

    // Key identifiers: the CA's AKI is its own SKI, each leaf's AKI is the
    // CA's SKI, and the leaves' SKIs are their own.
    let ca_ski = line_after(&ca_text, "X509v3 Subject Key Identifier:");
    assert_eq!(ca_ski.len(), 20 * 3 - 1, "a 20-byte key id: {ca_ski}");
    assert_eq!(line_after(&ca_text, "X509v3 Authority Key Identifier:"), ca_ski);
    for text in [&rsa_text, &p256_text] {
        assert_eq!(line_after(text, "X509v3 Authority Key Identifier:"), ca_ski);
        assert_ne!(line_after(text, "X509v3 Subject Key Identifier:"), ca_ski);
    }
    assert_ne!(
        line_after(&rsa_text, "X509v3 Subject Key Identifier:"),
        line_after(&p256_text, "X509v3 Subject Key Identifier:")
    );

    // openssl's own purpose checks agree with the extended key usages.
    let (purpose, _) = dir.openssl_ok(&["x509", "-in", "ca.pem", "-noout", "-purpose"]);
    assert!(purpose.contains("SSL server CA : Yes\n"), "{purpose}");
    let (purpose, _) = dir.openssl_ok(&["x509", "-in", "rsa_leaf.pem", "-noout", "-purpose"]);
    assert!(purpose.contains("SSL client : Yes\n"), "{purpose}");
    assert!(purpose.contains("SSL server : Yes\n"), "{purpose}");
    assert!(purpose.contains("SSL server CA : No\n"), "{purpose}");
    let (purpose, _) = dir.openssl_ok(&["x509", "-in", "p256_leaf.pem", "-noout", "-purpose"]);
    assert!(purpose.contains("SSL client : Yes\n"), "{purpose}");
    assert!(purpose.contains("SSL server : No\n"), "{purpose}");
}

#[test]
fn openssl_text_names_the_pss_parameters_coffer_signs_with() {
    let dir = Scratch::new("pss-text");
    let ca_key = fixture(RSA2048_PKCS8);
    let ca = ca_with(&ca_key, "CN=Coffer PSS CA", Some(0));
    let leaf_key = fixture(P256_PKCS8);
    let leaf = leaf_with(
        &ca,
        &ca_key,
        SignatureScheme::RsaPssSha256,
        "CN=agent",
        &leaf_key.public_key(),
        LeafUsage::Server,
        &[dns("agent.test")],
    );
    dir.write("ca.pem", ca.to_pem().unwrap());
    dir.write("leaf.pem", leaf.to_pem().unwrap());
    dir.assert_openssl_verifies("ca.pem", "leaf.pem");
    let text = dir.x509_text("leaf.pem");
    for expected in [
        "Signature Algorithm: rsassaPss",
        "Hash Algorithm: sha256",
        "Mask Algorithm: mgf1 with sha256",
        "Salt Length: 0x20",
        "Trailer Field: 0x01 (default)",
    ] {
        assert!(text.contains(expected), "PSS leaf text lacks {expected:?}:\n{text}");
    }
    // The CA's own signature stays PKCS#1 v1.5 (its default scheme).
    assert!(dir.x509_text("ca.pem").contains("Signature Algorithm: sha256WithRSAEncryption"));
}

#[test]
fn openssl_req_verifies_coffer_csrs_for_p256_and_rsa() {
    let dir = Scratch::new("csr");
    let sans = [dns("agent-7.acme.test"), San::Ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)))];
    for (name, key) in [("p256", fixture(P256_PKCS8)), ("rsa", fixture(RSA2048_PKCS8))] {
        let csr = cert::csr(&mut OsRng, &key, "CN=agent-7,O=Acme", &sans).unwrap();
        let file = format!("{name}.csr");
        dir.write(&file, csr.to_pem().unwrap());
        let (_, stderr) = dir.openssl_ok(&["req", "-in", &file, "-verify", "-noout"]);
        assert_eq!(stderr, "Certificate request self-signature verify OK\n");
        let text = trim_lines(&dir.openssl_ok(&["req", "-in", &file, "-noout", "-text"]).0);
        for expected in [
            "Subject: O = Acme, CN = agent-7",
            "Requested Extensions:\nX509v3 Subject Alternative Name:\nDNS:agent-7.acme.test, IP Address:10.0.0.7",
        ] {
            assert!(text.contains(expected), "{name} CSR text lacks {expected:?}:\n{text}");
        }
        // The CSR carries the key coffer signed it with.
        let (csr_pub, _) = dir.openssl_ok(&["req", "-in", &file, "-noout", "-pubkey"]);
        assert_eq!(csr_pub, key.public_key().to_spki_pem().unwrap());
    }
}

#[test]
fn openssl_pkey_reads_coffer_pkcs8_and_spki_pem_byte_for_byte() {
    let dir = Scratch::new("pkey");
    let generated = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    for (name, key) in [("p256", generated), ("rsa", fixture(RSA3072_PKCS8))] {
        let (key_file, pub_file) = (format!("{name}.key"), format!("{name}.pub"));
        dir.write(&key_file, key.to_pkcs8_pem().unwrap().as_bytes());
        dir.write(&pub_file, key.public_key().to_spki_pem().unwrap());
        // openssl re-encodes the private key exactly as coffer wrote it.
        let (pem, _) = dir.openssl_ok(&["pkey", "-in", &key_file]);
        assert_eq!(pem, key.to_pkcs8_pem().unwrap().as_str());
        // (`pkey -outform DER` would write SEC1 for EC keys; `pkcs8 -topk8` keeps PKCS#8.)
        dir.openssl_ok(&[
            "pkcs8", "-topk8", "-nocrypt", "-in", &key_file, "-outform", "DER", "-out", "key.der",
        ]);
        assert_eq!(dir.read("key.der"), key.to_pkcs8_der().unwrap().as_slice());
        // Its public half is coffer's SPKI, and coffer's SPKI PEM reads back.
        let (pubout, _) = dir.openssl_ok(&["pkey", "-in", &key_file, "-pubout"]);
        assert_eq!(pubout, key.public_key().to_spki_pem().unwrap());
        dir.openssl_ok(&["pkey", "-pubin", "-in", &pub_file, "-outform", "DER", "-out", "pub.der"]);
        assert_eq!(dir.read("pub.der"), key.public_key().to_spki_der().unwrap());
        // And openssl's own consistency check passes.
        let (check, _) = dir.openssl_ok(&["pkey", "-in", &key_file, "-check", "-noout"]);
        assert_eq!(check, "Key is valid\n");
    }
}

#[test]
fn openssl_pkey_decrypts_coffer_encrypted_pkcs8_only_with_the_right_passphrase() {
    let dir = Scratch::new("encrypted");
    let key = fixture(P256_PKCS8);
    let pem = key.to_encrypted_pkcs8_pem(&mut OsRng, b"correct horse battery staple").unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"), "{pem}");
    dir.write("enc.pem", &pem);

    // The scheme is the one documented: PBES2, PBKDF2-HMAC-SHA-256, AES-256-CBC.
    // 600,000 iterations (0x0927C0), a 16-byte salt and a 16-byte IV.
    let (asn1, _) = dir.openssl_ok(&["asn1parse", "-in", "enc.pem"]);
    for expected in
        [":PBES2\n", ":PBKDF2\n", ":hmacWithSHA256\n", ":aes-256-cbc\n", "prim: INTEGER           :0927C0\n"]
    {
        assert!(asn1.contains(expected), "encrypted PKCS#8 lacks {expected}:\n{asn1}");
    }
    assert_eq!(asn1.matches("l=  16 prim: OCTET STRING").count(), 2, "{asn1}");

    let (plain, _) =
        dir.openssl_ok(&["pkey", "-in", "enc.pem", "-passin", "pass:correct horse battery staple"]);
    assert_eq!(plain, key.to_pkcs8_pem().unwrap().as_str());

    let out = dir.openssl_fails(
        1,
        &["pkey", "-in", "enc.pem", "-passin", "pass:correct horse battery stapler", "-out", "wrong.pem"],
    );
    assert!(out.contains("Could not read key from enc.pem"), "{out}");
    assert!(!dir.path("wrong.pem").exists() || dir.read("wrong.pem").is_empty());
}

// ---------------------------------------------------------------------------
// coffer reads what openssl writes
// ---------------------------------------------------------------------------

fn genpkey_rsa2048(dir: &Scratch, file: &str) {
    dir.openssl_ok(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", file]);
}

fn genpkey_p256(dir: &Scratch, file: &str) {
    dir.openssl_ok(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file]);
}

/// The public key openssl derives from `key_file`, read by coffer.
fn openssl_public_key(dir: &Scratch, key_file: &str) -> PublicKey {
    let (pem, _) = dir.openssl_ok(&["pkey", "-in", key_file, "-pubout"]);
    PublicKey::from_spki_pem(&pem).unwrap()
}

#[test]
fn coffer_reads_rsa_and_p256_pem_keys_made_by_openssl_genpkey() {
    let dir = Scratch::new("genpkey");
    genpkey_rsa2048(&dir, "rsa.pem");
    genpkey_p256(&dir, "p256.pem");

    let rsa = KeyPair::from_pkcs8_pem(&dir.read_string("rsa.pem")).unwrap();
    assert!(matches!(rsa, KeyPair::Rsa(_)));
    assert_eq!(rsa.public_key(), openssl_public_key(&dir, "rsa.pem"));
    assert_eq!(rsa.to_pkcs8_pem().unwrap().as_str(), dir.read_string("rsa.pem"));

    let p256 = KeyPair::from_pkcs8_pem(&dir.read_string("p256.pem")).unwrap();
    assert!(matches!(p256, KeyPair::P256(_)));
    assert_eq!(p256.public_key(), openssl_public_key(&dir, "p256.pem"));
    assert_eq!(p256.to_pkcs8_pem().unwrap().as_str(), dir.read_string("p256.pem"));

    // Both sign certificates that openssl then accepts.
    let ca = ca_with(&rsa, "CN=From OpenSSL Keys", Some(0));
    let leaf = leaf_with(
        &ca,
        &rsa,
        SignatureScheme::RsaPssSha256,
        "CN=leaf",
        &p256.public_key(),
        LeafUsage::Server,
        &[dns("leaf.coffer.test")],
    );
    dir.write("ca.pem", ca.to_pem().unwrap());
    dir.write("leaf.pem", leaf.to_pem().unwrap());
    dir.assert_openssl_verifies("ca.pem", "leaf.pem");
}

#[test]
fn coffer_reads_openssl_encrypted_pkcs8_and_refuses_a_wrong_passphrase() {
    let dir = Scratch::new("openssl-encrypted");
    genpkey_p256(&dir, "p256.pem");
    genpkey_rsa2048(&dir, "rsa.pem");
    for name in ["p256", "rsa"] {
        let (plain, enc) = (format!("{name}.pem"), format!("{name}.enc.pem"));
        dir.openssl_ok(&[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            &plain,
            "-passout",
            "pass:open sesame",
            "-out",
            &enc,
        ]);
        let pem = dir.read_string(&enc);
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"), "{pem}");
        let key = KeyPair::from_encrypted_pkcs8_pem(&pem, b"open sesame").unwrap();
        assert_eq!(key.public_key(), openssl_public_key(&dir, &plain));
        assert_eq!(key.to_pkcs8_pem().unwrap().as_str(), dir.read_string(&plain));
        assert_eq!(KeyPair::from_encrypted_pkcs8_pem(&pem, b"open sesame!").unwrap_err(), Error::Decrypt);
        assert_eq!(KeyPair::from_encrypted_pkcs8_pem(&pem, b"").unwrap_err(), Error::Decrypt);
    }
}

#[test]
fn coffer_verifies_and_issues_from_an_openssl_csr_that_openssl_then_verifies() {
    let dir = Scratch::new("openssl-csr");
    genpkey_p256(&dir, "p256.pem");
    genpkey_rsa2048(&dir, "rsa.pem");
    let ca_key = fixture(RSA4096_PKCS8);
    let ca = ca_with(&ca_key, "CN=Coffer Test CA,O=Coffer", Some(0));
    dir.write("ca.pem", ca.to_pem().unwrap());

    for name in ["p256", "rsa"] {
        let (key_file, csr_file, cert_file) =
            (format!("{name}.pem"), format!("{name}.csr"), format!("{name}.crt"));
        dir.openssl_ok(&[
            "req",
            "-new",
            "-key",
            &key_file,
            "-subj",
            "/C=US/O=Acme, Inc./CN=agent-9",
            "-addext",
            "subjectAltName=DNS:agent-9.acme.test,IP:10.0.0.9,URI:spiffe://acme.test/agent-9",
            "-out",
            &csr_file,
        ]);
        let csr = Csr::from_pem(&dir.read_string(&csr_file)).unwrap();
        let key = cert::verify_csr(&csr).unwrap();
        assert_eq!(key, openssl_public_key(&dir, &key_file));
        assert_eq!(csr.subject(), "CN=agent-9,O=Acme\\, Inc.,C=US");
        let requested = [
            dns("agent-9.acme.test"),
            San::Ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9))),
            San::Uri("spiffe://acme.test/agent-9".into()),
        ];
        assert_eq!(csr.requested_sans(), requested);

        let params = LeafParams {
            validity: leaf_validity(),
            usage: LeafUsage::ServerAndClient,
            sans: &[],
            key_usage: None,
        };
        let leaf =
            cert::issue_from_csr(&mut OsRng, &ca, &ca_key, SignatureScheme::RsaPkcs1Sha256, &csr, &params)
                .unwrap();
        assert_eq!(leaf.subject_alt_names(), requested);
        assert_eq!(cert::verify_chain_now(&leaf, &ca).unwrap(), key);
        dir.write(&cert_file, leaf.to_pem().unwrap());
        dir.assert_openssl_verifies("ca.pem", &cert_file);

        // The certificate names the subject the CSR asked for, attribute by
        // attribute and in the same order, as openssl reads both.
        let (csr_subject, _) =
            dir.openssl_ok(&["req", "-in", &csr_file, "-noout", "-subject", "-nameopt", "RFC2253"]);
        let (cert_subject, _) =
            dir.openssl_ok(&["x509", "-in", &cert_file, "-noout", "-subject", "-nameopt", "RFC2253"]);
        assert_eq!(csr_subject, "subject=CN=agent-9,O=Acme\\, Inc.,C=US\n");
        assert_eq!(cert_subject, csr_subject);

        // The certificate and openssl's key form a pair for both tools.
        let pair_key = KeyPair::from_pkcs8_pem(&dir.read_string(&key_file)).unwrap();
        let pair = CertificatePair::new(pair_key, leaf).unwrap();
        assert_eq!(pair.key().public_key(), key);
        let (cert_pub, _) = dir.openssl_ok(&["x509", "-in", &cert_file, "-noout", "-pubkey"]);
        let (key_pub, _) = dir.openssl_ok(&["pkey", "-in", &key_file, "-pubout"]);
        assert_eq!(cert_pub, key_pub);
    }
}

/// An openssl CA (`req -x509`) and a leaf it signs (`x509 -req -extfile`).
fn openssl_chain(
    dir: &Scratch,
    ca_key: &str,
    leaf_key: &str,
    sign_opts: &[&str],
) -> (Certificate, Certificate) {
    let mut args = vec![
        "req",
        "-x509",
        "-new",
        "-key",
        ca_key,
        "-subj",
        "/O=OpenSSL Test/CN=OpenSSL Test CA",
        "-days",
        "30",
        "-sha256",
        "-addext",
        "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        "ca.crt",
    ];
    dir.openssl_ok(&args);
    dir.openssl_ok(&["req", "-new", "-key", leaf_key, "-subj", "/CN=openssl-leaf", "-out", "leaf.csr"]);
    dir.write(
        "leaf.ext",
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth,clientAuth\n\
         subjectAltName=DNS:openssl-leaf.test,IP:127.0.0.1\n",
    );
    args = vec![
        "x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", ca_key, "-days", "30", "-sha256",
        "-extfile", "leaf.ext", "-out", "leaf.crt",
    ];
    args.extend_from_slice(sign_opts);
    dir.openssl_ok(&args);
    dir.assert_openssl_verifies("ca.crt", "leaf.crt");
    let ca = Certificate::from_pem(&dir.read_string("ca.crt")).unwrap();
    let leaf = Certificate::from_pem(&dir.read_string("leaf.crt")).unwrap();
    (ca, leaf)
}

#[test]
fn coffer_verifies_a_p256_chain_made_by_openssl_req_x509_and_x509_req() {
    let dir = Scratch::new("openssl-chain-p256");
    genpkey_p256(&dir, "ca.key");
    genpkey_p256(&dir, "leaf.key");
    let (ca, leaf) = openssl_chain(&dir, "ca.key", "leaf.key", &[]);
    assert_eq!(ca.ca_path_len(), Some(Some(0)));
    assert_eq!(leaf.ca_path_len(), None);
    assert_eq!(ca.subject(), "CN=OpenSSL Test CA,O=OpenSSL Test");
    assert_eq!(leaf.issuer(), ca.subject());
    assert_eq!(
        leaf.subject_alt_names(),
        [dns("openssl-leaf.test"), San::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST))]
    );
    let key = cert::verify_chain_now(&leaf, &ca).unwrap();
    assert_eq!(key, openssl_public_key(&dir, "leaf.key"));
    // coffer can go on issuing under the openssl CA with the openssl CA key.
    let ca_key = KeyPair::from_pkcs8_pem(&dir.read_string("ca.key")).unwrap();
    let own = leaf_with(
        &ca,
        &ca_key,
        SignatureScheme::EcdsaP256Sha256,
        "CN=coffer-leaf",
        &key,
        LeafUsage::Client,
        &[],
    );
    assert_eq!(cert::verify_chain_now(&own, &ca).unwrap(), key);
    dir.write("own.pem", own.to_pem().unwrap());
    dir.assert_openssl_verifies("ca.crt", "own.pem");
}

#[test]
fn coffer_verifies_an_rsa_chain_made_by_openssl_req_x509_and_x509_req() {
    let dir = Scratch::new("openssl-chain-rsa");
    genpkey_rsa2048(&dir, "ca.key");
    genpkey_p256(&dir, "leaf.key");
    let (ca, leaf) = openssl_chain(&dir, "ca.key", "leaf.key", &[]);
    assert_eq!(ca.ca_path_len(), Some(Some(0)));
    assert_eq!(leaf.ca_path_len(), None);
    let key = cert::verify_chain_now(&leaf, &ca).unwrap();
    assert_eq!(key, openssl_public_key(&dir, "leaf.key"));
}

#[test]
fn coffer_verifies_openssl_rsa_pss_signatures_with_a_32_byte_salt_and_refuses_other_salts() {
    let dir = Scratch::new("openssl-pss");
    genpkey_rsa2048(&dir, "ca.key");
    genpkey_p256(&dir, "leaf.key");
    let pss = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"];
    let (ca, leaf) = openssl_chain(&dir, "ca.key", "leaf.key", &pss);
    let (text, _) = dir.openssl_ok(&["x509", "-in", "leaf.crt", "-noout", "-text"]);
    assert!(trim_lines(&text).contains("Signature Algorithm: rsassaPss\nHash Algorithm: sha256\n"), "{text}");
    assert_eq!(cert::verify_chain_now(&leaf, &ca).unwrap(), openssl_public_key(&dir, "leaf.key"));

    // openssl's default PSS salt is as long as the key allows (222 bytes
    // here); coffer verifies only the parameters it writes (verify.rs), and
    // says so rather than calling the signature bad.
    let (ca, leaf) = openssl_chain(&dir, "ca.key", "leaf.key", &pss[..2]);
    assert_eq!(
        cert::verify_chain_now(&leaf, &ca).unwrap_err(),
        Error::UnsupportedAlgorithm(coffer_core::AlgorithmName::RsaPssOtherParameters)
    );

    // A PSS-signed openssl CSR verifies as well.
    let mut args = vec!["req", "-new", "-key", "ca.key", "-subj", "/CN=pss-request", "-out", "pss.csr"];
    args.extend_from_slice(&pss);
    dir.openssl_ok(&args);
    let csr = Csr::from_pem(&dir.read_string("pss.csr")).unwrap();
    assert_eq!(cert::verify_csr(&csr).unwrap(), openssl_public_key(&dir, "ca.key"));
}

#[test]
fn openssl_reads_validity_past_2049_written_as_generalized_time() {
    let dir = Scratch::new("generalized-time");
    let key = fixture(P256_PKCS8);
    let not_before = Validity::days_from_now(1).unwrap().not_before;
    let validity = Validity { not_before, not_after: 2_600_000_000 };
    let params = CaParams { subject: "CN=Long-lived CA", validity, path_len: None };
    let ca = cert::self_signed_ca(&mut OsRng, &key, &params).unwrap();
    assert_eq!(ca.not_after(), 2_600_000_000);
    dir.write("ca.pem", ca.to_pem().unwrap());
    let (end, _) = dir.openssl_ok(&["x509", "-in", "ca.pem", "-noout", "-enddate"]);
    assert_eq!(end, "notAfter=May 22 14:13:20 2052 GMT\n");
    // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    let (asn1, _) = dir.openssl_ok(&["asn1parse", "-in", "ca.pem"]);
    assert_eq!(asn1.matches("prim: UTCTIME").count(), 1, "{asn1}");
    assert!(asn1.contains("prim: GENERALIZEDTIME   :20520522141320Z\n"), "{asn1}");
    dir.assert_openssl_verifies("ca.pem", "ca.pem");
}

// ---------------------------------------------------------------------------
// Mutual TLS between openssl s_server and s_client on coffer certificates
// ---------------------------------------------------------------------------

/// Kills and reaps a child process on drop, so no test leaves one behind.
struct ChildGuard {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl ChildGuard {
    fn spawn(dir: &Scratch, args: &[&str]) -> Self {
        let mut child = openssl_command(&dir.dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect(OPENSSL_MISSING);
        let stdin = child.stdin.take();
        let (stdout, stderr) = (Arc::new(Mutex::new(String::new())), Arc::new(Mutex::new(String::new())));
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            collect(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        ChildGuard { child, stdin, stdout, stderr, readers }
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn has_exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// Kills the process and waits for its output to be fully collected.
    fn stop(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    })
}

/// Polls `done` every 20 ms for at most [`PROCESS_TIMEOUT`].
fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts `openssl s_server` on a free loopback port, retrying a few ports
/// if another process takes the port between our probe and its bind.
fn start_server(dir: &Scratch) -> (ChildGuard, u16) {
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port();
        let accept = format!("127.0.0.1:{port}");
        let mut server = ChildGuard::spawn(
            dir,
            &[
                "s_server",
                "-accept",
                &accept,
                "-naccept",
                "1",
                "-cert",
                "server.pem",
                "-key",
                "server.key",
                "-CAfile",
                "ca.pem",
                "-Verify",
                "1",
                "-verify_return_error",
            ],
        );
        wait_until(|| server.stdout().contains("ACCEPT\n") || server.has_exited());
        if server.stdout().contains("ACCEPT\n") {
            return (server, port);
        }
        // Only a server that gave up (the port was taken) is retried; one
        // that neither listens nor exits within the timeout fails the test.
        let exited = server.has_exited();
        server.stop();
        last = format!("stdout:\n{}\nstderr:\n{}", server.stdout(), server.stderr());
        assert!(exited, "openssl s_server did not listen within {PROCESS_TIMEOUT:?}:\n{last}");
    }
    panic!("openssl s_server could not listen on 127.0.0.1 in 5 attempts:\n{last}");
}

/// Runs a mutual-TLS handshake: openssl s_server with the server pair and
/// client verification required, openssl s_client with the client pair,
/// one line sent from client to server. Both must verify their peer.
fn assert_mutual_tls(test: &str, ca: &Certificate, server: &CertificatePair, client: &CertificatePair) {
    const LINE: &str = "hello from a coffer client certificate";
    let dir = Scratch::new(test);
    dir.write("ca.pem", ca.to_pem().unwrap());
    dir.write("server.pem", server.certificate().to_pem().unwrap());
    dir.write("server.key", server.key().to_pkcs8_pem().unwrap().as_bytes());
    dir.write("client.pem", client.certificate().to_pem().unwrap());
    dir.write("client.key", client.key().to_pkcs8_pem().unwrap().as_bytes());

    let (mut s_server, port) = start_server(&dir);
    let connect = format!("127.0.0.1:{port}");
    let mut s_client = ChildGuard::spawn(
        &dir,
        &[
            "s_client",
            "-connect",
            &connect,
            "-cert",
            "client.pem",
            "-key",
            "client.key",
            "-CAfile",
            "ca.pem",
            "-verify_return_error",
            "-verify_hostname",
            "localhost",
            "-verify_ip",
            "127.0.0.1",
        ],
    );
    // s_client reads stdin only once the handshake is done; the line waits in the pipe.
    // A write error means s_client already quit; the checks below report why.
    let stdin = s_client.stdin.as_mut().unwrap();
    let _ = stdin.write_all(format!("{LINE}\n").as_bytes()).and_then(|()| stdin.flush());

    let done = wait_until(|| {
        s_server.stdout().contains(&format!("{LINE}\n")) || s_server.has_exited() || s_client.has_exited()
    });
    s_client.stop();
    s_server.stop();
    let (server_out, server_err) = (s_server.stdout(), s_server.stderr());
    let (client_out, client_err) = (s_client.stdout(), s_client.stderr());
    let report = format!(
        "s_server stdout:\n{server_out}\ns_server stderr:\n{server_err}\n\
         s_client stdout:\n{client_out}\ns_client stderr:\n{client_err}"
    );
    assert!(done, "the handshake did not finish within {PROCESS_TIMEOUT:?}:\n{report}");
    assert!(server_out.contains(&format!("{LINE}\n")), "the server did not receive the line:\n{report}");

    // The server required, received and verified the client certificate.
    let client_cn = common_name(client.certificate());
    assert!(server_err.contains("verify depth is 1, must return a certificate\n"), "{report}");
    assert!(server_err.contains(&format!("depth=0 CN = {client_cn}\nverify return:1\n")), "{report}");
    assert!(server_out.contains("Client certificate\n-----BEGIN CERTIFICATE-----\n"), "{report}");
    assert!(server_out.contains(&format!("subject=CN = {client_cn}\n")), "{report}");

    // The client verified the server's chain, its DNS name and its IP address.
    let server_cn = common_name(server.certificate());
    assert!(client_err.contains(&format!("depth=0 CN = {server_cn}\nverify return:1\n")), "{report}");
    assert!(client_out.contains("Verification: OK\n"), "{report}");
    assert!(client_out.contains("Verified peername: localhost\n"), "{report}");
    assert!(client_out.contains("Verify return code: 0 (ok)\n"), "{report}");
    assert!(!client_err.contains("verify error"), "{report}");
    assert!(!server_err.contains("verify error"), "{report}");
}

/// The value of a subject that is a single `CN=...`.
fn common_name(cert: &Certificate) -> String {
    cert.subject().strip_prefix("CN=").unwrap().to_owned()
}

fn tls_server_sans() -> [San; 2] {
    [San::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)), dns("localhost")]
}

#[test]
fn mutual_tls_handshake_succeeds_with_rsa4096_server_and_client_certificates() {
    let ca_key = fixture(RSA3072_PKCS8);
    let ca = ca_with(&ca_key, "CN=Coffer mTLS RSA CA", Some(0));
    let server_key = fixture(RSA4096_PKCS8);
    let client_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::Rsa(RsaKeySize::Rsa4096)).unwrap();
    let sans = tls_server_sans();
    let server_cert = leaf_with(
        &ca,
        &ca_key,
        SignatureScheme::RsaPkcs1Sha256,
        "CN=coffer-rsa-server",
        &server_key.public_key(),
        LeafUsage::Server,
        &sans,
    );
    let client_cert = leaf_with(
        &ca,
        &ca_key,
        SignatureScheme::RsaPkcs1Sha256,
        "CN=coffer-rsa-client",
        &client_key.public_key(),
        LeafUsage::Client,
        &[],
    );
    let server = CertificatePair::new(server_key, server_cert).unwrap();
    let client = CertificatePair::new(client_key, client_cert).unwrap();
    assert_mutual_tls("mtls-rsa4096", &ca, &server, &client);
}

#[test]
fn mutual_tls_handshake_succeeds_with_p256_server_and_client_certificates() {
    let ca_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let ca = ca_with(&ca_key, "CN=Coffer mTLS P-256 CA", Some(0));
    let server_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let client_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let sans = tls_server_sans();
    let server_cert = leaf_with(
        &ca,
        &ca_key,
        SignatureScheme::EcdsaP256Sha256,
        "CN=coffer-p256-server",
        &server_key.public_key(),
        LeafUsage::ServerAndClient,
        &sans,
    );
    let client_cert = leaf_with(
        &ca,
        &ca_key,
        SignatureScheme::EcdsaP256Sha256,
        "CN=coffer-p256-client",
        &client_key.public_key(),
        LeafUsage::Client,
        &[],
    );
    let server = CertificatePair::new(server_key, server_cert).unwrap();
    let client = CertificatePair::new(client_key, client_cert).unwrap();
    assert_mutual_tls("mtls-p256", &ca, &server, &client);
}
