//! What `coffer` writes and where, run as a user would (issue 14): existing
//! files, symlinks, directories, devices and FIFOs as outputs; interrupted
//! and failed decrypts leave nothing; binary output to a terminal, input
//! from one; messages that name the cause; `--json` errors; exit codes.
//! These need no keystore: the recipient is a P-256 certificate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::Dir;

fn coffer(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coffer"));
    // Scratch files of decrypts to stdout go to TMPDIR: keep them in view.
    cmd.current_dir(dir)
        .env("TMPDIR", dir.join("tmp"))
        .env_remove("COFFER_STORE")
        .env_remove("COFFER_PASSPHRASE")
        .env_remove("COFFER_SO_PIN");
    cmd
}

/// A directory with a CA, an agent's P-256 pair `agent7.key`/`agent7.crt`,
/// `plain.bin` (`len` bytes) and its envelope `sealed.cfr` (context tenant=acme).
fn setup(name: &str, len: usize) -> (Dir, Vec<u8>) {
    let d = Dir::fresh(name);
    std::fs::create_dir(d.0.join("tmp")).unwrap();
    ok(&d.0, &["cert", "ca", "--subject", "CN=Test CA", "--key-out", "ca.key", "--cert-out", "ca.crt"]);
    ok(
        &d.0,
        &[
            "cert",
            "pair",
            "--ca-cert",
            "ca.crt",
            "--ca-key",
            "ca.key",
            "--subject",
            "CN=agent-7",
            "--san",
            "agent-7.test",
            "--algorithm",
            "p256",
            "--key-out",
            "agent7.key",
            "--cert-out",
            "agent7.crt",
        ],
    );
    let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    std::fs::write(d.0.join("plain.bin"), &plain).unwrap();
    ok(
        &d.0,
        &[
            "encrypt",
            "--recipient",
            "agent7.crt",
            "--context",
            "tenant=acme",
            "--in",
            "plain.bin",
            "--out",
            "sealed.cfr",
        ],
    );
    (d, plain)
}

