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
//! handle) and who acted by [`Actor`] (a user name and a [`Role`]). The records are therefore not secret,
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
//! actor   = user str || role                    (the security officer's user is "so")
//! text    = len u16 (0 ..= 1024) || UTF-8 bytes
//! object  = u8: 0x01 certificate, 0x02 request (PKCS#10), 0x03 revocation list
//! op      = u8: 0x01 encrypt, 0x02 decrypt, 0x03 wrap, 0x04 unwrap, 0x05 sign,
//!               0x06 verify, 0x07 derive, 0x08 mac, 0x09 seal, 0x0a open,
//!               0x0b rewrap, 0x0c export, 0x0d login, 0x0e show, 0x0f list,
//!               0x10 generate, 0x11 import, 0x12 rotate, 0x13 set-state,
//!               0x14 set-expiry, 0x15 destroy, 0x16 shred, 0x17 administer,
//!               0x18 read-audit
//! state   = u8: 0x01 pre-active, 0x02 active, 0x03 deactivated, 0x04 destroyed
//! reason  = u8: 0x01 wrong-pin, 0x02 pin-locked, 0x03 unknown-user, 0x04 wrong-role,
//!               0x05 other-tenant, 0x06 not-in-tenant, 0x07 usage-not-allowed,
//!               0x08 wrong-state, 0x09 expired
//!
//! event   = 0x01 TokenInitialized
//!         | 0x10 LoginSucceeded  || role
//!         | 0x11 LoginFailed     || role
//!         | 0x12 PinLocked       || role
//!         | 0x13 PinUnblocked    || role
//!         | 0x14 PinChanged      || role
//!         | 0x15 UserLoggedIn    || actor || tenant str
//!         | 0x16 UserCreated     || actor || count u8 (0 ..= 16) || tenant str * count
//!         | 0x17 UserRemoved     || actor
//!         | 0x18 OwnPinChanged   || actor
//!         | 0x19 UserUnblocked   || actor
//!         | 0x1a TenantCreated   || tenant str
//!         | 0x1b PassphraseChanged
//!         | 0x20 KeyCreated      || key
//!         | 0x21 KeyImported     || key
//!         | 0x22 KeyUsed         || key || op
//!         | 0x23 KeyExported     || key
//!         | 0x24 KeyRotated      || key || new_version u32
//!         | 0x25 KeyStateChanged || key || state
//!         | 0x26 KeyDestroyed    || key
//!         | 0x27 PolicyDenied    || key || op
//!         | 0x28 KeyExpirySet    || key || expires_at u64 (0 = never)
//!         | 0x29 Refused         || actor || tenant str || (0x00 | 0x01 || key) || op || reason
//!         | 0x2a CertificateSigned || key || object || serial_len u8 (0 ..= 20) || serial
//!                                || subject text || count u16 (0 ..= 4096) || text * count
//!                                || not_before u64 || not_after u64
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
//! In `CertificateSigned`, a certificate has its serial, subject, its
//! subject alternative names as `dns:`, `ip:`, `uri:` or `email:` text,
//! notBefore and notAfter; a request an empty serial, the requested
//! subject and names and zero times; a revocation list its cRLNumber, the
//! issuer as subject, the revoked serials as `serial:` and lowercase hex,
//! thisUpdate and nextUpdate.
//!
//! Limits: `count` at most [`MAX_RECORDS`]; a `UserCreated` tenant count
//! at most [`MAX_TENANTS_PER_USER`]; every `str` at most
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

mod event;

pub use crate::role::Role;
pub use event::{
    Actor, AuditEvent, KeyRef, KeyStateName, MAX_CERT_NAMES, MAX_CERT_TEXT_LEN, MAX_SERIAL_LEN,
    MAX_TENANTS_PER_USER, Operation, Refusal, SignedObject,
};
pub(crate) use event::{event_is_valid, put_event};

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

#[cfg(test)]
#[allow(clippy::expect_used, reason = "a failed step is a test failure, reported by panic")]
mod tests {
    use super::*;

    fn key(byte: u8) -> HmacSha256Key {
        HmacSha256Key::new(&[byte; 32]).expect("a 32-byte key")
    }

    /// A log as the record store rebuilds it (`from_parts` does not check
    /// the chain): `verify` is what finds a bad one.
    #[test]
    fn verify_checks_a_log_rebuilt_from_stored_parts() {
        let mut log = AuditLog::new(key(7));
        for t in 0..3 {
            log.append(t, AuditEvent::TokenInitialized).expect("room");
        }
        let records = log.records().to_vec();
        assert_eq!(AuditLog::from_parts(key(7), log.anchor(), records.clone()).verify(), Ok(()));
        assert_eq!(
            AuditLog::from_parts(key(8), log.anchor(), records.clone()).verify(),
            Err(Error::AuditTampered { index: 0 })
        );
        let mut changed = records;
        if let Some(r) = changed.get_mut(2) {
            r.time = r.time.wrapping_add(1);
        }
        assert_eq!(
            AuditLog::from_parts(key(7), log.anchor(), changed).verify(),
            Err(Error::AuditTampered { index: 2 })
        );
    }
}
