//! The tamper-evident audit log: every security-relevant event of a token,
//! each record chained to the one before it with HMAC-SHA-256.
//!
//! ```
//! use coffer_core::mac::HmacSha256Key;
//! use coffer_hsm::audit::{AuditEvent, AuditLog, Role};
//!
//! let mut log = AuditLog::new(HmacSha256Key::new(&[7u8; 32])?);
//! log.append(1_700_000_000, AuditEvent::TokenInitialized)?;
//! log.append(1_700_000_005, AuditEvent::LoginSucceeded { role: Role::SecurityOfficer })?;
//! log.verify()?;
//!
//! // Persist the log, and keep its head where the log's storage cannot roll it back.
//! let bytes = log.encode();
//! let head = log.head();
//! let loaded = AuditLog::decode(HmacSha256Key::new(&[7u8; 32])?, &bytes)?;
//! coffer_hsm::audit::verify_with_head(&HmacSha256Key::new(&[7u8; 32])?, loaded.records(), head)?;
//! # Ok::<(), coffer_hsm::Error>(())
//! ```
//!
//! # What it detects
//!
//! Record `i` carries `seq = i` and
//!
//! ```text
//! mac_i = HMAC-SHA-256(audit key, "coffer audit v1" || mac_{i-1} || u64 seq_i || u64 time_i || event_i)
//! ```
//!
//! with `mac_{-1}` = 32 zero bytes and `event_i` the canonical encoding of
//! the event (see [Format](#format)). So, without the audit key, nobody can
//! change a field of a record (its event, its time, its sequence number or
//! its MAC), remove a record from the start or the middle, reorder records,
//! duplicate one, or splice in a record of another log, without
//! [`verify`](AuditLog::verify) reporting [`Error::AuditTampered`] with the
//! index of the first record that does not verify.
//!
//! **Removing records from the end** leaves a shorter chain that verifies on
//! its own. It is detected only against a *head* kept elsewhere:
//! [`AuditLog::head`] is the record count and the last MAC, and
//! [`verify_with_head`] checks a chain against it. The keystore keeps the
//! head of each log in its sealed state.
//!
//! # What it never holds
//!
//! No event has a field for key material, a PIN, a PIN hash or any other
//! secret: an event names keys by [`KeyRef`] (tenant, key id, version,
//! handle) and roles by [`Role`]. The records are therefore not secret,
//! and `Debug` prints every field. Anyone adding an event or a field must
//! keep it that way. (`tests/audit.rs` destructures every variant without
//! `..`, so a new field does not compile until that test is looked at.)
//!
//! # Format
//!
//! All integers are unsigned big-endian; `||` is concatenation. This
//! encoding is both what the MAC covers (`event`) and what
//! [`AuditLog::encode`] writes (`log`).
//!
//! ```text
//! log     = "CFAL" || version 0x01 || count u32 || record * count     (starts at the genesis)
//!         | "CFAL" || version 0x02 || first_seq u64 || prev_mac [32] || count u32 || record * count
//! record  = time u64 || event || mac [32]       (seq is implied: first_seq + the record's index)
//! str     = len u8 (0 ..= 64) || UTF-8 bytes
//! key     = tenant str || key_id str || version u32 || handle u64
//! role    = u8: 0x01 security officer, 0x02 user, 0x03 auditor
//! op      = u8: 0x01 encrypt, 0x02 decrypt, 0x03 wrap, 0x04 unwrap, 0x05 sign,
//!               0x06 verify, 0x07 derive, 0x08 mac, 0x09 seal, 0x0a open,
//!               0x0b rewrap, 0x0c export
//! state   = u8: 0x01 pre-active, 0x02 active, 0x03 deactivated, 0x04 destroyed
//!
//! event   = 0x01 TokenInitialized
//!         | 0x10 LoginSucceeded  || role
//!         | 0x11 LoginFailed     || role
//!         | 0x12 PinLocked       || role
//!         | 0x13 PinUnblocked    || role
//!         | 0x14 PinChanged      || role
//!         | 0x20 KeyCreated      || key
//!         | 0x21 KeyImported     || key
//!         | 0x22 KeyUsed         || key || op
//!         | 0x23 KeyExported     || key
//!         | 0x24 KeyRotated      || key || new_version u32
//!         | 0x25 KeyStateChanged || key || state
//!         | 0x26 KeyDestroyed    || key
//!         | 0x27 PolicyDenied    || key || op
//!         | 0x28 KeyExpirySet    || key || expires_at u64 (0 = never)
//!         | 0x30 TenantShredded  || tenant str || keys u32
//!         | 0x31 KeystoreSaved   || counter u64
//!         | 0x32 AuditArchived   || first_seq u64 || count u32
//! ```
//!
//! `first_seq` and `prev_mac` are the log's [`AuditAnchor`]: a log starts
//! at the genesis (0, zeros) and is written as version 1; after
//! [`AuditLog::archive`] it starts where the archived records end and is
//! written as version 2 (a version 2 log with the genesis anchor is read too). Archived records are an [`AuditSegment`], encoded
//! exactly as a log.
//!
//! # When the log is full
//!
//! An [`AuditLog`] refuses to append beyond its limit. The HSM keeps a
//! reserve below the limit (`Config::audit_reserve`): once the records
//! held reach `limit - reserve`, key operations and user logins are refused
//! with [`Error::AuditFull`] before anything happens, while the security
//! officer (up to half the reserve) and the auditor (the whole reserve) can
//! still log in; the auditor then calls `Hsm::audit_archive`, which moves the
//! oldest records out to be kept elsewhere and logs
//! [`AuditEvent::AuditArchived`]. [`verify_segments`] checks the archived
//! segments and the live log as one chain against the head.
//!
//! Limits: `count` at most [`MAX_RECORDS`]; every `str` at most
//! [`MAX_FIELD_LEN`] bytes of valid UTF-8. [`AuditLog::decode`] accepts
//! exactly this grammar: an unknown tag or code, a string out of its limit
//! or not UTF-8, a short input or trailing bytes is
//! [`Error::KeystoreCorrupt`]; then the chain must verify.
//!
//! ## Stability
//!
//! Version 1 is frozen once released. A tag or code value is never reused
//! or renumbered; a new event or operation gets a new value, which older
//! readers reject as corrupt. Any other change (field sizes, order, the
//! domain string) needs a new version byte and a new domain string.

