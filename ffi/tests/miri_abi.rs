//! The C boundary under miri (issue 16 part 5): each test calls the
//! `extern "C"` functions through the rlib as C would, with pointers and
//! lengths in every shape the header allows, so that miri checks the
//! `unsafe` of ffi/src/boundary.rs and of the `_free` functions: NULL with
//! a zero and a nonzero length, caller buffers too short (the size needed
//! written back), exact and roomy, library-allocated `coffer_bytes` freed
//! once and again, and handles made, read and freed.
//!
//! The crypto is kept to the least that reaches each path (a 16-byte
//! AES-KW, HMACs, one small envelope, one stream of one chunk, one key
//! import), because miri interprets it some thousand times slower than
//! native code; `.ci/run` runs this file under miri. It passes natively
//! too. The key pair comes from RSA PKCS#8 (10 s under miri), not P-256,
//! whose import recomputes the public key (over a minute). The keystore
//! functions are not here: their SQLite store is C code, which miri
//! cannot run.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "a failed call is a test failure, reported by panic"
)]

use std::ffi::CStr;
use std::ptr::{NonNull, null, null_mut};

use coffer::boundary::{coffer_bytes, coffer_bytes_free};
use coffer::cert::*;
use coffer::crl::*;
use coffer::envelope::*;
use coffer::keypair::*;
use coffer::keywrap::*;
use coffer::status::*;
use coffer::stream::*;
use coffer::version::{coffer_abi_version, coffer_provider, coffer_version};
use coffer::webhook::*;

mod common;
use common::{Bytes, KIND_KEK, kv, recipient, unlock};

const RSA2048_PKCS8: &[u8] = include_bytes!("../../core/tests/data/rsa2048.pkcs8.der");
const P256_SEC1: &[u8] = include_bytes!("../../core/tests/data/p256.sec1.der");

/// A self-signed P-256 CA, `CN=miri CA`, made with OpenSSL 3.0:
/// `openssl req -x509 -new -key ca.key -subj "/CN=miri CA" -days 3650
/// -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign`.
const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBijCCAS+gAwIBAgIUVHOGGNvc1bgTQkG6PJFvF3J9H20wCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHbWlyaSBDQTAeFw0yNjExMjYwNTE2MzVaFw0zNjExMjMwNTE2
MzVaMBIxEDAOBgNVBAMMB21pcmkgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AAQ3ANE8WPcfifL+8ncJJxPos/fS11XjoGBLrJ4+PUzBYrrvG4hiBiAVqq/n6SjB
ZJTLkKwEo9PVmoudpdIkFMZUo2MwYTAdBgNVHQ4EFgQUR7HB08ZmjHnupYEYOA4W
CZgCuaIwHwYDVR0jBBgwFoAUR7HB08ZmjHnupYEYOA4WCZgCuaIwDwYDVR0TAQH/
BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwCgYIKoZIzj0EAwIDSQAwRgIhAPDX1Gxt
7vSkbIdvDOHyEZ3JjnMlNbG3rxT9FQWur5rKAiEAmjrMXNtrX8V1Nl+x9nAkZsmX
2SciV42iXXX2fQTRSDk=
-----END CERTIFICATE-----
";

/// A client certificate `CN=revoked agent` with serial 0x0A11CE issued by
/// [`CA_PEM`]: `openssl x509 -req -set_serial 0x0A11CE -days 3650`.
const LEAF_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBjzCCATagAwIBAgIDChHOMAoGCCqGSM49BAMCMBIxEDAOBgNVBAMMB21pcmkg
Q0EwHhcNMjYxMTI2MDUxNjQ0WhcNMzYxMTIzMDUxNjQ0WjAYMRYwFAYDVQQDDA1y
ZXZva2VkIGFnZW50MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEafOjFBu7NwQg
GETADjnu+Eig1BzwGd8AnyxKkli3WGU3WD65yQec1PCSbYNslOmX3PINpJbMIBPo
BP4RL+BNnKN1MHMwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0l
BAwwCgYIKwYBBQUHAwIwHQYDVR0OBBYEFMB0fm7VI6/eQ4z4wapxsM2VlP5QMB8G
A1UdIwQYMBaAFEexwdPGZox57qWBGDgOFgmYArmiMAoGCCqGSM49BAMCA0cAMEQC
IE3X5Uf83t0j9af9RdXj0M1nO8IjCsJxfbjTPps8kl6mAiBpj/oBq2cjt/Lp6pBe
gjR48LG0BJpNBBHS/huXsT4Bng==
-----END CERTIFICATE-----
";

