//! # coffer-hsm
//!
//! Software HSM semantics on top of `coffer-core`: applications ask for
//! operations on key handles, and every key operation is checked against
//! the session's role and tenant and the key's lifecycle state and usage
//! policy before any cryptography runs. Secret key bytes leave only
//! wrapped: an extractable key under another key (`export_wrapped`, or by
//! mechanism, AES-KW, AES-KWP or RSA-OAEP, with `export_wrapped_as`), or
//! every key sealed together in a keystore file ([`Hsm::save`], security
//! officer only; [`device::DeviceToken::save`]).
//!
//! - [`Hsm`] (feature `alloc`, on by default through `std`): slots, tenants,
//!   a security officer PIN and per-user credentials (users bound to
//!   tenants, auditors) with lockout, AES/HMAC/P-256/RSA keys and
//!   certificates with usage policy, lifecycle and versions, envelope
//!   seal/open/rewrap by handle, tenant crypto-shred, and the HMAC-chained
//!   [`audit`] log with archiving. Its state lives in a [`RecordStore`] from
//!   `coffer-store` (in memory, a SQLite file or PostgreSQL), each record
//!   sealed under keys derived from a master key or a passphrase
//!   (`KEYSTORE.md` §12), and the material of a tenant's keys also under a
//!   tenant key that only the PINs of the tenant's users and of the
//!   security officer open (§13; tenants carried over from a store or a
//!   version-1 file from before credentials have none, §13.5).
//!   Every operation is one transaction, committed before it returns, so
//!   nothing needs saving ([`Hsm::save`] only exports a version-1
//!   snapshot), and any number of `Hsm` values, in any number of threads
//!   and processes, may share one SQLite or PostgreSQL store.
//! - [`device::DeviceToken`] (always, no heap): the same rules with
//!   capacities fixed at compile time, for microcontrollers; its audit
//!   records and sealed state use the same formats.
//!
//! | module | what |
//! | --- | --- |
//! | [`audit`] | the audit log: events, records, the HMAC chain and its verification, archived segments (feature `alloc`) |
//! | [`device`] | [`device::DeviceToken`], the fixed-capacity token without a heap |
//! | `pkcs11_kek` | envelope KEKs in any PKCS#11 HSM through `cryptoki`: `Pkcs11Kek`, `Pkcs11Uri` (feature `pkcs11-kek`) |
//! | [`keystore`] | the sealed keystore file, version 1 (`KEYSTORE.md` §2–§5): [`keystore::MasterKey`], [`keystore::KeySource`], seal and open |
//! | [`record_store`] | `coffer-store` itself, re-exported (feature `alloc`) |
//!
//! At the crate root: [`Hsm`] and its types ([`Config`], [`SessionId`],
//! [`KeyAttributes`], [`KeyType`], [`KeyInfo`], [`TenantInfo`],
//! [`UserInfo`]); the policy types [`Handle`], [`Usage`], [`KeyState`] and
//! [`Role`]; [`Storage`] for one sealed keystore blob (a version-1 file for
//! [`Hsm::load`], [`Hsm::import_v1`] and [`Hsm::save`], or a device's state)
//! with [`FixedStorage`], [`MemoryStorage`] and [`FileStorage`]; [`Clock`] and [`SystemClock`]; [`GenerationGuard`] and
//! [`CounterFile`] against a store rolled back to an older copy; [`Error`];
//! [`HeldKek`], a KEK of an [`Hsm`] as coffer-core's `envelope::KekHolder`.
//!
//! ## Features
//! - `std` (default): `alloc`, plus [`SystemClock`], [`FileStorage`] (a
//!   keystore file written atomically), [`CounterFile`] (a rollback guard
//!   in a file) and [`Hsm::seal_stream`] / [`Hsm::open_stream`] over
//!   `Read`/`Write`; turns on `std` in `coffer-core` (its `OsRng`) and in
//!   `coffer-store`.
//! - `alloc`: the server HSM: [`Hsm`] and its types, the [`audit`] module,
//!   [`MemoryStorage`], [`keystore::seal`] / [`keystore::open`], and
//!   `coffer-store` as [`record_store`] (with [`RecordStore`] and
//!   [`StoreError`] at the root); turns on `alloc` and `rsa` in
//!   `coffer-core`.
//! - With neither (`default-features = false`): [`device`], the in-place
//!   [`keystore::seal_in_place`] / [`keystore::open_in_place`], [`Storage`],
//!   [`FixedStorage`], [`Clock`], the policy types and [`Error`]; no heap.
//! - `pkcs11-kek`: `std`, plus the `pkcs11_kek` module: `Pkcs11Kek`, an
//!   envelope KEK in any PKCS#11 HSM (loaded with the `cryptoki` crate) whose
//!   data-key wrap and unwrap run inside the token, and `Pkcs11Uri`, the
//!   RFC 7512 URI that names it.
//! - `fuzzing`: `std`, plus hooks for the fuzz targets in `fuzz/` (a hidden
//!   module); not a public API.
//!
//! The store backend is the caller's choice, not a feature of this crate:
//! depend on `coffer-store` with its `sqlite` or `postgres` feature and pass
//! the store to [`Hsm::create`] / [`Hsm::open`].
//!
//! ## Example
//!
//! A store in a SQLite file (`coffer-store` with its `sqlite` feature): the
//! security officer sets up a tenant and a user, the user generates a key
//! and seals an envelope; then the store is opened again, the user logs in
//! again and opens the envelope.
//!
//! ```
//! use coffer_core::envelope::EncryptionContext;
//! use coffer_core::rng::OsRng;
//! use coffer_hsm::keystore::KeySource;
//! use coffer_hsm::{Config, Hsm, KeyAttributes, KeyType, Role, SystemClock, Usage};
//! use coffer_store::SqliteStore;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("coffer-hsm-example-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("hsm.sqlite");
//! let passphrase = KeySource::Passphrase(b"correct horse battery staple");
//! // A low PIN cost keeps the example fast; the default is 100,000 iterations.
//! let config = Config { pin_iterations: 1_000, ..Config::default() };
//!
//! // Create the HSM with one slot, initialize its token, and let the
//! // security officer add the tenant "acme" and its user "alice".
//! let store = SqliteStore::open(&path)?;
//! let mut hsm = Hsm::create(&mut OsRng, Box::new(store), &passphrase, 1, config, Box::new(SystemClock))?;
//! hsm.init_token(&mut OsRng, 0, "ledger", b"so-pin-1")?;
//! let so = hsm.login_so(0, b"so-pin-1")?;
//! hsm.create_tenant(&mut OsRng, so, "acme")?;
//! hsm.create_user(&mut OsRng, so, "alice", Role::User, &["acme"], b"alice-pin")?;
//! hsm.logout(so)?;
//!
//! // Alice generates a key-encryption key for her tenant and seals a record.
//! let alice = hsm.login(0, "alice", b"alice-pin", Some("acme"))?;
//! let attrs = KeyAttributes {
//!     label: "records".into(),
//!     tenant: "acme".into(),
//!     key_id: "records-kek".into(),
//!     usage: Usage::ENCRYPT | Usage::DECRYPT,
//!     extractable: false,
//!     active: true,
//! };
//! let kek = hsm.generate(&mut OsRng, alice, KeyType::Aes256, attrs)?;
//! let mut ctx = EncryptionContext::new();
//! ctx.insert(b"tenant", b"acme")?;
//! let sealed = hsm.seal_envelope(&mut OsRng, alice, kek, &ctx, b"invoice 42: 1,200 EUR")?;
//! // Each call above was committed to the file before it returned; dropping
//! // the HSM ends the sessions and closes the store.
//! drop(hsm);
//!
//! // Later (or in another process): open the store with the same passphrase.
//! let store = SqliteStore::open(&path)?;
//! let mut hsm = Hsm::open(&mut OsRng, Box::new(store), &passphrase, Box::new(SystemClock))?;
//! let alice = hsm.login(0, "alice", b"alice-pin", Some("acme"))?;
//! let kek = hsm.find(alice, "records-kek")?;
//! let plaintext = hsm.open_envelope(&mut OsRng, alice, kek, &ctx, &sealed)?;
//! assert_eq!(&plaintext[..], b"invoice 42: 1,200 EUR");
//! # drop(hsm);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "alloc")]
pub mod audit;
mod chain;
mod clock;
#[cfg(feature = "std")]
mod counter;
pub mod device;
mod error;
#[cfg(feature = "std")]
mod file;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "alloc")]
mod held_kek;
#[cfg(feature = "alloc")]
mod keycache;
pub mod keystore;
#[cfg(feature = "alloc")]
mod object;
#[cfg(feature = "alloc")]
mod persist;
mod pin;
#[cfg(feature = "pkcs11-kek")]
pub mod pkcs11_kek;
mod policy;
mod role;
mod storage;
#[cfg(feature = "alloc")]
mod store;
#[cfg(feature = "alloc")]
mod token;
mod wire;

