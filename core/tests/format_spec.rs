//! Statements of core/FORMAT.md that the other tests do not pin down:
//! §3.1's two endings of a plaintext that fills its chunks exactly (coffer's
//! sealers end on a full final chunk; an empty final chunk after full ones,
//! which the chunk-by-chunk sealer lets a caller write, opens too), and
//! §3.1's rule that a remainder shorter than a tag is a decryption failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use coffer_core::Error;
use coffer_core::envelope::{self, EncryptionContext, Recipient, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::rng::OsRng;

const CHUNK: usize = 256;

#[test]
fn an_exact_multiple_ends_on_a_full_chunk_and_an_extra_empty_final_chunk_also_opens() {
    let kek = Kek::generate(&mut OsRng).unwrap();
    let to = [Recipient::Kek { key_id: b"k", version: 1, kek: &kek }];
    let keys = [UnlockKey::Kek { key_id: b"k", version: 1, kek: &kek }];
    let ctx = EncryptionContext::new();
    let plaintext = [0x5a_u8; 2 * CHUNK];

    // coffer's own sealer: two full chunks, the second final.
    let whole = envelope::seal_with_chunk_size(&mut OsRng, &to, &ctx, &plaintext, CHUNK as u32).unwrap();
    let header_len = envelope::header_len(&whole[..10]).unwrap();
    assert_eq!(whole.len() - header_len, 2 * (CHUNK + 16), "no empty chunk after the full ones");

    // The chunk-by-chunk sealer: two full non-final chunks and an empty final one.
    let mut header = vec![0u8; 4096];
    let (mut sealer, hl) = envelope::begin_seal(&mut OsRng, &to, &ctx, CHUNK as u32, &mut header).unwrap();
    let mut out = header[..hl].to_vec();
    for last_part in [false, false] {
        let mut buf = vec![0u8; CHUNK + 16];
        buf[..CHUNK].copy_from_slice(&plaintext[..CHUNK]);
        let n = sealer.seal_chunk(&mut buf, CHUNK, last_part).unwrap();
        out.extend_from_slice(&buf[..n]);
    }
    let mut buf = vec![0u8; 16];
    let n = sealer.seal_chunk(&mut buf, 0, true).unwrap();
    out.extend_from_slice(&buf[..n]);
    assert_eq!(out.len() - hl, 2 * (CHUNK + 16) + 16);
    assert_eq!(envelope::open(&mut OsRng, &keys, &ctx, &out).unwrap().as_slice(), &plaintext[..]);

    // A remainder shorter than a tag, or no payload: a decryption failure.
    for cut in [1, 15] {
        let short = &out[..out.len() - 16 + cut];
        assert_eq!(envelope::open(&mut OsRng, &keys, &ctx, short).unwrap_err(), Error::Decrypt, "{cut}");
    }
    assert_eq!(envelope::open(&mut OsRng, &keys, &ctx, &out[..hl]).unwrap_err(), Error::Decrypt);
}
