//! Webhook signatures: HMAC-SHA-256 over `timestamp "." body`, checked
//! against a tolerance window; replays outside the window and any change to
//! the timestamp, body or tag are rejected with `Error::Verify`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use coffer_core::Error;
use coffer_core::mac::{
    DEFAULT_WEBHOOK_TOLERANCE_SECS, HmacSha256Key, MAX_WEBHOOK_HEADER_LEN, WebhookMessage, WebhookSignature,
};

const KEY: &[u8] = b"whsec_test_key_0123456789abcdef";
const SENT_AT: u64 = 1_700_000_000;
const BODY: &[u8] = b"{\"id\":1}";

const TOL: u64 = DEFAULT_WEBHOOK_TOLERANCE_SECS;

fn key() -> HmacSha256Key {
    HmacSha256Key::new(KEY).unwrap()
}

/// The key, the message sent at `SENT_AT` and its tag.
fn signed() -> (HmacSha256Key, WebhookMessage<'static>, [u8; 32]) {
    let key = key();
    let msg = WebhookMessage::new(SENT_AT, BODY);
    let tag = key.sign_webhook(&msg);
    (key, msg, tag)
}

#[test]
fn webhook_signature_matches_an_independent_hmac_of_timestamp_dot_body() {
    // Python: hmac.new(KEY, b'1700000000.{"id":1}', hashlib.sha256).hexdigest()
    let expected = hex::decode("b9b47eadd51c77153810cecb63c5f44de30cccf09b948dae7451d216faf14065").unwrap();
    let tag = key().sign_webhook(&WebhookMessage::new(SENT_AT, BODY));
    assert_eq!(tag.to_vec(), expected);
}

#[test]
fn webhook_timestamp_is_signed_as_decimal_ascii_without_leading_zeros() {
    for (ts, text) in
        [(0u64, "0"), (9, "9"), (10, "10"), (SENT_AT, "1700000000"), (u64::MAX, "18446744073709551615")]
    {
        let msg = WebhookMessage::new(ts, b"b");
        assert_eq!(msg.timestamp_ascii(), text.as_bytes());
        assert_eq!(msg.timestamp(), ts);
        assert_eq!(msg.parts().concat(), format!("{text}.b").into_bytes());
    }
}

#[test]
fn webhook_is_accepted_anywhere_inside_the_window_including_both_edges() {
    let (key, msg, tag) = signed();
    for now in [SENT_AT - TOL, SENT_AT - 1, SENT_AT, SENT_AT + 1, SENT_AT + TOL] {
        assert_eq!(key.verify_webhook(&msg, &tag, now, TOL), Ok(()), "now = {now}");
    }
}

