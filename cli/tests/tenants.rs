//! Tenant access control through the `coffer` command, each step its own
//! process (several at once where it matters), as operators run it: the
//! security officer makes tenants and credentials, PINs lock per credential
//! and are unblocked and changed, refusals are found with `audit show`
//! filters, a new passphrase keeps every key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod common;

use common::Dir;

/// A keystore with tenants acme and globex, users alice (acme), bob
/// (globex), ops (both) and the auditor `audit`.
fn provisioned(name: &str) -> Dir {
    let d = Dir::fresh(&format!("tenants-{name}"));
    ok(&d.0, &["init"], &[]);
    ok(&d.0, &["tenant", "create", "acme"], &[]);
    ok(&d.0, &["tenant", "create", "globex"], &[]);
    for (user, tenants, pin) in [
        ("alice", "acme", "alice-pin-01"),
        ("bob", "globex", "bob-pin-0001"),
        ("ops", "acme,globex", "ops-pin-0001"),
    ] {
        ok(&d.0, &["user", "create", user, "--tenants", tenants], &[("COFFER_NEW_PIN", pin)]);
    }
    ok(&d.0, &["user", "create", "audit", "--auditor"], &[("COFFER_NEW_PIN", "audit-pin-01")]);
    d
}

/// Runs `coffer` in `dir` with the passphrase and SO PIN set, `env` over them.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coffer"));
    cmd.current_dir(dir)
        .args(args)
        .env("COFFER_PASSPHRASE", "correct horse battery")
        .env("COFFER_SO_PIN", "so-pin-1234")
        .env_remove("COFFER_STORE")
        .env_remove("COFFER_USER")
        .env_remove("COFFER_TENANT")
        .env_remove("COFFER_PIN")
        .env_remove("COFFER_AUDITOR_PIN")
        .env_remove("COFFER_NEW_PIN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run(dir, args, env);
    assert!(out.status.success(), "coffer {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn fails(dir: &Path, args: &[&str], env: &[(&str, &str)], code: i32) -> String {
    let out = run(dir, args, env);
    assert_eq!(out.status.code(), Some(code), "coffer {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stderr).unwrap()
}

fn as_alice(pin: &str) -> Vec<(&'static str, String)> {
    vec![("COFFER_USER", "alice".into()), ("COFFER_PIN", pin.into())]
}

fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// `audit show --json` as the auditor, with `filters`.
fn audit_json(dir: &Path, filters: &[&str]) -> Vec<Value> {
    let args = [&["--user", "audit", "audit", "show", "--json"], filters].concat();
    let out = ok(dir, &args, &[("COFFER_AUDITOR_PIN", "audit-pin-01")]);
    serde_json::from_str::<Value>(&out).unwrap().as_array().unwrap().clone()
}

#[test]
fn wrong_pins_from_parallel_processes_lock_one_credential_which_the_so_unblocks_and_its_holder_then_changes()
{
    let d = provisioned("lockout");
    let dir = d.0.clone();
    let attempts: Vec<_> = (0..7)
        .map(|i| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                run(
                    &dir,
                    &["key", "list"],
                    &[("COFFER_USER", "alice"), ("COFFER_PIN", &format!("guess-{i:04}"))],
                )
            })
        })
        .collect();
    let (incorrect, locked) = common::pin_refusals(attempts.into_iter().map(|t| t.join().unwrap()));
    assert_eq!((incorrect, locked), (4, 3), "exactly five failures lock, whatever the interleaving");
    // Locked even with the right PIN; ops (same tenant) and bob are not.
    assert!(fails(&dir, &["key", "list"], &env_refs(&as_alice("alice-pin-01")), 3).contains("PIN locked"));
    ok(&dir, &["--user", "ops", "--tenant", "acme", "key", "list"], &[("COFFER_PIN", "ops-pin-0001")]);
    ok(&dir, &["--user", "bob", "key", "list"], &[("COFFER_PIN", "bob-pin-0001")]);
    let users: Value = serde_json::from_str(&ok(&dir, &["user", "list", "--json"], &[])).unwrap();
    let alice = users.as_array().unwrap().iter().find(|u| u["name"] == "alice").unwrap().clone();
    assert_eq!((alice["locked"].as_bool(), alice["failures"].as_u64()), (Some(true), Some(5)), "{alice}");
    assert_eq!(alice["tenants"], serde_json::json!(["acme"]));

    // The security officer unblocks with a new PIN; the holder changes it.
    assert!(
        fails(
            &dir,
            &["pin", "unblock", "alice"],
            &[("COFFER_SO_PIN", "not-the-so-pin"), ("COFFER_NEW_PIN", "x-pin-0001")],
            3
        )
        .contains("incorrect PIN")
    );
    ok(&dir, &["pin", "unblock", "alice"], &[("COFFER_NEW_PIN", "temporary-01")]);
    ok(&dir, &["key", "list"], &env_refs(&as_alice("temporary-01")));
    let mut change = as_alice("temporary-01");
    change.push(("COFFER_NEW_PIN", "alice-own-pin".into()));
    assert!(ok(&dir, &["pin", "change"], &env_refs(&change)).contains("PIN of alice changed"));
    fails(&dir, &["key", "list"], &env_refs(&as_alice("temporary-01")), 3);
    ok(&dir, &["key", "create", "after", "--type", "hmac"], &env_refs(&as_alice("alice-own-pin")));
    // The security officer's own PIN.
    ok(&dir, &["pin", "change", "--so"], &[("COFFER_NEW_PIN", "so-pin-5678")]);
    fails(&dir, &["tenant", "list"], &[], 3);
    ok(&dir, &["tenant", "list"], &[("COFFER_SO_PIN", "so-pin-5678")]);

    // The auditor finds the whole story of alice's credential, in order.
    let story: Vec<(String, String)> = audit_json(&dir, &["--by", "alice"])
        .iter()
        .map(|r| (r["event"].as_str().unwrap().to_string(), r["reason"].as_str().unwrap_or("").to_string()))
        .collect();
    let mut expected = vec![("user-created".to_string(), String::new())];
    expected.extend((0..4).map(|_| ("refused".to_string(), "wrong-pin".to_string())));
    expected.extend((0..4).map(|_| ("refused".to_string(), "pin-locked".to_string())));
    for (e, reason) in [
        ("user-unblocked", ""),
        ("login", ""),
        ("login", ""), // `pin change` logs in first
        ("pin-changed", ""),
        ("refused", "wrong-pin"), // the old PIN, after the change
        ("login", ""),
    ] {
        expected.push((e.to_string(), reason.to_string()));
    }
    assert_eq!(story, expected);
    let verified =
        ok(&dir, &["--user", "audit", "audit", "verify"], &[("COFFER_AUDITOR_PIN", "audit-pin-01")]);
    assert!(verified.contains("every credential agrees"), "{verified}");
}

