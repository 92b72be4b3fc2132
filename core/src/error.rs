//! The one error type of `coffer-core`.

use core::fmt;

/// Everything that can go wrong in `coffer-core`.
///
/// Decryption failures are deliberately opaque: a wrong key, a flipped bit in
/// the ciphertext, tag, nonce or associated data, and a truncated input all
/// give [`Error::Decrypt`], so an attacker learns nothing about which check
/// failed. The same holds for [`Error::Verify`] on signatures and MACs.
///
/// The enum is `#[non_exhaustive]`: match with a wildcard arm.
///
/// ```
/// use coffer_core::{aead::{Aes256GcmSivKey, Nonce}, Error};
///
/// let key = Aes256GcmSivKey::from_bytes([7; 32]);
/// let mut buf = *b"not a real ciphertext, just bytes";
/// let err = key.open_in_place(&Nonce::from_bytes([0; 12]), b"", &mut buf).unwrap_err();
/// assert_eq!(err, Error::Decrypt);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// Authenticated decryption or key unwrapping failed. Which check failed
    /// is not disclosed.
    Decrypt,
    /// A signature or MAC did not verify.
    Verify,
    /// Key material is malformed: wrong length, not a valid point or scalar,
    /// or an encoding that does not hold a key of the expected kind.
    InvalidKey,
    /// The key is well formed but refused by policy (for RSA: fewer than
    /// 2048 bits, more than the allowed maximum, or a public exponent other
    /// than 65537).
    KeyPolicy,
    /// An input is shorter or longer than the operation allows (see the
    /// limits documented on each function).
    InvalidLength,
    /// The caller's output buffer is too small; `needed` bytes are required.
    BufferTooSmall {
        /// How many bytes the output needs.
        needed: usize,
    },
    /// Encoding a key as DER or PEM failed. (Malformed key encodings on
    /// import are [`Error::InvalidKey`]; malformed signatures are [`Error::Verify`].)
    Encoding,
    /// The random number generator failed.
    Rng,
    /// A certificate's validity period has ended.
    CertificateExpired,
    /// A certificate's validity period has not started.
    CertificateNotYetValid,
    /// A certificate used as an issuer is not a CA (no basicConstraints CA:TRUE).
    NotACa,
    /// A certificate does not name the given CA as its issuer.
    IssuerMismatch,
    /// A private key does not match the public key in a certificate.
    KeyMismatch,
    /// A certificate carries a critical extension coffer does not process.
    UnknownCriticalExtension,
    /// Bytes that should hold a coffer structure (an envelope header) are
    /// not well formed. Opening an envelope never returns this: it returns
    /// [`Error::Decrypt`]; parsing for inspection does.
    Malformed,
    /// An input exceeds a documented limit (recipients, context entries,
    /// key id length, chunk size, header size).
    LimitExceeded,
    /// An argument is not acceptable (for example a duplicate context key,
    /// an unsupported KEK size, or removing the last recipient).
    InvalidInput,
    /// An internal operation of a dependency failed in a way that is not
    /// attributable to the input (for example RSA key generation giving up).
    Internal,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Decrypt => f.write_str(
                "decryption failed: wrong key, wrong associated data, or the data was modified or truncated",
            ),
            Error::Verify => {
                f.write_str("verification failed: the signature or MAC does not match this key and message")
            }
            Error::InvalidKey => f.write_str(
                "invalid key: the key bytes or encoding do not hold a key of the expected kind and size",
            ),
            Error::KeyPolicy => f.write_str(
                "key refused by policy: use RSA keys of 2048 to 4096 bits with public exponent 65537",
            ),
            Error::InvalidLength => {
                f.write_str("input length out of range for this operation: see the documented limits")
            }
            Error::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: pass a buffer of at least {needed} bytes")
            }
            Error::Encoding => f.write_str("encoding failed: the key could not be written as DER or PEM"),
            Error::Malformed => {
                f.write_str("malformed input: these bytes are not a well-formed coffer envelope header")
            }
            Error::LimitExceeded => {
                f.write_str("a documented limit was exceeded: see the limits in core/FORMAT.md section 5")
            }
            Error::InvalidInput => {
                f.write_str("invalid argument: check the function's documented requirements")
            }
            Error::CertificateExpired => f.write_str("certificate expired: issue a new one"),
            Error::CertificateNotYetValid => {
                f.write_str("certificate not yet valid: check the clock or the notBefore date")
            }
            Error::NotACa => f.write_str(
                "not a CA certificate: only a certificate with basicConstraints CA:TRUE can issue",
            ),
            Error::IssuerMismatch => {
                f.write_str("issuer mismatch: the certificate was not issued by this CA")
            }
            Error::KeyMismatch => {
                f.write_str("key mismatch: the private key does not belong to this certificate")
            }
            Error::UnknownCriticalExtension => f.write_str(
                "certificate has a critical extension coffer does not process: it cannot be accepted",
            ),
            Error::Rng => {
                f.write_str("the random number generator failed: retry or check the OS entropy source")
            }
            Error::Internal => {
                f.write_str("internal error in a cryptographic operation: retry; report it if it persists")
            }
        }
    }
}

impl core::error::Error for Error {}

/// Result alias used throughout `coffer-core`.
pub type Result<T> = core::result::Result<T, Error>;
