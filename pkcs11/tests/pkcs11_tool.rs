//! OpenSC's `pkcs11-tool` loading the built `libcoffer_pkcs11.so`: library,
//! slot and mechanism info, a login with a random draw, and a SHA-256 of
//! a file compared with `sha256sum`. The token is a keystore this test
//! makes in a temporary directory.
//!
//! `pkcs11-tool` comes with Debian's `opensc` (`.ci/run` installs it).
//! Without it the tests print one SKIPPED line each, except under
//! `CI=true`, where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use common::{LABEL, TempDir, USER_PIN};

/// The `libcoffer_pkcs11.so` cargo built for this test run: the test
/// executable is `target/<profile>/deps/pkcs11_tool-<hash>`, the library is
/// `target/<profile>/libcoffer_pkcs11.so` or the one in `deps/`; the newest wins.
fn module_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("cannot find the test executable: {e}"));
    let deps = exe.parent().expect("the test executable is in a directory");
    let profile = deps.parent().expect("deps/ is in the profile directory");
    let newest = [profile.join("libcoffer_pkcs11.so"), deps.join("libcoffer_pkcs11.so")]
        .into_iter()
        .filter_map(|p| {
            let modified = std::fs::metadata(&p).and_then(|m| m.modified()).ok()?;
            Some((modified, p))
        })
        .max_by_key(|(modified, _): &(SystemTime, PathBuf)| *modified);
    match newest {
        Some((_, path)) => path,
        None => panic!(
            "libcoffer_pkcs11.so not found under {}: coffer-pkcs11 (crate-type cdylib) should have been built with this test",
            profile.display()
        ),
    }
}

/// `pkcs11-tool` on the PATH; None after one SKIPPED line when it is
/// missing outside CI; under `CI=true` its absence fails the test.
fn pkcs11_tool(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|dir| dir.join("pkcs11-tool")).find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "{test}: pkcs11-tool not found, and CI=true requires this test to run: apt-get install opensc"
            );
        }
        println!("SKIPPED: {test}: pkcs11-tool not found (apt-get install opensc)");
    }
    found
}

/// A keystore token and `pkcs11-tool` pointed at the module and at it.
struct Tool {
    tool: PathBuf,
    module: PathBuf,
    conf: PathBuf,
    dir: TempDir,
}

impl Tool {
    fn new(test: &str) -> Option<Self> {
        let tool = pkcs11_tool(test)?;
        let dir = TempDir::new(&format!("tool-{test}"));
        let store = common::make_keystore(&dir.0, 1);
        let conf = common::write_config(&dir.0, &store, 0);
        Some(Tool { tool, module: module_path(), conf, dir })
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.tool)
            .arg("--module")
            .arg(&self.module)
            .args(args)
            .env(coffer_pkcs11::CONFIG_ENV, &self.conf)
            .output()
            .unwrap_or_else(|e| panic!("cannot run pkcs11-tool: {e}"))
    }

    /// Runs `pkcs11-tool` and returns its standard output, failing the
    /// test (with both outputs) if it fails.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "pkcs11-tool {args:?} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.0.join(name)
    }
}

fn str_of(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

#[test]
fn pkcs11_tool_shows_the_library_the_slot_and_the_token() {
    let Some(t) = Tool::new("pkcs11_tool_shows_the_library_the_slot_and_the_token") else { return };
    let info = t.ok(&["--show-info"]);
    assert!(info.contains("Cryptoki version 2.40"), "{info}");
    assert!(info.contains("Manufacturer     coffer"), "{info}");
    assert!(info.contains("coffer software HSM"), "{info}");

    let slots = t.ok(&["--list-slots"]);
    assert!(slots.contains("Slot 0 (0x0): coffer software HSM slot"), "{slots}");
    assert!(slots.contains(&format!("token label        : {LABEL}")), "{slots}");
    assert!(slots.contains("token manufacturer : coffer"), "{slots}");
    let flags = slots.lines().find(|l| l.contains("token flags")).unwrap_or_else(|| panic!("{slots}"));
    for flag in ["login required", "rng", "token initialized", "PIN initialized"] {
        assert!(flags.contains(flag), "{flags}");
    }
}

#[test]
fn pkcs11_tool_lists_only_sha256() {
    let Some(t) = Tool::new("pkcs11_tool_lists_only_sha256") else { return };
    let mechanisms = t.ok(&["--list-mechanisms"]);
    let listed: Vec<&str> = mechanisms.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(listed.len(), 1, "{mechanisms}");
    assert!(listed[0].trim_start().starts_with("SHA256") && listed[0].contains("digest"), "{mechanisms}");
}

#[test]
fn pkcs11_tool_logs_in_and_generates_random_bytes() {
    let Some(t) = Tool::new("pkcs11_tool_logs_in_and_generates_random_bytes") else { return };
    let pin = std::str::from_utf8(USER_PIN).unwrap();
    let out = t.path("random.bin");
    t.ok(&["--login", "--pin", pin, "--generate-random", "32", "--output-file", str_of(&out)]);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes.len(), 32);
    assert_ne!(bytes, vec![0u8; 32]);

    let wrong = t.run(&["--login", "--pin", "wrong-pin", "--generate-random", "32"]);
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(stderr.contains("CKR_PIN_INCORRECT"), "{stderr}");
}

#[test]
fn pkcs11_tool_hashes_a_file_as_sha256sum_does() {
    let Some(t) = Tool::new("pkcs11_tool_hashes_a_file_as_sha256sum_does") else { return };
    let input = t.path("input.bin");
    // Several digest updates' worth of data, not a multiple of any block size.
    let data: Vec<u8> = (0..300_007u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    std::fs::write(&input, &data).unwrap();
    let output = t.path("digest.bin");
    t.ok(&[
        "--hash",
        "--mechanism",
        "SHA256",
        "--input-file",
        str_of(&input),
        "--output-file",
        str_of(&output),
    ]);
    let ours = hex::encode(std::fs::read(&output).unwrap());

    let sum = Command::new("sha256sum").arg(&input).output().unwrap_or_else(|e| panic!("sha256sum: {e}"));
    assert!(sum.status.success());
    let theirs = String::from_utf8(sum.stdout).unwrap();
    assert_eq!(ours, theirs.split_whitespace().next().unwrap());
}