use alloc::string::String;
use alloc::vec::Vec;

use coffer_core::mac::{HmacSha256Key, TAG_LEN};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::wire::Reader;

/// Most records one [`AuditLog`] holds; [`AuditLog::append`] then returns
/// [`Error::Capacity`].
pub const MAX_RECORDS: usize = 1_000_000;

/// Longest string field (tenant, key id) of an event, in bytes.
pub const MAX_FIELD_LEN: usize = 64;

// Every name the token accepts can be logged, and a length fits in one byte.
const _: () = assert!(crate::object::MAX_NAME_LEN <= MAX_FIELD_LEN && MAX_FIELD_LEN <= 255);

/// Magic of an encoded log.
const MAGIC: &[u8; 4] = b"CFAL";
/// Version byte of an encoded log: 2 carries the anchor.
const VERSION: u8 = 2;
/// Version byte of a log without an anchor (it starts at the genesis); still read.
const VERSION_1: u8 = 1;
/// Shortest encoded record: time, a field-less event tag, the MAC.
const MIN_RECORD_LEN: usize = 8 + 1 + TAG_LEN;

/// The head of a log: how many records it has and the MAC of the last one
/// (32 zero bytes for an empty log). See [`verify_with_head`].
pub type AuditHead = (u64, [u8; TAG_LEN]);

pub use crate::role::Role;

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
}

impl Operation {
    fn code(self) -> u8 {
        match self {
            Operation::Encrypt => 0x01,
            Operation::Decrypt => 0x02,
            Operation::Wrap => 0x03,
            Operation::Unwrap => 0x04,
            Operation::Sign => 0x05,
            Operation::Verify => 0x06,
            Operation::Derive => 0x07,
            Operation::Mac => 0x08,
            Operation::Seal => 0x09,
            Operation::Open => 0x0a,
            Operation::Rewrap => 0x0b,
            Operation::Export => 0x0c,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0x01 => Operation::Encrypt,
            0x02 => Operation::Decrypt,
            0x03 => Operation::Wrap,
            0x04 => Operation::Unwrap,
            0x05 => Operation::Sign,
            0x06 => Operation::Verify,
            0x07 => Operation::Derive,
            0x08 => Operation::Mac,
            0x09 => Operation::Seal,
            0x0a => Operation::Open,
            0x0b => Operation::Rewrap,
            0x0c => Operation::Export,
            _ => return None,
        })
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
    /// Records moved out of the log to an auditor ([`AuditLog::archive`]).
    AuditArchived {
        /// Sequence number of the first archived record.
        first_seq: u64,
        /// How many records were archived.
        count: u32,
    },
}

