//! A token for devices: fixed capacities, no heap, behind [`Storage`].
//!
//! [`DeviceToken`] gives a microcontroller the HSM's rules without an
//! allocator: at most `KEYS` keys and `LOG` audit records, both chosen at
//! compile time (`heapless`), PIN roles with lockout, usage policy and
//! lifecycle checked before any cryptography, an HMAC-chained audit log in
//! the same record format as the server's (`audit` module, § Format), and a
//! sealed state written through the same [`Storage`] trait in the same
//! sealed format as the server keystore (KEYSTORE.md §2, §3.2).
//!
//! What it leaves to the server [`crate::Hsm`] (feature `alloc`): RSA keys,
//! certificates, tenants, key versions and rotation, several slots, and
//! passphrase-derived keystores (PBKDF2 at 600,000 iterations is too slow
//! for a microcontroller; a device unseals with a [`MasterKey`] from its
//! key storage). One user, one session at a time.
//!
//! ```
//! use coffer_core::envelope::EncryptionContext;
//! use coffer_core::rng::OsRng;
//! use coffer_hsm::device::{DeviceConfig, DeviceKeyType, DeviceToken};
//! use coffer_hsm::keystore::MasterKey;
//! use coffer_hsm::{Clock, FixedStorage, Role, Usage};
//!
//! struct Rtc;
//! impl Clock for Rtc {
//!     fn now(&self) -> u64 { 1_790_000_000 }
//! }
//!
//! let master = MasterKey::from_bytes([7; 32]); // from the device's key storage
//! let config = DeviceConfig { pin_iterations: 1_000, ..DeviceConfig::default() };
//! let mut token = DeviceToken::<Rtc, 8, 64>::init(&mut OsRng, &master, config, b"so-pin-1", Rtc)?;
//! token.login(Role::SecurityOfficer, b"so-pin-1")?;
//! token.set_pin(&mut OsRng, Role::User, b"user-pin")?;
//! token.logout()?;
//!
//! token.login(Role::User, b"user-pin")?;
//! let kek = token.generate(&mut OsRng, DeviceKeyType::Aes256, "telemetry", Usage::ENCRYPT | Usage::DECRYPT, false)?;
//! let mut ctx = EncryptionContext::new();
//! ctx.insert(b"device", b"sensor-12")?;
//! let mut envelope = [0u8; 512];
//! let n = token.seal_envelope(&mut OsRng, kek, &ctx, b"reading 21.5", &mut envelope)?;
//! assert_eq!(token.open_envelope(&mut OsRng, kek, &ctx, &mut envelope[..n])?, b"reading 21.5");
//!
//! // Persist without a heap: a scratch buffer for the sealed state, and any Storage.
//! let mut storage = FixedStorage::<8192>::new();
//! let mut scratch = [0u8; 8192];
//! let counter = token.save(&mut OsRng, &mut storage, &master, &mut scratch)?;
//! let mut again = DeviceToken::<Rtc, 8, 64>::load(&mut storage, &master, Some(counter), Rtc, &mut scratch)?;
//! again.login(Role::User, b"user-pin")?;
//! assert_eq!(again.find("telemetry")?, kek);
//! # Ok::<(), coffer_hsm::Error>(())
//! ```

use coffer_core::envelope::{self, EncryptionContext, Limits, Recipient, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::mac::{HmacSha256Key, TAG_LEN as MAC_LEN};
use coffer_core::p256::{P256SecretKey, SIGNATURE_LEN};
use coffer_core::rng::TryCryptoRng;
use heapless::{Deque, String, Vec};
use zeroize::{Zeroize, Zeroizing};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::keystore::{self, KeySource, MasterKey};
use crate::pin::{DEFAULT_MAX_FAILURES, PinRecord};
use crate::policy::{Handle, KeyState, Usage, state_allows};
use crate::role::Role;
use crate::storage::Storage;
use crate::wire::Reader;

/// Longest key id on a device, in bytes.
pub const MAX_DEVICE_KEY_ID_LEN: usize = 32;
/// Longest canonical event encoding a device writes, in bytes.
pub const MAX_EVENT_LEN: usize = 64;
/// Default PBKDF2 iterations for device PINs: about a second on a 100 MHz
/// Cortex-M4 without SHA hardware; with the lockout this bounds guessing.
pub const DEFAULT_DEVICE_PIN_ITERATIONS: u32 = 10_000;
/// Default [`DeviceConfig::audit_reserve`].
pub const DEFAULT_DEVICE_AUDIT_RESERVE: u16 = 8;

/// HKDF-SHA-256 `info` deriving the device's audit key from its master key.
const AUDIT_KEY_INFO: &[u8] = b"coffer device audit v1";
/// Magic of the device state (KEYSTORE.md §3.2).
const STATE_MAGIC: &[u8; 4] = b"CFDS";
/// Version of the device state.
const STATE_VERSION: u8 = 1;
/// Encoded key: handle, type, key id, usage, extractable, state, version, material.
const KEY_LEN: usize = 8 + 1 + 1 + MAX_DEVICE_KEY_ID_LEN + 1 + 1 + 1 + 4 + 32;
/// Longest encoded audit record: time, event length, event, MAC.
const RECORD_LEN: usize = 8 + 1 + MAX_EVENT_LEN + MAC_LEN;

/// Policy knobs of a device token (persisted with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Consecutive wrong PINs that lock a role (default 5).
    pub max_pin_failures: u8,
    /// PBKDF2 iterations for new PIN hashes (default [`DEFAULT_DEVICE_PIN_ITERATIONS`]).
    pub pin_iterations: u32,
    /// Audit records kept back for the security officer and the auditor
    /// (default [`DEFAULT_DEVICE_AUDIT_RESERVE`]): when the log holds
    /// `LOG - reserve` records, key operations and user logins fail with
    /// [`Error::AuditFull`] until the auditor exports and releases records.
    /// Must be at least 2 and below `LOG`.
    pub audit_reserve: u16,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            max_pin_failures: DEFAULT_MAX_FAILURES,
            pin_iterations: DEFAULT_DEVICE_PIN_ITERATIONS,
            audit_reserve: DEFAULT_DEVICE_AUDIT_RESERVE,
        }
    }
}

