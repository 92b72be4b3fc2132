//! # coffer-hsm
//!
//! Software HSM semantics on top of `coffer-core` (work in progress, see
//! the README's status table).

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod audit;
mod error;
#[cfg(feature = "std")]
mod file;
pub mod keystore;
mod object;
mod persist;
mod pin;
mod storage;
mod token;
mod wire;

pub use audit::Role;
pub use error::{Error, Result};
#[cfg(feature = "std")]
pub use file::FileStorage;
pub use object::{Handle, KeyAttributes, KeyInfo, KeyState, KeyType, MAX_NAME_LEN, Usage};
pub use pin::{DEFAULT_MAX_FAILURES, DEFAULT_PIN_ITERATIONS, MAX_PIN_LEN, MIN_PIN_LEN};
pub use storage::{MemoryStorage, Storage};
#[cfg(feature = "std")]
pub use token::SystemClock;
pub use token::{
    Clock, Config, DEFAULT_AUDIT_RESERVE, Hsm, MAX_KEYS_PER_TOKEN, MAX_SLOTS, MAX_VERSIONS, SessionId,
    ShredEvidence,
};
