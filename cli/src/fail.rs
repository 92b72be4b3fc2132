//! How a command fails: what went wrong, what to do, and the exit code.

use std::fmt;

/// Exit codes of `coffer` besides 0 (also in `coffer --help`).
pub mod exit {
    /// Not a failure: stdout's reader went away, see [`super::Fail::reader_gone`].
    pub const READER_GONE: u8 = 0;
    /// A cryptographic or policy check refused: decryption or verification
    /// failed, a key's usage or state does not allow it, another tenant's key.
    pub const REFUSED: u8 = 1;
    /// The command line is wrong (clap also uses 2).
    pub const USAGE: u8 = 2;
    /// The keystore does not open, or a PIN is wrong or locked.
    pub const KEYSTORE: u8 = 3;
    /// Reading or writing a file failed.
    pub const IO: u8 = 4;
}

/// A failed command: printed as `error: <what>` and `  hint: <hint>`.
#[derive(Debug)]
pub struct Fail {
    pub what: String,
    pub hint: Option<String>,
    pub code: u8,
}

impl Fail {
    pub fn new(code: u8, what: impl Into<String>) -> Self {
        Fail { what: what.into(), hint: None, code }
    }

    /// The reader of stdout went away (`coffer audit show | head`): the
    /// command stops, prints nothing more and exits 0.
    pub fn reader_gone() -> Self {
        Fail::new(exit::READER_GONE, "")
    }

    pub fn usage(what: impl Into<String>) -> Self {
        Fail::new(exit::USAGE, what)
    }

    pub fn io(what: impl Into<String>, e: &std::io::Error) -> Self {
        Fail::new(exit::IO, format!("{}: {e}", what.into()))
    }

    /// Prefixes what went wrong with where (`opening the store: ...`).
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.what = format!("{}: {}", context.into(), self.what);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.what)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl From<coffer_core::Error> for Fail {
    fn from(e: coffer_core::Error) -> Self {
        use coffer_core::Error as E;
        match e {
            E::Decrypt => Fail::new(exit::REFUSED, "decryption failed")
                .hint("wrong key, wrong --context, or the envelope was changed or truncated"),
            E::Verify => Fail::new(exit::REFUSED, "verification failed: the signature or MAC does not match"),
            // What the command line asked for breaks a certificate rule.
            E::InvalidSubject
            | E::InvalidSubjectAltName
            | E::InvalidKeyUsage
            | E::InvalidValidity
            | E::ServerNameMissing
            | E::OutlivesIssuer => Fail::new(exit::USAGE, e.to_string()),
            other => Fail::new(exit::REFUSED, other.to_string()),
        }
    }
}

impl From<coffer_hsm::Error> for Fail {
    fn from(e: coffer_hsm::Error) -> Self {
        use coffer_hsm::Error as E;
        let code = match e {
            E::PinIncorrect
            | E::PinLocked
            | E::PinPolicy
            | E::KeystoreAuth
            | E::KeystoreCorrupt
            | E::KeystoreRollback
            | E::TokenState
            | E::NotLoggedIn => exit::KEYSTORE,
            E::Storage | E::Io => exit::IO,
            E::Store(
                coffer_hsm::StoreError::Unavailable
                | coffer_hsm::StoreError::Corrupt
                | coffer_hsm::StoreError::ReadOnly,
            ) => exit::KEYSTORE,
            E::Store(_) => exit::IO,
            E::Crypto(c) => return Fail::from(c),
            _ => exit::REFUSED,
        };
        let fail = Fail::new(code, e.to_string());
        match e {
            E::NotFound => fail.hint(
                "check the name: keys are per tenant (`coffer key list`), tenants and users are listed by \
                 `coffer tenant list` / `coffer user list`",
            ),
            E::TenantNotAllowed => fail.hint(
                "the --user credential is not bound to this tenant, or the key belongs to another tenant \
                 (the attempt is in the audit log); the security officer can check with `coffer user list`",
            ),
            E::PinIncorrect => {
                fail.hint("check --user and COFFER_PIN / COFFER_SO_PIN / COFFER_AUDITOR_PIN")
            }
            E::PinLocked => fail.hint("the security officer can unblock it: `coffer pin unblock <user>`"),
            E::KeystoreAuth => fail.hint("check COFFER_PASSPHRASE or --passphrase-file"),
            E::KeystoreRollback => fail.hint(
                "the store is older than its generation file says (restored from a backup?); \
                 if that is intended, remove the generation file (--generation-file, default <store>.generation)",
            ),
            _ => fail,
        }
    }
}

pub type Result<T> = std::result::Result<T, Fail>;
