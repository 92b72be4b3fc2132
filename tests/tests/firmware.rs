//! The device firmwares (`embedded/`, issue 18) under QEMU, end to end:
//! each is built for `thumbv7em-none-eabihf`, run on QEMU's `mps2-an386`
//! (Cortex-M4) with semihosting, and its defmt log decoded by `defmt-print`.
//! `token` (no heap) checks published vectors, the token's whole life and
//! the server's golden envelopes; `heap` opens the server's RSA-OAEP
//! envelope and validates an OpenSSL-made certificate chain. Each exits with
//! failure if any of its checks fails; here the server's code then opens
//! the envelopes the devices sealed and verifies the token's audit segment.
//!
//! Needs `qemu-system-arm` (Debian package `qemu-system-arm`), `defmt-print`
//! (`cargo install defmt-print --locked`) and the target (`rustup target add
//! thumbv7em-none-eabihf`); `.ci/run` installs them. Without them the test
//! prints one SKIPPED line, or fails under `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use coffer_core::envelope::{self, EncryptionContext, UnlockKey};
use coffer_core::mac::HmacSha256Key;
use coffer_core::p256::P256SecretKey;
use coffer_core::rng::OsRng;
use coffer_hsm::audit::{AuditEvent, AuditSegment, verify_segments};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// What is missing to run the firmware, with the command that installs it.
fn missing_tools() -> Option<&'static str> {
    let runs = |cmd: &str, arg: &str| Command::new(cmd).arg(arg).output().is_ok_and(|o| o.status.success());
    if !runs("qemu-system-arm", "--version") {
        return Some("qemu-system-arm not installed (apt-get install qemu-system-arm)");
    }
    if !runs("defmt-print", "--version") {
        return Some("defmt-print not installed (cargo install defmt-print --locked)");
    }
    let targets = Command::new("rustup").args(["target", "list", "--installed"]).output();
    if !targets
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l == "thumbv7em-none-eabihf"))
    {
        return Some("target thumbv7em-none-eabihf not installed (rustup target add thumbv7em-none-eabihf)");
    }
    None
}

/// Builds the firmware `bin` (release) into `target/firmware` and returns its ELF.
fn build_firmware(bin: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target_dir = exe.ancestors().nth(3).unwrap().join("firmware");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root().join("embedded")) // its .cargo/config.toml: target, linker scripts
        // -p: each firmware's package alone, so that features are not unified
        // with the other firmware's (the heap one turns on coffer-core's alloc).
        .args(["build", "--release", "--locked", "-p", &format!("coffer-fw-{bin}"), "--bin", bin])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap();
    assert!(out.status.success(), "firmware build failed:\n{}", String::from_utf8_lossy(&out.stderr));
    target_dir.join("thumbv7em-none-eabihf/release").join(bin)
}

