//! # coffer-core
//!
//! A memory-safe, `no_std` crypto core for key management: the primitives
//! that coffer's envelope encryption, key wrapping, certificates and HSM
//! shim are built from, each a thin, checked layer over the RustCrypto crates.
//!
//! | module | what |
//! | --- | --- |
//! | [`aead`] | AES-256-GCM-SIV (RFC 8452), in place on caller buffers |
//! | [`keywrap`] | AES-KW (RFC 3394) and AES-KWP (RFC 5649) |
//! | [`hash`] | SHA-256, SHA-384, SHA-512 |
//! | [`mac`] | HMAC-SHA-256 with constant-time verification |
//! | [`kdf`] | HKDF-SHA-256 (RFC 5869) |
//! | [`p256`] | P-256 key generation, ECDSA-SHA-256, ECDH |
//! | `rsa` | RSA 2048–4096: OAEP-SHA-256, PSS and PKCS#1 v1.5 signatures (feature `rsa`) |
//! | [`rng`] | the RNG traits callers implement; `OsRng` under `std` |
//!
//! ## Features
//! All features are additive and `default = []`:
//! - `alloc`: `Vec`-returning conveniences, PKCS#8/SPKI export and PEM;
//! - `std`: `alloc` plus [`rng::OsRng`];
//! - `rsa`: RSA (needs `alloc`);
//! - `defmt`: `defmt::Format` for [`Error`], for logging on devices.
//!
//! ## Conventions
//! - Randomness is always passed in by the caller as `&mut impl TryCryptoRng`.
//! - Secret keys are types that zeroize on drop, print no bytes in `Debug`
//!   and are not `Clone`.
//! - Every input has a documented size limit; exceeding it is an [`Error`],
//!   never a panic.
//! - Decryption and verification failures are opaque ([`Error::Decrypt`],
//!   [`Error::Verify`]).
//!
//! ```
//! use coffer_core::{aead::{Aes256GcmSivKey, Nonce}, keywrap::Kek};
//! # use coffer_core::rng::OsRng;
//!
//! // A data key, wrapped under a key-encryption key.
//! let dek = Aes256GcmSivKey::generate(&mut OsRng)?;
//! let kek = Kek::generate(&mut OsRng)?;
//! let wrapped = kek.wrap_to_vec(dek.as_bytes())?;
//! let nonce = Nonce::generate(&mut OsRng)?;
//! let sealed = dek.seal(&nonce, b"tenant=acme", b"secret record")?;
//!
//! let dek2 = Aes256GcmSivKey::from_slice(&kek.unwrap_to_vec(&wrapped)?)?;
//! assert_eq!(&dek2.open(&nonce, b"tenant=acme", &sealed)?[..], b"secret record");
//! # Ok::<(), coffer_core::Error>(())
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod aead;
#[cfg(feature = "alloc")]
pub mod cert;
pub mod envelope;
mod error;
pub mod hash;
pub mod kdf;
pub mod keywrap;
pub mod mac;
pub mod p256;
pub mod rng;
#[cfg(feature = "rsa")]
pub mod rsa;

#[cfg(feature = "defmt")]
mod defmt;

pub use error::{Error, Result};
