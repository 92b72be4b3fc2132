//! The events of the audit log and their canonical encoding (module
//! docs of [`crate::audit`], § Format).

use alloc::string::String;
use alloc::vec::Vec;

use super::MAX_FIELD_LEN;
use crate::error::{Error, Result};
use crate::role::Role;
use crate::wire::Reader;

/// Most tenants one credential may act in, and one [`AuditEvent::UserCreated`] lists.
pub const MAX_TENANTS_PER_USER: usize = 16;

/// Longest subject and name in an [`AuditEvent::CertificateSigned`], in
/// bytes (coffer-core's `cert::MAX_SUBJECT_LEN`).
pub const MAX_CERT_TEXT_LEN: usize = 1024;
/// Most names an [`AuditEvent::CertificateSigned`] lists: a certificate's
/// subject alternative names (at most coffer-core's `cert::MAX_SANS`) or a
/// revocation list's revoked serials (at most `cert::MAX_CRL_ENTRIES`).
pub const MAX_CERT_NAMES: usize = 4096;
/// Longest serial number an [`AuditEvent::CertificateSigned`] holds (RFC 5280 §4.1.2.2).
pub const MAX_SERIAL_LEN: usize = 20;

/// What a key signed ([`AuditEvent::CertificateSigned`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignedObject {
    /// An X.509 certificate (a CA's own, an intermediate's or a leaf).
    Certificate,
    /// A PKCS#10 certificate request for the signing key itself.
    Request,
    /// A certificate revocation list.
    RevocationList,
}

impl SignedObject {
    fn code(self) -> u8 {
        match self {
            SignedObject::Certificate => 0x01,
            SignedObject::Request => 0x02,
            SignedObject::RevocationList => 0x03,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            0x01 => Some(SignedObject::Certificate),
            0x02 => Some(SignedObject::Request),
            0x03 => Some(SignedObject::RevocationList),
            _ => None,
        }
    }

    /// Its name in `coffer audit show` (`"certificate"`, `"request"`).
    pub fn name(self) -> &'static str {
        match self {
            SignedObject::Certificate => "certificate",
            SignedObject::Request => "request",
            SignedObject::RevocationList => "revocation list",
        }
    }
}

/// The operation a key was used for (or refused for).
///
/// ```
/// use coffer_hsm::audit::{AuditEvent, KeyRef, Operation};
///
/// let key = KeyRef { tenant: "acme".into(), key_id: "exports".into(), version: 1, handle: 3 };
/// let event = AuditEvent::PolicyDenied { key, operation: Operation::Export };
/// assert!(matches!(event, AuditEvent::PolicyDenied { operation: Operation::Export, .. }));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Raw encryption.
    Encrypt,
    /// Raw decryption.
    Decrypt,
    /// Wrapping another key.
    Wrap,
    /// Unwrapping another key.
    Unwrap,
    /// A signature.
    Sign,
    /// A signature or MAC verification.
    Verify,
    /// A key derivation.
    Derive,
    /// A MAC computation.
    Mac,
    /// Sealing an envelope.
    Seal,
    /// Opening an envelope.
    Open,
    /// Re-wrapping an envelope's data key to a new key version.
    Rewrap,
    /// Exporting a key (wrapped).
    Export,
    /// Logging in.
    Login,
    /// Reading a key's attributes or looking it up by id.
    Show,
    /// Listing keys, tenants or users.
    List,
    /// Generating a key.
    Generate,
    /// Importing a key.
    Import,
    /// Adding a key version.
    Rotate,
    /// Changing a key's lifecycle state.
    SetState,
    /// Setting or clearing a key's expiry.
    SetExpiry,
    /// Destroying a key.
    Destroy,
    /// Crypto-shredding a tenant.
    Shred,
    /// Tenant, user, PIN or passphrase administration.
    Administer,
    /// Reading, verifying or archiving the audit log.
    ReadAudit,
}

/// Each operation's code (never reused or renumbered) and its name in
/// `coffer audit show` and its JSON.
const OPERATIONS: [(Operation, u8, &str); 24] = [
    (Operation::Encrypt, 0x01, "encrypt"),
    (Operation::Decrypt, 0x02, "decrypt"),
    (Operation::Wrap, 0x03, "wrap"),
    (Operation::Unwrap, 0x04, "unwrap"),
    (Operation::Sign, 0x05, "sign"),
    (Operation::Verify, 0x06, "verify"),
    (Operation::Derive, 0x07, "derive"),
    (Operation::Mac, 0x08, "mac"),
    (Operation::Seal, 0x09, "seal"),
    (Operation::Open, 0x0a, "open"),
    (Operation::Rewrap, 0x0b, "rewrap"),
    (Operation::Export, 0x0c, "export"),
    (Operation::Login, 0x0d, "login"),
    (Operation::Show, 0x0e, "show"),
    (Operation::List, 0x0f, "list"),
    (Operation::Generate, 0x10, "generate"),
    (Operation::Import, 0x11, "import"),
    (Operation::Rotate, 0x12, "rotate"),
    (Operation::SetState, 0x13, "set-state"),
    (Operation::SetExpiry, 0x14, "set-expiry"),
    (Operation::Destroy, 0x15, "destroy"),
    (Operation::Shred, 0x16, "shred"),
    (Operation::Administer, 0x17, "administer"),
    (Operation::ReadAudit, 0x18, "read-audit"),
];

