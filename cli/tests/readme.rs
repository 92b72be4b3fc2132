//! README.md runs as written (issue 14): the `coffer` walkthrough, its one
//! `sh` block that starts with `coffer init`'s set-up, is run line by line
//! in order by `bash -e` in a fresh directory, with this build's `coffer`
//! first on `PATH` and only the file the text says the user has
//! (`report.pdf`). Any command that fails fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;

mod common;

/// The ```sh blocks of README.md, in order.
fn sh_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(block), l) => {
                block.push_str(l);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "README.md has an unclosed ```sh block");
    blocks
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let blocks = sh_blocks();
    let walkthrough = blocks
        .iter()
        .find(|b| b.lines().any(|l| l.starts_with("coffer init")))
        .expect("README.md has a ```sh block with `coffer init`");
    let dir = common::Dir::fresh("readme");
    std::fs::write(dir.0.join("report.pdf"), b"%PDF-1.7 the quarterly report").unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_coffer")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("bash");
    cmd.args(["-e", "-o", "pipefail", "-x", "-c", walkthrough]).current_dir(&dir.0).env("PATH", path);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("COFFER_")) {
        cmd.env_remove(k);
    }
    let out = cmd.output().expect("bash runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the README walkthrough failed:\n{stderr}");
    // It did what it says: the copies are the report, the shred happened.
    for copy in ["report-copy.pdf", "agent-copy.pdf"] {
        assert_eq!(std::fs::read(dir.0.join(copy)).unwrap(), b"%PDF-1.7 the quarterly report", "{copy}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("tenant acme shredded"), "{stdout}");
    // The original was not touched.
    assert_eq!(std::fs::read(dir.0.join("report.pdf")).unwrap(), b"%PDF-1.7 the quarterly report");
}

/// The ```c block of README.md that is a whole program (has `main`).
fn c_program() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    readme
        .split("```c\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(code, _)| code.to_string()))
        .find(|code| code.contains("int main("))
        .expect("README.md has a ```c block with a whole program")
}

/// Runs `script` with `bash -e` in `dir` with `HOME=home`.
fn bash_in(dir: &Path, home: &Path, script: &str) -> std::process::Output {
    let out = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-x", "-c", script])
        .current_dir(dir)
        .env("HOME", home)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "in {}:\n{script}\nfailed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The README's C commands as written: a release build and install.sh in
/// the checkout, then `cc app.c $(pkg-config ...)` and `./app` in a project
/// directory holding the README's C program. Needs cc and pkg-config.
#[test]
fn the_readme_c_commands_build_and_run_its_c_program() {
    if Command::new("pkg-config").arg("--version").output().is_err() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "pkg-config is missing in CI");
        println!("SKIPPED: the README's C commands need pkg-config (apt-get install pkgconf)");
        return;
    }
    let blocks = sh_blocks();
    let find = |first: &str| {
        blocks
            .iter()
            .find(|b| b.starts_with(first))
            .unwrap_or_else(|| panic!("README.md has no ```sh block `{first}`"))
    };
    let (checkout, project) = (find("# in the coffer checkout"), find("# in your project"));
    let dir = common::Dir::fresh("readme-c");
    let (home, app) = (dir.0.join("home"), dir.0.join("project"));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("app.c"), c_program()).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    bash_in(root, &home, checkout);
    let out = bash_in(&app, &home, project);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("envelope opened: quarterly numbers"), "{stdout}");
}
