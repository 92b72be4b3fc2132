//! Status codes: one `#[repr(u32)]` enum in bands, each value written out
//! and never renumbered (STYLE.md rule 10), and their messages.

use std::ffi::c_char;

use crate::boundary::ffi_boundary_value;

/// The result of every coffer function that can fail.
///
/// Values are grouped in bands and never change meaning or number; new
/// codes are only ever added:
///
/// | band | meaning |
/// | --- | --- |
/// | 0 | success |
/// | 1000–1999 | a bad argument: NULL pointer, short buffer, bad length, bad value |
/// | 2000–2999 | cryptography: decryption or verification failed, bad key, certificate checks |
/// | 3000–3999 | key state, usage policy, roles and PINs |
/// | 4000–4999 | the keystore, the store that holds it, and the audit log |
/// | 5000–5999 | internal errors, including a caught panic |
///
/// `coffer_status_message` gives a static description of each.
///
/// ## One code per condition
///
/// Each condition below gives the same code from every function that can
/// meet it (ffi/tests/status_table.rs has a test per row, named after its
/// first column). Argument checks come before any key is used or any
/// store is touched. Codes not in the table (keystore state, roles, PINs,
/// policy, the store, internal errors) have one condition each, the one
/// their value's description below gives.
///
/// | row | condition | code |
/// | --- | --- | --- |
/// | `null-pointer` | a required pointer is NULL, or an input is NULL with a nonzero length | `COFFER_ERR_NULL_POINTER` |
/// | `buffer-too-small` | a caller buffer is too small: the size needed is written to its length argument, nothing else is written | `COFFER_ERR_BUFFER_TOO_SMALL` |
/// | `nothing-given` | no recipients or unlock keys given (a count of 0) to seal or open an envelope, whole or streaming | `COFFER_ERR_INVALID_ARGUMENT` |
/// | `unusable-argument` | an argument the function cannot use: a duplicate context key; a recipient already in the envelope, or none to remove; a signature scheme of the other key type; a keystore key of a type the operation does not take; a path length out of range; a bad slot, label or name | `COFFER_ERR_INVALID_ARGUMENT` |
/// | `bad-subject` | a subject that is not an RFC 4514 distinguished name, is empty or is over 1024 bytes, for a CA, a request or a leaf, in the keystore too | `COFFER_ERR_INVALID_SUBJECT` |
/// | `bad-san` | a subject alternative name not valid for its kind (an IP address that does not parse, a DNS name with a space, a URI without a scheme, an email address without a domain), in a request or a leaf, in the keystore too | `COFFER_ERR_INVALID_SAN` |
/// | `bad-validity` | a validity of 0 days, for a CA, an intermediate or a leaf, in the keystore too | `COFFER_ERR_INVALID_VALIDITY` |
/// | `server-without-name` | a server certificate (`COFFER_LEAF_SERVER`, `COFFER_LEAF_SERVER_AND_CLIENT`) whose names (given, or the request's) hold no DNS name or IP address | `COFFER_ERR_SERVER_NAME_MISSING` |
/// | `outlives-issuer` | a certificate whose validity would end after its issuer's notAfter | `COFFER_ERR_OUTLIVES_ISSUER` |
/// | `no-path` | a certificate with no chain through the given intermediates to a given trust anchor | `COFFER_ERR_NO_PATH` |
/// | `path-too-long` | an intermediate asked of a CA whose path length is 0 (or a path length not below the CA's), in the keystore too; a path longer than a CA's path length or 8 certificates | `COFFER_ERR_PATH_TOO_LONG` |
/// | `name-mismatch` | a certificate that does not name the DNS name or IP address asked for | `COFFER_ERR_NAME_MISMATCH` |
/// | `wrong-purpose` | a certificate (or a CA above it) whose extendedKeyUsage or keyUsage leaves out the purpose asked for | `COFFER_ERR_WRONG_PURPOSE` |
/// | `revoked` | a certificate of the path listed on a revocation list its issuer signed | `COFFER_ERR_REVOKED` |
/// | `crl-out-of-date` | a revocation list of a path CA whose nextUpdate has passed | `COFFER_ERR_CRL_OUT_OF_DATE` |
/// | `unsupported-algorithm` | a request signed with an algorithm coffer does not verify (SHA-384, SHA-1, Ed25519, ...), given to be certified | `COFFER_ERR_UNSUPPORTED_ALGORITHM` |
/// | `not-a-file-path` | a file path (keystore, version-1 export, generation file) that cannot name a regular file: empty, `/`, ending in `/`, or a directory, symbolic link, FIFO or device at it; nothing is touched | `COFFER_ERR_INVALID_ARGUMENT` |
/// | `bad-length` | an input of a length the function does not take: a passphrase outside 1..=1024 bytes (keystore secret, encrypted PKCS#8 in and out); AES-KW/KWP key data; keystore material to wrap outside 1..=16384 bytes; fewer than 10 bytes for `coffer_envelope_header_len`; a key, certificate or CSR over 64 KiB; a webhook header over 1024 bytes | `COFFER_ERR_INVALID_LENGTH` |
/// | `over-a-limit` | a limit of the envelope format (FORMAT.md §5) or of a certificate: more than 16 recipients or 64 unlock keys; a key id (of a recipient, an unlock key, a recipient to remove, a keystore key) outside 1..=64 bytes; a context over 16 pairs or with a key or value too long; a chunk size outside 256..=1048576; more than 64 SANs | `COFFER_ERR_LIMIT_EXCEEDED` |
/// | `not-an-envelope` | bytes given as an envelope or envelope header that do not parse as one (FORMAT.md §4 steps 1–2: magic, version, suite, length, structure), in every envelope function, keystore ones included, before any key is tried | `COFFER_ERR_MALFORMED` |
/// | `not-a-certificate` | bytes given as a certificate or CSR that do not parse as one | `COFFER_ERR_MALFORMED` |
/// | `not-a-webhook-header` | a webhook signature header that is not `t=<digits>,v1=<64 hex digits>` | `COFFER_ERR_MALFORMED` |
/// | `not-utf8` | a text argument (a path, PEM, name, subject, SAN, webhook header) that is not UTF-8 | `COFFER_ERR_NOT_UTF8` |
/// | `unknown-value` | an enumeration argument with an unknown value, or a usage mask with an unknown bit | `COFFER_ERR_UNKNOWN_VALUE` |
/// | `stream-finished` | a chunk or a finish after a stream finished or failed | `COFFER_ERR_STREAM_FINISHED` |
/// | `does-not-open` | a well-formed envelope that does not open: a wrong key, version or context; a changed header or payload; a truncated or extended payload (FORMAT.md §4 steps 3–5) | `COFFER_ERR_DECRYPT` |
/// | `does-not-unwrap` | AES-KW or AES-KWP unwrapping fails (a wrong KEK, changed bytes, an impossible length), in the keystore too | `COFFER_ERR_DECRYPT` |
/// | `wrong-passphrase` | a wrong passphrase for encrypted PKCS#8 | `COFFER_ERR_DECRYPT` |
/// | `does-not-verify` | a signature, MAC or webhook signature that does not verify (a wrong signature, message or key; a signature of the wrong length or encoding; a webhook timestamp outside the tolerance) | `COFFER_ERR_VERIFY` |
/// | `not-a-key` | key bytes that do not hold a key of the kind and size needed: a KEK of another length, a master key not 32 bytes, PKCS#8 or SPKI that does not parse, imported material that is not a key of its type, a webhook secret outside 16..=1024 bytes | `COFFER_ERR_INVALID_KEY` |
/// | `key-policy` | an RSA key outside 2048..=4096 bits, or with e ≠ 65537 | `COFFER_ERR_KEY_POLICY` |
/// | `file-exists` | a regular file already at a path to create (a keystore, a version-1 export), or a SQLite `-wal`, `-shm` or `-journal` beside a new keystore | `COFFER_ERR_KEYSTORE_EXISTS` |
/// | `nothing-to-open` | nothing at the path of a keystore to open (no file, or no directory on the way; no file is created) | `COFFER_ERR_KEYSTORE_MISSING` |
/// | `no-directory` | a directory on the path of a new keystore that does not exist, or a database that cannot be reached (a version-1 export or generation file that cannot be written is `COFFER_ERR_STORAGE`) | `COFFER_ERR_STORE_UNAVAILABLE` |
/// | `no-session` | a session number this keystore handle does not know (never opened, or logged out) | `COFFER_ERR_NOT_LOGGED_IN` |
/// | `no-such-key` | a key handle or key id the session's tenant has no key for | `COFFER_ERR_NOT_FOUND` |
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum coffer_status {
    /// Success.
    COFFER_OK = 0,
    /// A required pointer was NULL (or NULL was given with a nonzero length).
    COFFER_ERR_NULL_POINTER = 1000,
    /// The output buffer is too small; the needed size was written to the length argument.
    COFFER_ERR_BUFFER_TOO_SMALL = 1001,
    /// An argument is not acceptable (duplicate context key, unknown recipient, wrong key type, ...).
    COFFER_ERR_INVALID_ARGUMENT = 1002,
    /// An input is shorter or longer than the operation allows.
    COFFER_ERR_INVALID_LENGTH = 1003,
    /// A documented limit was exceeded (recipients, context entries, key id length, chunk size).
    COFFER_ERR_LIMIT_EXCEEDED = 1004,
    /// Bytes that should have a structure do not parse as it: an envelope or envelope header, a
    /// certificate or CSR, a webhook signature header.
    COFFER_ERR_MALFORMED = 1005,
    /// A text argument is not valid UTF-8.
    COFFER_ERR_NOT_UTF8 = 1006,
    /// An enumeration argument (algorithm, kind, role, usage) has an unknown value.
    COFFER_ERR_UNKNOWN_VALUE = 1007,
    /// A streaming sealer or opener already finished (or failed) and takes no more chunks.
    COFFER_ERR_STREAM_FINISHED = 1008,
    /// A subject given as text is not an RFC 4514 distinguished name
    /// (`CN=agent-7,O=Acme`), is empty, or is longer than 1024 bytes.
    COFFER_ERR_INVALID_SUBJECT = 1009,
    /// A subject alternative name is not valid for its kind (a DNS name,
    /// IP address, URI with a scheme, or email address).
    COFFER_ERR_INVALID_SAN = 1010,
    /// A validity of 0 days, or a window (or a CRL's thisUpdate/nextUpdate)
    /// that ends before or when it starts.
    COFFER_ERR_INVALID_VALIDITY = 1011,
    /// Decryption or unwrapping failed: wrong key, wrong context, or modified or truncated data.
    COFFER_ERR_DECRYPT = 2000,
    /// A signature or MAC did not verify.
    COFFER_ERR_VERIFY = 2001,
    /// Key bytes or encoding do not hold a key of the expected kind and size.
    COFFER_ERR_INVALID_KEY = 2002,
    /// Encoding a key or certificate as DER or PEM failed.
    COFFER_ERR_ENCODING = 2003,
    /// The operating system's random number generator failed.
    COFFER_ERR_RNG = 2004,
    /// A certificate's validity period has ended.
    COFFER_ERR_CERT_EXPIRED = 2005,
    /// A certificate's validity period has not started.
    COFFER_ERR_CERT_NOT_YET_VALID = 2006,
    /// The issuing certificate is not a CA.
    COFFER_ERR_NOT_A_CA = 2007,
    /// The certificate was not issued by this CA.
    COFFER_ERR_ISSUER_MISMATCH = 2008,
    /// A private key does not belong to the certificate.
    COFFER_ERR_KEY_MISMATCH = 2009,
    /// A certificate carries a critical extension coffer does not process.
    COFFER_ERR_UNKNOWN_CRITICAL_EXTENSION = 2010,
    /// A certificate, request or revocation list is signed with an
    /// algorithm coffer does not verify (SHA-1, SHA-384, SHA-512, Ed25519, ...).
    COFFER_ERR_UNSUPPORTED_ALGORITHM = 2011,
    /// No chain of the given certificates leads to a trust anchor: an
    /// intermediate is missing, or the issuer is not trusted.
    COFFER_ERR_NO_PATH = 2012,
    /// The chain is longer than a CA's pathLenConstraint or the verifier's
    /// limit allows, or an intermediate was asked to have a path length
    /// its issuer does not allow.
    COFFER_ERR_PATH_TOO_LONG = 2013,
    /// The certificate does not name the DNS name or IP address asked for.
    COFFER_ERR_NAME_MISMATCH = 2014,
    /// The certificate (or a CA above it) is not for the purpose asked
    /// for: its extendedKeyUsage or keyUsage leaves it out.
    COFFER_ERR_WRONG_PURPOSE = 2015,
    /// A certificate of the path is on its issuer's revocation list.
    COFFER_ERR_REVOKED = 2016,
    /// A revocation list given is not current (its nextUpdate has passed,
    /// or its thisUpdate is to come).
    COFFER_ERR_CRL_OUT_OF_DATE = 2017,
    /// A server certificate without a DNS name or IP address among its
    /// subject alternative names.
    COFFER_ERR_SERVER_NAME_MISSING = 2018,
    /// A certificate would be valid after its issuer's certificate expires
    /// (or end before it starts): refused, never shortened.
    COFFER_ERR_OUTLIVES_ISSUER = 2019,
    /// The key is refused by policy (RSA: 2048 to 4096 bits, exponent 65537).
    COFFER_ERR_KEY_POLICY = 3000,
    /// No session with that number, or not logged in with a role that may do this.
    COFFER_ERR_NOT_LOGGED_IN = 3001,
    /// The session's role may not perform this operation.
    COFFER_ERR_ROLE_NOT_ALLOWED = 3002,
    /// Wrong PIN.
    COFFER_ERR_PIN_INCORRECT = 3003,
    /// The credential is locked after too many wrong PINs: the security officer unblocks it.
    COFFER_ERR_PIN_LOCKED = 3004,
    /// A new PIN is shorter or longer than allowed.
    COFFER_ERR_PIN_POLICY = 3005,
    /// No such key, tenant or user.
    COFFER_ERR_NOT_FOUND = 3006,
    /// The key's usage policy does not allow this operation.
    COFFER_ERR_POLICY_DENIED = 3007,
    /// The key's lifecycle state does not allow this operation.
    COFFER_ERR_KEY_STATE = 3008,
    /// The key is not extractable.
    COFFER_ERR_NOT_EXTRACTABLE = 3009,
    /// The token is not initialized, or already is.
    COFFER_ERR_TOKEN_STATE = 3010,
    /// A fixed capacity was reached (slots, keys, versions, audit records).
    COFFER_ERR_CAPACITY = 3011,
    /// The audit log is full for this operation: an auditor must archive it before keys can be used again.
    COFFER_ERR_AUDIT_FULL = 3012,
    /// The key belongs to another tenant than the session's, or the credential is not bound to the tenant asked for.
    COFFER_ERR_TENANT_NOT_ALLOWED = 3013,
    /// The key's expiry has passed: it makes nothing new (it still opens, unwraps and verifies).
    COFFER_ERR_KEY_EXPIRED = 3014,
    /// The name is already taken (a tenant or a user).
    COFFER_ERR_ALREADY_EXISTS = 3015,
    /// The keystore does not open: wrong passphrase or master key, or it was modified.
    COFFER_ERR_KEYSTORE_AUTH = 4000,
    /// The keystore's records (or a generation file) are truncated or malformed; they were not changed.
    COFFER_ERR_KEYSTORE_CORRUPT = 4001,
    /// The keystore is older than the minimum generation given or its generation file: a rollback.
    COFFER_ERR_KEYSTORE_ROLLBACK = 4002,
    /// Reading or writing a file (a version-1 export, a generation file) failed; the file holds
    /// its complete old or new content.
    COFFER_ERR_STORAGE = 4003,
    /// The audit log does not verify: a record was changed, removed, reordered or inserted.
    COFFER_ERR_AUDIT_TAMPERED = 4004,
    /// A keystore (or another regular file) already exists at that path, or the database already
    /// holds one; open it instead of creating one.
    COFFER_ERR_KEYSTORE_EXISTS = 4005,
    /// No keystore at that path, or the database holds none; create one instead of opening it.
    COFFER_ERR_KEYSTORE_MISSING = 4006,
    /// The store's disk or quota is full: nothing of this change was written, every earlier
    /// change is kept. Free space and retry.
    COFFER_ERR_STORE_NO_SPACE = 4007,
    /// The store stayed busy with other writers (or the database aborted the transaction to
    /// resolve a conflict) through every retry; nothing was written. Retry.
    COFFER_ERR_STORE_BUSY = 4008,
    /// The store could not be opened or reached: no such directory, a file that stopped being a
    /// regular file during the call, connection refused, or login failed.
    COFFER_ERR_STORE_UNAVAILABLE = 4009,
    /// The store cannot be written: a read-only file, directory, file system or database, or
    /// missing permissions.
    COFFER_ERR_STORE_READ_ONLY = 4010,
    /// The database is not a coffer store (another SQLite database, or not one at all) or is damaged.
    COFFER_ERR_STORE_CORRUPT = 4011,
    /// Another I/O or database failure of the store; nothing of this change was written.
    COFFER_ERR_STORE_IO = 4012,
    /// A record would exceed the store's size limit for one key or value.
    COFFER_ERR_STORE_TOO_LARGE = 4013,
    /// A Rust panic was caught at the boundary; the operation did not complete.
    COFFER_ERR_PANIC = 5000,
    /// An internal error not caused by the input; retry, and report it if it persists.
    COFFER_ERR_INTERNAL = 5001,
    /// An earlier call panicked while using this keystore; free it and open the file again.
    COFFER_ERR_POISONED = 5002,
    /// An error this version of the C API has no code for yet.
    COFFER_ERR_UNKNOWN = 5003,
}

