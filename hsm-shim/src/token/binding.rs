//! Credentials bound to the audit chain (KEYSTORE.md §13.4): every change
//! of a credential record comes with one audit record, which the credential
//! record names by sequence number and MAC. A login checks the named record
//! (one read); the auditor's verification replays the whole live chain. An
//! offline edit of a failure count that leaves the chain alone is found by
//! one or the other.

use crate::audit::{AuditEvent, AuditRecord, Operation, Refusal};
use crate::error::{Error, Result};
use crate::store::records::UserRecord;
use crate::store::tx::Tx;

/// What an audit record says about a credential's failure count, for the
/// records that come with a change of that credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Implied {
    /// Created (or converted from a version-1/role PIN): any count.
    Created,
    /// A right PIN or a new PIN of one's own: zero, and never while locked.
    Reset,
    /// The security officer's unblock: zero, from any state.
    Unblocked,
    /// One more wrong PIN, not yet locked.
    Failed,
    /// Locked.
    Locked,
    /// Removed (only the replay looks at it: the record is gone).
    Removed,
}

/// What `event` implies for the credential `name`, if it is a record that
/// comes with a change of that credential.
pub(crate) fn implied(event: &AuditEvent, name: &str) -> Option<Implied> {
    let is = |user: &str| user == name;
    match event {
        AuditEvent::TokenInitialized if name == crate::audit::Actor::SECURITY_OFFICER => {
            Some(Implied::Created)
        }
        AuditEvent::UserCreated { user, .. } if is(&user.user) => Some(Implied::Created),
        AuditEvent::UserUnblocked { user } if is(&user.user) => Some(Implied::Unblocked),
        AuditEvent::UserRemoved { user } if is(&user.user) => Some(Implied::Removed),
        AuditEvent::OwnPinChanged { who } | AuditEvent::UserLoggedIn { who, .. } if is(&who.user) => {
            Some(Implied::Reset)
        }
        AuditEvent::Refused {
            who,
            attempted: attempted @ (Operation::Login | Operation::Administer),
            reason,
            ..
        } if is(&who.user) => match (reason, attempted) {
            (Refusal::WrongPin, _) => Some(Implied::Failed),
            (Refusal::PinLocked, _) => Some(Implied::Locked),
            (Refusal::NotInTenant, Operation::Login) => Some(Implied::Reset),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a failure count agrees with what a record implies.
fn agrees(implied: Implied, failures: u8, max: u8) -> bool {
    match implied {
        Implied::Created => true,
        Implied::Reset | Implied::Unblocked => failures == 0,
        Implied::Removed => false,
        Implied::Failed => failures >= 1 && failures < max,
        Implied::Locked => failures >= max,
    }
}

/// The login-time check: the record the credential names is live (or
/// archived), has the MAC the credential says, is about this credential,
/// and agrees with its failure count. Otherwise [`Error::AuditTampered`]
/// with the sequence number it names.
pub(crate) fn check(tx: &mut Tx<'_>, slot: u8, user: &UserRecord, max: u8) -> Result<()> {
    let head = tx.audit_head(slot)?;
    if user.last_seq < head.anchor_seq {
        return Ok(()); // archived: the auditor's segments cover it
    }
    let tampered = Error::AuditTampered { index: usize::try_from(user.last_seq).unwrap_or(usize::MAX) };
    let record = tx.audit_records(slot, user.last_seq, 1)?.into_iter().next().ok_or(tampered)?;
    let ok = record.seq == user.last_seq
        && bool::from(subtle::ConstantTimeEq::ct_eq(&record.mac[..], &user.last_mac[..]))
        && implied(&record.event, &user.name).is_some_and(|i| agrees(i, user.pin.failures, max));
    if ok { Ok(()) } else { Err(tampered) }
}

/// The auditor's check over the live chain `records` (already verified as
/// a chain), for every credential: the last record that comes with a change
/// of it is the one it names; the changes follow each other as they can
/// (nothing but another refusal or an unblock after a lock; nothing after a
/// removal but a new creation); and replaying the count from the last
/// record that fixes it gives its failure count. Otherwise
/// [`Error::AuditTampered`] with the sequence number of the record that
/// disagrees.
pub(crate) fn replay(records: &[AuditRecord], anchor_seq: u64, users: &[UserRecord], max: u8) -> Result<()> {
    let tampered = |seq: u64| Error::AuditTampered { index: usize::try_from(seq).unwrap_or(usize::MAX) };
    for user in users {
        let mut last: Option<&AuditRecord> = None;
        let mut count: Option<u8> = None;
        let mut locked = false;
        let mut removed = false;
        for r in records {
            let Some(i) = implied(&r.event, &user.name) else { continue };
            let possible = match i {
                Implied::Created => true,
                Implied::Unblocked | Implied::Locked => !removed,
                Implied::Reset | Implied::Failed => !removed && !locked,
                Implied::Removed => !removed,
            };
            if !possible {
                return Err(tampered(r.seq));
            }
            (count, locked, removed) = match i {
                Implied::Created => (None, false, false),
                Implied::Reset | Implied::Unblocked => (Some(0), false, false),
                Implied::Failed => (count.map(|c| c.saturating_add(1)), false, false),
                Implied::Locked => (Some(max), true, false),
                Implied::Removed => (count, locked, true),
            };
            last = Some(r);
        }
        match last {
            None if user.last_seq < anchor_seq => {}
            None => return Err(tampered(user.last_seq)),
            // A credential whose removal is the last word was put back.
            Some(r) if removed => return Err(tampered(r.seq)),
            Some(r) if r.seq != user.last_seq || r.mac != user.last_mac => return Err(tampered(r.seq)),
            Some(r) => {
                let is_locked = user.pin.failures >= max;
                let disagrees = match count {
                    None => false,
                    Some(c) if c >= max => !is_locked,
                    Some(c) => is_locked || c != user.pin.failures,
                };
                if disagrees {
                    return Err(tampered(r.seq));
                }
            }
        }
    }
    Ok(())
}
