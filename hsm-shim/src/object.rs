//! Key objects: attributes, usage policy, lifecycle and versions.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use coffer_core::keywrap::Kek;
use coffer_core::mac::HmacSha256Key;
use coffer_core::p256::P256SecretKey;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

pub use crate::policy::{Handle, KeyState, MAX_NAME_LEN, Usage};

/// The kind of key an object holds.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// AES-256 key-encryption key (envelope recipient, AES-KW/KWP).
    Aes256,
    /// HMAC-SHA-256 key (webhook signatures).
    HmacSha256,
    /// P-256 key pair (ECDSA).
    P256,
    /// RSA-2048 key pair (RSA-OAEP envelope recipient, PSS and PKCS#1 v1.5 signatures).
    Rsa2048,
    /// RSA-3072 key pair.
    Rsa3072,
    /// RSA-4096 key pair.
    Rsa4096,
    /// An X.509 certificate (public data, DER); usage VERIFY only.
    Certificate,
}

impl KeyType {
    /// The types a key can be generated as, in the order their names are
    /// listed to users.
    pub const GENERATED: [KeyType; 6] = [
        KeyType::Aes256,
        KeyType::HmacSha256,
        KeyType::P256,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
    ];

    /// The type's name, as the CLI (`coffer key generate --type`, its
    /// `--json` output) and the Python package spell it: `"aes256"`, `"hmac"`, `"p256"`,
    /// `"rsa2048"`, `"rsa3072"`, `"rsa4096"`, `"certificate"`.
    ///
    /// ```
    /// use coffer_hsm::KeyType;
    ///
    /// assert_eq!(KeyType::HmacSha256.name(), "hmac");
    /// assert_eq!(KeyType::from_name("rsa3072"), Some(KeyType::Rsa3072));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Aes256 => "aes256",
            KeyType::HmacSha256 => "hmac",
            KeyType::P256 => "p256",
            KeyType::Rsa2048 => "rsa2048",
            KeyType::Rsa3072 => "rsa3072",
            KeyType::Rsa4096 => "rsa4096",
            KeyType::Certificate => "certificate",
        }
    }

    /// The generated type named `name` ([`Self::GENERATED`]; a certificate
    /// is imported, never generated, so `"certificate"` gives `None`).
    ///
    /// ```
    /// use coffer_hsm::KeyType;
    ///
    /// assert_eq!(KeyType::from_name("aes256"), Some(KeyType::Aes256));
    /// assert_eq!(KeyType::from_name("certificate"), None);
    /// assert_eq!(KeyType::from_name("AES256"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<KeyType> {
        KeyType::GENERATED.into_iter().find(|t| t.name() == name)
    }

    /// What a new key of this type may do when its creator does not say:
    /// an AES-256 key encrypts, decrypts, wraps and unwraps; an RSA key
    /// encrypts, decrypts, signs and verifies; the others sign and verify.
    ///
    /// ```
    /// use coffer_hsm::{KeyType, Usage};
    ///
    /// assert!(KeyType::Aes256.default_usage().allows(Usage::WRAP));
    /// assert!(!KeyType::P256.default_usage().allows(Usage::ENCRYPT));
    /// ```
    pub fn default_usage(self) -> Usage {
        match self {
            KeyType::Aes256 => Usage::ENCRYPT | Usage::DECRYPT | Usage::WRAP | Usage::UNWRAP,
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
                Usage::ENCRYPT | Usage::DECRYPT | Usage::SIGN | Usage::VERIFY
            }
            _ => Usage::SIGN | Usage::VERIFY,
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            KeyType::Aes256 => 1,
            KeyType::HmacSha256 => 2,
            KeyType::P256 => 3,
            KeyType::Rsa2048 => 4,
            KeyType::Rsa3072 => 5,
            KeyType::Rsa4096 => 6,
            KeyType::Certificate => 7,
        }
    }

    pub(crate) fn rsa_size(self) -> Option<coffer_core::rsa::RsaKeySize> {
        use coffer_core::rsa::RsaKeySize;
        match self {
            KeyType::Rsa2048 => Some(RsaKeySize::Rsa2048),
            KeyType::Rsa3072 => Some(RsaKeySize::Rsa3072),
            KeyType::Rsa4096 => Some(RsaKeySize::Rsa4096),
            _ => None,
        }
    }

    pub(crate) fn from_code(c: u8) -> Result<Self> {
        Ok(match c {
            1 => KeyType::Aes256,
            2 => KeyType::HmacSha256,
            3 => KeyType::P256,
            4 => KeyType::Rsa2048,
            5 => KeyType::Rsa3072,
            6 => KeyType::Rsa4096,
            7 => KeyType::Certificate,
            _ => return Err(Error::KeystoreCorrupt),
        })
    }
}

/// Attributes given when a key is created; plain data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAttributes {
    /// Human-readable label (1..=64 bytes).
    pub label: String,
    /// Tenant the key belongs to (1..=64 bytes); only sessions of this tenant see it.
    pub tenant: String,
    /// Key id written into envelopes (1..=64 bytes), unique per tenant.
    pub key_id: String,
    /// What the key may be used for.
    pub usage: Usage,
    /// Whether the key may leave the token, wrapped under another key.
    pub extractable: bool,
    /// Whether the key is created active (otherwise pre-active).
    pub active: bool,
}

