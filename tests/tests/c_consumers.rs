//! coffer's C and C++ consumers, built with the system compiler against
//! the `libcoffer.a` cargo built for this test run (coffer-ffi is a
//! dev-dependency, so it is built before these tests), then run: the C
//! test suite, the two C examples and the C++ wrapper's test must all
//! exit 0. A program calling every function of coffer.h must run clean
//! under valgrind. The library installed by `ffi/install.sh` must carry its
//! SONAME and symbolic links, and `pkg-config` must link it shared or, with
//! `--static`, statically. A missing `cc`, `c++`, `pkg-config`, `readelf`
//! or `ldd` fails with a clear message; so does a missing valgrind under
//! `CI=true` (elsewhere its test prints one SKIPPED line).
#![allow(clippy::panic, reason = "a failed build or run is a test failure, reported by panic")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

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
    built_lib(".a")
}

/// The newest `libcoffer*<suffix>` (`.a` or `.so`) cargo built for this profile.
fn built_lib(suffix: &str) -> PathBuf {
    let dir = profile_dir();
    let mut candidates: Vec<PathBuf> = vec![dir.join(format!("libcoffer{suffix}"))];
    if let Ok(entries) = std::fs::read_dir(dir.join("deps")) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // libcoffer.so, libcoffer-<hash>.a; not libcoffer_pkcs11.so.
            let stem = name.strip_suffix(suffix).unwrap_or_default();
            if stem == "libcoffer" || stem.starts_with("libcoffer-") {
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
            "libcoffer{suffix} not found under {}: coffer-ffi (crate-types staticlib and cdylib) should have been \
             built as a dev-dependency of coffer-tests",
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

// ---------------------------------------------------------------------------
// Every function under valgrind
// ---------------------------------------------------------------------------

/// The names of the functions coffer.h declares: every top-level line
/// (declarations start at column 0; comments, struct fields and enum
/// values do not) that names `coffer_<name>(`.
fn header_functions() -> Vec<String> {
    let path = root().join("ffi/include/coffer.h");
    let header =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut names = Vec::new();
    for line in header.lines() {
        if line.starts_with([' ', '*', '/', '#', '}']) || line.starts_with("typedef") {
            continue;
        }
        for (start, _) in line.match_indices("coffer_") {
            let rest = line.get(start..).unwrap_or_default();
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if rest.get(end..).is_some_and(|after| after.starts_with('(')) {
                names.push(rest.get(..end).unwrap_or_default().to_owned());
            }
        }
    }
    names
}

#[test]
fn every_function_c_calls_every_function_that_coffer_h_declares() {
    let names = header_functions();
    assert!(names.len() >= 100, "too few functions found in coffer.h: {names:?}");
    assert!(
        names.iter().any(|n| n == "coffer_status_message") && names.iter().any(|n| n == "coffer_bytes_free")
    );
    let source = std::fs::read_to_string(root().join("ffi/tests/every_function.c")).unwrap_or_default();
    let missing: Vec<&String> = names.iter().filter(|n| !source.contains(&format!("{n}("))).collect();
    assert!(missing.is_empty(), "ffi/tests/every_function.c does not call {missing:?}");
}

/// `valgrind`, or None after one SKIPPED line when it is not installed
/// outside CI; under `CI=true` its absence fails.
fn valgrind() -> Option<&'static str> {
    if Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return Some("valgrind");
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("valgrind is not installed, and CI=true requires this test to run: apt-get install valgrind");
    }
    println!("SKIPPED: valgrind not installed (apt-get install valgrind)");
    None
}

#[test]
fn a_program_calling_every_function_of_coffer_h_runs_clean_under_valgrind() {
    let Some(valgrind) = valgrind() else { return };
    let dir = scratch("valgrind");
    let exe = dir.join("every_function");
    build_c(&[root().join("ffi/tests/every_function.c")], &exe);
    let mut cmd = Command::new(valgrind);
    cmd.args(["--error-exitcode=1", "--leak-check=full", "--errors-for-leak-kinds=definite,possible"])
        .arg(&exe)
        .arg(&dir);
    let out = run(&mut cmd, "every_function under valgrind");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains(", 0 failed"), "unexpected summary: {stdout}");
    assert!(stderr.contains("ERROR SUMMARY: 0 errors from 0 contexts (suppressed: 0 from 0)"), "{stderr}");
    assert!(stderr.contains("All heap blocks were freed -- no leaks are possible"), "{stderr}");
}

// ---------------------------------------------------------------------------
// ffi/install.sh: SONAME, symbolic links, pkg-config shared and static
// ---------------------------------------------------------------------------

/// A tool a test needs, run with `probe` to check it is there.
fn tool(name: &'static str, probe: &str, install: &str) -> &'static str {
    match Command::new(name).arg(probe).output() {
        Ok(o) if o.status.success() => name,
        _ => panic!("`{name}` is not available: install it ({install})"),
    }
}

/// What `ffi/install.sh` installed, once for all tests of this run.
struct Installed {
    prefix: PathBuf,
    /// The crate version, the installed file's suffix.
    version: String,
    /// `COFFER_ABI_VERSION`, the SONAME's suffix.
    abi: u32,
}

fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let dir = scratch("install");
        // install.sh takes a build directory holding libcoffer.so and libcoffer.a.
        let build = dir.join("build");
        if let Err(e) = std::fs::create_dir_all(&build) {
            panic!("cannot create {}: {e}", build.display());
        }
        for (built, name) in [(built_lib(".so"), "libcoffer.so"), (built_lib(".a"), "libcoffer.a")] {
            if let Err(e) = std::os::unix::fs::symlink(&built, build.join(name)) {
                panic!("cannot link {}: {e}", built.display());
            }
        }
        let prefix = dir.join("prefix");
        let mut cmd = Command::new("sh");
        cmd.arg(root().join("ffi/install.sh")).arg(&prefix).arg(&build);
        run(&mut cmd, "ffi/install.sh");
        Installed {
            prefix,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            abi: coffer::abi::COFFER_ABI_VERSION,
        }
    })
}

