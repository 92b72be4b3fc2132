//! Webhook signature headers (`t=<timestamp>,v1=<hex tag>`, coffer_core::mac).
//! - `WebhookSignature::parse` never panics on any text, fails only with
//!   `Malformed` (or `InvalidLength` past 1024 bytes), and what it accepts
//!   prints as a header that parses back to the same signature;
//! - a header made by the signer for the input's timestamp and body
//!   verifies at that time;
//! - that header with one edit from the input (a flipped bit, a byte
//!   inserted or removed, a cut) either fails with `Malformed` or
//!   `InvalidLength` to parse or `Verify` to verify, or carries exactly the
//!   same timestamp and tag (an edit the format ignores: the case of a hex
//!   digit, a leading zero, an extra `v0=` item);
//! - the header verifies for no other body and outside the tolerance.
//!
//! Input: timestamp (8 bytes), edit kind (1), edit position (2), edit byte
//! (1), then the body; the whole input, as text, is also parsed as a header.
#![no_main]

use coffer_core::Error;
use coffer_core::mac::{HmacSha256Key, MAX_WEBHOOK_HEADER_LEN, WebhookMessage, WebhookSignature};
use libfuzzer_sys::fuzz_target;

const TOLERANCE: u64 = 300;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = core::str::from_utf8(data) {
        match WebhookSignature::parse(text) {
            Ok(sig) => assert_eq!(WebhookSignature::parse(&sig.to_string()), Ok(sig), "{text:?} prints back"),
            Err(e) => assert_parse_error(e, text),
        }
    }

    let Some((ts, rest)) = data.split_first_chunk::<8>() else { return };
    let Some((&[kind, hi, lo, byte], body)) = rest.split_first_chunk::<4>() else { return };
    let timestamp = u64::from_be_bytes(*ts);
    let key = HmacSha256Key::new(b"whsec: the fuzzer's shared secret").expect("a valid secret");
    let sent = WebhookMessage::new(timestamp, body);
    let signature = WebhookSignature::new(timestamp, key.sign_webhook(&sent));
    let header = signature.to_string();
    assert_eq!(WebhookSignature::parse(&header), Ok(signature));
    assert_eq!(key.verify_webhook(&sent, signature.tag(), timestamp, TOLERANCE), Ok(()));
    let late = timestamp.checked_add(TOLERANCE + 1).unwrap_or(timestamp.wrapping_sub(TOLERANCE + 1));
    assert_eq!(key.verify_webhook(&sent, signature.tag(), late, TOLERANCE), Err(Error::Verify));
    let mut other_body = body.to_vec();
    other_body.push(byte);
    let other = WebhookMessage::new(timestamp, &other_body);
    assert_eq!(key.verify_webhook(&other, signature.tag(), timestamp, TOLERANCE), Err(Error::Verify));

    // One edit of the header.
    let mut edited = header.clone().into_bytes();
    let at = usize::from(u16::from_be_bytes([hi, lo])) % (edited.len() + 1);
    match kind % 4 {
        0 => {
            if let Some(b) = edited.get_mut(at) {
                *b ^= 1 << (byte % 8);
            }
        }
        1 => edited.insert(at, byte),
        2 => {
            if at < edited.len() {
                edited.remove(at);
            }
        }
        _ => edited.truncate(at),
    }
    let Ok(edited) = String::from_utf8(edited) else { return };
    match WebhookSignature::parse(&edited) {
        Err(e) => assert_parse_error(e, &edited),
        Ok(got) => {
            let msg = WebhookMessage::new(got.timestamp(), body);
            match key.verify_webhook(&msg, got.tag(), timestamp, TOLERANCE) {
                Ok(()) => assert_eq!(got, signature, "{edited:?} verifies only as the same signature"),
                Err(e) => assert_eq!(e, Error::Verify, "{edited:?}"),
            }
        }
    }
});

fn assert_parse_error(e: Error, header: &str) {
    if header.len() > MAX_WEBHOOK_HEADER_LEN {
        assert_eq!(e, Error::InvalidLength, "{header:?}");
    } else {
        assert_eq!(e, Error::Malformed, "{header:?}");
    }
}
