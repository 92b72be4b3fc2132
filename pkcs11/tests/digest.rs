//! `C_Digest*` with `CKM_SHA256` and `C_GenerateRandom` through
//! `C_GetFunctionList`'s table: NIST vectors, agreement with coffer-core's
//! and the sha2 crate's SHA-256, the two-call size convention, and the
//! operation state of each session.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

#[macro_use]
mod common;

use std::ptr::null_mut;

use common::{Loaded, Token, serial};
use cryptoki_sys::*;
use sha2::Digest as _;

fn open() -> CK_SESSION_HANDLE {
    let mut session: CK_SESSION_HANDLE = 0;
    let flags = CKF_SERIAL_SESSION;
    assert_eq!(p11!(C_OpenSession(0, flags, null_mut(), None, &mut session)), CKR_OK);
    session
}

fn sha256_mechanism() -> CK_MECHANISM {
    CK_MECHANISM { mechanism: CKM_SHA256, pParameter: null_mut(), ulParameterLen: 0 }
}

fn init(session: CK_SESSION_HANDLE) -> CK_RV {
    let mut mech = sha256_mechanism();
    p11!(C_DigestInit(session, &mut mech))
}

/// The one-part digest of `data` in `session`.
fn digest(session: CK_SESSION_HANDLE, data: &[u8]) -> Vec<u8> {
    assert_eq!(init(session), CKR_OK);
    let mut input = data.to_vec();
    let mut out = [0u8; 32];
    let mut len = out.len() as CK_ULONG;
    let rv = p11!(C_Digest(session, input.as_mut_ptr(), input.len() as CK_ULONG, out.as_mut_ptr(), &mut len));
    assert_eq!(rv, CKR_OK);
    assert_eq!(len, 32);
    out.to_vec()
}

/// The multi-part digest of `parts` in `session`.
fn digest_parts(session: CK_SESSION_HANDLE, parts: &[&[u8]]) -> Vec<u8> {
    assert_eq!(init(session), CKR_OK);
    for part in parts {
        let mut part = part.to_vec();
        assert_eq!(p11!(C_DigestUpdate(session, part.as_mut_ptr(), part.len() as CK_ULONG)), CKR_OK);
    }
    let mut out = [0u8; 32];
    let mut len = out.len() as CK_ULONG;
    assert_eq!(p11!(C_DigestFinal(session, out.as_mut_ptr(), &mut len)), CKR_OK);
    assert_eq!(len, 32);
    out.to_vec()
}

#[test]
fn sha256_matches_the_fips_180_2_vectors() {
    let _serial = serial();
    let _token = Token::new("nist");
    let _loaded = Loaded::new();
    let s = open();
    // FIPS 180-2, Appendix B.1 and B.2.
    let abc = hex::decode("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad").unwrap();
    let two_blocks = hex::decode("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1").unwrap();
    let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_eq!(digest(s, b"abc"), abc);
    assert_eq!(digest(s, long), two_blocks);
    assert_eq!(digest_parts(s, &[b"a", b"", b"bc"]), abc);
    assert_eq!(digest_parts(s, &[&long[..20], &long[20..]]), two_blocks);
    // The empty message, with NULL data of length 0.
    let empty = hex::decode("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855").unwrap();
    assert_eq!(init(s), CKR_OK);
    let mut out = [0u8; 32];
    let mut len: CK_ULONG = 32;
    assert_eq!(p11!(C_Digest(s, null_mut(), 0, out.as_mut_ptr(), &mut len)), CKR_OK);
    assert_eq!(out.to_vec(), empty);
}