/// [`CA_PEM`]'s revocation list, listing serial 0x0A11CE (`openssl ca -gencrl`).
const CRL_PEM: &str = "-----BEGIN X509 CRL-----
MIHBMGoCAQEwCgYIKoZIzj0EAwIwEjEQMA4GA1UEAwwHbWlyaSBDQRcNMjYxMTI2
MDUxNjM5WhcNMzYxMTIzMDUxNjM5WjAWMBQCAwoRzhcNMjYxMTI2MDUxNjM1WqAP
MA0wCwYDVR0UBAQCAhABMAoGCCqGSM49BAMCA0cAMEQCIBh3+iRxfPZcGFktE6Oq
Abn2R9P5sWFbuRQsJ250660HAiAYQ5s2kynRE/xXAgJk6QkJr2Iutpv3SDpjwJhS
DKVmBA==
-----END X509 CRL-----
";

/// An AES-128 KEK: AES-KW's cheapest key for the key-wrap paths.
const KEK128: [u8; 16] = [0x42; 16];
/// An AES-256 KEK, the size envelopes take.
const KEK256: [u8; 32] = [0x11; 32];
const SECRET: &[u8] = b"whsec: a shared webhook secret";
const SENT_AT: u64 = 1_700_000_000;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The NUL-terminated static string `ptr` points to.
fn c_text(ptr: *const std::ffi::c_char) -> String {
    assert!(!ptr.is_null());
    // SAFETY: coffer returns NULL-checked pointers to static NUL-terminated strings.
    unsafe { CStr::from_ptr(ptr) }.to_str().unwrap().to_owned()
}

/// A pointer no call may write: an output slot that must stay untouched
/// when a call fails is preset to it.
fn untouched<T>() -> *mut T {
    NonNull::dangling().as_ptr()
}

/// The webhook header for `body` at [`SENT_AT`] under [`SECRET`].
fn webhook_header(body: &[u8]) -> Bytes {
    let mut header = Bytes::new();
    let status =
        coffer_webhook_sign(SECRET.as_ptr(), SECRET.len(), SENT_AT, body.as_ptr(), body.len(), header.out());
    assert_eq!(status, COFFER_OK);
    header
}

fn verify_webhook(body: *const u8, body_len: usize, header: &[u8]) -> coffer_status {
    coffer_webhook_verify(
        SECRET.as_ptr(),
        SECRET.len(),
        body,
        body_len,
        header.as_ptr(),
        header.len(),
        SENT_AT + 10,
        COFFER_WEBHOOK_DEFAULT_TOLERANCE_SECS,
    )
}

// ---------------------------------------------------------------------------
// Static strings
// ---------------------------------------------------------------------------

#[test]
fn every_status_has_its_own_static_message_and_any_other_value_the_unknown_one() {
    let unknown = c_text(coffer_status_message(u32::MAX));
    assert_eq!(unknown, "unknown status code");
    // Every value of every band (0, and 1000-1099 up to 5000-5099): each
    // message is a static NUL-terminated UTF-8 string; the known codes
    // (the others get `unknown`) each have their own.
    let mut messages = std::collections::BTreeMap::new();
    for value in std::iter::once(0).chain((1000..6000).filter(|v| v % 1000 < 100)) {
        let message = c_text(coffer_status_message(value));
        assert!(!message.is_empty(), "status value {value}");
        if message != unknown {
            assert!(messages.insert(message, value).is_none(), "status value {value} shares its message");
        }
    }
    for status in [COFFER_OK, COFFER_ERR_NULL_POINTER, COFFER_ERR_DECRYPT, COFFER_ERR_KEY_POLICY] {
        assert!(messages.values().any(|v| *v == status as u32), "{status:?} has no message of its own");
    }
}

