//! coffer's C and C++ consumers, built with the system compiler against
//! the `libcoffer.a` cargo built for this test run (coffer-ffi is a
//! dev-dependency, so it is built before these tests), then run: the C
//! test suite, the two C examples and the C++ wrapper's test must all
//! exit 0. A missing `cc` or `c++` fails with a clear message; nothing is
//! skipped.
#![allow(clippy::panic, reason = "a failed build or run is a test failure, reported by panic")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (this crate lives in `tests/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The directory of the running test binary's profile (`target/debug`):
/// the binary is `target/debug/deps/c_consumers-<hash>`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("cannot find the test executable: {e}"));
    match exe.parent().and_then(Path::parent) {
        Some(dir) => dir.to_path_buf(),
        None => panic!("unexpected test executable location: {}", exe.display()),
    }
}

/// The newest `libcoffer*.a` cargo built for this profile: the uplifted
/// `target/<profile>/libcoffer.a` or, for a dependency build, the one in `deps/`.
fn static_lib() -> PathBuf {
    let dir = profile_dir();
    let mut candidates: Vec<PathBuf> = vec![dir.join("libcoffer.a")];
    if let Ok(entries) = std::fs::read_dir(dir.join("deps")) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("libcoffer") && name.ends_with(".a") {
                candidates.push(e.path());
            }
        }
    }
    let newest = candidates
        .into_iter()
        .filter_map(|p| std::fs::metadata(&p).and_then(|m| m.modified()).ok().map(|t| (t, p)))
        .max_by_key(|(t, _)| *t);
    match newest {
        Some((_, p)) => p,
        None => panic!(
            "libcoffer.a not found under {}: coffer-ffi (crate-type staticlib) should have been built as a \
             dev-dependency of coffer-tests",
            dir.display()
        ),
    }
}

/// A scratch directory for binaries and keystore files, fresh per test.
fn scratch(name: &str) -> PathBuf {
    let dir = profile_dir().join("coffer-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

/// The compiler from `var` (CC, CXX) or `default`, checked to exist.
fn compiler(var: &str, default: &str) -> String {
    let cc = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    match Command::new(&cc).arg("--version").output() {
        Ok(o) if o.status.success() => cc,
        _ => panic!(
            "the C/C++ compiler `{cc}` is not available: install gcc/g++ or clang (Debian: apt-get install \
             build-essential), or set {var} to a working compiler"
        ),
    }
}

/// Libraries the Rust standard library needs when linked statically on Linux.
const SYSTEM_LIBS: [&str; 3] = ["-lpthread", "-ldl", "-lm"];

fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("could not run {what}: {e}"));
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Compiles `sources` with the strict C flags into `out`.
fn build_c(sources: &[PathBuf], out: &Path) {
    let cc = compiler("CC", "cc");
    let root = root();
    let mut cmd = Command::new(&cc);
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g"])
        .arg("-I")
        .arg(root.join("ffi/include"))
        .arg("-I")
        .arg(root.join("ffi/tests"))
        .args(sources)
        .arg(static_lib())
        .args(SYSTEM_LIBS)
        .arg("-o")
        .arg(out);
    run(&mut cmd, &format!("{cc} for {}", out.display()));
}

#[test]
fn the_c_test_suite_passes_against_libcoffer() {
    let dir = scratch("c-suite");
    let exe = dir.join("test_coffer");
    build_c(&[root().join("ffi/tests/test_coffer.c")], &exe);
    let out = run(Command::new(&exe).arg(&dir), "the C test suite");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(", 0 failed"), "unexpected summary: {stdout}");
}

#[test]
fn the_c_example_seals_a_file_for_two_recipients_and_both_open_it() {
    let dir = scratch("c-seal-example");
    let exe = dir.join("seal_file");
    build_c(&[root().join("ffi/examples/seal_file.c")], &exe);
    let input = dir.join("report.txt");
    let text = "quarterly numbers, for two readers\n".repeat(5000);
    if let Err(e) = std::fs::write(&input, &text) {
        panic!("cannot write {}: {e}", input.display());
    }
    let out = run(Command::new(&exe).arg(&input).arg(&dir), "the seal_file example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("opened by recipient 1: ok"), "{stdout}");
    assert!(stdout.contains("opened by recipient 2: ok"), "{stdout}");
    let opened = std::fs::read_to_string(dir.join("report.txt.opened")).unwrap_or_default();
    assert_eq!(opened, text, "the streamed plaintext differs from the input");
}

#[test]
fn the_c_example_issues_a_certificate_pair_that_verifies() {
    let dir = scratch("c-cert-example");
    let exe = dir.join("issue_cert_pair");
    build_c(&[root().join("ffi/examples/issue_cert_pair.c")], &exe);
    let out = run(Command::new(&exe).arg(&dir), "the issue_cert_pair example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("leaf verifies against the CA: ok"), "{stdout}");
    for file in ["ca.pem", "agent.pem", "agent.key.pem"] {
        let pem = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        assert!(pem.starts_with("-----BEGIN "), "{file} is not PEM: {pem:?}");
    }
}

/// Builds `bindings/cpp/test.cpp` with `-std=<std>` and runs it; returns its stdout.
fn build_and_run_cpp_test(std: &str) -> String {
    let cxx = compiler("CXX", "c++");
    let dir = scratch(std);
    let exe = dir.join("test_cpp");
    let root = root();
    let mut cmd = Command::new(&cxx);
    cmd.arg(format!("-std={std}"))
        .args(["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g"])
        .arg("-I")
        .arg(root.join("ffi/include"))
        .arg("-I")
        .arg(root.join("bindings/cpp"))
        .arg(root.join("bindings/cpp/test.cpp"))
        .arg(static_lib())
        .args(SYSTEM_LIBS)
        .arg("-o")
        .arg(&exe);
    run(&mut cmd, &format!("{cxx} -std={std} for the C++ test"));
    let out = run(Command::new(&exe).arg(&dir), &format!("the C++ test built as {std}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_cpp_wrapper_test_passes_as_cpp17() {
    let stdout = build_and_run_cpp_test("c++17");
    assert!(stdout.contains(", 0 failed"), "unexpected summary: {stdout}");
}

#[test]
fn the_cpp_wrapper_test_passes_with_std_span_as_cpp20() {
    let stdout = build_and_run_cpp_test("c++20");
    assert!(stdout.contains("std::span overloads: tested"), "unexpected output: {stdout}");
    assert!(stdout.contains(", 0 failed"), "unexpected summary: {stdout}");
}
