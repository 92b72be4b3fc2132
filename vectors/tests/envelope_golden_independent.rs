//! The golden envelopes opened by a reader that is not coffer:
//! `vectors/independent/open_goldens.py`, written in Python with
//! `cryptography` from core/FORMAT.md alone. `envelope_golden.rs` shows
//! that coffer opens the goldens coffer wrote; this runner shows that what
//! coffer wrote is what the spec says, read by code that shares nothing
//! with coffer.
//!
//! Checks, each printed:
//! - the reader opens every golden with each recipient's key alone, to the
//!   plaintext byte for byte, and refuses each damaged copy it makes (its
//!   last line, `opened 17 of 17 goldens, 154 negative refused`, is pinned);
//! - the goldens it opened are the 17 pinned names, in order, and the file
//!   it read has the pinned SHA-256;
//! - given a copy of the file with one golden damaged, it exits 1 and opens
//!   16 of 17 (the reader can fail).
//!
//! Needs python3 with `cryptography` (AES-GCM-SIV needs OpenSSL 3.2 or
//! later). Without them a local run prints one `SKIPPED:` line and passes;
//! with `CI=true` it fails, saying what to install.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use coffer_vectors::{ENVELOPE_V1_GOLDEN_NAMES, ENVELOPE_V1_GOLDEN_SHA256};

/// The reader's last line on the checked-in goldens: 17 goldens opened,
/// and the number of damaged copies it made (FORMAT.md offsets) and refused.
const SUMMARY: &str = "opened 17 of 17 goldens, 154 negative refused";
/// The golden whose copy `damaged_golden_is_refused` damages.
const DAMAGED: &str = "payload-one-chunk";
const INSTALL: &str = "python3 with the cryptography package (AES-GCM-SIV) is needed; \
                       install with: pip install cryptography";

fn crate_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Whether python3 can run the reader: `cryptography` with AES-GCM-SIV
/// (constructing a key fails on an OpenSSL without it) and key wrapping.
fn python_ready() -> bool {
    Command::new("python3")
        .args([
            "-c",
            "from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV\n\
             from cryptography.hazmat.primitives.keywrap import aes_key_unwrap\n\
             AESGCMSIV(bytes(32))",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the reader on `golden`: (exit code, stdout, stderr).
fn run_reader(golden: &Path) -> Result<(i32, String, String), String> {
    let out = Command::new("python3")
        .arg(crate_path("independent/open_goldens.py"))
        .arg(golden)
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// The reader opens every checked-in golden, refuses every negative, and
/// reports the pinned names, SHA-256 and summary.
fn independent_reader_opens_the_pinned_goldens() -> Result<(), String> {
    let (code, stdout, stderr) = run_reader(&crate_path("data/envelope_v1/golden.json"))?;
    if code != 0 {
        return Err(format!("the reader exited {code}\nstdout:\n{stdout}\nstderr:\n{stderr}"));
    }
    let opened: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("opened ")?.split_once(": ").map(|(name, _)| name))
        .collect();
    if opened != ENVELOPE_V1_GOLDEN_NAMES {
        return Err(format!("opened {opened:?}, pinned {ENVELOPE_V1_GOLDEN_NAMES:?}"));
    }
    let sha = stdout.lines().find_map(|l| l.strip_prefix("golden.json sha256 "));
    if sha != Some(ENVELOPE_V1_GOLDEN_SHA256) {
        return Err(format!(
            "the reader read a golden.json with SHA-256 {sha:?}, pinned {ENVELOPE_V1_GOLDEN_SHA256}"
        ));
    }
    let last = stdout.lines().last();
    if last != Some(SUMMARY) {
        return Err(format!("last line {last:?}, pinned {SUMMARY:?}"));
    }
    println!("    {SUMMARY}");
    Ok(())
}

/// A copy of the goldens with the last byte of `DAMAGED` flipped: the
/// reader must exit 1, name it, and open 16 of 17.
fn damaged_golden_is_refused() -> Result<(), String> {
    let text = std::fs::read_to_string(crate_path("data/envelope_v1/golden.json"))
        .map_err(|e| format!("cannot read golden.json: {e}"))?;
    let mut doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let entry = doc
        .get_mut("envelopes")
        .and_then(serde_json::Value::as_array_mut)
        .and_then(|all| all.iter_mut().find(|g| g.get("name").and_then(|n| n.as_str()) == Some(DAMAGED)))
        .ok_or_else(|| format!("no golden {DAMAGED}"))?;
    let mut envelope = entry
        .get("envelope")
        .and_then(|e| e.as_str())
        .map(hex::decode)
        .ok_or("no envelope field")?
        .map_err(|e| e.to_string())?;
    let last = envelope.last_mut().ok_or("an empty envelope")?;
    *last ^= 0x01;
    if let Some(field) = entry.get_mut("envelope") {
        *field = serde_json::Value::String(hex::encode(&envelope));
    }
    let path = std::env::temp_dir().join(format!("coffer-golden-damaged-{}.json", std::process::id()));
    std::fs::write(&path, doc.to_string()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let result = run_reader(&path);
    // Best effort: a leftover file in the temporary directory harms nothing.
    let _ = std::fs::remove_file(&path);
    let (code, stdout, stderr) = result?;
    let last = stdout.lines().last().unwrap_or_default();
    if code == 1 && last.starts_with("opened 16 of 17 goldens") && stderr.contains(DAMAGED) {
        Ok(())
    } else {
        Err(format!(
            "expected exit 1 and 16 of 17 opened, got exit {code}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        ))
    }
}

/// One check: `Ok` or what went wrong.
type Check = fn() -> Result<(), String>;

fn main() -> ExitCode {
    if !python_ready() {
        if std::env::var("CI").as_deref() == Ok("true") {
            eprintln!("envelope_golden_independent: {INSTALL}");
            return ExitCode::FAILURE;
        }
        println!("SKIPPED: envelope_golden_independent: {INSTALL}");
        return ExitCode::SUCCESS;
    }
    let checks: [(&str, Check); 2] = [
        ("independent_reader_opens_the_pinned_goldens", independent_reader_opens_the_pinned_goldens),
        ("damaged_golden_is_refused", damaged_golden_is_refused),
    ];
    let mut failed = 0usize;
    for (name, check) in checks {
        match check() {
            Ok(()) => println!("{name}: ok"),
            Err(why) => {
                failed = failed.saturating_add(1);
                println!("{name}: FAILED\n{why}");
            }
        }
    }
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
