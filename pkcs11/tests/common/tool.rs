//! OpenSC's `pkcs11-tool` pointed at the built `libcoffer_pkcs11.so` and a
//! test keystore, for the tests that drive the module the way operators do.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use super::TempDir;

/// The `libcoffer_pkcs11.so` cargo built for this test run: the test
/// executable is `target/<profile>/deps/pkcs11_tool-<hash>`, the library is
/// `target/<profile>/libcoffer_pkcs11.so` or the one in `deps/`; the newest wins.
pub fn module_path() -> PathBuf {
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
pub fn pkcs11_tool(test: &str) -> Option<PathBuf> {
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
pub struct Tool {
    pub tool: PathBuf,
    pub module: PathBuf,
    pub conf: PathBuf,
    pub dir: TempDir,
}

impl Tool {
    pub fn new(test: &str) -> Option<Self> {
        let tool = pkcs11_tool(test)?;
        let dir = TempDir::new(&format!("tool-{test}"));
        let store = super::make_keystore(&dir.0, 1);
        let conf = super::write_config(&dir.0, &store, 0);
        Some(Tool { tool, module: module_path(), conf, dir })
    }

    pub fn run(&self, args: &[&str]) -> Output {
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
    pub fn ok(&self, args: &[&str]) -> String {
        expect_ok(&format!("pkcs11-tool {args:?}"), &self.run(args))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.0.join(name)
    }
}

/// The standard output of a finished tool (`what` names it), failing the
/// test with its status and both outputs if it did not succeed.
pub fn expect_ok(what: &str, out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs `openssl args` in the current directory; the test fails if it
/// cannot be started.
pub fn openssl(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().unwrap_or_else(|e| panic!("cannot run openssl: {e}"))
}

/// OpenSSL verifies `signature` (DER, with SHA-256) of the file `data` with
/// the DER public key in `public` (`what` names the case in a failure).
pub fn openssl_verifies(public: &Path, signature: &Path, data: &Path, what: &str) {
    let args =
        ["dgst", "-sha256", "-keyform", "DER", "-verify", str_of(public), "-signature", str_of(signature)];
    let stdout =
        expect_ok(&format!("{what}: openssl dgst -verify"), &openssl(&[&args[..], &[str_of(data)]].concat()));
    assert!(stdout.contains("Verified OK"), "{what}: {stdout}");
}

pub fn str_of(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}
