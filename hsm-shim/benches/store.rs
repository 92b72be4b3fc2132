//! Keystore v2 on real stores: SQLite (`synchronous=FULL`) and PostgreSQL
//! (a server this bench starts), at 1k / 10k / 100k keys: key create, seal
//! 1 KiB by handle, login, opening the store; then seal-by-handle
//! throughput with 1, 4 and 16 concurrent clients (threads, each with its
//! own connection). Every operation commits its audit record durably.
//!
//! `cargo bench -p coffer-hsm --bench store` (PostgreSQL needs Debian's
//! `postgresql` package; without it only SQLite is measured).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use coffer_core::envelope::EncryptionContext;
use coffer_core::rng::OsRng;
use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::{
    Config, Hsm, KeyAttributes, KeyType, MemoryStorage, RecordStore, Role, SystemClock, Usage, V1_USER,
};
use coffer_store::testing::PostgresServer;
use coffer_store::{PostgresStore, SqliteGroup, SqliteStore};

use common::MASTER;
const PIN_ITERATIONS: u32 = 10_000;

#[derive(Clone)]
enum Loc {
    Sqlite(PathBuf),
    /// The clients (threads) share one connection with group commit.
    SqliteGroup(SqliteGroup),
    Postgres(String),
}

impl Loc {
    fn connect(&self) -> Box<dyn RecordStore + Send> {
        match self {
            Loc::Sqlite(p) => Box::new(SqliteStore::open(p).unwrap()),
            Loc::SqliteGroup(g) => Box::new(g.handle()),
            Loc::Postgres(u) => Box::new(PostgresStore::connect(u).unwrap()),
        }
    }
    fn open(&self) -> Hsm {
        common::open_hsm(self.connect())
    }
}

fn attrs(i: u32) -> KeyAttributes {
    KeyAttributes {
        label: format!("key {i}"),
        tenant: "bench".into(),
        key_id: format!("kek-{i:06}"),
        usage: Usage::ENCRYPT | Usage::DECRYPT,
        extractable: false,
        active: true,
    }
}

/// A v1 snapshot with `n` keys, built in memory and imported into the store
/// in one transaction (fast set-up; the measured operations come after).
/// The import makes the user PIN the credential [`V1_USER`] again.
fn populate(loc: &Loc, n: u32) {
    let config = Config { pin_iterations: PIN_ITERATIONS, ..Config::default() };
    let mut hsm = Hsm::new(1, config, Box::new(SystemClock)).unwrap();
    hsm.init_token(&mut OsRng, 0, "bench", b"so-pin-123456").unwrap();
    let so = hsm.login_so(0, b"so-pin-123456").unwrap();
    hsm.create_tenant(&mut OsRng, so, "bench").unwrap();
    hsm.create_user(&mut OsRng, so, V1_USER, Role::User, &["bench"], b"user-pin-123456").unwrap();
    let s = hsm.login(0, V1_USER, b"user-pin-123456", Some("bench")).unwrap();
    for i in 0..n {
        hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs(i)).unwrap();
    }
    let master = MasterKey::from_bytes(MASTER);
    let mut file = MemoryStorage::new();
    hsm.save(&mut OsRng, so, &mut file, &KeySource::MasterKey(&master)).unwrap();
    Hsm::import_v1(
        &mut OsRng,
        &mut file,
        &KeySource::MasterKey(&master),
        None,
        loc.connect(),
        &KeySource::MasterKey(&master),
        Box::new(SystemClock),
    )
    .unwrap();
}

fn ms(d: Duration, n: u32) -> f64 {
    d.as_secs_f64() * 1e3 / f64::from(n)
}

