//! The HSM: slots holding tokens, sessions with roles, and every key
//! operation by handle, each checked against role, tenant, lifecycle state
//! and usage policy before any cryptography runs.
//!
//! Its state lives in a [`coffer_store::RecordStore`] as sealed records
//! (KEYSTORE.md §12). Every public operation is one transaction: it reads
//! the records it touches, checks, writes, appends its audit records to the
//! token's chain and commits before it returns. Sessions live in the
//! process that logged in.
//!
//! - `session.rs`: login, logout, PINs;
//! - `keys.rs`: key objects (create, import, find, list, lifecycle, shred);
//! - `operations.rs`: the cryptography by handle;
//! - `cipher.rs`: data encryption by handle (AES-256-GCM, RSA-OAEP);
//! - `wrapping.rs`: wrapping and unwrapping keys by mechanism (AES-KW,
//!   AES-KWP, RSA-OAEP), in the forms PKCS#11 exchanges;
//! - `audit_ops.rs`: reading, verifying and archiving the audit log.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;

use coffer_core::rng::TryCryptoRng;
use coffer_store::{MemoryStore, RecordStore, StoreError};

use crate::audit::{Actor, AuditEvent, KeyRef, Operation, Refusal, Role};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::keystore::{KeySource, MasterKey};
use crate::pin::{DEFAULT_MAX_FAILURES, DEFAULT_PIN_ITERATIONS};
use crate::store::records::{self, Meta, MetaKdf, RecordKeys, id};
use crate::store::tx::{Tx, store_err};

mod audit_ops;
mod binding;
mod certs;
mod cipher;
mod credentials;
mod keys;
mod operations;
mod prehash;
mod rekey;
mod session;
mod upgrade;
mod wrapping;

pub(crate) use credentials::so_tenant_key;
pub use credentials::{TenantInfo, UserInfo, is_valid_name};
pub use keys::ShredEvidence;
pub use session::SessionId;
pub(crate) use upgrade::convert_slot as convert_legacy_slot;
pub use wrapping::WrapMechanism;

/// Most slots an [`Hsm`] may have.
pub const MAX_SLOTS: usize = 64;
/// Most keys (objects) one token may hold.
pub const MAX_KEYS_PER_TOKEN: usize = 1_000_000;
/// Most versions one key may have.
pub const MAX_VERSIONS: usize = 1024;
/// How often one operation is run again after the store reported a
/// conflict ([`StoreError::Conflict`]) before the error is returned.
pub const MAX_ATTEMPTS: u32 = 16;

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

    /// How many live records a log may hold for events of `class`.
    pub(crate) fn audit_limit(&self, class: AuditClass) -> usize {
        let max = usize::try_from(self.audit_max_records).unwrap_or(usize::MAX);
        let max = max.min(crate::audit::MAX_RECORDS);
        let reserve = usize::try_from(self.audit_reserve).unwrap_or(max).min(max);
        match class {
            AuditClass::Work => max.saturating_sub(reserve),
            AuditClass::SecurityOfficer => max.saturating_sub(reserve / 2),
            AuditClass::Auditor => max,
        }
    }
}

/// Who an audit record is for, which decides how much of the log it may use
/// (see [`Config::audit_reserve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuditClass {
    /// Key operations, user logins: up to `max - reserve`.
    Work,
    /// Security officer logins and PIN administration: up to `max - reserve / 2`.
    SecurityOfficer,
    /// Auditor logins, archiving: up to `max`.
    Auditor,
}

/// A session's slot, credential and tenant (empty for non-user roles),
/// copied out for one operation.
#[derive(Clone)]
pub(crate) struct SessionCtx {
    pub(crate) slot: u8,
    pub(crate) actor: Actor,
    pub(crate) tenant: String,
    /// A user session's tenant key (none for a tenant without one).
    pub(crate) tenant_key: Option<crate::store::grants::TenantKey>,
}

impl SessionCtx {
    /// The audit record of refusing `attempted` on `key` for `reason`.
    pub(crate) fn refused(&self, key: Option<KeyRef>, attempted: Operation, reason: Refusal) -> AuditEvent {
        AuditEvent::Refused { who: self.actor.clone(), tenant: self.tenant.clone(), key, attempted, reason }
    }
}

