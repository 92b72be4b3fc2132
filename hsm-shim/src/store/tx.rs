//! One HSM operation's transaction: typed, sealed access to the records it
//! touches, the audit chain advanced inside it, and the generation counter
//! bumped on commit (KEYSTORE.md §12.5).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use coffer_core::mac::HmacSha256Key;
use coffer_store::{MAX_SCAN, Transaction};
use zeroize::Zeroizing;

use crate::audit::{AuditEvent, AuditRecord, Role};
use crate::error::{Error, Result};
use crate::object::{Handle, KeyObject, Material};
use crate::pin::PinRecord;
use crate::store::grants::TenantKey;
use crate::store::records::{self, AuditHeadRecord, RecordKeys, TenantRecord, TokenRecord, UserRecord, id};

/// The audit state of one slot, loaded on first use.
struct SlotAudit {
    head: AuditHeadRecord,
    key: HmacSha256Key,
    dirty: bool,
}

pub(crate) struct Tx<'a> {
    inner: Box<dyn Transaction + 'a>,
    keys: &'a mut RecordKeys,
    now: u64,
    audit: BTreeMap<u8, SlotAudit>,
    /// Audit records appended, in order (for evidence).
    pub(crate) appended: Vec<AuditRecord>,
    /// Whether anything was written.
    wrote: bool,
    /// Commit even though the operation fails (a refusal that was audited,
    /// a failed PIN counted).
    keep: bool,
    /// The generation read at the start.
    pub(crate) generation: u64,
}

pub(crate) fn store_err(e: coffer_store::StoreError) -> Error {
    Error::Store(e)
}

impl<'a> Tx<'a> {
    fn fresh(inner: Box<dyn Transaction + 'a>, keys: &'a mut RecordKeys, now: u64) -> Self {
        Tx {
            inner,
            keys,
            now,
            audit: BTreeMap::new(),
            appended: Vec::new(),
            wrote: false,
            keep: false,
            generation: 0,
        }
    }

    pub(crate) fn begin(
        store: &'a mut (dyn coffer_store::RecordStore + Send),
        keys: &'a mut RecordKeys,
        now: u64,
    ) -> Result<Self> {
        let inner = store.begin().map_err(store_err)?;
        let mut tx = Tx::fresh(inner, keys, now);
        tx.generation = match tx.get(&id::generation())? {
            Some(g) => records::decode_generation(&g)?,
            None => 0,
        };
        Ok(tx)
    }

    /// The transaction that re-keys a store (`Hsm::change_passphrase`): it
    /// continues `inner`, which the caller already read with the old keys,
    /// and seals everything it writes under `keys`.
    pub(crate) fn continue_with(
        inner: Box<dyn Transaction + 'a>,
        keys: &'a mut RecordKeys,
        now: u64,
        generation: u64,
    ) -> Self {
        let mut tx = Tx::fresh(inner, keys, now);
        tx.generation = generation;
        tx
    }

    /// The transaction that creates an HSM in an empty store: it reads
    /// nothing sealed (a used store's records are sealed under other keys).
    ///
    /// # Errors
    /// [`Error::TokenState`] if the store already holds an HSM.
    pub(crate) fn begin_new(
        store: &'a mut (dyn coffer_store::RecordStore + Send),
        keys: &'a mut RecordKeys,
        now: u64,
    ) -> Result<Self> {
        let mut inner = store.begin().map_err(store_err)?;
        if inner.get(&id::meta()).map_err(store_err)?.is_some() {
            return Err(Error::TokenState);
        }
        Ok(Tx::fresh(inner, keys, now))
    }

    pub(crate) fn now(&self) -> u64 {
        self.now
    }