/// One record of the log. Built only by [`AuditLog::append`]; the fields
/// are public so that anyone holding the audit key can inspect and verify
/// records with [`verify_records`].
///
/// ```
/// use coffer_core::mac::HmacSha256Key;
/// use coffer_hsm::audit::{AuditEvent, AuditLog};
///
/// let mut log = AuditLog::new(HmacSha256Key::new(&[7u8; 32])?);
/// let record = log.append(1_700_000_000, AuditEvent::TokenInitialized)?;
/// assert_eq!((record.seq, record.time), (0, 1_700_000_000));
/// # Ok::<(), coffer_hsm::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuditRecord {
    /// Position in the log, from 0, increasing by exactly 1.
    pub seq: u64,
    /// When, in seconds since the Unix epoch, as the caller's clock said.
    /// Not checked to increase: clocks go backwards.
    pub time: u64,
    /// What happened.
    pub event: AuditEvent,
    /// HMAC-SHA-256 chaining this record to the previous one (module docs).
    pub mac: [u8; TAG_LEN],
}

/// An append-only, HMAC-chained audit log of one token.
///
/// ```
/// use coffer_core::mac::HmacSha256Key;
/// use coffer_hsm::audit::{AuditEvent, AuditLog};
/// use coffer_hsm::Error;
///
/// let mut log = AuditLog::new(HmacSha256Key::new(&[7u8; 32])?);
/// log.append(1_700_000_000, AuditEvent::TokenInitialized)?;
/// log.append(1_700_000_001, AuditEvent::KeystoreSaved { counter: 1 })?;
///
/// let mut records = log.records().to_vec();
/// records[1].time += 1;
/// let key = HmacSha256Key::new(&[7u8; 32])?;
/// assert_eq!(coffer_hsm::audit::verify_records(&key, &records), Err(Error::AuditTampered { index: 1 }));
/// # Ok::<(), coffer_hsm::Error>(())
/// ```
pub struct AuditLog {
    key: HmacSha256Key,
    records: Vec<AuditRecord>,
    max_records: usize,
    /// Where the records still held start (after [`AuditLog::archive`]).
    anchor: AuditAnchor,
}

/// Where a chain of records starts: the sequence number of its first record
/// and the MAC of the record before it. A log starts at
/// [`AuditAnchor::GENESIS`]; after [`AuditLog::archive`] it starts where the
/// archived records end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AuditAnchor {
    /// Sequence number of the first record.
    pub seq: u64,
    /// MAC of the record before the first one (32 zero bytes at the genesis).
    pub prev_mac: [u8; TAG_LEN],
}

impl AuditAnchor {
    /// The start of every log: sequence 0, previous MAC all zeros.
    pub const GENESIS: AuditAnchor = AuditAnchor { seq: 0, prev_mac: [0; TAG_LEN] };
}

/// Records moved out of a log by [`AuditLog::archive`] (or a copy of a whole
/// log, [`AuditLog::segment`]): a piece of the chain with its anchor, to be
/// kept by the auditor. It encodes exactly as a log does (§ Format).
///
/// ```
/// use coffer_core::mac::HmacSha256Key;
/// use coffer_hsm::audit::{verify_segments, AuditEvent, AuditLog};
///
/// let mut log = AuditLog::new(HmacSha256Key::new(&[7u8; 32])?);
/// for t in 0..5 {
///     log.append(t, AuditEvent::TokenInitialized)?;
/// }
/// let archived = log.archive(3)?;
/// assert_eq!((archived.records.len(), log.records().len()), (3, 2));
/// // The archived records, then the rest of the log, make one chain up to the head.
/// let key = HmacSha256Key::new(&[7u8; 32])?;
/// verify_segments(&key, &[archived, log.segment()], log.head())?;
/// # Ok::<(), coffer_hsm::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditSegment {
    /// Where the records start.
    pub anchor: AuditAnchor,
    /// The records, oldest first; record `i` has `seq == anchor.seq + i`.
    pub records: Vec<AuditRecord>,
}