#[test]
fn webhook_replayed_after_the_window_or_dated_beyond_it_is_rejected() {
    let (key, msg, tag) = signed();
    for now in [SENT_AT + TOL + 1, SENT_AT + 86_400, SENT_AT - TOL - 1, 0] {
        assert_eq!(key.verify_webhook(&msg, &tag, now, TOL), Err(Error::Verify), "now = {now}");
        assert_eq!(msg.check_fresh(now, TOL), Err(Error::Verify), "now = {now}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "verifies 260 HMACs (one per bit of the tag): 90 s under miri")]
fn webhook_with_a_changed_body_timestamp_tag_or_key_is_rejected() {
    let (key, msg, tag) = signed();
    let now = SENT_AT + 10;
    // Body changed.
    assert_eq!(
        key.verify_webhook(&WebhookMessage::new(SENT_AT, b"{\"id\":2}"), &tag, now, TOL),
        Err(Error::Verify)
    );
    // Timestamp moved forward to dodge the window: still inside it, but unsigned.
    assert_eq!(
        key.verify_webhook(&WebhookMessage::new(SENT_AT + 5, BODY), &tag, now, TOL),
        Err(Error::Verify)
    );
    // Every single-bit flip of the tag.
    for i in 0..tag.len() * 8 {
        let mut bad = tag;
        bad[i / 8] ^= 1 << (i % 8);
        assert_eq!(key.verify_webhook(&msg, &bad, now, TOL), Err(Error::Verify), "bit {i}");
    }
    // Truncated tags are not accepted here.
    assert_eq!(key.verify_webhook(&msg, &tag[..16], now, TOL), Err(Error::Verify));
    assert_eq!(key.verify_webhook(&msg, &[], now, TOL), Err(Error::Verify));
    // Another key.
    let other = HmacSha256Key::new(b"whsec_another_key_0123456789abcd").unwrap();
    assert_eq!(other.verify_webhook(&msg, &tag, now, TOL), Err(Error::Verify));
}

#[test]
fn webhook_with_a_stale_timestamp_and_a_bad_tag_is_one_verify_error() {
    let key = key();
    let msg = WebhookMessage::new(SENT_AT, BODY);
    assert_eq!(key.verify_webhook(&msg, &[0u8; 32], SENT_AT + 10_000, 300), Err(Error::Verify));
}

#[test]
fn webhook_message_parts_feed_sign_parts_to_the_same_tag() {
    let key = key();
    let msg = WebhookMessage::new(SENT_AT, BODY);
    assert_eq!(key.sign_parts(&msg.parts()), key.sign_webhook(&msg));
    assert_eq!(key.verify_parts(&msg.parts(), &key.sign_webhook(&msg)), Ok(()));
}

#[test]
fn the_signature_header_is_t_then_v1_in_lowercase_hex_and_parses_back() {
    let (key, msg, tag) = signed();
    let header = WebhookSignature::new(msg.timestamp(), tag).to_string();
    assert_eq!(header, "t=1700000000,v1=b9b47eadd51c77153810cecb63c5f44de30cccf09b948dae7451d216faf14065");
    let parsed = WebhookSignature::parse(&header).unwrap();
    assert_eq!((parsed.timestamp(), parsed.tag()), (SENT_AT, &tag));
    let got = WebhookMessage::new(parsed.timestamp(), BODY);
    assert_eq!(key.verify_webhook(&got, parsed.tag(), SENT_AT, TOL), Ok(()));
    // Either case of hex, either order, other schemes' items ignored.
    let upper = format!("v1={},v0=old,t={SENT_AT}", hex::encode_upper(tag));
    assert_eq!(WebhookSignature::parse(&upper).unwrap(), parsed);
}

#[test]
fn a_signature_header_that_breaks_a_rule_is_malformed_and_a_long_one_too_long() {
    let tag = hex::encode([7u8; 32]);
    let malformed = [
        String::new(),
        "t=1".to_owned(),
        format!("v1={tag}"),
        format!("t=1,v1={tag},"),
        format!("t=1,={tag}"),
        format!("t=,v1={tag}"),
        format!("t=+1,v1={tag}"),
        format!("t=18446744073709551616,v1={tag}"),
        format!("t=1,v1={}", &tag[1..]),
        format!("t=1,v1={tag}0"),
        format!("t=1,v1=g{}", &tag[1..]),
        format!("t=1,v1={tag},v1={tag}"),
        format!("t=1,t=1,v1={tag}"),
        format!("t=1, v1={tag}"),
        format!("t=1;v1={tag}"),
    ];
    for header in &malformed {
        assert_eq!(WebhookSignature::parse(header), Err(Error::Malformed), "{header:?}");
    }
    let at_limit = format!("t=1,v1={tag},x={}", "y".repeat(MAX_WEBHOOK_HEADER_LEN - 4 - 3 - 64 - 3));
    assert_eq!(at_limit.len(), MAX_WEBHOOK_HEADER_LEN);
    assert!(WebhookSignature::parse(&at_limit).is_ok());
    let over = format!("{at_limit}y");
    assert_eq!(WebhookSignature::parse(&over), Err(Error::InvalidLength));
}