    /// The opened plaintext of record `key`, if present.
    pub(crate) fn get(&mut self, key: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>> {
        match self.inner.get(key).map_err(store_err)? {
            None => Ok(None),
            Some(sealed) => self.keys.open(key, &sealed).map(Some),
        }
    }

    /// Seals and writes record `key`.
    pub(crate) fn put(&mut self, key: &[u8], plaintext: &[u8]) -> Result<()> {
        let sealed = self.keys.seal(key, plaintext)?;
        self.inner.put(key, &sealed).map_err(store_err)?;
        self.wrote = true;
        Ok(())
    }

    pub(crate) fn put_raw(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.inner.put(key, value).map_err(store_err)?;
        self.wrote = true;
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.inner.delete(key).map_err(store_err)?;
        self.wrote = true;
        Ok(())
    }

    pub(crate) fn keys(&mut self) -> &mut RecordKeys {
        self.keys
    }

    /// Marks the transaction to be committed even if the operation fails.
    pub(crate) fn keep(&mut self) {
        self.keep = true;
    }

    pub(crate) fn token(&mut self, slot: u8) -> Result<TokenRecord> {
        let bytes = self.get(&id::token(slot))?.ok_or(Error::TokenState)?;
        TokenRecord::decode(&bytes)
    }

    pub(crate) fn has_token(&mut self, slot: u8) -> Result<bool> {
        Ok(self.inner.get(&id::token(slot)).map_err(store_err)?.is_some())
    }

    pub(crate) fn put_token(&mut self, slot: u8, t: &TokenRecord) -> Result<()> {
        self.put(&id::token(slot), &t.encode()?)
    }

    pub(crate) fn pin(&mut self, slot: u8, role: Role) -> Result<Option<PinRecord>> {
        match self.get(&id::pin(slot, records::role_code(role)))? {
            None => Ok(None),
            Some(b) => records::decode_pin(&b).map(Some),
        }
    }

    pub(crate) fn delete_pin(&mut self, slot: u8, role: Role) -> Result<()> {
        self.delete(&id::pin(slot, records::role_code(role)))
    }

    pub(crate) fn put_pin(&mut self, slot: u8, role: Role, pin: &PinRecord) -> Result<()> {
        self.put(&id::pin(slot, records::role_code(role)), &pin.to_bytes())
    }

    /// The credential named `name`, if any.
    pub(crate) fn user(&mut self, slot: u8, name: &str) -> Result<Option<UserRecord>> {
        let key = id::user(slot, &self.keys.user_tag(name));
        match self.get(&key)? {
            None => Ok(None),
            // A blinded-index collision (2^-128) would show here.
            Some(b) => Ok(Some(UserRecord::decode(&b)?).filter(|u| u.name == name)),
        }
    }

    /// Appends `event` about the credential `user` and writes the record
    /// pointing at it (§13.4): every change of a credential record comes
    /// with exactly one audit record, and the record names it.
    pub(crate) fn put_user_logged(
        &mut self,
        slot: u8,
        user: &mut UserRecord,
        event: AuditEvent,
    ) -> Result<()> {
        self.log(slot, event)?;
        let last = self.appended.last().ok_or(Error::KeystoreCorrupt)?;
        user.last_seq = last.seq;
        user.last_mac = last.mac;
        self.put_user(slot, user)
    }

    pub(crate) fn put_user(&mut self, slot: u8, user: &UserRecord) -> Result<()> {
        let key = id::user(slot, &self.keys.user_tag(&user.name));
        self.put(&key, &user.encode()?)
    }

    pub(crate) fn delete_user(&mut self, slot: u8, name: &str) -> Result<()> {
        let key = id::user(slot, &self.keys.user_tag(name));
        self.delete(&key)
    }

    /// Every credential of `slot` (other than the security officer's), by name.
    pub(crate) fn users(&mut self, slot: u8) -> Result<Vec<UserRecord>> {
        let mut out = self.scan_all(&[records::kind::USER, slot], |_, plain| UserRecord::decode(plain))?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    pub(crate) fn tenant(&mut self, slot: u8, name: &str) -> Result<Option<TenantRecord>> {
        let key = id::tenant(slot, &self.keys.tenant_tag(name));
        match self.get(&key)? {
            None => Ok(None),
            Some(b) => Ok(Some(TenantRecord::decode(&b)?).filter(|t| t.name == name)),
        }
    }

    pub(crate) fn put_tenant(&mut self, slot: u8, tenant: &TenantRecord) -> Result<()> {
        let key = id::tenant(slot, &self.keys.tenant_tag(&tenant.name));
        self.put(&key, &tenant.encode()?)
    }

    /// Every tenant of `slot`, by name.
    pub(crate) fn tenants(&mut self, slot: u8) -> Result<Vec<TenantRecord>> {
        let mut out =
            self.scan_all(&[records::kind::TENANT, slot], |_, plain| TenantRecord::decode(plain))?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Opens and decodes every record under `prefix`, page by page.
    fn scan_all<T>(&mut self, prefix: &[u8], decode: impl Fn(&[u8], &[u8]) -> Result<T>) -> Result<Vec<T>> {
        scan_opened(self.inner.as_mut(), self.keys, prefix, decode)
    }

    /// The key object `handle`, from its sealed key record (kind 0x18) or
    /// its key record (kind 0x12); sealed material stays sealed
    /// ([`Material::Sealed`]) until [`Tx::open_material`].
    pub(crate) fn key(&mut self, slot: u8, handle: Handle) -> Result<Option<KeyObject>> {
        if let Some(b) = self.get(&id::sealed_key(slot, handle.0))? {
            return records::decode_sealed_key(handle, &b).map(Some);
        }
        match self.get(&id::key(slot, handle.0))? {
            None => Ok(None),
            Some(b) => records::decode_key(handle, &b).map(Some),
        }
    }

    /// Opens the sealed material of `key` with its tenant's key.
    pub(crate) fn open_material(
        &mut self,
        slot: u8,
        key: &mut KeyObject,
        tenant_key: &TenantKey,
    ) -> Result<()> {
        if key.material != Material::Sealed {
            return Ok(());
        }
        for v in &mut key.versions {
            let plain = tenant_key.open_material(slot, key.handle.0, v.number, &v.secret.bytes)?;
            v.secret = crate::object::Secret { bytes: plain.to_vec() };
        }
        key.material = Material::Opened(tenant_key.clone());
        Ok(())
    }

    /// Writes `key`: a key record for material in the clear, a sealed key
    /// record otherwise (its material sealed again under the tenant key
    /// when it was opened).
    pub(crate) fn put_key(&mut self, slot: u8, key: &KeyObject) -> Result<()> {
        let h = key.handle.0;
        match &key.material {
            Material::Clear => self.put(&id::key(slot, h), &records::encode_key(key, None)?),
            Material::Sealed => {
                let blobs: Vec<Vec<u8>> = key.versions.iter().map(|v| v.secret.bytes.clone()).collect();
                self.put(&id::sealed_key(slot, h), &records::encode_key(key, Some(&blobs))?)
            }
            Material::Opened(tk) => {
                let mut blobs = Vec::with_capacity(key.versions.len());
                for v in &key.versions {
                    let nonce = self.keys.next_nonce();
                    blobs.push(tk.seal_material(&nonce, slot, h, v.number, &v.secret.bytes)?);
                }
                self.put(&id::sealed_key(slot, h), &records::encode_key(key, Some(&blobs))?)
            }
        }
    }

    /// The handle of `tenant`'s key `key_id`.
    pub(crate) fn find(&mut self, slot: u8, tenant: &str, key_id: &str) -> Result<Option<Handle>> {
        let t = self.keys.tenant_tag(tenant);
        let k = self.keys.key_tag(tenant, key_id);
        match self.get(&id::index(slot, &t, &k))? {
            None => Ok(None),
            Some(b) => records::decode_handle(&b).map(Some),
        }
    }

    pub(crate) fn put_index(&mut self, slot: u8, tenant: &str, key_id: &str, handle: Handle) -> Result<()> {
        let t = self.keys.tenant_tag(tenant);
        let k = self.keys.key_tag(tenant, key_id);
        self.put(&id::index(slot, &t, &k), &handle.0.to_be_bytes())
    }

    /// Every key of `tenant` (index order, which is not key id order).
    pub(crate) fn tenant_keys(&mut self, slot: u8, tenant: &str) -> Result<Vec<KeyObject>> {
        let prefix = id::tenant_prefix(slot, &self.keys.tenant_tag(tenant));
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let rows = self.inner.scan(&prefix, after.as_deref(), MAX_SCAN).map_err(store_err)?;
            let full = rows.len() == MAX_SCAN;
            for (k, sealed) in &rows {
                let handle = records::decode_handle(&self.keys.open(k, sealed)?)?;
                let key = self.key(slot, handle)?.ok_or(Error::KeystoreCorrupt)?;
                // A blinded-index collision (2^-128) would show here.
                if key.attrs.tenant == tenant {
                    out.push(key);
                }
            }
            after = rows.last().map(|(k, _)| k.clone());
            if !full {
                break;
            }
        }
        out.sort_by(|a, b| a.attrs.key_id.cmp(&b.attrs.key_id));
        Ok(out)
    }

    /// Every key object of `slot`, in handle order (sealed material stays sealed).
    pub(crate) fn slot_keys(&mut self, slot: u8) -> Result<Vec<KeyObject>> {
        fn handle_of(k: &[u8]) -> Result<Handle> {
            let h: [u8; 8] = k.get(2..).and_then(|s| s.try_into().ok()).ok_or(Error::KeystoreCorrupt)?;
            Ok(Handle(u64::from_be_bytes(h)))
        }
        let mut out =
            self.scan_all(&[records::kind::KEY, slot], |k, plain| records::decode_key(handle_of(k)?, plain))?;
        out.extend(self.scan_all(&[records::kind::SEALED_KEY, slot], |k, plain| {
            records::decode_sealed_key(handle_of(k)?, plain)
        })?);
        out.sort_by_key(|k| k.handle);
        Ok(out)
    }

    /// Writes the audit state of an imported token (anchor, records, head).
    pub(crate) fn import_audit(
        &mut self,
        slot: u8,
        key: HmacSha256Key,
        log: &crate::audit::AuditLog,
    ) -> Result<()> {
        let anchor = log.anchor();
        let (next_seq, last_mac) = log.head();
        for r in log.records() {
            self.put(&id::audit_record(slot, r.seq), &records::encode_audit(r))?;
        }
        let head =
            AuditHeadRecord { anchor_seq: anchor.seq, anchor_mac: anchor.prev_mac, next_seq, last_mac };
        self.audit.insert(slot, SlotAudit { head, key, dirty: true });
        Ok(())
    }

    fn slot_audit(&mut self, slot: u8) -> Result<&mut SlotAudit> {
        if !self.audit.contains_key(&slot) {
            let token = self.token(slot)?;
            let head = match self.get(&id::audit_head(slot))? {
                Some(b) => AuditHeadRecord::decode(&b)?,
                None => return Err(Error::KeystoreCorrupt),
            };
            let key = token.audit_key.hmac()?;
            self.audit.insert(slot, SlotAudit { head, key, dirty: false });
        }
        self.audit.get_mut(&slot).ok_or(Error::KeystoreCorrupt)
    }

    /// Starts the audit chain of a new token.
    pub(crate) fn init_audit(&mut self, slot: u8, key: HmacSha256Key) {
        self.audit.insert(slot, SlotAudit { head: AuditHeadRecord::GENESIS, key, dirty: true });
    }

    pub(crate) fn audit_head(&mut self, slot: u8) -> Result<AuditHeadRecord> {
        Ok(self.slot_audit(slot)?.head)
    }

    pub(crate) fn audit_key(&mut self, slot: u8) -> Result<HmacSha256Key> {
        self.token(slot)?.audit_key.hmac()
    }

    /// Refuses when the log cannot take `records` more records under `limit`.
    pub(crate) fn ensure_room(&mut self, slot: u8, records: usize, limit: usize) -> Result<()> {
        let live = usize::try_from(self.slot_audit(slot)?.head.live()).unwrap_or(usize::MAX);
        if live.saturating_add(records) > limit {
            return Err(Error::AuditFull);
        }
        Ok(())
    }

    /// Appends `event` to the slot's chain (KEYSTORE.md §12.4, kind 0x15).
    pub(crate) fn log(&mut self, slot: u8, event: AuditEvent) -> Result<()> {
        if !crate::audit::event_is_valid(&event) {
            return Err(Error::InvalidInput);
        }
        let now = self.now;
        let audit = self.slot_audit(slot)?;
        let seq = audit.head.next_seq;
        let mut buf = Vec::new();
        crate::audit::put_event(&mut buf, &event);
        let mac = crate::chain::record_mac(&audit.key, &audit.head.last_mac, seq, now, &buf);
        audit.head.next_seq = seq.checked_add(1).ok_or(Error::Capacity)?;
        audit.head.last_mac = mac;
        audit.dirty = true;
        let record = AuditRecord { seq, time: now, event, mac };
        self.put(&id::audit_record(slot, seq), &records::encode_audit(&record))?;
        self.appended.push(record);
        Ok(())
    }

    /// Logs a refusal: the record is committed although the operation fails.
    pub(crate) fn log_refusal(&mut self, slot: u8, event: AuditEvent) -> Result<()> {
        self.log(slot, event)?;
        self.keep();
        Ok(())
    }

    /// Live audit records of `slot` from `from_seq` on, at most `limit`.
    pub(crate) fn audit_records(
        &mut self,
        slot: u8,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>> {
        let prefix = id::audit_prefix(slot);
        let mut out = Vec::new();
        let mut after = from_seq.checked_sub(1).map(|s| id::audit_record(slot, s));
        while out.len() < limit {
            let want = limit.saturating_sub(out.len()).min(MAX_SCAN);
            let rows = self.inner.scan(&prefix, after.as_deref(), want).map_err(store_err)?;
            let got = rows.len();
            for (k, sealed) in &rows {
                let seq_bytes: [u8; 8] =
                    k.get(2..).and_then(|s| s.try_into().ok()).ok_or(Error::KeystoreCorrupt)?;
                let seq = u64::from_be_bytes(seq_bytes);
                out.push(records::decode_audit(seq, &self.keys.open(k, sealed)?)?);
            }
            after = rows.last().map(|(k, _)| k.clone());
            if got < want {
                break;
            }
        }
        Ok(out)
    }

    /// Removes the oldest `count` live records of `slot` and moves the anchor
    /// past them; returns them with their anchor.
    pub(crate) fn archive(&mut self, slot: u8, count: usize) -> Result<crate::audit::AuditSegment> {
        let head = self.audit_head(slot)?;
        let live = usize::try_from(head.live()).unwrap_or(usize::MAX);
        if count == 0 || count > live {
            return Err(Error::InvalidInput);
        }
        let records = self.audit_records(slot, head.anchor_seq, count)?;
        if records.len() != count {
            return Err(Error::KeystoreCorrupt);
        }
        for r in &records {
            self.delete(&id::audit_record(slot, r.seq))?;
        }
        let anchor = crate::audit::AuditAnchor { seq: head.anchor_seq, prev_mac: head.anchor_mac };
        let audit = self.slot_audit(slot)?;
        let last = records.last().ok_or(Error::InvalidInput)?;
        audit.head.anchor_seq = last.seq.checked_add(1).ok_or(Error::Capacity)?;
        audit.head.anchor_mac = last.mac;
        audit.dirty = true;
        Ok(crate::audit::AuditSegment { anchor, records })
    }

    /// Whether the operation's writes should be committed after it failed.
    pub(crate) fn kept(&self) -> bool {
        self.keep && self.wrote
    }

    /// Commits: writes the advanced audit heads and the next generation.
    /// Returns the generation now stored (unchanged if nothing was written).
    pub(crate) fn commit(mut self) -> Result<u64> {
        if !self.wrote {
            // Nothing to make durable, but commit all the same: a store
            // with group commit (`SqliteGroup`) answers only once what this
            // transaction read is durable too.
            self.inner.commit().map_err(store_err)?;
            return Ok(self.generation);
        }
        let dirty: Vec<(u8, AuditHeadRecord)> =
            self.audit.iter().filter(|(_, a)| a.dirty).map(|(s, a)| (*s, a.head)).collect();
        for (slot, head) in dirty {
            self.put(&id::audit_head(slot), &head.encode())?;
        }
        let next = self.generation.checked_add(1).ok_or(Error::Capacity)?;
        self.put(&id::generation(), &next.to_be_bytes())?;
        self.inner.commit().map_err(store_err)?;
        Ok(next)
    }
}

/// Opens (with `keys`) and decodes every record of `inner` under `prefix`,
/// page by page; also for the re-keying, which reads with the old keys a
/// transaction it then writes with the new ones.
pub(crate) fn scan_opened<T>(
    inner: &mut dyn Transaction,
    keys: &RecordKeys,
    prefix: &[u8],
    decode: impl Fn(&[u8], &[u8]) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let rows = inner.scan(prefix, after.as_deref(), MAX_SCAN).map_err(store_err)?;
        let full = rows.len() == MAX_SCAN;
        for (k, sealed) in &rows {
            out.push(decode(k, &keys.open(k, sealed)?)?);
        }
        after = rows.last().map(|(k, _)| k.clone());
        if !full {
            break;
        }
    }
    Ok(out)
}
