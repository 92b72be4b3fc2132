//! Where the time of a small envelope goes: each step `envelope::seal` takes
//! for one KEK recipient, timed alone through the public API, beside the
//! whole seal and the bare AEAD; and what dropping a 1 MiB plaintext costs.
//! Prints a Markdown table for BENCHMARKS.md.
//!
//! `cargo bench -p coffer-core --features std,rsa --bench envelope_parts -- [iterations]`
//! (default 200,000 per step; the median of five rounds is shown).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::hint::black_box;
use std::time::Instant;

use coffer_core::aead::{Aes256GcmSivKey, Nonce};
use coffer_core::envelope::{self, EncryptionContext, Recipient};
use coffer_core::kdf::Prk;
use coffer_core::keywrap::Kek;
use coffer_core::rng::OsRng;
use rand_core::TryRng;

/// Nanoseconds per call of `op`: the median of five rounds of `n` calls.
fn ns(n: u32, mut op: impl FnMut()) -> f64 {
    for _ in 0..n / 100 + 1 {
        op();
    }
    let mut rounds: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                op();
            }
            t.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[2]
}

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let mut rows: Vec<(&str, f64)> = Vec::new();
    let mut b64 = [0u8; 64];
    rows.push((
        "OS RNG, 64 bytes (the DEK and the salt, one getrandom call)",
        ns(n, || {
            OsRng.try_fill_bytes(black_box(&mut b64)).unwrap();
        }),
    ));
    let kek = Kek::generate(&mut OsRng).unwrap();
    let dek = [7u8; 32];
    let mut wrapped = [0u8; 40];
    rows.push((
        "AES-KW wrap of the 32-byte DEK (RFC 3394: 24 AES blocks in sequence)",
        ns(n, || {
            kek.wrap(black_box(&dek), &mut wrapped).unwrap();
        }),
    ));
    rows.push((
        "HKDF-SHA-256 through `Prk`: extract, two expansions (the envelope keys HMAC once less)",
        ns(n, || {
            let prk = Prk::extract(Some(&[1u8; 32]), black_box(&dek));
            let mut k = [0u8; 32];
            prk.expand(b"coffer/v1 payload key", &mut k).unwrap();
            prk.expand(b"coffer/v1 key commitment", &mut k).unwrap();
            black_box(k);
        }),
    ));
    let header = [3u8; 120];
    rows.push((
        "SHA-256 of a 120-byte header (the payload AAD)",
        ns(n, || {
            black_box(coffer_core::hash::sha256(black_box(&header)));
        }),
    ));
    let key = Aes256GcmSivKey::generate(&mut OsRng).unwrap();
    let nonce = Nonce::from_bytes([9; 12]);
    let mut empty = [0u8; 16];
    rows.push((
        "AES-256-GCM-SIV seal of 0 bytes (key setup and tag only)",
        ns(n, || {
            black_box(key.seal_in_place(&nonce, b"", &mut empty, 0).unwrap());
        }),
    ));
    let mut buf = vec![0u8; 1024 + 16];
    let aead = ns(n, || {
        black_box(key.seal_in_place(&nonce, b"", &mut buf, 1024).unwrap());
    });
    rows.push(("AES-256-GCM-SIV seal of 1 KiB (the bare AEAD)", aead));
    let to = [Recipient::Kek { key_id: b"kek", version: 1, kek: &kek }];
    let mut ctx = EncryptionContext::new();
    ctx.insert(b"tenant", b"acme").unwrap();
    let plain = [0x5au8; 1024];
    let whole = ns(n, || {
        black_box(envelope::seal(&mut OsRng, &to, &ctx, black_box(&plain)).unwrap());
    });
    rows.push(("envelope::seal of 1 KiB, one KEK recipient (all of the above and the header)", whole));

    let big = vec![7u8; 1 << 20];
    let m = (n / 100).max(100);
    let zeroizing = ns(m, || drop(zeroize::Zeroizing::new(black_box(big.clone()))));
    let plain_drop = ns(m, || drop(black_box(big.clone())));
    let slice_wipe = ns(m, || {
        let mut v = black_box(big.clone());
        zeroize::Zeroize::zeroize(v.as_mut_slice());
        drop(v);
    });
    let secret_bytes = ns(m, || drop(coffer_core::SecretBytes::from(black_box(big.clone()))));

    println!("# envelope_parts, {n} calls per round, median of 5 rounds\n");
    println!("| step | ns |");
    println!("| --- | ---: |");
    for (step, t) in &rows {
        println!("| {step} | {t:.0} |");
    }
    println!("\nenvelope seal 1 KiB / bare AEAD 1 KiB: {:.2}x\n", whole / aead);
    println!("| 1 MiB plaintext (a copy made, then dropped) | us |");
    println!("| --- | ---: |");
    println!("| `Zeroizing<Vec<u8>>` (zeroize 1.9 wipes a Vec byte by byte) | {:.0} |", zeroizing / 1000.0);
    println!("| `Vec<u8>`, not wiped | {:.0} |", plain_drop / 1000.0);
    println!("| `Vec<u8>`, its slice wiped by `Zeroize` (one bulk write) | {:.0} |", slice_wipe / 1000.0);
    println!("| `coffer_core::SecretBytes` (what `envelope::open` returns) | {:.0} |", secret_bytes / 1000.0);
}
