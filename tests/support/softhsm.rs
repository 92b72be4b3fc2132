//! SoftHSMv2 for the tests that need a real PKCS#11 token: included by
//! path (`#[path = ".../tests/support/softhsm.rs"] mod softhsm;`) from the
//! test files of several packages, so that the set-up is written once.
//!
//! Without SoftHSM a test prints `SKIPPED: <test>: softhsm2 not installed`
//! and passes, except under `CI=true`, where it fails.

#![allow(dead_code, reason = "each test file uses part of this")]
#![allow(clippy::unwrap_used, clippy::panic, reason = "test setup")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's SoftHSMv2 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The security officer PIN of every test token.
pub const SO_PIN: &str = "12345678";
/// The user PIN of every test token (also in `<dir>/pin`).
pub const PIN: &str = "87654321";

/// Whether SoftHSM is here; if not, prints the `SKIPPED:` line for `test`
/// (or fails under `CI=true`, where `.ci/run` has installed it).
pub fn installed(test: &str) -> bool {
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

/// A SoftHSM configuration in `dir` (tokens under `dir/tokens`) with one
/// token labelled `label`, its user PIN [`PIN`] also written to `dir/pin`;
/// returns the configuration's path (for `SOFTHSM2_CONF`).
pub fn token(dir: &Path, label: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("tokens")).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.join("tokens").display()
        ),
    )
    .unwrap();
    util(&conf, &["--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", PIN]);
    std::fs::write(dir.join("pin"), format!("{PIN}\n")).unwrap();
    conf
}

/// `softhsm2-util args` with the configuration `conf`, which must succeed.
pub fn util(conf: &Path, args: &[&str]) {
    let out = Command::new("softhsm2-util").args(args).env("SOFTHSM2_CONF", conf).output().unwrap();
    assert!(out.status.success(), "softhsm2-util {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}
