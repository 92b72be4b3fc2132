//! Envelopes (core/FORMAT.md): `seal`, `open` and `inspect`, and the
//! `Recipient` and `UnlockKey` classes they take.

mod context;
mod ops;
mod recipient;

pub(crate) use ops::{inspect, open, seal};
pub(crate) use recipient::{PyRecipient, PyUnlockKey};
