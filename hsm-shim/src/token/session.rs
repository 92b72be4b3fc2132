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
use crate::store::records::TokenRecord;

/// An open session: a number local to the [`Hsm`] value that opened it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SessionId(pub(crate) u64);

pub(crate) struct Session {
    pub(crate) slot: u8,
    pub(crate) actor: Actor,
    /// The tenant a user session acts in; `None` for the other roles.
    pub(crate) tenant: Option<String>,
}

/// What a login is refused for, as an audit reason.
fn pin_refusal(e: Error) -> Refusal {
    if e == Error::PinLocked { Refusal::PinLocked } else { Refusal::WrongPin }
}

pub(crate) fn so_actor() -> Actor {
    Actor { user: Actor::SECURITY_OFFICER.to_string(), role: Role::SecurityOfficer }
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
        let so = PinRecord::new(rng, so_pin, self.config.pin_iterations)?;
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
            tx.put_pin(slot, Role::SecurityOfficer, &so)?;
            tx.init_audit(slot, audit_key.hmac()?);
            tx.log(slot, AuditEvent::TokenInitialized)
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
        let slot = self.slot(slot)?;
        let max = self.config.max_pin_failures;
        let limit = self.config.audit_limit(AuditClass::SecurityOfficer);
        let who = so_actor();
        self.transact(|tx| {
            // Refused before the PIN is checked: no attempt goes unlogged.
            tx.ensure_room(slot, 1, limit)?;
            let mut record = tx.pin(slot, Role::SecurityOfficer)?.ok_or(Error::TokenState)?;
            let before = record.failures;
            let result = record.check(pin, max);
            if record.failures != before {
                tx.put_pin(slot, Role::SecurityOfficer, &record)?;
            }
            if let Err(e) = result {
                tx.log_refusal(slot, refused_login(&who, "", pin_refusal(e)))?;
                return Err(e);
            }
            tx.log(slot, AuditEvent::UserLoggedIn { who: who.clone(), tenant: String::new() })
        })?;
        Ok(self.open_session(slot, who, None))
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
    /// hsm.create_tenant(so, "acme")?;
    /// hsm.create_tenant(so, "globex")?;
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
        if user.is_empty()
            || user.len() > MAX_NAME_LEN
            || tenant.is_some_and(|t| t.is_empty() || t.len() > MAX_NAME_LEN)
        {
            return Err(Error::InvalidInput);
        }
        let slot = self.slot(slot)?;
        let max = self.config.max_pin_failures;
        let iterations = self.config.pin_iterations;
        let work = self.config.audit_limit(AuditClass::Work);
        let auditor = self.config.audit_limit(AuditClass::Auditor);
        let asked = tenant.unwrap_or("");
        let (who, acting) = self.transact(|tx| {
            let Some(mut record) = tx.user(slot, user)? else {
                tx.ensure_room(slot, 1, work)?;
                PinRecord::burn(pin, iterations);
                let who = Actor { user: user.to_string(), role: Role::User };
                tx.log_refusal(slot, refused_login(&who, asked, Refusal::UnknownUser))?;
                return Err(Error::PinIncorrect);
            };
            tx.ensure_room(slot, 1, if record.role == Role::Auditor { auditor } else { work })?;
            let who = Actor { user: record.name.clone(), role: record.role };
            let before = record.pin.failures;
            let result = record.pin.check(pin, max);
            if record.pin.failures != before {
                tx.put_user(slot, &record)?;
            }
            if let Err(e) = result {
                tx.log_refusal(slot, refused_login(&who, asked, pin_refusal(e)))?;
                return Err(e);
            }
            let acting = match (record.role, tenant) {
                (Role::User, Some(t)) if record.tenants.iter().any(|x| x == t) => Some(t.to_string()),
                (Role::User, Some(_)) => {
                    tx.log_refusal(slot, refused_login(&who, asked, Refusal::NotInTenant))?;
                    return Err(Error::TenantNotAllowed);
                }
                (Role::User, None) if record.tenants.len() == 1 => record.tenants.first().cloned(),
                (Role::Auditor, None) => None,
                _ => return Err(Error::InvalidInput),
            };
            let tenant = acting.clone().unwrap_or_default();
            tx.log(slot, AuditEvent::UserLoggedIn { who: who.clone(), tenant })?;
            Ok((who, acting))
        })?;
        Ok(self.open_session(slot, who, acting))
    }

    fn open_session(&mut self, slot: u8, actor: Actor, tenant: Option<String>) -> SessionId {
        let id = SessionId(self.next_session);
        self.next_session = self.next_session.saturating_add(1);
        self.sessions.insert(id, Session { slot, actor, tenant });
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
        let max = self.config.max_pin_failures;
        let limit = self.config.audit_limit(class_of(who.role));
        self.transact(|tx| {
            tx.ensure_room(slot, 1, limit)?;
            let user = match who.role {
                Role::SecurityOfficer => None,
                _ => Some(tx.user(slot, &who.user)?.ok_or(Error::NotLoggedIn)?),
            };
            let mut pin = match &user {
                Some(u) => u.pin.clone(),
                None => tx.pin(slot, Role::SecurityOfficer)?.ok_or(Error::TokenState)?,
            };
            let before = pin.failures;
            let result = pin.check(old_pin, max);
            let next = if result.is_ok() { fresh.clone() } else { pin };
            if result.is_ok() || next.failures != before {
                match user {
                    Some(mut u) => {
                        u.pin = next;
                        tx.put_user(slot, &u)?;
                    }
                    None => tx.put_pin(slot, Role::SecurityOfficer, &next)?,
                }
            }
            if let Err(e) = result {
                let event = AuditEvent::Refused {
                    who: who.clone(),
                    tenant: String::new(),
                    key: None,
                    attempted: Operation::Administer,
                    reason: pin_refusal(e),
                };
                tx.log_refusal(slot, event)?;
                return Err(e);
            }
            tx.log(slot, AuditEvent::OwnPinChanged { who: who.clone() })
        })
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

pub(crate) fn refused_login(who: &Actor, tenant: &str, reason: Refusal) -> AuditEvent {
    AuditEvent::Refused {
        who: who.clone(),
        tenant: tenant.to_string(),
        key: None,
        attempted: Operation::Login,
        reason,
    }
}
