//! `cert renew` and `--bundle-out` (issue 15, parts 2 and 3): a full-chain
//! bundle OpenSSL verifies, renewal for the same key or a new one with the
//! same subject, names and usage, only by the issuing CA, also with a CA key
//! held in the keystore (and audited there).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

mod common;

use common::{coffer, ok};

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl").current_dir(dir).args(args).output();
    let out = out.expect("openssl is needed to check the chain (apt-get install openssl)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `cert show --json`'s first certificate of `file`.
fn show(dir: &Path, file: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&ok(dir, &["--json", "cert", "show", file])).unwrap();
    v["certificates"][0].clone()
}

/// A root (key file), an issuing intermediate below it (key file), and
/// `chain.pem` = intermediate + root, as an operator keeps them.
fn file_pki(dir: &Path) {
    ok(dir, &["cert", "ca", "--subject", "CN=Renew Root", "--key-out", "root.key", "--cert-out", "root.crt"]);
    ok(dir, &["cert", "ca", "--subject", "CN=scratch", "--key-out", "int.key", "--cert-out", "scratch.crt"]);
    ok(dir, &["cert", "csr", "--key", "int.key", "--subject", "CN=Renew Issuing", "--out", "int.csr"]);
    ok(
        dir,
        &[
            "cert",
            "intermediate",
            "--ca-cert",
            "root.crt",
            "--ca-key",
            "root.key",
            "--csr",
            "int.csr",
            "--out",
            "int.crt",
        ],
    );
    let chain = std::fs::read_to_string(dir.join("int.crt")).unwrap()
        + &std::fs::read_to_string(dir.join("root.crt")).unwrap();
    std::fs::write(dir.join("chain.pem"), chain).unwrap();
}

#[test]
fn a_bundle_holds_the_leaf_and_its_issuing_chain_without_the_root() {
    let d = common::Dir::fresh("bundle");
    let dir = d.0.as_path();
    file_pki(dir);
    let pair = [
        "cert",
        "pair",
        "--ca-cert",
        "chain.pem",
        "--ca-key",
        "int.key",
        "--subject",
        "CN=agent-1",
        "--san",
        "dns:agent-1.acme.test",
        "--algorithm",
        "p256",
        "--days",
        "30",
        "--key-out",
        "a1.key",
        "--cert-out",
        "a1.crt",
        "--bundle-out",
        "a1.full.pem",
    ];
    ok(dir, &pair);
    let bundle = std::fs::read_to_string(dir.join("a1.full.pem")).unwrap();
    let leaf = std::fs::read_to_string(dir.join("a1.crt")).unwrap();
    let int = std::fs::read_to_string(dir.join("int.crt")).unwrap();
    assert_eq!(bundle, leaf + &int, "leaf, then the intermediate; the self-signed root stays out");
    // A verifier that trusts only the root completes the path from the bundle alone.
    assert!(
        openssl(dir, &["verify", "-CAfile", "root.crt", "-untrusted", "a1.full.pem", "a1.crt"])
            .contains("OK")
    );
    let said = ok(dir, &["cert", "verify", "--ca", "root.crt", "--purpose", "server", "a1.full.pem"]);
    assert!(said.contains("CN=agent-1 <- CN=Renew Issuing <- CN=Renew Root"), "{said}");
    // cert issue writes one too; an existing bundle is not replaced without --force.
    ok(
        dir,
        &[
            "cert",
            "csr",
            "--key",
            "a1.key",
            "--subject",
            "CN=agent-1b",
            "--san",
            "dns:b.acme.test",
            "--out",
            "b.csr",
        ],
    );
    let issue = [
        "cert",
        "issue",
        "--ca-cert",
        "chain.pem",
        "--ca-key",
        "int.key",
        "--csr",
        "b.csr",
        "--days",
        "30",
        "--out",
        "b.crt",
        "--bundle-out",
        "a1.full.pem",
    ];
    let refused = coffer(dir, &issue);
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(!dir.join("b.crt").exists(), "nothing is signed when an output is refused");
    let issue_ok: Vec<&str> =
        issue.iter().map(|a| if *a == "a1.full.pem" { "b.full.pem" } else { a }).collect();
    ok(dir, &issue_ok);
    let b = std::fs::read_to_string(dir.join("b.crt")).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("b.full.pem")).unwrap(),
        b + &std::fs::read_to_string(dir.join("int.crt")).unwrap()
    );
}