/// The kinds of key a device holds: 32 bytes of material each.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKeyType {
    /// AES-256 key-encryption key: envelope seal/open, AES-KWP wrap/unwrap.
    Aes256,
    /// HMAC-SHA-256 key: MACs.
    HmacSha256,
    /// P-256 private key: ECDSA signatures.
    P256,
}

impl DeviceKeyType {
    /// Same codes as the server keystore (KEYSTORE.md §3.1).
    fn code(self) -> u8 {
        match self {
            DeviceKeyType::Aes256 => 1,
            DeviceKeyType::HmacSha256 => 2,
            DeviceKeyType::P256 => 3,
        }
    }

    fn from_code(code: u8) -> Result<Self> {
        match code {
            1 => Ok(DeviceKeyType::Aes256),
            2 => Ok(DeviceKeyType::HmacSha256),
            3 => Ok(DeviceKeyType::P256),
            _ => Err(Error::KeystoreCorrupt),
        }
    }
}

/// A key's public description; never its material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceKeyInfo {
    /// The key's handle.
    pub handle: Handle,
    /// What kind of key it is.
    pub key_type: DeviceKeyType,
    /// Its id (1..=32 bytes).
    pub key_id: String<MAX_DEVICE_KEY_ID_LEN>,
    /// What it may be used for.
    pub usage: Usage,
    /// Whether it may leave the token wrapped.
    pub extractable: bool,
    /// Its lifecycle state.
    pub state: KeyState,
}

/// A key: its description and 32 bytes of material, zeroed on drop.
struct DeviceKey {
    info: DeviceKeyInfo,
    material: Zeroizing<[u8; 32]>,
}

/// One audit record: the canonical event bytes (the server's encoding).
#[derive(Clone)]
struct Record {
    time: u64,
    event: Vec<u8, MAX_EVENT_LEN>,
    mac: [u8; MAC_LEN],
}

/// Who an audit record is for (see [`DeviceConfig::audit_reserve`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum AuditClass {
    Work,
    SecurityOfficer,
    Auditor,
}

/// A fixed-capacity token of at most `KEYS` keys and `LOG` audit records,
/// with time from `C` (module docs).
///
/// Not `Sync`-shared by design: one owner, `&mut self` for every operation.
pub struct DeviceToken<C: Clock, const KEYS: usize, const LOG: usize> {
    config: DeviceConfig,
    so_pin: PinRecord,
    user_pin: Option<PinRecord>,
    auditor_pin: Option<PinRecord>,
    keys: Vec<DeviceKey, KEYS>,
    next_handle: u64,
    audit_key: HmacSha256Key,
    /// Sequence number of the first record held, and the MAC before it.
    anchor_seq: u64,
    anchor_mac: [u8; MAC_LEN],
    log: Deque<Record, LOG>,
    session: Option<Role>,
    counter: u64,
    clock: C,
}

impl<C: Clock, const KEYS: usize, const LOG: usize> core::fmt::Debug for DeviceToken<C, KEYS, LOG> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceToken")
            .field("keys", &self.keys.len())
            .field("audit_records", &self.log.len())
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// Writes canonical event bytes; the callers' events fit [`MAX_EVENT_LEN`]
/// by construction (key ids are at most 32 bytes).
struct EventWriter(Vec<u8, MAX_EVENT_LEN>);

impl EventWriter {
    fn new(tag: u8) -> Self {
        let mut w = EventWriter(Vec::new());
        w.put(&[tag]);
        w
    }

    fn put(&mut self, bytes: &[u8]) {
        // Cannot overflow for the events below (at most 48 bytes); were it
        // to, the record would be cut, and the decoder would refuse it.
        let _ = self.0.extend_from_slice(bytes);
    }

    /// `key = tenant str || key_id str || version u32 || handle u64`, with
    /// the empty tenant and version 1 (a device has neither).
    fn key(mut self, info: &DeviceKeyInfo) -> Self {
        self.put(&[0]);
        let id = info.key_id.as_bytes();
        self.put(&[u8::try_from(id.len()).unwrap_or(0)]);
        self.put(id);
        self.put(&1u32.to_be_bytes());
        self.put(&info.handle.0.to_be_bytes());
        self
    }
}

/// Event tags and codes of the `audit` module's § Format.
mod tag {
    pub const TOKEN_INITIALIZED: u8 = 0x01;
    pub const LOGIN_SUCCEEDED: u8 = 0x10;
    pub const LOGIN_FAILED: u8 = 0x11;
    pub const PIN_LOCKED: u8 = 0x12;
    pub const PIN_UNBLOCKED: u8 = 0x13;
    pub const PIN_CHANGED: u8 = 0x14;
    pub const KEY_CREATED: u8 = 0x20;
    pub const KEY_IMPORTED: u8 = 0x21;
    pub const KEY_USED: u8 = 0x22;
    pub const KEY_EXPORTED: u8 = 0x23;
    pub const KEY_STATE_CHANGED: u8 = 0x25;
    pub const KEY_DESTROYED: u8 = 0x26;
    pub const POLICY_DENIED: u8 = 0x27;
    pub const KEYSTORE_SAVED: u8 = 0x31;
    pub const AUDIT_ARCHIVED: u8 = 0x32;
}