impl AuditSegment {
    /// Where the chain continues after this segment: the anchor of the next one.
    pub fn end(&self) -> AuditAnchor {
        let len = u64::try_from(self.records.len()).unwrap_or(u64::MAX);
        AuditAnchor {
            seq: self.anchor.seq.saturating_add(len),
            prev_mac: self.records.last().map_or(self.anchor.prev_mac, |r| r.mac),
        }
    }

    /// Checks the chain of this segment from its anchor (see [`verify_records_from`]).
    ///
    /// # Errors
    /// [`Error::AuditTampered`] with the index (in this segment) of the first bad record.
    pub fn verify(&self, key: &HmacSha256Key) -> Result<()> {
        verify_records_from(key, self.anchor, &self.records)
    }

    /// The segment in the log format (§ Format). Not secret.
    pub fn encode(&self) -> Vec<u8> {
        encode_segment(self.anchor, &self.records)
    }

    /// Parses a segment or log written by [`AuditSegment::encode`] or
    /// [`AuditLog::encode`] (version 1 or 2), without verifying it: call
    /// [`AuditSegment::verify`] or [`verify_segments`].
    ///
    /// # Errors
    /// [`Error::KeystoreCorrupt`] if `bytes` is not exactly one well-formed
    /// log within the limits.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        decode_segment(bytes)
    }
}

