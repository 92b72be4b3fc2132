//! Which library does the arithmetic.
//!
//! coffer-core's types and formats are the same whichever provider is
//! built in; only the code under RSA, P-256, AES-256-GCM-SIV and
//! AES-KW/KWP changes:
//!
//! | provider | how chosen | where |
//! | --- | --- | --- |
//! | RustCrypto (`p256`, `rsa`, `aes-gcm-siv`, `aes-kw`) | the default | everywhere, with or without `std` |
//! | aws-lc (`aws-lc-rs`, the library under rustls' default provider) | feature `aws-lc` (implies `std`) | servers |
//!
//! Under `aws-lc` every key is still read, checked and written by the
//! RustCrypto code (PKCS#8, SPKI, PEM, the key policies, every size limit),
//! so no byte of any format differs. What differs:
//! - **ECDSA signatures are randomized** (aws-lc draws the nonce from its
//!   own generator) where RustCrypto's are deterministic (RFC 6979). Both
//!   verify everywhere; only byte-for-byte comparisons of signatures
//!   (the RFC 6979 test vectors) tell them apart.
//! - **Randomness inside RSA** (OAEP seeds, PSS salts, blinding) and RSA
//!   key generation comes from aws-lc's generator (seeded by the operating
//!   system), not from the `rng` the caller passes. Key generation for
//!   P-256, AES and KEKs, nonces and envelope data keys still use the
//!   caller's `rng`.
//! - RSA keys outside aws-lc's 2048–8192 bits (admitted by a custom
//!   [`RsaPolicy`](crate::rsa::RsaPolicy)) and 192-bit KEKs, which aws-lc-rs
//!   does not take, stay on the RustCrypto code.
//! - AES-256-GCM (`hazmat::gcm`, feature `alloc`) is always RustCrypto's
//!   `aes-gcm`; GCM is deterministic, so its output is the same bytes.
//!
//! ```
//! use coffer_core::provider::{self, Provider};
//!
//! let p = provider::ACTIVE;
//! assert_eq!(p == Provider::AwsLc, cfg!(feature = "aws-lc"));
//! println!("coffer-core arithmetic: {}", p.name());
//! ```

#[cfg(feature = "aws-lc")]
pub(crate) mod awslc;

/// A provider of the arithmetic (see the module documentation).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// The RustCrypto crates: the default, and the only one without `std`.
    RustCrypto,
    /// `aws-lc-rs` (feature `aws-lc`).
    AwsLc,
}

impl Provider {
    /// A short name for logs and benchmark tables: `"RustCrypto"` or `"aws-lc"`.
    pub const fn name(self) -> &'static str {
        match self {
            Provider::RustCrypto => "RustCrypto",
            Provider::AwsLc => "aws-lc",
        }
    }
}

/// The provider this build of coffer-core uses.
#[cfg(feature = "aws-lc")]
pub const ACTIVE: Provider = Provider::AwsLc;
/// The provider this build of coffer-core uses.
#[cfg(not(feature = "aws-lc"))]
pub const ACTIVE: Provider = Provider::RustCrypto;
