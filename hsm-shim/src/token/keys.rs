//! Key objects: generation, import, lookup, listing, lifecycle, rotation,
//! destruction and the tenant crypto-shred.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use coffer_core::p256::P256SecretKey;
use coffer_core::rng::TryCryptoRng;

use super::{AuditClass, Hsm, MAX_KEYS_PER_TOKEN, MAX_VERSIONS, SessionCtx, SessionId};
use crate::audit::{AuditEvent, AuditRecord, KeyRef, KeyStateName, Operation, Refusal, Role};
use crate::error::{Error, Result};
use crate::object::{
    Handle, KeyAttributes, KeyInfo, KeyObject, KeyState, KeyType, MAX_NAME_LEN, Material, Secret, Version,
};
use crate::store::grants::TenantKey;
use crate::store::records::TenantState;
use crate::store::tx::Tx;

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

pub(crate) fn key_ref(key: &KeyObject) -> KeyRef {
    KeyRef {
        tenant: key.attrs.tenant.clone(),
        key_id: key.attrs.key_id.clone(),
        version: key.latest,
        handle: key.handle.0,
    }
}

pub(crate) fn state_name(state: KeyState) -> KeyStateName {
    match state {
        KeyState::PreActive => KeyStateName::PreActive,
        KeyState::Active => KeyStateName::Active,
        KeyState::Deactivated => KeyStateName::Deactivated,
        KeyState::Destroyed => KeyStateName::Destroyed,
    }
}

/// The session's tenant's key `handle`. Another tenant's key is refused
/// with [`Error::TenantNotAllowed`], and the refusal (naming the key and
/// `attempted`) is logged and committed.
pub(crate) fn tenant_key(
    tx: &mut Tx<'_>,
    ctx: &SessionCtx,
    handle: Handle,
    attempted: Operation,
) -> Result<KeyObject> {
    let mut key = tx.key(ctx.slot, handle)?.ok_or(Error::NotFound)?;
    if key.attrs.tenant != ctx.tenant {
        tx.log_refusal(ctx.slot, ctx.refused(Some(key_ref(&key)), attempted, Refusal::OtherTenant))?;
        return Err(Error::TenantNotAllowed);
    }
    if key.material == Material::Sealed && !key.versions.is_empty() {
        // A session of the key's tenant holds its tenant key (§13.3).
        let tenant_key = ctx.tenant_key.as_ref().ok_or(Error::KeystoreAuth)?;
        tx.open_material(ctx.slot, &mut key, tenant_key)?;
    }
    Ok(key)
}

/// Refuses `attempted` on `key` for `reason` (logged and committed) with `error`.
pub(crate) fn refuse<T>(
    tx: &mut Tx<'_>,
    ctx: &SessionCtx,
    key: &KeyObject,
    attempted: Operation,
    reason: Refusal,
    error: Error,
) -> Result<T> {
    tx.log_refusal(ctx.slot, ctx.refused(Some(key_ref(key)), attempted, reason))?;
    Err(error)
}

