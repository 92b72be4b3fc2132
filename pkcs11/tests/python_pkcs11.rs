//! The python-pkcs11 suite (`tests/python/test_python_pkcs11.py`) against
//! the built `libcoffer_pkcs11.so` and a keystore made here: PINs, key
//! generation, the object list, signatures, AES-GCM, RSA-OAEP and key
//! wrapping from Python, each checked by pyca/cryptography where a second
//! implementation can check it. Prints pytest's summary line.
//!
//! Needs `python3` with `pytest`, `python-pkcs11` and `cryptography`
//! (`pip install pytest python-pkcs11 cryptography`; `.ci/run` installs
//! them). Without them the test prints one SKIPPED line, except under
//! `CI=true`, where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

mod common;

use std::path::Path;
use std::process::Command;

use common::{LABEL, SO_PIN, TempDir, USER_PIN};

/// Whether `python3` can import every package the suite needs; the
/// SKIPPED line (or, under CI, the failure) says which are missing.
fn python_ready() -> bool {
    let probe = Command::new("python3").args(["-c", "import pytest, pkcs11, cryptography"]).output();
    let problem = match probe {
        Ok(out) if out.status.success() => return true,
        Ok(out) => String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("import failed").to_string(),
        Err(e) => format!("python3 not found ({e})"),
    };
    let fix = "pip install pytest python-pkcs11 cryptography";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("the python-pkcs11 suite must run under CI=true: {problem} ({fix})");
    }
    println!("SKIPPED: the python-pkcs11 suite: {problem} ({fix})");
    false
}

#[test]
fn python_pkcs11_drives_the_module_and_pyca_checks_it() {
    if !python_ready() {
        return;
    }
    let dir = TempDir::new("python-pkcs11");
    let store = common::make_keystore(&dir.0, 1);
    let conf = common::write_config(&dir.0, &store, 0);
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/test_python_pkcs11.py");
    let out = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "console_output_style=classic"])
        .arg(&suite)
        .current_dir(&dir.0)
        .env("COFFER_PKCS11_MODULE", common::tool::module_path())
        .env(coffer_pkcs11::CONFIG_ENV, &conf)
        .env("COFFER_TOKEN_LABEL", LABEL)
        .env("COFFER_USER_PIN", std::str::from_utf8(USER_PIN).unwrap())
        .env("COFFER_SO_PIN", std::str::from_utf8(SO_PIN).unwrap())
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 -m pytest: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary =
        stdout.lines().rev().find(|l| l.contains(" passed") || l.contains(" failed") || l.contains(" error"));
    println!("python-pkcs11 suite: {}", summary.unwrap_or("(no pytest summary line)"));
    assert!(out.status.success(), "pytest failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(summary.is_some_and(|l| l.contains(" passed") && !l.contains("failed")), "{stdout}");
}