#[test]
fn the_version_strings_are_static_and_the_abi_version_is_the_headers() {
    assert!(c_text(coffer_version()).starts_with(char::is_numeric));
    assert_eq!(c_text(coffer_provider()), coffer_core::provider::ACTIVE.name());
    assert_eq!(coffer_abi_version(), coffer::abi::COFFER_ABI_VERSION);
}

// ---------------------------------------------------------------------------
// coffer_bytes
// ---------------------------------------------------------------------------

#[test]
fn library_allocated_bytes_are_freed_and_a_second_free_of_the_same_struct_does_nothing() {
    let mut header = coffer_bytes { data: null_mut(), len: 0 };
    let status = coffer_webhook_sign(SECRET.as_ptr(), SECRET.len(), SENT_AT, b"{}".as_ptr(), 2, &mut header);
    assert_eq!(status, COFFER_OK);
    assert!(!header.data.is_null());
    // SAFETY: coffer wrote `len` bytes at `data`, valid until freed.
    let text = unsafe { std::slice::from_raw_parts(header.data, header.len) };
    assert!(text.starts_with(b"t=1700000000,v1="), "{}", String::from_utf8_lossy(text));
    assert_eq!(text.len(), "t=1700000000,v1=".len() + 64);

    coffer_bytes_free(&mut header);
    assert!(header.data.is_null());
    assert_eq!(header.len, 0);
    // The header promises: a second free through the same struct is safe.
    coffer_bytes_free(&mut header);
    assert!(header.data.is_null());
    // NULL itself, and a struct whose data is NULL (its len is reset).
    coffer_bytes_free(null_mut());
    let mut empty = coffer_bytes { data: null_mut(), len: 7 };
    coffer_bytes_free(&mut empty);
    assert_eq!(empty.len, 0);
}

#[test]
fn a_null_output_slot_is_refused_before_any_work() {
    let status = coffer_webhook_sign(SECRET.as_ptr(), SECRET.len(), SENT_AT, null(), 0, null_mut());
    assert_eq!(status, COFFER_ERR_NULL_POINTER);
    assert_eq!(
        coffer_envelope_header_len(b"CFRE\x01\x01\0\0\0\x50".as_ptr(), 10, null_mut()),
        COFFER_ERR_NULL_POINTER
    );
    let mut out = [0u8; 24];
    let status = coffer_kw_wrap(KEK128.as_ptr(), 16, [7u8; 16].as_ptr(), 16, out.as_mut_ptr(), null_mut());
    assert_eq!(status, COFFER_ERR_NULL_POINTER);
    // A NULL buffer with room claimed for it.
    let mut len = 24;
    let status = coffer_kw_wrap(KEK128.as_ptr(), 16, [7u8; 16].as_ptr(), 16, null_mut(), &mut len);
    assert_eq!(status, COFFER_ERR_NULL_POINTER);
    assert_eq!(len, 24, "nothing written on failure");
}

// ---------------------------------------------------------------------------
// Borrowed inputs: NULL with and without a length
// ---------------------------------------------------------------------------

