//! A CA whose key lives in the keystore, through the command (issue 15):
//! `cert ca --in-store`, `cert csr --key key:<id>`, `cert issue --ca-key
//! key:<id>`; OpenSSL accepts the chain and the audit log lists each
//! issuance with its serial, subject and names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;

mod common;

use common::{coffer, ok};

/// Runs a `user create` command with its new PIN.
fn create_user(dir: &Path, args: &[&str], pin: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_coffer"))
        .current_dir(dir)
        .args(args)
        .env("COFFER_PASSPHRASE", "pki passphrase 1")
        .env("COFFER_SO_PIN", "so-pin-1234")
        .env("COFFER_NEW_PIN", pin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_keystore_held_root_and_intermediate_key_sign_and_every_issuance_is_audited() {
    let d = common::Dir::fresh("pki");
    let dir = d.0.as_path();
    ok(dir, &["init"]);
    ok(dir, &["tenant", "create", "pki"]);
    create_user(dir, &["user", "create", "ca", "--tenants", "pki"], "ca-pin-1234");
    create_user(dir, &["user", "create", "audit", "--auditor"], "audit-pin-12");
    ok(dir, &["key", "create", "root-ca", "--type", "p256", "--usage", "sign,verify"]);
    ok(dir, &["key", "create", "rsa-ca", "--type", "rsa2048", "--usage", "sign,verify"]);
    ok(
        dir,
        &[
            "cert",
            "ca",
            "--in-store",
            "root-ca",
            "--subject",
            "CN=Acme Root,O=Acme",
            "--cert-out",
            "root.crt",
        ],
    );
    // --in-store writes no key file and refuses --key-out.
    assert!(!dir.join("root.key").exists());
    let both = coffer(
        dir,
        &[
            "cert",
            "ca",
            "--in-store",
            "root-ca",
            "--subject",
            "CN=X",
            "--key-out",
            "x.key",
            "--cert-out",
            "x.crt",
        ],
    );
    assert_eq!(both.status.code(), Some(2));

    // An agent's request from a key file, issued by the stored root.
    ok(
        dir,
        &["cert", "ca", "--subject", "CN=scratch", "--key-out", "scratch.key", "--cert-out", "scratch.crt"],
    );
    ok(
        dir,
        &[
            "cert",
            "csr",
            "--key",
            "scratch.key",
            "--subject",
            "CN=agent-7",
            "--san",
            "agent-7.test",
            "--out",
            "a7.csr",
        ],
    );
    ok(
        dir,
        &[
            "cert",
            "issue",
            "--ca-cert",
            "root.crt",
            "--ca-key",
            "key:root-ca",
            "--csr",
            "a7.csr",
            "--usage",
            "client",
            "--out",
            "a7.crt",
        ],
    );
    let v: serde_json::Value =
        serde_json::from_str(&ok(dir, &["--json", "cert", "verify", "--ca", "root.crt", "a7.crt"])).unwrap();
    assert_eq!(v["valid"], true);
    let openssl =
        Command::new("openssl").current_dir(dir).args(["verify", "-CAfile", "root.crt", "a7.crt"]).output();
    let openssl = openssl.expect("openssl is needed to check the chain (apt-get install openssl)");
    assert!(openssl.status.success(), "{}", String::from_utf8_lossy(&openssl.stderr));
    // A request signed by a stored key (an intermediate's), and a pair issued by the stored RSA CA.
    ok(dir, &["cert", "csr", "--key", "key:rsa-ca", "--subject", "CN=Acme Issuing", "--out", "issuing.csr"]);
    let req = Command::new("openssl")
        .current_dir(dir)
        .args(["req", "-verify", "-noout", "-in", "issuing.csr"])
        .output()
        .unwrap();
    assert!(req.status.success(), "{}", String::from_utf8_lossy(&req.stderr));
    ok(dir, &["cert", "ca", "--in-store", "rsa-ca", "--subject", "CN=RSA CA", "--cert-out", "rsa.crt"]);
    ok(
        dir,
        &[
            "cert",
            "pair",
            "--ca-cert",
            "rsa.crt",
            "--ca-key",
            "key:rsa-ca",
            "--subject",
            "CN=agent-8",
            "--san",
            "agent-8.test",
            "--algorithm",
            "p256",
            "--key-out",
            "a8.key",
            "--cert-out",
            "a8.crt",
        ],
    );
    ok(dir, &["cert", "verify", "--ca", "rsa.crt", "a8.crt"]);
    // The stored key cannot sign as the wrong CA.
    let wrong = coffer(
        dir,
        &[
            "cert",
            "issue",
            "--ca-cert",
            "root.crt",
            "--ca-key",
            "key:rsa-ca",
            "--csr",
            "a7.csr",
            "--out",
            "bad.crt",
        ],
    );
    assert_eq!(wrong.status.code(), Some(1), "{}", String::from_utf8_lossy(&wrong.stderr));
    assert!(!dir.join("bad.crt").exists());

    let records: serde_json::Value =
        serde_json::from_str(&ok(dir, &["--json", "--user", "audit", "audit", "show", "--key", "root-ca"]))
            .unwrap();
    let issued: Vec<&serde_json::Value> =
        records.as_array().unwrap().iter().filter(|r| r["event"] == "certificate-issued").collect();
    assert_eq!(issued.len(), 2, "{records}");
    assert_eq!(issued[1]["subject"], "CN=agent-7");
    assert_eq!(issued[1]["names"], serde_json::json!(["dns:agent-7.test"]));
    let serial = Command::new("openssl")
        .current_dir(dir)
        .args(["x509", "-noout", "-serial", "-in", "a7.crt"])
        .output()
        .unwrap();
    let serial =
        String::from_utf8(serial.stdout).unwrap().trim().trim_start_matches("serial=").to_lowercase();
    assert_eq!(issued[1]["serial"], serial);
    // Revocation: the stored root signs a CRL naming agent-7; verify and OpenSSL refuse it then.
    ok(
        dir,
        &[
            "cert",
            "verify",
            "--ca",
            "root.crt",
            "--purpose",
            "client",
            "--dns-name",
            "agent-7.test",
            "a7.crt",
        ],
    );
    ok(
        dir,
        &[
            "cert",
            "crl",
            "--ca-cert",
            "root.crt",
            "--ca-key",
            "key:root-ca",
            "--revoke",
            "a7.crt",
            "--number",
            "1",
            "--out",
            "root.crl",
        ],
    );
    let refused = coffer(dir, &["cert", "verify", "--ca", "root.crt", "--crl", "root.crl", "a7.crt"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("revoked"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let shown: serde_json::Value =
        serde_json::from_str(&ok(dir, &["--json", "cert", "show", "root.crl"])).unwrap();
    assert_eq!(shown["revoked"][0]["serial"], serial);
    let openssl_crl = Command::new("openssl")
        .current_dir(dir)
        .args(["verify", "-crl_check", "-CAfile", "root.crt", "-CRLfile", "root.crl", "a7.crt"])
        .output()
        .unwrap();
    assert!(!openssl_crl.status.success());
    let said = String::from_utf8_lossy(&openssl_crl.stdout).into_owned()
        + &String::from_utf8_lossy(&openssl_crl.stderr);
    assert!(said.contains("certificate revoked"), "{said}");
    let crl_records = ok(dir, &["--user", "audit", "audit", "show", "--key", "root-ca"]);
    assert!(
        crl_records.contains("revocation list signed for CN=Acme Root,O=Acme: 1 revoked"),
        "{crl_records}"
    );
    // An intermediate in the keystore, certified by the stored RSA CA (path length 0 below
    // an unlimited root stays as asked); a leaf it issues verifies through it.
    ok(
        dir,
        &[
            "cert",
            "intermediate",
            "--ca-cert",
            "rsa.crt",
            "--ca-key",
            "key:rsa-ca",
            "--csr",
            "issuing.csr",
            "--path-len",
            "0",
            "--days",
            "30",
            "--out",
            "issuing.crt",
        ],
    );
    ok(
        dir,
        &[
            "cert",
            "issue",
            "--ca-cert",
            "issuing.crt",
            "--ca-key",
            "key:rsa-ca",
            "--csr",
            "a7.csr",
            "--days",
            "20",
            "--out",
            "a7b.crt",
        ],
    );
    let chain = ok(
        dir,
        &[
            "cert",
            "verify",
            "--ca",
            "rsa.crt",
            "--untrusted",
            "issuing.crt",
            "--purpose",
            "client",
            "a7b.crt",
        ],
    );
    assert!(chain.contains("CN=agent-7 <- CN=Acme Issuing <- CN=RSA CA"), "{chain}");
    let missing = coffer(dir, &["cert", "verify", "--ca", "rsa.crt", "a7b.crt"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no chain to a trusted CA"));
    let deeper = coffer(
        dir,
        &[
            "cert",
            "intermediate",
            "--ca-cert",
            "issuing.crt",
            "--ca-key",
            "key:rsa-ca",
            "--csr",
            "a7.csr",
            "--out",
            "deeper.crt",
        ],
    );
    assert_eq!(deeper.status.code(), Some(1), "{}", String::from_utf8_lossy(&deeper.stderr));
    assert!(String::from_utf8_lossy(&deeper.stderr).contains("chain too long"));
    let requests = ok(dir, &["--user", "audit", "audit", "show", "--key", "rsa-ca"]);
    assert!(requests.contains("certificate request signed for CN=Acme Issuing"), "{requests}");
}
