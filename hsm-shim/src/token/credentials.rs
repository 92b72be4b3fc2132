//! Tenants and the credentials bound to them: the security officer's
//! administration (create and list tenants; create, list, remove and
//! unblock users and auditors).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use coffer_core::rng::TryCryptoRng;

use super::session::SessionSecret;
use super::{AuditClass, Hsm, SessionId};
use crate::audit::{Actor, AuditEvent, MAX_TENANTS_PER_USER, Operation, Role};
use crate::error::{Error, Result};
use crate::object::MAX_NAME_LEN;
use crate::pin::PinRecord;
use crate::store::grants::{GRANT_LEN, TenantKey, WrapKey};
use crate::store::records::{TenantRecord, TenantState, UserRecord};
use crate::store::tx::Tx;

/// A tenant, as [`Hsm::tenants`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantInfo {
    /// The tenant's name.
    pub name: String,
    /// When it was created, in seconds since the Unix epoch (HSM clock).
    pub created: u64,
}

/// A credential, as [`Hsm::users`] lists it (never its PIN or hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name.
    pub name: String,
    /// [`Role::User`] or [`Role::Auditor`].
    pub role: Role,
    /// The tenants a user may act in (none for an auditor).
    pub tenants: Vec<String>,
    /// Consecutive wrong PINs since the last success.
    pub failures: u8,
    /// Whether the credential is locked (an SO must unblock it).
    pub locked: bool,
    /// When it was created, in seconds since the Unix epoch (HSM clock).
    pub created: u64,
}

/// Whether `name` may name a tenant or a user: 1..=64 bytes of ASCII
/// letters, digits and `. _ - @`, not starting with `-` (so that it never
/// reads as a command-line option).
///
/// ```
/// assert!(coffer_hsm::is_valid_name("acme-eu.prod"));
/// assert!(coffer_hsm::is_valid_name("alice@acme"));
/// assert!(!coffer_hsm::is_valid_name("bad name"));
/// assert!(!coffer_hsm::is_valid_name("-rf"));
/// assert!(!coffer_hsm::is_valid_name(""));
/// ```
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('-')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
}