#[test]
fn null_with_length_zero_is_the_empty_input_and_with_a_length_a_null_pointer_error() {
    // An empty body, given as NULL and 0, signs and verifies like any other.
    let mut header = Bytes::new();
    let status = coffer_webhook_sign(SECRET.as_ptr(), SECRET.len(), SENT_AT, null(), 0, header.out());
    assert_eq!(status, COFFER_OK);
    let header = header.to_vec();
    assert_eq!(verify_webhook(null(), 0, &header), COFFER_OK);
    assert_eq!(verify_webhook(b"".as_ptr(), 0, &header), COFFER_OK);
    assert_eq!(verify_webhook(null(), 1, &header), COFFER_ERR_NULL_POINTER);

    // A NULL secret: with length 0 it is an empty (too short) key, with a length NULL.
    let mut out = Bytes::new();
    assert_eq!(coffer_webhook_sign(null(), 0, SENT_AT, null(), 0, out.out()), COFFER_ERR_INVALID_KEY);
    assert_eq!(coffer_webhook_sign(null(), 16, SENT_AT, null(), 0, out.out()), COFFER_ERR_NULL_POINTER);
    assert!(out.0.data.is_null(), "nothing written on failure");

    // Key wrap: NULL key data of length 0 is empty (a bad length), of length 16 NULL.
    let mut wrapped = [0u8; 32];
    let mut len = wrapped.len();
    let status = coffer_kw_wrap(KEK128.as_ptr(), 16, null(), 0, wrapped.as_mut_ptr(), &mut len);
    assert_eq!(status, COFFER_ERR_INVALID_LENGTH);
    let status = coffer_kw_wrap(KEK128.as_ptr(), 16, null(), 16, wrapped.as_mut_ptr(), &mut len);
    assert_eq!(status, COFFER_ERR_NULL_POINTER);
    let status = coffer_kw_wrap(null(), 16, [7u8; 16].as_ptr(), 16, wrapped.as_mut_ptr(), &mut len);
    assert_eq!(status, COFFER_ERR_NULL_POINTER);
    assert_eq!(len, wrapped.len(), "nothing written on failure");

    // Arrays: NULL recipients with a count, and a NULL context of 0 pairs (empty) or 1.
    let mut sealed = Bytes::new();
    let status = coffer_envelope_seal(null(), 1, null(), 0, b"x".as_ptr(), 1, sealed.out());
    assert_eq!(status, COFFER_ERR_NULL_POINTER);
    let to = [recipient(b"k", 1, &KEK256)];
    let status = coffer_envelope_seal(to.as_ptr(), 1, null(), 1, b"x".as_ptr(), 1, sealed.out());
    assert_eq!(status, COFFER_ERR_NULL_POINTER);
    let status = coffer_envelope_seal(to.as_ptr(), 0, null(), 0, b"x".as_ptr(), 1, sealed.out());
    assert_eq!(status, COFFER_ERR_INVALID_ARGUMENT, "no recipients");
    // A pair whose value is NULL with length 0 is the empty value; with a length, NULL.
    let bad = [coffer_kv { key: b"k".as_ptr(), key_len: 1, value: null(), value_len: 3 }];
    let status = coffer_envelope_seal(to.as_ptr(), 1, bad.as_ptr(), 1, b"x".as_ptr(), 1, sealed.out());
    assert_eq!(status, COFFER_ERR_NULL_POINTER);
    assert!(sealed.0.data.is_null(), "nothing written on failure");
}

#[test]
fn text_inputs_are_checked_for_utf8_and_length() {
    let header = webhook_header(b"{}").to_vec();
    assert_eq!(verify_webhook(b"{}".as_ptr(), 2, &header), COFFER_OK);
    assert_eq!(verify_webhook(b"{!".as_ptr(), 2, &header), COFFER_ERR_VERIFY);
    let mut not_utf8 = header.clone();
    not_utf8[0] = 0xff;
    assert_eq!(verify_webhook(b"{}".as_ptr(), 2, &not_utf8), COFFER_ERR_NOT_UTF8);
    assert_eq!(verify_webhook(b"{}".as_ptr(), 2, b"t=1,v1=zz"), COFFER_ERR_MALFORMED);
    let long = [b'x'; COFFER_WEBHOOK_HEADER_MAX_LEN + 1];
    assert_eq!(verify_webhook(b"{}".as_ptr(), 2, &long), COFFER_ERR_INVALID_LENGTH);
}

// ---------------------------------------------------------------------------
// Caller buffers with an in/out length
// ---------------------------------------------------------------------------