/// Runs `elf` under QEMU (at most 5 minutes) and returns (exit code, decoded log).
fn run_firmware(elf: &Path) -> (i32, String) {
    let mut qemu = Command::new("qemu-system-arm")
        .args(["-machine", "mps2-an386", "-cpu", "cortex-m4", "-nographic", "-monitor", "none"])
        .args(["-serial", "none", "-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(elf)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut raw = Vec::new();
    let mut stdout = qemu.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        std::io::copy(&mut stdout, &mut raw).unwrap();
        raw
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = qemu.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(300) {
            qemu.kill().unwrap();
            panic!("the firmware did not exit within 5 minutes");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let raw = reader.join().unwrap();
    let mut print = Command::new("defmt-print")
        .arg("-e")
        .arg(elf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    print.stdin.take().unwrap().write_all(&raw).unwrap();
    let decoded = print.wait_with_output().unwrap();
    (status.code().unwrap_or(-1), String::from_utf8_lossy(&decoded.stdout).into_owned())
}

/// The hex after `<label>: ` on its line of the log.
fn logged_bytes(log: &str, label: &str) -> Vec<u8> {
    let prefix = format!("{label}: ");
    let line =
        log.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {label} in:\n{log}"));
    hex::decode(line.trim()).unwrap()
}

/// The golden envelope `name`'s first recipient secret (PKCS#8 for P-256).
fn golden_secret(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(root().join("vectors/data/envelope_v1/golden.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let envelope = json["envelopes"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap();
    hex::decode(envelope["recipients"][0]["secret"].as_str().unwrap()).unwrap()
}

/// Builds and runs the firmware `bin` and returns its decoded log, after
/// checking that it exited with success, said so, and logged each of
/// `steps`. `None` after one SKIPPED line if a tool is missing outside CI;
/// under `CI=true` a missing tool fails the test.
fn run_checked(bin: &str, steps: &[&str]) -> Option<String> {
    if let Some(missing) = missing_tools() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true requires the firmware tests to run, but {missing}");
        }
        println!("SKIPPED: {missing}");
        return None;
    }
    let elf = build_firmware(bin);
    let (code, log) = run_firmware(&elf);
    assert_eq!(code, 0, "the firmware failed:\n{log}");
    assert!(log.lines().any(|l| l == "firmware: all checks passed"), "{log}");
    for step in steps {
        assert!(log.contains(step), "no '{step}' step in the log:\n{log}");
    }
    Some(log)
}

#[test]
fn the_token_firmware_passes_on_a_cortex_m4_and_the_server_reads_what_it_wrote() {
    let steps = ["published vectors", "server envelopes", "PINs", "keys:", "sealed state", "audit:"];
    let Some(log) = run_checked("token", &steps) else { return };

    // The server opens the envelope the device sealed to its P-256 key.
    let secret = P256SecretKey::from_pkcs8_der(&golden_secret("p256-ecdh-es-one-recipient")).unwrap();
    let mut ctx = EncryptionContext::new();
    ctx.insert(b"device", b"7").unwrap();
    let unlock = [UnlockKey::P256 { key_id: b"device-7", version: 2, secret_key: &secret }];
    let sealed = logged_bytes(&log, "device-envelope");
    let plain = envelope::open(&mut OsRng, &unlock, &ctx, &sealed).unwrap();
    assert_eq!(&plain[..], b"sealed on a cortex-m4");
    let mut changed = sealed.clone();
    *changed.last_mut().unwrap() ^= 1;
    assert!(envelope::open(&mut OsRng, &unlock, &ctx, &changed).is_err());

    // The server verifies the device's audit segment with the audit key it
    // derives from the device's master key (embedded/token/src/main.rs MASTER).
    let mut okm = [0u8; 32];
    coffer_core::kdf::hkdf_sha256(None, &[0x42; 32], b"coffer device audit v1", &mut okm).unwrap();
    let key = HmacSha256Key::new(&okm).unwrap();
    let segment = AuditSegment::decode(&logged_bytes(&log, "device-audit")).unwrap();
    assert_eq!(segment.records[0].event, AuditEvent::TokenInitialized);
    assert!(segment.records.len() >= 30, "{} records", segment.records.len());
    let head = segment.end();
    assert_eq!(verify_segments(&key, std::slice::from_ref(&segment), (head.seq, head.prev_mac)), Ok(()));
    let wrong = HmacSha256Key::new(&[1u8; 32]).unwrap();
    assert!(verify_segments(&wrong, &[segment], (head.seq, head.prev_mac)).is_err());
}

#[test]
fn the_heap_firmware_opens_and_seals_rsa_envelopes_and_verifies_an_openssl_chain() {
    let Some(log) = run_checked("heap", &["RSA-OAEP:", "certificate chain:"]) else { return };

    // The server opens the envelope the device sealed to its RSA key.
    let key =
        coffer_core::rsa::RsaPrivateKey::from_pkcs8_der(&golden_secret("rsa-oaep-one-recipient")).unwrap();
    let mut ctx = EncryptionContext::new();
    ctx.insert(b"purpose", b"backup").unwrap();
    let unlock = [UnlockKey::Rsa { key_id: b"rsa2048-fixture", version: 1, private_key: &key }];
    let plain =
        envelope::open(&mut OsRng, &unlock, &ctx, &logged_bytes(&log, "device-rsa-envelope")).unwrap();
    assert_eq!(&plain[..], b"sealed for rsa on a cortex-m4");
}