impl Operation {
    fn code(self) -> u8 {
        OPERATIONS.iter().find(|(o, _, _)| *o == self).map_or(0, |(_, c, _)| *c)
    }

    fn from_code(code: u8) -> Option<Self> {
        OPERATIONS.iter().find(|(_, c, _)| *c == code).map(|(o, _, _)| *o)
    }

    /// The operation's name, as `coffer audit show` prints it (`"open"`, `"set-state"`).
    pub fn name(self) -> &'static str {
        OPERATIONS.iter().find(|(o, _, _)| *o == self).map_or("?", |(_, _, n)| n)
    }
}

/// Why an attempt was refused ([`AuditEvent::Refused`]).
///
/// ```
/// use coffer_hsm::audit::Refusal;
///
/// assert_eq!(Refusal::OtherTenant.name(), "other-tenant");
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The PIN was wrong.
    WrongPin,
    /// The credential is locked after too many wrong PINs.
    PinLocked,
    /// No credential has this user name.
    UnknownUser,
    /// The session's role may not do this.
    WrongRole,
    /// The key belongs to another tenant than the session's.
    OtherTenant,
    /// The credential is not bound to the tenant asked for at login.
    NotInTenant,
    /// The key's usage policy does not allow the operation.
    UsageNotAllowed,
    /// The key's lifecycle state does not allow the operation.
    WrongState,
    /// The key's expiry has passed.
    Expired,
}

const REFUSALS: [(Refusal, u8, &str); 9] = [
    (Refusal::WrongPin, 0x01, "wrong-pin"),
    (Refusal::PinLocked, 0x02, "pin-locked"),
    (Refusal::UnknownUser, 0x03, "unknown-user"),
    (Refusal::WrongRole, 0x04, "wrong-role"),
    (Refusal::OtherTenant, 0x05, "other-tenant"),
    (Refusal::NotInTenant, 0x06, "not-in-tenant"),
    (Refusal::UsageNotAllowed, 0x07, "usage-not-allowed"),
    (Refusal::WrongState, 0x08, "wrong-state"),
    (Refusal::Expired, 0x09, "expired"),
];

impl Refusal {
    fn code(self) -> u8 {
        REFUSALS.iter().find(|(r, _, _)| *r == self).map_or(0, |(_, c, _)| *c)
    }

    fn from_code(code: u8) -> Option<Self> {
        REFUSALS.iter().find(|(_, c, _)| *c == code).map(|(r, _, _)| *r)
    }

    /// The reason's name, as `coffer audit show` prints it (`"wrong-pin"`).
    pub fn name(self) -> &'static str {
        REFUSALS.iter().find(|(r, _, _)| *r == self).map_or("?", |(_, _, n)| n)
    }
}

/// Who did or tried something: a credential's user name and its role.
/// The security officer's user name is [`Actor::SECURITY_OFFICER`].
///
/// ```
/// use coffer_hsm::audit::Actor;
/// use coffer_hsm::Role;
///
/// let who = Actor { user: "alice".into(), role: Role::User };
/// assert_eq!(who.to_string(), "alice (user)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Actor {
    /// The user name (at most [`MAX_FIELD_LEN`] bytes).
    pub user: String,
    /// The credential's role.
    pub role: Role,
}

impl Actor {
    /// The user name under which the security officer appears.
    pub const SECURITY_OFFICER: &'static str = "so";
}

impl core::fmt::Display for Actor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({})", self.user, self.role.name())
    }
}

/// A key's lifecycle state, as logged by [`AuditEvent::KeyStateChanged`].
///
/// ```
/// use coffer_hsm::audit::{AuditEvent, KeyRef, KeyStateName};
///
/// let key = KeyRef { tenant: "acme".into(), key_id: "old".into(), version: 4, handle: 9 };
/// let event = AuditEvent::KeyStateChanged { key, state: KeyStateName::Deactivated };
/// assert!(format!("{event:?}").ends_with("state: Deactivated }"));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyStateName {
    /// Created, not yet usable.
    PreActive,
    /// Usable as its policy allows.
    Active,
    /// Only for processing existing data.
    Deactivated,
    /// Key material destroyed.
    Destroyed,
}

impl KeyStateName {
    fn code(self) -> u8 {
        match self {
            KeyStateName::PreActive => 0x01,
            KeyStateName::Active => 0x02,
            KeyStateName::Deactivated => 0x03,
            KeyStateName::Destroyed => 0x04,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            0x01 => Some(KeyStateName::PreActive),
            0x02 => Some(KeyStateName::Active),
            0x03 => Some(KeyStateName::Deactivated),
            0x04 => Some(KeyStateName::Destroyed),
            _ => None,
        }
    }
}

