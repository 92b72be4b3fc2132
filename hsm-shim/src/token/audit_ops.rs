//! The auditor's view of a token's log: read, verify, archive.

use alloc::vec::Vec;

use super::{AuditClass, Hsm, SessionId};
use crate::audit::{AuditAnchor, AuditEvent, AuditHead, AuditRecord, AuditSegment, Operation, Role};
use crate::error::{Error, Result};

impl Hsm {
    /// The live (not archived) audit records of the auditor's slot, oldest
    /// first. Auditor only.
    ///
    /// # Errors
    /// [`Error::RoleNotAllowed`] for another role.
    pub fn audit_records(&mut self, auditor: SessionId) -> Result<Vec<AuditRecord>> {
        let slot = self.require(auditor, Role::Auditor, Operation::ReadAudit)?.slot;
        self.transact(|tx| {
            let head = tx.audit_head(slot)?;
            tx.audit_records(slot, head.anchor_seq, usize::try_from(head.live()).unwrap_or(usize::MAX))
        })
    }

    /// Verifies the audit chain of the auditor's slot from its anchor to
    /// its head: every record present, in order, its MAC chained to the one
    /// before, and the last one the head's.
    ///
    /// # Errors
    /// [`Error::AuditTampered`] with the index (from the anchor) of the
    /// first record that is missing or does not verify.
    pub fn audit_verify(&mut self, auditor: SessionId) -> Result<()> {
        let slot = self.require(auditor, Role::Auditor, Operation::ReadAudit)?.slot;
        let max = self.config.max_pin_failures;
        self.transact(|tx| {
            let head = tx.audit_head(slot)?;
            let key = tx.audit_key(slot)?;
            let records =
                tx.audit_records(slot, head.anchor_seq, usize::try_from(head.live()).unwrap_or(usize::MAX))?;
            let anchor = AuditAnchor { seq: head.anchor_seq, prev_mac: head.anchor_mac };
            crate::audit::verify_records_from(&key, anchor, &records)?;
            let expected = usize::try_from(head.live()).unwrap_or(usize::MAX);
            if records.len() != expected {
                return Err(Error::AuditTampered { index: records.len().min(expected) });
            }
            let last = records.last().map_or(head.anchor_mac, |r| r.mac);
            if !bool::from(subtle::ConstantTimeEq::ct_eq(&last[..], &head.last_mac[..])) {
                return Err(Error::AuditTampered { index: records.len().saturating_sub(1) });
            }
            // Every credential agrees with the records of its changes (§13.4).
            let users = tx.users(slot)?;
            super::binding::replay(&records, head.anchor_seq, &users, max)
        })
    }

    /// The head of the auditor's slot's log: records ever appended and the
    /// last MAC, for [`crate::audit::verify_segments`]. Auditor only.
    ///
    /// # Errors
    /// [`Error::RoleNotAllowed`] for another role.
    pub fn audit_head(&mut self, auditor: SessionId) -> Result<AuditHead> {
        let slot = self.require(auditor, Role::Auditor, Operation::ReadAudit)?.slot;
        self.transact(|tx| {
            let head = tx.audit_head(slot)?;
            Ok((head.next_seq, head.last_mac))
        })
    }

    /// Checks archived segments (oldest first, as [`Self::audit_archive`]
    /// returned them) and the live log of the auditor's slot as one chain
    /// from the genesis to the log's head, under the token's audit key (see
    /// [`crate::audit::verify_segments`]). Auditor only.
    ///
    /// # Errors
    /// [`Error::AuditTampered`] with the sequence number of the first record
    /// that fails or is missing.
    pub fn audit_verify_archive(&mut self, auditor: SessionId, archived: &[AuditSegment]) -> Result<()> {
        let slot = self.require(auditor, Role::Auditor, Operation::ReadAudit)?.slot;
        self.transact(|tx| {
            let head = tx.audit_head(slot)?;
            let key = tx.audit_key(slot)?;
            let records =
                tx.audit_records(slot, head.anchor_seq, usize::try_from(head.live()).unwrap_or(usize::MAX))?;
            let mut segments = archived.to_vec();
            segments.push(AuditSegment {
                anchor: AuditAnchor { seq: head.anchor_seq, prev_mac: head.anchor_mac },
                records,
            });
            crate::audit::verify_segments(&key, &segments, (head.next_seq, head.last_mac))
        })
    }

    /// Moves the oldest `count` records of the auditor's slot's log out of
    /// the store and returns them, then logs
    /// [`crate::audit::AuditEvent::AuditArchived`], in one transaction.
    /// Keep the returned segments (in order) and check them with the live
    /// log using [`crate::audit::verify_segments`]. This is how a full log
    /// is emptied (see [`super::Config::audit_reserve`]).
    ///
    /// ```
    /// use coffer_core::rng::OsRng;
    /// use coffer_hsm::audit::{verify_segments, AuditEvent};
    /// use coffer_hsm::{Config, Hsm, Role, SystemClock};
    ///
    /// let config = Config { pin_iterations: 1_000, audit_max_records: 20, audit_reserve: 4, ..Config::default() };
    /// let mut hsm = Hsm::new(1, config, Box::new(SystemClock))?;
    /// hsm.init_token(&mut OsRng, 0, "device", b"so-pin-1")?;
    /// let so = hsm.login_so(0, b"so-pin-1")?;
    /// hsm.create_user(&mut OsRng, so, "auditor", Role::Auditor, &[], b"audit-pin")?;
    /// let auditor = hsm.login(0, "auditor", b"audit-pin", None)?;
    ///
    /// let archived = hsm.audit_archive(auditor, 3)?;
    /// assert_eq!(archived.records.len(), 3);
    /// let live = hsm.audit_records(auditor)?;
    /// assert!(matches!(live.last().map(|r| &r.event), Some(AuditEvent::AuditArchived { first_seq: 0, count: 3 })));
    /// # let _ = (live, archived);
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::RoleNotAllowed`] for a session that is not the auditor's;
    /// [`Error::InvalidInput`] if `count` is 0 or more than the records held.
    pub fn audit_archive(&mut self, auditor: SessionId, count: usize) -> Result<AuditSegment> {
        let slot = self.require(auditor, Role::Auditor, Operation::ReadAudit)?.slot;
        let limit = self.config.audit_limit(AuditClass::Auditor);
        self.transact(|tx| {
            let archived = tx.archive(slot, count)?;
            let count = u32::try_from(archived.records.len()).map_err(|_| Error::Capacity)?;
            // Archiving freed at least one record, so this append has room.
            tx.ensure_room(slot, 1, limit)?;
            tx.log(slot, AuditEvent::AuditArchived { first_seq: archived.anchor.seq, count })?;
            Ok(archived)
        })
    }
}