/// Prints the size and limit, not the records (there may be a million) nor
/// the key.
impl core::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuditLog")
            .field("records", &self.records.len())
            .field("max_records", &self.max_records)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// An empty log whose records are chained under `key`, holding up to
    /// [`MAX_RECORDS`] records.
    pub fn new(key: HmacSha256Key) -> Self {
        Self::with_max_records(key, MAX_RECORDS)
    }

    /// An empty log holding at most `max_records` records (at most
    /// [`MAX_RECORDS`]; a larger value is lowered to it), for devices with
    /// little memory. [`AuditLog::decode`] gives a log with the default limit.
    ///
    /// ```
    /// use coffer_core::mac::HmacSha256Key;
    /// use coffer_hsm::audit::{AuditEvent, AuditLog};
    /// use coffer_hsm::Error;
    ///
    /// let mut log = AuditLog::with_max_records(HmacSha256Key::new(&[7u8; 32])?, 1);
    /// log.append(0, AuditEvent::TokenInitialized)?;
    /// assert!(log.is_full());
    /// assert_eq!(log.append(1, AuditEvent::TokenInitialized).unwrap_err(), Error::Capacity);
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    pub fn with_max_records(key: HmacSha256Key, max_records: usize) -> Self {
        AuditLog {
            key,
            records: Vec::new(),
            max_records: max_records.min(MAX_RECORDS),
            anchor: AuditAnchor::GENESIS,
        }
    }

    /// Appends a record of `event` at `time` (seconds since the Unix epoch)
    /// and returns it.
    ///
    /// # Errors
    /// [`Error::Capacity`] if the log is full; [`Error::InvalidInput`] if a
    /// string field is longer than [`MAX_FIELD_LEN`]. The log is unchanged.
    pub fn append(&mut self, time: u64, event: AuditEvent) -> Result<&AuditRecord> {
        if self.is_full() {
            return Err(Error::Capacity);
        }
        if !event_is_valid(&event) {
            return Err(Error::InvalidInput);
        }
        let (seq, prev) = self.head();
        let mut buf = Vec::new();
        put_event(&mut buf, &event);
        let mac = crate::chain::record_mac(&self.key, &prev, seq, time, &buf);
        self.records.push(AuditRecord { seq, time, event, mac });
        self.records.last().ok_or(Error::Capacity)
    }

    /// The records, oldest first.
    pub fn records(&self) -> &[AuditRecord] {
        &self.records
    }

    /// Whether [`AuditLog::append`] would return [`Error::Capacity`].
    pub fn is_full(&self) -> bool {
        self.records.len() >= self.max_records
    }

    /// The number of records ever appended (archived ones included) and the
    /// last record's MAC (32 zero bytes when nothing was ever appended).
    /// Store it where the log's own storage cannot roll it back, and check the
    /// log against it with [`verify_with_head`]: that is the only way to
    /// detect records removed from the end.
    pub fn head(&self) -> AuditHead {
        let end = self.segment_end();
        (end.seq, end.prev_mac)
    }

    /// Where the records held start: [`AuditAnchor::GENESIS`] until
    /// something is archived.
    pub fn anchor(&self) -> AuditAnchor {
        self.anchor
    }

    fn segment_end(&self) -> AuditAnchor {
        let len = u64::try_from(self.records.len()).unwrap_or(u64::MAX);
        AuditAnchor {
            seq: self.anchor.seq.saturating_add(len),
            prev_mac: self.records.last().map_or(self.anchor.prev_mac, |r| r.mac),
        }
    }

    /// A copy of the records held, with their anchor.
    pub fn segment(&self) -> AuditSegment {
        AuditSegment { anchor: self.anchor, records: self.records.clone() }
    }

    /// Moves the oldest `count` records out of the log and returns them,
    /// for an auditor to keep; the log then starts where they end, and its
    /// chain still verifies. Appending [`AuditEvent::AuditArchived`] is the
    /// caller's job (the HSM does it).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `count` is 0 or more than the records held.
    pub fn archive(&mut self, count: usize) -> Result<AuditSegment> {
        if count == 0 || count > self.records.len() {
            return Err(Error::InvalidInput);
        }
        let records: Vec<AuditRecord> = self.records.drain(..count).collect();
        let segment = AuditSegment { anchor: self.anchor, records };
        self.anchor = segment.end();
        Ok(segment)
    }

    /// Checks the chain of the records held from the log's anchor (see
    /// [`verify_records_from`]).
    ///
    /// # Errors
    /// [`Error::AuditTampered`] with the index of the first bad record.
    pub fn verify(&self) -> Result<()> {
        verify_records_from(&self.key, self.anchor, &self.records)
    }

    /// The log in the binary format of the module docs (§ Format), for the
    /// keystore to persist. Not secret.
    pub fn encode(&self) -> Vec<u8> {
        encode_segment(self.anchor, &self.records)
    }

    /// A log of `records` chained from `anchor`, as the record store keeps
    /// it (the chain is not re-checked here).
    pub(crate) fn from_parts(key: HmacSha256Key, anchor: AuditAnchor, records: Vec<AuditRecord>) -> Self {
        AuditLog { key, records, max_records: MAX_RECORDS, anchor }
    }

    /// Parses a log written by [`AuditLog::encode`] and verifies its chain
    /// under `key`. Never panics, and allocates no more than `bytes` implies.
    ///
    /// This does not detect records removed from the end: check the result
    /// against a stored head with [`verify_with_head`].
    ///
    /// ```
    /// use coffer_core::mac::HmacSha256Key;
    /// use coffer_hsm::audit::{AuditEvent, AuditLog};
    /// use coffer_hsm::Error;
    ///
    /// let mut log = AuditLog::new(HmacSha256Key::new(&[7u8; 32])?);
    /// log.append(1_700_000_000, AuditEvent::TokenInitialized)?;
    /// let mut bytes = log.encode();
    /// assert_eq!(AuditLog::decode(HmacSha256Key::new(&[7u8; 32])?, &bytes)?.records(), log.records());
    ///
    /// bytes.push(0);
    /// assert_eq!(AuditLog::decode(HmacSha256Key::new(&[7u8; 32])?, &bytes).unwrap_err(), Error::KeystoreCorrupt);
    /// assert_eq!(
    ///     AuditLog::decode(HmacSha256Key::new(&[8u8; 32])?, &log.encode()).unwrap_err(),
    ///     Error::AuditTampered { index: 0 }
    /// );
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::KeystoreCorrupt`] if `bytes` is not exactly one well-formed
    /// log within the limits; [`Error::AuditTampered`] if it is, but its
    /// chain does not verify under `key`.
    pub fn decode(key: HmacSha256Key, bytes: &[u8]) -> Result<Self> {
        let AuditSegment { anchor, records } = decode_segment(bytes)?;
        verify_records_from(&key, anchor, &records)?;
        Ok(AuditLog { key, records, max_records: MAX_RECORDS, anchor })
    }
}

fn encode_segment(anchor: AuditAnchor, records: &[AuditRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    if anchor == AuditAnchor::GENESIS {
        out.push(VERSION_1);
    } else {
        out.push(VERSION);
        out.extend_from_slice(&anchor.seq.to_be_bytes());
        out.extend_from_slice(&anchor.prev_mac);
    }
    // A log holds at most MAX_RECORDS records, which fits a u32.
    out.extend_from_slice(&u32::try_from(records.len()).unwrap_or(u32::MAX).to_be_bytes());
    for r in records {
        out.extend_from_slice(&r.time.to_be_bytes());
        put_event(&mut out, &r.event);
        out.extend_from_slice(&r.mac);
    }
    out
}

fn decode_segment(bytes: &[u8]) -> Result<AuditSegment> {
    let mut d = Reader(bytes);
    if d.take(MAGIC.len())? != MAGIC {
        return Err(Error::KeystoreCorrupt);
    }
    let anchor = match d.u8()? {
        VERSION_1 => AuditAnchor::GENESIS,
        VERSION => AuditAnchor { seq: d.u64()?, prev_mac: d.arr()? },
        _ => return Err(Error::KeystoreCorrupt),
    };
    let count = usize::try_from(d.u32()?).map_err(|_| Error::KeystoreCorrupt)?;
    if count > MAX_RECORDS {
        return Err(Error::KeystoreCorrupt);
    }
    let mut records = Vec::with_capacity(count.min(d.0.len() / MIN_RECORD_LEN));
    let mut seq = anchor.seq;
    for _ in 0..count {
        let time = d.u64()?;
        let event = d.event()?;
        let mac = d.arr()?;
        records.push(AuditRecord { seq, time, event, mac });
        seq = seq.checked_add(1).ok_or(Error::KeystoreCorrupt)?;
    }
    if !d.0.is_empty() {
        return Err(Error::KeystoreCorrupt);
    }
    Ok(AuditSegment { anchor, records })
}

/// Checks a chain of records under `key`: record `i` must have `seq == i`,
/// string fields within [`MAX_FIELD_LEN`], and the MAC of the module docs
/// over the previous record's MAC. MACs are compared in constant time.
///
/// A chain with records removed from its end still verifies; use
/// [`verify_with_head`] against a stored head to catch that.
///
/// ```
/// use coffer_core::mac::HmacSha256Key;
/// use coffer_hsm::audit::{verify_records, AuditEvent, AuditLog};
/// use coffer_hsm::Error;
///
/// let mut log = AuditLog::new(HmacSha256Key::new(&[7u8; 32])?);
/// for t in 0..3 {
///     log.append(t, AuditEvent::TokenInitialized)?;
/// }
/// let mut records = log.records().to_vec();
/// records.remove(1);
/// let key = HmacSha256Key::new(&[7u8; 32])?;
/// assert_eq!(verify_records(&key, &records), Err(Error::AuditTampered { index: 1 }));
/// # Ok::<(), coffer_hsm::Error>(())
/// ```
///
/// # Errors
/// [`Error::AuditTampered`] with the index of the first record that fails.
pub fn verify_records(key: &HmacSha256Key, records: &[AuditRecord]) -> Result<()> {
    verify_records_from(key, AuditAnchor::GENESIS, records)
}

