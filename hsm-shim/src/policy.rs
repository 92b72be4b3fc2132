//! Policy types shared by the server HSM and the device token: handles,
//! usage flags and lifecycle states. No allocation.

use core::ops::BitOr;

use crate::error::{Error, Result};

/// Longest label, tenant id or key id, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// A key handle: an opaque number, unique within a token, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Handle(pub(crate) u64);

impl Handle {
    /// The handle's number (for logs and FFI).
    pub fn get(self) -> u64 {
        self.0
    }

    /// A handle from its number, as [`Handle::get`] gave it (across a C
    /// boundary, from a configuration file). A number that names no key is
    /// [`crate::Error::NotFound`], and a key of another tenant
    /// [`crate::Error::TenantNotAllowed`] (an audited refusal), in every
    /// operation, so this grants nothing.
    pub const fn from_raw(number: u64) -> Self {
        Handle(number)
    }
}

/// What a key may be used for. Combine with `|`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Usage(u8);

impl Usage {
    /// No use at all.
    pub const NONE: Usage = Usage(0);
    /// Encrypt data (envelope seal).
    pub const ENCRYPT: Usage = Usage(1);
    /// Decrypt data (envelope open).
    pub const DECRYPT: Usage = Usage(1 << 1);
    /// Wrap other keys.
    pub const WRAP: Usage = Usage(1 << 2);
    /// Unwrap other keys.
    pub const UNWRAP: Usage = Usage(1 << 3);
    /// Sign (signatures and MACs).
    pub const SIGN: Usage = Usage(1 << 4);
    /// Verify (signatures and MACs).
    pub const VERIFY: Usage = Usage(1 << 5);
    /// Derive other keys.
    pub const DERIVE: Usage = Usage(1 << 6);
    /// Every single flag, in bit order (for code that maps each to
    /// something else, such as PKCS#11 attributes).
    pub const ALL: [Usage; 7] = [
        Usage::ENCRYPT,
        Usage::DECRYPT,
        Usage::WRAP,
        Usage::UNWRAP,
        Usage::SIGN,
        Usage::VERIFY,
        Usage::DERIVE,
    ];

    /// Whether every flag of `other` is set in `self`.
    pub fn allows(self, other: Usage) -> bool {
        self.0 & other.0 == other.0
    }

    /// The name of a single flag (`"encrypt"`, `"decrypt"`, `"wrap"`,
    /// `"unwrap"`, `"sign"`, `"verify"`, `"derive"`), as the CLI and the Python
    /// bindings spell it; `None` for no flag or several.
    ///
    /// ```
    /// use coffer_hsm::Usage;
    ///
    /// assert_eq!(Usage::UNWRAP.name(), Some("unwrap"));
    /// assert_eq!((Usage::SIGN | Usage::VERIFY).name(), None);
    /// ```
    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 7] = ["encrypt", "decrypt", "wrap", "unwrap", "sign", "verify", "derive"];
        Usage::ALL.iter().zip(NAMES).find(|(u, _)| **u == self).map(|(_, n)| n)
    }

    /// The flag named `name` (see [`Self::name`]).
    ///
    /// ```
    /// use coffer_hsm::Usage;
    ///
    /// assert_eq!(Usage::from_name("derive"), Some(Usage::DERIVE));
    /// assert_eq!(Usage::from_name("everything"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Usage> {
        Usage::ALL.into_iter().find(|u| u.name() == Some(name))
    }

    /// The names of the flags set, in bit order.
    ///
    /// ```
    /// use coffer_hsm::Usage;
    ///
    /// let names: Vec<_> = (Usage::VERIFY | Usage::ENCRYPT).names().collect();
    /// assert_eq!(names, ["encrypt", "verify"]);
    /// ```
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Usage::ALL.into_iter().filter(move |u| self.allows(*u)).filter_map(Usage::name)
    }

    pub(crate) fn bits(self) -> u8 {
        self.0
    }

    pub(crate) fn from_bits(bits: u8) -> Result<Usage> {
        if bits >> 7 != 0 { Err(Error::KeystoreCorrupt) } else { Ok(Usage(bits)) }
    }
}

impl BitOr for Usage {
    type Output = Usage;
    fn bitor(self, rhs: Usage) -> Usage {
        Usage(self.0 | rhs.0)
    }
}

/// A key's lifecycle state (NIST SP 800-57 §7 in small).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Created, not yet usable.
    PreActive,
    /// Usable as its policy allows.
    Active,
    /// Only for processing existing data: decrypt, unwrap, verify.
    Deactivated,
    /// Key material erased; nothing is possible.
    Destroyed,
}

impl KeyState {
    /// Every state, in lifecycle order.
    pub const ALL: [KeyState; 4] =
        [KeyState::PreActive, KeyState::Active, KeyState::Deactivated, KeyState::Destroyed];

    /// The state's name (`"pre-active"`, `"active"`, `"deactivated"`,
    /// `"destroyed"`), as the CLI and the Python package spell them.
    ///
    /// ```
    /// use coffer_hsm::KeyState;
    ///
    /// assert_eq!(KeyState::PreActive.name(), "pre-active");
    /// assert_eq!(KeyState::from_name("deactivated"), Some(KeyState::Deactivated));
    /// assert_eq!(KeyState::from_name("gone"), None);
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            KeyState::PreActive => "pre-active",
            KeyState::Active => "active",
            KeyState::Deactivated => "deactivated",
            KeyState::Destroyed => "destroyed",
        }
    }

    /// The state named `name` (see [`Self::name`]).
    pub fn from_name(name: &str) -> Option<KeyState> {
        KeyState::ALL.into_iter().find(|s| s.name() == name)
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            KeyState::PreActive => 0,
            KeyState::Active => 1,
            KeyState::Deactivated => 2,
            KeyState::Destroyed => 3,
        }
    }

    pub(crate) fn from_code(c: u8) -> Result<Self> {
        Ok(match c {
            0 => KeyState::PreActive,
            1 => KeyState::Active,
            2 => KeyState::Deactivated,
            3 => KeyState::Destroyed,
            _ => return Err(Error::KeystoreCorrupt),
        })
    }
}

/// Which operations each lifecycle state permits.
pub(crate) fn state_allows(state: KeyState, op: Usage) -> bool {
    match state {
        KeyState::Active => true,
        KeyState::Deactivated => op == Usage::DECRYPT || op == Usage::UNWRAP || op == Usage::VERIFY,
        KeyState::PreActive | KeyState::Destroyed => false,
    }
}
