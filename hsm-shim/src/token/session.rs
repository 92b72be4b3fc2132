//! Sessions and credentials: token initialization, login with lockout,
//! logout, PIN administration.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use coffer_core::rng::TryCryptoRng;

use super::{AuditClass, Hsm, fill};
use crate::audit::{AuditEvent, Role};
use crate::error::{Error, Result};
use crate::object::{MAX_NAME_LEN, Secret};
use crate::pin::PinRecord;
use crate::store::records::TokenRecord;

/// An open session: a number local to the [`Hsm`] value that opened it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SessionId(pub(crate) u64);

pub(crate) struct Session {
    pub(crate) slot: u8,
    pub(crate) role: Role,
    pub(crate) tenant: Option<String>,
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

    /// Logs in `role` on `slot`. A user session is bound to `tenant` and
    /// sees only that tenant's keys; SO and auditor sessions take no tenant.
    ///
    /// The PIN is checked and the failure counter updated inside one
    /// transaction, so N wrong guesses in parallel count N. If the outcome
    /// cannot be recorded (a full disk), the login is refused with that
    /// error, whatever the PIN.
    ///
    /// # Errors
    /// [`Error::PinIncorrect`], then [`Error::PinLocked`] after the
    /// configured number of consecutive failures; [`Error::AuditFull`]
    /// before the PIN is looked at when the log has no room for the record.
    pub fn login(&mut self, slot: usize, role: Role, pin: &[u8], tenant: Option<&str>) -> Result<SessionId> {
        let max = self.config.max_pin_failures;
        if matches!(role, Role::User) != tenant.is_some() {
            return Err(Error::InvalidInput);
        }
        if let Some(t) = tenant
            && (t.is_empty() || t.len() > MAX_NAME_LEN)
        {
            return Err(Error::InvalidInput);
        }
        let slot = self.slot(slot)?;
        let class = match role {
            Role::SecurityOfficer => AuditClass::SecurityOfficer,
            Role::User => AuditClass::Work,
            Role::Auditor => AuditClass::Auditor,
        };
        let limit = self.config.audit_limit(class);
        self.transact(|tx| {
            // Refused before the PIN is checked: no attempt goes unlogged.
            tx.ensure_room(slot, 1, limit)?;
            let Some(mut record) = tx.pin(slot, role)? else {
                tx.log_refusal(slot, AuditEvent::LoginFailed { role })?;
                return Err(Error::TokenState);
            };
            let before = record.failures;
            let result = record.check(pin, max);
            if record.failures != before {
                tx.put_pin(slot, role, &record)?;
            }
            match result {
                Ok(()) => {
                    tx.log(slot, AuditEvent::LoginSucceeded { role })?;
                    Ok(())
                }
                Err(e) => {
                    let event = if e == Error::PinLocked {
                        AuditEvent::PinLocked { role }
                    } else {
                        AuditEvent::LoginFailed { role }
                    };
                    tx.log_refusal(slot, event)?;
                    Err(e)
                }
            }
        })?;
        let id = SessionId(self.next_session);
        self.next_session = self.next_session.saturating_add(1);
        self.sessions.insert(id, Session { slot, role, tenant: tenant.map(ToString::to_string) });
        Ok(id)
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

    /// Sets (or resets, unblocking it) the PIN of the user or auditor role.
    /// Security officer only.
    ///
    /// # Errors
    /// [`Error::RoleNotAllowed`] for another role's session;
    /// [`Error::PinPolicy`] for a PIN outside 6..=64 bytes.
    pub fn set_pin<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        so: SessionId,
        role: Role,
        pin: &[u8],
    ) -> Result<()> {
        let (slot, _) = self.session_of(so, Role::SecurityOfficer)?;
        if role == Role::SecurityOfficer {
            return Err(Error::InvalidInput);
        }
        let record = PinRecord::new(rng, pin, self.config.pin_iterations)?;
        let limit = self.config.audit_limit(AuditClass::SecurityOfficer);
        self.transact(|tx| {
            tx.ensure_room(slot, 1, limit)?;
            let was_set = tx.pin(slot, role)?.is_some();
            tx.put_pin(slot, role, &record)?;
            let event =
                if was_set { AuditEvent::PinUnblocked { role } } else { AuditEvent::PinChanged { role } };
            tx.log(slot, event)
        })
    }
}