pub use coffer_status::*;

/// The result type used inside the crate: the error side is a status.
pub(crate) type FfiResult<T> = Result<T, coffer_status>;

impl coffer_status {
    /// The static, NUL-terminated message for this status.
    pub(crate) fn message(self) -> &'static std::ffi::CStr {
        match self {
            COFFER_OK => c"success",
            COFFER_ERR_NULL_POINTER => c"a required pointer was NULL (or NULL with a nonzero length)",
            COFFER_ERR_BUFFER_TOO_SMALL => {
                c"output buffer too small: the needed size was written to the length argument"
            }
            COFFER_ERR_INVALID_ARGUMENT => c"invalid argument: check the function's documented requirements",
            COFFER_ERR_INVALID_LENGTH => c"input length out of range for this operation",
            COFFER_ERR_LIMIT_EXCEEDED => {
                c"a documented limit was exceeded (recipients, context, key id, chunk)"
            }
            COFFER_ERR_MALFORMED => {
                c"malformed input: the bytes do not parse as what the function reads (an envelope, a certificate or CSR, a webhook signature header)"
            }
            COFFER_ERR_NOT_UTF8 => c"a text argument is not valid UTF-8",
            COFFER_ERR_UNKNOWN_VALUE => c"an enumeration argument has an unknown value",
            COFFER_ERR_STREAM_FINISHED => c"the stream already finished or failed and takes no more chunks",
            COFFER_ERR_INVALID_SUBJECT => {
                c"invalid subject: give a distinguished name such as CN=agent-7,O=Acme (at most 1024 bytes)"
            }
            COFFER_ERR_INVALID_SAN => {
                c"invalid subject alternative name: not a valid DNS name, IP address, URI or email address"
            }
            COFFER_ERR_INVALID_VALIDITY => {
                c"invalid validity: 0 days, or a window that ends before or when it starts"
            }
            COFFER_ERR_DECRYPT => {
                c"decryption failed: wrong key or context, or the data was modified or truncated"
            }
            COFFER_ERR_VERIFY => c"verification failed: the signature or MAC does not match",
            COFFER_ERR_INVALID_KEY => {
                c"invalid key: the bytes do not hold a key of the expected kind and size"
            }
            COFFER_ERR_ENCODING => c"encoding as DER or PEM failed",
            COFFER_ERR_RNG => c"the operating system's random number generator failed",
            COFFER_ERR_CERT_EXPIRED => c"certificate expired",
            COFFER_ERR_CERT_NOT_YET_VALID => c"certificate not yet valid",
            COFFER_ERR_NOT_A_CA => c"the issuing certificate is not a CA",
            COFFER_ERR_ISSUER_MISMATCH => c"the certificate was not issued by this CA",
            COFFER_ERR_KEY_MISMATCH => c"the private key does not belong to the certificate",
            COFFER_ERR_UNKNOWN_CRITICAL_EXTENSION => {
                c"certificate has a critical extension coffer does not process"
            }
            COFFER_ERR_UNSUPPORTED_ALGORITHM => {
                c"the signature algorithm is not supported: coffer verifies SHA-256 with RSA (PKCS#1 v1.5, PSS) and ECDSA P-256"
            }
            COFFER_ERR_NO_PATH => {
                c"no chain to a trusted CA: pass the missing intermediates, or trust the issuing CA"
            }
            COFFER_ERR_PATH_TOO_LONG => {
                c"certificate chain too long: a CA's path length constraint or the verifier's limit forbids it"
            }
            COFFER_ERR_NAME_MISMATCH => {
                c"the certificate does not name the DNS name or IP address asked for"
            }
            COFFER_ERR_WRONG_PURPOSE => {
                c"the certificate is not for this purpose: its extendedKeyUsage or keyUsage (or a CA's) leaves it out"
            }
            COFFER_ERR_REVOKED => c"certificate revoked: its issuer's revocation list names its serial number",
            COFFER_ERR_CRL_OUT_OF_DATE => {
                c"revocation list out of date: its nextUpdate has passed; fetch a current one"
            }
            COFFER_ERR_SERVER_NAME_MISSING => {
                c"a server certificate needs a DNS name or IP address among its subject alternative names"
            }
            COFFER_ERR_OUTLIVES_ISSUER => {
                c"the certificate would outlive its issuer: end it no later than the issuer's notAfter"
            }
            COFFER_ERR_KEY_POLICY => {
                c"key refused by policy: RSA keys must be 2048 to 4096 bits with exponent 65537"
            }
            COFFER_ERR_NOT_LOGGED_IN => {
                c"not logged in: no such session, or log in with a role that may do this"
            }
            COFFER_ERR_ROLE_NOT_ALLOWED => c"this role may not perform this operation",
            COFFER_ERR_PIN_INCORRECT => c"incorrect PIN",
            COFFER_ERR_PIN_LOCKED => {
                c"PIN locked after too many failures: the security officer must unblock it"
            }
            COFFER_ERR_PIN_POLICY => c"PIN refused: use 6 to 64 bytes",
            COFFER_ERR_NOT_FOUND => c"no such key, tenant or user",
            COFFER_ERR_TENANT_NOT_ALLOWED => {
                c"not allowed in this tenant: the key belongs to another tenant, or the credential is not bound to this one"
            }
            COFFER_ERR_KEY_EXPIRED => c"the key has expired: rotate it or set a later expiry",
            COFFER_ERR_ALREADY_EXISTS => c"the name is already taken",
            COFFER_ERR_POLICY_DENIED => c"the key's usage policy does not allow this operation",
            COFFER_ERR_KEY_STATE => c"the key's lifecycle state does not allow this operation",
            COFFER_ERR_NOT_EXTRACTABLE => c"the key is not extractable",
            COFFER_ERR_TOKEN_STATE => {
                c"token state does not allow this: initialize it first, or it already is"
            }
            COFFER_ERR_CAPACITY => {
                c"capacity reached: no room for more slots, keys, versions or audit records"
            }
            COFFER_ERR_AUDIT_FULL => {
                c"audit log full: an auditor must log in and archive it before keys can be used again"
            }
            COFFER_ERR_KEYSTORE_AUTH => {
                c"keystore does not open: wrong passphrase or master key, or it was modified"
            }
            COFFER_ERR_KEYSTORE_CORRUPT => {
                c"keystore records or generation file truncated or malformed; nothing was changed"
            }
            COFFER_ERR_KEYSTORE_ROLLBACK => {
                c"keystore is older than the given minimum generation or its generation file: it may have been rolled back"
            }
            COFFER_ERR_STORAGE => c"file I/O failed; the file holds its complete old or new content",
            COFFER_ERR_AUDIT_TAMPERED => c"audit log tampered: a record does not verify",
            COFFER_ERR_KEYSTORE_EXISTS => {
                c"a keystore or another file already exists at this path (or in this database): open it instead"
            }
            COFFER_ERR_KEYSTORE_MISSING => c"no keystore at this path or in this database: create one instead",
            COFFER_ERR_STORE_NO_SPACE => {
                c"no space left on device: nothing of this change was written and every earlier change is kept; free space and retry"
            }
            COFFER_ERR_STORE_BUSY => c"the store stayed busy with other writers; nothing was written: retry",
            COFFER_ERR_STORE_UNAVAILABLE => {
                c"the store could not be opened or reached: check its path (a regular file in an existing directory) or URL and credentials"
            }
            COFFER_ERR_STORE_READ_ONLY => {
                c"the store is read-only: check the permissions of the database and its directory"
            }
            COFFER_ERR_STORE_CORRUPT => {
                c"the database is not a coffer store or is damaged: restore it from a backup"
            }
            COFFER_ERR_STORE_IO => c"the store failed to read or write; nothing of this change was written",
            COFFER_ERR_STORE_TOO_LARGE => c"a record is too large for the store",
            COFFER_ERR_PANIC => c"internal panic caught at the C boundary; the operation did not complete",
            COFFER_ERR_INTERNAL => c"internal error: retry, and report it if it persists",
            COFFER_ERR_POISONED => c"an earlier call panicked while using this keystore: free it and reopen",
            COFFER_ERR_UNKNOWN => c"an error this version of the C API has no code for",
        }
    }

    /// Every status, for the message lookup and the tests.
    pub(crate) const ALL: &[coffer_status] = &[
        COFFER_OK,
        COFFER_ERR_NULL_POINTER,
        COFFER_ERR_BUFFER_TOO_SMALL,
        COFFER_ERR_INVALID_ARGUMENT,
        COFFER_ERR_INVALID_LENGTH,
        COFFER_ERR_LIMIT_EXCEEDED,
        COFFER_ERR_MALFORMED,
        COFFER_ERR_NOT_UTF8,
        COFFER_ERR_UNKNOWN_VALUE,
        COFFER_ERR_STREAM_FINISHED,
        COFFER_ERR_INVALID_SUBJECT,
        COFFER_ERR_INVALID_SAN,
        COFFER_ERR_INVALID_VALIDITY,
        COFFER_ERR_DECRYPT,
        COFFER_ERR_VERIFY,
        COFFER_ERR_INVALID_KEY,
        COFFER_ERR_ENCODING,
        COFFER_ERR_RNG,
        COFFER_ERR_CERT_EXPIRED,
        COFFER_ERR_CERT_NOT_YET_VALID,
        COFFER_ERR_NOT_A_CA,
        COFFER_ERR_ISSUER_MISMATCH,
        COFFER_ERR_KEY_MISMATCH,
        COFFER_ERR_UNKNOWN_CRITICAL_EXTENSION,
        COFFER_ERR_UNSUPPORTED_ALGORITHM,
        COFFER_ERR_NO_PATH,
        COFFER_ERR_PATH_TOO_LONG,
        COFFER_ERR_NAME_MISMATCH,
        COFFER_ERR_WRONG_PURPOSE,
        COFFER_ERR_REVOKED,
        COFFER_ERR_CRL_OUT_OF_DATE,
        COFFER_ERR_SERVER_NAME_MISSING,
        COFFER_ERR_OUTLIVES_ISSUER,
        COFFER_ERR_KEY_POLICY,
        COFFER_ERR_NOT_LOGGED_IN,
        COFFER_ERR_ROLE_NOT_ALLOWED,
        COFFER_ERR_PIN_INCORRECT,
        COFFER_ERR_PIN_LOCKED,
        COFFER_ERR_PIN_POLICY,
        COFFER_ERR_NOT_FOUND,
        COFFER_ERR_POLICY_DENIED,
        COFFER_ERR_KEY_STATE,
        COFFER_ERR_NOT_EXTRACTABLE,
        COFFER_ERR_TOKEN_STATE,
        COFFER_ERR_CAPACITY,
        COFFER_ERR_AUDIT_FULL,
        COFFER_ERR_TENANT_NOT_ALLOWED,
        COFFER_ERR_KEY_EXPIRED,
        COFFER_ERR_ALREADY_EXISTS,
        COFFER_ERR_KEYSTORE_AUTH,
        COFFER_ERR_KEYSTORE_CORRUPT,
        COFFER_ERR_KEYSTORE_ROLLBACK,
        COFFER_ERR_STORAGE,
        COFFER_ERR_AUDIT_TAMPERED,
        COFFER_ERR_KEYSTORE_EXISTS,
        COFFER_ERR_KEYSTORE_MISSING,
        COFFER_ERR_STORE_NO_SPACE,
        COFFER_ERR_STORE_BUSY,
        COFFER_ERR_STORE_UNAVAILABLE,
        COFFER_ERR_STORE_READ_ONLY,
        COFFER_ERR_STORE_CORRUPT,
        COFFER_ERR_STORE_IO,
        COFFER_ERR_STORE_TOO_LARGE,
        COFFER_ERR_PANIC,
        COFFER_ERR_INTERNAL,
        COFFER_ERR_POISONED,
        COFFER_ERR_UNKNOWN,
    ];
}

