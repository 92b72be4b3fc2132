//! Keystore version 2: the HSM state as sealed records in a
//! [`coffer_store::RecordStore`] (KEYSTORE.md §12).

pub(crate) mod grants;
pub(crate) mod records;
pub(crate) mod tx;
