//! # coffer-hsm
//!
//! Software HSM semantics on top of `coffer-core`: applications ask for
//! operations on key handles; key bytes never leave unless a key is
//! extractable, and then only wrapped.
//!
//! - [`Hsm`] (feature `alloc`, on by default through `std`): slots, tenants,
//!   a security officer PIN and per-user credentials (users bound to
//!   tenants, auditors) with lockout, AES/HMAC/P-256/RSA keys and
//!   certificates with usage policy, lifecycle and versions, envelope
//!   seal/open/rewrap by handle, tenant crypto-shred, the HMAC-chained
//!   [`audit`] log with archiving, and the sealed keystore ([`keystore`],
//!   `KEYSTORE.md`) behind [`Storage`] ([`FileStorage`] under `std`).
//! - [`device::DeviceToken`] (always, no heap): the same rules with
//!   capacities fixed at compile time, for microcontrollers; its audit
//!   records and sealed state use the same formats.

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
pub mod keystore;
#[cfg(feature = "alloc")]
mod object;
#[cfg(feature = "alloc")]
mod persist;
mod pin;
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
pub use object::{KeyAttributes, KeyInfo, KeyType};
#[cfg(feature = "alloc")]
pub use persist::{V1_AUDITOR, V1_USER};
pub use pin::{DEFAULT_MAX_FAILURES, DEFAULT_PIN_ITERATIONS, MAX_PIN_LEN, MIN_PIN_LEN};
pub use policy::{Handle, KeyState, MAX_NAME_LEN, Usage};
pub use role::Role;
#[cfg(feature = "alloc")]
pub use storage::MemoryStorage;
pub use storage::{FixedStorage, Storage};
#[cfg(feature = "alloc")]
pub use token::{
    Config, DEFAULT_AUDIT_RESERVE, GenerationGuard, Hsm, MAX_ATTEMPTS, MAX_KEYS_PER_TOKEN, MAX_SLOTS,
    MAX_VERSIONS, SessionId, ShredEvidence, TenantInfo, UserInfo, is_valid_name,
};
