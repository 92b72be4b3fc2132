//! Keystore version 1, the sealed single-file state (KEYSTORE.md §3):
//! its strict binary encoding, [`Hsm::load`] / [`Hsm::import_v1`] to bring
//! one into a record store, and [`Hsm::save`] to export a snapshot in it.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use coffer_core::rng::TryCryptoRng;
use zeroize::Zeroizing;

use crate::audit::Role;
use crate::audit::{AuditEvent, AuditLog};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::keystore::{self, KeySource};
use crate::object::{Handle, KeyObject, MAX_NAME_LEN, Secret};
use crate::pin::PinRecord;
use crate::storage::Storage;
use crate::store::records::{self, Enc, TokenRecord};
use crate::token::{Config, Hsm, MAX_KEYS_PER_TOKEN, MAX_SLOTS};
use crate::wire::Reader;

/// One token of a version-1 state.
pub(crate) struct Token {
    pub(crate) label: alloc::string::String,
    pub(crate) so_pin: PinRecord,
    pub(crate) user_pin: Option<PinRecord>,
    pub(crate) auditor_pin: Option<PinRecord>,
    pub(crate) keys: BTreeMap<Handle, KeyObject>,
    pub(crate) next_handle: u64,
    pub(crate) audit_key: Secret,
    pub(crate) audit: AuditLog,
}

/// A decoded version-1 state.
pub(crate) struct V1State {
    pub(crate) config: Config,
    pub(crate) counter: u64,
    pub(crate) slots: Vec<Option<Token>>,
}

const STATE_MAGIC: &[u8; 4] = b"CFHS";
/// State version written; versions 1 (without the audit limits) and 2
/// (without key expiry) are still read.
const STATE_VERSION: u8 = 3;
/// Largest encoded audit log accepted inside a state, in bytes: a full log
/// (1,000,000 records of at most 187 bytes) fits, and with it the keys stay
/// under the keystore's 256 MiB state limit for all but extreme key counts.
const MAX_AUDIT_LEN: usize = 192 * 1024 * 1024;

fn put_opt_pin(e: &mut Enc, p: Option<&PinRecord>) {
    match p {
        None => e.u8(0),
        Some(p) => {
            e.u8(1);
            e.bytes(&p.to_bytes());
        }
    }
}

fn encode_token(e: &mut Enc, t: &Token) -> Result<()> {
    e.str(&t.label)?;
    e.bytes(&t.so_pin.to_bytes());
    put_opt_pin(e, t.user_pin.as_ref());
    put_opt_pin(e, t.auditor_pin.as_ref());
    e.u64(t.next_handle);
    e.bytes(&t.audit_key.bytes);
    let audit = t.audit.encode();
    e.u32(u32::try_from(audit.len()).map_err(|_| Error::Capacity)?);
    e.bytes(&audit);
    e.u32(u32::try_from(t.keys.len()).map_err(|_| Error::Capacity)?);
    for k in t.keys.values() {
        // A v1 key is the v2 key record's plaintext with the handle before it.
        e.u64(k.handle.0);
        e.bytes(&records::encode_key(k, None)?);
    }
    Ok(())
}

fn decode_token(d: &mut Reader<'_>, version: u8) -> Result<Token> {
    let label = d.str(1, MAX_NAME_LEN)?;
    let so_pin = d.pin()?;
    let user_pin = d.opt_pin()?;
    let auditor_pin = d.opt_pin()?;
    let next_handle = d.u64()?;
    let audit_key = Secret { bytes: d.arr::<32>()?.to_vec() };
    let audit_len = usize::try_from(d.u32()?).map_err(|_| Error::KeystoreCorrupt)?;
    if audit_len > MAX_AUDIT_LEN {
        return Err(Error::KeystoreCorrupt);
    }
    let audit = AuditLog::decode(audit_key.hmac()?, d.take(audit_len)?)?;
    let count = usize::try_from(d.u32()?).map_err(|_| Error::KeystoreCorrupt)?;
    if count > MAX_KEYS_PER_TOKEN {
        return Err(Error::KeystoreCorrupt);
    }
    let mut keys = BTreeMap::new();
    let mut index = BTreeMap::new();
    for _ in 0..count {
        let handle = Handle(d.u64()?);
        // Versions 1 and 2 of the state have no expiry.
        let obj = records::read_key(d, handle, version >= 3)?;
        if handle.0 >= next_handle {
            return Err(Error::KeystoreCorrupt);
        }
        let ix = (obj.attrs.tenant.clone(), obj.attrs.key_id.clone());
        if index.insert(ix, handle).is_some() {
            return Err(Error::KeystoreCorrupt);
        }
        if keys.insert(handle, obj).is_some() {
            return Err(Error::KeystoreCorrupt);
        }
    }
    Ok(Token { label, so_pin, user_pin, auditor_pin, keys, next_handle, audit_key, audit })
}

