//! The HSM: slots holding tokens, sessions with roles, and every key
//! operation by handle, each checked against role, tenant, lifecycle state
//! and usage policy before any cryptography runs.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use coffer_core::envelope::{self, EncryptionContext, HeaderRef, Recipient, RecipientKind, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::p256::P256SecretKey;
use coffer_core::rng::TryCryptoRng;
use zeroize::Zeroizing;

use crate::audit::{AuditLog, AuditRecord, Role};
use crate::error::{Error, Result};
use crate::object::{Handle, KeyAttributes, KeyInfo, KeyObject, KeyState, KeyType, Secret, Usage, Version};
use crate::pin::{DEFAULT_MAX_FAILURES, DEFAULT_PIN_ITERATIONS, PinRecord};
use crate::policy::state_allows;

/// Most slots an [`Hsm`] may have.
pub const MAX_SLOTS: usize = 64;
/// Most keys (objects) one token may hold.
pub const MAX_KEYS_PER_TOKEN: usize = 1_000_000;
/// Most versions one key may have.
pub const MAX_VERSIONS: usize = 1024;

use crate::clock::Clock;

/// Token policy knobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Consecutive wrong PINs that lock a role (default 5).
    pub max_pin_failures: u8,
    /// PBKDF2 iterations for new PIN hashes (default 100,000).
    pub pin_iterations: u32,
    /// Whether keys may be imported in plaintext (only for tokens whose
    /// keystore is not sealed by an HSM-held key; default false).
    pub allow_plain_import: bool,
    /// Most records each token's audit log holds before an auditor must
    /// archive it (default and maximum [`crate::audit::MAX_RECORDS`]).
    pub audit_max_records: u32,
    /// Records kept back for the security officer and the auditor (default
    /// [`DEFAULT_AUDIT_RESERVE`]): once the log holds `audit_max_records -
    /// audit_reserve` records, key operations and user logins fail with
    /// [`Error::AuditFull`]; the security officer may still use half the
    /// reserve and the auditor all of it, to log in and call
    /// [`Hsm::audit_archive`]. Must be at least 2 and below `audit_max_records`.
    pub audit_reserve: u32,
}

/// Default [`Config::audit_reserve`].
pub const DEFAULT_AUDIT_RESERVE: u32 = 64;

impl Default for Config {
    fn default() -> Self {
        Config {
            max_pin_failures: DEFAULT_MAX_FAILURES,
            pin_iterations: DEFAULT_PIN_ITERATIONS,
            allow_plain_import: false,
            audit_max_records: crate::audit::MAX_RECORDS as u32,
            audit_reserve: DEFAULT_AUDIT_RESERVE,
        }
    }
}

impl Config {
    /// Whether the knobs are within their documented ranges.
    pub(crate) fn is_valid(&self) -> bool {
        let max = usize::try_from(self.audit_max_records).unwrap_or(usize::MAX);
        self.max_pin_failures >= 1
            && self.pin_iterations >= 1
            && max <= crate::audit::MAX_RECORDS
            && self.audit_reserve >= 2
            && self.audit_reserve < self.audit_max_records
    }
}

/// Who an audit record is for, which decides how much of the log it may use
/// (see [`Config::audit_reserve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AuditClass {
    /// Key operations, user logins: up to `max - reserve`.
    Work,
    /// Security officer logins and PIN administration: up to `max - reserve / 2`.
    SecurityOfficer,
    /// Auditor logins, archiving, keystore saves: up to `max`.
    Auditor,
}

/// An open session: which slot, role and (for users) tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SessionId(u64);

struct Session {
    slot: usize,
    role: Role,
    tenant: Option<String>,
}

pub(crate) struct Token {
    pub(crate) label: String,
    pub(crate) so_pin: PinRecord,
    pub(crate) user_pin: Option<PinRecord>,
    pub(crate) auditor_pin: Option<PinRecord>,
    pub(crate) keys: BTreeMap<Handle, KeyObject>,
    /// (tenant, key id) → handle, for lookups in O(log n).
    pub(crate) index: BTreeMap<(String, String), Handle>,
    pub(crate) next_handle: u64,
    /// The audit log's HMAC key, kept to persist the log.
    pub(crate) audit_key: Secret,
    pub(crate) audit: AuditLog,
}

impl Token {
    /// Every key of `tenant`, in key id order, in O(log n + k) through the index.
    fn tenant_keys<'a>(&'a self, tenant: &'a str) -> impl Iterator<Item = &'a KeyObject> + 'a {
        self.index
            .range((tenant.to_string(), String::new())..)
            .take_while(move |((t, _), _)| t == tenant)
            .filter_map(|(_, h)| self.keys.get(h))
    }
}

/// What a tenant crypto-shred destroyed, as evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShredEvidence {
    /// The tenant.
    pub tenant: String,
    /// Every destroyed key: (key id, newest version).
    pub keys: Vec<(String, u32)>,
    /// The audit records written by the shred.
    pub audit: Vec<AuditRecord>,
}

/// A software HSM: a fixed number of slots, each with at most one token.
///
/// `Send` and `Sync` (its clock must be too): share it between threads
/// behind a lock; every operation takes `&mut self` or `&self`.
pub struct Hsm {
    pub(crate) config: Config,
    /// Counter of the last keystore saved or loaded (KEYSTORE.md).
    pub(crate) counter: u64,
    pub(crate) slots: Vec<Option<Token>>,
    sessions: BTreeMap<SessionId, Session>,
    next_session: u64,
    clock: alloc::boxed::Box<dyn Clock + Send + Sync>,
}

impl core::fmt::Debug for Hsm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Hsm")
            .field("slots", &self.slots.len())
            .field("sessions", &self.sessions.len())
            .finish()
    }
}

fn operation_name(op: Usage) -> crate::audit::Operation {
    use crate::audit::Operation;
    if op == Usage::ENCRYPT {
        Operation::Seal
    } else if op == Usage::DECRYPT {
        Operation::Open
    } else if op == Usage::WRAP {
        Operation::Wrap
    } else if op == Usage::UNWRAP {
        Operation::Unwrap
    } else if op == Usage::SIGN {
        Operation::Sign
    } else if op == Usage::VERIFY {
        Operation::Verify
    } else {
        Operation::Derive
    }
}

impl Hsm {
    /// An HSM with `slots` empty slots (1..=64).
    pub fn new(
        slots: usize,
        config: Config,
        clock: alloc::boxed::Box<dyn Clock + Send + Sync>,
    ) -> Result<Self> {
        if slots == 0 || slots > MAX_SLOTS || !config.is_valid() {
            return Err(Error::InvalidInput);
        }
        let mut v = Vec::with_capacity(slots);
        v.resize_with(slots, || None);
        Ok(Hsm { config, counter: 0, slots: v, sessions: BTreeMap::new(), next_session: 1, clock })
    }

    pub(crate) fn from_parts(
        config: Config,
        counter: u64,
        slots: Vec<Option<Token>>,
        clock: alloc::boxed::Box<dyn Clock + Send + Sync>,
    ) -> Self {
        Hsm { config, counter, slots, sessions: BTreeMap::new(), next_session: 1, clock }
    }

