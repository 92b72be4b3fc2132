//! What can go wrong with a KEK in a PKCS#11 token.

use core::fmt;
use std::format;
use std::string::{String, ToString};

/// An error of [`Pkcs11Kek`](super::Pkcs11Kek) or of reading a PKCS#11 URI
/// ([`Pkcs11Uri`](super::Pkcs11Uri)). Messages never contain a PIN.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pkcs11KekError {
    /// The PKCS#11 module did not load or initialize.
    Module {
        /// The module's path.
        path: String,
        /// What the loader or `C_Initialize` said.
        reason: String,
    },
    /// No token carries this label.
    TokenNotFound {
        /// The label asked for.
        label: String,
    },
    /// Several tokens carry this label.
    TokenAmbiguous {
        /// The label asked for.
        label: String,
        /// How many tokens carry it.
        count: usize,
    },
    /// The token refused the user PIN.
    PinIncorrect,
    /// The token's user PIN is locked.
    PinLocked,
    /// No AES secret key with this label (and id, if given) is on the token.
    KeyNotFound {
        /// The label asked for.
        label: String,
    },
    /// Several AES secret keys match the label (and id, if given).
    KeyAmbiguous {
        /// The label asked for.
        label: String,
        /// How many keys match.
        count: usize,
    },
    /// The key is there but cannot be an envelope KEK.
    KeyNotUsable {
        /// The key's label.
        label: String,
        /// Why not.
        reason: &'static str,
    },
    /// A key with this label already exists (when generating one).
    KeyExists {
        /// The label asked for.
        label: String,
    },
    /// A PKCS#11 call failed.
    Device {
        /// The PKCS#11 function (`C_WrapKey`, ...).
        function: String,
        /// The `CKR_` return value, by name.
        code: String,
    },
    /// A PKCS#11 URI does not parse or names something coffer does not take.
    Uri {
        /// What is wrong with it (never a PIN).
        message: String,
    },
    /// The PIN file named by `pin-source` could not be read.
    PinSource {
        /// The file's path.
        path: String,
        /// Why not.
        reason: String,
    },
    /// An argument is not acceptable (a label of the wrong length, ...).
    InvalidInput {
        /// What is wrong.
        reason: &'static str,
    },
}

impl Pkcs11KekError {
    pub(crate) fn device(e: &cryptoki::error::Error) -> Self {
        match e {
            cryptoki::error::Error::Pkcs11(rv, function) => {
                Pkcs11KekError::Device { function: function.to_string(), code: format!("{rv:?}") }
            }
            other => Pkcs11KekError::Device { function: "cryptoki".to_string(), code: other.to_string() },
        }
    }

    pub(crate) fn uri(message: impl Into<String>) -> Self {
        Pkcs11KekError::Uri { message: message.into() }
    }
}

impl fmt::Display for Pkcs11KekError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pkcs11KekError::Module { path, reason } => {
                write!(f, "PKCS#11 module {path} did not load: {reason} (check module-path)")
            }
            Pkcs11KekError::TokenNotFound { label } => {
                write!(
                    f,
                    "no PKCS#11 token labelled `{label}` (check token= and that the token is initialized)"
                )
            }
            Pkcs11KekError::TokenAmbiguous { label, count } => {
                write!(f, "{count} PKCS#11 tokens are labelled `{label}`: give each token its own label")
            }
            Pkcs11KekError::PinIncorrect => f.write_str("the PKCS#11 token refused the user PIN"),
            Pkcs11KekError::PinLocked => f.write_str(
                "the PKCS#11 token's user PIN is locked: the token's security officer must reset it",
            ),
            Pkcs11KekError::KeyNotFound { label } => {
                write!(f, "no AES secret key labelled `{label}` on the PKCS#11 token (check object= and id=)")
            }
            Pkcs11KekError::KeyAmbiguous { label, count } => {
                write!(
                    f,
                    "{count} AES secret keys are labelled `{label}` on the PKCS#11 token: add id= to pick one"
                )
            }
            Pkcs11KekError::KeyNotUsable { label, reason } => {
                write!(f, "the PKCS#11 key `{label}` cannot be an envelope KEK: {reason}")
            }
            Pkcs11KekError::KeyExists { label } => {
                write!(f, "the PKCS#11 token already holds a key labelled `{label}`: choose another label")
            }
            Pkcs11KekError::Device { function, code } => write!(f, "PKCS#11 {function} failed: {code}"),
            Pkcs11KekError::Uri { message } => write!(f, "PKCS#11 URI: {message}"),
            Pkcs11KekError::PinSource { path, reason } => write!(f, "reading the PIN file {path}: {reason}"),
            Pkcs11KekError::InvalidInput { reason } => write!(f, "invalid argument: {reason}"),
        }
    }
}

impl std::error::Error for Pkcs11KekError {}