#[test]
fn key_wrap_writes_caller_buffers_only_when_they_are_big_enough() {
    let data = [0x5au8; 16];
    let wrap = |out: *mut u8, len: &mut usize| {
        coffer_kw_wrap(KEK128.as_ptr(), KEK128.len(), data.as_ptr(), data.len(), out, len)
    };

    // Asking for the size: NULL and 0.
    let mut len = 0;
    assert_eq!(wrap(null_mut(), &mut len), COFFER_ERR_BUFFER_TOO_SMALL);
    assert_eq!(len, 24);
    // One byte short: the size needed comes back, the buffer is untouched.
    let mut short = [0xeeu8; 23];
    let mut len = short.len();
    assert_eq!(wrap(short.as_mut_ptr(), &mut len), COFFER_ERR_BUFFER_TOO_SMALL);
    assert_eq!(len, 24);
    assert_eq!(short, [0xee; 23]);
    // Roomy: the wrapped length comes back and nothing past it is written.
    let mut roomy = [0xeeu8; 40];
    let mut len = roomy.len();
    assert_eq!(wrap(roomy.as_mut_ptr(), &mut len), COFFER_OK);
    assert_eq!(len, 24);
    assert_eq!(roomy[24..], [0xee; 16]);
    let wrapped = roomy[..24].to_vec();

    // Unwrap into an exact buffer, then a changed byte fails.
    let mut out = [0u8; 16];
    let mut len = out.len();
    let status =
        coffer_kw_unwrap(KEK128.as_ptr(), 16, wrapped.as_ptr(), wrapped.len(), out.as_mut_ptr(), &mut len);
    assert_eq!((status, len, out), (COFFER_OK, 16, data));
    let mut changed = wrapped.clone();
    changed[23] ^= 1;
    let mut out = [0u8; 16];
    let mut len = out.len();
    let status =
        coffer_kw_unwrap(KEK128.as_ptr(), 16, changed.as_ptr(), changed.len(), out.as_mut_ptr(), &mut len);
    assert_eq!((status, len, out), (COFFER_ERR_DECRYPT, 16, [0u8; 16]));
}

#[test]
fn padded_key_wrap_reports_the_unpadded_length_to_a_short_buffer() {
    let data = [0x3cu8; 20];
    let mut wrapped = [0u8; 32];
    let mut len = wrapped.len();
    let status =
        coffer_kwp_wrap(KEK128.as_ptr(), 16, data.as_ptr(), data.len(), wrapped.as_mut_ptr(), &mut len);
    assert_eq!((status, len), (COFFER_OK, 32));

    let mut out = [0u8; 24];
    let mut len = 19;
    let status = coffer_kwp_unwrap(KEK128.as_ptr(), 16, wrapped.as_ptr(), 32, out.as_mut_ptr(), &mut len);
    assert_eq!((status, len), (COFFER_ERR_BUFFER_TOO_SMALL, 20));
    assert_eq!(out, [0u8; 24]);
    let mut len = out.len();
    let status = coffer_kwp_unwrap(KEK128.as_ptr(), 16, wrapped.as_ptr(), 32, out.as_mut_ptr(), &mut len);
    assert_eq!((status, len), (COFFER_OK, 20));
    assert_eq!(out[..20], data);
}

// ---------------------------------------------------------------------------
// Envelopes
// ---------------------------------------------------------------------------

#[test]
fn header_len_reads_crafted_prefixes() {
    let prefix = |len: u32| {
        let mut p = b"CFRE\x01\x01".to_vec();
        p.extend_from_slice(&len.to_be_bytes());
        p
    };
    let header_len = |bytes: *const u8, len: usize| {
        let mut out = usize::MAX;
        (coffer_envelope_header_len(bytes, len, &mut out), out)
    };
    let p = prefix(300);
    assert_eq!(header_len(p.as_ptr(), 10), (COFFER_OK, 300));
    // Bytes after the prefix are not read.
    let mut longer = p.clone();
    longer.extend_from_slice(&[0xff; 6]);
    assert_eq!(header_len(longer.as_ptr(), longer.len()), (COFFER_OK, 300));
    assert_eq!(header_len(prefix(10).as_ptr(), 10), (COFFER_OK, 10));
    assert_eq!(header_len(prefix(65536).as_ptr(), 10), (COFFER_OK, 65536));
    for bad in [prefix(9), prefix(65537), prefix(u32::MAX), b"CFRF\x01\x01\0\0\x01\0".to_vec()] {
        assert_eq!(header_len(bad.as_ptr(), 10), (COFFER_ERR_MALFORMED, usize::MAX), "{bad:02x?}");
    }
    let mut wrong_version = p.clone();
    wrong_version[4] = 2;
    assert_eq!(header_len(wrong_version.as_ptr(), 10), (COFFER_ERR_MALFORMED, usize::MAX));
    assert_eq!(header_len(p.as_ptr(), 9), (COFFER_ERR_INVALID_LENGTH, usize::MAX));
    assert_eq!(header_len(null(), 0), (COFFER_ERR_INVALID_LENGTH, usize::MAX));
    assert_eq!(header_len(null(), 10), (COFFER_ERR_NULL_POINTER, usize::MAX));
}