    pub(crate) fn log_all_slots(&mut self, event: impl Fn() -> crate::audit::AuditEvent) -> Result<()> {
        let now = self.clock.now();
        let limit = self.audit_limit(AuditClass::Auditor);
        if self.slots.iter().flatten().any(|t| t.audit.records().len() >= limit) {
            return Err(Error::AuditFull);
        }
        for token in self.slots.iter_mut().flatten() {
            token.audit.append(now, event())?;
        }
        Ok(())
    }

    fn token(&self, slot: usize) -> Result<&Token> {
        self.slots.get(slot).and_then(Option::as_ref).ok_or(Error::TokenState)
    }

    fn token_mut(&mut self, slot: usize) -> Result<&mut Token> {
        self.slots.get_mut(slot).and_then(Option::as_mut).ok_or(Error::TokenState)
    }

    /// How many records a log may hold for events of `class`.
    fn audit_limit(&self, class: AuditClass) -> usize {
        let max = usize::try_from(self.config.audit_max_records).unwrap_or(usize::MAX);
        let max = max.min(crate::audit::MAX_RECORDS);
        let reserve = usize::try_from(self.config.audit_reserve).unwrap_or(max).min(max);
        match class {
            AuditClass::Work => max.saturating_sub(reserve),
            AuditClass::SecurityOfficer => max.saturating_sub(reserve / 2),
            AuditClass::Auditor => max,
        }
    }

    /// Refuses up front when the audit log cannot take `records` more
    /// records of `class`, so no operation happens without its audit record.
    fn ensure_audit_room_for(&self, slot: usize, records: usize, class: AuditClass) -> Result<()> {
        let audit = &self.token(slot)?.audit;
        let needed = audit.records().len().saturating_add(records);
        if audit.is_full() || needed > self.audit_limit(class) {
            return Err(Error::AuditFull);
        }
        Ok(())
    }

    /// [`Self::ensure_audit_room_for`] key operations.
    fn ensure_audit_room(&self, slot: usize, records: usize) -> Result<()> {
        self.ensure_audit_room_for(slot, records, AuditClass::Work)
    }

    fn log(&mut self, slot: usize, event: crate::audit::AuditEvent) -> Result<()> {
        let now = self.clock.now();
        self.token_mut(slot)?.audit.append(now, event)?;
        Ok(())
    }

