//! Tenants and the credentials bound to them: the security officer's
//! administration (create and list tenants; create, list, remove and
//! unblock users and auditors).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use coffer_core::rng::TryCryptoRng;

use super::{AuditClass, Hsm, SessionId};
use crate::audit::{Actor, AuditEvent, MAX_TENANTS_PER_USER, Operation, Role};
use crate::error::{Error, Result};
use crate::object::MAX_NAME_LEN;
use crate::pin::PinRecord;
use crate::store::records::{TenantRecord, UserRecord};

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
    pub fn create_tenant(&mut self, so: SessionId, tenant: &str) -> Result<()> {
        let ctx = self.require(so, Role::SecurityOfficer, Operation::Administer)?;
        if !is_valid_name(tenant) {
            return Err(Error::InvalidInput);
        }
        let limit = self.config.audit_limit(AuditClass::SecurityOfficer);
        self.transact(|tx| {
            if tx.tenant(ctx.slot, tenant)?.is_some() {
                return Err(Error::AlreadyExists);
            }
            tx.ensure_room(ctx.slot, 1, limit)?;
            let now = tx.now();
            tx.put_tenant(ctx.slot, &TenantRecord { name: tenant.to_string(), created: now })?;
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
    /// hsm.create_tenant(so, "acme")?;
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
        let mut names: Vec<String> = tenants.iter().map(|t| (*t).to_string()).collect();
        names.sort();
        names.dedup();
        let pin = PinRecord::new(rng, pin, self.config.pin_iterations)?;
        let limit = self.config.audit_limit(AuditClass::SecurityOfficer);
        self.transact(|tx| {
            if tx.user(ctx.slot, name)?.is_some() {
                return Err(Error::AlreadyExists);
            }
            for t in &names {
                tx.tenant(ctx.slot, t)?.ok_or(Error::NotFound)?;
            }
            tx.ensure_room(ctx.slot, 1, limit)?;
            let created = tx.now();
            let record = UserRecord {
                name: name.to_string(),
                role,
                tenants: names.clone(),
                pin: pin.clone(),
                created,
            };
            tx.put_user(ctx.slot, &record)?;
            let user = Actor { user: name.to_string(), role };
            tx.log(ctx.slot, AuditEvent::UserCreated { user, tenants: names.clone() })
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
                .map(|u| UserInfo {
                    locked: u.pin.is_locked(max),
                    failures: u.pin.failures,
                    name: u.name,
                    role: u.role,
                    tenants: u.tenants,
                    created: u.created,
                })
                .collect())
        })
    }

    /// Removes the credential `name`: it can no longer log in. (Sessions
    /// it already opened in other processes keep working until they log
    /// out.) Security officer only.
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
            let record = tx.user(ctx.slot, name)?.ok_or(Error::NotFound)?;
            tx.ensure_room(ctx.slot, 1, limit)?;
            tx.delete_user(ctx.slot, name)?;
            tx.log(ctx.slot, AuditEvent::UserRemoved { user: Actor { user: record.name, role: record.role } })
        })
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
        let pin = PinRecord::new(rng, new_pin, self.config.pin_iterations)?;
        let limit = self.config.audit_limit(AuditClass::SecurityOfficer);
        self.transact(|tx| {
            let mut record = tx.user(ctx.slot, name)?.ok_or(Error::NotFound)?;
            tx.ensure_room(ctx.slot, 1, limit)?;
            record.pin = pin.clone();
            tx.put_user(ctx.slot, &record)?;
            tx.log(
                ctx.slot,
                AuditEvent::UserUnblocked { user: Actor { user: record.name, role: record.role } },
            )
        })
    }

    /// The slot of a security officer or auditor session; a user session
    /// is an audited refusal.
    fn admin_or_auditor(&mut self, session: SessionId) -> Result<u8> {
        let role = self.sessions.get(&session).ok_or(Error::NotLoggedIn)?.actor.role;
        let wanted = if role == Role::Auditor { Role::Auditor } else { Role::SecurityOfficer };
        Ok(self.require(session, wanted, Operation::List)?.slot)
    }
}
