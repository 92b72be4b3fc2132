//! Scaling with threads: operations by handle on one keystore (one SQLite
//! file) from 1, 2 and 4 threads at once, each thread with its own `Hsm`
//! (its own connection) and its own keys, so nothing but the store is
//! shared. Every operation is one committed transaction with its `KeyUsed`
//! audit record; the crypto runs after the transaction, outside any lock.
//!
//! `cargo bench -p coffer-hsm --bench threads -- [seconds] [normal|full|group|group-normal]`
//! (add `--features aws-lc` for the aws-lc provider)
//!
//! `seconds` (default 3) per measurement, after one second of warm-up.
//! The store: `normal` (the default) gives each thread its own SQLite
//! connection with `synchronous=NORMAL` (the WAL is fsynced at checkpoints,
//! so the disk does not hide the crypto); `full` the same with
//! `synchronous=FULL`; `group` has the threads share one `SqliteGroup`
//! connection (`synchronous=FULL`, group commit); `group-normal` the same
//! with `synchronous=NORMAL`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

mod common;

use std::path::PathBuf;

use coffer_core::envelope::EncryptionContext;
use coffer_core::rng::OsRng;
use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::{Config, Hsm, KeyAttributes, KeyType, Role, SessionId, SystemClock, Usage};
use coffer_store::{SqliteGroup, SqliteOptions, SqliteStore, Synchronous};

use common::MASTER;
const THREADS: [usize; 3] = [1, 2, 4];
const USER_PIN: &[u8] = b"user-pin-123456";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    SealKek,
    OpenKek,
    OpenRsa,
    SignP256,
    SignRsa,
}

impl Op {
    const ALL: [Op; 5] = [Op::SealKek, Op::OpenKek, Op::OpenRsa, Op::SignP256, Op::SignRsa];

    fn name(self) -> &'static str {
        match self {
            Op::SealKek => "seal 1 KiB, AES-256 KEK",
            Op::OpenKek => "open 1 KiB, AES-256 KEK",
            Op::OpenRsa => "open 1 KiB, RSA-2048 OAEP recipient",
            Op::SignP256 => "sign, ECDSA P-256",
            Op::SignRsa => "sign, RSA-2048 PSS",
        }
    }

    /// The key this operation uses in thread `t`, and how it is made.
    fn key(self, t: usize) -> (String, KeyType, Usage) {
        match self {
            Op::SealKek | Op::OpenKek => {
                (format!("kek-{t}"), KeyType::Aes256, Usage::ENCRYPT | Usage::DECRYPT)
            }
            Op::OpenRsa => (format!("rsa-oaep-{t}"), KeyType::Rsa2048, Usage::ENCRYPT | Usage::DECRYPT),
            Op::SignP256 => (format!("p256-{t}"), KeyType::P256, Usage::SIGN | Usage::VERIFY),
            Op::SignRsa => (format!("rsa-pss-{t}"), KeyType::Rsa2048, Usage::SIGN | Usage::VERIFY),
        }
    }
}

fn options(sync: Synchronous) -> SqliteOptions {
    SqliteOptions { synchronous: sync, ..SqliteOptions::default() }
}

/// Where the threads' `Hsm`s keep their records.
#[derive(Clone)]
enum Store {
    /// A connection per thread.
    Own(PathBuf, Synchronous),
    /// One connection shared with group commit.
    Group(SqliteGroup),
}

impl Store {
    fn connect(&self) -> Box<dyn coffer_hsm::RecordStore + Send> {
        match self {
            Store::Own(path, sync) => Box::new(SqliteStore::open_with(path, options(*sync)).unwrap()),
            Store::Group(g) => Box::new(g.handle()),
        }
    }

    fn open(&self) -> Hsm {
        common::open_hsm(self.connect())
    }
}

fn login(hsm: &mut Hsm) -> SessionId {
    hsm.login(0, "user", USER_PIN, Some("bench")).unwrap()
}