/// Which key an event is about: names and numbers only, never material.
///
/// `tenant` and `key_id` are at most [`MAX_FIELD_LEN`] bytes each.
///
/// ```
/// use coffer_hsm::audit::KeyRef;
///
/// let key = KeyRef { tenant: "acme".into(), key_id: "invoices".into(), version: 2, handle: 7 };
/// assert_eq!(key.version, 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyRef {
    /// The tenant owning the key.
    pub tenant: String,
    /// The key's id within its tenant.
    pub key_id: String,
    /// The key's current version when the event happened.
    pub version: u32,
    /// The key's handle in its token.
    pub handle: u64,
}

/// What happened. No variant has a field for key material, a PIN or any
/// other secret, and none may get one: records are not secret.
///
/// ```
/// use coffer_hsm::audit::{AuditEvent, KeyRef, Operation};
///
/// let key = KeyRef { tenant: "acme".into(), key_id: "invoices".into(), version: 1, handle: 7 };
/// let event = AuditEvent::KeyUsed { key, operation: Operation::Seal };
/// assert!(format!("{event:?}").starts_with("KeyUsed"));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AuditEvent {
    /// A login with the right PIN.
    LoginSucceeded {
        /// The role logged in.
        role: Role,
    },
    /// A login with a wrong PIN.
    LoginFailed {
        /// The role tried.
        role: Role,
    },
    /// A role locked after too many wrong PINs.
    PinLocked {
        /// The role locked.
        role: Role,
    },
    /// A locked role's PIN reset by the security officer.
    PinUnblocked {
        /// The role unblocked.
        role: Role,
    },
    /// A PIN set or changed.
    PinChanged {
        /// The role whose PIN changed.
        role: Role,
    },
    /// The token initialized (the first record of its log).
    TokenInitialized,
    /// A key generated.
    KeyCreated {
        /// The new key.
        key: KeyRef,
    },
    /// A key imported.
    KeyImported {
        /// The new key.
        key: KeyRef,
    },
    /// A key used for an operation its policy allows.
    KeyUsed {
        /// The key.
        key: KeyRef,
        /// What it was used for.
        operation: Operation,
    },
    /// A key exported (wrapped).
    KeyExported {
        /// The key.
        key: KeyRef,
    },
    /// A new key version created.
    KeyRotated {
        /// The key, with its old or new version as the caller logs it.
        key: KeyRef,
        /// The new version number.
        new_version: u32,
    },
    /// A key's lifecycle state changed.
    KeyStateChanged {
        /// The key.
        key: KeyRef,
        /// Its new state.
        state: KeyStateName,
    },
    /// Every version of a key destroyed.
    KeyDestroyed {
        /// The key.
        key: KeyRef,
    },
    /// A key's expiry set (0 = cleared); the lifecycle sweep deactivates it then.
    KeyExpirySet {
        /// The key.
        key: KeyRef,
        /// Seconds since the Unix epoch, 0 for never.
        expires_at: u64,
    },
    /// An operation refused by the key's state or usage policy.
    PolicyDenied {
        /// The key.
        key: KeyRef,
        /// The operation refused.
        operation: Operation,
    },
    /// Every key of a tenant destroyed (crypto-shred).
    TenantShredded {
        /// The tenant.
        tenant: String,
        /// How many keys were destroyed.
        keys: u32,
    },
    /// The keystore saved with this counter.
    KeystoreSaved {
        /// The keystore counter written.
        counter: u64,
    },
    /// Records moved out of the log to an auditor ([`AuditLog::archive`](super::AuditLog::archive)).
    AuditArchived {
        /// Sequence number of the first archived record.
        first_seq: u64,
        /// How many records were archived.
        count: u32,
    },
    /// A credential logged in: a user (in a tenant), an auditor, or the
    /// security officer (user name [`Actor::SECURITY_OFFICER`], no tenant).
    UserLoggedIn {
        /// Who.
        who: Actor,
        /// The tenant the session acts in (empty for an auditor).
        tenant: String,
    },
    /// A credential created by the security officer.
    UserCreated {
        /// The new credential.
        user: Actor,
        /// The tenants it may act in (none for an auditor).
        tenants: Vec<String>,
    },
    /// A credential removed by the security officer.
    UserRemoved {
        /// The credential removed.
        user: Actor,
    },
    /// A credential's holder changed their own PIN.
    OwnPinChanged {
        /// Who.
        who: Actor,
    },
    /// The security officer reset a credential's PIN and failure count.
    UserUnblocked {
        /// The credential unblocked.
        user: Actor,
    },
    /// A tenant created by the security officer.
    TenantCreated {
        /// The tenant.
        tenant: String,
    },
    /// The store re-keyed under a new passphrase or master key.
    PassphraseChanged,
    /// A certificate or certificate request signed by a key in the
    /// keystore, with what it says; committed with the signature.
    CertificateSigned {
        /// The signing key (a CA's, or the requester's own for a request).
        key: KeyRef,
        /// What was signed.
        object: SignedObject,
        /// The certificate's serial number, or the list's cRLNumber (at most
        /// [`MAX_SERIAL_LEN`] bytes); empty for a request.
        serial: Vec<u8>,
        /// The subject (the issuer, for a list), RFC 4514 (at most
        /// [`MAX_CERT_TEXT_LEN`] bytes).
        subject: String,
        /// The subject alternative names, as `dns:`, `ip:`, `uri:` or
        /// `email:` followed by the name; for a list, the revoked serial
        /// numbers as `serial:` and hex (at most [`MAX_CERT_NAMES`]).
        names: Vec<String>,
        /// notBefore (thisUpdate for a list), seconds since the Unix epoch; 0 for a request.
        not_before: u64,
        /// notAfter (nextUpdate for a list), seconds since the Unix epoch; 0 for a request.
        not_after: u64,
    },
    /// An attempt refused. Committed to the log before the error returns.
    Refused {
        /// Who tried (the user name asked for, for a failed login).
        who: Actor,
        /// The tenant the attempt was made in (empty if none).
        tenant: String,
        /// The key it was about, if any (possibly another tenant's).
        key: Option<KeyRef>,
        /// What was attempted.
        attempted: Operation,
        /// Why it was refused.
        reason: Refusal,
    },
}

