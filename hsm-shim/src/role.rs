//! The roles of a token (no allocation; shared by the server HSM and the device token).

/// A role of a token, as PKCS#11 has them.
///
/// ```
/// use coffer_hsm::audit::{AuditEvent, Role};
///
/// let event = AuditEvent::LoginFailed { role: Role::User };
/// assert_eq!(format!("{event:?}"), "LoginFailed { role: User }");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Initializes the token, sets and unblocks the other PINs, shreds tenants.
    SecurityOfficer,
    /// Uses the keys of one tenant.
    User,
    /// Reads and verifies the audit log.
    Auditor,
}

impl Role {
    /// The role's name, as the CLI and the audit log print it.
    pub fn name(self) -> &'static str {
        match self {
            Role::SecurityOfficer => "security-officer",
            Role::User => "user",
            Role::Auditor => "auditor",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            Role::SecurityOfficer => 0x01,
            Role::User => 0x02,
            Role::Auditor => 0x03,
        }
    }

    #[cfg(feature = "alloc")]
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            0x01 => Some(Role::SecurityOfficer),
            0x02 => Some(Role::User),
            0x03 => Some(Role::Auditor),
            _ => None,
        }
    }
}