/// Keeps the store's generation counter somewhere the store cannot roll
/// back, so that a restored older copy of the store is refused
/// ([`Error::KeystoreRollback`], KEYSTORE.md §12.5). `CounterFile` (feature
/// `std`) keeps it in a file; a TPM NV counter or a value on another host
/// does better.
pub trait GenerationGuard {
    /// The highest generation recorded so far, if any.
    ///
    /// # Errors
    /// Whatever reading it fails with.
    fn last(&mut self) -> Result<Option<u64>>;
    /// Records that the store reached `generation` (a guard keeps the
    /// highest value it was ever given).
    ///
    /// # Errors
    /// Whatever writing it fails with.
    fn advance(&mut self, generation: u64) -> Result<()>;
}

/// A software HSM over a record store: a fixed number of slots, each with
/// at most one token.
///
/// `Send` (its clock and store must be too; the clock also `Sync`). Every operation is
/// one serializable transaction on the store, so any number of `Hsm`
/// values, in any number of threads and processes, may share one store:
/// give each thread its own `Hsm` over its own store connection (or share
/// one behind a lock).
///
/// A store in memory, under a master key: a user signs a webhook body with
/// an HMAC key; the store is then handed to [`Hsm::open`] (which ends the
/// sessions) and the key is still there. The crate documentation has the
/// same with a SQLite file and an envelope.
///
/// ```
/// use coffer_core::rng::OsRng;
/// use coffer_hsm::keystore::{KeySource, MasterKey};
/// use coffer_hsm::{Config, Hsm, KeyAttributes, KeyType, Role, SystemClock, Usage};
/// use coffer_store::MemoryStore;
///
/// let master = MasterKey::generate(&mut OsRng)?;
/// let source = KeySource::MasterKey(&master);
/// let config = Config { pin_iterations: 1_000, ..Config::default() };
/// let mut hsm = Hsm::create(&mut OsRng, Box::new(MemoryStore::new()), &source, 1, config, Box::new(SystemClock))?;
/// hsm.init_token(&mut OsRng, 0, "hooks", b"so-pin-1")?;
/// let so = hsm.login_so(0, b"so-pin-1")?;
/// hsm.create_tenant(&mut OsRng, so, "acme")?;
/// hsm.create_user(&mut OsRng, so, "alice", Role::User, &["acme"], b"alice-pin")?;
///
/// let alice = hsm.login(0, "alice", b"alice-pin", None)?; // her only tenant, acme
/// let attrs = KeyAttributes {
///     label: "webhooks".into(),
///     tenant: "acme".into(),
///     key_id: "webhooks".into(),
///     usage: Usage::SIGN | Usage::VERIFY,
///     extractable: false,
///     active: true,
/// };
/// let key = hsm.generate(&mut OsRng, alice, KeyType::HmacSha256, attrs)?;
/// let tag = hsm.hmac_sign(alice, key, &[b"1790000000", b".", b"{\"paid\":true}"])?;
///
/// let mut hsm = Hsm::open(&mut OsRng, hsm.into_store(), &source, Box::new(SystemClock))?;
/// let alice = hsm.login(0, "alice", b"alice-pin", None)?;
/// let key = hsm.find(alice, "webhooks")?;
/// hsm.hmac_verify(alice, key, &[b"1790000000", b".", b"{\"paid\":true}"], &tag)?;
/// # Ok::<(), coffer_hsm::Error>(())
/// ```
pub struct Hsm {
    pub(crate) config: Config,
    pub(crate) slot_count: u8,
    store: Box<dyn RecordStore + Send>,
    keys: RecordKeys,
    pub(crate) sessions: BTreeMap<SessionId, session::Session>,
    pub(crate) next_session: u64,
    pub(crate) clock: Box<dyn Clock + Send + Sync>,
    guard: Option<Box<dyn GenerationGuard + Send + Sync>>,
    /// The lowest generation the store may show: the highest seen.
    floor: u64,
    /// Counter of the last version-1 snapshot saved or loaded (KEYSTORE.md §6).
    pub(crate) v1_counter: u64,
}

/// Dropping an `Hsm` empties the process's cache of parsed P-256 and RSA
/// keys (`keycache.rs`), so no parsed key outlives the keystore that used
/// it. Other `Hsm`s of the process parse their keys again on next use.
impl Drop for Hsm {
    fn drop(&mut self) {
        crate::keycache::clear();
    }
}

impl core::fmt::Debug for Hsm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Hsm")
            .field("slots", &self.slot_count)
            .field("sessions", &self.sessions.len())
            .field("generation", &self.floor)
            .finish_non_exhaustive()
    }
}