/// The whole state, encoded (KEYSTORE.md §3). Secret: seal it.
fn encode_state(config: &Config, slots: &[Option<Token>]) -> Result<Zeroizing<Vec<u8>>> {
    let mut e = Enc::new();
    e.bytes(STATE_MAGIC);
    e.u8(STATE_VERSION);
    e.u8(config.max_pin_failures);
    e.u32(config.pin_iterations);
    e.u8(u8::from(config.allow_plain_import));
    e.u32(config.audit_max_records);
    e.u32(config.audit_reserve);
    e.u8(u8::try_from(slots.len()).map_err(|_| Error::Capacity)?);
    for slot in slots {
        match slot {
            None => e.u8(0),
            Some(t) => {
                e.u8(1);
                encode_token(&mut e, t)?;
            }
        }
    }
    Ok(e.0)
}

fn decode_state(bytes: &[u8], counter: u64) -> Result<V1State> {
    let mut d = Reader(bytes);
    if d.take(4)? != STATE_MAGIC {
        return Err(Error::KeystoreCorrupt);
    }
    let version = d.u8()?;
    if !(1..=STATE_VERSION).contains(&version) {
        return Err(Error::KeystoreCorrupt);
    }
    let defaults = Config::default();
    let mut config = Config {
        max_pin_failures: d.u8()?,
        pin_iterations: d.u32()?,
        allow_plain_import: d.bool()?,
        ..defaults
    };
    if version >= 2 {
        config.audit_max_records = d.u32()?;
        config.audit_reserve = d.u32()?;
    }
    if !config.is_valid() {
        return Err(Error::KeystoreCorrupt);
    }
    let n = usize::from(d.u8()?);
    if n == 0 || n > MAX_SLOTS {
        return Err(Error::KeystoreCorrupt);
    }
    let mut slots = Vec::with_capacity(n);
    for _ in 0..n {
        slots.push(if d.bool()? { Some(decode_token(&mut d, version)?) } else { None });
    }
    if !d.is_empty() {
        return Err(Error::KeystoreCorrupt);
    }
    Ok(V1State { config, counter, slots })
}

/// Reads and opens a version-1 keystore from `storage`.
fn read_v1<S: Storage + ?Sized>(
    storage: &mut S,
    source: &KeySource<'_>,
    min_counter: Option<u64>,
) -> Result<V1State> {
    let bytes = storage.read()?.ok_or(Error::TokenState)?;
    let (state, counter) = keystore::open(source, &bytes, min_counter)?;
    decode_state(&state, counter)
}

/// The credential a version-1 keystore's user PIN becomes (and which a
/// version-1 export writes as the user PIN).
pub const V1_USER: &str = "user";
/// The credential a version-1 keystore's auditor PIN becomes.
pub const V1_AUDITOR: &str = "auditor";

impl Hsm {
    /// Writes every token of a version-1 state into this (empty) HSM's
    /// store, in one transaction.
    fn import_state(&mut self, state: &V1State) -> Result<()> {
        if usize::from(self.slot_count) != state.slots.len() || self.config != state.config {
            return Err(Error::InvalidInput);
        }
        self.transact(|tx| {
            for (slot, token) in state.slots.iter().enumerate() {
                let Some(t) = token else { continue };
                let slot = u8::try_from(slot).map_err(|_| Error::Capacity)?;
                if tx.has_token(slot)? {
                    return Err(Error::TokenState);
                }
                let record = TokenRecord {
                    label: t.label.clone(),
                    next_handle: t.next_handle,
                    audit_key: Secret { bytes: t.audit_key.bytes.clone() },
                };
                tx.put_token(slot, &record)?;
                tx.put_pin(slot, Role::SecurityOfficer, &t.so_pin)?;
                if let Some(p) = &t.user_pin {
                    tx.put_pin(slot, Role::User, p)?;
                }
                if let Some(p) = &t.auditor_pin {
                    tx.put_pin(slot, Role::Auditor, p)?;
                }
                for key in t.keys.values() {
                    tx.put_key(slot, key)?;
                    tx.put_index(slot, &key.attrs.tenant, &key.attrs.key_id, key.handle)?;
                }
                tx.import_audit(slot, t.audit_key.hmac()?, &t.audit)?;
                // The role PINs become credentials (KEYSTORE.md §13.5).
                crate::token::convert_legacy_slot(tx, slot)?;
            }
            Ok(())
        })
    }

