//! Envelopes (core/FORMAT.md): `seal`, `open` and `inspect`, the
//! `Recipient` and `UnlockKey` classes they take, the header changes
//! `rewrap`, `add_recipient` and `remove_recipient`, and `seal_stream` /
//! `open_stream` over Python file objects.

mod change;
// Shared with the keystore's seal/open by handle (src/keystore/session.rs).
pub(crate) mod context;
mod ops;
mod pyio;
mod recipient;
mod stream;

pub(crate) use change::{add_recipient, remove_recipient, rewrap};
pub(crate) use ops::{inspect, open, seal};
pub(crate) use recipient::{PyRecipient, PyUnlockKey};
pub(crate) use stream::{open_stream, seal_stream};
