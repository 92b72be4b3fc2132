//! Signatures, key agreement, RSA decryption, the AEAD and envelopes, each
//! beside OpenSSL (`openssl speed`, run by this binary in the same run) or
//! beside the RustCrypto crate used directly. Prints Markdown tables for
//! BENCHMARKS.md.
//!
//! `cargo bench -p coffer-core --features std,rsa --bench speed -- [seconds]`
//! (add `,aws-lc` to the features for the aws-lc provider)
//!
//! `seconds` (default 1) is the time spent on each coffer measurement, in
//! three equal rounds whose median rate is reported; OpenSSL gets the same
//! time per algorithm. Without `openssl` on `PATH` its columns say so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::collections::HashMap;
use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use coffer_core::aead::{Aes256GcmSivKey, Nonce};
use coffer_core::envelope::{self, EncryptionContext, Recipient, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::p256::P256SecretKey;
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaPrivateKey;
use p256::ecdsa::signature::{Signer, Verifier};

const RSA2048: &[u8] = include_bytes!("../tests/data/rsa2048.pkcs8.der");
const RSA4096: &[u8] = include_bytes!("../tests/data/rsa4096.pkcs8.der");
const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// Operations per second of `op`: the median of three rounds of
/// `seconds / 3` each, after one call to warm up.
fn rate(seconds: f64, mut op: impl FnMut()) -> f64 {
    op();
    let round = seconds / 3.0;
    let mut rates: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            let mut n = 0u64;
            loop {
                // Check the clock every 8 calls: cheap beside a 1 µs op.
                for _ in 0..8 {
                    op();
                }
                n += 8;
                let t = start.elapsed().as_secs_f64();
                if t >= round {
                    break n as f64 / t;
                }
            }
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[1]
}

/// `openssl speed -mr` summary lines (`+F…`), split on `:`.
fn openssl_speed(args: &[&str], seconds: f64) -> Vec<Vec<String>> {
    let secs = format!("{}", seconds.ceil().max(1.0) as u64);
    let Ok(out) = Command::new("openssl").args(["speed", "-mr", "-seconds", &secs]).args(args).output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("+F"))
        .map(|l| l.split(':').map(str::to_owned).collect())
        .collect()
}

/// OpenSSL's figures by name: "rsa2048 sign", "ecdsa verify", "aes-gcm 1024" (bytes/s), ...
fn openssl_figures(seconds: f64) -> HashMap<String, f64> {
    let mut m = HashMap::new();
    let num = |s: &str| s.parse::<f64>().ok();
    for f in openssl_speed(&["rsa2048", "rsa4096", "ecdsap256", "ecdhp256"], seconds) {
        match (f[0].as_str(), f.get(2).map(String::as_str)) {
            // +F2:index:bits:sign/s:verify/s
            ("+F2", Some(bits)) => {
                if let (Some(s), Some(v)) = (num(&f[3]), num(&f[4])) {
                    m.insert(format!("rsa{bits} sign"), s);
                    m.insert(format!("rsa{bits} verify"), v);
                }
            }
            // +F4:index:bits:sign/s:verify/s
            ("+F4", Some("256")) => {
                if let (Some(s), Some(v)) = (num(&f[3]), num(&f[4])) {
                    m.insert("ecdsa sign".into(), s);
                    m.insert("ecdsa verify".into(), v);
                }
            }
            // +F5:index:bits:ops/s:s/op
            ("+F5", Some("256")) => {
                if let Some(s) = num(&f[3]) {
                    m.insert("ecdh".into(), s);
                }
            }
            _ => {}
        }
    }
    for size in [KIB, MIB] {
        let bytes = size.to_string();
        // +F:index:name:bytes/s
        if let Some(f) = openssl_speed(&["-evp", "aes-256-gcm", "-bytes", &bytes], seconds).first()
            && let Some(v) = f.get(3).and_then(|s| num(s))
        {
            m.insert(format!("aes-gcm {size}"), v);
        }
    }
    m
}

struct Table {
    title: &'static str,
    unit: &'static str,
    rows: Vec<(String, f64, String, Option<f64>)>,
}