fn run(dir: &Path, args: &[&str]) -> Output {
    coffer(dir).args(args).output().unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = run(dir, args);
    assert!(out.status.success(), "coffer {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn fails(dir: &Path, args: &[&str], code: i32) -> String {
    let out = run(dir, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "coffer {args:?}: {err}");
    err
}

const DECRYPT: [&str; 7] =
    ["decrypt", "--private-key", "agent7.key", "--context", "tenant=acme", "--in", "sealed.cfr"];

fn decrypt_to(out: &str) -> Vec<&str> {
    [&DECRYPT[..], &["--out", out]].concat()
}

/// Names in `dir` (and its `tmp`) that are temporary or scratch files.
fn leftovers(dir: &Path) -> Vec<String> {
    [dir.to_path_buf(), dir.join("tmp")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("coffer-tmp") || n.contains("coffer-scratch") || n.contains("partial"))
        .collect()
}

#[test]
fn an_existing_output_is_refused_without_force_and_replaced_whole_with_it() {
    let (d, plain) = setup("force", 1000);
    std::fs::write(d.0.join("report.pdf"), b"the user's original").unwrap();
    let err = fails(&d.0, &decrypt_to("report.pdf"), 2);
    assert!(err.contains("report.pdf exists") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(d.0.join("report.pdf")).unwrap(), b"the user's original");
    // A failed decrypt with --force keeps the original too.
    let wrong =
        ["decrypt", "--private-key", "agent7.key", "--context", "tenant=globex", "--in", "sealed.cfr"];
    let err = fails(&d.0, &[&["--force"], &wrong[..], &["--out", "report.pdf"]].concat(), 1);
    assert!(err.contains("decryption failed"), "{err}");
    assert_eq!(std::fs::read(d.0.join("report.pdf")).unwrap(), b"the user's original");
    ok(&d.0, &[&["--force"], &decrypt_to("report.pdf")[..]].concat());
    assert_eq!(std::fs::read(d.0.join("report.pdf")).unwrap(), plain);
    assert!(leftovers(&d.0).is_empty(), "{:?}", leftovers(&d.0));
}

#[test]
fn plaintext_files_are_private_and_public_outputs_readable() {
    use std::os::unix::fs::PermissionsExt;
    let (d, _) = setup("modes", 10);
    ok(&d.0, &decrypt_to("plain.out"));
    let mode = |n: &str| std::fs::metadata(d.0.join(n)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("plain.out"), 0o600);
    assert_eq!(mode("agent7.key"), 0o600);
    assert_eq!(mode("agent7.crt"), 0o644);
    assert_eq!(mode("sealed.cfr"), 0o644);
}

#[test]
fn symlinks_and_directories_are_refused_and_left_alone() {
    let (d, _) = setup("links", 10);
    std::fs::write(d.0.join("precious"), b"keep me").unwrap();
    std::os::unix::fs::symlink("precious", d.0.join("link")).unwrap();
    let err = fails(&d.0, &[&["--force"], &decrypt_to("link")[..]].concat(), 2);
    assert!(err.contains("link is a symbolic link"), "{err}");
    assert!(std::fs::symlink_metadata(d.0.join("link")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(d.0.join("precious")).unwrap(), b"keep me");
    std::fs::create_dir(d.0.join("outdir")).unwrap();
    let err = fails(&d.0, &decrypt_to("outdir"), 2);
    assert!(err.contains("outdir is a directory"), "{err}");
    assert!(leftovers(&d.0).is_empty(), "{:?}", leftovers(&d.0));
    // A directory as input is named too.
    let err = fails(&d.0, &["encrypt", "--recipient", "agent7.crt", "--in", "outdir", "--out", "x.cfr"], 4);
    assert!(err.contains("outdir is a directory"), "{err}");
}

#[test]
fn devices_and_fifos_are_written_directly_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let (d, plain) = setup("fifo", 300_000);
    // A character device stays one (this used to replace /dev/null with a file).
    ok(&d.0, &["--force", "encrypt", "--recipient", "agent7.crt", "--in", "plain.bin", "--out", "/dev/null"]);
    ok(&d.0, &decrypt_to("/dev/null"));
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    // A FIFO gets the plaintext through it and is still a FIFO.
    let fifo = d.0.join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    ok(&d.0, &decrypt_to("pipe"));
    assert_eq!(reader.join().unwrap(), plain);
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(leftovers(&d.0).is_empty(), "{:?}", leftovers(&d.0));
}

/// Starts a decrypt reading the envelope from a pipe, feeds it the header
/// and a few chunks, waits until plaintext has reached a temporary file,
/// then sends `signal`. Returns the exit code.
fn interrupt_decrypt(d: &Dir, out: Option<&str>, signal: &str) -> Option<i32> {
    let sealed = std::fs::read(d.0.join("sealed.cfr")).unwrap();
    let mut args = vec!["decrypt", "--private-key", "agent7.key", "--context", "tenant=acme"];
    if let Some(o) = out {
        args.extend(["--out", o]);
    }
    let mut child = coffer(&d.0).args(&args).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&sealed[..sealed.len() / 2]).unwrap();
    let temp_has_plaintext = || {
        [d.0.clone(), d.0.join("tmp")].iter().flat_map(|dir| std::fs::read_dir(dir).unwrap()).any(|e| {
            let e = e.unwrap();
            let n = e.file_name().to_string_lossy().into_owned();
            (n.contains("coffer-tmp") || n.contains("coffer-scratch")) && e.metadata().unwrap().len() > 0
        })
    };
    let start = Instant::now();
    while !temp_has_plaintext() {
        assert!(start.elapsed() < Duration::from_secs(30), "no temporary plaintext appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    drop(stdin);
    status.code()
}

#[test]
fn sigint_or_sigterm_mid_decrypt_leaves_no_plaintext_anywhere() {
    let (d, _) = setup("sigint", 4 << 20);
    assert_eq!(interrupt_decrypt(&d, Some("out.bin"), "-INT"), Some(130));
    assert!(leftovers(&d.0).is_empty(), "{:?}", leftovers(&d.0));
    assert!(!d.0.join("out.bin").exists());
    assert_eq!(interrupt_decrypt(&d, None, "-TERM"), Some(143));
    assert!(leftovers(&d.0).is_empty(), "{:?}", leftovers(&d.0));
    assert_eq!(interrupt_decrypt(&d, Some("out.bin"), "-HUP"), Some(129));
    assert!(leftovers(&d.0).is_empty(), "{:?}", leftovers(&d.0));
}

/// A 1 MiB tmpfs mounted on `dir/small` (root only), unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &Path) -> Option<SmallDisk> {
        let root = std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
        if !root {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "a full disk needs root (to mount a tmpfs) in CI"
            );
            println!(
                "SKIPPED: a_full_disk_names_the_os_error: needs root to mount a tmpfs (run the tests as root)"
            );
            return None;
        }
        let path = dir.join("small");
        std::fs::create_dir(&path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(ok.success(), "mount -t tmpfs failed");
        Some(SmallDisk(path))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("--lazy").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_names_the_os_error_and_leaves_no_partial_output() {
    let (d, _) = setup("fulldisk", 3 << 20);
    let Some(disk) = SmallDisk::mount(&d.0) else { return };
    let out = disk.0.join("sealed.cfr");
    let err = fails(
        &d.0,
        &["encrypt", "--recipient", "agent7.crt", "--in", "plain.bin", "--out", out.to_str().unwrap()],
        4,
    );
    assert!(err.contains("No space left on device") && err.contains("sealed.cfr"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&disk.0).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_failed_decrypt_to_stdout_prints_nothing_and_leaves_no_scratch_file() {
    let (d, plain) = setup("stdout", 200_000);
    assert_eq!(ok(&d.0, &DECRYPT), plain);
    let sealed = std::fs::read(d.0.join("sealed.cfr")).unwrap();
    std::fs::write(d.0.join("short.cfr"), &sealed[..sealed.len() - 100]).unwrap();
    let out = run(
        &d.0,
        &["decrypt", "--private-key", "agent7.key", "--context", "tenant=acme", "--in", "short.cfr"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(leftovers(&d.0).is_empty(), "{:?}", leftovers(&d.0));
}

/// Runs `shell` under `script`, which gives it a terminal as stdin and stdout.
fn in_terminal(dir: &Path, shell: &str) -> String {
    let out = Command::new("script")
        .args(["-qec", shell, "/dev/null"])
        .current_dir(dir)
        .env("COFFER", env!("CARGO_BIN_EXE_coffer"))
        .stdin(Stdio::null())
        .output()
        .expect("`script` (util-linux) runs commands in a terminal");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn binary_output_to_a_terminal_and_input_from_one_are_refused_with_a_hint() {
    let (d, _) = setup("tty", 10);
    let shown =
        in_terminal(&d.0, "\"$COFFER\" encrypt --recipient agent7.crt --in plain.bin; echo \"exit=$?\"");
    assert!(
        shown.contains("refusing to write binary output to a terminal") && shown.contains("exit=2"),
        "{shown}"
    );
    let shown = in_terminal(
        &d.0,
        "\"$COFFER\" decrypt --private-key agent7.key --context tenant=acme --in sealed.cfr; echo \"exit=$?\"",
    );
    assert!(
        shown.contains("refusing to write binary output to a terminal") && shown.contains("exit=2"),
        "{shown}"
    );
    let shown = in_terminal(&d.0, "\"$COFFER\" encrypt --recipient agent7.crt --out x.cfr; echo \"exit=$?\"");
    assert!(shown.contains("stdin is a terminal") && shown.contains("exit=2"), "{shown}");
}

#[test]
fn decrypt_names_what_is_wrong_before_trying_keys() {
    let (d, _) = setup("messages", 10);
    let err = fails(&d.0, &["decrypt", "--private-key", "agent7.key", "--in", "plain.bin", "--out", "x"], 1);
    assert!(err.contains("plain.bin is not a coffer envelope"), "{err}");
    let sealed = std::fs::read(d.0.join("sealed.cfr")).unwrap();
    std::fs::write(d.0.join("cut.cfr"), &sealed[..40]).unwrap();
    let err = fails(&d.0, &["decrypt", "--private-key", "agent7.key", "--in", "cut.cfr", "--out", "x"], 1);
    assert!(err.contains("header is truncated or damaged"), "{err}");
    let err =
        fails(&d.0, &["decrypt", "--private-key", "agent7.key", "--in", "missing.cfr", "--out", "x"], 4);
    assert!(err.contains("missing.cfr") && err.contains("No such file"), "{err}");
    assert!(!d.0.join("x").exists());
}

#[test]
fn a_private_key_is_tried_only_on_recipients_with_its_key_id_and_version() {
    let (d, plain) = setup("keyid", 10);
    // Sealed to agent7.crt under another id: the file name no longer matches.
    ok(
        &d.0,
        &[
            "encrypt",
            "--recipient",
            "fleet-7=agent7.crt",
            "--context",
            "tenant=acme",
            "--in",
            "plain.bin",
            "--out",
            "other.cfr",
        ],
    );
    let base = ["decrypt", "--private-key", "agent7.key", "--context", "tenant=acme", "--in", "other.cfr"];
    let err = fails(&d.0, &base, 1);
    assert!(err.contains("key id `agent7`") && err.contains("p256-ecdh-es fleet-7 v1"), "{err}");
    assert_eq!(ok(&d.0, &[&base[..], &["--key-id", "fleet-7"]].concat()), plain);
    assert_eq!(ok(&d.0, &[&base[..], &["--key-id", "fleet-7", "--key-version", "1"]].concat()), plain);
    let err = fails(&d.0, &[&base[..], &["--key-id", "fleet-7", "--key-version", "2"]].concat(), 1);
    assert!(err.contains("version 2"), "{err}");
}

#[test]
fn binary_context_round_trips_through_context_hex_and_inspect_shows_it_exactly() {
    let (d, plain) = setup("ctxhex", 10);
    ok(
        &d.0,
        &[
            "encrypt",
            "--recipient",
            "agent7.crt",
            "--context-hex",
            "6b6579=00ff0a",
            "--context",
            "tenant=a=b",
            "--in",
            "plain.bin",
            "--out",
            "bin.cfr",
        ],
    );
    let text = String::from_utf8(ok(&d.0, &["inspect", "--in", "bin.cfr"])).unwrap();
    assert!(text.contains("--context-hex 6b6579=00ff0a"), "{text}");
    assert!(text.contains("--context     tenant=a=b"), "{text}");
    let json: serde_json::Value =
        serde_json::from_slice(&ok(&d.0, &["--json", "inspect", "--in", "bin.cfr"])).unwrap();
    let entry = json["context"].as_array().unwrap().iter().find(|e| e["key"] == "key").unwrap();
    assert_eq!(entry["value_hex"], "00ff0a");
    assert_eq!(entry["value"], serde_json::Value::Null);
    let base = ["decrypt", "--private-key", "agent7.key", "--in", "bin.cfr", "--context", "tenant=a=b"];
    assert_eq!(ok(&d.0, &[&base[..], &["--context-hex", "6b6579=00ff0a"]].concat()), plain);
    fails(&d.0, &[&base[..], &["--context-hex", "6b6579=00ff0b"]].concat(), 1);
    let err = fails(&d.0, &[&base[..], &["--context-hex", "6b6579=zz"]].concat(), 2);
    assert!(err.contains("bad --context-hex"), "{err}");
}

#[test]
fn json_errors_are_one_object_with_error_hint_and_exit() {
    let (d, _) = setup("jsonerr", 10);
    for (args, code) in [
        (vec!["--json", "decrypt", "--private-key", "agent7.key", "--in", "plain.bin"], 1),
        (vec!["--json", "decrypt", "--bogus-flag"], 2),
        (vec!["--json", "--store", "none.db", "key", "list"], 3),
        (vec!["--json", "inspect", "--in", "missing.cfr"], 4),
        // No passphrase and no terminal to ask for one: the keystore cannot open.
        (vec!["--json", "--store", "new.db", "init"], 3),
    ] {
        let out = run(&d.0, &args);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
        assert_eq!(v["exit"], code);
        assert!(v.get("hint").is_some(), "{v}");
    }
    let v: serde_json::Value =
        serde_json::from_slice(&ok(&d.0, &["--json", "cert", "verify", "--ca", "ca.crt", "agent7.crt"]))
            .unwrap();
    assert_eq!(v["valid"], true);
    assert!(v["not_after"].as_str().unwrap().ends_with('Z'), "ISO 8601 UTC: {v}");
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly_with_exit_0() {
    let (d, _) = setup("pipe", 3 << 20);
    let mut child = coffer(&d.0).args(DECRYPT).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    drop(out);
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(0));
    assert!(done.stderr.is_empty(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(leftovers(&d.0).is_empty(), "{:?}", leftovers(&d.0));
}