    /// Initializes the token in `slot` with a security officer PIN and a
    /// fresh audit key. The slot must be empty.
    pub fn init_token<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        slot: usize,
        label: &str,
        so_pin: &[u8],
    ) -> Result<()> {
        if label.is_empty() || label.len() > crate::object::MAX_NAME_LEN {
            return Err(Error::InvalidInput);
        }
        let entry = self.slots.get_mut(slot).ok_or(Error::InvalidInput)?;
        if entry.is_some() {
            return Err(Error::TokenState);
        }
        let so_pin = PinRecord::new(rng, so_pin, self.config.pin_iterations)?;
        let mut audit_key = Secret { bytes: alloc::vec![0; 32] };
        rng.try_fill_bytes(&mut audit_key.bytes).map_err(|_| Error::Crypto(coffer_core::Error::Rng))?;
        let audit = AuditLog::new(audit_key.hmac()?);
        *entry = Some(Token {
            label: label.to_string(),
            so_pin,
            user_pin: None,
            auditor_pin: None,
            keys: BTreeMap::new(),
            index: BTreeMap::new(),
            next_handle: 1,
            audit_key,
            audit,
        });
        self.log(slot, crate::audit::AuditEvent::TokenInitialized)
    }

    /// Logs in `role` on `slot`. A user session is bound to `tenant` and
    /// sees only that tenant's keys; SO and auditor sessions take no tenant.
    ///
    /// # Errors
    /// [`Error::PinIncorrect`], then [`Error::PinLocked`] after the
    /// configured number of consecutive failures.
    pub fn login(&mut self, slot: usize, role: Role, pin: &[u8], tenant: Option<&str>) -> Result<SessionId> {
        let max = self.config.max_pin_failures;
        if matches!(role, Role::User) != tenant.is_some() {
            return Err(Error::InvalidInput);
        }
        if let Some(t) = tenant {
            if t.is_empty() || t.len() > crate::object::MAX_NAME_LEN {
                return Err(Error::InvalidInput);
            }
        }
        // Refused before the PIN is checked: no login attempt goes unlogged.
        let class = match role {
            Role::SecurityOfficer => AuditClass::SecurityOfficer,
            Role::User => AuditClass::Work,
            Role::Auditor => AuditClass::Auditor,
        };
        self.ensure_audit_room_for(slot, 1, class)?;
        let token = self.token_mut(slot)?;
        let record = match role {
            Role::SecurityOfficer => Some(&mut token.so_pin),
            Role::User => token.user_pin.as_mut(),
            Role::Auditor => token.auditor_pin.as_mut(),
        };
        let result = match record {
            None => Err(Error::TokenState),
            Some(r) => r.check(pin, max),
        };
        match result {
            Ok(()) => {
                self.log(slot, crate::audit::AuditEvent::LoginSucceeded { role })?;
                let id = SessionId(self.next_session);
                self.next_session = self.next_session.saturating_add(1);
                self.sessions.insert(id, Session { slot, role, tenant: tenant.map(ToString::to_string) });
                Ok(id)
            }
            Err(Error::PinLocked) => {
                self.log(slot, crate::audit::AuditEvent::PinLocked { role })?;
                Err(Error::PinLocked)
            }
            Err(e) => {
                self.log(slot, crate::audit::AuditEvent::LoginFailed { role })?;
                Err(e)
            }
        }
    }

    /// Ends a session.
    pub fn logout(&mut self, session: SessionId) -> Result<()> {
        self.sessions.remove(&session).map(|_| ()).ok_or(Error::NotLoggedIn)
    }

    fn session(&self, id: SessionId, role: Role) -> Result<(usize, Option<String>)> {
        let s = self.sessions.get(&id).ok_or(Error::NotLoggedIn)?;
        if s.role != role {
            return Err(Error::RoleNotAllowed);
        }
        Ok((s.slot, s.tenant.clone()))
    }

    /// Sets (or resets, unblocking it) the PIN of the user or auditor role.
    /// Security officer only.
    pub fn set_pin<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        so: SessionId,
        role: Role,
        pin: &[u8],
    ) -> Result<()> {
        let (slot, _) = self.session(so, Role::SecurityOfficer)?;
        self.ensure_audit_room_for(slot, 1, AuditClass::SecurityOfficer)?;
        let record = PinRecord::new(rng, pin, self.config.pin_iterations)?;
        let token = self.token_mut(slot)?;
        let was_set = match role {
            Role::User => token.user_pin.replace(record).is_some(),
            Role::Auditor => token.auditor_pin.replace(record).is_some(),
            Role::SecurityOfficer => return Err(Error::InvalidInput),
        };
        let event = if was_set {
            crate::audit::AuditEvent::PinUnblocked { role }
        } else {
            crate::audit::AuditEvent::PinChanged { role }
        };
        self.log(slot, event)
    }

    /// The user session's slot and tenant, and the key `handle` if it is
    /// the tenant's; another tenant's key is [`Error::NotFound`].
    fn user_key(&self, session: SessionId, handle: Handle) -> Result<(usize, String, &KeyObject)> {
        let (slot, tenant) = self.session(session, Role::User)?;
        let tenant = tenant.ok_or(Error::NotLoggedIn)?;
        let key = self.token(slot)?.keys.get(&handle).ok_or(Error::NotFound)?;
        if key.attrs.tenant != tenant {
            return Err(Error::NotFound);
        }
        Ok((slot, tenant, key))
    }

    /// Checks role, tenant, lifecycle and usage for `op` before any crypto;
    /// a denial is audited.
    fn authorize(
        &mut self,
        session: SessionId,
        handle: Handle,
        op: Usage,
        types: &[KeyType],
    ) -> Result<usize> {
        let (slot, _, key) = self.user_key(session, handle)?;
        if !types.contains(&key.key_type) {
            return Err(Error::InvalidInput);
        }
        self.ensure_audit_room(slot, 1)?;
        let key_ref = key_ref(key);
        let denied = if !state_allows(key.state, op) {
            Some(Error::KeyState)
        } else if !key.attrs.usage.allows(op) {
            Some(Error::PolicyDenied)
        } else {
            None
        };
        if let Some(e) = denied {
            self.log(
                slot,
                crate::audit::AuditEvent::PolicyDenied { key: key_ref, operation: operation_name(op) },
            )?;
            return Err(e);
        }
        self.log(slot, crate::audit::AuditEvent::KeyUsed { key: key_ref, operation: operation_name(op) })?;
        Ok(slot)
    }

    fn object(&self, slot: usize, handle: Handle) -> Result<&KeyObject> {
        self.token(slot)?.keys.get(&handle).ok_or(Error::NotFound)
    }

    fn insert_key(
        &mut self,
        slot: usize,
        tenant: &str,
        key_type: KeyType,
        attrs: KeyAttributes,
        secret: Secret,
    ) -> Result<Handle> {
        attrs.validate()?;
        if attrs.tenant != tenant {
            return Err(Error::InvalidInput);
        }
        self.ensure_audit_room(slot, 1)?;
        let token = self.token_mut(slot)?;
        if token.keys.len() >= MAX_KEYS_PER_TOKEN {
            return Err(Error::Capacity);
        }
        let index_key = (attrs.tenant.clone(), attrs.key_id.clone());
        if token.index.contains_key(&index_key) {
            return Err(Error::InvalidInput);
        }
        let handle = Handle(token.next_handle);
        token.next_handle = token.next_handle.checked_add(1).ok_or(Error::Capacity)?;
        let state = if attrs.active { KeyState::Active } else { KeyState::PreActive };
        let obj = KeyObject {
            handle,
            key_type,
            attrs,
            state,
            versions: alloc::vec![Version { number: 1, secret }],
            latest: 1,
            expires_at: None,
        };
        let key_ref = key_ref(&obj);
        token.keys.insert(handle, obj);
        token.index.insert(index_key, handle);
        self.log(slot, crate::audit::AuditEvent::KeyCreated { key: key_ref })?;
        Ok(handle)
    }

    /// Generates a key for the session's tenant (`attrs.tenant` must be it).
    pub fn generate<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        key_type: KeyType,
        attrs: KeyAttributes,
    ) -> Result<Handle> {
        let (slot, tenant) = self.session(session, Role::User)?;
        let tenant = tenant.ok_or(Error::NotLoggedIn)?;
        let secret = new_secret(rng, key_type)?;
        self.insert_key(slot, &tenant, key_type, attrs, secret)
    }

    /// Imports plaintext key material. Refused unless the token's config
    /// allows plaintext import ([`Config::allow_plain_import`]).
    pub fn import_plain(
        &mut self,
        session: SessionId,
        key_type: KeyType,
        attrs: KeyAttributes,
        material: &[u8],
    ) -> Result<Handle> {
        let (slot, tenant) = self.session(session, Role::User)?;
        let tenant = tenant.ok_or(Error::NotLoggedIn)?;
        if !self.config.allow_plain_import {
            return Err(Error::PolicyDenied);
        }
        let secret = Secret { bytes: material.to_vec() };
        check_secret(key_type, &secret)?;
        self.insert_key(slot, &tenant, key_type, attrs, secret)
    }

    /// Looks up the tenant's key by key id.
    pub fn find(&self, session: SessionId, key_id: &str) -> Result<Handle> {
        let (slot, tenant) = self.session(session, Role::User)?;
        let tenant = tenant.ok_or(Error::NotLoggedIn)?;
        self.token(slot)?.index.get(&(tenant, key_id.to_string())).copied().ok_or(Error::NotFound)
    }

    /// The key's public description (never its material).
    pub fn info(&self, session: SessionId, handle: Handle) -> Result<KeyInfo> {
        self.user_key(session, handle).map(|(_, _, k)| k.info())
    }

    /// Every key of the session's tenant.
    pub fn list(&self, session: SessionId) -> Result<Vec<KeyInfo>> {
        let (slot, tenant) = self.session(session, Role::User)?;
        let tenant = tenant.ok_or(Error::NotLoggedIn)?;
        Ok(self.token(slot)?.tenant_keys(&tenant).map(KeyObject::info).collect())
    }

    /// Sets (or clears, with `None`) when the key expires, in seconds since
    /// the Unix epoch. Expiry does nothing by itself: [`Self::sweep_expired`]
    /// deactivates expired keys, so that they still decrypt, unwrap and
    /// verify what exists but make nothing new. User only.
    ///
    /// # Errors
    /// [`Error::KeyState`] for a destroyed key.
    pub fn set_expiry(&mut self, session: SessionId, handle: Handle, expires_at: Option<u64>) -> Result<()> {
        let (slot, _, key) = self.user_key(session, handle)?;
        if key.state == KeyState::Destroyed {
            return Err(Error::KeyState);
        }
        self.ensure_audit_room(slot, 1)?;
        let key = self.token_mut(slot)?.keys.get_mut(&handle).ok_or(Error::NotFound)?;
        key.expires_at = expires_at;
        let key_ref = key_ref(key);
        let expires_at = expires_at.unwrap_or(0);
        self.log(slot, crate::audit::AuditEvent::KeyExpirySet { key: key_ref, expires_at })
    }

    /// The lifecycle sweep: deactivates every active (or pre-active) key of
    /// the session's tenant whose expiry is at or before the HSM clock's
    /// now, logs each change, and returns their handles. Run it on a
    /// schedule (the `coffer` CLI has no daemon; a cron job calling it is
    /// enough). User only.
    ///
    /// ```
    /// # use coffer_core::rng::OsRng;
    /// # use coffer_hsm::{Config, Hsm, KeyAttributes, KeyState, KeyType, Role, SystemClock, Usage};
    /// # let mut hsm = Hsm::new(1, Config { pin_iterations: 1_000, ..Config::default() }, Box::new(SystemClock))?;
    /// # hsm.init_token(&mut OsRng, 0, "t", b"so-pin-1")?;
    /// # let so = hsm.login(0, Role::SecurityOfficer, b"so-pin-1", None)?;
    /// # hsm.set_pin(&mut OsRng, so, Role::User, b"user-pin")?;
    /// let s = hsm.login(0, Role::User, b"user-pin", Some("acme"))?;
    /// let attrs = KeyAttributes {
    ///     label: "webhooks 2026".into(), tenant: "acme".into(), key_id: "webhooks-2026".into(),
    ///     usage: Usage::SIGN | Usage::VERIFY, extractable: false, active: true,
    /// };
    /// let key = hsm.generate(&mut OsRng, s, KeyType::HmacSha256, attrs)?;
    /// hsm.set_expiry(s, key, Some(1))?; // long past
    /// assert_eq!(hsm.sweep_expired(s)?, vec![key]);
    /// assert_eq!(hsm.info(s, key)?.state, KeyState::Deactivated);
    /// assert!(hsm.sweep_expired(s)?.is_empty());
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::AuditFull`] if the log cannot record every change (nothing changes).
    pub fn sweep_expired(&mut self, session: SessionId) -> Result<Vec<Handle>> {
        let (slot, tenant) = self.session(session, Role::User)?;
        let tenant = tenant.ok_or(Error::NotLoggedIn)?;
        let now = self.clock.now();
        let due: Vec<Handle> = self
            .token(slot)?
            .tenant_keys(&tenant)
            .filter(|k| matches!(k.state, KeyState::Active | KeyState::PreActive))
            .filter(|k| k.expires_at.is_some_and(|t| t <= now))
            .map(|k| k.handle)
            .collect();
        self.ensure_audit_room(slot, due.len())?;
        for &handle in &due {
            let key = self.token_mut(slot)?.keys.get_mut(&handle).ok_or(Error::NotFound)?;
            key.state = KeyState::Deactivated;
            let key_ref = key_ref(key);
            self.log(
                slot,
                crate::audit::AuditEvent::KeyStateChanged {
                    key: key_ref,
                    state: crate::audit::KeyStateName::Deactivated,
                },
            )?;
        }
        Ok(due)
    }

    /// Moves the key to `state`. Destroyed is final; use [`Self::destroy`] for it.
    pub fn set_state(&mut self, session: SessionId, handle: Handle, state: KeyState) -> Result<()> {
        let (slot, _, key) = self.user_key(session, handle)?;
        self.ensure_audit_room(slot, 1)?;
        let allowed = matches!(
            (key.state, state),
            (KeyState::PreActive, KeyState::Active)
                | (KeyState::Active | KeyState::PreActive, KeyState::Deactivated)
        );
        if !allowed {
            return Err(Error::KeyState);
        }
        let key_ref = key_ref(key);
        if let Some(k) = self.token_mut(slot)?.keys.get_mut(&handle) {
            k.state = state;
        }
        self.log(slot, crate::audit::AuditEvent::KeyStateChanged { key: key_ref, state: state_name(state) })
    }

    /// Creates a new version of the key; it becomes the one used to seal,
    /// wrap and sign, while older versions still open, unwrap and verify.
    pub fn rotate<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
    ) -> Result<u32> {
        let (slot, _, key) = self.user_key(session, handle)?;
        if key.state != KeyState::Active {
            return Err(Error::KeyState);
        }
        if key.versions.len() >= MAX_VERSIONS {
            return Err(Error::Capacity);
        }
        let number = key.latest.checked_add(1).ok_or(Error::Capacity)?;
        self.ensure_audit_room(slot, 1)?;
        let secret = new_secret(rng, key.key_type)?;
        let token = self.token_mut(slot)?;
        let key = token.keys.get_mut(&handle).ok_or(Error::NotFound)?;
        key.versions.push(Version { number, secret });
        key.latest = number;
        let key_ref = key_ref(key);
        self.log(slot, crate::audit::AuditEvent::KeyRotated { key: key_ref, new_version: number })?;
        Ok(number)
    }

    fn destroy_in(&mut self, slot: usize, handle: Handle) -> Result<(String, u32)> {
        let token = self.token_mut(slot)?;
        let key = token.keys.get_mut(&handle).ok_or(Error::NotFound)?;
        key.versions.clear(); // each Secret zeroizes on drop
        key.state = KeyState::Destroyed;
        let out = (key.attrs.key_id.clone(), key.latest);
        let key_ref = key_ref(key);
        self.log(slot, crate::audit::AuditEvent::KeyDestroyed { key: key_ref })?;
        Ok(out)
    }

    /// Destroys every version of the key. The record stays (state
    /// Destroyed) so its id is never reused and the audit log stays meaningful.
    pub fn destroy(&mut self, session: SessionId, handle: Handle) -> Result<()> {
        let (slot, _, key) = self.user_key(session, handle)?;
        if key.state == KeyState::Destroyed {
            return Err(Error::KeyState);
        }
        self.ensure_audit_room(slot, 1)?;
        self.destroy_in(slot, handle).map(|_| ())
    }

    /// Crypto-shreds a tenant: destroys every key of `tenant`. Security
    /// officer only. Returns the destroyed key ids and versions and the
    /// audit records written, as evidence that none of the tenant's
    /// envelopes can be opened any more.
    pub fn shred_tenant(&mut self, so: SessionId, tenant: &str) -> Result<ShredEvidence> {
        let (slot, _) = self.session(so, Role::SecurityOfficer)?;
        if tenant.is_empty() || tenant.len() > crate::object::MAX_NAME_LEN {
            return Err(Error::InvalidInput);
        }
        let token = self.token(slot)?;
        let first_seq = token.audit.records().len();
        let handles: Vec<Handle> =
            token.tenant_keys(tenant).filter(|k| k.state != KeyState::Destroyed).map(|k| k.handle).collect();
        self.ensure_audit_room(slot, handles.len().saturating_add(1))?;
        let mut keys = Vec::with_capacity(handles.len());
        for h in handles {
            keys.push(self.destroy_in(slot, h)?);
        }
        let count = u32::try_from(keys.len()).unwrap_or(u32::MAX);
        self.log(slot, crate::audit::AuditEvent::TenantShredded { tenant: tenant.to_string(), keys: count })?;
        let audit = self
            .token(slot)?
            .audit
            .records()
            .get(first_seq..)
            .map(<[AuditRecord]>::to_vec)
            .unwrap_or_default();
        Ok(ShredEvidence { tenant: tenant.to_string(), keys, audit })
    }

    /// Seals `plaintext` as an envelope v1 for the current version of the
    /// KEK or RSA key `handle` (usage ENCRYPT), bound to `context`. The envelope's
    /// recipient key id is the key's id; its version is the key's version.
    pub fn seal_envelope<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        context: &EncryptionContext<'_>,
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let slot = self.authorize(session, handle, Usage::ENCRYPT, &ENVELOPE_KEYS)?;
        let key = self.object(slot, handle)?;
        let current = key.current()?;
        let id = key.attrs.key_id.as_bytes();
        if key.key_type == KeyType::Aes256 {
            let kek = current.secret.kek()?;
            let to = [Recipient::Kek { key_id: id, version: current.number, kek: &kek }];
            Ok(envelope::seal(rng, &to, context, plaintext)?)
        } else {
            let pk = current.secret.rsa()?.public_key();
            let to = [Recipient::Rsa { key_id: id, version: current.number, public_key: &pk }];
            Ok(envelope::seal(rng, &to, context, plaintext)?)
        }
    }

    /// Opens an envelope sealed to any version of the KEK or RSA key
    /// `handle` (usage DECRYPT).
    pub fn open_envelope<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        context: &EncryptionContext<'_>,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let slot = self.authorize(session, handle, Usage::DECRYPT, &ENVELOPE_KEYS)?;
        self.with_unlock_keys(slot, handle, |unlock| Ok(envelope::open(rng, unlock, context, sealed)?))
    }

    /// Every version of the KEK or RSA key `handle` as envelope unlock keys.
    fn with_unlock_keys<T>(
        &self,
        slot: usize,
        handle: Handle,
        f: impl FnOnce(&[UnlockKey<'_>]) -> Result<T>,
    ) -> Result<T> {
        let key = self.object(slot, handle)?;
        let id = key.attrs.key_id.as_bytes();
        if key.key_type == KeyType::Aes256 {
            let keks: Vec<(u32, Kek)> =
                key.versions.iter().map(|v| v.secret.kek().map(|k| (v.number, k))).collect::<Result<_>>()?;
            let unlock: Vec<UnlockKey<'_>> =
                keks.iter().map(|(n, k)| UnlockKey::Kek { key_id: id, version: *n, kek: k }).collect();
            f(&unlock)
        } else {
            let rsa: Vec<(u32, coffer_core::rsa::RsaPrivateKey)> =
                key.versions.iter().map(|v| v.secret.rsa().map(|k| (v.number, k))).collect::<Result<_>>()?;
            let unlock: Vec<UnlockKey<'_>> =
                rsa.iter().map(|(n, k)| UnlockKey::Rsa { key_id: id, version: *n, private_key: k }).collect();
            f(&unlock)
        }
    }

    /// The current version of the KEK or RSA key `handle` as an envelope
    /// recipient, with `extra` recipients after it.
    #[cfg(feature = "std")]
    fn with_recipients<T>(
        &self,
        slot: usize,
        handle: Handle,
        extra: &[Recipient<'_>],
        f: impl FnOnce(&[Recipient<'_>]) -> Result<T>,
    ) -> Result<T> {
        let key = self.object(slot, handle)?;
        let current = key.current()?;
        let id = key.attrs.key_id.as_bytes();
        if key.key_type == KeyType::Aes256 {
            let kek = current.secret.kek()?;
            let mut to = alloc::vec![Recipient::Kek { key_id: id, version: current.number, kek: &kek }];
            to.extend_from_slice(extra);
            f(&to)
        } else {
            let pk = current.secret.rsa()?.public_key();
            let mut to = alloc::vec![Recipient::Rsa { key_id: id, version: current.number, public_key: &pk }];
            to.extend_from_slice(extra);
            f(&to)
        }
    }

    /// Seals `input` into `output` as an envelope v1, one chunk in memory at
    /// a time (feature `std`): for the current version of the KEK or RSA key
    /// `handle` (usage ENCRYPT) and any `extra` recipients (public keys of
    /// other parties), bound to `context`. Returns the plaintext length.
    ///
    /// # Errors
    /// Policy errors first; [`Error::Io`] if reading or writing fails.
    #[cfg(feature = "std")]
    #[allow(clippy::too_many_arguments)]
    pub fn seal_stream<R: TryCryptoRng + ?Sized, I: std::io::Read, O: std::io::Write>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        extra: &[Recipient<'_>],
        context: &EncryptionContext<'_>,
        input: I,
        output: O,
    ) -> Result<u64> {
        let slot = self.authorize(session, handle, Usage::ENCRYPT, &ENVELOPE_KEYS)?;
        self.with_recipients(slot, handle, extra, |to| {
            envelope::seal_stream(rng, to, context, envelope::DEFAULT_CHUNK_SIZE, input, output)
                .map_err(stream_error)
        })
    }

    /// Opens an envelope from `input` into `output` one chunk at a time
    /// (feature `std`) with any version of the KEK or RSA key `handle`
    /// (usage DECRYPT). Plaintext is written only chunk by authenticated
    /// chunk; on an error the output so far must be discarded (it may be a
    /// truncated prefix). Returns the plaintext length.
    ///
    /// # Errors
    /// Policy errors first; [`Error::Crypto`]`(Decrypt)` for any bad
    /// envelope; [`Error::Io`] if reading or writing fails.
    #[cfg(feature = "std")]
    pub fn open_stream<R: TryCryptoRng + ?Sized, I: std::io::Read, O: std::io::Write>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        context: &EncryptionContext<'_>,
        input: I,
        output: O,
    ) -> Result<u64> {
        let slot = self.authorize(session, handle, Usage::DECRYPT, &ENVELOPE_KEYS)?;
        self.with_unlock_keys(slot, handle, |unlock| {
            envelope::open_stream(rng, unlock, context, &envelope::Limits::DEFAULT, input, output)
                .map_err(stream_error)
        })
    }

    /// Rewraps an envelope of the KEK `handle` to its current version,
    /// changing only the header (usage UNWRAP and WRAP). An envelope
    /// already on the current version is returned unchanged.
    pub fn rewrap_envelope<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        sealed: &[u8],
    ) -> Result<Vec<u8>> {
        self.authorize(session, handle, Usage::UNWRAP, &[KeyType::Aes256])?;
        let slot = self.authorize(session, handle, Usage::WRAP, &[KeyType::Aes256])?;
        let key = self.object(slot, handle)?;
        let current = key.current()?;
        let id = key.attrs.key_id.as_bytes();
        let header = HeaderRef::parse(sealed).map_err(|_| Error::Crypto(coffer_core::Error::Decrypt))?;
        let old_version = header
            .recipients()
            .find(|r| r.kind == RecipientKind::Aes256Kw && r.key_id == id)
            .map(|r| r.key_version)
            .ok_or(Error::Crypto(coffer_core::Error::Decrypt))?;
        if old_version == current.number {
            return Ok(sealed.to_vec());
        }
        let old_kek = key.version(old_version)?.secret.kek()?;
        let new_kek = current.secret.kek()?;
        let old = UnlockKey::Kek { key_id: id, version: old_version, kek: &old_kek };
        let new = Recipient::Kek { key_id: id, version: current.number, kek: &new_kek };
        Ok(envelope::rewrap(rng, sealed, &old, &new)?)
    }

    /// Signs `msg` with the current version (usage SIGN): ECDSA P-256
    /// SHA-256 (DER) for a P-256 key, RSASSA-PSS SHA-256 for an RSA key.
    pub fn sign<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        msg: &[u8],
    ) -> Result<Vec<u8>> {
        let slot = self.authorize(session, handle, Usage::SIGN, &ASYMMETRIC)?;
        let key = self.object(slot, handle)?;
        let secret = &key.current()?.secret;
        match key.key_type {
            KeyType::P256 => Ok(secret.p256()?.sign_der(msg).as_bytes().to_vec()),
            _ => Ok(secret.rsa()?.sign_pss(rng, msg)?),
        }
    }

    /// Verifies a signature made by [`Self::sign`] against any version of
    /// the key, or against a certificate object's key (usage VERIFY).
    pub fn verify(&mut self, session: SessionId, handle: Handle, msg: &[u8], sig: &[u8]) -> Result<()> {
        let types =
            [KeyType::P256, KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Rsa4096, KeyType::Certificate];
        let slot = self.authorize(session, handle, Usage::VERIFY, &types)?;
        let key = self.object(slot, handle)?;
        for v in key.versions.iter().rev() {
            if public_key_of(key.key_type, &v.secret)?.verify(msg, sig).is_ok() {
                return Ok(());
            }
        }
        Err(Error::Crypto(coffer_core::Error::Verify))
    }

    /// The public key of the current version as SPKI DER (P-256, RSA, or a
    /// certificate's subject key).
    pub fn public_key_der(&self, session: SessionId, handle: Handle) -> Result<Vec<u8>> {
        let (_, _, key) = self.user_key(session, handle)?;
        if key.state == KeyState::Destroyed {
            return Err(Error::KeyState);
        }
        public_key_of(key.key_type, &key.current()?.secret)?.spki_der()
    }

    /// The DER of a certificate object.
    pub fn certificate_der(&self, session: SessionId, handle: Handle) -> Result<Vec<u8>> {
        let (_, _, key) = self.user_key(session, handle)?;
        if key.key_type != KeyType::Certificate {
            return Err(Error::InvalidInput);
        }
        Ok(key.current()?.secret.bytes.clone())
    }

    /// Stores a certificate (DER) as an object of the session's tenant,
    /// with usage VERIFY. Certificates are public, so the plaintext-import
    /// policy does not apply.
    pub fn import_certificate(
        &mut self,
        session: SessionId,
        mut attrs: KeyAttributes,
        der: &[u8],
    ) -> Result<Handle> {
        let (slot, tenant) = self.session(session, Role::User)?;
        let tenant = tenant.ok_or(Error::NotLoggedIn)?;
        let secret = Secret { bytes: der.to_vec() };
        check_secret(KeyType::Certificate, &secret)?;
        attrs.usage = Usage::VERIFY;
        attrs.extractable = true;
        self.insert_key(slot, &tenant, KeyType::Certificate, attrs, secret)
    }

    /// Stores a certificate (DER) only if it chains to the CA certificate
    /// object `ca` of the same tenant at the HSM clock's time (see
    /// [`coffer_core::cert::verify_chain`]); the check is audited as a use of
    /// `ca` for verification. Use this for peer certificates, so that a
    /// certificate object is a trusted key, not just stored bytes.
    ///
    /// # Errors
    /// The policy errors of `ca` (it must be an active certificate object
    /// with usage VERIFY); [`Error::Crypto`] with the certificate error
    /// (`Verify`, `IssuerMismatch`, `NotACa`, `CertificateExpired`,
    /// `CertificateNotYetValid`, `UnknownCriticalExtension`); nothing is stored.
    pub fn import_certificate_issued_by(
        &mut self,
        session: SessionId,
        attrs: KeyAttributes,
        der: &[u8],
        ca: Handle,
    ) -> Result<Handle> {
        self.check_certificate(session, der, ca)?;
        self.import_certificate(session, attrs, der)
    }

    /// Checks now that the certificate object `cert` still chains to the CA
    /// certificate object `ca` (both of the session's tenant): signature,
    /// issuer, CA constraints and both validity windows at the HSM clock's
    /// time. Audited as a use of `ca` for verification.
    ///
    /// # Errors
    /// As [`Self::import_certificate_issued_by`]; [`Error::InvalidInput`] if
    /// `cert` is not a certificate object.
    pub fn verify_certificate(&mut self, session: SessionId, cert: Handle, ca: Handle) -> Result<()> {
        let (_, _, key) = self.user_key(session, cert)?;
        if key.key_type != KeyType::Certificate {
            return Err(Error::InvalidInput);
        }
        let der = key.current()?.secret.bytes.clone();
        self.check_certificate(session, &der, ca)
    }

    fn check_certificate(&mut self, session: SessionId, der: &[u8], ca: Handle) -> Result<()> {
        let leaf = coffer_core::cert::Certificate::from_der(der)?;
        let slot = self.authorize(session, ca, Usage::VERIFY, &[KeyType::Certificate])?;
        let ca_der = &self.object(slot, ca)?.current()?.secret.bytes;
        let ca_cert = coffer_core::cert::Certificate::from_der(ca_der)?;
        coffer_core::cert::verify_chain(&leaf, &ca_cert, self.clock.now())?;
        Ok(())
    }

    /// HMAC-SHA-256 over the concatenation of `parts` (usage SIGN).
    pub fn hmac_sign(&mut self, session: SessionId, handle: Handle, parts: &[&[u8]]) -> Result<[u8; 32]> {
        let slot = self.authorize(session, handle, Usage::SIGN, &[KeyType::HmacSha256])?;
        let mac = self.object(slot, handle)?.current()?.secret.hmac()?;
        Ok(mac.sign_parts(parts))
    }

    /// Verifies an HMAC-SHA-256 tag in constant time against any version (usage VERIFY).
    pub fn hmac_verify(
        &mut self,
        session: SessionId,
        handle: Handle,
        parts: &[&[u8]],
        tag: &[u8],
    ) -> Result<()> {
        let slot = self.authorize(session, handle, Usage::VERIFY, &[KeyType::HmacSha256])?;
        let key = self.object(slot, handle)?;
        let mut ok = false;
        for v in &key.versions {
            ok |= v.secret.hmac()?.verify_parts(parts, tag).is_ok();
        }
        if ok { Ok(()) } else { Err(Error::Crypto(coffer_core::Error::Verify)) }
    }

    /// Exports the current version of `target` wrapped under the current
    /// version of `wrapping` with AES-KWP. The target must be extractable
    /// (and is otherwise never exported in any form); the wrapping key needs
    /// usage WRAP.
    pub fn export_wrapped(
        &mut self,
        session: SessionId,
        wrapping: Handle,
        target: Handle,
    ) -> Result<Vec<u8>> {
        let (_, _, t) = self.user_key(session, target)?;
        if !t.attrs.extractable {
            let slot = self.session(session, Role::User)?.0;
            let key_ref = key_ref(t);
            self.log(
                slot,
                crate::audit::AuditEvent::PolicyDenied {
                    key: key_ref,
                    operation: crate::audit::Operation::Export,
                },
            )?;
            return Err(Error::NotExtractable);
        }
        if t.state == KeyState::Destroyed {
            return Err(Error::KeyState);
        }
        let slot = self.authorize(session, wrapping, Usage::WRAP, &[KeyType::Aes256])?;
        let kek = self.object(slot, wrapping)?.current()?.secret.kek()?;
        let t = self.object(slot, target)?;
        let key_ref = key_ref(t);
        let wrapped = kek.wrap_padded_to_vec(&t.current()?.secret.bytes)?;
        self.log(slot, crate::audit::AuditEvent::KeyExported { key: key_ref })?;
        Ok(wrapped)
    }

    /// Wraps the caller's key material (a data key, 1..=16384 bytes) with
    /// AES-KWP (RFC 5649) under the current version of the AES-256 key
    /// `kek` (usage WRAP). Older versions never wrap; they still unwrap.
    ///
    /// ```
    /// # use coffer_core::rng::OsRng;
    /// # use coffer_hsm::{Config, Hsm, KeyAttributes, KeyType, Role, SystemClock, Usage};
    /// # let mut hsm = Hsm::new(1, Config { pin_iterations: 1_000, ..Config::default() }, Box::new(SystemClock))?;
    /// # hsm.init_token(&mut OsRng, 0, "t", b"so-pin-1")?;
    /// # let so = hsm.login(0, Role::SecurityOfficer, b"so-pin-1", None)?;
    /// # hsm.set_pin(&mut OsRng, so, Role::User, b"user-pin")?;
    /// let s = hsm.login(0, Role::User, b"user-pin", Some("acme"))?;
    /// let attrs = KeyAttributes {
    ///     label: "acme transport".into(), tenant: "acme".into(), key_id: "transport".into(),
    ///     usage: Usage::WRAP | Usage::UNWRAP, extractable: false, active: true,
    /// };
    /// let kek = hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs)?;
    /// let wrapped = hsm.wrap_key(s, kek, &[0x11; 32])?;
    /// hsm.rotate(&mut OsRng, s, kek)?;
    /// assert_eq!(&hsm.unwrap_key(s, kek, &wrapped)?[..], &[0x11; 32]);
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// Policy errors first; [`Error::InvalidInput`] for empty or too long material.
    pub fn wrap_key(&mut self, session: SessionId, kek: Handle, key_material: &[u8]) -> Result<Vec<u8>> {
        self.wrap_with(session, kek, key_material, KeyWrap::Kwp)
    }

    /// As [`Self::wrap_key`] with AES-KW (RFC 3394, no padding): the
    /// material must be a multiple of 8 bytes, at least 16.
    ///
    /// # Errors
    /// As [`Self::wrap_key`]; [`Error::Crypto`] for a length KW cannot wrap.
    pub fn wrap_key_kw(&mut self, session: SessionId, kek: Handle, key_material: &[u8]) -> Result<Vec<u8>> {
        self.wrap_with(session, kek, key_material, KeyWrap::Kw)
    }

    fn wrap_with(
        &mut self,
        session: SessionId,
        kek: Handle,
        material: &[u8],
        mode: KeyWrap,
    ) -> Result<Vec<u8>> {
        if material.is_empty() || material.len() > crate::object::MAX_MATERIAL_LEN {
            return Err(Error::InvalidInput);
        }
        let slot = self.authorize(session, kek, Usage::WRAP, &[KeyType::Aes256])?;
        let key = self.object(slot, kek)?.current()?.secret.kek()?;
        Ok(match mode {
            KeyWrap::Kw => key.wrap_to_vec(material)?,
            KeyWrap::Kwp => key.wrap_padded_to_vec(material)?,
        })
    }

    /// Unwraps material wrapped by [`Self::wrap_key`] (AES-KWP) under any
    /// version of `kek` (usage UNWRAP, also when deactivated). The bytes are
    /// returned to the caller, zeroized on drop.
    ///
    /// # Errors
    /// Policy errors first; [`Error::Crypto`]`(Decrypt)` if no version unwraps it.
    pub fn unwrap_key(
        &mut self,
        session: SessionId,
        kek: Handle,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.unwrap_with(session, kek, wrapped, KeyWrap::Kwp)
    }

    /// Unwraps material wrapped by [`Self::wrap_key_kw`] (AES-KW, RFC 3394).
    ///
    /// # Errors
    /// As [`Self::unwrap_key`].
    pub fn unwrap_key_kw(
        &mut self,
        session: SessionId,
        kek: Handle,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.unwrap_with(session, kek, wrapped, KeyWrap::Kw)
    }

    fn unwrap_with(
        &mut self,
        session: SessionId,
        kek: Handle,
        wrapped: &[u8],
        mode: KeyWrap,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let slot = self.authorize(session, kek, Usage::UNWRAP, &[KeyType::Aes256])?;
        for v in self.object(slot, kek)?.versions.iter().rev() {
            let key = v.secret.kek()?;
            let r = match mode {
                KeyWrap::Kw => key.unwrap_to_vec(wrapped),
                KeyWrap::Kwp => key.unwrap_padded_to_vec(wrapped),
            };
            if let Ok(m) = r {
                return Ok(m);
            }
        }
        Err(Error::Crypto(coffer_core::Error::Decrypt))
    }

    /// Imports a key wrapped (AES-KWP) under any version of `unwrapping`
    /// (usage UNWRAP) as a new key with `attrs`.
    pub fn import_wrapped(
        &mut self,
        session: SessionId,
        unwrapping: Handle,
        key_type: KeyType,
        attrs: KeyAttributes,
        wrapped: &[u8],
    ) -> Result<Handle> {
        let slot = self.authorize(session, unwrapping, Usage::UNWRAP, &[KeyType::Aes256])?;
        let tenant = self.session(session, Role::User)?.1.ok_or(Error::NotLoggedIn)?;
        let key = self.object(slot, unwrapping)?;
        let mut material = None;
        for v in key.versions.iter().rev() {
            if let Ok(m) = v.secret.kek()?.unwrap_padded_to_vec(wrapped) {
                material = Some(m);
                break;
            }
        }
        let material = material.ok_or(Error::Crypto(coffer_core::Error::Decrypt))?;
        let secret = Secret { bytes: material.to_vec() };
        check_secret(key_type, &secret)?;
        let handle = self.insert_key(slot, &tenant, key_type, attrs, secret)?;
        Ok(handle)
    }

    /// The audit records of `slot`. Auditor only.
    pub fn audit_records(&self, auditor: SessionId) -> Result<Vec<AuditRecord>> {
        let (slot, _) = self.session(auditor, Role::Auditor)?;
        Ok(self.token(slot)?.audit.records().to_vec())
    }

    /// Verifies the audit chain of the auditor's slot (from its anchor, if
    /// records were archived).
    pub fn audit_verify(&self, auditor: SessionId) -> Result<()> {
        let (slot, _) = self.session(auditor, Role::Auditor)?;
        self.token(slot)?.audit.verify()
    }

    /// The head of the auditor's slot's log: records ever appended and the
    /// last MAC, for [`crate::audit::verify_segments`]. Auditor only.
    pub fn audit_head(&self, auditor: SessionId) -> Result<crate::audit::AuditHead> {
        let (slot, _) = self.session(auditor, Role::Auditor)?;
        Ok(self.token(slot)?.audit.head())
    }

    /// Checks archived segments (oldest first, as [`Self::audit_archive`]
    /// returned them) and the live log of the auditor's slot as one chain
    /// from the genesis to the log's head, under the token's audit key (see
    /// [`crate::audit::verify_segments`]). Auditor only.
    ///
    /// # Errors
    /// [`Error::AuditTampered`] with the sequence number of the first record
    /// that fails or is missing.
    pub fn audit_verify_archive(
        &self,
        auditor: SessionId,
        archived: &[crate::audit::AuditSegment],
    ) -> Result<()> {
        let (slot, _) = self.session(auditor, Role::Auditor)?;
        let token = self.token(slot)?;
        let mut segments = archived.to_vec();
        segments.push(token.audit.segment());
        crate::audit::verify_segments(&token.audit_key.hmac()?, &segments, token.audit.head())
    }

    /// Moves the oldest `count` records of the auditor's slot's log out of
    /// the token and returns them, then logs
    /// [`crate::audit::AuditEvent::AuditArchived`]. Keep the returned
    /// segments (in order) and check them with the live log using
    /// [`crate::audit::verify_segments`]. This is how a full log is emptied
    /// (see [`Config::audit_reserve`]); save the keystore afterwards.
    ///
    /// ```
    /// use coffer_core::rng::OsRng;
    /// use coffer_hsm::audit::{verify_segments, AuditEvent};
    /// use coffer_hsm::{Config, Hsm, Role, SystemClock};
    ///
    /// let config = Config { pin_iterations: 1_000, audit_max_records: 20, audit_reserve: 4, ..Config::default() };
    /// let mut hsm = Hsm::new(1, config, Box::new(SystemClock))?;
    /// hsm.init_token(&mut OsRng, 0, "device", b"so-pin-1")?;
    /// let so = hsm.login(0, Role::SecurityOfficer, b"so-pin-1", None)?;
    /// hsm.set_pin(&mut OsRng, so, Role::Auditor, b"audit-pin")?;
    /// let auditor = hsm.login(0, Role::Auditor, b"audit-pin", None)?;
    ///
    /// let archived = hsm.audit_archive(auditor, 3)?;
    /// assert_eq!(archived.records.len(), 3);
    /// let live = hsm.audit_records(auditor)?;
    /// assert!(matches!(live.last().map(|r| &r.event), Some(AuditEvent::AuditArchived { first_seq: 0, count: 3 })));
    /// # let _ = (live, archived);
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RoleNotAllowed`] for a session that is not the auditor's;
    /// [`Error::InvalidInput`] if `count` is 0 or more than the records held.
    pub fn audit_archive(&mut self, auditor: SessionId, count: usize) -> Result<crate::audit::AuditSegment> {
        let (slot, _) = self.session(auditor, Role::Auditor)?;
        let archived = self.token_mut(slot)?.audit.archive(count)?;
        let count = u32::try_from(archived.records.len()).map_err(|_| Error::Capacity)?;
        // Archiving freed at least one record, so this append has room.
        self.log(slot, crate::audit::AuditEvent::AuditArchived { first_seq: archived.anchor.seq, count })?;
        Ok(archived)
    }

    /// The configuration in force (from [`Hsm::new`] or the loaded keystore).
    pub fn config(&self) -> Config {
        self.config
    }

    /// The token label of `slot`.
    pub fn token_label(&self, slot: usize) -> Result<&str> {
        Ok(&self.token(slot)?.label)
    }
}

/// AES key wrapping with (KWP, RFC 5649) or without (KW, RFC 3394) padding.
#[derive(Clone, Copy)]
enum KeyWrap {
    Kw,
    Kwp,
}

#[cfg(feature = "std")]
fn stream_error(e: envelope::StreamError) -> Error {
    match e {
        envelope::StreamError::Envelope(e) => Error::Crypto(e),
        envelope::StreamError::Io(_) => Error::Io,
        // `StreamError` is non-exhaustive; anything new is treated as a failed open.
        _ => Error::Crypto(coffer_core::Error::Decrypt),
    }
}

fn key_ref(key: &KeyObject) -> crate::audit::KeyRef {
    crate::audit::KeyRef {
        tenant: key.attrs.tenant.clone(),
        key_id: key.attrs.key_id.clone(),
        version: key.latest,
        handle: key.handle.0,
    }
}

fn state_name(state: KeyState) -> crate::audit::KeyStateName {
    match state {
        KeyState::PreActive => crate::audit::KeyStateName::PreActive,
        KeyState::Active => crate::audit::KeyStateName::Active,
        KeyState::Deactivated => crate::audit::KeyStateName::Deactivated,
        KeyState::Destroyed => crate::audit::KeyStateName::Destroyed,
    }
}

fn new_secret<R: TryCryptoRng + ?Sized>(rng: &mut R, key_type: KeyType) -> Result<Secret> {
    let bytes = match key_type {
        KeyType::Aes256 | KeyType::HmacSha256 => {
            let mut b = alloc::vec![0u8; 32];
            rng.try_fill_bytes(&mut b).map_err(|_| Error::Crypto(coffer_core::Error::Rng))?;
            b
        }
        KeyType::P256 => P256SecretKey::generate(rng)?.to_bytes().to_vec(),
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
            let size = key_type.rsa_size().ok_or(Error::InvalidInput)?;
            coffer_core::rsa::RsaPrivateKey::generate(rng, size)?.to_pkcs8_der()?.to_vec()
        }
        KeyType::Certificate => return Err(Error::InvalidInput),
    };
    Ok(Secret { bytes })
}

/// Checks that `secret` is well-formed material for `key_type`.
fn check_secret(key_type: KeyType, secret: &Secret) -> Result<()> {
    if secret.bytes.is_empty() || secret.bytes.len() > crate::object::MAX_MATERIAL_LEN {
        return Err(Error::InvalidInput);
    }
    match key_type {
        KeyType::Aes256 | KeyType::HmacSha256 => {
            if secret.bytes.len() == 32 {
                Ok(())
            } else {
                Err(Error::InvalidInput)
            }
        }
        KeyType::P256 => secret.p256().map(|_| ()),
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
            let bits = secret.rsa()?.public_key().bits();
            let want = key_type.rsa_size().map(coffer_core::rsa::RsaKeySize::bits);
            if Some(bits) == want { Ok(()) } else { Err(Error::InvalidInput) }
        }
        KeyType::Certificate => {
            coffer_core::cert::Certificate::from_der(&secret.bytes).map(|_| ()).map_err(Error::Crypto)
        }
    }
}

/// Key types that can be envelope recipients by handle.
const ENVELOPE_KEYS: [KeyType; 4] = [KeyType::Aes256, KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Rsa4096];
/// Key types that sign.
const ASYMMETRIC: [KeyType; 4] = [KeyType::P256, KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Rsa4096];

/// The public key of one version: P-256, RSA, or a certificate's key.
fn public_key_of(key_type: KeyType, secret: &Secret) -> Result<Verifier> {
    Ok(match key_type {
        KeyType::P256 => Verifier::P256(secret.p256()?.public_key()),
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => Verifier::Rsa(secret.rsa()?.public_key()),
        KeyType::Certificate => {
            match coffer_core::cert::Certificate::from_der(&secret.bytes)?.public_key()? {
                coffer_core::cert::PublicKey::P256(k) => Verifier::P256(k),
                coffer_core::cert::PublicKey::Rsa(k) => Verifier::Rsa(k),
                _ => return Err(Error::InvalidInput),
            }
        }
        KeyType::Aes256 | KeyType::HmacSha256 => return Err(Error::InvalidInput),
    })
}

/// A verifying key of either kind.
enum Verifier {
    P256(coffer_core::p256::P256PublicKey),
    Rsa(coffer_core::rsa::RsaPublicKey),
}

impl Verifier {
    fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        match self {
            Verifier::P256(k) => Ok(k.verify_der(msg, sig)?),
            Verifier::Rsa(k) => Ok(k.verify_pss(msg, sig)?),
        }
    }

    fn spki_der(&self) -> Result<Vec<u8>> {
        match self {
            Verifier::P256(k) => Ok(k.to_spki_der()?),
            Verifier::Rsa(k) => Ok(k.to_spki_der()?),
        }
    }
}

// Servers keep one HSM behind a lock shared by threads; keep it that way.
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Hsm>();
};