impl From<coffer_core::Error> for coffer_status {
    fn from(e: coffer_core::Error) -> Self {
        use coffer_core::Error as E;
        match e {
            E::Decrypt => COFFER_ERR_DECRYPT,
            E::Verify => COFFER_ERR_VERIFY,
            E::InvalidKey => COFFER_ERR_INVALID_KEY,
            E::KeyPolicy => COFFER_ERR_KEY_POLICY,
            E::InvalidLength => COFFER_ERR_INVALID_LENGTH,
            E::BufferTooSmall { .. } => COFFER_ERR_BUFFER_TOO_SMALL,
            E::Encoding => COFFER_ERR_ENCODING,
            E::Rng => COFFER_ERR_RNG,
            E::CertificateExpired => COFFER_ERR_CERT_EXPIRED,
            E::CertificateNotYetValid => COFFER_ERR_CERT_NOT_YET_VALID,
            E::NotACa => COFFER_ERR_NOT_A_CA,
            E::IssuerMismatch => COFFER_ERR_ISSUER_MISMATCH,
            E::KeyMismatch => COFFER_ERR_KEY_MISMATCH,
            E::UnknownCriticalExtension => COFFER_ERR_UNKNOWN_CRITICAL_EXTENSION,
            E::Malformed | E::MalformedCertificate => COFFER_ERR_MALFORMED,
            E::LimitExceeded => COFFER_ERR_LIMIT_EXCEEDED,
            E::InvalidInput => COFFER_ERR_INVALID_ARGUMENT,
            E::Internal => COFFER_ERR_INTERNAL,
            E::UnsupportedAlgorithm(_) => COFFER_ERR_UNSUPPORTED_ALGORITHM,
            E::NoPathToTrustAnchor => COFFER_ERR_NO_PATH,
            E::PathTooLong => COFFER_ERR_PATH_TOO_LONG,
            E::NameMismatch => COFFER_ERR_NAME_MISMATCH,
            E::WrongPurpose => COFFER_ERR_WRONG_PURPOSE,
            E::Revoked => COFFER_ERR_REVOKED,
            E::CrlOutOfDate => COFFER_ERR_CRL_OUT_OF_DATE,
            E::InvalidSubject => COFFER_ERR_INVALID_SUBJECT,
            E::InvalidSubjectAltName => COFFER_ERR_INVALID_SAN,
            E::ServerNameMissing => COFFER_ERR_SERVER_NAME_MISSING,
            E::OutlivesIssuer => COFFER_ERR_OUTLIVES_ISSUER,
            E::InvalidValidity => COFFER_ERR_INVALID_VALIDITY,
            // The C API takes no keyUsage (leaves get the default for their
            // key), so this cannot occur through it.
            E::InvalidKeyUsage => COFFER_ERR_INVALID_ARGUMENT,
            // `coffer_core::Error` is non-exhaustive: a newer variant gets a
            // generic code until it is given its own.
            _ => COFFER_ERR_UNKNOWN,
        }
    }
}