impl KeyAttributes {
    pub(crate) fn validate(&self) -> Result<()> {
        for s in [&self.label, &self.tenant, &self.key_id] {
            if s.is_empty() || s.len() > MAX_NAME_LEN {
                return Err(Error::InvalidInput);
            }
        }
        Ok(())
    }
}

/// Longest key material of one version: an RSA-4096 PKCS#8 key, or a certificate.
pub const MAX_MATERIAL_LEN: usize = 16 * 1024;

/// Material of one key version: 32 bytes for AES, HMAC and P-256, PKCS#8
/// DER for RSA, DER for a certificate. Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct Secret {
    pub(crate) bytes: Vec<u8>,
}

impl Secret {
    pub(crate) fn kek(&self) -> Result<Kek> {
        Ok(Kek::from_slice(&self.bytes)?)
    }

    pub(crate) fn hmac(&self) -> Result<HmacSha256Key> {
        Ok(HmacSha256Key::new(&self.bytes)?)
    }

    /// The P-256 key, parsed once per process and key version under `std`
    /// (see [`crate::keycache`]).
    pub(crate) fn p256(&self) -> Result<Arc<P256SecretKey>> {
        crate::keycache::p256(&self.bytes)
    }

    /// The RSA key, parsed once per process and key version under `std`.
    pub(crate) fn rsa(&self) -> Result<Arc<coffer_core::rsa::RsaPrivateKey>> {
        crate::keycache::rsa(&self.bytes)
    }

    /// The P-256 key as a value of its own (for a [`coffer_core::cert::KeyPair`]).
    pub(crate) fn p256_owned(&self) -> Result<P256SecretKey> {
        Ok(P256SecretKey::from_bytes(&self.bytes)?)
    }

    /// The RSA key as a value of its own.
    pub(crate) fn rsa_owned(&self) -> Result<coffer_core::rsa::RsaPrivateKey> {
        Ok(coffer_core::rsa::RsaPrivateKey::from_pkcs8_der(&self.bytes)?)
    }
}

/// One version of a key.
pub(crate) struct Version {
    pub(crate) number: u32,
    pub(crate) secret: Secret,
}

/// Where a key's material is, as read from its record (KEYSTORE.md §13).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Material {
    /// In the clear inside a key record (kind 0x12): keys of tenants made
    /// before tenant keys, or imported from version 1.
    Clear,
    /// Sealed under the tenant key inside a sealed key record (kind 0x18);
    /// `versions` hold the sealed bytes, not usable as keys.
    Sealed,
    /// Read from a sealed key record and opened with the tenant key, which
    /// seals it again when the record is written.
    Opened(crate::store::grants::TenantKey),
}

/// A key object with all its versions.
pub(crate) struct KeyObject {
    /// Where the material is; `versions` hold usable material unless `Sealed`.
    pub(crate) material: Material,
    pub(crate) handle: Handle,
    pub(crate) key_type: KeyType,
    pub(crate) attrs: KeyAttributes,
    pub(crate) state: KeyState,
    /// Oldest first; the last is the current version. Empty once destroyed.
    pub(crate) versions: Vec<Version>,
    /// Version number of the newest version (kept after destruction, for evidence).
    pub(crate) latest: u32,
    /// When a lifecycle sweep deactivates the key (seconds since the Unix epoch).
    pub(crate) expires_at: Option<u64>,
    /// Whether every version was generated inside the token (false once any
    /// material came in from outside: a plaintext or wrapped import).
    /// Stored as bit 1 of the `extractable` byte, set for "imported"
    /// (KEYSTORE.md §3.1).
    pub(crate) local: bool,
}

/// What callers may learn about a key: everything but the material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The handle.
    pub handle: Handle,
    /// The key type.
    pub key_type: KeyType,
    /// The attributes.
    pub attributes: KeyAttributes,
    /// Lifecycle state.
    pub state: KeyState,
    /// The newest version number.
    pub version: u32,
    /// When [`crate::Hsm::sweep_expired`] deactivates the key, if ever
    /// (seconds since the Unix epoch; set with [`crate::Hsm::set_expiry`]).
    pub expires_at: Option<u64>,
    /// Whether the key's bytes are never revealed in plaintext (PKCS#11
    /// `CKA_SENSITIVE`): true for every secret and private key (they leave,
    /// if extractable, only wrapped), false for certificates, which are
    /// public. Not settable: coffer has no way to read a secret key in plaintext.
    pub sensitive: bool,
    /// Whether every version of the key was generated inside the token
    /// (PKCS#11 `CKA_LOCAL`): false for a key whose material came in from
    /// outside ([`crate::Hsm::import_plain`], [`crate::Hsm::import_wrapped`],
    /// [`crate::Hsm::import_wrapped_as`], certificates), and it stays false
    /// after a rotation. Keys stored before coffer kept this record read as
    /// generated (KEYSTORE.md §3.1). Not settable.
    pub local: bool,
}

impl KeyObject {
    pub(crate) fn info(&self) -> KeyInfo {
        KeyInfo {
            handle: self.handle,
            key_type: self.key_type,
            attributes: self.attrs.clone(),
            state: self.state,
            version: self.latest,
            expires_at: self.expires_at,
            sensitive: self.key_type != KeyType::Certificate,
            local: self.local,
        }
    }

    pub(crate) fn current(&self) -> Result<&Version> {
        self.versions.last().ok_or(Error::KeyState)
    }

    pub(crate) fn version(&self, n: u32) -> Result<&Version> {
        self.versions.iter().find(|v| v.number == n).ok_or(Error::NotFound)
    }
}