impl Hsm {
    /// Creates a tenant. Security officer only. Users of the tenant are
    /// then made with [`Self::create_user`]; its keys by those users.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a name [`is_valid_name`] refuses;
    /// [`Error::AlreadyExists`]; [`Error::RoleNotAllowed`] for another role
    /// (an audited refusal).
    pub fn create_tenant<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        so: SessionId,
        tenant: &str,
    ) -> Result<()> {
        let ctx = self.require(so, Role::SecurityOfficer, Operation::Administer)?;
        if !is_valid_name(tenant) {
            return Err(Error::InvalidInput);
        }
        let so_key = self.so_wrap_key(so)?;
        let tenant_key = TenantKey::generate(rng)?;
        let limit = self.config.audit_limit(AuditClass::SecurityOfficer);
        self.transact(|tx| {
            if tx.tenant(ctx.slot, tenant)?.is_some() {
                return Err(Error::AlreadyExists);
            }
            tx.ensure_room(ctx.slot, 1, limit)?;
            let nonce = tx.keys().next_nonce();
            let grant = so_key.grant(&nonce, Actor::SECURITY_OFFICER, tenant, &tenant_key)?;
            let record = TenantRecord {
                name: tenant.to_string(),
                created: tx.now(),
                state: TenantState::Sealed(grant),
            };
            tx.put_tenant(ctx.slot, &record)?;
            tx.log(ctx.slot, AuditEvent::TenantCreated { tenant: tenant.to_string() })
        })
    }

    /// The tenants of the session's token, by name. Security officer or auditor.
    ///
    /// # Errors
    /// [`Error::RoleNotAllowed`] for a user session (an audited refusal).
    pub fn tenants(&mut self, session: SessionId) -> Result<Vec<TenantInfo>> {
        let slot = self.admin_or_auditor(session)?;
        self.transact(|tx| {
            Ok(tx
                .tenants(slot)?
                .into_iter()
                .map(|t| TenantInfo { name: t.name, created: t.created })
                .collect())
        })
    }

    /// Creates the credential `name` with its own PIN: a [`Role::User`]
    /// bound to `tenants` (1 to [`MAX_TENANTS_PER_USER`] existing tenants),
    /// or a [`Role::Auditor`] (no tenants). Security officer only.
    ///
    /// ```
    /// use coffer_core::rng::OsRng;
    /// use coffer_hsm::{Config, Error, Hsm, Role, SystemClock};
    ///
    /// let mut hsm = Hsm::new(1, Config { pin_iterations: 1_000, ..Config::default() }, Box::new(SystemClock))?;
    /// hsm.init_token(&mut OsRng, 0, "ledger", b"so-pin-1")?;
    /// let so = hsm.login_so(0, b"so-pin-1")?;
    /// hsm.create_tenant(&mut OsRng, so, "acme")?;
    /// hsm.create_user(&mut OsRng, so, "alice", Role::User, &["acme"], b"alice-pin")?;
    /// hsm.create_user(&mut OsRng, so, "audit", Role::Auditor, &[], b"audit-pin")?;
    /// assert_eq!(hsm.create_user(&mut OsRng, so, "bob", Role::User, &["globex"], b"bob-pin-1"), Err(Error::NotFound));
    /// assert_eq!(hsm.users(so)?.len(), 2);
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a name [`is_valid_name`] refuses, the
    /// name `so`, a role or tenant list that do not match;
    /// [`Error::NotFound`] for a tenant that does not exist;
    /// [`Error::AlreadyExists`]; [`Error::PinPolicy`].
    pub fn create_user<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        so: SessionId,
        name: &str,
        role: Role,
        tenants: &[&str],
        pin: &[u8],
    ) -> Result<()> {
        let ctx = self.require(so, Role::SecurityOfficer, Operation::Administer)?;
        let shape_ok = match role {
            Role::User => (1..=MAX_TENANTS_PER_USER).contains(&tenants.len()),
            Role::Auditor => tenants.is_empty(),
            Role::SecurityOfficer => false,
        };
        if !shape_ok || !is_valid_name(name) || name == Actor::SECURITY_OFFICER {
            return Err(Error::InvalidInput);
        }
        if tenants.iter().any(|t| !is_valid_name(t)) {
            return Err(Error::InvalidInput);
        }
        let mut names: Vec<String> = tenants.iter().map(|t| (*t).to_string()).collect();
        names.sort();
        names.dedup();
        let so_key = self.so_wrap_key(so)?;
        let pin_record = PinRecord::new(rng, pin, self.config.pin_iterations)?;
        let wrap = pin_record.wrap_key(pin);
        let limit = self.config.audit_limit(AuditClass::SecurityOfficer);
        self.transact(|tx| {
            if tx.user(ctx.slot, name)?.is_some() {
                return Err(Error::AlreadyExists);
            }
            let grants = grants_for(tx, ctx.slot, &so_key, name, &names, &wrap)?;
            tx.ensure_room(ctx.slot, 1, limit)?;
            let mut record = UserRecord {
                name: name.to_string(),
                role,
                tenants: grants,
                pin: pin_record.clone(),
                created: tx.now(),
                last_seq: 0,
                last_mac: [0; 32],
            };
            let user = Actor { user: name.to_string(), role };
            tx.put_user_logged(
                ctx.slot,
                &mut record,
                AuditEvent::UserCreated { user, tenants: names.clone() },
            )
        })
    }

    /// The credentials of the session's token (not the security officer),
    /// by name. Security officer or auditor.
    ///
    /// # Errors
    /// [`Error::RoleNotAllowed`] for a user session (an audited refusal).
    pub fn users(&mut self, session: SessionId) -> Result<Vec<UserInfo>> {
        let slot = self.admin_or_auditor(session)?;
        let max = self.config.max_pin_failures;
        self.transact(|tx| {
            Ok(tx
                .users(slot)?
                .into_iter()
                .filter(|u| u.role != Role::SecurityOfficer)
                .map(|u| UserInfo {
                    tenants: u.tenant_names(),
                    locked: u.pin.is_locked(max),
                    failures: u.pin.failures,
                    name: u.name,
                    role: u.role,
                    created: u.created,
                })
                .collect())
        })
    }

    /// Removes the credential `name`: it can no longer log in, and its
    /// sessions on this `Hsm` value end. (Sessions it opened on other `Hsm`
    /// values or in other processes keep working until they log out.)
    /// Security officer only.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown name.
    pub fn remove_user(&mut self, so: SessionId, name: &str) -> Result<()> {
        let ctx = self.require(so, Role::SecurityOfficer, Operation::Administer)?;
        if !is_valid_name(name) {
            return Err(Error::NotFound);
        }
        let limit = self.config.audit_limit(AuditClass::SecurityOfficer);
        self.transact(|tx| {
            let record = tx
                .user(ctx.slot, name)?
                .filter(|r| r.role != Role::SecurityOfficer)
                .ok_or(Error::NotFound)?;
            tx.ensure_room(ctx.slot, 1, limit)?;
            tx.delete_user(ctx.slot, name)?;
            tx.log(ctx.slot, AuditEvent::UserRemoved { user: Actor { user: record.name, role: record.role } })
        })?;
        self.sessions.retain(|_, s| s.slot != ctx.slot || s.actor.user != name);
        Ok(())
    }

    /// Unblocks the credential `name`: gives it `new_pin` and clears its
    /// failure count (as PKCS#11's `C_InitPIN`; the holder should then
    /// change it with [`Self::change_pin`]). Security officer only.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown name; [`Error::PinPolicy`].
    pub fn unblock_user<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        so: SessionId,
        name: &str,
        new_pin: &[u8],
    ) -> Result<()> {
        let ctx = self.require(so, Role::SecurityOfficer, Operation::Administer)?;
        if !is_valid_name(name) {
            return Err(Error::NotFound);
        }
        let so_key = self.so_wrap_key(so)?;
        let pin = PinRecord::new(rng, new_pin, self.config.pin_iterations)?;
        let wrap = pin.wrap_key(new_pin);
        let limit = self.config.audit_limit(AuditClass::SecurityOfficer);
        self.transact(|tx| {
            let mut record = tx
                .user(ctx.slot, name)?
                .filter(|r| r.role != Role::SecurityOfficer)
                .ok_or(Error::NotFound)?;
            tx.ensure_room(ctx.slot, 1, limit)?;
            // The old PIN's grants are replaced by grants under the new one,
            // from the security officer's (KEYSTORE.md §13.2).
            record.tenants = grants_for(tx, ctx.slot, &so_key, name, &record.tenant_names(), &wrap)?;
            record.pin = pin.clone();
            let user = Actor { user: record.name.clone(), role: record.role };
            tx.put_user_logged(ctx.slot, &mut record, AuditEvent::UserUnblocked { user })
        })
    }

    /// The key the security officer session `so` wraps grants with.
    pub(crate) fn so_wrap_key(&self, so: SessionId) -> Result<WrapKey> {
        match self.sessions.get(&so).map(|s| &s.secret) {
            Some(SessionSecret::SecurityOfficer(k)) => Ok(k.clone()),
            Some(_) => Err(Error::RoleNotAllowed),
            None => Err(Error::NotLoggedIn),
        }
    }

    /// The slot of a security officer or auditor session; a user session
    /// is an audited refusal.
    fn admin_or_auditor(&mut self, session: SessionId) -> Result<u8> {
        let role = self.sessions.get(&session).ok_or(Error::NotLoggedIn)?.actor.role;
        let wanted = if role == Role::Auditor { Role::Auditor } else { Role::SecurityOfficer };
        Ok(self.require(session, wanted, Operation::List)?.slot)
    }
}