    /// Opens a version-1 keystore (KEYSTORE.md §2–§5) from `storage` as a
    /// volatile in-memory HSM, as [`Hsm::new`] makes. To move one into a
    /// persistent store, use [`Hsm::import_v1`]. With `min_counter`, an
    /// older keystore is refused as a rollback.
    ///
    /// # Errors
    /// [`Error::TokenState`] if the storage is empty; the keystore errors of
    /// [`keystore::open`] otherwise. Nothing is written.
    pub fn load<S: Storage + ?Sized>(
        storage: &mut S,
        source: &KeySource<'_>,
        min_counter: Option<u64>,
        clock: Box<dyn Clock + Send + Sync>,
    ) -> Result<Hsm> {
        let state = read_v1(storage, source, min_counter)?;
        let mut hsm = Hsm::new(state.slots.len(), state.config, clock)?;
        hsm.import_state(&state)?;
        hsm.v1_counter = state.counter;
        Ok(hsm)
    }

    /// Migrates a version-1 keystore into an empty record `store`: the
    /// same tokens, PIN records (with their failure counts), keys with
    /// every version, and audit logs (chains unchanged, so archived
    /// segments still verify against them). Each tenant that has keys
    /// becomes a tenant without a tenant key (its keys' material stays in
    /// the clear under the master key, KEYSTORE.md §13.5); the SO PIN
    /// becomes the credential `so`, the shared user PIN the credential
    /// [`V1_USER`] bound to those tenants (the first 16 by name), the
    /// auditor PIN the credential [`V1_AUDITOR`]. The new store is sealed under
    /// `target`; the old file is only read.
    ///
    /// ```
    /// use coffer_core::rng::OsRng;
    /// use coffer_hsm::keystore::{KeySource, MasterKey};
    /// use coffer_hsm::{Config, Hsm, MemoryStorage, Role, SystemClock};
    /// use coffer_store::MemoryStore;
    ///
    /// let master = MasterKey::generate(&mut OsRng)?;
    /// let source = KeySource::MasterKey(&master);
    /// let mut old = Hsm::new(1, Config { pin_iterations: 1_000, ..Config::default() }, Box::new(SystemClock))?;
    /// old.init_token(&mut OsRng, 0, "ledger", b"so-pin-1")?;
    /// let so = old.login_so(0, b"so-pin-1")?;
    /// let mut file = MemoryStorage::new();
    /// old.save(&mut OsRng, so, &mut file, &source)?;
    ///
    /// let mut new = Hsm::import_v1(&mut OsRng, &mut file, &source, None, Box::new(MemoryStore::new()), &source, Box::new(SystemClock))?;
    /// assert!(new.login_so(0, b"so-pin-1").is_ok());
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// The errors of [`Hsm::load`] for the old keystore; [`Error::TokenState`]
    /// if `store` is not empty; [`Error::Store`] if writing fails (then the
    /// store holds nothing of the migration).
    #[allow(clippy::too_many_arguments)]
    pub fn import_v1<R: TryCryptoRng + ?Sized, S: Storage + ?Sized>(
        rng: &mut R,
        storage: &mut S,
        source: &KeySource<'_>,
        min_counter: Option<u64>,
        store: Box<dyn coffer_store::RecordStore + Send>,
        target: &KeySource<'_>,
        clock: Box<dyn Clock + Send + Sync>,
    ) -> Result<Hsm> {
        let state = read_v1(storage, source, min_counter)?;
        let mut hsm = Hsm::create(rng, store, target, state.slots.len(), state.config, clock)?;
        hsm.import_state(&state)?;
        hsm.v1_counter = state.counter;
        Ok(hsm)
    }