/// Operation codes of the `audit` module's § Format.
fn operation_code(op: Usage) -> u8 {
    if op == Usage::ENCRYPT {
        0x09 // seal
    } else if op == Usage::DECRYPT {
        0x0a // open
    } else if op == Usage::WRAP {
        0x03
    } else if op == Usage::UNWRAP {
        0x04
    } else if op == Usage::SIGN {
        0x05
    } else if op == Usage::VERIFY {
        0x06
    } else {
        0x07
    }
}

/// Lifecycle codes of the `audit` module's § Format.
fn state_event_code(state: KeyState) -> u8 {
    match state {
        KeyState::PreActive => 0x01,
        KeyState::Active => 0x02,
        KeyState::Deactivated => 0x03,
        KeyState::Destroyed => 0x04,
    }
}

fn derive_audit_key(master: &MasterKey) -> Result<HmacSha256Key> {
    let mut okm = Zeroizing::new([0u8; 32]);
    coffer_core::kdf::hkdf_sha256(None, master.as_bytes(), AUDIT_KEY_INFO, okm.as_mut_slice())?;
    Ok(HmacSha256Key::new(okm.as_slice())?)
}

fn rng_fill<R: TryCryptoRng + ?Sized>(rng: &mut R, out: &mut [u8]) -> Result<()> {
    rng.try_fill_bytes(out).map_err(|_| Error::Crypto(coffer_core::Error::Rng))
}

impl<C: Clock, const KEYS: usize, const LOG: usize> DeviceToken<C, KEYS, LOG> {
    /// Largest sealed state of this token type, in bytes: the size of the
    /// scratch buffer [`Self::save`] and [`Self::load`] need.
    pub const SEALED_MAX_LEN: usize = keystore::RAW_HEADER_LEN
        + 4
        + 1
        + 1
        + 4
        + 2
        + 3 * (1 + PinRecord::ENCODED_LEN)
        + 8
        + 2
        + KEYS * KEY_LEN
        + 8
        + MAC_LEN
        + 2
        + LOG * RECORD_LEN
        + 16;

