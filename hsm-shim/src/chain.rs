//! The MAC that chains audit records, shared by the server log
//! ([`crate::audit`]) and the device token ([`crate::device`]) so that the
//! two can never disagree on the format (audit module docs, § What it
//! detects):
//!
//! ```text
//! mac_i = HMAC-SHA-256(audit key, "coffer audit v1" || mac_{i-1} || u64 seq_i || u64 time_i || event_i)
//! ```

use coffer_core::mac::{HmacSha256Key, TAG_LEN};

/// Domain separation string at the start of every MAC input.
const DOMAIN: &[u8] = b"coffer audit v1";

/// The MAC of the record `seq` at `time` with canonical `event` bytes,
/// chained to the previous record's MAC `prev`.
pub(crate) fn record_mac(
    key: &HmacSha256Key,
    prev: &[u8; TAG_LEN],
    seq: u64,
    time: u64,
    event: &[u8],
) -> [u8; TAG_LEN] {
    key.sign_parts(&[DOMAIN, prev, &seq.to_be_bytes(), &time.to_be_bytes(), event])
}

/// Whether `mac` is that MAC, compared in constant time.
pub(crate) fn record_mac_matches(
    key: &HmacSha256Key,
    prev: &[u8; TAG_LEN],
    seq: u64,
    time: u64,
    event: &[u8],
    mac: &[u8; TAG_LEN],
) -> bool {
    key.verify_parts(&[DOMAIN, prev, &seq.to_be_bytes(), &time.to_be_bytes(), event], mac).is_ok()
}
