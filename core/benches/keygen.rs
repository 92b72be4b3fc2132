//! Key generation and AEAD throughput, side by side with OpenSSL in the same
//! run. Prints a Markdown table for BENCHMARKS.md.
//!
//! `cargo bench -p coffer-core --features std,rsa --bench keygen -- [runs]`
//! (default 11 runs per key size; RSA-4096 uses the same count).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::process::Command;
use std::time::{Duration, Instant};

use coffer_core::aead::{Aes256GcmSivKey, Nonce};
use coffer_core::cert::{KeyAlgorithm, KeyPair};
use coffer_core::envelope::{self, EncryptionContext, Recipient};
use coffer_core::keywrap::Kek;
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaKeySize;

struct Stats {
    min: Duration,
    median: Duration,
    max: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    Stats { min: samples[0], median: samples[samples.len() / 2], max: samples[samples.len() - 1] }
}

fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v < 10.0 { format!("{v:.3}") } else { format!("{v:.1}") }
}

fn time_coffer(alg: KeyAlgorithm, runs: usize) -> Stats {
    stats(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let k = KeyPair::generate(&mut OsRng, alg).expect("keygen");
                // Include deriving the public key, as openssl genpkey does.
                let pk = k.public_key();
                let d = t.elapsed();
                drop(pk);
                drop(k);
                d
            })
            .collect(),
    )
}

fn time_openssl(args: &[&str], runs: usize) -> Option<Stats> {
    let mut samples = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let out = Command::new("openssl").args(args).args(["-out", "/dev/null"]).output().ok()?;
        if !out.status.success() {
            return None;
        }
        samples.push(t.elapsed());
    }
    Some(stats(samples))
}

/// The cost of starting `openssl` at all, to read the genpkey numbers fairly.
fn openssl_startup(runs: usize) -> Option<Stats> {
    time_openssl(&["rand", "-hex", "1"], runs)
}

fn openssl_aes_gcm_mb_s() -> Option<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-evp", "aes-256-gcm", "-bytes", "1048576", "-seconds", "2"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // Last line: "AES-256-GCM  <throughput>k" in 1000s of bytes per second.
    let line = text.lines().rev().find(|l| l.to_ascii_lowercase().starts_with("aes-256-gcm"))?;
    let k: f64 = line.split_whitespace().last()?.trim_end_matches('k').parse().ok()?;
    Some(k * 1000.0 / 1e6)
}

fn coffer_throughput_mb_s(mut f: impl FnMut(), bytes: usize) -> f64 {
    f();
    let t = Instant::now();
    let mut n = 0usize;
    while t.elapsed() < Duration::from_secs(2) {
        f();
        n += 1;
    }
    (n * bytes) as f64 / t.elapsed().as_secs_f64() / 1e6
}

fn main() {
    let runs: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(11);
    println!("| key | coffer min / median / max (ms) | openssl genpkey min / median / max (ms) |");
    println!("| --- | ---: | ---: |");
    let cases = [
        (
            "RSA-2048",
            KeyAlgorithm::Rsa(RsaKeySize::Rsa2048),
            vec!["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ),
        (
            "RSA-3072",
            KeyAlgorithm::Rsa(RsaKeySize::Rsa3072),
            vec!["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
        ),
        (
            "RSA-4096",
            KeyAlgorithm::Rsa(RsaKeySize::Rsa4096),
            vec!["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
        ),
        (
            "P-256",
            KeyAlgorithm::P256,
            vec!["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
    ];
    for (name, alg, args) in &cases {
        let c = time_coffer(*alg, runs);
        let o = time_openssl(args, runs);
        let o = o.map_or("openssl failed".to_owned(), |o| {
            format!("{} / {} / {}", ms(o.min), ms(o.median), ms(o.max))
        });
        println!("| {name} ({runs} runs) | {} / {} / {} | {o} |", ms(c.min), ms(c.median), ms(c.max));
    }
    // For the record: the `rsa` crate's own single-threaded generator, which
    // coffer uses without `std`.
    let single = stats(
        (0..runs.min(7))
            .map(|_| {
                let t = Instant::now();
                let k = rsa::PrivateKey::new(&mut OsRng, 4096).expect("keygen");
                let d = t.elapsed();
                drop(k);
                d
            })
            .collect(),
    );
    println!(
        "| RSA-4096, `rsa` crate single-threaded ({} runs) | {} / {} / {} | |",
        runs.min(7),
        ms(single.min),
        ms(single.median),
        ms(single.max)
    );
    if let Some(s) = openssl_startup(runs) {
        println!(
            "| (openssl process start-up, `openssl rand -hex 1`) | | {} / {} / {} |",
            ms(s.min),
            ms(s.median),
            ms(s.max)
        );
    }

    println!();
    println!("| 1 MiB messages | coffer (MB/s) | openssl speed (MB/s) |");
    println!("| --- | ---: | ---: |");
    let mib = 1 << 20;
    let key = Aes256GcmSivKey::generate(&mut OsRng).unwrap();
    let nonce = Nonce::from_bytes([0; 12]);
    let mut buf = vec![0u8; mib];
    let seal = coffer_throughput_mb_s(
        || {
            key.seal_in_place_detached(&nonce, b"", &mut buf).unwrap();
        },
        mib,
    );
    let ossl = openssl_aes_gcm_mb_s().map_or("n/a".to_owned(), |v| format!("{v:.0}"));
    println!("| AES-256-GCM-SIV seal (coffer) vs AES-256-GCM (openssl) | {seal:.0} | {ossl} |");
    let kek = Kek::generate(&mut OsRng).unwrap();
    let to = [Recipient::Kek { key_id: b"bench", version: 1, kek: &kek }];
    let ctx = EncryptionContext::new();
    let pt = vec![7u8; mib];
    let env = coffer_throughput_mb_s(
        || {
            envelope::seal(&mut OsRng, &to, &ctx, &pt).unwrap();
        },
        mib,
    );
    println!("| envelope seal, 64 KiB chunks, one KEK recipient | {env:.0} | |");
}