fn str_is_valid(s: &str) -> bool {
    s.len() <= MAX_FIELD_LEN
}

fn key_is_valid(k: &KeyRef) -> bool {
    str_is_valid(&k.tenant) && str_is_valid(&k.key_id)
}

impl AuditEvent {
    /// The event's kind in kebab case, as `coffer audit show --json` and
    /// the Python package's `AuditRecord.event` name it: `"login"` (for
    /// both kinds of login), `"key-used"`, `"refused"`,
    /// `"tenant-shredded"`, ...; a signed certificate is
    /// `"certificate-issued"`, `"certificate-request-signed"` or
    /// `"revocation-list-signed"`.
    ///
    /// ```
    /// use coffer_hsm::audit::{AuditEvent, KeyRef};
    ///
    /// let key = KeyRef { tenant: "acme".into(), key_id: "kek".into(), version: 1, handle: 2 };
    /// assert_eq!(AuditEvent::KeyDestroyed { key }.kind(), "key-destroyed");
    /// assert_eq!(AuditEvent::TokenInitialized.kind(), "token-initialized");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            AuditEvent::TokenInitialized => "token-initialized",
            AuditEvent::LoginSucceeded { .. } | AuditEvent::UserLoggedIn { .. } => "login",
            AuditEvent::LoginFailed { .. } => "login-failed",
            AuditEvent::PinLocked { .. } => "pin-locked",
            AuditEvent::PinUnblocked { .. } => "pin-unblocked",
            AuditEvent::PinChanged { .. } => "pin-set",
            AuditEvent::KeyCreated { .. } => "key-created",
            AuditEvent::KeyImported { .. } => "key-imported",
            AuditEvent::KeyUsed { .. } => "key-used",
            AuditEvent::KeyExported { .. } => "key-exported",
            AuditEvent::KeyRotated { .. } => "key-rotated",
            AuditEvent::KeyStateChanged { .. } => "key-state-changed",
            AuditEvent::KeyDestroyed { .. } => "key-destroyed",
            AuditEvent::KeyExpirySet { .. } => "key-expiry-set",
            AuditEvent::PolicyDenied { .. } => "policy-denied",
            AuditEvent::TenantShredded { .. } => "tenant-shredded",
            AuditEvent::KeystoreSaved { .. } => "keystore-saved",
            AuditEvent::AuditArchived { .. } => "audit-archived",
            AuditEvent::UserCreated { .. } => "user-created",
            AuditEvent::UserRemoved { .. } => "user-removed",
            AuditEvent::OwnPinChanged { .. } => "pin-changed",
            AuditEvent::UserUnblocked { .. } => "user-unblocked",
            AuditEvent::TenantCreated { .. } => "tenant-created",
            AuditEvent::PassphraseChanged => "passphrase-changed",
            AuditEvent::Refused { .. } => "refused",
            AuditEvent::CertificateSigned { object, .. } => match object {
                SignedObject::Request => "certificate-request-signed",
                SignedObject::RevocationList => "revocation-list-signed",
                SignedObject::Certificate => "certificate-issued",
            },
        }
    }

    /// The key the event is about, if any (possibly another tenant's, in a
    /// refusal).
    ///
    /// ```
    /// use coffer_hsm::audit::{AuditEvent, KeyRef};
    ///
    /// let key = KeyRef { tenant: "acme".into(), key_id: "kek".into(), version: 1, handle: 2 };
    /// assert_eq!(AuditEvent::KeyDestroyed { key: key.clone() }.key(), Some(&key));
    /// assert_eq!(AuditEvent::TokenInitialized.key(), None);
    /// ```
    pub fn key(&self) -> Option<&KeyRef> {
        match self {
            AuditEvent::KeyCreated { key }
            | AuditEvent::KeyImported { key }
            | AuditEvent::KeyUsed { key, .. }
            | AuditEvent::KeyExported { key }
            | AuditEvent::KeyRotated { key, .. }
            | AuditEvent::KeyStateChanged { key, .. }
            | AuditEvent::KeyDestroyed { key }
            | AuditEvent::KeyExpirySet { key, .. }
            | AuditEvent::PolicyDenied { key, .. }
            | AuditEvent::CertificateSigned { key, .. }
            | AuditEvent::Refused { key: Some(key), .. } => Some(key),
            _ => None,
        }
    }

    /// The credential that acted, was refused, or was administered, if the
    /// event names one.
    pub fn actor(&self) -> Option<&Actor> {
        match self {
            AuditEvent::UserLoggedIn { who, .. }
            | AuditEvent::OwnPinChanged { who }
            | AuditEvent::Refused { who, .. }
            | AuditEvent::UserCreated { user: who, .. }
            | AuditEvent::UserRemoved { user: who }
            | AuditEvent::UserUnblocked { user: who } => Some(who),
            _ => None,
        }
    }

    /// The tenant the event happened in or is about, besides its key's
    /// (a login's, a refusal's, a created or shredded tenant); `None` when
    /// empty or absent.
    pub fn tenant(&self) -> Option<&str> {
        match self {
            AuditEvent::UserLoggedIn { tenant, .. }
            | AuditEvent::Refused { tenant, .. }
            | AuditEvent::TenantCreated { tenant }
            | AuditEvent::TenantShredded { tenant, .. } => Some(tenant.as_str()).filter(|t| !t.is_empty()),
            _ => None,
        }
    }
}

