//! `coffer` with keys in a PKCS#11 HSM (issue 19 part 3), against SoftHSMv2:
//!
//! - an envelope KEK: one `coffer encrypt --recipient pkcs11:...` process
//!   seals, a separate `coffer decrypt --key pkcs11:...` process opens (the
//!   token on disk is all they share: "after a process restart"), and
//!   neither needs a coffer keystore. The KEK is imported by the test with
//!   `softhsm2-util`, from known bytes, so the envelope is also opened in
//!   memory with them;
//! - the keystore's master key (`--master-kek`, KEYSTORE.md §12.3 kdf 02):
//!   a store created under a KEK the token generates opens in later
//!   processes only through it, and re-keys to a passphrase and back.
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

#[path = "../../tests/support/softhsm.rs"]
mod softhsm;

use softhsm::{MODULE, PIN};

/// `coffer args` in `dir` with the SoftHSM configuration and no coffer
/// keystore, store or credentials in the environment.
fn coffer(dir: &Path, conf: &Path, args: &[&str]) -> Output {
    coffer_env(dir, conf, args, &[])
}

/// [`coffer`] with `env` set.
fn coffer_env(dir: &Path, conf: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coffer"));
    cmd.current_dir(dir).args(args).env("SOFTHSM2_CONF", conf);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("COFFER_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

#[test]
fn an_envelope_sealed_through_softhsm_by_one_process_opens_through_softhsm_in_another() {
    let test = "an_envelope_sealed_through_softhsm_by_one_process_opens_through_softhsm_in_another";
    if !softhsm::installed(test) {
        return;
    }
    let dir = common::Dir::fresh("softhsm");
    let d = &dir.0;
    let conf = softhsm::token(d, "coffer-kek");
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
    softhsm::util(&conf, &import);
    std::fs::remove_file(&kek_file).unwrap();
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

#[test]
fn a_keystore_whose_master_key_is_held_in_softhsm_opens_only_through_it() {
    let test = "a_keystore_whose_master_key_is_held_in_softhsm_opens_only_through_it";
    if !softhsm::installed(test) {
        return;
    }
    let dir = common::Dir::fresh("softhsm-master");
    let d = &dir.0;
    let conf = softhsm::token(d, "coffer-kek");
    std::fs::write(d.join("wrong-pin"), "00000000\n").unwrap();
    std::fs::write(d.join("new-passphrase"), "a passphrase for the way back\n").unwrap();
    let uri = |object: &str, pin: &str| {
        format!(
            "pkcs11:token=coffer-kek;object={object}?module-path={MODULE}&pin-source=file:{}",
            d.join(pin).display()
        )
    };
    let master = uri("coffer-master", "pin");
    // Every later command is a new process: the store and the token on disk
    // are all they share.
    let held = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["--master-kek", master.as_str()];
        all.extend_from_slice(args);
        coffer_env(d, &conf, &all, &[&[("COFFER_SO_PIN", "so-pin-1234")], env].concat())
    };
    let ok = |out: Output, what: &str| {
        assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };

    let out = held(&["init"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out, "init");
    assert!(stderr.contains("generated the AES-256 KEK `coffer-master` in the PKCS#11 token"), "{stderr}");
    ok(held(&["tenant", "create", "acme"], &[]), "tenant create");
    ok(
        held(&["user", "create", "ops", "--tenants", "acme"], &[("COFFER_NEW_PIN", "user-pin-1234")]),
        "user create",
    );
    let user = [("COFFER_USER", "ops"), ("COFFER_PIN", "user-pin-1234")];
    ok(held(&["key", "create", "records"], &user), "key create");
    std::fs::write(d.join("plain.txt"), b"tenant data at rest").unwrap();
    let seal = [
        "encrypt",
        "--recipient",
        "key:records",
        "--context",
        "tenant=acme",
        "--in",
        "plain.txt",
        "--out",
        "sealed.cfr",
    ];
    ok(held(&seal, &user), "encrypt");
    let open = |out_name: &str| {
        ["decrypt", "--key", "records", "--context", "tenant=acme", "--in", "sealed.cfr", "--out", out_name]
            .map(String::from)
    };
    let args = open("a.txt");
    ok(held(&args.iter().map(String::as_str).collect::<Vec<_>>(), &user), "decrypt");
    assert_eq!(std::fs::read(d.join("a.txt")).unwrap(), b"tenant data at rest");

    // A passphrase does not open the store, and the error says why.
    let out = coffer_env(
        d,
        &conf,
        &["tenant", "list"],
        &[("COFFER_PASSPHRASE", "guess"), ("COFFER_SO_PIN", "so-pin-1234")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("a store created with --master-kek needs it every time"), "{stderr}");
    // Another AES key of the same token does not open it either.
    let other_kek = d.join("other.bin");
    std::fs::write(&other_kek, [0x5a; 32]).unwrap();
    softhsm::util(
        &conf,
        &[
            "--import",
            other_kek.to_str().unwrap(),
            "--aes",
            "--token",
            "coffer-kek",
            "--label",
            "other",
            "--id",
            "02",
            "--pin",
            PIN,
        ],
    );
    std::fs::remove_file(&other_kek).unwrap();
    let out = coffer_env(
        d,
        &conf,
        &["--master-kek", &uri("other", "pin"), "tenant", "list"],
        &[("COFFER_SO_PIN", "so-pin-1234")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("the --master-kek key does not open this store"), "{stderr}");
    // A wrong token PIN: refused before the store is touched, PIN not echoed.
    let out = coffer_env(
        d,
        &conf,
        &["--master-kek", &uri("coffer-master", "wrong-pin"), "tenant", "list"],
        &[("COFFER_SO_PIN", "so-pin-1234")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("the PKCS#11 token refused the user PIN") && !stderr.contains("00000000"),
        "{stderr}"
    );
    // --master-kek and --passphrase-file together: a usage error.
    let out = held(&["--passphrase-file", "new-passphrase", "tenant", "list"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));

    // Re-key to a passphrase: the KEK opens nothing any more.
    ok(held(&["passphrase", "change", "--new-passphrase-file", "new-passphrase"], &[]), "to a passphrase");
    let out = held(&["tenant", "list"], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let by_passphrase = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["--passphrase-file", "new-passphrase"];
        all.extend_from_slice(args);
        coffer_env(d, &conf, &all, &[&[("COFFER_SO_PIN", "so-pin-1234")], env].concat())
    };
    assert!(ok(by_passphrase(&["tenant", "list"], &[]), "tenant list").contains("acme"));
    // And back, under a second KEK the token generates.
    let second = uri("coffer-master-2", "pin");
    let out = by_passphrase(&["passphrase", "change", "--new-master-kek", &second], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out, "to a second KEK");
    assert!(stderr.contains("generated the AES-256 KEK `coffer-master-2`"), "{stderr}");
    assert_eq!(by_passphrase(&["tenant", "list"], &[]).status.code(), Some(3));
    assert_eq!(held(&["tenant", "list"], &[]).status.code(), Some(3), "the first KEK opens nothing");
    // The data was never touched: the envelope still opens, now through the second KEK.
    let args = open("b.txt");
    let mut all = vec!["--master-kek", second.as_str()];
    all.extend(args.iter().map(String::as_str));
    ok(coffer_env(d, &conf, &all, &user), "decrypt after two re-keys");
    assert_eq!(std::fs::read(d.join("b.txt")).unwrap(), b"tenant data at rest");
}
