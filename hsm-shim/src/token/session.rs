//! Sessions: token initialization, login with lockout per credential,
//! logout, and a credential holder changing their own PIN.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use coffer_core::rng::TryCryptoRng;

use super::{AuditClass, Hsm, fill};
use crate::audit::{Actor, AuditEvent, Operation, Refusal, Role};
use crate::error::{Error, Result};
use crate::object::{MAX_NAME_LEN, Secret};
use crate::pin::PinRecord;
use crate::store::grants::{TenantKey, WrapKey};
use crate::store::records::{TenantState, TokenRecord, UserRecord};

/// An open session: a number local to the [`Hsm`] value that opened it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SessionId(pub(crate) u64);

pub(crate) struct Session {
    pub(crate) slot: u8,
    pub(crate) actor: Actor,
    /// The tenant a user session acts in; `None` for the other roles.
    pub(crate) tenant: Option<String>,
    pub(crate) secret: SessionSecret,
}

/// What a session holds in memory from its login (KEYSTORE.md §13).
#[derive(Clone)]
pub(crate) enum SessionSecret {
    /// An auditor, or a user of a tenant without a tenant key.
    None,
    /// A user: the key of the tenant it acts in.
    Tenant(TenantKey),
    /// The security officer: the key its PIN wraps grants with.
    SecurityOfficer(WrapKey),
}

/// What a login is refused for, as an audit reason.
fn pin_refusal(e: Error) -> Refusal {
    if e == Error::PinLocked { Refusal::PinLocked } else { Refusal::WrongPin }
}

