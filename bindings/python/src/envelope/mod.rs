//! Envelopes (core/FORMAT.md): `seal`, `open` and `inspect`, the
//! `Recipient` and `UnlockKey` classes they take, the header changes
//! `rewrap`, `add_recipient` and `remove_recipient`, and `seal_stream` /
//! `open_stream` over Python file objects.

mod change;
// Shared with the keystore's seal/open by handle (src/keystore/session.rs).
pub(crate) mod context;
// Shared with the scratch files and the keystore's streams by handle.
pub(crate) mod ops;
pub(crate) mod pyio;
mod recipient;
pub(crate) mod stream;

pub(crate) use change::{add_recipient, remove_recipient, rewrap};
pub(crate) use ops::{inspect, open, seal};
pub(crate) use recipient::{PyRecipient, PyUnlockKey, UnlockKeyRef};
pub(crate) use stream::{open_stream, seal_stream};
