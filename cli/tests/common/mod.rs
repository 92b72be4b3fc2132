//! What the CLI test files share: a fresh directory per test, removed when
//! dropped.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

pub struct Dir(pub PathBuf);

impl Dir {
    /// An empty directory under the system temp directory, named after
    /// `name`, this process and a counter.
    pub fn fresh(name: &str) -> Dir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "coffer-cli-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a test directory");
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How many of `outputs` (commands refused for their PIN, exit code 3)
/// said "incorrect PIN" and how many "PIN locked"; panics on anything else.
#[allow(dead_code, reason = "used by the tenants tests, not by every file that includes this module")]
pub fn pin_refusals(outputs: impl IntoIterator<Item = std::process::Output>) -> (usize, usize) {
    let (mut incorrect, mut locked) = (0usize, 0usize);
    for out in outputs {
        assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("incorrect PIN") {
            incorrect = incorrect.saturating_add(1);
        } else if err.contains("PIN locked") {
            assert!(err.contains("coffer pin unblock"), "the lock says how it is undone: {err}");
            locked = locked.saturating_add(1);
        } else {
            panic!("neither a wrong nor a locked PIN: {err}");
        }
    }
    (incorrect, locked)
}

/// The credentials [`coffer`] gives every command: a keystore passphrase,
/// the SO PIN, user `ca` with its PIN, and the auditor's PIN.
#[allow(dead_code, reason = "not every file that includes this module runs the command")]
pub const CREDENTIALS: [(&str, &str); 5] = [
    ("COFFER_PASSPHRASE", "pki passphrase 1"),
    ("COFFER_SO_PIN", "so-pin-1234"),
    ("COFFER_USER", "ca"),
    ("COFFER_PIN", "ca-pin-1234"),
    ("COFFER_AUDITOR_PIN", "audit-pin-12"),
];

/// Runs `coffer args` in `dir` on its default store there, with
/// [`CREDENTIALS`] and no store or tenant from the caller's environment.
#[allow(dead_code, reason = "not every file that includes this module runs the command")]
pub fn coffer(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_coffer"))
        .current_dir(dir)
        .args(args)
        .envs(CREDENTIALS)
        .env_remove("COFFER_STORE")
        .env_remove("COFFER_TENANT")
        .output()
        .expect("run coffer")
}

/// [`coffer`], asserting success; its standard output.
#[allow(dead_code, reason = "not every file that includes this module runs the command")]
pub fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = coffer(dir, args);
    assert!(out.status.success(), "coffer {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}