pub use clock::Clock;
#[cfg(feature = "std")]
pub use clock::SystemClock;
#[cfg(feature = "alloc")]
pub use coffer_store::{self as record_store, RecordStore, StoreError};
#[cfg(feature = "std")]
pub use counter::CounterFile;
pub use error::{Error, Result};
#[cfg(feature = "std")]
pub use file::FileStorage;
#[cfg(feature = "alloc")]
pub use held_kek::HeldKek;
#[cfg(feature = "alloc")]
pub use object::{KeyAttributes, KeyInfo, KeyType};
#[cfg(feature = "alloc")]
pub use persist::{V1_AUDITOR, V1_USER};
pub use pin::{DEFAULT_MAX_FAILURES, DEFAULT_PIN_ITERATIONS, MAX_PIN_LEN, MIN_PIN_LEN};
#[cfg(feature = "pkcs11-kek")]
pub use pkcs11_kek::{Pkcs11Kek, Pkcs11KekConfig, Pkcs11KekError, Pkcs11Uri};
pub use policy::{Handle, KeyState, MAX_NAME_LEN, Usage};
pub use role::Role;
#[cfg(feature = "alloc")]
pub use storage::MemoryStorage;
pub use storage::{FixedStorage, Storage};
#[cfg(feature = "alloc")]
pub use token::{
    Config, DEFAULT_AUDIT_RESERVE, GenerationGuard, Hsm, MAX_ATTEMPTS, MAX_KEYS_PER_TOKEN, MAX_SLOTS,
    MAX_VERSIONS, SessionId, ShredEvidence, TenantInfo, UserInfo, WrapMechanism, is_valid_name,
};
