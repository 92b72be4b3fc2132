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
    /// import are [`Error::InvalidKey`], and ones longer than the importer's
    /// documented limit [`Error::InvalidLength`]; malformed signatures are
    /// [`Error::Verify`].)
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
    /// Bytes that should hold an X.509 certificate or a PKCS#10 request
    /// (DER, or a PEM block with the right label) do not.
    MalformedCertificate,
    /// A signature algorithm coffer does not verify or make.
    UnsupportedAlgorithm(AlgorithmName),
    /// No chain of the given certificates leads from the certificate to a
    /// trust anchor (no issuer whose name and key fit was found).
    NoPathToTrustAnchor,
    /// The chain is longer than a CA's pathLenConstraint allows, or than
    /// the verifier's limit ([`crate::cert::MAX_CHAIN_LEN`]).
    PathTooLong,
    /// The certificate does not name the DNS name or IP address asked for
    /// in its subjectAltName.
    NameMismatch,
    /// The certificate (or a CA above it) is not for the purpose asked for:
    /// its extendedKeyUsage or keyUsage leaves it out.
    WrongPurpose,
    /// A certificate of the path is on its issuer's revocation list.
    Revoked,
    /// The issuer's revocation list given is not current (its nextUpdate has
    /// passed, or its thisUpdate is still to come).
    CrlOutOfDate,
    /// A subject or issuer name given as text does not parse as an RFC 4514
    /// distinguished name (`CN=agent-7,O=Acme`), is empty, or is longer
    /// than [`crate::cert::MAX_SUBJECT_LEN`].
    InvalidSubject,
    /// A subject alternative name breaks the rules of its kind
    /// ([`crate::cert::San::validate`]), or its text form has no known
    /// `dns:`, `ip:`, `uri:` or `email:` prefix.
    InvalidSubjectAltName,
    /// A TLS server certificate (usage server, or server and client) with no
    /// DNS name or IP address among its subject alternative names: TLS
    /// clients match only those, so no client would accept it.
    ServerNameMissing,
    /// A certificate would be valid after its issuer's certificate expires
    /// (or end before the issuer's starts): a certificate never outlives
    /// its issuer.
    OutlivesIssuer,
    /// A validity window (or a CRL's thisUpdate/nextUpdate) that ends
    /// before or when it starts, a length of zero days, or a time X.509
    /// cannot encode.
    InvalidValidity,
    /// A leaf's keyUsage breaks the rules of
    /// [`crate::cert::LeafKeyUsage::check_for`] (no digitalSignature;
    /// keyEncipherment for a key that is not RSA; keyAgreement for one that
    /// is not P-256), or names a usage coffer does not know.
    InvalidKeyUsage,
}

/// A signature algorithm named in a certificate or request that coffer
/// does not support ([`Error::UnsupportedAlgorithm`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlgorithmName {
    /// `md5WithRSAEncryption`.
    Md5WithRsa,
    /// `sha1WithRSAEncryption`.
    Sha1WithRsa,
    /// `sha224WithRSAEncryption`.
    Sha224WithRsa,
    /// `sha384WithRSAEncryption`.
    Sha384WithRsa,
    /// `sha512WithRSAEncryption`.
    Sha512WithRsa,
    /// RSASSA-PSS with other parameters than SHA-256, MGF1-SHA-256, 32-byte salt.
    RsaPssOtherParameters,
    /// `ecdsa-with-SHA1`.
    EcdsaWithSha1,
    /// `ecdsa-with-SHA384`.
    EcdsaWithSha384,
    /// `ecdsa-with-SHA512`.
    EcdsaWithSha512,
    /// `Ed25519`.
    Ed25519,
    /// `Ed448`.
    Ed448,
    /// Any other algorithm identifier.
    Other,
}

impl AlgorithmName {
    /// The algorithm's name as RFC 4055, RFC 5758 and RFC 8410 write it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlgorithmName::Md5WithRsa => "md5WithRSAEncryption",
            AlgorithmName::Sha1WithRsa => "sha1WithRSAEncryption",
            AlgorithmName::Sha224WithRsa => "sha224WithRSAEncryption",
            AlgorithmName::Sha384WithRsa => "sha384WithRSAEncryption",
            AlgorithmName::Sha512WithRsa => "sha512WithRSAEncryption",
            AlgorithmName::RsaPssOtherParameters => {
                "RSASSA-PSS with parameters other than SHA-256/MGF1-SHA-256/salt 32"
            }
            AlgorithmName::EcdsaWithSha1 => "ecdsa-with-SHA1",
            AlgorithmName::EcdsaWithSha384 => "ecdsa-with-SHA384",
            AlgorithmName::EcdsaWithSha512 => "ecdsa-with-SHA512",
            AlgorithmName::Ed25519 => "Ed25519",
            AlgorithmName::Ed448 => "Ed448",
            AlgorithmName::Other => "an unknown algorithm",
        }
    }
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
            Error::MalformedCertificate => f.write_str(
                "not a well-formed X.509 certificate or PKCS#10 request (DER, or PEM with the right label)",
            ),
            Error::UnsupportedAlgorithm(name) => write!(
                f,
                "signature algorithm {} is not supported: coffer verifies sha256WithRSAEncryption, \
                 RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt) and ecdsa-with-SHA256",
                name.as_str()
            ),
            Error::NoPathToTrustAnchor => f.write_str(
                "no chain to a trusted CA: no issuer among the given intermediates and trust anchors fits; \
                 pass the missing intermediate certificates",
            ),
            Error::PathTooLong => f.write_str(
                "certificate chain too long: a CA's path length constraint or the verifier's limit forbids it",
            ),
            Error::NameMismatch => {
                f.write_str("the certificate is not for this name: no subjectAltName matches the DNS name or IP asked for")
            }
            Error::Revoked => f.write_str("certificate revoked: its issuer's revocation list names its serial number"),
            Error::CrlOutOfDate => f.write_str(
                "revocation list out of date: its nextUpdate has passed (or thisUpdate is to come); fetch a current one",
            ),
            Error::WrongPurpose => f.write_str(
                "the certificate is not for this purpose: its extendedKeyUsage or keyUsage (or a CA's) leaves it out",
            ),
            Error::InvalidSubject => f.write_str(
                "invalid subject: give a distinguished name such as CN=agent-7,O=Acme \
                 (RFC 4514 attribute=value pairs separated by commas)",
            ),
            Error::InvalidSubjectAltName => f.write_str(
                "invalid subject alternative name: use dns:<host name>, ip:<address>, uri:<scheme:...> \
                 or email:<local@domain>, each valid for its kind",
            ),
            Error::ServerNameMissing => f.write_str(
                "a server certificate needs a DNS name or IP address among its subject alternative names: \
                 TLS clients match only those",
            ),
            Error::OutlivesIssuer => f.write_str(
                "the certificate would be valid outside its issuer's validity: a certificate never \
                 outlives its issuer; end it no later than the issuer's notAfter",
            ),
            Error::InvalidValidity => f.write_str(
                "invalid validity: the window must last at least one second (zero days is refused), \
                 end after it starts, and lie between 1970 and 9999",
            ),
            Error::InvalidKeyUsage => f.write_str(
                "invalid key usage: a leaf needs digitalSignature, keyEncipherment only with an RSA key and \
                 keyAgreement only with a P-256 key (names: digitalSignature, contentCommitment, \
                 keyEncipherment, keyAgreement)",
            ),
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
