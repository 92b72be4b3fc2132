//! Chain verification refuses what RFC 5280 says a verifier must refuse,
//! on certificates made by OpenSSL: a CA whose keyUsage lacks keyCertSign,
//! and a critical extension coffer does not process.
// miri: runs the openssl command-line tool, and miri cannot start processes.
#![cfg(not(miri))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use coffer_core::Error;
use coffer_core::cert::{self, Certificate};

/// A fresh directory for one test, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("coffer-cert-constraints-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl").args(args).current_dir(&self.0).output().unwrap_or_else(|e| {
            panic!("these tests need the OpenSSL 3 command-line tool `openssl` on PATH ({e}); apt-get install openssl")
        });
        assert!(out.status.success(), "openssl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.0.join(file), text).unwrap();
    }

    fn cert(&self, file: &str) -> Certificate {
        Certificate::from_pem(&std::fs::read_to_string(self.0.join(file)).unwrap()).unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A P-256 CA with `ca_ext` and a leaf under it with `leaf_ext` (openssl extension config lines).
fn chain(dir: &Dir, ca_ext: &str, leaf_ext: &str) -> (Certificate, Certificate) {
    dir.write("ca.cnf", &format!("[v3]\nbasicConstraints=critical,CA:TRUE\n{ca_ext}\n"));
    dir.write("leaf.cnf", &format!("[v3]\nbasicConstraints=critical,CA:FALSE\n{leaf_ext}\n"));
    dir.openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key"]);
    dir.openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "ca.key",
        "-subj",
        "/CN=Constraint CA",
        "-days",
        "30",
        "-config",
        "ca.cnf",
        "-extensions",
        "v3",
        "-out",
        "ca.pem",
    ]);
    dir.openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "leaf.key"]);
    dir.openssl(&["req", "-new", "-key", "leaf.key", "-subj", "/CN=leaf", "-out", "leaf.csr"]);
    dir.openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        "leaf.cnf",
        "-extensions",
        "v3",
        "-out",
        "leaf.pem",
    ]);
    (dir.cert("ca.pem"), dir.cert("leaf.pem"))
}

#[test]
fn a_ca_with_key_usage_but_without_key_cert_sign_cannot_issue() {
    let dir = Dir::new("no-keycertsign");
    let (ca, leaf) = chain(&dir, "keyUsage=critical,digitalSignature,cRLSign", "");
    assert_eq!(cert::verify_chain_now(&leaf, &ca).unwrap_err(), Error::NotACa);
}

#[test]
fn a_ca_with_key_cert_sign_issues_and_one_without_key_usage_too() {
    for (name, ext) in [("with-ku", "keyUsage=critical,keyCertSign,cRLSign"), ("without-ku", "")] {
        let dir = Dir::new(name);
        let (ca, leaf) = chain(&dir, ext, "");
        cert::verify_chain_now(&leaf, &ca).unwrap();
    }
}

#[test]
fn an_unknown_critical_extension_in_the_leaf_or_the_ca_is_refused() {
    let unknown = "1.3.6.1.4.1.55555.1=critical,ASN1:UTF8String:must be understood";
    let dir = Dir::new("critical-leaf");
    let (ca, leaf) = chain(&dir, "keyUsage=critical,keyCertSign", unknown);
    assert_eq!(cert::verify_chain_now(&leaf, &ca).unwrap_err(), Error::UnknownCriticalExtension);
    let dir = Dir::new("critical-ca");
    let (ca, leaf) = chain(&dir, &format!("keyUsage=critical,keyCertSign\n{unknown}"), "");
    assert_eq!(cert::verify_chain_now(&leaf, &ca).unwrap_err(), Error::UnknownCriticalExtension);
    // The same extension, not critical, is ignored as RFC 5280 §4.2 allows.
    let dir = Dir::new("noncritical");
    let (ca, leaf) =
        chain(&dir, "keyUsage=critical,keyCertSign", "1.3.6.1.4.1.55555.1=ASN1:UTF8String:optional");
    cert::verify_chain_now(&leaf, &ca).unwrap();
}