/// Checks a chain of records that starts at `anchor` (an archived segment,
/// or a log after [`AuditLog::archive`]): record `i` must have
/// `seq == anchor.seq + i` and its MAC must chain from `anchor.prev_mac`.
/// [`verify_records`] is this from [`AuditAnchor::GENESIS`].
///
/// # Errors
/// [`Error::AuditTampered`] with the index (in `records`) of the first record that fails.
pub fn verify_records_from(key: &HmacSha256Key, anchor: AuditAnchor, records: &[AuditRecord]) -> Result<()> {
    let mut prev = anchor.prev_mac;
    let mut buf = Vec::new();
    for (index, r) in records.iter().enumerate() {
        let tampered = Error::AuditTampered { index };
        let expected = u64::try_from(index).ok().and_then(|i| anchor.seq.checked_add(i));
        if expected != Some(r.seq) || !event_is_valid(&r.event) {
            return Err(tampered);
        }
        buf.clear();
        put_event(&mut buf, &r.event);
        if !crate::chain::record_mac_matches(key, &prev, r.seq, r.time, &buf, &r.mac) {
            return Err(tampered);
        }
        prev = r.mac;
    }
    Ok(())
}

/// Checks a chain with [`verify_records`] and then that it ends exactly at
/// `head` (from [`AuditLog::head`], kept where the log's storage cannot roll
/// it back). This is what detects records removed from the end. The MACs
/// are compared in constant time.
///
/// ```
/// use coffer_core::mac::HmacSha256Key;
/// use coffer_hsm::audit::{verify_with_head, AuditEvent, AuditLog};
/// use coffer_hsm::Error;
///
/// let mut log = AuditLog::new(HmacSha256Key::new(&[7u8; 32])?);
/// for t in 0..3 {
///     log.append(t, AuditEvent::TokenInitialized)?;
/// }
/// let head = log.head();
/// let key = HmacSha256Key::new(&[7u8; 32])?;
/// verify_with_head(&key, log.records(), head)?;
/// assert_eq!(verify_with_head(&key, &log.records()[..2], head), Err(Error::AuditTampered { index: 2 }));
/// # Ok::<(), coffer_hsm::Error>(())
/// ```
///
/// # Errors
/// [`Error::AuditTampered`] with the index of the first bad record; for a
/// chain that is valid but does not end at `head`, the index of the first
/// missing record if it is shorter, of the first extra record if it is
/// longer, or of its last record if it is as long but ends elsewhere.
pub fn verify_with_head(key: &HmacSha256Key, records: &[AuditRecord], head: AuditHead) -> Result<()> {
    verify_records(key, records)?;
    let (count, last_mac) = head;
    let len = records.len();
    match u64::try_from(len) {
        Ok(n) if n == count => {}
        Ok(n) if n > count => {
            return Err(Error::AuditTampered { index: usize::try_from(count).unwrap_or(len) });
        }
        _ => return Err(Error::AuditTampered { index: len }),
    }
    let actual = records.last().map_or([0; TAG_LEN], |r| r.mac);
    if bool::from(actual.ct_eq(&last_mac)) {
        Ok(())
    } else {
        Err(Error::AuditTampered { index: len.saturating_sub(1) })
    }
}