/// The SONAME `readelf -d` shows for `lib`.
fn soname(lib: &Path) -> String {
    let readelf = tool("readelf", "--version", "Debian: apt-get install binutils");
    let out = run(Command::new(readelf).arg("-d").arg(lib), &format!("readelf -d {}", lib.display()));
    let dynamic = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = dynamic.lines().find(|l| l.contains("(SONAME)")).unwrap_or_default();
    line.split_once('[')
        .and_then(|(_, r)| r.split_once(']'))
        .map(|(name, _)| name.to_owned())
        .unwrap_or_default()
}

#[test]
fn install_sh_installs_libcoffer_so_under_its_version_with_the_abi_soname_and_two_links() {
    let inst = installed();
    let lib = inst.prefix.join("lib");
    let real = format!("libcoffer.so.{}", inst.version);
    let abi_name = format!("libcoffer.so.{}", inst.abi);
    let is_file = std::fs::symlink_metadata(lib.join(&real)).is_ok_and(|m| m.file_type().is_file());
    assert!(is_file, "{real} is not a regular file under {}", lib.display());
    let link = |name: &str| std::fs::read_link(lib.join(name)).map(|t| t.to_string_lossy().into_owned());
    assert_eq!(link(&abi_name).ok().as_deref(), Some(real.as_str()), "{abi_name} must link to {real}");
    assert_eq!(
        link("libcoffer.so").ok().as_deref(),
        Some(abi_name.as_str()),
        "libcoffer.so must link to {abi_name}"
    );
    assert_eq!(soname(&lib.join(&real)), abi_name, "the installed library's SONAME");
    assert_eq!(
        soname(&built_lib(".so")),
        abi_name,
        "the SONAME cargo's build gives libcoffer.so (ffi/build.rs)"
    );
    for file in
        ["lib/libcoffer.a", "lib/pkgconfig/coffer.pc", "lib/pkgconfig/coffer-shared.pc", "include/coffer.h"]
    {
        assert!(inst.prefix.join(file).is_file(), "{file} was not installed");
    }
    let header = std::fs::read_to_string(inst.prefix.join("include/coffer.h")).unwrap_or_default();
    assert!(
        header.contains(&format!("#define COFFER_ABI_VERSION {}\n", inst.abi)),
        "the header's ABI version"
    );
}

/// A C program that checks the library it runs with and uses it once.
const PROBE_C: &str = r#"#include <stdio.h>
#include "coffer.h"

int main(void) {
    static const uint8_t kek[32] = {1, 2, 3};
    uint8_t out[40];
    size_t len = sizeof out;
    if (coffer_abi_version() != COFFER_ABI_VERSION) return 2;
    if (coffer_kw_wrap(kek, 32, kek, 32, out, &len) != COFFER_OK || len != 40) return 3;
    printf("coffer %s, ABI %u: ok\n", coffer_version(), coffer_abi_version());
    return 0;
}
"#;

/// Builds `probe.c` in `dir` as a user would: `cc probe.c $(pkg-config --cflags <libs> coffer)`,
/// with `-Wl,--no-as-needed` first, as on a toolchain whose linker does not default to
/// `--as-needed` (this one's gcc does, which would hide a shared library listed but unused).
fn build_with_pkg_config(dir: &Path, libs: &str, name: &str) -> PathBuf {
    let pkg_config = tool("pkg-config", "--version", "Debian: apt-get install pkgconf");
    let cc = compiler("CC", "cc");
    let exe = dir.join(name);
    let script = format!(
        "{cc} -std=c11 -Wall -Wextra -Wpedantic -Werror -Wl,--no-as-needed probe.c \
         $({pkg_config} --cflags {libs} coffer) -o '{}'",
        exe.display()
    );
    let mut cmd = Command::new("sh");
    cmd.current_dir(dir)
        .env("PKG_CONFIG_PATH", installed().prefix.join("lib/pkgconfig"))
        .args(["-c", &script]);
    run(&mut cmd, &format!("`{script}`"));
    exe
}

fn ldd(exe: &Path) -> String {
    let ldd = tool("ldd", "--version", "Debian: it comes with libc-bin");
    let out = run(Command::new(ldd).arg(exe), &format!("ldd {}", exe.display()));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn pkg_config_links_libcoffer_so_by_default_and_libcoffer_a_with_static() {
    let inst = installed();
    let dir = scratch("pkg-config");
    if let Err(e) = std::fs::write(dir.join("probe.c"), PROBE_C) {
        panic!("cannot write probe.c: {e}");
    }
    let lib = inst.prefix.join("lib");
    let abi_name = format!("libcoffer.so.{}", inst.abi);

    let shared = build_with_pkg_config(&dir, "--libs", "probe_shared");
    let deps = ldd(&shared);
    let expected = format!("{abi_name} => {}", lib.join(&abi_name).display());
    assert!(deps.contains(&expected), "`pkg-config --libs` did not link {abi_name} from the prefix:\n{deps}");

    let fixed = build_with_pkg_config(&dir, "--static --libs", "probe_static");
    let deps = ldd(&fixed);
    assert!(!deps.contains("libcoffer"), "`pkg-config --static --libs` still needs a libcoffer.so:\n{deps}");

    for exe in [&shared, &fixed] {
        let out = run(&mut Command::new(exe), &format!("{}", exe.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout, format!("coffer {}, ABI {}: ok\n", inst.version, inst.abi));
    }
}