fn row(name: &str, loc: &Loc, n: u32) {
    populate(loc, n);
    // The first open after the bulk import pays for SQLite reading the
    // freshly checkpointed file; report it apart from an ordinary open.
    let t = Instant::now();
    drop(loc.open());
    let first_open = t.elapsed();
    let t = Instant::now();
    let mut hsm = loc.open();
    let open = t.elapsed();
    let t = Instant::now();
    let s = hsm.login(0, V1_USER, b"user-pin-123456", Some("bench")).unwrap();
    let login = t.elapsed();
    let creates = 1000;
    let t = Instant::now();
    for i in 0..creates {
        hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs(n + i)).unwrap();
    }
    let create = t.elapsed();
    let h = hsm.find(s, "kek-000000").unwrap();
    let ctx = EncryptionContext::new();
    let seals = 1000;
    let t = Instant::now();
    for _ in 0..seals {
        hsm.seal_envelope(&mut OsRng, s, h, &ctx, &[0u8; 1024]).unwrap();
    }
    let seal = t.elapsed();
    println!(
        "| {name} | {n} | {:.2} ms | {:.3} ms ({:.0}/s) | {:.1} ms | {:.2} ms | {:.1} ms |",
        ms(create, creates),
        ms(seal, seals),
        f64::from(seals) / seal.as_secs_f64(),
        login.as_secs_f64() * 1e3,
        open.as_secs_f64() * 1e3,
        first_open.as_secs_f64() * 1e3,
    );
}

/// Seal 1 KiB by handle from `clients` threads for `secs` seconds.
fn throughput(loc: &Loc, clients: usize, secs: u64) -> f64 {
    let loc = loc.clone();
    common::throughput(clients, secs as f64, move |_| {
        let mut hsm = loc.open();
        let s = hsm.login(0, V1_USER, b"user-pin-123456", Some("bench")).unwrap();
        let h = hsm.find(s, "kek-000000").unwrap();
        let ctx = EncryptionContext::new();
        move || drop(hsm.seal_envelope(&mut OsRng, s, h, &ctx, &[0u8; 1024]).unwrap())
    })
}

fn main() {
    let dir = std::env::temp_dir().join(format!("coffer-bench-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = PostgresServer::start().unwrap_or(None);
    let sizes = [1_000u32, 10_000, 100_000];
    println!(
        "| store | keys | key create | seal 1 KiB by handle | login (PBKDF2 {PIN_ITERATIONS}) | open store | first open after the import |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for n in sizes {
        row("SQLite", &Loc::Sqlite(dir.join(format!("s{n}.db"))), n);
        if let Some(pg) = &server {
            // One database per size: the bench drops nothing, so use a fresh server schema each time.
            let url = pg.url();
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.batch_execute("DROP TABLE IF EXISTS coffer_records").unwrap();
            row("PostgreSQL", &Loc::Postgres(url), n);
        }
    }
    println!();
    println!("| store (10,000 keys) | 1 client | 4 clients | 16 clients |");
    println!("| --- | ---: | ---: | ---: |");
    let sqlite = Loc::Sqlite(dir.join("s10000.db"));
    let t: Vec<f64> = [1, 4, 16].iter().map(|&c| throughput(&sqlite, c, 5)).collect();
    println!("| SQLite, a connection per client, seals/s | {:.0} | {:.0} | {:.0} |", t[0], t[1], t[2]);
    let group = Loc::SqliteGroup(SqliteGroup::open(&dir.join("s10000.db")).unwrap());
    let t: Vec<f64> = [1, 4, 16].iter().map(|&c| throughput(&group, c, 5)).collect();
    println!(
        "| SQLite, clients share one group-commit connection, seals/s | {:.0} | {:.0} | {:.0} |",
        t[0], t[1], t[2]
    );
    drop(group);
    if let Some(pg) = &server {
        let mut c = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
        c.batch_execute("DROP TABLE IF EXISTS coffer_records").unwrap();
        let loc = Loc::Postgres(pg.url());
        populate(&loc, 10_000);
        let t: Vec<f64> = [1, 4, 16].iter().map(|&c| throughput(&loc, c, 5)).collect();
        println!("| PostgreSQL, seals/s | {:.0} | {:.0} | {:.0} |", t[0], t[1], t[2]);
    }
    std::fs::remove_dir_all(&dir).ok();
}