/// Checks that `segments` (archived segments in order, then usually the
/// live log's [`AuditLog::segment`]) form one unbroken chain from
/// [`AuditAnchor::GENESIS`] that ends exactly at `head`: each segment
/// verifies from its anchor, and each anchor is where the previous segment
/// ends. A lost, reordered, truncated or altered segment fails.
///
/// # Errors
/// [`Error::AuditTampered`] with the sequence number (as an index from the
/// genesis) of the first record that fails or is missing.
pub fn verify_segments(key: &HmacSha256Key, segments: &[AuditSegment], head: AuditHead) -> Result<()> {
    let mut expected = AuditAnchor::GENESIS;
    let index_of = |seq: u64| usize::try_from(seq).unwrap_or(usize::MAX);
    for segment in segments {
        if segment.anchor != expected {
            return Err(Error::AuditTampered { index: index_of(expected.seq) });
        }
        segment.verify(key).map_err(|e| match e {
            Error::AuditTampered { index } => {
                let seq = u64::try_from(index).unwrap_or(u64::MAX);
                Error::AuditTampered { index: index_of(segment.anchor.seq.saturating_add(seq)) }
            }
            other => other,
        })?;
        expected = segment.end();
    }
    if expected.seq != head.0 || !bool::from(expected.prev_mac.ct_eq(&head.1)) {
        return Err(Error::AuditTampered { index: index_of(expected.seq.min(head.0)) });
    }
    Ok(())
}

fn str_is_valid(s: &str) -> bool {
    s.len() <= MAX_FIELD_LEN
}

fn key_is_valid(k: &KeyRef) -> bool {
    str_is_valid(&k.tenant) && str_is_valid(&k.key_id)
}

/// Whether every string field of `event` is within [`MAX_FIELD_LEN`], which
/// [`put_event`] needs to write the canonical encoding.
pub(crate) fn event_is_valid(event: &AuditEvent) -> bool {
    match event {
        AuditEvent::KeyCreated { key }
        | AuditEvent::KeyImported { key }
        | AuditEvent::KeyUsed { key, .. }
        | AuditEvent::KeyExported { key }
        | AuditEvent::KeyRotated { key, .. }
        | AuditEvent::KeyStateChanged { key, .. }
        | AuditEvent::KeyDestroyed { key }
        | AuditEvent::KeyExpirySet { key, .. }
        | AuditEvent::PolicyDenied { key, .. } => key_is_valid(key),
        AuditEvent::TenantShredded { tenant, .. } => str_is_valid(tenant),
        AuditEvent::LoginSucceeded { .. }
        | AuditEvent::LoginFailed { .. }
        | AuditEvent::PinLocked { .. }
        | AuditEvent::PinUnblocked { .. }
        | AuditEvent::PinChanged { .. }
        | AuditEvent::TokenInitialized
        | AuditEvent::KeystoreSaved { .. }
        | AuditEvent::AuditArchived { .. } => true,
    }
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
            _ => return Err(Error::KeystoreCorrupt),
        })
    }
}
