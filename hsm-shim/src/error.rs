//! The one error type of `coffer-hsm`.

use core::fmt;

/// Everything that can go wrong in the HSM shim.
///
/// Policy and state errors are reported before any cryptography runs, and
/// every refusal is an audit record committed before the error returns. A
/// handle of another tenant is [`Error::TenantNotAllowed`] (handles are
/// small sequential numbers, not secrets; the refusal names who tried).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// No session is logged in with a role allowed to do this.
    NotLoggedIn,
    /// The logged-in role may not perform this operation.
    RoleNotAllowed,
    /// Wrong PIN; the role locks after the configured number of failures.
    PinIncorrect,
    /// Too many wrong PINs: the role is locked until the security officer unblocks it.
    PinLocked,
    /// A new PIN is shorter or longer than allowed.
    PinPolicy,
    /// No such key, tenant or user.
    NotFound,
    /// The key belongs to another tenant than the session's, or the
    /// credential is not bound to the tenant asked for at login.
    TenantNotAllowed,
    /// The key's expiry has passed: it makes nothing new (the lifecycle
    /// sweep deactivates it, after which it still opens what exists).
    KeyExpired,
    /// The name is already taken (tenant, user).
    AlreadyExists,
    /// The key's usage policy does not allow this operation.
    PolicyDenied,
    /// The key's lifecycle state does not allow this operation (pre-active,
    /// deactivated or destroyed).
    KeyState,
    /// The key is not extractable.
    NotExtractable,
    /// The key cannot be wrapped with the mechanism asked for: a private key
    /// under RSA-OAEP or AES-KW (only AES-KWP takes its PKCS#8), or a
    /// certificate (public data, never wrapped).
    NotWrappable,
    /// A fixed capacity was reached (slots, objects, audit records).
    Capacity,
    /// The audit log is full for this operation: an auditor must archive it
    /// (`Hsm::audit_archive`) before keys can be used again.
    AuditFull,
    /// An argument is invalid (label or tenant id too long, wrong key type for the operation, ...).
    InvalidInput,
    /// The token is not initialized, or already is.
    TokenState,
    /// The sealed keystore does not open: wrong master key or passphrase, or it was modified.
    KeystoreAuth,
    /// The keystore file is truncated or malformed; it was left as it is.
    KeystoreCorrupt,
    /// The keystore is older than the counter kept elsewhere says: a rollback.
    KeystoreRollback,
    /// Reading or writing the storage failed; the stored keystore is either
    /// the complete previous one or the complete new one, never a mix.
    Storage,
    /// The audit log does not verify: a record was changed, removed or reordered.
    AuditTampered {
        /// Index of the first record that fails to verify.
        index: usize,
    },
    /// A cryptographic operation failed.
    Crypto(coffer_core::Error),
    /// Reading the input or writing the output of a streaming operation failed.
    Io,
    /// The record store failed (keystore version 2): the cause says what,
    /// for example [`coffer_store::StoreError::NoSpace`]. Nothing of the
    /// operation was committed.
    #[cfg(feature = "alloc")]
    Store(coffer_store::StoreError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotLoggedIn => f.write_str("not logged in: log in with a role that may do this"),
            Error::RoleNotAllowed => f.write_str("this role may not perform this operation"),
            Error::PinIncorrect => f.write_str("incorrect PIN"),
            Error::PinLocked => {
                f.write_str("PIN locked after too many failures: ask the security officer to unblock it")
            }
            Error::PinPolicy => f.write_str("PIN refused: use 6 to 64 bytes"),
            Error::NotFound => f.write_str("no such key, tenant or user"),
            Error::TenantNotAllowed => {
                f.write_str("not allowed in this tenant: the key or tenant belongs to another tenant than the credential's")
            }
            Error::KeyExpired => f.write_str("the key has expired: rotate it or set a later expiry"),
            Error::AlreadyExists => f.write_str("the name is already taken"),
            Error::PolicyDenied => f.write_str("the key's usage policy does not allow this operation"),
            Error::KeyState => f.write_str("the key's lifecycle state does not allow this operation"),
            Error::NotExtractable => f.write_str("the key is not extractable"),
            Error::NotWrappable => f.write_str(
                "this key cannot be wrapped with this mechanism: wrap private keys with AES-KWP",
            ),
            Error::Capacity => f.write_str("capacity reached: no room for more slots, keys or audit records"),
            Error::AuditFull => f.write_str(
                "audit log full: an auditor must log in and archive it before keys can be used again",
            ),
            Error::InvalidInput => f.write_str("invalid argument"),
            Error::TokenState => {
                f.write_str("token state does not allow this: initialize it first, or it already is")
            }
            Error::KeystoreAuth => {
                f.write_str("keystore does not open: wrong master key or passphrase, or it was modified")
            }
            Error::KeystoreCorrupt => f.write_str(
                "keystore file is truncated or malformed; it was not changed: restore it from a backup",
            ),
            Error::KeystoreRollback => {
                f.write_str("keystore is older than the last saved version: it may have been rolled back")
            }
            Error::Storage => f.write_str(
                "storage I/O failed; the stored keystore is the complete old or new one: retry the save",
            ),
            Error::AuditTampered { index } => write!(f, "audit log tampered: record {index} does not verify"),
            Error::Crypto(e) => write!(f, "cryptographic operation failed: {e}"),
            Error::Io => f.write_str("reading the input or writing the output failed"),
            #[cfg(feature = "alloc")]
            Error::Store(e) => write!(f, "keystore: {e}"),
        }
    }
}

impl core::error::Error for Error {}

impl From<coffer_core::Error> for Error {
    fn from(e: coffer_core::Error) -> Self {
        Error::Crypto(e)
    }
}

/// Result alias of `coffer-hsm`.
pub type Result<T> = core::result::Result<T, Error>;
