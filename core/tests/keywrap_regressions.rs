//! Regressions found by fuzzing key wrapping (fuzz/regressions/keywrap_roundtrip).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use coffer_core::Error;
use coffer_core::keywrap::Kek;
use coffer_core::rng::OsRng;

/// `unwrap-failure-leaves-rest-of-out`: a failed unwrap into a buffer
/// longer than the key data zeroed only the part it used, though the docs
/// promise all of `out`; the rest kept the caller's earlier bytes.
#[test]
fn unwrap_failure_leaves_rest_of_out() {
    let kek = Kek::generate(&mut OsRng).unwrap();
    let wrapped = kek.wrap_to_vec(&[7u8; 32]).unwrap();
    let padded = kek.wrap_padded_to_vec(&[7u8; 20]).unwrap();
    let mut bad = wrapped.clone();
    bad[0] ^= 1;
    let mut bad_padded = padded.clone();
    bad_padded[0] ^= 1;
    let mut out = [0xaa_u8; 100];
    assert_eq!(kek.unwrap(&bad, &mut out), Err(Error::Decrypt));
    assert!(out.iter().all(|b| *b == 0), "kw: {out:?}");
    let mut out = [0xaa_u8; 100];
    assert_eq!(kek.unwrap_padded(&bad_padded, &mut out), Err(Error::Decrypt));
    assert!(out.iter().all(|b| *b == 0), "kwp: {out:?}");
    // A buffer too small is a failure too: zeroed, and the size named.
    let mut short = [0xaa_u8; 8];
    assert_eq!(kek.unwrap(&wrapped, &mut short), Err(Error::BufferTooSmall { needed: 32 }));
    assert!(short.iter().all(|b| *b == 0));
}
