"""Webhook signatures: HMAC-SHA-256 over `timestamp "." payload` in a `t=...,v1=...` header."""

import hashlib
import hmac
import time

import pytest

import coffer

KEY = b"whsec: shared with the receiver"
BODY = b'{"event":"paid","amount":100}'
T = 1_700_000_000


def test_the_header_is_the_hmac_of_timestamp_dot_payload_as_hmac_module_computes_it():
    header = coffer.webhook_sign(KEY, BODY, timestamp=T)
    expected = hmac.new(KEY, b"%d.%s" % (T, BODY), hashlib.sha256).hexdigest()
    assert header == f"t={T},v1={expected}"


def test_a_fresh_genuine_delivery_verifies_within_the_tolerance_either_way():
    header = coffer.webhook_sign(KEY, BODY, timestamp=T)
    for now in [T, T + 300, T - 300, T + 60]:
        assert coffer.webhook_verify(KEY, BODY, header, now=now) is None
    assert coffer.webhook_verify(KEY, BODY, header, now=T + 3600, tolerance=3600) is None
    assert coffer.webhook_verify(KEY, BODY, header.encode(), now=T) is None


def test_a_stale_forged_or_wrongly_keyed_delivery_is_a_verify_error():
    header = coffer.webhook_sign(KEY, BODY, timestamp=T)
    cases = [
        (KEY, BODY, header, T + 301, 300),
        (KEY, BODY, header, T - 301, 300),
        (KEY, BODY, header, T + 1, 0),
        (KEY, BODY + b" ", header, T, 300),
        (b"another secret", BODY, header, T, 300),
        (KEY, BODY, header.replace(f"t={T}", f"t={T + 1}"), T, 300),
        (KEY, BODY, header[:-1] + ("0" if header[-1] != "0" else "1"), T, 300),
    ]
    for key, body, hdr, now, tolerance in cases:
        with pytest.raises(coffer.VerifyError):
            coffer.webhook_verify(key, body, hdr, now=now, tolerance=tolerance)


def test_the_default_timestamp_and_clock_are_now():
    header = coffer.webhook_sign(KEY, BODY)
    t = int(header.split(",")[0][2:])
    assert abs(t - time.time()) < 5
    assert coffer.webhook_verify(KEY, BODY, header) is None


def test_headers_in_any_item_order_with_other_schemes_verify():
    tag = coffer.webhook_sign(KEY, BODY, timestamp=T).split("v1=")[1]
    assert coffer.webhook_verify(KEY, BODY, f"v0=legacy,v1={tag.upper()},t={T}", now=T) is None


def test_headers_that_do_not_parse_are_malformed_and_long_ones_invalid_input():
    tag = "ab" * 32
    for bad in ["", "t=1", f"v1={tag}", f"t=1,t=2,v1={tag}", f"t=-1,v1={tag}", f"t=1,v1={tag[:-2]}",
                f"t=1, v1={tag}", "garbage", b"\xff\xfe"]:
        with pytest.raises(coffer.MalformedError, match="webhook signature header"):
            coffer.webhook_verify(KEY, BODY, bad, now=1)
    with pytest.raises(coffer.InvalidInput):
        coffer.webhook_verify(KEY, BODY, "x" * 1025, now=1)


def test_timestamps_and_tolerances_outside_u64_are_invalid_input():
    for bad in [-1, 2**64]:
        with pytest.raises(coffer.InvalidInput):
            coffer.webhook_sign(KEY, BODY, timestamp=bad)
        with pytest.raises(coffer.InvalidInput):
            coffer.webhook_verify(KEY, BODY, coffer.webhook_sign(KEY, BODY, timestamp=T), now=bad)
    assert coffer.webhook_sign(KEY, BODY, timestamp=2**64 - 1).startswith("t=18446744073709551615,")