#[test]
fn a_small_envelope_seals_opens_and_loses_a_recipient_through_the_abi() {
    let to = [recipient(b"k", 1, &KEK256)];
    let keys = [unlock(b"k", 1, &KEK256)];
    let context = [kv(b"tenant", b"acme")];
    let plaintext = b"hi";

    // seal_into sizes the envelope before any crypto: ask with NULL and 0.
    let mut needed = 0;
    let status = coffer_envelope_seal_into(
        to.as_ptr(),
        1,
        context.as_ptr(),
        1,
        plaintext.as_ptr(),
        2,
        null_mut(),
        &mut needed,
    );
    assert_eq!(status, COFFER_ERR_BUFFER_TOO_SMALL);

    let mut sealed = Bytes::new();
    let status =
        coffer_envelope_seal(to.as_ptr(), 1, context.as_ptr(), 1, plaintext.as_ptr(), 2, sealed.out());
    assert_eq!(status, COFFER_OK);
    let sealed = sealed.to_vec();
    assert_eq!(sealed.len(), needed);
    let mut header_len = 0;
    assert_eq!(coffer_envelope_header_len(sealed.as_ptr(), sealed.len(), &mut header_len), COFFER_OK);
    assert_eq!(sealed.len(), header_len + plaintext.len() + COFFER_ENVELOPE_TAG_LEN);

    // Opened into a buffer one byte short: the plaintext length comes back, nothing else.
    let mut short = [0u8; 1];
    let mut len = short.len();
    let status = coffer_envelope_open_into(
        keys.as_ptr(),
        1,
        context.as_ptr(),
        1,
        sealed.as_ptr(),
        sealed.len(),
        short.as_mut_ptr(),
        &mut len,
    );
    assert_eq!((status, len, short), (COFFER_ERR_BUFFER_TOO_SMALL, 2, [0]));
    let mut opened = Bytes::new();
    let status = coffer_envelope_open(
        keys.as_ptr(),
        1,
        context.as_ptr(),
        1,
        sealed.as_ptr(),
        sealed.len(),
        opened.out(),
    );
    assert_eq!(status, COFFER_OK);
    assert_eq!(opened.to_vec(), plaintext);

    // Header-only operations: no such recipient, and not the last one.
    let mut out = Bytes::new();
    let status = coffer_envelope_remove_recipient(
        sealed.as_ptr(),
        sealed.len(),
        KIND_KEK,
        b"zz".as_ptr(),
        2,
        1,
        out.out(),
    );
    assert_eq!(status, COFFER_ERR_INVALID_ARGUMENT);
    let status = coffer_envelope_remove_recipient(
        sealed.as_ptr(),
        sealed.len(),
        KIND_KEK,
        b"k".as_ptr(),
        1,
        1,
        out.out(),
    );
    assert_eq!(status, COFFER_ERR_INVALID_ARGUMENT);
    let status =
        coffer_envelope_remove_recipient(sealed.as_ptr(), sealed.len(), 9, b"k".as_ptr(), 1, 1, out.out());
    assert_eq!(status, COFFER_ERR_UNKNOWN_VALUE);
    assert!(out.0.data.is_null(), "nothing written on failure");
    // Bytes that are no envelope are refused before any key is tried.
    let status =
        coffer_envelope_open(keys.as_ptr(), 1, null(), 0, b"not an envelope".as_ptr(), 15, out.out());
    assert_eq!(status, COFFER_ERR_MALFORMED);
}

