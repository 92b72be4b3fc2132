//! The keyUsage a leaf certificate may carry, chosen within rules that keep
//! it usable for TLS and true to its key.

use core::ops::BitOr;

use x509_cert::ext::pkix::{KeyUsage, KeyUsages};

use crate::cert::certificate::Certificate;
use crate::cert::keypair::PublicKey;
use crate::error::{Error, Result};

/// keyUsage bits of a leaf certificate (RFC 5280 §4.2.1.3), combined with
/// `|`. A CA's bits (keyCertSign, cRLSign) cannot be asked for here: a
/// leaf is never a CA.
///
/// Rules ([`LeafKeyUsage::check_for`]): digitalSignature is always
/// included (TLS 1.3 authenticates only by signature); keyEncipherment
/// only for an RSA key (RSA key transport, OAEP to the certificate);
/// keyAgreement only for a P-256 key (ECDH-ES to the certificate).
///
/// ```
/// use coffer_core::cert::LeafKeyUsage;
/// let ku = LeafKeyUsage::DIGITAL_SIGNATURE | LeafKeyUsage::CONTENT_COMMITMENT;
/// assert!(ku.contains(LeafKeyUsage::CONTENT_COMMITMENT));
/// assert_eq!(LeafKeyUsage::parse("digitalSignature,keyAgreement")?, LeafKeyUsage::DIGITAL_SIGNATURE | LeafKeyUsage::KEY_AGREEMENT);
/// # Ok::<(), coffer_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeafKeyUsage(u8);

impl LeafKeyUsage {
    /// `digitalSignature`: signatures other than on certificates and CRLs
    /// (TLS handshakes, messages). Always required.
    pub const DIGITAL_SIGNATURE: LeafKeyUsage = LeafKeyUsage(1);
    /// `contentCommitment` (formerly nonRepudiation): signatures that commit
    /// the signer to the content.
    pub const CONTENT_COMMITMENT: LeafKeyUsage = LeafKeyUsage(2);
    /// `keyEncipherment`: keys encrypted to the certificate's RSA key.
    pub const KEY_ENCIPHERMENT: LeafKeyUsage = LeafKeyUsage(4);
    /// `keyAgreement`: keys agreed with the certificate's P-256 key.
    pub const KEY_AGREEMENT: LeafKeyUsage = LeafKeyUsage(8);

    /// The names [`LeafKeyUsage::parse`] takes, as RFC 5280 writes them.
    pub const NAMES: [(&'static str, LeafKeyUsage); 4] = [
        ("digitalSignature", Self::DIGITAL_SIGNATURE),
        ("contentCommitment", Self::CONTENT_COMMITMENT),
        ("keyEncipherment", Self::KEY_ENCIPHERMENT),
        ("keyAgreement", Self::KEY_AGREEMENT),
    ];

    /// What coffer gives a leaf by default: digitalSignature, plus
    /// keyEncipherment for an RSA key or keyAgreement for a P-256 key.
    pub fn default_for(key: &PublicKey) -> LeafKeyUsage {
        match key {
            PublicKey::P256(_) => Self::DIGITAL_SIGNATURE | Self::KEY_AGREEMENT,
            #[allow(unreachable_patterns, reason = "RSA is a feature")]
            _ => Self::DIGITAL_SIGNATURE | Self::KEY_ENCIPHERMENT,
        }
    }

    /// Whether every bit of `other` is set here.
    pub fn contains(self, other: LeafKeyUsage) -> bool {
        self.0 & other.0 == other.0
    }

    /// A comma-separated list of names from [`LeafKeyUsage::NAMES`] (ASCII
    /// case-insensitive; `-` and `_` ignored, so `key-agreement` works too).
    ///
    /// # Errors
    /// [`Error::InvalidKeyUsage`] for an empty list or an unknown name.
    pub fn parse(text: &str) -> Result<LeafKeyUsage> {
        let mut bits = LeafKeyUsage(0);
        for word in text.split(',') {
            let word = word.trim();
            let found = Self::NAMES.iter().find(|(name, _)| {
                let mut given = word.bytes().filter(|b| *b != b'-' && *b != b'_');
                let mut wanted = name.bytes();
                loop {
                    match (given.next(), wanted.next()) {
                        (None, None) => break true,
                        (Some(g), Some(w)) if g.eq_ignore_ascii_case(&w) => {}
                        _ => break false,
                    }
                }
            });
            match found {
                Some((_, bit)) if !word.is_empty() => bits = bits | *bit,
                _ => return Err(Error::InvalidKeyUsage),
            }
        }
        Ok(bits)
    }

    /// Checks the rules for a leaf certifying `key`.
    ///
    /// # Errors
    /// [`Error::InvalidKeyUsage`] without digitalSignature, with
    /// keyEncipherment for a key that is not RSA, or with keyAgreement for
    /// a key that is not P-256.
    pub fn check_for(self, key: &PublicKey) -> Result<()> {
        // The bit the other kind of key would carry.
        let foreign = match key {
            PublicKey::P256(_) => Self::KEY_ENCIPHERMENT,
            #[allow(unreachable_patterns, reason = "RSA is a feature")]
            _ => Self::KEY_AGREEMENT,
        };
        let ok = self.contains(Self::DIGITAL_SIGNATURE) && !self.contains(foreign);
        if ok { Ok(()) } else { Err(Error::InvalidKeyUsage) }
    }

    pub(crate) fn to_extension(self) -> KeyUsage {
        let mut bits = KeyUsages::DigitalSignature.into();
        for (flag, usage) in [
            (Self::CONTENT_COMMITMENT, KeyUsages::NonRepudiation),
            (Self::KEY_ENCIPHERMENT, KeyUsages::KeyEncipherment),
            (Self::KEY_AGREEMENT, KeyUsages::KeyAgreement),
        ] {
            if self.contains(flag) {
                bits |= usage;
            }
        }
        KeyUsage(bits)
    }
}

impl BitOr for LeafKeyUsage {
    type Output = LeafKeyUsage;
    fn bitor(self, rhs: LeafKeyUsage) -> LeafKeyUsage {
        LeafKeyUsage(self.0 | rhs.0)
    }
}

impl core::fmt::Display for LeafKeyUsage {
    /// The names of the bits set, comma-separated, as [`LeafKeyUsage::parse`] reads them.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut first = true;
        for (name, bit) in Self::NAMES {
            if self.contains(bit) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl Certificate {
    /// The leaf keyUsage bits [`LeafKeyUsage`] knows that this certificate
    /// carries; `None` without a keyUsage extension.
    pub fn key_usage(&self) -> Option<LeafKeyUsage> {
        let Ok(Some((_, ku))) = self.inner.tbs_certificate().get_extension::<KeyUsage>() else {
            return None;
        };
        let mut bits = LeafKeyUsage(0);
        for (flag, usage) in [
            (LeafKeyUsage::DIGITAL_SIGNATURE, KeyUsages::DigitalSignature),
            (LeafKeyUsage::CONTENT_COMMITMENT, KeyUsages::NonRepudiation),
            (LeafKeyUsage::KEY_ENCIPHERMENT, KeyUsages::KeyEncipherment),
            (LeafKeyUsage::KEY_AGREEMENT, KeyUsages::KeyAgreement),
        ] {
            if ku.0.contains(usage) {
                bits = bits | flag;
            }
        }
        Some(bits)
    }
}