/// `tenant`'s key, from the security officer's grant in its tenant record.
///
/// # Errors
/// [`Error::NotFound`] for an unknown tenant; [`Error::KeyState`] for one
/// without a tenant key (made before tenant keys) or shredded.
pub(crate) fn so_tenant_key(tx: &mut Tx<'_>, slot: u8, so_key: &WrapKey, tenant: &str) -> Result<TenantKey> {
    match tx.tenant(slot, tenant)?.ok_or(Error::NotFound)?.state {
        TenantState::Sealed(grant) => so_key.open_grant(Actor::SECURITY_OFFICER, tenant, &grant),
        TenantState::Legacy | TenantState::Shredded => Err(Error::KeyState),
    }
}

/// The grants of `tenants`' keys for the credential `holder` under `wrap`,
/// opened from the security officer's grants (none for a tenant without a
/// tenant key).
///
/// # Errors
/// [`Error::NotFound`] for an unknown tenant; [`Error::KeyState`] for a shredded one.
fn grants_for(
    tx: &mut Tx<'_>,
    slot: u8,
    so_key: &WrapKey,
    holder: &str,
    tenants: &[String],
    wrap: &WrapKey,
) -> Result<Vec<(String, Option<[u8; GRANT_LEN]>)>> {
    let mut out = Vec::with_capacity(tenants.len());
    for t in tenants {
        let grant = match tx.tenant(slot, t)?.ok_or(Error::NotFound)?.state {
            TenantState::Legacy => None,
            TenantState::Shredded => return Err(Error::KeyState),
            TenantState::Sealed(g) => {
                let key = so_key.open_grant(Actor::SECURITY_OFFICER, t, &g)?;
                let nonce = tx.keys().next_nonce();
                Some(wrap.grant(&nonce, holder, t, &key)?)
            }
        };
        out.push((t.clone(), grant));
    }
    Ok(out)
}