#[test]
fn a_one_chunk_stream_seals_and_opens_through_sealer_and_opener_handles() {
    let to = [recipient(b"k", 1, &KEK256)];
    let keys = [unlock(b"k", 1, &KEK256)];
    let hello = b"hello";

    // A chunk size below the minimum: no handle and no header.
    let mut sealer: *mut coffer_sealer = untouched();
    let mut header = Bytes::new();
    let status = coffer_sealer_new(to.as_ptr(), 1, null(), 0, 255, &mut sealer, header.out());
    assert_eq!(status, COFFER_ERR_LIMIT_EXCEEDED);
    assert_eq!(sealer, untouched());
    assert!(header.0.data.is_null());

    let status = coffer_sealer_new(to.as_ptr(), 1, null(), 0, 256, &mut sealer, header.out());
    assert_eq!(status, COFFER_OK);
    let header = header.to_vec();
    let mut chunk_size = 0;
    assert_eq!(coffer_sealer_chunk_size(sealer, &mut chunk_size), COFFER_OK);
    assert_eq!(chunk_size, 256);

    // The size of a sealed chunk is known before any crypto: ask with NULL and 0.
    let mut len = 0;
    let status = coffer_sealer_seal_chunk(sealer, hello.as_ptr(), 5, true, null_mut(), &mut len);
    assert_eq!((status, len), (COFFER_ERR_BUFFER_TOO_SMALL, 5 + COFFER_ENVELOPE_TAG_LEN));
    let mut sealed = [0u8; 5 + COFFER_ENVELOPE_TAG_LEN];
    let mut len = sealed.len();
    let status = coffer_sealer_seal_chunk(sealer, hello.as_ptr(), 5, true, sealed.as_mut_ptr(), &mut len);
    assert_eq!((status, len), (COFFER_OK, sealed.len()));
    let mut more = [0u8; COFFER_ENVELOPE_TAG_LEN];
    let mut len = more.len();
    let status = coffer_sealer_seal_chunk(sealer, null(), 0, true, more.as_mut_ptr(), &mut len);
    assert_eq!(status, COFFER_ERR_STREAM_FINISHED);
    coffer_sealer_free(sealer);
    coffer_sealer_free(null_mut());

    let mut opener: *mut coffer_opener = untouched();
    let status = coffer_opener_new(keys.as_ptr(), 1, null(), 0, header.as_ptr(), header.len(), &mut opener);
    assert_eq!(status, COFFER_OK);
    let mut sealed_chunk_size = 0;
    assert_eq!(coffer_opener_sealed_chunk_size(opener, &mut sealed_chunk_size), COFFER_OK);
    assert_eq!(sealed_chunk_size, 256 + COFFER_ENVELOPE_TAG_LEN);
    // One byte short: the plaintext length comes back, nothing is written.
    let mut plain = [0u8; 5];
    let mut len = 4;
    let status =
        coffer_opener_open_chunk(opener, sealed.as_ptr(), sealed.len(), true, plain.as_mut_ptr(), &mut len);
    assert_eq!((status, len, plain), (COFFER_ERR_BUFFER_TOO_SMALL, 5, [0; 5]));
    let mut len = plain.len();
    let status =
        coffer_opener_open_chunk(opener, sealed.as_ptr(), sealed.len(), true, plain.as_mut_ptr(), &mut len);
    assert_eq!((status, len, &plain), (COFFER_OK, 5, hello));
    assert_eq!(coffer_opener_finish(opener), COFFER_OK);
    assert_eq!(coffer_opener_finish(opener), COFFER_ERR_STREAM_FINISHED);
    let mut after = 0;
    assert_eq!(coffer_opener_sealed_chunk_size(opener, &mut after), COFFER_ERR_STREAM_FINISHED);
    coffer_opener_free(opener);
    coffer_opener_free(null_mut());
}

// ---------------------------------------------------------------------------
// Handles
// ---------------------------------------------------------------------------

