//! The operator commands, run as a user would: each test works in its own
//! keystore directory with the secrets in the environment, and checks exit
//! codes, outputs and files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::Dir;

impl Dir {
    fn new(name: &str) -> Dir {
        let d = Dir::fresh(name);
        d.ok(&["init"]);
        d.add_tenants_and_users(&[]);
        d
    }

    /// As the security officer: tenants acme and globex, the user `ops`
    /// bound to both (PIN user-pin-1234), the auditor `audit` (PIN
    /// auditor-pin-1234). `pre` goes before each command (e.g. `--store URL`).
    fn add_tenants_and_users(&self, pre: &[&str]) {
        fn with<'a>(pre: &[&'a str], args: &[&'a str]) -> Vec<&'a str> {
            [pre, args].concat()
        }
        self.ok(&with(pre, &["tenant", "create", "acme"]));
        self.ok(&with(pre, &["tenant", "create", "globex"]));
        let out = self.run_env(
            &with(pre, &["user", "create", "ops", "--tenants", "acme,globex"]),
            &[("COFFER_NEW_PIN", "user-pin-1234")],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = self.run_env(
            &with(pre, &["user", "create", "audit", "--auditor"]),
            &[("COFFER_NEW_PIN", "auditor-pin-1234")],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    /// Runs an audit command as the auditor `audit`.
    fn audit(&self, args: &[&str]) -> String {
        let out = self.run_env(&[&["--user", "audit", "audit"], args].concat(), &[]);
        assert!(
            out.status.success(),
            "coffer audit {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        coffer_in(&self.0, args, env)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "coffer {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "coffer {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }
}

/// Runs `coffer` in `dir` with the test secrets in the environment (and
/// `env` over them); usable from any thread.
fn coffer_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coffer"));
    cmd.current_dir(dir)
        .args(args)
        .env("COFFER_PASSPHRASE", "correct horse battery")
        .env("COFFER_SO_PIN", "so-pin-1234")
        .env("COFFER_PIN", "user-pin-1234")
        .env("COFFER_AUDITOR_PIN", "auditor-pin-1234")
        .env("COFFER_USER", "ops")
        .env("COFFER_TENANT", "acme")
        .env_remove("COFFER_NEW_PIN")
        .env_remove("COFFER_STORE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn init_refuses_to_overwrite_and_keys_are_created_listed_and_shown_as_json() {
    let d = Dir::new("keys");
    assert!(d.fails(&["init"], 3).contains("already exists"));
    d.ok(&["key", "create", "records"]);
    d.ok(&["key", "create", "hooks", "--type", "hmac", "--expires", "+30d"]);
    let list: serde_json::Value = serde_json::from_str(&d.ok(&["key", "list", "--json"])).unwrap();
    let ids: Vec<&str> = list.as_array().unwrap().iter().map(|k| k["key_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["hooks", "records"]);
    let show: serde_json::Value = serde_json::from_str(&d.ok(&["key", "show", "records", "--json"])).unwrap();
    assert_eq!(show["type"], "aes256");
    assert_eq!(show["usage"], serde_json::json!(["encrypt", "decrypt", "wrap", "unwrap"]));
    assert_eq!(show["sensitive"], true);
    // Another tenant sees none of them.
    let other = d.run_env(&["key", "list", "--json"], &[("COFFER_TENANT", "globex")]);
    assert_eq!(String::from_utf8(other.stdout).unwrap().trim(), "[]");
    let bad_type = d.fails(&["key", "create", "x", "--type", "des"], 2);
    assert!(bad_type.contains("des") && bad_type.contains("possible values"), "{bad_type}");
}

#[test]
fn files_round_trip_for_a_stored_key_and_a_certificate_and_a_bad_context_releases_nothing() {
    let d = Dir::new("data");
    d.ok(&["key", "create", "records"]);
    d.ok(&["cert", "ca", "--subject", "CN=Test CA", "--key-out", "ca.key", "--cert-out", "ca.crt"]);
    d.ok(&[
        "cert",
        "pair",
        "--ca-cert",
        "ca.crt",
        "--ca-key",
        "ca.key",
        "--subject",
        "CN=agent-7",
        "--san",
        "dns:agent-7.acme.test",
        "--algorithm",
        "p256",
        "--key-out",
        "agent.key",
        "--cert-out",
        "agent.crt",
    ]);
    d.ok(&["cert", "verify", "--ca", "ca.crt", "agent.crt"]);
    let plain: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    write(&d.path("plain.bin"), &plain);
    d.ok(&[
        "encrypt",
        "--recipient",
        "key:records",
        "--recipient",
        "agent7=agent.crt",
        "--context",
        "tenant=acme",
        "--in",
        "plain.bin",
        "--out",
        "sealed.cfr",
    ]);
    let inspect: serde_json::Value =
        serde_json::from_str(&d.ok(&["inspect", "--in", "sealed.cfr", "--json"])).unwrap();
    assert_eq!(inspect["context"][0]["key"], "tenant");
    assert_eq!(inspect["context"][0]["value_hex"], hex::encode("acme"));
    assert_eq!(inspect["recipients"][0]["key_id"], "records");
    assert_eq!(inspect["recipients"][1]["kind"], "p256-ecdh-es");

    d.ok(&[
        "decrypt",
        "--key",
        "records",
        "--context",
        "tenant=acme",
        "--in",
        "sealed.cfr",
        "--out",
        "a.bin",
    ]);
    assert_eq!(std::fs::read(d.path("a.bin")).unwrap(), plain);
    let out =
        d.run(&["decrypt", "--private-key", "agent.key", "--context", "tenant=acme", "--in", "sealed.cfr"]);
    // Sealed to `agent7=agent.crt`: the key file's name is not the recipient's id.
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("p256-ecdh-es agent7 v1"));
    let out = d.run(&[
        "decrypt",
        "--private-key",
        "agent.key",
        "--key-id",
        "agent7",
        "--context",
        "tenant=acme",
        "--in",
        "sealed.cfr",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, plain);

    assert!(
        d.fails(
            &[
                "decrypt",
                "--key",
                "records",
                "--context",
                "tenant=globex",
                "--in",
                "sealed.cfr",
                "--out",
                "b.bin"
            ],
            1
        )
        .contains("decryption failed")
    );
    assert!(!d.path("b.bin").exists(), "no output file after a failed decrypt");
    // A truncated envelope: refused, nothing on stdout.
    let sealed = std::fs::read(d.path("sealed.cfr")).unwrap();
    write(&d.path("short.cfr"), &sealed[..sealed.len() - 100]);
    let out = d.run(&["decrypt", "--key", "records", "--context", "tenant=acme", "--in", "short.cfr"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    // No plaintext scratch file is left behind.
    let names: Vec<String> = std::fs::read_dir(&d.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("scratch") && !n.contains("partial")), "{names:?}");
}

#[test]
fn rotation_and_rewrap_keep_envelopes_open_and_shredding_ends_them() {
    let d = Dir::new("rotate");
    d.ok(&["key", "create", "records"]);
    write(&d.path("p.txt"), b"invoice 42");
    d.ok(&[
        "encrypt",
        "--recipient",
        "key:records",
        "--context",
        "tenant=acme",
        "--in",
        "p.txt",
        "--out",
        "p.cfr",
    ]);
    d.ok(&["key", "rotate", "records"]);
    d.ok(&["rewrap", "--key", "records", "--in", "p.cfr"]);
    let inspect: serde_json::Value =
        serde_json::from_str(&d.ok(&["inspect", "--in", "p.cfr", "--json"])).unwrap();
    assert_eq!(inspect["recipients"][0]["version"], 2);
    d.ok(&["decrypt", "--key", "records", "--context", "tenant=acme", "--in", "p.cfr", "--out", "q.txt"]);
    assert_eq!(std::fs::read(d.path("q.txt")).unwrap(), b"invoice 42");

    let evidence: serde_json::Value =
        serde_json::from_str(&d.ok(&["tenant", "shred", "acme", "--json"])).unwrap();
    assert_eq!(evidence["destroyed"][0]["key_id"], "records");
    assert_eq!(evidence["destroyed"][0]["version"], 2);
    d.fails(
        &["decrypt", "--key", "records", "--context", "tenant=acme", "--in", "p.cfr", "--out", "r.txt"],
        1,
    );
    assert!(!d.path("r.txt").exists());
}

#[test]
fn wrapping_signing_and_webhook_macs_work_and_tampering_and_replays_are_refused() {
    let d = Dir::new("ops");
    d.ok(&["key", "create", "kek"]);
    d.ok(&["key", "create", "signer", "--type", "p256"]);
    d.ok(&["key", "create", "hooks", "--type", "hmac"]);
    write(&d.path("dek.bin"), &[7u8; 32]);
    d.ok(&["wrap", "--key", "kek", "--in", "dek.bin", "--out", "dek.wrapped"]);
    d.ok(&["unwrap", "--key", "kek", "--in", "dek.wrapped", "--out", "dek.out"]);
    assert_eq!(std::fs::read(d.path("dek.out")).unwrap(), [7u8; 32]);
    assert!(
        d.fails(&["unwrap", "--key", "kek", "--in", "dek.wrapped", "--out", "dek.out"], 2)
            .contains("dek.out exists")
    );

    write(&d.path("msg.txt"), b"deploy v2");
    d.ok(&["sign", "--key", "signer", "--in", "msg.txt", "--out", "msg.sig"]);
    d.ok(&["key", "export-public", "signer", "--out", "signer.pub"]);
    d.ok(&["verify", "--public-key", "signer.pub", "--in", "msg.txt", "--signature", "msg.sig"]);
    write(&d.path("msg.txt"), b"deploy v3");
    d.fails(&["verify", "--key", "signer", "--in", "msg.txt", "--signature", "msg.sig"], 1);

    write(&d.path("body.json"), br#"{"event":"paid"}"#);
    let header = d.ok(&["hmac", "sign", "--key", "hooks", "--in", "body.json"]);
    let header = header.trim();
    d.ok(&["hmac", "verify", "--key", "hooks", "--in", "body.json", "--signature", header]);
    write(&d.path("body2.json"), br#"{"event":"refund"}"#);
    d.fails(&["hmac", "verify", "--key", "hooks", "--in", "body2.json", "--signature", header], 1);
    let old = d.ok(&["hmac", "sign", "--key", "hooks", "--in", "body.json", "--timestamp", "1000000000"]);
    assert!(
        d.fails(&["hmac", "verify", "--key", "hooks", "--in", "body.json", "--signature", old.trim()], 1)
            .contains("outside the 300 s window")
    );
}

#[test]
fn expired_keys_are_deactivated_by_the_sweep() {
    let d = Dir::new("sweep");
    d.ok(&["key", "create", "hooks-old", "--type", "hmac", "--expires", "1000"]);
    d.ok(&["key", "create", "hooks-new", "--type", "hmac", "--expires", "+30d"]);
    assert!(d.ok(&["key", "sweep"]).contains("1 expired key(s) deactivated"));
    let old: serde_json::Value =
        serde_json::from_str(&d.ok(&["key", "show", "hooks-old", "--json"])).unwrap();
    assert_eq!(old["state"], "deactivated");
    write(&d.path("b"), b"x");
    assert!(d.fails(&["hmac", "sign", "--key", "hooks-old", "--in", "b"], 1).contains("lifecycle state"));
    d.ok(&["hmac", "sign", "--key", "hooks-new", "--in", "b"]);
}

#[test]
fn wrong_secrets_fail_with_exit_code_3_and_the_audit_log_verifies() {
    let d = Dir::new("auth");
    let out = d.run_env(&["key", "list"], &[("COFFER_PIN", "wrong-pin-0")]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("incorrect PIN"));
    let out = d.run_env(&["key", "list"], &[("COFFER_PASSPHRASE", "not the passphrase")]);
    assert_eq!(out.status.code(), Some(3));
    assert!(d.audit(&["verify"]).contains("HMAC chain intact"));
    // The failed login was saved in the log, naming who, where and why.
    let log: serde_json::Value = serde_json::from_str(&d.audit(&["show", "--json"])).unwrap();
    let refused: Vec<&serde_json::Value> =
        log.as_array().unwrap().iter().filter(|r| r["event"] == "refused").collect();
    assert_eq!(refused.len(), 1, "{log}");
    let r = refused[0];
    assert_eq!((r["user"].as_str(), r["role"].as_str()), (Some("ops"), Some("user")));
    assert_eq!((r["tenant"].as_str(), r["operation"].as_str()), (Some("acme"), Some("login")));
    assert_eq!(r["reason"], "wrong-pin");
    assert!(r["time"].as_str().unwrap().ends_with('Z'), "{r}");
    // A user is not an auditor.
    let out = d.run_env(&["audit", "show"], &[("COFFER_AUDITOR_PIN", "user-pin-1234")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an auditor"));
}

#[test]
fn twenty_key_creations_at_once_are_all_kept_and_parallel_wrong_pins_lock_after_exactly_five() {
    let d = Dir::new("parallel");
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let dir = d.0.clone();
            std::thread::spawn(move || coffer_in(&dir, &["key", "create", &format!("p{i:02}")], &[]))
        })
        .collect();
    for t in threads {
        let out = t.join().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let list = d.ok(&["key", "list"]);
    assert_eq!(list.lines().count(), 20, "{list}");
    for i in 0..20 {
        assert!(list.contains(&format!("p{i:02} ")), "p{i:02} lost:\n{list}");
    }

    let threads: Vec<_> = (0..10)
        .map(|i| {
            let dir = d.0.clone();
            std::thread::spawn(move || {
                coffer_in(&dir, &["key", "list"], &[("COFFER_PIN", &format!("wrong-pin-{i}"))])
            })
        })
        .collect();
    let (incorrect, locked) = common::pin_refusals(threads.into_iter().map(|t| t.join().unwrap()));
    assert_eq!((incorrect, locked), (4, 6));
    assert!(d.fails(&["key", "list"], 3).contains("PIN locked"));
}

#[test]
fn a_restored_older_store_is_refused_as_rolled_back_until_the_operator_removes_the_generation_file() {
    let d = Dir::new("rollback");
    d.ok(&["key", "create", "first"]);
    // Every command has exited, so SQLite checkpointed its WAL into the file.
    assert!(!d.path("coffer-store.db-wal").exists());
    std::fs::copy(d.path("coffer-store.db"), d.path("backup.db")).unwrap();
    d.ok(&["key", "create", "second"]);
    std::fs::copy(d.path("backup.db"), d.path("coffer-store.db")).unwrap();
    let err = d.fails(&["key", "list"], 3);
    assert!(err.contains("rolled back"), "{err}");
    std::fs::remove_file(d.path("coffer-store.db.generation")).unwrap();
    let list = d.ok(&["key", "list"]);
    assert!(list.contains("first") && !list.contains("second"), "{list}");
}

#[test]
fn a_store_path_that_is_a_symlink_fifo_or_device_is_never_opened_or_replaced() {
    let d = Dir::new("special");
    std::os::unix::fs::symlink(d.path("coffer-store.db"), d.path("link.db")).unwrap();
    let err = d.fails(&["--store", "link.db", "key", "list"], 3);
    assert!(err.contains("could not be opened"), "{err}");
    let err = d.fails(&["--store", "link.db", "init"], 3);
    assert!(err.contains("already exists"), "{err}");
    assert!(std::fs::symlink_metadata(d.path("link.db")).unwrap().file_type().is_symlink());
    assert_eq!(
        Command::new("mkfifo").arg(d.path("fifo.db")).status().unwrap().code(),
        Some(0),
        "mkfifo is needed"
    );
    d.fails(&["--store", "fifo.db", "key", "list"], 3);
    d.fails(&["--store", "/dev/null", "key", "list"], 3);
    d.fails(&["--store", "/dev/null", "init"], 3);
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &std::fs::symlink_metadata(d.path("fifo.db")).unwrap().file_type()
    ));
}

#[test]
fn migrate_copies_a_version_1_keystore_file_into_a_new_store() {
    use coffer_core::rng::OsRng;
    use coffer_hsm::keystore::KeySource;
    use coffer_hsm::{Config, FileStorage, Hsm, KeyAttributes, KeyType, Role, SystemClock, Usage};

    let d = Dir::new("migrate");
    let mut hsm = Hsm::new(1, Config::default(), Box::new(SystemClock)).unwrap();
    hsm.init_token(&mut OsRng, 0, "coffer", b"so-pin-1234").unwrap();
    // A volatile HSM saved as v1 holds its users only as the v1 user and auditor PINs.
    let so = hsm.login_so(0, b"so-pin-1234").unwrap();
    hsm.create_tenant(&mut OsRng, so, "acme").unwrap();
    hsm.create_user(&mut OsRng, so, coffer_hsm::V1_USER, Role::User, &["acme"], b"user-pin-1234").unwrap();
    hsm.create_user(&mut OsRng, so, coffer_hsm::V1_AUDITOR, Role::Auditor, &[], b"auditor-pin-1234").unwrap();
    let s = hsm.login(0, coffer_hsm::V1_USER, b"user-pin-1234", Some("acme")).unwrap();
    let attrs = KeyAttributes {
        label: "from v1".into(),
        tenant: "acme".into(),
        key_id: "legacy".into(),
        usage: Usage::ENCRYPT | Usage::DECRYPT,
        extractable: false,
        active: true,
    };
    hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs).unwrap();
    let mut file = FileStorage::new(d.path("v1-store")).unwrap();
    let so_session = hsm.login_so(0, b"so-pin-1234").unwrap();
    hsm.save(&mut OsRng, so_session, &mut file, &KeySource::Passphrase(b"correct horse battery")).unwrap();

    let out = d.ok(&["migrate", "--from", "v1-store", "--to", "v2.db"]);
    assert!(out.contains("migrated"), "{out}");
    // The v1 user PIN is the credential "user", bound to the tenants with keys.
    let list = d.ok(&["--store", "v2.db", "--user", "user", "key", "list"]);
    assert!(list.contains("legacy"), "{list}");
    let out = d.run_env(&["--store", "v2.db", "--user", "auditor", "audit", "verify"], &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("HMAC chain intact"));
    // The target must be new, and a wrong passphrase leaves no store behind.
    d.fails(&["migrate", "--from", "v1-store", "--to", "v2.db"], 3);
    let out =
        d.run_env(&["migrate", "--from", "v1-store", "--to", "v3.db"], &[("COFFER_PASSPHRASE", "wrong")]);
    assert_eq!(out.status.code(), Some(3));
    assert!(!d.path("v3.db").exists());
}

#[test]
fn a_postgres_url_in_store_is_a_keystore_shared_by_every_command_and_refused_twice_for_init() {
    let server = match coffer_store::testing::PostgresServer::start() {
        Ok(Some(s)) => s,
        Ok(None) => return, // SKIPPED line printed (outside CI)
        Err(e) => panic!("{e}"),
    };
    let url = server.url();
    let d = Dir::new("postgres");
    let with_url = |args: &[&str]| {
        let mut all = vec!["--store", url.as_str()];
        all.extend_from_slice(args);
        all.iter().map(|a| a.to_string()).collect::<Vec<String>>()
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        d.run(&refs)
    };
    let out = run(with_url(&["init"]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("PostgreSQL"));
    let out = run(with_url(&["init"]));
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a keystore"));
    d.add_tenants_and_users(&["--store", url.as_str()]);
    // Several commands at once, as several hosts would.
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (dir, url) = (d.0.clone(), url.clone());
            std::thread::spawn(move || {
                coffer_in(&dir, &["--store", &url, "key", "create", &format!("pg{i}")], &[])
            })
        })
        .collect();
    for t in threads {
        let out = t.join().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = run(with_url(&["key", "list"]));
    let list = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(list.lines().count(), 8, "{list}");
    let out = run(with_url(&["--user", "audit", "audit", "verify"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("HMAC chain intact"));
    // The URL is never printed back (it may carry a password).
    let out = run(vec!["--store".into(), format!("{url}x"), "key".into(), "list".into()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&url), "the URL leaked into an error");
}
