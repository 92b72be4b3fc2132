//! Stores written before credentials (KEYSTORE.md §13.5): the role PIN
//! records (kind 0x11) of the security officer, the user and the auditor
//! become the credentials `so`, [`crate::V1_USER`] and
//! [`crate::V1_AUDITOR`], with their PIN hashes and failure counts; every
//! tenant with keys gets a tenant record without a tenant key (its keys
//! keep their material in the clear until the tenant is shredded).

use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::Hsm;
use crate::audit::{Actor, AuditEvent, MAX_TENANTS_PER_USER, Role};
use crate::error::Result;
use crate::pin::PinRecord;
use crate::store::records::{TenantRecord, TenantState, UserRecord};
use crate::store::tx::Tx;

/// Converts the legacy records of every slot, in one transaction (`Hsm::open`
/// calls it only when its first read found a role PIN record).
pub(crate) fn legacy_credentials(hsm: &mut Hsm) -> Result<()> {
    let slots = hsm.slot_count;
    hsm.transact(|tx| {
        for slot in 0..slots {
            if tx.has_token(slot)? {
                convert_slot(tx, slot)?;
            }
        }
        Ok(())
    })
}

/// Converts the legacy records of one slot (also used by the version-1 import).
pub(crate) fn convert_slot(tx: &mut Tx<'_>, slot: u8) -> Result<()> {
    let mut tenants = BTreeSet::new();
    for key in tx.slot_keys(slot)? {
        tenants.insert(key.attrs.tenant);
    }
    let created = tx.now();
    for name in &tenants {
        if tx.tenant(slot, name)?.is_none() {
            tx.put_tenant(slot, &TenantRecord { name: name.clone(), created, state: TenantState::Legacy })?;
        }
    }
    // The version-1 user PIN opened every tenant; its credential is bound to
    // those that have keys (the first MAX_TENANTS_PER_USER by name).
    let bound: Vec<String> = tenants.into_iter().take(MAX_TENANTS_PER_USER).collect();
    let roles = [
        (Role::SecurityOfficer, Actor::SECURITY_OFFICER, Vec::new()),
        (Role::User, crate::V1_USER, bound),
        (Role::Auditor, crate::V1_AUDITOR, Vec::new()),
    ];
    for (role, name, tenants) in roles {
        let Some(pin) = tx.pin(slot, role)? else { continue };
        tx.delete_pin(slot, role)?;
        if tx.user(slot, name)?.is_some() || (role == Role::User && tenants.is_empty()) {
            continue;
        }
        convert(tx, slot, name, role, tenants, pin, created)?;
    }
    Ok(())
}

fn convert(
    tx: &mut Tx<'_>,
    slot: u8,
    name: &str,
    role: Role,
    tenants: Vec<String>,
    pin: PinRecord,
    created: u64,
) -> Result<()> {
    let mut record = UserRecord {
        name: name.to_string(),
        role,
        tenants: tenants.iter().map(|t| (t.clone(), None)).collect(),
        pin,
        created,
        last_seq: 0,
        last_mac: [0; 32],
    };
    let event = AuditEvent::UserCreated { user: Actor { user: name.to_string(), role }, tenants };
    tx.put_user_logged(slot, &mut record, event)
}
