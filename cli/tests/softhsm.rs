//! `coffer` with a KEK in a PKCS#11 HSM (issue 19 part 3), against SoftHSMv2:
//! one `coffer encrypt --recipient pkcs11:...` process seals, a separate
//! `coffer decrypt --key pkcs11:...` process opens (the token on disk is
//! all they share: "after a process restart"), and neither needs a coffer
//! keystore. The KEK is imported by the test with `softhsm2-util`, from
//! known bytes, so the envelope is also opened in memory with them.
//!
//! (This lives in the cli package, not in `tests/`, because only the cli
//! package's tests get the built `coffer` binary, `CARGO_BIN_EXE_coffer`.)
//!
//! Without SoftHSM the test prints `SKIPPED: <test>: softhsm2 not installed`
//! and passes, except under `CI=true`, where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::{Command, Output};

use coffer_core::envelope::{self, EncryptionContext, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::rng::OsRng;

mod common;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "87654321";

fn softhsm_installed(test: &str) -> bool {
    let installed = Path::new(MODULE).exists()
        && Command::new("softhsm2-util").arg("--version").output().is_ok_and(|o| o.status.success());
    if !installed {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: softhsm2 is not installed and CI=true (apt-get install softhsm2)"
        );
        println!("SKIPPED: {test}: softhsm2 not installed (apt-get install softhsm2)");
    }
    installed
}

/// `softhsm2-util args` with the test's configuration.
fn softhsm2_util(conf: &Path, args: &[&str]) {
    let out = Command::new("softhsm2-util").args(args).env("SOFTHSM2_CONF", conf).output().unwrap();
    assert!(out.status.success(), "softhsm2-util {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `coffer args` in `dir` with the SoftHSM configuration and no coffer
/// keystore, store or credentials in the environment.
fn coffer(dir: &Path, conf: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coffer"));
    cmd.current_dir(dir).args(args).env("SOFTHSM2_CONF", conf);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("COFFER_")) {
        cmd.env_remove(k);
    }
    cmd.output().unwrap()
}

#[test]
fn an_envelope_sealed_through_softhsm_by_one_process_opens_through_softhsm_in_another() {
    let test = "an_envelope_sealed_through_softhsm_by_one_process_opens_through_softhsm_in_another";
    if !softhsm_installed(test) {
        return;
    }
    let dir = common::Dir::fresh("softhsm");
    let d = &dir.0;
    std::fs::create_dir_all(d.join("tokens")).unwrap();
    let conf = d.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            d.join("tokens").display()
        ),
    )
    .unwrap();
    softhsm2_util(
        &conf,
        &["--init-token", "--free", "--label", "coffer-kek", "--so-pin", "12345678", "--pin", PIN],
    );
    let known: [u8; 32] = core::array::from_fn(|i| u8::try_from(i).unwrap().wrapping_mul(11).wrapping_add(5));
    let kek_file = d.join("kek.bin");
    std::fs::write(&kek_file, known).unwrap();
    let kek_path = kek_file.to_str().unwrap();
    let import = [
        "--import",
        kek_path,
        "--aes",
        "--token",
        "coffer-kek",
        "--label",
        "records",
        "--id",
        "01",
        "--pin",
        PIN,
    ];
    softhsm2_util(&conf, &import);
    std::fs::remove_file(&kek_file).unwrap();
    std::fs::write(d.join("pin"), format!("{PIN}\n")).unwrap();
    std::fs::write(d.join("wrong-pin"), "00000000\n").unwrap();
    std::fs::write(d.join("report.pdf"), b"%PDF-1.7 sealed by SoftHSM").unwrap();
    let uri = |pin: &str| {
        format!(
            "pkcs11:token=coffer-kek;object=records;type=secret-key?module-path={MODULE}&pin-source=file:{}",
            d.join(pin).display()
        )
    };

    // Process 1 seals; no keystore exists in `d` or the environment.
    let out = coffer(
        d,
        &conf,
        &[
            "encrypt",
            "--recipient",
            &uri("pin"),
            "--context",
            "tenant=acme",
            "--in",
            "report.pdf",
            "--out",
            "report.cfr",
        ],
    );
    assert!(out.status.success(), "encrypt: {}", String::from_utf8_lossy(&out.stderr));
    // Process 2 opens.
    let out = coffer(
        d,
        &conf,
        &[
            "decrypt",
            "--key",
            &uri("pin"),
            "--context",
            "tenant=acme",
            "--in",
            "report.cfr",
            "--out",
            "copy.pdf",
        ],
    );
    assert!(out.status.success(), "decrypt: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(d.join("copy.pdf")).unwrap(), b"%PDF-1.7 sealed by SoftHSM");

    // The record is FORMAT.md's kind 01 under the token's key bytes: it
    // opens in memory with them, key id = the label, version 1.
    let sealed = std::fs::read(d.join("report.cfr")).unwrap();
    let kek = Kek::from_slice(&known).unwrap();
    let mut ctx = EncryptionContext::new();
    ctx.insert(b"tenant", b"acme").unwrap();
    let key = UnlockKey::Kek { key_id: b"records", version: 1, kek: &kek };
    assert_eq!(
        &envelope::open(&mut OsRng, &[key], &ctx, &sealed).unwrap()[..],
        b"%PDF-1.7 sealed by SoftHSM"
    );

    // A wrong PIN: a clear error, exit 3, no output file, the PIN not echoed.
    let out = coffer(
        d,
        &conf,
        &[
            "decrypt",
            "--key",
            &uri("wrong-pin"),
            "--context",
            "tenant=acme",
            "--in",
            "report.cfr",
            "--out",
            "bad.pdf",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("the PKCS#11 token refused the user PIN"), "{stderr}");
    assert!(!stderr.contains("00000000") && !stderr.contains(PIN), "{stderr}");
    assert!(!d.join("bad.pdf").exists(), "a refused decrypt wrote its output");
    // The wrong PIN refuses sealing as well, and writes nothing.
    let out = coffer(
        d,
        &conf,
        &["encrypt", "--recipient", &uri("wrong-pin"), "--in", "report.pdf", "--out", "bad.cfr"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!d.join("bad.cfr").exists());

    // Another context: refused (exit 1), nothing written.
    let out = coffer(
        d,
        &conf,
        &[
            "decrypt",
            "--key",
            &uri("pin"),
            "--context",
            "tenant=globex",
            "--in",
            "report.cfr",
            "--out",
            "bad.pdf",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!d.join("bad.pdf").exists());

    // A key label the token does not have is named.
    let missing = uri("pin").replace("object=records", "object=nope");
    let out = coffer(d, &conf, &["decrypt", "--key", &missing, "--in", "report.cfr", "--out", "bad.pdf"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no AES secret key labelled `nope`"), "{stderr}");
    // An attribute coffer does not take is refused by name (exit 2).
    let odd = uri("pin").replace("type=secret-key", "slot-id=0");
    let out = coffer(d, &conf, &["decrypt", "--key", &odd, "--in", "report.cfr", "--out", "bad.pdf"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`slot-id`"), "{stderr}");
    assert!(!d.join("bad.pdf").exists());
}