impl Table {
    fn new(title: &'static str, unit: &'static str) -> Self {
        Table { title, unit, rows: Vec::new() }
    }

    fn row(&mut self, op: &str, coffer: f64, reference: &str, reference_rate: Option<f64>) {
        eprintln!("  {op}: {}", fmt(coffer, self.unit));
        self.rows.push((op.to_owned(), coffer, reference.to_owned(), reference_rate));
    }

    fn print(&self) {
        println!("\n## {}\n", self.title);
        println!("| operation | coffer | reference | reference rate | coffer / reference |");
        println!("| --- | ---: | --- | ---: | ---: |");
        for (op, c, r, rr) in &self.rows {
            let (rr, ratio) = match rr {
                Some(v) => (fmt(*v, self.unit), format!("{:.2}×", c / v)),
                None => ("not measured".into(), String::new()),
            };
            println!("| {op} | {} | {r} | {rr} | {ratio} |", fmt(*c, self.unit));
        }
    }
}

fn fmt(v: f64, unit: &str) -> String {
    match unit {
        "MB/s" => format!("{:.0} MB/s", v / 1e6),
        _ => {
            let n = v.round() as u64;
            let s = n.to_string();
            let mut out = String::new();
            for (i, ch) in s.chars().enumerate() {
                if i > 0 && (s.len() - i).is_multiple_of(3) {
                    out.push(',');
                }
                out.push(ch);
            }
            format!("{out} /s")
        }
    }
}

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let msg = b"webhook body: {\"event\":\"invoice.paid\",\"id\":42}";

    eprintln!("openssl speed ({seconds} s per algorithm) ...");
    let ossl = openssl_figures(seconds);
    let o = |k: &str| ossl.get(k).copied();

    eprintln!("P-256 ...");
    let mut ec = Table::new("P-256", "/s");
    let sk = P256SecretKey::generate(&mut OsRng).unwrap();
    let pk = sk.public_key();
    let sig = sk.sign(msg);
    let direct_sk = p256::ecdsa::SigningKey::from_slice(&sk.to_bytes()[..]).unwrap();
    let direct_vk = *direct_sk.verifying_key();
    let direct_sig: p256::ecdsa::Signature = direct_sk.sign(msg);
    let direct_sign = rate(seconds, || {
        let s: p256::ecdsa::Signature = direct_sk.sign(black_box(msg));
        black_box(s);
    });
    let direct_verify = rate(seconds, || {
        direct_vk.verify(black_box(msg), &direct_sig).unwrap();
    });
    let sign = rate(seconds, || {
        black_box(sk.sign(black_box(msg)));
    });
    ec.row("ECDSA sign (SHA-256)", sign, "OpenSSL `ecdsap256`", o("ecdsa sign"));
    ec.row("ECDSA sign (SHA-256)", sign, "`p256` crate, cached `SigningKey`", Some(direct_sign));
    let verify = rate(seconds, || {
        pk.verify(black_box(msg), &sig).unwrap();
    });
    ec.row("ECDSA verify", verify, "OpenSSL `ecdsap256`", o("ecdsa verify"));
    ec.row("ECDSA verify", verify, "`p256` crate, cached `VerifyingKey`", Some(direct_verify));
    let peer = P256SecretKey::generate(&mut OsRng).unwrap().public_key();
    let ecdh = rate(seconds, || {
        black_box(sk.diffie_hellman(black_box(&peer)));
    });
    ec.row("ECDH", ecdh, "OpenSSL `ecdhp256`", o("ecdh"));

    let mut rsa_table =
        Table::new("RSA (OpenSSL's `sign` is PKCS#1 v1.5; PSS costs the same private-key operation)", "/s");
    for (bits, der) in [(2048, RSA2048), (4096, RSA4096)] {
        eprintln!("RSA-{bits} ...");
        let key = RsaPrivateKey::from_pkcs8_der(der).unwrap();
        let public = key.public_key();
        let pss = key.sign_pss(&mut OsRng, msg).unwrap();
        let v15 = key.sign_pkcs1v15(&mut OsRng, msg).unwrap();
        let ct = public.oaep_encrypt(&mut OsRng, &[7u8; 32]).unwrap();
        let sign_ref = o(&format!("rsa{bits} sign"));
        let verify_ref = o(&format!("rsa{bits} verify"));
        let r = rate(seconds, || {
            black_box(key.sign_pss(&mut OsRng, black_box(msg)).unwrap());
        });
        rsa_table.row(&format!("RSA-{bits} PSS sign"), r, &format!("OpenSSL `rsa{bits}` sign"), sign_ref);
        let r = rate(seconds, || {
            black_box(key.sign_pkcs1v15(&mut OsRng, black_box(msg)).unwrap());
        });
        rsa_table.row(
            &format!("RSA-{bits} PKCS#1 v1.5 sign"),
            r,
            &format!("OpenSSL `rsa{bits}` sign"),
            sign_ref,
        );
        let r = rate(seconds, || {
            black_box(key.oaep_decrypt(&mut OsRng, black_box(&ct)).unwrap());
        });
        rsa_table.row(&format!("RSA-{bits} OAEP decrypt"), r, &format!("OpenSSL `rsa{bits}` sign"), sign_ref);
        let r = rate(seconds, || {
            public.verify_pss(black_box(msg), &pss).unwrap();
        });
        rsa_table.row(
            &format!("RSA-{bits} PSS verify"),
            r,
            &format!("OpenSSL `rsa{bits}` verify"),
            verify_ref,
        );
        let r = rate(seconds, || {
            public.verify_pkcs1v15(black_box(msg), &v15).unwrap();
        });
        rsa_table.row(
            &format!("RSA-{bits} PKCS#1 v1.5 verify"),
            r,
            &format!("OpenSSL `rsa{bits}` verify"),
            verify_ref,
        );
    }

    eprintln!("AEAD and envelopes ...");
    let mut sym = Table::new("AES-256-GCM-SIV and envelopes (one KEK recipient, 64 KiB chunks)", "MB/s");
    let key = Aes256GcmSivKey::generate(&mut OsRng).unwrap();
    let nonce = Nonce::from_bytes([9; 12]);
    let kek = Kek::generate(&mut OsRng).unwrap();
    let to = [Recipient::Kek { key_id: b"kek", version: 1, kek: &kek }];
    let unlock = [UnlockKey::Kek { key_id: b"kek", version: 1, kek: &kek }];
    let mut ctx = EncryptionContext::new();
    ctx.insert(b"tenant", b"acme").unwrap();
    for size in [KIB, MIB] {
        let label = if size == KIB { "1 KiB" } else { "1 MiB" };
        let data = vec![0x5au8; size];
        let mut buf = vec![0u8; size + 16];
        let seal = rate(seconds, || {
            buf[..size].copy_from_slice(&data);
            black_box(key.seal_in_place(&nonce, b"", &mut buf, size).unwrap());
        }) * size as f64;
        let sealed = key.seal(&nonce, b"", &data).unwrap();
        let open = rate(seconds, || {
            buf.copy_from_slice(&sealed);
            black_box(key.open_in_place(&nonce, b"", &mut buf).unwrap());
        }) * size as f64;
        let gcm = o(&format!("aes-gcm {size}"));
        sym.row(&format!("AEAD seal {label}"), seal, "OpenSSL AES-256-GCM (`-evp`)", gcm);
        sym.row(&format!("AEAD open {label}"), open, "OpenSSL AES-256-GCM (`-evp`)", gcm);
        let env_seal = rate(seconds, || {
            black_box(envelope::seal(&mut OsRng, &to, &ctx, black_box(&data)).unwrap());
        }) * size as f64;
        let env = envelope::seal(&mut OsRng, &to, &ctx, &data).unwrap();
        let env_open = rate(seconds, || {
            black_box(envelope::open(&mut OsRng, &unlock, &ctx, black_box(&env)).unwrap());
        }) * size as f64;
        sym.row(&format!("envelope seal {label}"), env_seal, "AEAD seal, same size", Some(seal));
        sym.row(&format!("envelope open {label}"), env_open, "envelope seal, same size", Some(env_seal));
    }

    println!(
        "# coffer speed, provider {}, {seconds} s per measurement",
        coffer_core::provider::ACTIVE.name()
    );
    ec.print();
    rsa_table.print();
    sym.print();
}