    /// Exports the whole state (keys, PIN records, live audit logs) as a
    /// version-1 keystore (KEYSTORE.md §2–§3) and writes it to `storage`
    /// atomically, with the keystore counter one higher than the last one
    /// exported or loaded: a sealed snapshot for backups or for older
    /// readers. Logs [`AuditEvent::KeystoreSaved`] in every token first.
    /// Returns the counter.
    ///
    /// Version 1 has no tenant keys (KEYSTORE.md §13): the material of keys
    /// sealed under a tenant key is opened with the grants of the security
    /// officer session `so` and written in the clear inside the snapshot, so
    /// the snapshot is protected by `source` alone. It has one user PIN and
    /// one auditor PIN: those of the credentials [`V1_USER`] and
    /// [`V1_AUDITOR`]; other credentials and the tenant records are not in it.
    ///
    /// # Errors
    /// [`Error::RoleNotAllowed`] unless `so` is a security officer session;
    /// [`Error::NotExtractable`] if another slot holds keys sealed under a
    /// tenant key (only the session's slot's grants can open them);
    /// [`Error::KeystoreCorrupt`] if the store holds what a version-1
    /// reader refuses (nothing is written);
    /// [`Error::AuditFull`] if a log has no room for the record; the
    /// storage's errors.
    pub fn save<R: TryCryptoRng + ?Sized, S: Storage + ?Sized>(
        &mut self,
        rng: &mut R,
        so: crate::SessionId,
        storage: &mut S,
        source: &KeySource<'_>,
    ) -> Result<u64> {
        let so_slot = self.require(so, Role::SecurityOfficer, crate::audit::Operation::Export)?.slot;
        let so_key = self.so_wrap_key(so)?;
        let counter = self.v1_counter.checked_add(1).ok_or(Error::Capacity)?;
        let limit = self.config.audit_limit(crate::token::AuditClass::Auditor);
        let config = self.config;
        let slot_count = self.slot_count;
        let slots = self.transact(|tx| {
            let mut slots = Vec::with_capacity(usize::from(slot_count));
            for slot in 0..slot_count {
                if tx.has_token(slot)? {
                    tx.ensure_room(slot, 1, limit)?;
                }
            }
            for slot in 0..slot_count {
                if !tx.has_token(slot)? {
                    slots.push(None);
                    continue;
                }
                tx.log(slot, AuditEvent::KeystoreSaved { counter })?;
                let token = tx.token(slot)?;
                let head = tx.audit_head(slot)?;
                let records = tx.audit_records(
                    slot,
                    head.anchor_seq,
                    usize::try_from(head.live()).unwrap_or(usize::MAX),
                )?;
                let anchor = crate::audit::AuditAnchor { seq: head.anchor_seq, prev_mac: head.anchor_mac };
                let mut keys: BTreeMap<Handle, KeyObject> = BTreeMap::new();
                for mut key in tx.slot_keys(slot)? {
                    if key.material == crate::object::Material::Sealed && !key.versions.is_empty() {
                        if slot != so_slot {
                            return Err(Error::NotExtractable);
                        }
                        let tenant_key = crate::token::so_tenant_key(tx, slot, &so_key, &key.attrs.tenant)?;
                        tx.open_material(slot, &mut key, &tenant_key)?;
                    }
                    key.material = crate::object::Material::Clear;
                    keys.insert(key.handle, key);
                }
                let so_name = crate::audit::Actor::SECURITY_OFFICER;
                slots.push(Some(Token {
                    label: token.label,
                    so_pin: tx.user(slot, so_name)?.map(|u| u.pin).ok_or(Error::KeystoreCorrupt)?,
                    user_pin: tx.user(slot, V1_USER)?.filter(|u| u.role == Role::User).map(|u| u.pin),
                    auditor_pin: tx
                        .user(slot, V1_AUDITOR)?
                        .filter(|u| u.role == Role::Auditor)
                        .map(|u| u.pin),
                    keys,
                    next_handle: token.next_handle,
                    audit: AuditLog::from_parts(token.audit_key.hmac()?, anchor, records),
                    audit_key: token.audit_key,
                }));
            }
            Ok(slots)
        })?;
        let state = encode_state(&config, &slots)?;
        // What a version-1 reader checks (a handle below the token's next
        // handle, one key per tenant and key id, ...) a store may break: such a
        // store is refused here rather than written as a file that will not load.
        decode_state(&state, counter)?;
        let sealed = keystore::seal(rng, source, counter, &state)?;
        storage.write(&sealed)?;
        self.v1_counter = counter;
        Ok(counter)
    }
}