impl From<coffer_hsm::Error> for coffer_status {
    fn from(e: coffer_hsm::Error) -> Self {
        use coffer_hsm::Error as E;
        match e {
            E::NotLoggedIn => COFFER_ERR_NOT_LOGGED_IN,
            E::RoleNotAllowed => COFFER_ERR_ROLE_NOT_ALLOWED,
            E::PinIncorrect => COFFER_ERR_PIN_INCORRECT,
            E::PinLocked => COFFER_ERR_PIN_LOCKED,
            E::PinPolicy => COFFER_ERR_PIN_POLICY,
            E::NotFound => COFFER_ERR_NOT_FOUND,
            E::TenantNotAllowed => COFFER_ERR_TENANT_NOT_ALLOWED,
            E::KeyExpired => COFFER_ERR_KEY_EXPIRED,
            E::AlreadyExists => COFFER_ERR_ALREADY_EXISTS,
            E::PolicyDenied => COFFER_ERR_POLICY_DENIED,
            E::KeyState => COFFER_ERR_KEY_STATE,
            E::NotExtractable => COFFER_ERR_NOT_EXTRACTABLE,
            E::Capacity => COFFER_ERR_CAPACITY,
            E::AuditFull => COFFER_ERR_AUDIT_FULL,
            E::InvalidInput => COFFER_ERR_INVALID_ARGUMENT,
            E::TokenState => COFFER_ERR_TOKEN_STATE,
            E::KeystoreAuth => COFFER_ERR_KEYSTORE_AUTH,
            E::KeystoreCorrupt => COFFER_ERR_KEYSTORE_CORRUPT,
            E::KeystoreRollback => COFFER_ERR_KEYSTORE_ROLLBACK,
            E::Storage => COFFER_ERR_STORAGE,
            E::AuditTampered { .. } => COFFER_ERR_AUDIT_TAMPERED,
            E::Crypto(c) => c.into(),
            E::Store(s) => s.into(),
            // `coffer_hsm::Error` is non-exhaustive.
            _ => COFFER_ERR_UNKNOWN,
        }
    }
}