/// Whether every string field of `event` is within [`MAX_FIELD_LEN`], which
/// [`put_event`] needs to write the canonical encoding.
pub(crate) fn event_is_valid(event: &AuditEvent) -> bool {
    let tenants_ok = match event {
        AuditEvent::UserCreated { tenants, .. } => {
            tenants.len() <= MAX_TENANTS_PER_USER && tenants.iter().all(|t| str_is_valid(t))
        }
        AuditEvent::CertificateSigned { serial, subject, names, .. } => {
            serial.len() <= MAX_SERIAL_LEN
                && subject.len() <= MAX_CERT_TEXT_LEN
                && names.len() <= MAX_CERT_NAMES
                && names.iter().all(|n| n.len() <= MAX_CERT_TEXT_LEN)
        }
        _ => true,
    };
    tenants_ok
        && event.key().is_none_or(key_is_valid)
        && event.actor().is_none_or(|a| str_is_valid(&a.user))
        && event.tenant().is_none_or(str_is_valid)
}

/// Writes `s` as `len u8 || bytes`. Callers check [`event_is_valid`] first;
/// were a string ever longer than 255 bytes, it would be cut at 255 (and
/// then refused by the decoder as longer than [`MAX_FIELD_LEN`]) rather
/// than panic.
fn put_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let len = u8::try_from(bytes.len()).unwrap_or(u8::MAX);
    out.push(len);
    out.extend_from_slice(bytes.get(..usize::from(len)).unwrap_or(bytes));
}

/// Writes `s` as `len u16 || bytes` (callers check [`event_is_valid`]
/// first; past `u16::MAX` it would be cut, never panic).
fn put_text16(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes.get(..usize::from(len)).unwrap_or(bytes));
}

fn put_actor(out: &mut Vec<u8>, a: &Actor) {
    put_str(out, &a.user);
    out.push(a.role.code());
}

fn put_key(out: &mut Vec<u8>, k: &KeyRef) {
    put_str(out, &k.tenant);
    put_str(out, &k.key_id);
    out.extend_from_slice(&k.version.to_be_bytes());
    out.extend_from_slice(&k.handle.to_be_bytes());
}

