//! Scale: lookup and operation cost with 10,000 and 100,000 keys in one
//! token, and keystore save/load time at those sizes.
//!
//! `cargo bench -p coffer-hsm --bench scale`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::time::{Duration, Instant};

use coffer_core::envelope::EncryptionContext;
use coffer_core::rng::OsRng;
use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::{Config, Hsm, KeyAttributes, KeyType, MemoryStorage, Role, SystemClock, Usage};

fn per_op(total: Duration, n: u32) -> String {
    format!("{:.2} µs", total.as_secs_f64() * 1e6 / f64::from(n))
}

fn main() {
    println!(
        "| keys in token | find by key id | seal 64 B envelope by handle | keystore save | keystore load | sealed size |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for n in [1_000u32, 10_000, 100_000] {
        let config = Config { pin_iterations: 10_000, ..Config::default() };
        let mut hsm = Hsm::new(1, config, Box::new(SystemClock)).unwrap();
        hsm.init_token(&mut OsRng, 0, "bench", b"so-pin-123456").unwrap();
        let so = hsm.login_so(0, b"so-pin-123456").unwrap();
        hsm.create_tenant(&mut OsRng, so, "bench").unwrap();
        hsm.create_user(&mut OsRng, so, "user", Role::User, &["bench"], b"user-pin-123456").unwrap();
        let s = hsm.login(0, "user", b"user-pin-123456", Some("bench")).unwrap();
        let mut handles = Vec::with_capacity(n as usize);
        for i in 0..n {
            let attrs = KeyAttributes {
                label: format!("key {i}"),
                tenant: "bench".into(),
                key_id: format!("kek-{i:06}"),
                usage: Usage::ENCRYPT | Usage::DECRYPT,
                extractable: false,
                active: true,
            };
            handles.push(hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs).unwrap());
        }
        let probes = 20_000u32;
        let t = Instant::now();
        for i in 0..probes {
            let id = format!("kek-{:06}", (i * 7919) % n);
            std::hint::black_box(hsm.find(s, &id).unwrap());
        }
        let find = t.elapsed();
        let ctx = EncryptionContext::new();
        let ops = 5_000u32;
        let t = Instant::now();
        for i in 0..ops {
            let h = handles[((i * 7919) % n) as usize];
            std::hint::black_box(hsm.seal_envelope(&mut OsRng, s, h, &ctx, &[0u8; 64]).unwrap());
        }
        let seal = t.elapsed();
        let master = MasterKey::generate(&mut OsRng).unwrap();
        let source = KeySource::MasterKey(&master);
        let mut storage = MemoryStorage::new();
        let t = Instant::now();
        hsm.save(&mut OsRng, so, &mut storage, &source).unwrap();
        let save = t.elapsed();
        let size = coffer_hsm::Storage::read(&mut storage).unwrap().unwrap().len();
        let t = Instant::now();
        let loaded = Hsm::load(&mut storage, &source, None, Box::new(SystemClock)).unwrap();
        let load = t.elapsed();
        drop(loaded);
        println!(
            "| {n} | {} | {} | {:.0} ms | {:.0} ms | {:.1} MB |",
            per_op(find, probes),
            per_op(seal, ops),
            save.as_secs_f64() * 1e3,
            load.as_secs_f64() * 1e3,
            size as f64 / 1e6
        );
    }
}