impl Hsm {
    /// A volatile HSM in memory with `slots` empty slots (1..=64): nothing
    /// survives it. For tests and ephemeral use; its records are sealed
    /// under a fixed all-zero master key, since they never leave the
    /// process. For a persistent HSM use [`Hsm::create`] and [`Hsm::open`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a slot count or config out of range.
    pub fn new(slots: usize, config: Config, clock: Box<dyn Clock + Send + Sync>) -> Result<Self> {
        let master = MasterKey::from_bytes([0; 32]);
        let keys = RecordKeys::derive(&master, [0; 16])?;
        Self::init(Box::new(MemoryStore::new()), keys, MetaKdf::Raw, slots, config, clock)
    }

    /// Creates an HSM in an empty `store`, its records sealed under
    /// `source` (a 32-byte master key, or a passphrase stretched with
    /// PBKDF2-HMAC-SHA-256 at [`crate::keystore::DEFAULT_ITERATIONS`]), with `slots` empty
    /// slots (1..=64). KEYSTORE.md §12.
    ///
    /// ```
    /// use coffer_core::rng::OsRng;
    /// use coffer_hsm::keystore::{KeySource, MasterKey};
    /// use coffer_hsm::{Config, Hsm, SystemClock};
    /// use coffer_store::MemoryStore;
    ///
    /// let master = MasterKey::generate(&mut OsRng)?;
    /// let config = Config { pin_iterations: 1_000, ..Config::default() };
    /// let mut hsm = Hsm::create(&mut OsRng, Box::new(MemoryStore::new()), &KeySource::MasterKey(&master), 1, config, Box::new(SystemClock))?;
    /// hsm.init_token(&mut OsRng, 0, "ledger", b"so-pin-1")?;
    /// assert!(hsm.login_so(0, b"so-pin-1").is_ok());
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::TokenState`] if the store already holds an HSM;
    /// [`Error::InvalidInput`] for arguments out of range; [`Error::Store`]
    /// if the store fails.
    pub fn create<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        store: Box<dyn RecordStore + Send>,
        source: &KeySource<'_>,
        slots: usize,
        config: Config,
        clock: Box<dyn Clock + Send + Sync>,
    ) -> Result<Self> {
        let kdf = rekey::new_kdf(rng, source)?;
        let master = records::master_key(source, kdf)?;
        let mut salt = [0u8; 16];
        fill(rng, &mut salt)?;
        let keys = RecordKeys::derive(&master, salt)?;
        Self::init(store, keys, kdf, slots, config, clock)
    }

    fn init(
        mut store: Box<dyn RecordStore + Send>,
        mut keys: RecordKeys,
        kdf: MetaKdf,
        slots: usize,
        config: Config,
        clock: Box<dyn Clock + Send + Sync>,
    ) -> Result<Self> {
        let slot_count = u8::try_from(slots).map_err(|_| Error::InvalidInput)?;
        if slots == 0 || slots > MAX_SLOTS || !config.is_valid() {
            return Err(Error::InvalidInput);
        }
        let now = clock.now();
        let generation = {
            let mut tx = Tx::begin_new(store.as_mut(), &mut keys, now)?;
            let meta = Meta { kdf }.encode(tx.keys())?;
            tx.put_raw(&id::meta(), &meta)?;
            tx.put(&id::config(), &records::encode_config(&config, slot_count))?;
            tx.commit()?
        };
        Ok(Self::assemble(config, slot_count, store, keys, clock, generation))
    }

    /// Opens the HSM kept in `store`, unsealing its records with `source`.
    /// With a passphrase this runs PBKDF2 once (about 60 ms at the default
    /// 600,000 iterations).
    ///
    /// # Errors
    /// [`Error::TokenState`] if the store holds no HSM;
    /// [`Error::KeystoreAuth`] for a wrong key or passphrase (or records
    /// sealed under another one); [`Error::KeystoreCorrupt`] for a malformed
    /// meta or config record; [`Error::Store`] if the store fails.
    pub fn open<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        mut store: Box<dyn RecordStore + Send>,
        source: &KeySource<'_>,
        clock: Box<dyn Clock + Send + Sync>,
    ) -> Result<Self> {
        let mut salt = [0u8; 16];
        fill(rng, &mut salt)?;
        // One transaction reads all three records: the meta record first
        // tells how to derive the keys that open the other two.
        let (meta_bytes, config_sealed, generation_sealed, legacy) = {
            let mut tx = store.begin().map_err(store_err)?;
            let meta = tx.get(&id::meta()).map_err(store_err)?;
            let config = tx.get(&id::config()).map_err(store_err)?;
            let generation = tx.get(&id::generation()).map_err(store_err)?;
            // Role PIN records of a store from before credentials (§13.5).
            let legacy = !tx.scan(&[records::kind::PIN], None, 1).map_err(store_err)?.is_empty();
            (meta, config, generation, legacy)
        };
        let meta_bytes = meta_bytes.ok_or(Error::TokenState)?;
        let (meta, check) = Meta::decode(&meta_bytes)?;
        let master = records::master_key(source, meta.kdf)?;
        let keys = RecordKeys::derive(&master, salt)?;
        meta.verify(&keys, check)?;
        let config_sealed = config_sealed.ok_or(Error::KeystoreCorrupt)?;
        let (config, slot_count) = records::decode_config(&keys.open(&id::config(), &config_sealed)?)?;
        let generation = match generation_sealed {
            Some(sealed) => records::decode_generation(&keys.open(&id::generation(), &sealed)?)?,
            None => 0,
        };
        let mut hsm = Self::assemble(config, slot_count, store, keys, clock, generation);
        if legacy {
            upgrade::legacy_credentials(&mut hsm)?;
        }
        Ok(hsm)
    }

    fn assemble(
        config: Config,
        slot_count: u8,
        store: Box<dyn RecordStore + Send>,
        keys: RecordKeys,
        clock: Box<dyn Clock + Send + Sync>,
        generation: u64,
    ) -> Self {
        Hsm {
            config,
            slot_count,
            store,
            keys,
            sessions: BTreeMap::new(),
            next_session: 1,
            clock,
            guard: None,
            floor: generation,
            v1_counter: 0,
        }
    }

    /// Installs a rollback guard: from now on every operation refuses a
    /// store whose generation is below the guard's highest value
    /// ([`Error::KeystoreRollback`]), and every commit advances the guard.
    ///
    /// # Errors
    /// [`Error::KeystoreRollback`] if the store is already older than the
    /// guard says; the guard's own errors.
    pub fn set_generation_guard(&mut self, mut guard: Box<dyn GenerationGuard + Send + Sync>) -> Result<()> {
        // Compare with the store as it is now, not as this value last saw it.
        self.current_generation()?;
        if let Some(last) = guard.last()?
            && last > self.floor
        {
            return Err(Error::KeystoreRollback);
        }
        guard.advance(self.floor)?;
        self.guard = Some(guard);
        Ok(())
    }

    /// The store's generation as this HSM last saw it: the number of
    /// committed write transactions (KEYSTORE.md §12.5). Other `Hsm`
    /// values on the same store may have committed since; see
    /// [`Self::current_generation`].
    pub fn generation(&self) -> u64 {
        self.floor
    }

    /// Reads the store's generation now (a transaction that writes
    /// nothing), including commits by other `Hsm` values and processes.
    ///
    /// # Errors
    /// [`Error::KeystoreRollback`] if the store went backwards;
    /// [`Error::Store`] if it cannot be read.
    pub fn current_generation(&mut self) -> Result<u64> {
        self.transact(|_| Ok(()))?;
        Ok(self.floor)
    }

    /// Gives back the store (ending every session), for example to hand it
    /// to another [`Hsm::open`] or to inspect its records.
    pub fn into_store(mut self) -> Box<dyn RecordStore + Send> {
        // `Hsm` has a `Drop`, so the store is swapped out, not moved out.
        core::mem::replace(&mut self.store, Box::new(coffer_store::MemoryStore::new()))
    }

    /// The configuration in force (from [`Hsm::new`] / [`Hsm::create`]).
    pub fn config(&self) -> Config {
        self.config
    }

    /// Runs `op` as one transaction, again on a store conflict (up to
    /// [`MAX_ATTEMPTS`] times). `op` may run more than once, so it must
    /// do nothing outside the transaction. Its writes are committed when it
    /// succeeds, or when it fails after an audited refusal (`Tx::keep`);
    /// otherwise they are rolled back.
    pub(crate) fn transact<T>(&mut self, mut op: impl FnMut(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let mut attempt = 0u32;
        loop {
            let now = self.clock.now();
            match run_once(self.store.as_mut(), &mut self.keys, now, self.floor, &mut op) {
                Err(Error::Store(StoreError::Conflict)) if attempt < MAX_ATTEMPTS => {
                    attempt = attempt.saturating_add(1);
                }
                Err(e) => return Err(e),
                Ok((outcome, generation)) => {
                    self.advance_floor(generation);
                    return outcome;
                }
            }
        }
    }

    /// Records that the store reached `generation` (and tells the guard).
    fn advance_floor(&mut self, generation: u64) {
        if generation > self.floor {
            self.floor = generation;
            if let Some(guard) = self.guard.as_mut() {
                // The change is committed; a guard that cannot be
                // advanced only leaves the rollback window open
                // until its next successful advance (§12.5).
                let _ = guard.advance(generation);
            }
        }
    }

    pub(crate) fn slot(&self, slot: usize) -> Result<u8> {
        let s = u8::try_from(slot).map_err(|_| Error::InvalidInput)?;
        if s >= self.slot_count {
            return Err(Error::InvalidInput);
        }
        Ok(s)
    }

    /// The session `id` if its role is `role`. Otherwise the attempt is
    /// refused with [`Error::RoleNotAllowed`], and the refusal is an audit
    /// record committed first.
    pub(crate) fn require(&mut self, id: SessionId, role: Role, attempted: Operation) -> Result<SessionCtx> {
        let s = self.sessions.get(&id).ok_or(Error::NotLoggedIn)?;
        let tenant_key = match &s.secret {
            session::SessionSecret::Tenant(k) => Some(k.clone()),
            _ => None,
        };
        let ctx = SessionCtx {
            slot: s.slot,
            actor: s.actor.clone(),
            tenant: s.tenant.clone().unwrap_or_default(),
            tenant_key,
        };
        if ctx.actor.role == role {
            return Ok(ctx);
        }
        let limit = self.config.audit_limit(session::class_of(ctx.actor.role));
        let event = AuditEvent::Refused {
            who: ctx.actor.clone(),
            tenant: ctx.tenant.clone(),
            key: None,
            attempted,
            reason: Refusal::WrongRole,
        };
        self.transact(|tx| {
            tx.ensure_room(ctx.slot, 1, limit)?;
            tx.log_refusal(ctx.slot, event.clone())
        })?;
        Err(Error::RoleNotAllowed)
    }

    /// The user session `id` (see [`Self::require`]).
    pub(crate) fn user(&mut self, id: SessionId, attempted: Operation) -> Result<SessionCtx> {
        self.require(id, Role::User, attempted)
    }

    /// The tenant a session acts in: the tenant of a user session, `None`
    /// for the security officer's and an auditor's.
    ///
    /// # Errors
    /// [`Error::NotLoggedIn`] for a session that does not exist.
    pub fn session_tenant(&self, id: SessionId) -> Result<Option<String>> {
        Ok(self.sessions.get(&id).ok_or(Error::NotLoggedIn)?.tenant.clone())
    }

    /// The token label of `slot`.
    pub fn token_label(&mut self, slot: usize) -> Result<String> {
        let slot = self.slot(slot)?;
        self.transact(|tx| Ok(tx.token(slot)?.label))
    }
}

type Outcome<T> = (Result<T>, u64);

fn run_once<T>(
    store: &mut (dyn RecordStore + Send),
    keys: &mut RecordKeys,
    now: u64,
    floor: u64,
    op: &mut impl FnMut(&mut Tx<'_>) -> Result<T>,
) -> Result<Outcome<T>> {
    let mut tx = Tx::begin(store, keys, now)?;
    if tx.generation < floor {
        return Err(Error::KeystoreRollback);
    }
    match op(&mut tx) {
        Ok(v) => {
            let generation = tx.commit()?;
            Ok((Ok(v), generation))
        }
        Err(e @ Error::Store(StoreError::Conflict)) => Err(e),
        Err(e) if tx.kept() => {
            let generation = tx.commit()?;
            Ok((Err(e), generation))
        }
        Err(e) => Err(e),
    }
}

pub(crate) fn fill<R: TryCryptoRng + ?Sized>(rng: &mut R, out: &mut [u8]) -> Result<()> {
    rng.try_fill_bytes(out).map_err(|_| Error::Crypto(coffer_core::Error::Rng))
}

// Servers move HSMs into threads and share them behind a lock; keep it that way.
const _: () = {
    const fn send<T: Send>() {}
    send::<Hsm>();
};