/// The canonical encoding of `event` (module docs, § Format).
pub(crate) fn put_event(out: &mut Vec<u8>, event: &AuditEvent) {
    match event {
        AuditEvent::TokenInitialized => out.push(0x01),
        AuditEvent::LoginSucceeded { role } => out.extend_from_slice(&[0x10, role.code()]),
        AuditEvent::LoginFailed { role } => out.extend_from_slice(&[0x11, role.code()]),
        AuditEvent::PinLocked { role } => out.extend_from_slice(&[0x12, role.code()]),
        AuditEvent::PinUnblocked { role } => out.extend_from_slice(&[0x13, role.code()]),
        AuditEvent::PinChanged { role } => out.extend_from_slice(&[0x14, role.code()]),
        AuditEvent::KeyCreated { key } => {
            out.push(0x20);
            put_key(out, key);
        }
        AuditEvent::KeyImported { key } => {
            out.push(0x21);
            put_key(out, key);
        }
        AuditEvent::KeyUsed { key, operation } => {
            out.push(0x22);
            put_key(out, key);
            out.push(operation.code());
        }
        AuditEvent::KeyExported { key } => {
            out.push(0x23);
            put_key(out, key);
        }
        AuditEvent::KeyRotated { key, new_version } => {
            out.push(0x24);
            put_key(out, key);
            out.extend_from_slice(&new_version.to_be_bytes());
        }
        AuditEvent::KeyStateChanged { key, state } => {
            out.push(0x25);
            put_key(out, key);
            out.push(state.code());
        }
        AuditEvent::KeyDestroyed { key } => {
            out.push(0x26);
            put_key(out, key);
        }
        AuditEvent::KeyExpirySet { key, expires_at } => {
            out.push(0x28);
            put_key(out, key);
            out.extend_from_slice(&expires_at.to_be_bytes());
        }
        AuditEvent::PolicyDenied { key, operation } => {
            out.push(0x27);
            put_key(out, key);
            out.push(operation.code());
        }
        AuditEvent::TenantShredded { tenant, keys } => {
            out.push(0x30);
            put_str(out, tenant);
            out.extend_from_slice(&keys.to_be_bytes());
        }
        AuditEvent::KeystoreSaved { counter } => {
            out.push(0x31);
            out.extend_from_slice(&counter.to_be_bytes());
        }
        AuditEvent::AuditArchived { first_seq, count } => {
            out.push(0x32);
            out.extend_from_slice(&first_seq.to_be_bytes());
            out.extend_from_slice(&count.to_be_bytes());
        }
        AuditEvent::UserLoggedIn { who, tenant } => {
            out.push(0x15);
            put_actor(out, who);
            put_str(out, tenant);
        }
        AuditEvent::UserCreated { user, tenants } => {
            out.push(0x16);
            put_actor(out, user);
            out.push(u8::try_from(tenants.len()).unwrap_or(u8::MAX));
            for t in tenants.iter().take(usize::from(u8::MAX)) {
                put_str(out, t);
            }
        }
        AuditEvent::UserRemoved { user } => {
            out.push(0x17);
            put_actor(out, user);
        }
        AuditEvent::OwnPinChanged { who } => {
            out.push(0x18);
            put_actor(out, who);
        }
        AuditEvent::UserUnblocked { user } => {
            out.push(0x19);
            put_actor(out, user);
        }
        AuditEvent::TenantCreated { tenant } => {
            out.push(0x1a);
            put_str(out, tenant);
        }
        AuditEvent::PassphraseChanged => out.push(0x1b),
        AuditEvent::CertificateSigned { key, object, serial, subject, names, not_before, not_after } => {
            out.push(0x2a);
            put_key(out, key);
            out.push(object.code());
            out.push(u8::try_from(serial.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(serial.get(..usize::from(u8::MAX)).unwrap_or(serial));
            put_text16(out, subject);
            out.extend_from_slice(&u16::try_from(names.len()).unwrap_or(u16::MAX).to_be_bytes());
            for n in names.iter().take(usize::from(u16::MAX)) {
                put_text16(out, n);
            }
            out.extend_from_slice(&not_before.to_be_bytes());
            out.extend_from_slice(&not_after.to_be_bytes());
        }
        AuditEvent::Refused { who, tenant, key, attempted, reason } => {
            out.push(0x29);
            put_actor(out, who);
            put_str(out, tenant);
            match key {
                None => out.push(0),
                Some(k) => {
                    out.push(1);
                    put_key(out, k);
                }
            }
            out.push(attempted.code());
            out.push(reason.code());
        }
    }
}

/// Domain reads for the audit log encoding, on the crate's strict reader.
impl Reader<'_> {
    fn role(&mut self) -> Result<Role> {
        Role::from_code(self.u8()?).ok_or(Error::KeystoreCorrupt)
    }

    fn operation(&mut self) -> Result<Operation> {
        Operation::from_code(self.u8()?).ok_or(Error::KeystoreCorrupt)
    }

    fn state(&mut self) -> Result<KeyStateName> {
        KeyStateName::from_code(self.u8()?).ok_or(Error::KeystoreCorrupt)
    }

    fn actor(&mut self) -> Result<Actor> {
        Ok(Actor { user: self.str(0, MAX_FIELD_LEN)?, role: self.role()? })
    }

    fn refusal(&mut self) -> Result<Refusal> {
        Refusal::from_code(self.u8()?).ok_or(Error::KeystoreCorrupt)
    }

    fn tenants(&mut self) -> Result<Vec<String>> {
        let count = usize::from(self.u8()?);
        if count > MAX_TENANTS_PER_USER {
            return Err(Error::KeystoreCorrupt);
        }
        (0..count).map(|_| self.str(0, MAX_FIELD_LEN)).collect()
    }

    fn signed_object(&mut self) -> Result<SignedObject> {
        SignedObject::from_code(self.u8()?).ok_or(Error::KeystoreCorrupt)
    }

    fn serial(&mut self) -> Result<Vec<u8>> {
        let len = usize::from(self.u8()?);
        if len > MAX_SERIAL_LEN {
            return Err(Error::KeystoreCorrupt);
        }
        Ok(self.take(len)?.to_vec())
    }

    fn cert_names(&mut self) -> Result<Vec<String>> {
        let count = usize::from(self.u16()?);
        if count > MAX_CERT_NAMES {
            return Err(Error::KeystoreCorrupt);
        }
        (0..count).map(|_| self.text16(MAX_CERT_TEXT_LEN)).collect()
    }

    fn key(&mut self) -> Result<KeyRef> {
        Ok(KeyRef {
            tenant: self.str(0, MAX_FIELD_LEN)?,
            key_id: self.str(0, MAX_FIELD_LEN)?,
            version: self.u32()?,
            handle: self.u64()?,
        })
    }

    pub(crate) fn event(&mut self) -> Result<AuditEvent> {
        Ok(match self.u8()? {
            0x01 => AuditEvent::TokenInitialized,
            0x10 => AuditEvent::LoginSucceeded { role: self.role()? },
            0x11 => AuditEvent::LoginFailed { role: self.role()? },
            0x12 => AuditEvent::PinLocked { role: self.role()? },
            0x13 => AuditEvent::PinUnblocked { role: self.role()? },
            0x14 => AuditEvent::PinChanged { role: self.role()? },
            0x20 => AuditEvent::KeyCreated { key: self.key()? },
            0x21 => AuditEvent::KeyImported { key: self.key()? },
            0x22 => AuditEvent::KeyUsed { key: self.key()?, operation: self.operation()? },
            0x23 => AuditEvent::KeyExported { key: self.key()? },
            0x24 => AuditEvent::KeyRotated { key: self.key()?, new_version: self.u32()? },
            0x25 => AuditEvent::KeyStateChanged { key: self.key()?, state: self.state()? },
            0x26 => AuditEvent::KeyDestroyed { key: self.key()? },
            0x27 => AuditEvent::PolicyDenied { key: self.key()?, operation: self.operation()? },
            0x28 => AuditEvent::KeyExpirySet { key: self.key()?, expires_at: self.u64()? },
            0x30 => AuditEvent::TenantShredded { tenant: self.str(0, MAX_FIELD_LEN)?, keys: self.u32()? },
            0x31 => AuditEvent::KeystoreSaved { counter: self.u64()? },
            0x32 => AuditEvent::AuditArchived { first_seq: self.u64()?, count: self.u32()? },
            0x15 => AuditEvent::UserLoggedIn { who: self.actor()?, tenant: self.str(0, MAX_FIELD_LEN)? },
            0x16 => AuditEvent::UserCreated { user: self.actor()?, tenants: self.tenants()? },
            0x17 => AuditEvent::UserRemoved { user: self.actor()? },
            0x18 => AuditEvent::OwnPinChanged { who: self.actor()? },
            0x19 => AuditEvent::UserUnblocked { user: self.actor()? },
            0x1a => AuditEvent::TenantCreated { tenant: self.str(0, MAX_FIELD_LEN)? },
            0x1b => AuditEvent::PassphraseChanged,
            0x2a => AuditEvent::CertificateSigned {
                key: self.key()?,
                object: self.signed_object()?,
                serial: self.serial()?,
                subject: self.text16(MAX_CERT_TEXT_LEN)?,
                names: self.cert_names()?,
                not_before: self.u64()?,
                not_after: self.u64()?,
            },
            0x29 => AuditEvent::Refused {
                who: self.actor()?,
                tenant: self.str(0, MAX_FIELD_LEN)?,
                key: if self.bool()? { Some(self.key()?) } else { None },
                attempted: self.operation()?,
                reason: self.refusal()?,
            },
            _ => return Err(Error::KeystoreCorrupt),
        })
    }
}

impl core::fmt::Display for KeyRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{} v{} (handle {})", self.tenant, self.key_id, self.version, self.handle)
    }
}