#[test]
fn sha256_agrees_with_coffer_core_and_sha2() {
    let _serial = serial();
    let _token = Token::new("agree");
    let _loaded = Loaded::new();
    let s = open();
    let data: Vec<u8> = (0..100_003u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let ours = digest(s, &data);
    assert_eq!(ours, coffer_core::hash::sha256(&data).to_vec());
    assert_eq!(ours, sha2::Sha256::digest(&data).to_vec());
    let parts: Vec<&[u8]> = data.chunks(4_099).collect();
    assert_eq!(digest_parts(s, &parts), ours);
}

#[test]
fn the_digest_length_follows_the_two_call_convention() {
    let _serial = serial();
    let _token = Token::new("two-call");
    let _loaded = Loaded::new();
    let s = open();
    let mut data = *b"abc";
    let expected = coffer_core::hash::sha256(b"abc");

    // C_Digest: a length query and a short buffer leave the operation active.
    assert_eq!(init(s), CKR_OK);
    let mut len: CK_ULONG = 0;
    assert_eq!(p11!(C_Digest(s, data.as_mut_ptr(), 3, null_mut(), &mut len)), CKR_OK);
    assert_eq!(len, 32);
    let mut short = [0u8; 31];
    len = 31;
    assert_eq!(p11!(C_Digest(s, data.as_mut_ptr(), 3, short.as_mut_ptr(), &mut len)), CKR_BUFFER_TOO_SMALL);
    assert_eq!(len, 32);
    let mut out = [0u8; 40];
    len = 40;
    assert_eq!(p11!(C_Digest(s, data.as_mut_ptr(), 3, out.as_mut_ptr(), &mut len)), CKR_OK);
    assert_eq!((len, &out[..32]), (32, &expected[..]));
    // ... and a successful C_Digest ends it.
    assert_eq!(
        p11!(C_Digest(s, data.as_mut_ptr(), 3, out.as_mut_ptr(), &mut len)),
        CKR_OPERATION_NOT_INITIALIZED
    );

    // C_DigestFinal: the same.
    assert_eq!(init(s), CKR_OK);
    assert_eq!(p11!(C_DigestUpdate(s, data.as_mut_ptr(), 3)), CKR_OK);
    len = 0;
    assert_eq!(p11!(C_DigestFinal(s, null_mut(), &mut len)), CKR_OK);
    assert_eq!(len, 32);
    len = 8;
    assert_eq!(p11!(C_DigestFinal(s, short.as_mut_ptr(), &mut len)), CKR_BUFFER_TOO_SMALL);
    assert_eq!(len, 32);
    len = 32;
    assert_eq!(p11!(C_DigestFinal(s, out.as_mut_ptr(), &mut len)), CKR_OK);
    assert_eq!(&out[..32], &expected[..]);
    assert_eq!(p11!(C_DigestFinal(s, out.as_mut_ptr(), &mut len)), CKR_OPERATION_NOT_INITIALIZED);

    // A NULL length pointer is refused (and, as any failure, ends the operation).
    assert_eq!(init(s), CKR_OK);
    assert_eq!(p11!(C_Digest(s, data.as_mut_ptr(), 3, out.as_mut_ptr(), null_mut())), CKR_ARGUMENTS_BAD);
    assert_eq!(p11!(C_DigestFinal(s, out.as_mut_ptr(), &mut len)), CKR_OPERATION_NOT_INITIALIZED);
}

#[test]
fn digest_operations_are_per_session_and_checked() {
    let _serial = serial();
    let _token = Token::new("operations");
    let _loaded = Loaded::new();
    let a = open();
    let b = open();
    let mut out = [0u8; 32];
    let mut len: CK_ULONG = 32;
    let mut data = *b"abc";

    assert_eq!(p11!(C_DigestUpdate(a, data.as_mut_ptr(), 3)), CKR_OPERATION_NOT_INITIALIZED);
    assert_eq!(p11!(C_DigestFinal(a, out.as_mut_ptr(), &mut len)), CKR_OPERATION_NOT_INITIALIZED);
    assert_eq!(
        p11!(C_Digest(a, data.as_mut_ptr(), 3, out.as_mut_ptr(), &mut len)),
        CKR_OPERATION_NOT_INITIALIZED
    );

    let mut wrong = CK_MECHANISM { mechanism: CKM_SHA_1, pParameter: null_mut(), ulParameterLen: 0 };
    assert_eq!(p11!(C_DigestInit(a, &mut wrong)), CKR_MECHANISM_INVALID);
    let mut param = 0u8;
    let mut with_param = CK_MECHANISM {
        mechanism: CKM_SHA256,
        pParameter: std::ptr::from_mut(&mut param).cast(),
        ulParameterLen: 1,
    };
    assert_eq!(p11!(C_DigestInit(a, &mut with_param)), CKR_MECHANISM_PARAM_INVALID);
    assert_eq!(p11!(C_DigestInit(a, null_mut())), CKR_ARGUMENTS_BAD);

    // Two sessions, two operations.
    assert_eq!(init(a), CKR_OK);
    assert_eq!(init(a), CKR_OPERATION_ACTIVE);
    assert_eq!(init(b), CKR_OK);
    assert_eq!(p11!(C_DigestUpdate(a, data.as_mut_ptr(), 1)), CKR_OK);
    assert_eq!(p11!(C_DigestUpdate(b, data.as_mut_ptr(), 3)), CKR_OK);
    assert_eq!(p11!(C_DigestUpdate(a, data[1..].as_mut_ptr(), 2)), CKR_OK);
    // C_Digest cannot finish a multi-part operation; it stays for C_DigestFinal.
    assert_eq!(p11!(C_Digest(a, data.as_mut_ptr(), 3, out.as_mut_ptr(), &mut len)), CKR_OPERATION_ACTIVE);
    assert_eq!(p11!(C_DigestFinal(a, out.as_mut_ptr(), &mut len)), CKR_OK);
    let from_a = out;
    assert_eq!(p11!(C_DigestFinal(b, out.as_mut_ptr(), &mut len)), CKR_OK);
    assert_eq!(from_a, out);
    assert_eq!(out, coffer_core::hash::sha256(b"abc"));

    // NULL data with a length is refused and ends the operation.
    assert_eq!(init(a), CKR_OK);
    assert_eq!(p11!(C_DigestUpdate(a, null_mut(), 3)), CKR_ARGUMENTS_BAD);
    assert_eq!(p11!(C_DigestUpdate(a, data.as_mut_ptr(), 3)), CKR_OPERATION_NOT_INITIALIZED);

    // Closing a session drops its operation.
    assert_eq!(init(b), CKR_OK);
    assert_eq!(p11!(C_CloseSession(b)), CKR_OK);
    assert_eq!(p11!(C_DigestUpdate(b, data.as_mut_ptr(), 3)), CKR_SESSION_HANDLE_INVALID);
}

#[test]
fn generate_random_fills_the_buffer_and_seeding_is_not_supported() {
    let _serial = serial();
    let _token = Token::new("random");
    let _loaded = Loaded::new();
    let s = open();
    let mut a = [0u8; 64];
    let mut b = [0u8; 64];
    assert_eq!(p11!(C_GenerateRandom(s, a.as_mut_ptr(), 64)), CKR_OK);
    assert_eq!(p11!(C_GenerateRandom(s, b.as_mut_ptr(), 64)), CKR_OK);
    assert_ne!(a, [0u8; 64]);
    assert_ne!(a, b);
    assert_eq!(p11!(C_GenerateRandom(s, null_mut(), 0)), CKR_OK);
    assert_eq!(p11!(C_GenerateRandom(s, null_mut(), 16)), CKR_ARGUMENTS_BAD);
    assert_eq!(p11!(C_SeedRandom(s, a.as_mut_ptr(), 64)), CKR_RANDOM_SEED_NOT_SUPPORTED);
}

#[test]
fn sessions_in_several_threads_digest_at_once() {
    let _serial = serial();
    let _token = Token::new("threads");
    let _loaded = Loaded::new();
    let workers: Vec<_> = (0..4u8)
        .map(|n| {
            std::thread::spawn(move || {
                let s = open();
                for round in 0..50u8 {
                    let data = [n, round, 0x5a];
                    let expected = coffer_core::hash::sha256(&data).to_vec();
                    assert_eq!(digest(s, &data), expected);
                    assert_eq!(digest_parts(s, &[&data[..1], &data[1..]]), expected);
                    let mut random = [0u8; 16];
                    assert_eq!(p11!(C_GenerateRandom(s, random.as_mut_ptr(), 16)), CKR_OK);
                }
                assert_eq!(p11!(C_CloseSession(s)), CKR_OK);
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
}