impl Hsm {
    /// Initializes the token in `slot` with a security officer PIN and a
    /// fresh audit key. The slot must be empty.
    ///
    /// # Errors
    /// [`Error::TokenState`] if the slot already holds a token;
    /// [`Error::PinPolicy`] for a PIN outside 6..=64 bytes.
    pub fn init_token<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        slot: usize,
        label: &str,
        so_pin: &[u8],
    ) -> Result<()> {
        if label.is_empty() || label.len() > MAX_NAME_LEN {
            return Err(Error::InvalidInput);
        }
        let slot = self.slot(slot)?;
        let pin = PinRecord::new(rng, so_pin, self.config.pin_iterations)?;
        let mut audit_key = Secret { bytes: alloc::vec![0; 32] };
        fill(rng, &mut audit_key.bytes)?;
        self.transact(|tx| {
            if tx.has_token(slot)? {
                return Err(Error::TokenState);
            }
            let record = TokenRecord {
                label: label.to_string(),
                next_handle: 1,
                audit_key: Secret { bytes: audit_key.bytes.clone() },
            };
            tx.put_token(slot, &record)?;
            tx.init_audit(slot, audit_key.hmac()?);
            let mut so = UserRecord {
                name: Actor::SECURITY_OFFICER.to_string(),
                role: Role::SecurityOfficer,
                tenants: Vec::new(),
                pin: pin.clone(),
                created: tx.now(),
                last_seq: 0,
                last_mac: [0; 32],
            };
            tx.put_user_logged(slot, &mut so, AuditEvent::TokenInitialized)
        })
    }

    /// Logs the security officer in on `slot`.
    ///
    /// The PIN is checked and the failure count updated inside one
    /// transaction, so N wrong guesses in parallel count N; a wrong or
    /// locked PIN is an audit record ([`AuditEvent::Refused`]) committed
    /// before the error returns. If the outcome cannot be recorded (a full
    /// disk, a full log), the login is refused with that error, whatever the PIN.
    ///
    /// # Errors
    /// [`Error::PinIncorrect`], then [`Error::PinLocked`] after the
    /// configured number of consecutive failures (a locked security
    /// officer can only be replaced by initializing a new token);
    /// [`Error::TokenState`] for an uninitialized slot.
    pub fn login_so(&mut self, slot: usize, pin: &[u8]) -> Result<SessionId> {
        self.log_in(slot, Actor::SECURITY_OFFICER, pin, None, true)
    }

    /// Logs in the user or auditor credential `user` (made by
    /// [`Hsm::create_user`]) on `slot`. A user session acts in `tenant`,
    /// which must be one of the credential's tenants (`None` picks its only
    /// one); an auditor session takes no tenant.
    ///
    /// Each credential has its own PIN, failure count and lockout. Every
    /// refusal is an audit record naming the user, the tenant and the
    /// reason, committed before the error returns. An unknown user name is
    /// refused exactly as a wrong PIN (same error, same time), so that
    /// names cannot be probed; the audit record says which it was.
    ///
    /// ```
    /// use coffer_core::rng::OsRng;
    /// use coffer_hsm::{Config, Error, Hsm, Role, SystemClock};
    ///
    /// let mut hsm = Hsm::new(1, Config { pin_iterations: 1_000, ..Config::default() }, Box::new(SystemClock))?;
    /// hsm.init_token(&mut OsRng, 0, "ledger", b"so-pin-1")?;
    /// let so = hsm.login_so(0, b"so-pin-1")?;
    /// hsm.create_tenant(&mut OsRng, so, "acme")?;
    /// hsm.create_tenant(&mut OsRng, so, "globex")?;
    /// hsm.create_user(&mut OsRng, so, "alice", Role::User, &["acme"], b"alice-pin")?;
    ///
    /// let alice = hsm.login(0, "alice", b"alice-pin", None)?; // her only tenant, acme
    /// assert_eq!(hsm.login(0, "alice", b"alice-pin", Some("globex")), Err(Error::TenantNotAllowed));
    /// assert_eq!(hsm.login(0, "mallory", b"alice-pin", None), Err(Error::PinIncorrect));
    /// # let _ = alice;
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::PinIncorrect`] (wrong PIN or unknown user), then
    /// [`Error::PinLocked`]; [`Error::TenantNotAllowed`] for a tenant the
    /// credential is not bound to; [`Error::InvalidInput`] for a tenant
    /// given to an auditor, or none to a user of several tenants;
    /// [`Error::AuditFull`] before the PIN is looked at when the log has no
    /// room for the record.
    pub fn login(&mut self, slot: usize, user: &str, pin: &[u8], tenant: Option<&str>) -> Result<SessionId> {
        if user == Actor::SECURITY_OFFICER {
            return Err(Error::InvalidInput);
        }
        self.log_in(slot, user, pin, tenant, false)
    }

    /// Both logins: check the credential against its audit record, the
    /// PIN, the tenant; open the tenant key (users) or derive the grant key
    /// (security officer); record the outcome in the credential and the log.
    fn log_in(
        &mut self,
        slot: usize,
        user: &str,
        pin: &[u8],
        tenant: Option<&str>,
        so: bool,
    ) -> Result<SessionId> {
        let bad_name = user.is_empty() || user.len() > MAX_NAME_LEN;
        if bad_name || tenant.is_some_and(|t| t.is_empty() || t.len() > MAX_NAME_LEN) {
            return Err(Error::InvalidInput);
        }
        let slot = self.slot(slot)?;
        let max = self.config.max_pin_failures;
        let iterations = self.config.pin_iterations;
        let limit_of = |config: &super::Config, role: Role| config.audit_limit(class_of(role));
        let config = self.config;
        let asked = tenant.unwrap_or("");
        let (who, acting, secret) = self.transact(|tx| {
            let found = tx.user(slot, user)?.filter(|r| (r.role == Role::SecurityOfficer) == so);
            let Some(mut record) = found else {
                if so {
                    return Err(Error::TokenState);
                }
                tx.ensure_room(slot, 1, limit_of(&config, Role::User))?;
                PinRecord::burn(pin, iterations);
                let who = Actor { user: user.to_string(), role: Role::User };
                tx.log_refusal(slot, refused_login(&who, asked, Refusal::UnknownUser))?;
                return Err(Error::PinIncorrect);
            };
            // Refused before the PIN is checked: no attempt goes unlogged.
            tx.ensure_room(slot, 1, limit_of(&config, record.role))?;
            super::binding::check(tx, slot, &record, max)?;
            let who = Actor { user: record.name.clone(), role: record.role };
            if let Err(e) = record.pin.check(pin, max) {
                tx.put_user_logged(slot, &mut record, refused_login(&who, asked, pin_refusal(e)))?;
                tx.keep();
                return Err(e);
            }
            let acting = match (record.role, tenant) {
                (Role::User, Some(t)) if record.tenants.iter().any(|(x, _)| x == t) => Some(t.to_string()),
                (Role::User, Some(_)) => {
                    tx.put_user_logged(slot, &mut record, refused_login(&who, asked, Refusal::NotInTenant))?;
                    tx.keep();
                    return Err(Error::TenantNotAllowed);
                }
                (Role::User, None) if record.tenants.len() == 1 => {
                    record.tenants.first().map(|(t, _)| t.clone())
                }
                (Role::Auditor | Role::SecurityOfficer, None) => None,
                _ => return Err(Error::InvalidInput),
            };
            let secret = match (&record.role, &acting) {
                (Role::SecurityOfficer, _) => SessionSecret::SecurityOfficer(record.pin.wrap_key(pin)),
                (Role::User, Some(t)) => match record.tenants.iter().find(|(x, _)| x == t) {
                    Some((_, Some(grant))) => {
                        SessionSecret::Tenant(record.pin.wrap_key(pin).open_grant(&record.name, t, grant)?)
                    }
                    _ => SessionSecret::None,
                },
                _ => SessionSecret::None,
            };
            let event =
                AuditEvent::UserLoggedIn { who: who.clone(), tenant: acting.clone().unwrap_or_default() };
            tx.put_user_logged(slot, &mut record, event)?;
            Ok((who, acting, secret))
        })?;
        Ok(self.open_session(slot, who, acting, secret))
    }

    fn open_session(
        &mut self,
        slot: u8,
        actor: Actor,
        tenant: Option<String>,
        secret: SessionSecret,
    ) -> SessionId {
        let id = SessionId(self.next_session);
        self.next_session = self.next_session.saturating_add(1);
        self.sessions.insert(id, Session { slot, actor, tenant, secret });
        id
    }

    /// Ends a session.
    ///
    /// # Errors
    /// [`Error::NotLoggedIn`] for an unknown session.
    pub fn logout(&mut self, session: SessionId) -> Result<()> {
        self.sessions.remove(&session).map(|_| ()).ok_or(Error::NotLoggedIn)
    }

    /// The sessions open on this value (for diagnostics).
    pub fn sessions(&self) -> Vec<SessionId> {
        self.sessions.keys().copied().collect()
    }

    /// Who a session is logged in as, and the tenant it acts in.
    ///
    /// # Errors
    /// [`Error::NotLoggedIn`] for an unknown session.
    pub fn whoami(&self, session: SessionId) -> Result<(Actor, Option<String>)> {
        let s = self.sessions.get(&session).ok_or(Error::NotLoggedIn)?;
        Ok((s.actor.clone(), s.tenant.clone()))
    }

    /// Changes the PIN of the session's own credential (any role): `old_pin`
    /// must be its current PIN, checked and counted like a login.
    ///
    /// # Errors
    /// [`Error::PinIncorrect`] / [`Error::PinLocked`] for a wrong old PIN
    /// (an audited refusal); [`Error::PinPolicy`] for a new PIN outside
    /// 6..=64 bytes; [`Error::NotLoggedIn`] if the credential was removed.
    pub fn change_pin<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        old_pin: &[u8],
        new_pin: &[u8],
    ) -> Result<()> {
        let (slot, who) = {
            let s = self.sessions.get(&session).ok_or(Error::NotLoggedIn)?;
            (s.slot, s.actor.clone())
        };
        let fresh = PinRecord::new(rng, new_pin, self.config.pin_iterations)?;
        let new_wrap = fresh.wrap_key(new_pin);
        let max = self.config.max_pin_failures;
        let limit = self.config.audit_limit(class_of(who.role));
        self.transact(|tx| {
            tx.ensure_room(slot, 1, limit)?;
            let mut record = tx.user(slot, &who.user)?.ok_or(Error::NotLoggedIn)?;
            if let Err(e) = record.pin.check(old_pin, max) {
                let event = refused(&who, "", Operation::Administer, pin_refusal(e));
                tx.put_user_logged(slot, &mut record, event)?;
                tx.keep();
                return Err(e);
            }
            let old_wrap = record.pin.wrap_key(old_pin);
            // Every grant the old PIN held moves under the new one.
            if who.role == Role::SecurityOfficer {
                for mut t in tx.tenants(slot)? {
                    if let TenantState::Sealed(grant) = t.state {
                        let key = old_wrap.open_grant(&who.user, &t.name, &grant)?;
                        let nonce = tx.keys().next_nonce();
                        t.state = TenantState::Sealed(new_wrap.grant(&nonce, &who.user, &t.name, &key)?);
                        tx.put_tenant(slot, &t)?;
                    }
                }
            }
            for (t, grant) in &mut record.tenants {
                if let Some(g) = grant {
                    let key = old_wrap.open_grant(&who.user, t, g)?;
                    let nonce = tx.keys().next_nonce();
                    *g = new_wrap.grant(&nonce, &who.user, t, &key)?;
                }
            }
            record.pin = fresh.clone();
            tx.put_user_logged(slot, &mut record, AuditEvent::OwnPinChanged { who: who.clone() })
        })?;
        if let Some(s) = self.sessions.get_mut(&session)
            && who.role == Role::SecurityOfficer
        {
            s.secret = SessionSecret::SecurityOfficer(new_wrap);
        }
        Ok(())
    }
}

/// The audit class of a role's own records (see [`super::Config::audit_reserve`]).
pub(crate) fn class_of(role: Role) -> AuditClass {
    match role {
        Role::SecurityOfficer => AuditClass::SecurityOfficer,
        Role::User => AuditClass::Work,
        Role::Auditor => AuditClass::Auditor,
    }
}

fn refused_login(who: &Actor, tenant: &str, reason: Refusal) -> AuditEvent {
    refused(who, tenant, Operation::Login, reason)
}

/// The refusal of `attempted` by the credential `who`, about no key.
fn refused(who: &Actor, tenant: &str, attempted: Operation, reason: Refusal) -> AuditEvent {
    AuditEvent::Refused { who: who.clone(), tenant: tenant.to_string(), key: None, attempted, reason }
}