impl KeyStateName {
    /// The state's name, as `coffer audit show` prints it (`"pre-active"`).
    pub fn name(self) -> &'static str {
        match self {
            KeyStateName::PreActive => "pre-active",
            KeyStateName::Active => "active",
            KeyStateName::Deactivated => "deactivated",
            KeyStateName::Destroyed => "destroyed",
        }
    }
}

/// One line of plain text, as `coffer audit show` prints it.
///
/// ```
/// use coffer_hsm::audit::{Actor, AuditEvent, KeyRef, Operation, Refusal};
/// use coffer_hsm::Role;
///
/// let event = AuditEvent::Refused {
///     who: Actor { user: "bob".into(), role: Role::User },
///     tenant: "globex".into(),
///     key: Some(KeyRef { tenant: "acme".into(), key_id: "payroll".into(), version: 1, handle: 3 }),
///     attempted: Operation::Open,
///     reason: Refusal::OtherTenant,
/// };
/// assert_eq!(
///     event.to_string(),
///     "refused: bob (user) in tenant globex tried open on acme/payroll v1 (handle 3): other-tenant"
/// );
/// ```
impl core::fmt::Display for AuditEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AuditEvent::TokenInitialized => f.write_str("token initialized"),
            AuditEvent::LoginSucceeded { role } => write!(f, "login: {}", role.name()),
            AuditEvent::LoginFailed { role } => write!(f, "login failed: {}", role.name()),
            AuditEvent::PinLocked { role } => write!(f, "PIN locked: {}", role.name()),
            AuditEvent::PinUnblocked { role } => write!(f, "PIN unblocked: {}", role.name()),
            AuditEvent::PinChanged { role } => write!(f, "PIN set: {}", role.name()),
            AuditEvent::KeyCreated { key } => write!(f, "key created: {key}"),
            AuditEvent::KeyImported { key } => write!(f, "key imported: {key}"),
            AuditEvent::KeyUsed { key, operation } => write!(f, "key used for {}: {key}", operation.name()),
            AuditEvent::KeyExported { key } => write!(f, "key exported: {key}"),
            AuditEvent::KeyRotated { key, new_version } => write!(f, "key rotated to v{new_version}: {key}"),
            AuditEvent::KeyStateChanged { key, state } => write!(f, "key now {}: {key}", state.name()),
            AuditEvent::KeyDestroyed { key } => write!(f, "key destroyed: {key}"),
            AuditEvent::KeyExpirySet { key, expires_at: 0 } => write!(f, "key expiry cleared: {key}"),
            AuditEvent::KeyExpirySet { key, expires_at } => {
                write!(f, "key expiry set to {expires_at} (Unix seconds): {key}")
            }
            AuditEvent::PolicyDenied { key, operation } => {
                write!(f, "refused {} by the key's policy: {key}", operation.name())
            }
            AuditEvent::TenantShredded { tenant, keys } => write!(f, "tenant {tenant} shredded: {keys} keys"),
            AuditEvent::KeystoreSaved { counter } => write!(f, "keystore saved (counter {counter})"),
            AuditEvent::AuditArchived { first_seq, count } => {
                write!(f, "audit records {first_seq}.. archived ({count} records)")
            }
            AuditEvent::UserLoggedIn { who, tenant } if tenant.is_empty() => write!(f, "login: {who}"),
            AuditEvent::UserLoggedIn { who, tenant } => write!(f, "login: {who} in tenant {tenant}"),
            AuditEvent::UserCreated { user, tenants } => {
                write!(f, "credential created: {user}")?;
                if !tenants.is_empty() {
                    write!(f, " for tenants {}", tenants.join(","))?;
                }
                Ok(())
            }
            AuditEvent::UserRemoved { user } => write!(f, "credential removed: {user}"),
            AuditEvent::OwnPinChanged { who } => write!(f, "PIN changed by its holder: {who}"),
            AuditEvent::UserUnblocked { user } => write!(f, "credential unblocked with a new PIN: {user}"),
            AuditEvent::TenantCreated { tenant } => write!(f, "tenant created: {tenant}"),
            AuditEvent::PassphraseChanged => f.write_str("store re-keyed under a new passphrase"),
            AuditEvent::CertificateSigned { key, object: SignedObject::Request, subject, names, .. } => {
                write!(f, "certificate request signed for {subject}")?;
                if !names.is_empty() {
                    write!(f, " [{}]", names.join(", "))?;
                }
                write!(f, " by {key}")
            }
            AuditEvent::CertificateSigned {
                key,
                object: SignedObject::RevocationList,
                subject,
                names,
                not_before,
                not_after,
                ..
            } => write!(
                f,
                "revocation list signed for {subject}: {} revoked, valid {not_before}..{not_after} (Unix seconds), by {key}",
                names.len()
            ),
            AuditEvent::CertificateSigned { key, serial, subject, names, not_before, not_after, .. } => {
                write!(f, "certificate issued: serial ")?;
                for b in serial {
                    write!(f, "{b:02x}")?;
                }
                write!(f, ", subject {subject}")?;
                if !names.is_empty() {
                    write!(f, " [{}]", names.join(", "))?;
                }
                write!(f, ", valid {not_before}..{not_after} (Unix seconds), by {key}")
            }
            AuditEvent::Refused { who, tenant, key, attempted, reason } => {
                write!(f, "refused: {who}")?;
                if !tenant.is_empty() {
                    write!(f, " in tenant {tenant}")?;
                }
                write!(f, " tried {}", attempted.name())?;
                if let Some(k) = key {
                    write!(f, " on {k}")?;
                }
                write!(f, ": {}", reason.name())
            }
        }
    }
}