impl From<coffer_hsm::StoreError> for coffer_status {
    fn from(e: coffer_hsm::StoreError) -> Self {
        use coffer_hsm::StoreError as E;
        match e {
            E::NoSpace => COFFER_ERR_STORE_NO_SPACE,
            E::Conflict => COFFER_ERR_STORE_BUSY,
            E::Unavailable => COFFER_ERR_STORE_UNAVAILABLE,
            E::ReadOnly => COFFER_ERR_STORE_READ_ONLY,
            E::Corrupt => COFFER_ERR_STORE_CORRUPT,
            E::Io => COFFER_ERR_STORE_IO,
            E::TooLarge => COFFER_ERR_STORE_TOO_LARGE,
            // `StoreError` is non-exhaustive.
            _ => COFFER_ERR_UNKNOWN,
        }
    }
}

/// A static, NUL-terminated English description of `status`, never NULL.
/// An unknown value gives "unknown status code". The string must not be freed.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_status_message(status: u32) -> *const c_char {
    let unknown = c"unknown status code".as_ptr();
    ffi_boundary_value(unknown, || {
        let found = coffer_status::ALL.iter().find(|s| **s as u32 == status);
        found.map_or(unknown, |s| s.message().as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_in_its_band_and_numbered_once() {
        let mut seen = std::collections::BTreeSet::new();
        for s in coffer_status::ALL {
            let v = *s as u32;
            assert!(seen.insert(v), "{s:?} reuses {v}");
            assert!(v == 0 || (1000..6000).contains(&v), "{s:?} = {v} is outside the bands");
        }
        assert_eq!(seen.len(), coffer_status::ALL.len());
    }

    #[test]
    fn every_status_has_its_own_message() {
        let mut seen = std::collections::BTreeSet::new();
        for s in coffer_status::ALL {
            assert!(seen.insert(s.message()), "{s:?} shares its message");
        }
    }

    #[test]
    fn core_and_hsm_errors_map_to_their_codes() {
        assert_eq!(coffer_status::from(coffer_core::Error::Decrypt), COFFER_ERR_DECRYPT);
        assert_eq!(
            coffer_status::from(coffer_core::Error::BufferTooSmall { needed: 3 }),
            COFFER_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(coffer_status::from(coffer_hsm::Error::PinLocked), COFFER_ERR_PIN_LOCKED);
        assert_eq!(
            coffer_status::from(coffer_hsm::Error::Crypto(coffer_core::Error::Verify)),
            COFFER_ERR_VERIFY
        );
        assert_eq!(
            coffer_status::from(coffer_hsm::Error::AuditTampered { index: 4 }),
            COFFER_ERR_AUDIT_TAMPERED
        );
    }

    #[test]
    fn store_errors_map_to_their_own_storage_codes() {
        use coffer_hsm::StoreError as S;
        let cases = [
            (S::NoSpace, COFFER_ERR_STORE_NO_SPACE, 4007),
            (S::Conflict, COFFER_ERR_STORE_BUSY, 4008),
            (S::Unavailable, COFFER_ERR_STORE_UNAVAILABLE, 4009),
            (S::ReadOnly, COFFER_ERR_STORE_READ_ONLY, 4010),
            (S::Corrupt, COFFER_ERR_STORE_CORRUPT, 4011),
            (S::Io, COFFER_ERR_STORE_IO, 4012),
            (S::TooLarge, COFFER_ERR_STORE_TOO_LARGE, 4013),
        ];
        for (e, status, value) in cases {
            assert_eq!(coffer_status::from(coffer_hsm::Error::Store(e)), status, "{e:?}");
            assert_eq!(status as u32, value, "{status:?} was renumbered");
        }
    }

    #[test]
    fn the_no_space_message_says_no_space_left_on_device() {
        let message = COFFER_ERR_STORE_NO_SPACE.message().to_str().unwrap_or_default();
        assert!(message.starts_with("no space left on device"), "{message}");
    }
}