/// A keystore with one key per operation and thread (so threads never
/// share a key).
fn set_up(store: &Store) {
    let config = Config { pin_iterations: 10_000, ..Config::default() };
    let store = store.connect();
    let master = MasterKey::from_bytes(MASTER);
    let mut hsm =
        Hsm::create(&mut OsRng, store, &KeySource::MasterKey(&master), 1, config, Box::new(SystemClock))
            .unwrap();
    hsm.init_token(&mut OsRng, 0, "bench", b"so-pin-123456").unwrap();
    let so = hsm.login_so(0, b"so-pin-123456").unwrap();
    hsm.create_tenant(&mut OsRng, so, "bench").unwrap();
    hsm.create_user(&mut OsRng, so, "user", Role::User, &["bench"], USER_PIN).unwrap();
    let s = login(&mut hsm);
    for t in 0..THREADS[THREADS.len() - 1] {
        for op in [Op::SealKek, Op::OpenRsa, Op::SignP256, Op::SignRsa] {
            let (key_id, key_type, usage) = op.key(t);
            let attrs = KeyAttributes {
                label: key_id.clone(),
                tenant: "bench".into(),
                key_id,
                usage,
                extractable: false,
                active: true,
            };
            hsm.generate(&mut OsRng, s, key_type, attrs).unwrap();
        }
    }
}

/// `op` from `threads` threads for `secs` seconds: operations per second in all.
fn throughput(store: &Store, op: Op, threads: usize, secs: f64) -> f64 {
    let store = store.clone();
    common::throughput(threads, secs, move |t| {
        let mut hsm = store.open();
        let s = login(&mut hsm);
        let h = hsm.find(s, &op.key(t).0).unwrap();
        let mut ctx = EncryptionContext::new();
        ctx.insert(b"tenant", b"bench").unwrap();
        let data = [0x5au8; 1024];
        let sealed = match op {
            Op::OpenKek | Op::OpenRsa => hsm.seal_envelope(&mut OsRng, s, h, &ctx, &data).unwrap(),
            _ => Vec::new(),
        };
        move || match op {
            Op::SealKek => drop(hsm.seal_envelope(&mut OsRng, s, h, &ctx, &data).unwrap()),
            Op::OpenKek | Op::OpenRsa => drop(hsm.open_envelope(&mut OsRng, s, h, &ctx, &sealed).unwrap()),
            Op::SignP256 | Op::SignRsa => drop(hsm.sign(&mut OsRng, s, h, &data).unwrap()),
        }
    })
}

/// A fresh keystore for each operation: a token's audit log holds at most
/// a million records, fewer than all the operations together make.
fn store_for(mode: &str, path: &std::path::Path) -> (Store, &'static str) {
    let path = path.to_path_buf();
    match mode {
        "full" => (Store::Own(path, Synchronous::Full), "a SQLite connection per thread, synchronous=FULL"),
        "group" => (
            Store::Group(SqliteGroup::open_with(&path, options(Synchronous::Full)).unwrap()),
            "one SqliteGroup connection shared by the threads (group commit), synchronous=FULL",
        ),
        "group-normal" => (
            Store::Group(SqliteGroup::open_with(&path, options(Synchronous::Normal)).unwrap()),
            "one SqliteGroup connection shared by the threads (group commit), synchronous=NORMAL",
        ),
        _ => (Store::Own(path, Synchronous::Normal), "a SQLite connection per thread, synchronous=NORMAL"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let mode = args.next().unwrap_or_else(|| "normal".into());
    let dir: PathBuf = std::env::temp_dir().join(format!("coffer-bench-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let described = store_for(&mode, &dir.join("probe.db")).1;
    println!(
        "# coffer-hsm, operations by handle from 1, 2 and 4 threads; provider {}; {described}; {secs} s each",
        coffer_core::provider::ACTIVE.name()
    );
    println!();
    println!("| operation | 1 thread | 2 threads | 4 threads | 2 threads / 1 |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (i, op) in Op::ALL.into_iter().enumerate() {
        let (store, _) = store_for(&mode, &dir.join(format!("keystore-{i}.db")));
        set_up(&store);
        let rates: Vec<f64> = THREADS.iter().map(|&n| throughput(&store, op, n, secs)).collect();
        println!(
            "| {} | {:.0} /s | {:.0} /s | {:.0} /s | {:.2}× |",
            op.name(),
            rates[0],
            rates[1],
            rates[2],
            rates[1] / rates[0]
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