#[test]
fn cross_tenant_and_wrong_role_attempts_are_refused_and_found_by_tenant_user_key_and_time_filters() {
    let d = provisioned("refusals");
    let dir = d.0.clone();
    let alice = as_alice("alice-pin-01");
    ok(&dir, &["key", "create", "payroll"], &env_refs(&alice));
    ok(&dir, &["key", "create", "archive", "--usage", "decrypt"], &env_refs(&alice));
    std::fs::write(dir.join("in.txt"), b"salaries").unwrap();
    // bob is not bound to acme; alice's decrypt-only key makes nothing new.
    let err = fails(
        &dir,
        &["--tenant", "acme", "key", "list"],
        &[("COFFER_USER", "bob"), ("COFFER_PIN", "bob-pin-0001")],
        1,
    );
    assert!(err.contains("not allowed in this tenant"), "{err}");
    let mut encrypt = vec!["encrypt", "--recipient", "key:archive", "--context", "tenant=acme"];
    encrypt.extend(["--in", "in.txt", "--out", "out.cfr"]);
    fails(&dir, &encrypt, &env_refs(&alice), 1);
    assert!(!dir.join("out.cfr").exists());
    // The auditor is no user, and users are not the security officer.
    fails(&dir, &["--user", "audit", "key", "list"], &[("COFFER_PIN", "audit-pin-01")], 1);
    let denied =
        fails(&dir, &["--user", "alice", "audit", "show"], &[("COFFER_AUDITOR_PIN", "alice-pin-01")], 1);
    assert!(denied.contains("may not") || denied.contains("not an auditor"), "{denied}");

    let refused: Vec<Value> =
        audit_json(&dir, &["--of-tenant", "acme"]).into_iter().filter(|r| r["event"] == "refused").collect();
    let summary: Vec<(&str, &str, &str, &str)> = refused
        .iter()
        .map(|r| {
            (
                r["user"].as_str().unwrap(),
                r["operation"].as_str().unwrap(),
                r["reason"].as_str().unwrap(),
                r["key"]["key_id"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("bob", "login", "not-in-tenant", "-"),
            ("alice", "seal", "usage-not-allowed", "archive"),
            ("alice", "read-audit", "wrong-role", "-"),
        ]
    );
    for r in &refused {
        let t = r["time"].as_str().unwrap();
        assert!(t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T', "not ISO 8601 UTC: {t}");
    }
    // The other filters.
    let by_bob = audit_json(&dir, &["--by", "bob"]);
    assert!(
        by_bob.iter().all(|r| r["user"] == "bob") && by_bob.iter().any(|r| r["reason"] == "not-in-tenant")
    );
    let payroll = audit_json(&dir, &["--key", "payroll"]);
    assert_eq!(payroll.len(), 1, "created once, never used: {payroll:?}");
    assert_eq!(payroll[0]["event"], "key-created");
    assert!(audit_json(&dir, &["--since", "2999-01-01"]).is_empty());
    assert_eq!(audit_json(&dir, &["--until", "2000-01-01T00:00:00Z"]).len(), 0);
    let all = audit_json(&dir, &[]).len();
    // (each `audit show` adds the auditor's login to the log)
    assert_eq!(audit_json(&dir, &["--since", "2000-01-01", "--until", "2999-12-31"]).len(), all + 1);
    let err = fails(&dir, &["--user", "audit", "audit", "show", "--since", "yesterday"], &[], 2);
    assert!(err.contains("bad --since time"), "{err}");
    // The plain text is one readable line per record, no Rust Debug text.
    let text = ok(
        &dir,
        &["--user", "audit", "audit", "show", "--of-tenant", "acme"],
        &[("COFFER_AUDITOR_PIN", "audit-pin-01")],
    );
    assert!(text.contains("refused: bob (user) in tenant acme tried login: not-in-tenant"), "{text}");
    assert!(!text.contains("Refused {") && !text.contains("KeyRef"), "{text}");
}

#[test]
fn a_new_passphrase_keeps_every_key_usable_the_old_one_opens_nothing_and_a_kept_audit_head_still_checks() {
    let d = provisioned("rekey");
    let dir = d.0.clone();
    let alice = as_alice("alice-pin-01");
    ok(&dir, &["key", "create", "records"], &env_refs(&alice));
    std::fs::write(dir.join("in.txt"), b"kept across the re-key").unwrap();
    let encrypt = [
        "encrypt",
        "--recipient",
        "key:records",
        "--context",
        "tenant=acme",
        "--in",
        "in.txt",
        "--out",
        "a.cfr",
    ];
    ok(&dir, &encrypt, &env_refs(&alice));
    let auditor = [("COFFER_AUDITOR_PIN", "audit-pin-01")];
    let verified = ok(&dir, &["--user", "audit", "audit", "verify"], &auditor);
    let head = verified
        .lines()
        .find_map(|l| l.strip_prefix("head "))
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();

    // Only the security officer re-keys; the new passphrase is asked twice on a terminal.
    ok(&dir, &["passphrase", "change"], &[("COFFER_NEW_PASSPHRASE", "a brand new passphrase")]);
    let err = fails(&dir, &["key", "list"], &env_refs(&alice), 3);
    assert!(err.contains("does not open") || err.contains("passphrase"), "{err}");
    let mut with_new = env_refs(&alice);
    with_new.push(("COFFER_PASSPHRASE", "a brand new passphrase"));
    let decrypt =
        ["decrypt", "--key", "records", "--context", "tenant=acme", "--in", "a.cfr", "--out", "b.txt"];
    ok(&dir, &decrypt, &with_new);
    assert_eq!(std::fs::read(dir.join("b.txt")).unwrap(), b"kept across the re-key");

    // The head kept before the re-key still checks against the log afterwards.
    let new_auditor =
        [("COFFER_AUDITOR_PIN", "audit-pin-01"), ("COFFER_PASSPHRASE", "a brand new passphrase")];
    ok(&dir, &["--user", "audit", "audit", "verify", "--expect-head", &head], &new_auditor);
    let (n, mac) = head.split_once(':').unwrap();
    let forged = format!("{n}:{}{}", if mac.starts_with('0') { "1" } else { "0" }, &mac[1..]);
    let err = fails(&dir, &["--user", "audit", "audit", "verify", "--expect-head", &forged], &new_auditor, 1);
    assert!(err.contains("rewritten"), "{err}");
    let ahead = format!("{}:{mac}", n.parse::<u64>().unwrap() + 1000);
    assert!(
        fails(&dir, &["--user", "audit", "audit", "verify", "--expect-head", &ahead], &new_auditor, 1)
            .contains("shortened")
    );
}

#[test]
fn tenants_and_users_are_listed_as_text_and_json_and_bad_names_are_refused_before_anything_is_written() {
    let d = provisioned("listings");
    let dir = d.0.clone();
    let tenants: Value = serde_json::from_str(&ok(&dir, &["tenant", "list", "--json"], &[])).unwrap();
    let names: Vec<&str> = tenants.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["acme", "globex"]);
    assert!(tenants[0]["created"].as_str().unwrap().ends_with('Z'));
    let text = ok(&dir, &["user", "list"], &[]);
    assert!(text.lines().any(|l| l.starts_with("ops ") && l.contains("acme,globex")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("audit ") && l.contains("auditor")), "{text}");
    assert!(fails(&dir, &["tenant", "create", "bad name"], &[], 2).contains("bad tenant name"));
    assert!(fails(&dir, &["tenant", "create", "acme"], &[], 1).contains("already taken"));
    let err = fails(
        &dir,
        &["user", "create", "carol", "--tenants", "initech"],
        &[("COFFER_NEW_PIN", "carol-pin-01")],
        1,
    );
    assert!(err.contains("coffer tenant create"), "{err}");
    assert!(
        fails(&dir, &["user", "create", "carol"], &[("COFFER_NEW_PIN", "carol-pin-01")], 2)
            .contains("no tenant")
    );
    ok(&dir, &["user", "remove", "ops"], &[]);
    assert!(!ok(&dir, &["user", "list"], &[]).contains("ops "));
    fails(&dir, &["--user", "ops", "--tenant", "acme", "key", "list"], &[("COFFER_PIN", "ops-pin-0001")], 3);
}