pub(crate) fn new_secret<R: TryCryptoRng + ?Sized>(rng: &mut R, key_type: KeyType) -> Result<Secret> {
    let bytes = match key_type {
        KeyType::Aes256 | KeyType::HmacSha256 => {
            let mut b = alloc::vec![0u8; 32];
            super::fill(rng, &mut b)?;
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
pub(crate) fn check_secret(key_type: KeyType, secret: &Secret) -> Result<()> {
    // Material that is not a key of `key_type` is an invalid key, whatever
    // is wrong with it, as coffer-core reports key bytes it cannot use.
    let invalid_key = Error::Crypto(coffer_core::Error::InvalidKey);
    if secret.bytes.is_empty() || secret.bytes.len() > crate::object::MAX_MATERIAL_LEN {
        return Err(invalid_key);
    }
    match key_type {
        KeyType::Aes256 | KeyType::HmacSha256 => {
            if secret.bytes.len() == 32 {
                Ok(())
            } else {
                Err(invalid_key)
            }
        }
        KeyType::P256 => secret.p256().map(|_| ()),
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
            let bits = secret.rsa()?.public_key().bits();
            let want = key_type.rsa_size().map(coffer_core::rsa::RsaKeySize::bits);
            if Some(bits) == want { Ok(()) } else { Err(invalid_key) }
        }
        KeyType::Certificate => {
            coffer_core::cert::Certificate::from_der(&secret.bytes).map(|_| ()).map_err(Error::Crypto)
        }
    }
}

/// Inserts a new key object (handle, index, audit record) in the transaction:
/// `local` for material generated inside the token (audited as
/// `KeyCreated`), else imported (`KeyImported`, and the key is never
/// `local` again, KEYSTORE.md §3.1).
///
/// The material is sealed under `tenant_key` when the key's tenant has one
/// (KEYSTORE.md §13.3); a tenant made before tenant keys keeps it in the
/// clear; a shredded tenant (or a session without its key) takes no new key.
#[allow(clippy::too_many_arguments, reason = "one transaction's inputs; a struct would only rename them")]
pub(crate) fn insert_key(
    tx: &mut Tx<'_>,
    slot: u8,
    limit: usize,
    key_type: KeyType,
    attrs: &KeyAttributes,
    secret: &Secret,
    tenant_key: Option<&TenantKey>,
    local: bool,
) -> Result<Handle> {
    tx.ensure_room(slot, 1, limit)?;
    let material = match (tx.tenant(slot, &attrs.tenant)?.ok_or(Error::NotFound)?.state, tenant_key) {
        (TenantState::Legacy, _) => Material::Clear,
        (TenantState::Sealed(_), Some(k)) => Material::Opened(k.clone()),
        (TenantState::Sealed(_) | TenantState::Shredded, _) => return Err(Error::KeyState),
    };
    let mut token = tx.token(slot)?;
    let created = usize::try_from(token.next_handle.saturating_sub(1)).unwrap_or(usize::MAX);
    if created >= MAX_KEYS_PER_TOKEN {
        return Err(Error::Capacity);
    }
    if tx.find(slot, &attrs.tenant, &attrs.key_id)?.is_some() {
        return Err(Error::InvalidInput);
    }
    let handle = Handle(token.next_handle);
    token.next_handle = token.next_handle.checked_add(1).ok_or(Error::Capacity)?;
    tx.put_token(slot, &token)?;
    let state = if attrs.active { KeyState::Active } else { KeyState::PreActive };
    let obj = KeyObject {
        material,
        handle,
        key_type,
        attrs: attrs.clone(),
        state,
        versions: alloc::vec![Version { number: 1, secret: Secret { bytes: secret.bytes.clone() } }],
        latest: 1,
        expires_at: None,
        local,
    };
    tx.put_key(slot, &obj)?;
    tx.put_index(slot, &attrs.tenant, &attrs.key_id, handle)?;
    let key = key_ref(&obj);
    tx.log(slot, if local { AuditEvent::KeyCreated { key } } else { AuditEvent::KeyImported { key } })?;
    Ok(handle)
}

impl Hsm {
    /// Inserts `secret` as a new key of the session's tenant; `local` for
    /// material generated inside the token (see [`insert_key`]).
    pub(crate) fn insert_for_session(
        &mut self,
        session: SessionId,
        key_type: KeyType,
        attrs: KeyAttributes,
        secret: Secret,
        local: bool,
    ) -> Result<Handle> {
        let ctx = self.user(session, Operation::Generate)?;
        let slot = ctx.slot;
        attrs.validate()?;
        if attrs.tenant != ctx.tenant {
            return Err(Error::InvalidInput);
        }
        let limit = self.config.audit_limit(AuditClass::Work);
        self.transact(|tx| {
            insert_key(tx, slot, limit, key_type, &attrs, &secret, ctx.tenant_key.as_ref(), local)
        })
    }

    /// Generates a key for the session's tenant (`attrs.tenant` must be it).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for attributes out of range, another tenant,
    /// or a key id the tenant already has; [`Error::Capacity`] when the
    /// token holds [`MAX_KEYS_PER_TOKEN`] keys.
    pub fn generate<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        key_type: KeyType,
        attrs: KeyAttributes,
    ) -> Result<Handle> {
        self.user(session, Operation::Generate)?;
        let secret = new_secret(rng, key_type)?;
        self.insert_for_session(session, key_type, attrs, secret, true)
    }

    /// Imports plaintext key material. Refused unless the token's config
    /// allows plaintext import ([`super::Config::allow_plain_import`]).
    /// The key is not local ([`KeyInfo::local`] false; audited as `KeyImported`).
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] when plaintext import is off;
    /// [`Error::Crypto`]`(InvalidKey)` for material that is not a key of
    /// `key_type` (`KeyPolicy` for an RSA key outside the policy).
    pub fn import_plain(
        &mut self,
        session: SessionId,
        key_type: KeyType,
        attrs: KeyAttributes,
        material: &[u8],
    ) -> Result<Handle> {
        self.user(session, Operation::Import)?;
        if !self.config.allow_plain_import {
            let ctx = self.user(session, Operation::Import)?;
            let event = ctx.refused(None, Operation::Import, Refusal::UsageNotAllowed);
            self.transact(|tx| tx.log_refusal(ctx.slot, event.clone()))?;
            return Err(Error::PolicyDenied);
        }
        let secret = Secret { bytes: material.to_vec() };
        check_secret(key_type, &secret)?;
        self.insert_for_session(session, key_type, attrs, secret, false)
    }

    /// Looks up the tenant's key by key id.
    ///
    /// # Errors
    /// [`Error::NotFound`] if the tenant has no such key.
    pub fn find(&mut self, session: SessionId, key_id: &str) -> Result<Handle> {
        let ctx = self.user(session, Operation::Show)?;
        let slot = ctx.slot;
        if key_id.is_empty() || key_id.len() > MAX_NAME_LEN {
            return Err(Error::NotFound);
        }
        self.transact(|tx| tx.find(slot, &ctx.tenant, key_id)?.ok_or(Error::NotFound))
    }

    /// The key's public description (never its material).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown handle; [`Error::TenantNotAllowed`]
    /// for another tenant's (an audited refusal).
    pub fn info(&mut self, session: SessionId, handle: Handle) -> Result<KeyInfo> {
        let ctx = self.user(session, Operation::Show)?;
        self.transact(|tx| Ok(tenant_key(tx, &ctx, handle, Operation::Show)?.info()))
    }

    /// Every key of the session's tenant, in key id order.
    pub fn list(&mut self, session: SessionId) -> Result<Vec<KeyInfo>> {
        let ctx = self.user(session, Operation::List)?;
        let slot = ctx.slot;
        self.transact(|tx| Ok(tx.tenant_keys(slot, &ctx.tenant)?.iter().map(KeyObject::info).collect()))
    }

    /// Sets (or clears, with `None`) when the key expires, in seconds since
    /// the Unix epoch. Expiry does nothing by itself: [`Self::sweep_expired`]
    /// deactivates expired keys, so that they still decrypt, unwrap and
    /// verify what exists but make nothing new. User only.
    ///
    /// # Errors
    /// [`Error::KeyState`] for a destroyed key.
    pub fn set_expiry(&mut self, session: SessionId, handle: Handle, expires_at: Option<u64>) -> Result<()> {
        let ctx = self.user(session, Operation::SetExpiry)?;
        let slot = ctx.slot;
        let limit = self.config.audit_limit(AuditClass::Work);
        self.transact(|tx| {
            let mut key = tenant_key(tx, &ctx, handle, Operation::SetExpiry)?;
            if key.state == KeyState::Destroyed {
                return refuse(tx, &ctx, &key, Operation::SetExpiry, Refusal::WrongState, Error::KeyState);
            }
            tx.ensure_room(slot, 1, limit)?;
            key.expires_at = expires_at;
            tx.put_key(slot, &key)?;
            tx.log(slot, AuditEvent::KeyExpirySet { key: key_ref(&key), expires_at: expires_at.unwrap_or(0) })
        })
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
    /// # let so = hsm.login_so(0, b"so-pin-1")?;
    /// # hsm.create_tenant(&mut OsRng, so, "acme")?;
    /// # hsm.create_user(&mut OsRng, so, "user", Role::User, &["acme"], b"user-pin")?;
    /// let s = hsm.login(0, "user", b"user-pin", Some("acme"))?;
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
        let ctx = self.user(session, Operation::SetState)?;
        let slot = ctx.slot;
        let limit = self.config.audit_limit(AuditClass::Work);
        self.transact(|tx| {
            let now = tx.now();
            let due: Vec<KeyObject> = tx
                .tenant_keys(slot, &ctx.tenant)?
                .into_iter()
                .filter(|k| matches!(k.state, KeyState::Active | KeyState::PreActive))
                .filter(|k| k.expires_at.is_some_and(|t| t <= now))
                .collect();
            tx.ensure_room(slot, due.len(), limit)?;
            let mut handles = Vec::with_capacity(due.len());
            for mut key in due {
                key.state = KeyState::Deactivated;
                tx.put_key(slot, &key)?;
                tx.log(
                    slot,
                    AuditEvent::KeyStateChanged { key: key_ref(&key), state: KeyStateName::Deactivated },
                )?;
                handles.push(key.handle);
            }
            Ok(handles)
        })
    }

    /// Moves the key to `state`. Destroyed is final; use [`Self::destroy`] for it.
    ///
    /// # Errors
    /// [`Error::KeyState`] for a transition other than pre-active → active
    /// or (pre-)active → deactivated.
    pub fn set_state(&mut self, session: SessionId, handle: Handle, state: KeyState) -> Result<()> {
        let ctx = self.user(session, Operation::SetState)?;
        let slot = ctx.slot;
        let limit = self.config.audit_limit(AuditClass::Work);
        self.transact(|tx| {
            let mut key = tenant_key(tx, &ctx, handle, Operation::SetState)?;
            tx.ensure_room(slot, 1, limit)?;
            let allowed = matches!(
                (key.state, state),
                (KeyState::PreActive, KeyState::Active)
                    | (KeyState::Active | KeyState::PreActive, KeyState::Deactivated)
            );
            if !allowed {
                return refuse(tx, &ctx, &key, Operation::SetState, Refusal::WrongState, Error::KeyState);
            }
            key.state = state;
            tx.put_key(slot, &key)?;
            tx.log(slot, AuditEvent::KeyStateChanged { key: key_ref(&key), state: state_name(state) })
        })
    }

    /// Creates a new version of the key; it becomes the one used to seal,
    /// wrap and sign, while older versions still open, unwrap and verify.
    /// Returns the new version number.
    ///
    /// # Errors
    /// [`Error::KeyState`] unless the key is active; [`Error::Capacity`]
    /// at [`MAX_VERSIONS`] versions.
    pub fn rotate<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
    ) -> Result<u32> {
        let ctx = self.user(session, Operation::Rotate)?;
        let slot = ctx.slot;
        let limit = self.config.audit_limit(AuditClass::Work);
        // The new material is made once, outside the transaction, which may run again.
        let key_type = self.transact(|tx| Ok(tenant_key(tx, &ctx, handle, Operation::Rotate)?.key_type))?;
        let secret = new_secret(rng, key_type)?;
        self.transact(|tx| {
            let mut key = tenant_key(tx, &ctx, handle, Operation::Rotate)?;
            if key.state != KeyState::Active {
                return refuse(tx, &ctx, &key, Operation::Rotate, Refusal::WrongState, Error::KeyState);
            }
            if key.versions.len() >= MAX_VERSIONS {
                return Err(Error::Capacity);
            }
            let number = key.latest.checked_add(1).ok_or(Error::Capacity)?;
            tx.ensure_room(slot, 1, limit)?;
            key.versions.push(Version { number, secret: Secret { bytes: secret.bytes.clone() } });
            key.latest = number;
            tx.put_key(slot, &key)?;
            tx.log(slot, AuditEvent::KeyRotated { key: key_ref(&key), new_version: number })?;
            Ok(number)
        })
    }

    /// Destroys every version of the key. The record stays (state
    /// Destroyed) so its id is never reused and the audit log stays meaningful.
    ///
    /// # Errors
    /// [`Error::KeyState`] for a key already destroyed.
    pub fn destroy(&mut self, session: SessionId, handle: Handle) -> Result<()> {
        let ctx = self.user(session, Operation::Destroy)?;
        let slot = ctx.slot;
        let limit = self.config.audit_limit(AuditClass::Work);
        self.transact(|tx| {
            let key = tenant_key(tx, &ctx, handle, Operation::Destroy)?;
            if key.state == KeyState::Destroyed {
                return refuse(tx, &ctx, &key, Operation::Destroy, Refusal::WrongState, Error::KeyState);
            }
            tx.ensure_room(slot, 1, limit)?;
            destroy_in(tx, slot, key).map(|_| ())
        })
    }

    /// Crypto-shreds a tenant: destroys every key of `tenant`. Security
    /// officer only. Returns the destroyed key ids and versions and the
    /// audit records written, as evidence that none of the tenant's
    /// envelopes can be opened any more. All of it is one transaction.
    ///
    /// # Errors
    /// [`Error::RoleNotAllowed`] for another role; [`Error::AuditFull`] if
    /// the log cannot take a record per key plus one (nothing changes).
    pub fn shred_tenant(&mut self, so: SessionId, tenant: &str) -> Result<ShredEvidence> {
        let slot = self.require(so, Role::SecurityOfficer, Operation::Shred)?.slot;
        if tenant.is_empty() || tenant.len() > MAX_NAME_LEN {
            return Err(Error::InvalidInput);
        }
        let limit = self.config.audit_limit(AuditClass::Work);
        // Keys sealed under the tenant key are not opened here, so their
        // parsed forms cannot be named one by one: drop them all.
        crate::keycache::clear();
        self.transact(|tx| {
            let mut record = tx.tenant(slot, tenant)?.ok_or(Error::NotFound)?;
            // The tenant key goes with every grant of it: even a copy of a
            // destroyed key's old record no longer opens (§13.3).
            record.state = TenantState::Shredded;
            tx.put_tenant(slot, &record)?;
            for mut user in tx.users(slot)? {
                let mut dropped = false;
                for (t, grant) in &mut user.tenants {
                    if t == tenant && grant.is_some() {
                        *grant = None;
                        dropped = true;
                    }
                }
                if dropped {
                    tx.put_user(slot, &user)?;
                }
            }
            let live: Vec<KeyObject> = tx
                .tenant_keys(slot, tenant)?
                .into_iter()
                .filter(|k| k.state != KeyState::Destroyed)
                .collect();
            tx.ensure_room(slot, live.len().saturating_add(1), limit)?;
            let first = tx.appended.len();
            let mut keys = Vec::with_capacity(live.len());
            for key in live {
                keys.push(destroy_in(tx, slot, key)?);
            }
            let count = u32::try_from(keys.len()).unwrap_or(u32::MAX);
            tx.log(slot, AuditEvent::TenantShredded { tenant: tenant.to_string(), keys: count })?;
            let audit = tx.appended.get(first..).map(<[AuditRecord]>::to_vec).unwrap_or_default();
            Ok(ShredEvidence { tenant: tenant.to_string(), keys, audit })
        })
    }
}

/// Erases every version of `key` and logs it.
fn destroy_in(tx: &mut Tx<'_>, slot: u8, mut key: KeyObject) -> Result<(String, u32)> {
    for v in &key.versions {
        crate::keycache::forget(&v.secret.bytes);
    }
    key.versions.clear(); // each Secret zeroizes on drop
    key.state = KeyState::Destroyed;
    tx.put_key(slot, &key)?;
    tx.log(slot, AuditEvent::KeyDestroyed { key: key_ref(&key) })?;
    Ok((key.attrs.key_id.clone(), key.latest))
}