    /// A new token with a security officer PIN; its audit key is derived
    /// from `master` (HKDF-SHA-256, info `coffer device audit v1`), so
    /// whoever holds the master key can verify exported records.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `config` is out of range (`audit_reserve`
    /// must be 2..LOG); [`Error::PinPolicy`] for a PIN out of 6..=64 bytes.
    pub fn init<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        master: &MasterKey,
        config: DeviceConfig,
        so_pin: &[u8],
        clock: C,
    ) -> Result<Self> {
        if !Self::config_is_valid(&config) {
            return Err(Error::InvalidInput);
        }
        let so_pin = PinRecord::new(rng, so_pin, config.pin_iterations)?;
        let mut token = DeviceToken {
            config,
            so_pin,
            user_pin: None,
            auditor_pin: None,
            keys: Vec::new(),
            next_handle: 1,
            audit_key: derive_audit_key(master)?,
            anchor_seq: 0,
            anchor_mac: [0; MAC_LEN],
            log: Deque::new(),
            session: None,
            counter: 0,
            clock,
        };
        token.append(AuditClass::Auditor, EventWriter::new(tag::TOKEN_INITIALIZED))?;
        Ok(token)
    }

    fn config_is_valid(config: &DeviceConfig) -> bool {
        config.max_pin_failures >= 1
            && config.pin_iterations >= 1
            && config.audit_reserve >= 2
            && usize::from(config.audit_reserve) < LOG
    }

    // ----- audit -----

    fn audit_limit(&self, class: AuditClass) -> usize {
        let reserve = usize::from(self.config.audit_reserve);
        match class {
            AuditClass::Work => LOG.saturating_sub(reserve),
            AuditClass::SecurityOfficer => LOG.saturating_sub(reserve / 2),
            AuditClass::Auditor => LOG,
        }
    }

    fn ensure_room(&self, class: AuditClass) -> Result<()> {
        if self.log.len() < self.audit_limit(class) { Ok(()) } else { Err(Error::AuditFull) }
    }

    fn head(&self) -> (u64, [u8; MAC_LEN]) {
        let len = u64::try_from(self.log.len()).unwrap_or(u64::MAX);
        (self.anchor_seq.saturating_add(len), self.log.back().map_or(self.anchor_mac, |r| r.mac))
    }

    fn append(&mut self, class: AuditClass, event: EventWriter) -> Result<()> {
        self.ensure_room(class)?;
        let (seq, prev) = self.head();
        let time = self.clock.now();
        let mac = crate::chain::record_mac(&self.audit_key, &prev, seq, time, &event.0);
        self.log.push_back(Record { time, event: event.0, mac }).map_err(|_| Error::AuditFull)
    }

    /// Checks the chain of the records held from their anchor. Auditor only.
    ///
    /// # Errors
    /// [`Error::AuditTampered`] with the index of the first bad record.
    pub fn audit_verify(&self) -> Result<()> {
        self.require(Role::Auditor)?;
        self.verify_chain()
    }

    /// How many records the log holds (of at most `LOG`).
    pub fn audit_len(&self) -> usize {
        self.log.len()
    }

    /// Writes the oldest `count` records into `out` as an audit segment in
    /// the log format of the `audit` module (§ Format; version 1 when they
    /// start at the genesis, 2 otherwise) and returns its length. The server
    /// reads it with `audit::AuditSegment::decode` and verifies it under the
    /// audit key derived from the device's master key. Nothing is removed:
    /// call [`Self::audit_release`] once the export is stored. Auditor only.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `count` is 0 or more than the records held;
    /// [`Error::Capacity`] if `out` is too short.
    pub fn audit_export(&self, count: usize, out: &mut [u8]) -> Result<usize> {
        self.require(Role::Auditor)?;
        if count == 0 || count > self.log.len() {
            return Err(Error::InvalidInput);
        }
        let mut w = keystore::SliceWriter::new(out);
        w.put(b"CFAL")?;
        if self.anchor_seq == 0 && self.anchor_mac == [0; MAC_LEN] {
            w.put(&[1])?;
        } else {
            w.put(&[2])?;
            w.put(&self.anchor_seq.to_be_bytes())?;
            w.put(&self.anchor_mac)?;
        }
        w.put(&u32::try_from(count).map_err(|_| Error::InvalidInput)?.to_be_bytes())?;
        for r in self.log.iter().take(count) {
            w.put(&r.time.to_be_bytes())?;
            w.put(&r.event)?;
            w.put(&r.mac)?;
        }
        Ok(w.len())
    }

    /// Removes the oldest `count` records (after [`Self::audit_export`]) and
    /// logs `AuditArchived`; the log keeps chaining from the last removed
    /// record. Auditor only.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `count` is 0 or more than the records held.
    pub fn audit_release(&mut self, count: usize) -> Result<()> {
        self.require(Role::Auditor)?;
        if count == 0 || count > self.log.len() {
            return Err(Error::InvalidInput);
        }
        let first_seq = self.anchor_seq;
        for _ in 0..count {
            let r = self.log.pop_front().ok_or(Error::InvalidInput)?;
            self.anchor_seq = self.anchor_seq.saturating_add(1);
            self.anchor_mac = r.mac;
        }
        let mut e = EventWriter::new(tag::AUDIT_ARCHIVED);
        e.put(&first_seq.to_be_bytes());
        e.put(&u32::try_from(count).map_err(|_| Error::InvalidInput)?.to_be_bytes());
        self.append(AuditClass::Auditor, e)
    }

    // ----- roles -----

    fn require(&self, role: Role) -> Result<()> {
        match self.session {
            None => Err(Error::NotLoggedIn),
            Some(r) if r == role => Ok(()),
            Some(_) => Err(Error::RoleNotAllowed),
        }
    }

    /// Logs in `role`; one session at a time (log out first).
    ///
    /// # Errors
    /// [`Error::TokenState`] if a session is open or the role has no PIN;
    /// [`Error::AuditFull`] (before the PIN is checked) if the log has no
    /// room for this role; [`Error::PinIncorrect`], then [`Error::PinLocked`].
    pub fn login(&mut self, role: Role, pin: &[u8]) -> Result<()> {
        if self.session.is_some() {
            return Err(Error::TokenState);
        }
        let class = match role {
            Role::SecurityOfficer => AuditClass::SecurityOfficer,
            Role::User => AuditClass::Work,
            Role::Auditor => AuditClass::Auditor,
        };
        self.ensure_room(class)?;
        let max = self.config.max_pin_failures;
        let record = match role {
            Role::SecurityOfficer => Some(&mut self.so_pin),
            Role::User => self.user_pin.as_mut(),
            Role::Auditor => self.auditor_pin.as_mut(),
        };
        let result = record.ok_or(Error::TokenState)?.check(pin, max);
        let event_tag = match result {
            Ok(()) => tag::LOGIN_SUCCEEDED,
            Err(Error::PinLocked) => tag::PIN_LOCKED,
            Err(_) => tag::LOGIN_FAILED,
        };
        let mut e = EventWriter::new(event_tag);
        e.put(&[role.code()]);
        self.append(class, e)?;
        result?;
        self.session = Some(role);
        Ok(())
    }

    /// Ends the session.
    ///
    /// # Errors
    /// [`Error::NotLoggedIn`] if none is open.
    pub fn logout(&mut self) -> Result<()> {
        self.session.take().map(|_| ()).ok_or(Error::NotLoggedIn)
    }

    /// Sets or resets (unblocking) the user or auditor PIN. Security officer only.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for the SO role; [`Error::PinPolicy`].
    pub fn set_pin<R: TryCryptoRng + ?Sized>(&mut self, rng: &mut R, role: Role, pin: &[u8]) -> Result<()> {
        self.require(Role::SecurityOfficer)?;
        self.ensure_room(AuditClass::SecurityOfficer)?;
        let record = PinRecord::new(rng, pin, self.config.pin_iterations)?;
        let slot = match role {
            Role::User => &mut self.user_pin,
            Role::Auditor => &mut self.auditor_pin,
            Role::SecurityOfficer => return Err(Error::InvalidInput),
        };
        let event_tag = if slot.replace(record).is_some() { tag::PIN_UNBLOCKED } else { tag::PIN_CHANGED };
        let mut e = EventWriter::new(event_tag);
        e.put(&[role.code()]);
        self.append(AuditClass::SecurityOfficer, e)
    }

    // ----- keys -----

    fn position(&self, handle: Handle) -> Result<usize> {
        self.keys.iter().position(|k| k.info.handle == handle).ok_or(Error::NotFound)
    }

    /// Checks role, type, lifecycle and usage for `op` before any crypto; a
    /// denial is audited. Returns the key's index.
    fn authorize(&mut self, handle: Handle, op: Usage, key_type: DeviceKeyType) -> Result<usize> {
        self.require(Role::User)?;
        let i = self.position(handle)?;
        let info = self.keys.get(i).map(|k| k.info.clone()).ok_or(Error::NotFound)?;
        if info.key_type != key_type {
            return Err(Error::InvalidInput);
        }
        self.ensure_room(AuditClass::Work)?;
        let denied = if !state_allows(info.state, op) {
            Some(Error::KeyState)
        } else if !info.usage.allows(op) {
            Some(Error::PolicyDenied)
        } else {
            None
        };
        let mut e =
            EventWriter::new(if denied.is_some() { tag::POLICY_DENIED } else { tag::KEY_USED }).key(&info);
        e.put(&[operation_code(op)]);
        self.append(AuditClass::Work, e)?;
        match denied {
            Some(err) => Err(err),
            None => Ok(i),
        }
    }

    fn material(&self, i: usize) -> Result<&[u8; 32]> {
        self.keys.get(i).map(|k| &*k.material).ok_or(Error::NotFound)
    }

    fn insert(
        &mut self,
        key_type: DeviceKeyType,
        key_id: &str,
        usage: Usage,
        extractable: bool,
        material: Zeroizing<[u8; 32]>,
        event_tag: u8,
    ) -> Result<Handle> {
        self.require(Role::User)?;
        if key_id.is_empty() || key_id.len() > MAX_DEVICE_KEY_ID_LEN {
            return Err(Error::InvalidInput);
        }
        if self.keys.iter().any(|k| k.info.key_id.as_str() == key_id) {
            return Err(Error::InvalidInput);
        }
        if self.keys.is_full() {
            return Err(Error::Capacity);
        }
        self.ensure_room(AuditClass::Work)?;
        let handle = Handle(self.next_handle);
        let next = self.next_handle.checked_add(1).ok_or(Error::Capacity)?;
        let info = DeviceKeyInfo {
            handle,
            key_type,
            key_id: String::try_from(key_id).map_err(|_| Error::InvalidInput)?,
            usage,
            extractable,
            state: KeyState::Active,
        };
        let event = EventWriter::new(event_tag).key(&info);
        self.keys.push(DeviceKey { info, material }).map_err(|_| Error::Capacity)?;
        self.next_handle = next;
        if let Err(e) = self.append(AuditClass::Work, event) {
            // Create → record → roll back: no key without its record.
            self.keys.pop();
            return Err(e);
        }
        Ok(handle)
    }

    /// Generates a key (active) with `key_id` (1..=32 bytes, unique).
    /// User only.
    ///
    /// # Errors
    /// [`Error::Capacity`] when `KEYS` keys are held; [`Error::InvalidInput`]
    /// for a bad or duplicate key id.
    pub fn generate<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        key_type: DeviceKeyType,
        key_id: &str,
        usage: Usage,
        extractable: bool,
    ) -> Result<Handle> {
        let mut material = Zeroizing::new([0u8; 32]);
        match key_type {
            DeviceKeyType::Aes256 | DeviceKeyType::HmacSha256 => rng_fill(rng, material.as_mut_slice())?,
            DeviceKeyType::P256 => {
                material.copy_from_slice(P256SecretKey::generate(rng)?.to_bytes().as_slice())
            }
        }
        self.insert(key_type, key_id, usage, extractable, material, tag::KEY_CREATED)
    }

    /// Looks a key up by id. User only.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn find(&self, key_id: &str) -> Result<Handle> {
        self.require(Role::User)?;
        self.keys
            .iter()
            .find(|k| k.info.key_id.as_str() == key_id)
            .map(|k| k.info.handle)
            .ok_or(Error::NotFound)
    }

    /// A key's description. User only.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn info(&self, handle: Handle) -> Result<DeviceKeyInfo> {
        self.require(Role::User)?;
        self.keys.get(self.position(handle)?).map(|k| k.info.clone()).ok_or(Error::NotFound)
    }

    /// Moves a key to `state` (not Destroyed: use [`Self::destroy`]). User only.
    ///
    /// # Errors
    /// [`Error::KeyState`] for a destroyed key or `state` Destroyed.
    pub fn set_state(&mut self, handle: Handle, state: KeyState) -> Result<()> {
        self.require(Role::User)?;
        let i = self.position(handle)?;
        let info = self.keys.get(i).map(|k| k.info.clone()).ok_or(Error::NotFound)?;
        if info.state == KeyState::Destroyed || state == KeyState::Destroyed {
            return Err(Error::KeyState);
        }
        let mut e = EventWriter::new(tag::KEY_STATE_CHANGED).key(&info);
        e.put(&[state_event_code(state)]);
        self.append(AuditClass::Work, e)?;
        if let Some(k) = self.keys.get_mut(i) {
            k.info.state = state;
        }
        Ok(())
    }

    /// Erases a key's material; its record stays (Destroyed), so its id is
    /// never reused and its handle never works again. User only.
    ///
    /// # Errors
    /// [`Error::KeyState`] if it is already destroyed.
    pub fn destroy(&mut self, handle: Handle) -> Result<()> {
        self.require(Role::User)?;
        let i = self.position(handle)?;
        let info = self.keys.get(i).map(|k| k.info.clone()).ok_or(Error::NotFound)?;
        if info.state == KeyState::Destroyed {
            return Err(Error::KeyState);
        }
        self.append(AuditClass::Work, EventWriter::new(tag::KEY_DESTROYED).key(&info))?;
        if let Some(k) = self.keys.get_mut(i) {
            k.material.zeroize();
            k.info.state = KeyState::Destroyed;
        }
        Ok(())
    }

    /// Seals `plaintext` into an envelope v1 for the AES-256 key `kek`
    /// (usage ENCRYPT) into `out`, returning its length; the key id is the
    /// recipient id, version 1.
    ///
    /// # Errors
    /// Policy errors first; [`Error::Crypto`]`(BufferTooSmall { needed })`.
    pub fn seal_envelope<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        kek: Handle,
        context: &EncryptionContext<'_>,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let i = self.authorize(kek, Usage::ENCRYPT, DeviceKeyType::Aes256)?;
        let key = Kek::from_slice(self.material(i)?)?;
        let id = self.keys.get(i).map(|k| k.info.key_id.clone()).ok_or(Error::NotFound)?;
        let to = [Recipient::Kek { key_id: id.as_bytes(), version: 1, kek: &key }];
        Ok(envelope::seal_into(rng, &to, context, plaintext, envelope::DEFAULT_CHUNK_SIZE, out)?)
    }

    /// Opens an envelope in place with the AES-256 key `kek` (usage
    /// DECRYPT); on failure `buf` is zeroed and nothing is released.
    ///
    /// # Errors
    /// Policy errors first; [`Error::Crypto`]`(Decrypt)` for any bad envelope.
    pub fn open_envelope<'b, R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        kek: Handle,
        context: &EncryptionContext<'_>,
        buf: &'b mut [u8],
    ) -> Result<&'b mut [u8]> {
        let i = self.authorize(kek, Usage::DECRYPT, DeviceKeyType::Aes256)?;
        let key = Kek::from_slice(self.material(i)?)?;
        let id = self.keys.get(i).map(|k| k.info.key_id.clone()).ok_or(Error::NotFound)?;
        let keys = [UnlockKey::Kek { key_id: id.as_bytes(), version: 1, kek: &key }];
        Ok(envelope::open_in_place(rng, &keys, context, buf, &Limits::DEFAULT)?)
    }

    /// ECDSA P-256 / SHA-256 signature (64 bytes, r || s) with `handle`
    /// (usage SIGN).
    ///
    /// # Errors
    /// Policy errors.
    pub fn sign(&mut self, handle: Handle, msg: &[u8]) -> Result<[u8; SIGNATURE_LEN]> {
        let i = self.authorize(handle, Usage::SIGN, DeviceKeyType::P256)?;
        let key = P256SecretKey::from_bytes(self.material(i)?)?;
        Ok(*key.sign(msg).as_bytes())
    }

    /// Verifies a 64-byte P-256 signature with `handle` (usage VERIFY).
    ///
    /// # Errors
    /// Policy errors; [`Error::Crypto`]`(Verify)`.
    pub fn verify(&mut self, handle: Handle, msg: &[u8], sig: &[u8]) -> Result<()> {
        let i = self.authorize(handle, Usage::VERIFY, DeviceKeyType::P256)?;
        let key = P256SecretKey::from_bytes(self.material(i)?)?;
        Ok(key.public_key().verify_fixed(msg, sig)?)
    }

    /// The SEC1 uncompressed public key of the P-256 key `handle`. User only.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for another key type; [`Error::KeyState`] if destroyed.
    pub fn public_key(&self, handle: Handle) -> Result<[u8; coffer_core::p256::UNCOMPRESSED_POINT_LEN]> {
        self.require(Role::User)?;
        let i = self.position(handle)?;
        let k = self.keys.get(i).ok_or(Error::NotFound)?;
        if k.info.key_type != DeviceKeyType::P256 {
            return Err(Error::InvalidInput);
        }
        if k.info.state == KeyState::Destroyed {
            return Err(Error::KeyState);
        }
        Ok(P256SecretKey::from_bytes(&*k.material)?.public_key().to_uncompressed())
    }

    /// HMAC-SHA-256 over `msg` with `handle` (usage SIGN).
    ///
    /// # Errors
    /// Policy errors.
    pub fn hmac_sign(&mut self, handle: Handle, msg: &[u8]) -> Result<[u8; MAC_LEN]> {
        let i = self.authorize(handle, Usage::SIGN, DeviceKeyType::HmacSha256)?;
        Ok(HmacSha256Key::new(self.material(i)?)?.sign(msg))
    }

    /// Checks an HMAC-SHA-256 tag in constant time (usage VERIFY).
    ///
    /// # Errors
    /// Policy errors; [`Error::Crypto`]`(Verify)`.
    pub fn hmac_verify(&mut self, handle: Handle, msg: &[u8], tag: &[u8]) -> Result<()> {
        let i = self.authorize(handle, Usage::VERIFY, DeviceKeyType::HmacSha256)?;
        Ok(HmacSha256Key::new(self.material(i)?)?.verify(msg, tag)?)
    }

    /// Exports the extractable key `handle` wrapped with AES-KWP (RFC 5649)
    /// under the AES-256 key `wrap_with` (usage WRAP) into `out` (40 bytes).
    ///
    /// # Errors
    /// [`Error::NotExtractable`] (logged as a denial) before any crypto.
    pub fn export_wrapped(&mut self, handle: Handle, wrap_with: Handle, out: &mut [u8]) -> Result<usize> {
        self.require(Role::User)?;
        let target = self.position(handle)?;
        let info = self.keys.get(target).map(|k| k.info.clone()).ok_or(Error::NotFound)?;
        if !info.extractable {
            self.ensure_room(AuditClass::Work)?;
            let mut e = EventWriter::new(tag::POLICY_DENIED).key(&info);
            e.put(&[0x0c]);
            self.append(AuditClass::Work, e)?;
            return Err(Error::NotExtractable);
        }
        if info.state == KeyState::Destroyed {
            return Err(Error::KeyState);
        }
        let w = self.authorize(wrap_with, Usage::WRAP, DeviceKeyType::Aes256)?;
        let kek = Kek::from_slice(self.material(w)?)?;
        let n = kek.wrap_padded(self.material(target)?, out)?;
        self.append(AuditClass::Work, EventWriter::new(tag::KEY_EXPORTED).key(&info))?;
        Ok(n)
    }

    /// Imports a key wrapped with AES-KWP under the AES-256 key
    /// `unwrap_with` (usage UNWRAP); the material must be 32 bytes (and a
    /// valid scalar for P-256).
    ///
    /// # Errors
    /// Policy errors; [`Error::Crypto`]`(Decrypt)` if it does not unwrap.
    #[allow(clippy::too_many_arguments)]
    pub fn import_wrapped(
        &mut self,
        unwrap_with: Handle,
        key_type: DeviceKeyType,
        key_id: &str,
        usage: Usage,
        extractable: bool,
        wrapped: &[u8],
    ) -> Result<Handle> {
        let w = self.authorize(unwrap_with, Usage::UNWRAP, DeviceKeyType::Aes256)?;
        let kek = Kek::from_slice(self.material(w)?)?;
        let mut buf = Zeroizing::new([0u8; 40]);
        let n = kek.unwrap_padded(wrapped, buf.as_mut_slice())?;
        let bytes = buf.get(..n).ok_or(Error::InvalidInput)?;
        let mut material = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(Error::InvalidInput);
        }
        material.copy_from_slice(bytes);
        if key_type == DeviceKeyType::P256 {
            P256SecretKey::from_bytes(material.as_slice())?;
        }
        self.insert(key_type, key_id, usage, extractable, material, tag::KEY_IMPORTED)
    }

    // ----- persistence -----

    /// Seals the token's state under `master` with the next keystore counter
    /// and writes it to `storage` atomically, using `scratch` (at least
    /// [`Self::SEALED_MAX_LEN`] bytes, zeroed afterwards). Logs
    /// `KeystoreSaved`. Returns the counter: keep it where `storage` cannot
    /// roll it back (a monotonic counter, OTP fuses) and pass it to
    /// [`Self::load`].
    ///
    /// # Errors
    /// [`Error::Capacity`] if `scratch` is too short; [`Error::Storage`].
    pub fn save<R: TryCryptoRng + ?Sized, S: Storage + ?Sized>(
        &mut self,
        rng: &mut R,
        storage: &mut S,
        master: &MasterKey,
        scratch: &mut [u8],
    ) -> Result<u64> {
        let counter = self.counter.checked_add(1).ok_or(Error::Capacity)?;
        let mut e = EventWriter::new(tag::KEYSTORE_SAVED);
        e.put(&counter.to_be_bytes());
        self.append(AuditClass::Auditor, e)?;
        let result = self.encode_state(scratch).and_then(|len| {
            let source = KeySource::MasterKey(master);
            let n = keystore::seal_in_place(rng, &source, counter, scratch, len, keystore::MIN_ITERATIONS)?;
            storage.write(scratch.get(..n).ok_or(Error::Capacity)?)
        });
        scratch.zeroize();
        result?;
        self.counter = counter;
        Ok(counter)
    }

    /// Reads, authenticates and opens a token saved by [`Self::save`],
    /// with `scratch` of at least [`Self::SEALED_MAX_LEN`] bytes (zeroed
    /// afterwards). No session is open.
    ///
    /// # Errors
    /// [`Error::TokenState`] if the storage is empty; [`Error::KeystoreAuth`],
    /// [`Error::KeystoreCorrupt`], [`Error::KeystoreRollback`] as the server
    /// keystore; [`Error::Capacity`] if the state holds more keys or records
    /// than this token type, or `scratch` is too short.
    pub fn load<S: Storage + ?Sized>(
        storage: &mut S,
        master: &MasterKey,
        min_counter: Option<u64>,
        clock: C,
        scratch: &mut [u8],
    ) -> Result<Self> {
        let result = (|| {
            let n = storage.read_into(scratch)?.ok_or(Error::TokenState)?;
            let sealed = scratch.get_mut(..n).ok_or(Error::Capacity)?;
            let (state, counter) =
                keystore::open_in_place(&KeySource::MasterKey(master), sealed, min_counter)?;
            Self::decode_state(state, counter, master, clock)
        })();
        scratch.zeroize();
        result
    }

    /// Writes the state (KEYSTORE.md §3.2) at the start of `out`.
    fn encode_state(&self, out: &mut [u8]) -> Result<usize> {
        let mut w = keystore::SliceWriter::new(out);
        w.put(STATE_MAGIC)?;
        w.put(&[STATE_VERSION, self.config.max_pin_failures])?;
        w.put(&self.config.pin_iterations.to_be_bytes())?;
        w.put(&self.config.audit_reserve.to_be_bytes())?;
        put_pin(&mut w, Some(&self.so_pin))?;
        put_pin(&mut w, self.user_pin.as_ref())?;
        put_pin(&mut w, self.auditor_pin.as_ref())?;
        w.put(&self.next_handle.to_be_bytes())?;
        w.put(&u16::try_from(self.keys.len()).map_err(|_| Error::Capacity)?.to_be_bytes())?;
        for k in &self.keys {
            let id = k.info.key_id.as_bytes();
            w.put(&k.info.handle.0.to_be_bytes())?;
            w.put(&[k.info.key_type.code(), u8::try_from(id.len()).map_err(|_| Error::Capacity)?])?;
            w.put(id)?;
            w.put(&[k.info.usage.bits(), u8::from(k.info.extractable), k.info.state.code()])?;
            w.put(&1u32.to_be_bytes())?;
            w.put(k.material.as_slice())?;
        }
        w.put(&self.anchor_seq.to_be_bytes())?;
        w.put(&self.anchor_mac)?;
        w.put(&u16::try_from(self.log.len()).map_err(|_| Error::Capacity)?.to_be_bytes())?;
        for r in &self.log {
            w.put(&r.time.to_be_bytes())?;
            w.put(&[u8::try_from(r.event.len()).map_err(|_| Error::Capacity)?])?;
            w.put(&r.event)?;
            w.put(&r.mac)?;
        }
        Ok(w.len())
    }

    fn decode_state(bytes: &[u8], counter: u64, master: &MasterKey, clock: C) -> Result<Self> {
        let mut d = Reader(bytes);
        if d.take(4)? != STATE_MAGIC || d.u8()? != STATE_VERSION {
            return Err(Error::KeystoreCorrupt);
        }
        let config =
            DeviceConfig { max_pin_failures: d.u8()?, pin_iterations: d.u32()?, audit_reserve: d.u16()? };
        if !Self::config_is_valid(&config) {
            return Err(Error::KeystoreCorrupt);
        }
        let so_pin = d.opt_pin()?.ok_or(Error::KeystoreCorrupt)?;
        let user_pin = d.opt_pin()?;
        let auditor_pin = d.opt_pin()?;
        let next_handle = d.u64()?;
        let key_count = usize::from(d.u16()?);
        if key_count > KEYS {
            return Err(Error::Capacity);
        }
        let mut keys: Vec<DeviceKey, KEYS> = Vec::new();
        for _ in 0..key_count {
            let handle = Handle(d.u64()?);
            let key_type = DeviceKeyType::from_code(d.u8()?)?;
            let key_id = d.str_ref(1, MAX_DEVICE_KEY_ID_LEN)?;
            let usage = Usage::from_bits(d.u8()?)?;
            let extractable = d.bool()?;
            let state = KeyState::from_code(d.u8()?)?;
            if d.u32()? != 1 || handle.0 == 0 || handle.0 >= next_handle {
                return Err(Error::KeystoreCorrupt);
            }
            if keys.iter().any(|k| k.info.handle == handle || k.info.key_id.as_str() == key_id) {
                return Err(Error::KeystoreCorrupt);
            }
            let material = Zeroizing::new(d.arr::<32>()?);
            // KEYSTORE.md §3.2: a destroyed key's material is zeros.
            if state == KeyState::Destroyed && material.iter().any(|b| *b != 0) {
                return Err(Error::KeystoreCorrupt);
            }
            let key_id = String::try_from(key_id).map_err(|_| Error::KeystoreCorrupt)?;
            let info = DeviceKeyInfo { handle, key_type, key_id, usage, extractable, state };
            keys.push(DeviceKey { info, material }).map_err(|_| Error::Capacity)?;
        }
        let anchor_seq = d.u64()?;
        let anchor_mac = d.arr()?;
        let record_count = usize::from(d.u16()?);
        if record_count > LOG {
            return Err(Error::Capacity);
        }
        let mut log = Deque::new();
        for _ in 0..record_count {
            let time = d.u64()?;
            let len = usize::from(d.u8()?);
            let event = Vec::from_slice(d.take(len)?).map_err(|_| Error::KeystoreCorrupt)?;
            let mac = d.arr()?;
            log.push_back(Record { time, event, mac }).map_err(|_| Error::Capacity)?;
        }
        if !d.is_empty() {
            return Err(Error::KeystoreCorrupt);
        }
        let token = DeviceToken {
            config,
            so_pin,
            user_pin,
            auditor_pin,
            keys,
            next_handle,
            audit_key: derive_audit_key(master)?,
            anchor_seq,
            anchor_mac,
            log,
            session: None,
            counter,
            clock,
        };
        token.verify_chain()?;
        Ok(token)
    }

    /// [`Self::audit_verify`] without the role check, for loading.
    fn verify_chain(&self) -> Result<()> {
        let mut prev = self.anchor_mac;
        let mut seq = self.anchor_seq;
        for (index, r) in self.log.iter().enumerate() {
            if !crate::chain::record_mac_matches(&self.audit_key, &prev, seq, r.time, &r.event, &r.mac) {
                return Err(Error::AuditTampered { index });
            }
            prev = r.mac;
            seq = seq.saturating_add(1);
        }
        Ok(())
    }
}

fn put_pin(w: &mut keystore::SliceWriter<'_>, pin: Option<&PinRecord>) -> Result<()> {
    match pin {
        None => w.put(&[0]),
        Some(p) => {
            w.put(&[1])?;
            w.put(&p.to_bytes())
        }
    }
}
