//! How results and errors are printed: readable lines, or with `--json`
//! one JSON document on stdout per result and `{"error", "hint", "exit"}`
//! on stderr per error.

use std::io::Write;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::fail::{Fail, Result};

/// `--json` of this run (set once by `main`).
static JSON: OnceLock<bool> = OnceLock::new();

/// Records the global `--json` flag.
pub fn set_json(on: bool) {
    let _ = JSON.set(on);
}

/// Whether results and errors are printed as JSON.
pub fn json() -> bool {
    JSON.get().copied().unwrap_or(false)
}

/// Prints a command's result: `text` as it is, or with `--json` `value`
/// as one line of JSON.
pub fn result(text: &str, value: &Value) -> Result<()> {
    if json() { print_line(&value.to_string()) } else { print_line(text) }
}

/// Prints `line` and a newline on stdout. When the reader has gone
/// (`coffer audit show | head`) the command ends quietly with exit code 0
/// (see [`crate::output::stdout_fail`]); other write errors are exit code 4.
pub fn print_line(line: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).map_err(|e| crate::output::stdout_fail(&e))
}

/// Prints a failed command's error on stderr (as JSON with `--json`).
pub fn error(fail: &Fail) {
    if json() {
        let v = json!({"error": fail.what, "hint": fail.hint, "exit": fail.code});
        eprintln!("{v}");
    } else {
        eprintln!("{fail}");
    }
}