#[test]
fn renewal_keeps_subject_names_and_usage_for_the_same_or_a_new_key() {
    let d = common::Dir::fresh("renew");
    let dir = d.0.as_path();
    file_pki(dir);
    let pair = [
        "cert",
        "pair",
        "--ca-cert",
        "chain.pem",
        "--ca-key",
        "int.key",
        "--subject",
        "CN=agent-2,O=Acme",
        "--san",
        "dns:agent-2.acme.test",
        "--san",
        "ip:10.0.0.2",
        "--usage",
        "server",
        "--algorithm",
        "p256",
        "--days",
        "10",
        "--key-out",
        "a2.key",
        "--cert-out",
        "a2.crt",
    ];
    ok(dir, &pair);
    let old = show(dir, "a2.crt");

    ok(
        dir,
        &[
            "cert",
            "renew",
            "--ca-cert",
            "chain.pem",
            "--ca-key",
            "int.key",
            "--days",
            "90",
            "--out",
            "a2.new.crt",
            "--bundle-out",
            "a2.full.pem",
            "a2.crt",
        ],
    );
    let new = show(dir, "a2.new.crt");
    for field in ["subject", "issuer", "names"] {
        assert_eq!(new[field], old[field], "{field}");
    }
    assert_ne!(new["serial"], old["serial"]);
    assert_ne!(new["not_after"], old["not_after"]);
    let key_of = |file: &str| openssl(dir, &["x509", "-in", file, "-noout", "-pubkey"]);
    assert_eq!(key_of("a2.new.crt"), key_of("a2.crt"), "the same key");
    let text = openssl(dir, &["x509", "-in", "a2.new.crt", "-noout", "-ext", "extendedKeyUsage"]);
    assert!(text.contains("TLS Web Server Authentication") && !text.contains("Client"), "{text}");
    assert!(
        openssl(dir, &["verify", "-CAfile", "root.crt", "-untrusted", "a2.full.pem", "a2.new.crt"])
            .contains("OK")
    );

    // A new key: written 0600, certified, of the old key's algorithm.
    ok(
        dir,
        &[
            "cert",
            "renew",
            "--ca-cert",
            "chain.pem",
            "--ca-key",
            "int.key",
            "--new-key-out",
            "a2.k2",
            "--out",
            "a2.k2.crt",
            "a2.crt",
        ],
    );
    assert_eq!(std::fs::metadata(dir.join("a2.k2")).unwrap().permissions().mode() & 0o777, 0o600);
    let new_key = openssl(dir, &["pkey", "-in", "a2.k2", "-pubout"]);
    assert_eq!(key_of("a2.k2.crt"), new_key);
    assert_ne!(new_key, key_of("a2.crt"));
    assert!(openssl(dir, &["pkey", "-in", "a2.k2", "-noout", "-text"]).contains("prime256v1"));
    assert_eq!(show(dir, "a2.k2.crt")["names"], old["names"]);

    // Only the issuer renews; a CA is not renewed here; a renewal never outlives the CA.
    let by_root = coffer(
        dir,
        &["cert", "renew", "--ca-cert", "root.crt", "--ca-key", "root.key", "--out", "x.crt", "a2.crt"],
    );
    assert_eq!(by_root.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&by_root.stderr).contains("was issued by CN=Renew Issuing"));
    let ca = coffer(
        dir,
        &["cert", "renew", "--ca-cert", "root.crt", "--ca-key", "root.key", "--out", "x.crt", "int.crt"],
    );
    assert!(String::from_utf8_lossy(&ca.stderr).contains("not a TLS leaf certificate"));
    let long = coffer(
        dir,
        &[
            "cert",
            "renew",
            "--ca-cert",
            "chain.pem",
            "--ca-key",
            "int.key",
            "--days",
            "36500",
            "--out",
            "x.crt",
            "a2.crt",
        ],
    );
    assert!(String::from_utf8_lossy(&long.stderr).contains("never outlives its issuer"));
    let stray = coffer(
        dir,
        &[
            "cert",
            "renew",
            "--ca-cert",
            "chain.pem",
            "--ca-key",
            "int.key",
            "--algorithm",
            "rsa2048",
            "--out",
            "x.crt",
            "a2.crt",
        ],
    );
    assert!(String::from_utf8_lossy(&stray.stderr).contains("--new-key-out"));
    assert!(!dir.join("x.crt").exists());
}

#[test]
fn a_keystore_held_ca_renews_and_the_audit_log_lists_the_renewal() {
    let d = common::Dir::fresh("renew-store");
    let dir = d.0.as_path();
    ok(dir, &["init"]);
    ok(dir, &["tenant", "create", "pki"]);
    for (args, pin) in [
        (vec!["user", "create", "ca", "--tenants", "pki"], "ca-pin-1234"),
        (vec!["user", "create", "audit", "--auditor"], "audit-pin-12"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_coffer"))
            .current_dir(dir)
            .args(&args)
            .envs(common::CREDENTIALS)
            .env("COFFER_NEW_PIN", pin)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    ok(dir, &["key", "create", "root-ca", "--type", "p256", "--usage", "sign,verify"]);
    ok(dir, &["cert", "ca", "--in-store", "root-ca", "--subject", "CN=Store Root", "--cert-out", "root.crt"]);
    let pair = [
        "cert",
        "pair",
        "--ca-cert",
        "root.crt",
        "--ca-key",
        "key:root-ca",
        "--subject",
        "CN=agent-3",
        "--usage",
        "client",
        "--algorithm",
        "p256",
        "--days",
        "5",
        "--key-out",
        "a3.key",
        "--cert-out",
        "a3.crt",
    ];
    ok(dir, &pair);
    ok(
        dir,
        &[
            "cert",
            "renew",
            "--ca-cert",
            "root.crt",
            "--ca-key",
            "key:root-ca",
            "--days",
            "60",
            "--out",
            "a3.new.crt",
            "a3.crt",
        ],
    );
    let serial = show(dir, "a3.new.crt")["serial"].as_str().unwrap().to_string();
    assert!(openssl(dir, &["verify", "-CAfile", "root.crt", "a3.new.crt"]).contains("OK"));
    let audit = ok(dir, &["--json", "--user", "audit", "audit", "show", "--key", "root-ca"]);
    assert!(audit.contains(&serial), "the renewal's serial {serial} is in the audit log");
}
