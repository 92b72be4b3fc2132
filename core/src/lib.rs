//! # coffer-core
//!
//! A memory-safe, `no_std` crypto core for key management: the primitives
//! that coffer's envelope encryption, key wrapping, certificates and HSM
//! shim are built from, each a thin, checked layer over the RustCrypto crates.
//!
//! | module | what |
//! | --- | --- |
//! | [`envelope`] | envelope encryption, format v1 (`core/FORMAT.md`): one object under a fresh data key, wrapped for 1 to 16 recipients |
//! | `cert` | key pairs, PKCS#8 and SPKI, a self-signed CA, CSRs, leaf certificates, chain verification (feature `alloc`) |
//! | [`aead`] | AES-256-GCM-SIV (RFC 8452), in place on caller buffers |
//! | [`keywrap`] | AES-KW (RFC 3394) and AES-KWP (RFC 5649) |
//! | `hazmat` | primitives with a rule the caller must keep: AES-256-GCM with a caller-chosen nonce (feature `alloc`) |
//! | [`hash`] | SHA-256, SHA-384, SHA-512 |
//! | [`mac`] | HMAC-SHA-256 with constant-time verification; webhook signatures |
//! | [`kdf`] | HKDF-SHA-256 (RFC 5869) |
//! | `p256` | P-256 key generation, ECDSA-SHA-256, ECDH (feature `p256`, on by default and with `alloc`) |
//! | `rsa` | RSA 2048–4096: OAEP-SHA-256, PSS and PKCS#1 v1.5 signatures (feature `rsa`) |
//! | [`rng`] | the RNG traits callers implement; `OsRng` under `std` |
//! | [`provider`] | which library does the arithmetic: RustCrypto (default) or aws-lc (feature `aws-lc`) |
//!
//! Every operation fails with the one [`Error`] type ([`Result`] is
//! `Result<T, Error>`), except the stream and scratch-file functions of
//! [`envelope`] (feature `std`): their `envelope::StreamError` holds either
//! an [`Error`] or an I/O error.
//!
//! ## Features
//! All features are additive and `default = ["p256"]`. Without any, everything
//! works on caller buffers and needs neither a heap nor an OS: the in-place
//! AEAD, key wrap into slices, hashes, HMAC, HKDF, and envelopes with KEK
//! recipients through [`envelope::seal_into`] / [`envelope::open_in_place`]
//! or chunk by chunk through [`envelope::begin_seal`] / [`envelope::begin_open`].
//! - `p256`: the `p256` module and the envelope's P-256 recipients
//!   (`Recipient::P256`, `UnlockKey::P256`). Without it an envelope's P-256
//!   records are still read, and skipped; a no-heap device that only uses
//!   KEKs saves about 14 KB of flash (BENCHMARKS.md). `alloc` turns it on.
//! - `alloc`: the `cert` and `hazmat` modules (AES-256-GCM); whole envelopes as vectors (`envelope::seal`,
//!   `open`, `open_with_limits`, `seal_with_chunk_size`, `add_recipient`,
//!   `remove_recipient`, `rewrap`); `Vec`-returning AEAD and key wrap
//!   (`Aes256GcmSivKey::seal`/`open`, `Kek::wrap_to_vec` and the like);
//!   P-256 keys written as PKCS#8 and SPKI DER, and read and written as PEM.
//! - `std`: `alloc`, plus `rng::OsRng` (the operating system's generator);
//!   envelopes streamed over `Read`/`Write` (`envelope::seal_stream`,
//!   `open_stream`) and self-shredding plaintext files
//!   (`envelope::ScratchFile`, `open_stream_to_scratch`); certificate checks
//!   against the system clock (`cert::verify_chain_now`,
//!   `cert::Validity::days_from_now`); with `rsa`, RSA key generation that
//!   searches for the two primes on two threads.
//! - `rsa`: `alloc`, plus the `rsa` module, RSA-OAEP envelope recipients
//!   (`Recipient::Rsa`, `UnlockKey::Rsa`) and RSA key pairs and signatures
//!   in `cert`.
//! - `defmt`: `defmt::Format` for [`Error`], for logging on devices.
//! - `aws-lc`: `std`, plus RSA, P-256, AES-256-GCM-SIV and AES-KW/KWP on
//!   `aws-lc-rs` instead of RustCrypto, with every format unchanged (see
//!   [`provider`] for what differs: randomized ECDSA, aws-lc's own RNG
//!   inside RSA).
//!
//! ## Conventions
//! - Randomness for keys, nonces, salts and blinding is passed in by the
//!   caller as `&mut R` with `R: TryCryptoRng` ([`rng`]). The one exception
//!   is `envelope::ScratchFile` (feature `std`), which draws its random file
//!   names from `OsRng`.
//! - Secret keys are types that zeroize on drop, print no bytes in `Debug`
//!   and are not `Clone`.
//! - Keys, nonces, tags, AEAD inputs, key-wrap data, envelope headers and
//!   encoded keys and certificates have documented size limits; exceeding
//!   one is an [`Error`], never a panic. Hashes and MACs take messages of
//!   any length.
//! - Decryption and verification failures are opaque ([`Error::Decrypt`],
//!   [`Error::Verify`]).
//!
//! ## Examples
//!
//! Without a heap or an OS (no features): an envelope sealed into and opened
//! in a caller buffer, with the device's random number generator.
//!
//! ```
//! use coffer_core::envelope::{self, DEFAULT_CHUNK_SIZE, EncryptionContext, Limits, Recipient, UnlockKey};
//! use coffer_core::keywrap::Kek;
//! # use rand_core::SeedableRng;
//! # let mut trng = chacha20::ChaCha20Rng::from_seed([7; 32]);
//!
//! // `trng` is the device's TRNG driver: anything that is `TryCryptoRng`.
//! let kek = Kek::generate(&mut trng)?;
//! let mut ctx = EncryptionContext::new();
//! ctx.insert(b"device", b"sensor-17")?;
//! let to = [Recipient::Kek { key_id: b"fleet-kek", version: 1, kek: &kek }];
//!
//! let mut buf = [0u8; 256];
//! let n = envelope::seal_into(&mut trng, &to, &ctx, b"reading=21.5", DEFAULT_CHUNK_SIZE, &mut buf)?;
//!
//! let key = UnlockKey::Kek { key_id: b"fleet-kek", version: 1, kek: &kek };
//! let plaintext = envelope::open_in_place(&mut trng, &[key], &ctx, &mut buf[..n], &Limits::default())?;
//! assert_eq!(plaintext, b"reading=21.5");
//! # Ok::<(), coffer_core::Error>(())
//! ```
//!
//! With `std`: a data key wrapped under a key-encryption key, and a record
//! sealed under the data key.
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use coffer_core::{aead::{Aes256GcmSivKey, Nonce}, keywrap::Kek};
//! use coffer_core::rng::OsRng;
//!
//! let dek = Aes256GcmSivKey::generate(&mut OsRng)?;
//! let kek = Kek::generate(&mut OsRng)?;
//! let wrapped = kek.wrap_to_vec(dek.as_bytes())?;
//! let nonce = Nonce::generate(&mut OsRng)?;
//! let sealed = dek.seal(&nonce, b"tenant=acme", b"secret record")?;
//!
//! let dek2 = Aes256GcmSivKey::from_slice(&kek.unwrap_to_vec(&wrapped)?)?;
//! assert_eq!(&dek2.open(&nonce, b"tenant=acme", &sealed)?[..], b"secret record");
//! # }
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
#[cfg(feature = "alloc")]
pub mod hazmat;
pub mod kdf;
pub mod keywrap;
pub mod mac;
#[cfg(feature = "p256")]
pub mod p256;
pub mod provider;
pub mod rng;
#[cfg(feature = "rsa")]
pub mod rsa;
#[cfg(feature = "alloc")]
mod secret;

#[cfg(feature = "defmt")]
mod defmt;

pub use error::{AlgorithmName, Error, Result};
#[cfg(feature = "alloc")]
pub use secret::SecretBytes;
