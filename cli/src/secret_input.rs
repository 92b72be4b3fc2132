//! Passphrases and PINs: from a file, an environment variable, or a prompt
//! on the terminal (never echoed). Held in zeroizing buffers.

use std::io::IsTerminal;
use std::path::Path;

use zeroize::Zeroizing;

use crate::fail::{Fail, Result, exit};

/// A secret from `file` (first line), else `$env`, else a prompt when stdin
/// is a terminal.
pub fn read(what: &str, file: Option<&Path>, env: &str) -> Result<Zeroizing<Vec<u8>>> {
    if let Some(path) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| Fail::io(format!("reading {}", path.display()), &e))?,
        );
        let line = text.lines().next().unwrap_or("");
        return non_empty(what, line.as_bytes().to_vec());
    }
    if let Ok(v) = std::env::var(env) {
        return non_empty(what, v.into_bytes());
    }
    if std::io::stdin().is_terminal() {
        let v = Zeroizing::new(
            rpassword::prompt_password(format!("{what}: "))
                .map_err(|e| Fail::io("reading the terminal", &e))?,
        );
        return non_empty(what, v.as_bytes().to_vec());
    }
    // The keystore cannot be opened without it: exit code 3, as for a wrong one.
    Err(Fail::new(exit::KEYSTORE, format!("no {what} given"))
        .hint(format!("set {env}, or run in a terminal to be prompted")))
}

/// A new secret, asked twice when prompted.
pub fn read_new(what: &str, file: Option<&Path>, env: &str) -> Result<Zeroizing<Vec<u8>>> {
    let first = read(what, file, env)?;
    if file.is_none() && std::env::var(env).is_err() {
        let again = read(&format!("{what} (again)"), None, env)?;
        if again != first {
            return Err(Fail::usage(format!("the two {what}s differ")));
        }
    }
    Ok(first)
}

fn non_empty(what: &str, bytes: Vec<u8>) -> Result<Zeroizing<Vec<u8>>> {
    let bytes = Zeroizing::new(bytes);
    if bytes.is_empty() { Err(Fail::usage(format!("the {what} is empty"))) } else { Ok(bytes) }
}