#[test]
fn certificate_and_crl_handles_are_made_read_and_freed() {
    let mut ca: *mut coffer_certificate = untouched();
    assert_eq!(coffer_certificate_from_pem(CA_PEM.as_ptr(), CA_PEM.len(), &mut ca), COFFER_OK);
    let mut der = Bytes::new();
    assert_eq!(coffer_certificate_to_der(ca, der.out()), COFFER_OK);
    let der = der.to_vec();
    assert_eq!(der.len(), 398);
    let mut again: *mut coffer_certificate = untouched();
    assert_eq!(coffer_certificate_from_der(der.as_ptr(), der.len(), &mut again), COFFER_OK);
    let mut subject = Bytes::new();
    assert_eq!(coffer_certificate_subject(again, subject.out()), COFFER_OK);
    assert_eq!(subject.to_vec(), b"CN=miri CA");
    let mut spki = Bytes::new();
    assert_eq!(coffer_certificate_public_key_der(again, spki.out()), COFFER_OK);
    assert_eq!(spki.to_vec().len(), 91, "a P-256 SubjectPublicKeyInfo");

    let mut leaf: *mut coffer_certificate = untouched();
    assert_eq!(coffer_certificate_from_pem(LEAF_PEM.as_ptr(), LEAF_PEM.len(), &mut leaf), COFFER_OK);
    let mut serial = Bytes::new();
    assert_eq!(coffer_certificate_serial(leaf, serial.out()), COFFER_OK);
    assert_eq!(serial.to_vec(), [0x0a, 0x11, 0xce]);

    let mut crl: *mut coffer_crl = untouched();
    assert_eq!(coffer_crl_from_pem(CRL_PEM.as_ptr(), CRL_PEM.len(), &mut crl), COFFER_OK);
    let mut crl_der = Bytes::new();
    assert_eq!(coffer_crl_to_der(crl, crl_der.out()), COFFER_OK);
    let crl_der = crl_der.to_vec();
    let mut crl_again: *mut coffer_crl = untouched();
    assert_eq!(coffer_crl_from_der(crl_der.as_ptr(), crl_der.len(), &mut crl_again), COFFER_OK);
    let mut listed = false;
    assert_eq!(coffer_crl_lists(crl_again, leaf, &mut listed), COFFER_OK);
    assert!(listed, "the leaf's serial is on the list");
    assert_eq!(coffer_crl_lists(crl_again, ca, &mut listed), COFFER_OK);
    assert!(!listed, "the CA's is not");
    assert_eq!(coffer_crl_lists(crl_again, null(), &mut listed), COFFER_ERR_NULL_POINTER);

    // Bytes that are no certificate or list: the handle slot is left as it was.
    let mut none: *mut coffer_certificate = untouched();
    assert_eq!(coffer_certificate_from_der(der.as_ptr(), der.len() - 1, &mut none), COFFER_ERR_MALFORMED);
    assert_eq!(none, untouched());
    let mut no_crl: *mut coffer_crl = untouched();
    assert_eq!(coffer_crl_from_der(der.as_ptr(), der.len(), &mut no_crl), COFFER_ERR_MALFORMED);
    assert_eq!(no_crl, untouched());

    for cert in [ca, again, leaf, null_mut()] {
        coffer_certificate_free(cert);
    }
    for list in [crl, crl_again, null_mut()] {
        coffer_crl_free(list);
    }
}

#[test]
fn a_key_pair_handle_is_imported_from_pkcs8_read_and_freed() {
    let mut keypair: *mut coffer_keypair = untouched();
    assert_eq!(
        coffer_keypair_from_pkcs8_der(RSA2048_PKCS8.as_ptr(), RSA2048_PKCS8.len(), &mut keypair),
        COFFER_OK
    );
    let mut algorithm = 0;
    assert_eq!(coffer_keypair_algorithm(keypair, &mut algorithm), COFFER_OK);
    assert_eq!(algorithm, coffer_key_algorithm::COFFER_ALG_RSA_2048 as u32);
    assert_eq!(coffer_keypair_algorithm(keypair, null_mut()), COFFER_ERR_NULL_POINTER);
    coffer_keypair_free(keypair);
    coffer_keypair_free(null_mut());

    // A SEC1 key is no PKCS#8: refused, the slot untouched.
    let mut none: *mut coffer_keypair = untouched();
    assert_eq!(
        coffer_keypair_from_pkcs8_der(P256_SEC1.as_ptr(), P256_SEC1.len(), &mut none),
        COFFER_ERR_INVALID_KEY
    );
    assert_eq!(none, untouched());
    assert_eq!(coffer_keypair_from_pkcs8_der(null(), 5, &mut none), COFFER_ERR_NULL_POINTER);
    assert_eq!(
        coffer_keypair_from_pkcs8_der(RSA2048_PKCS8.as_ptr(), RSA2048_PKCS8.len(), null_mut()),
        COFFER_ERR_NULL_POINTER
    );
}
