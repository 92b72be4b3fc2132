//! Every backend against the `RecordStore` contract: the single-connection
//! suite, visibility across connections, exact counters under 16 threads
//! and 16 processes, SIGKILLed writers, and a full disk.
//!
//! Tests that need several processes run this binary again for exactly
//! themselves (`--exact`) with `COFFER_STORE_TEST_ROLE` set: the same test
//! function then plays the child's part and returns.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

#[path = "conformance/suite.rs"]
mod suite;
#[path = "conformance/support.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use coffer_store::testing::PostgresServer;
use coffer_store::{
    MemoryStore, PostgresOptions, PostgresStore, RecordStore, SQLITE_APPLICATION_ID, SQLITE_FORMAT_VERSION,
    SqliteGroup, SqliteOptions, SqliteStore, StoreError, Synchronous,
};
use support::{INCREMENTS, TempDir, WORKERS};

/// A server for this test, `None` (after a SKIPPED line) when PostgreSQL
/// is not installed outside CI.
fn postgres_server() -> Option<PostgresServer> {
    match PostgresServer::start() {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

fn short_wait() -> SqliteOptions {
    SqliteOptions { busy_timeout: Duration::from_millis(200), ..SqliteOptions::default() }
}

// ---- the single-connection suite -------------------------------------------

#[test]
fn memory_store_passes_the_conformance_suite() {
    suite::conformance(&mut MemoryStore::new());
}

#[test]
fn sqlite_store_passes_the_conformance_suite() {
    let dir = TempDir::new("suite");
    suite::conformance(&mut SqliteStore::open(&dir.path().join("records.sqlite")).unwrap());
}

#[test]
fn sqlite_store_with_synchronous_normal_passes_the_conformance_suite() {
    let dir = TempDir::new("suite-normal");
    let options = SqliteOptions { synchronous: Synchronous::Normal, ..SqliteOptions::default() };
    suite::conformance(&mut SqliteStore::open_with(&dir.path().join("records.sqlite"), options).unwrap());
}

#[test]
fn postgres_store_passes_the_conformance_suite() {
    let Some(server) = postgres_server() else { return };
    suite::conformance(&mut PostgresStore::connect(&server.url()).unwrap());
}

// ---- across connections -----------------------------------------------------

/// `a` commits; `b`, a second connection, sees it; while `a` holds a
/// transaction, `b` (whose wait is short) gets Conflict and `a`'s
/// uncommitted write never shows.
fn second_connection_sees_commits_and_waits_for_writers(a: &mut dyn RecordStore, b: &mut dyn RecordStore) {
    let mut tx = a.begin().unwrap();
    tx.put(b"shared", b"from a").unwrap();
    tx.commit().unwrap();
    let mut tx = b.begin().unwrap();
    assert_eq!(tx.get(b"shared").unwrap(), Some(b"from a".to_vec()), "b sees a's commit");
    tx.put(b"shared", b"from b").unwrap();
    tx.commit().unwrap();

    let mut held = a.begin().unwrap();
    assert_eq!(held.get(b"shared").unwrap(), Some(b"from b".to_vec()), "a sees b's commit");
    held.put(b"shared", b"uncommitted").unwrap();
    let started = Instant::now();
    assert_eq!(b.begin().err(), Some(StoreError::Conflict), "b cannot begin while a holds a transaction");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(150), "b gave up after {waited:?}, before its 200 ms timeout");
    drop(held);

    let mut tx = b.begin().unwrap();
    assert_eq!(tx.get(b"shared").unwrap(), Some(b"from b".to_vec()), "a's rolled-back write never shows");
}

#[test]
fn sqlite_commits_are_visible_to_a_second_connection_which_waits_then_conflicts() {
    let dir = TempDir::new("two");
    let path = dir.path().join("records.sqlite");
    let mut a = SqliteStore::open(&path).unwrap();
    let mut b = SqliteStore::open_with(&path, short_wait()).unwrap();
    second_connection_sees_commits_and_waits_for_writers(&mut a, &mut b);
}

#[test]
fn postgres_commits_are_visible_to_a_second_connection_which_waits_then_conflicts() {
    let Some(server) = postgres_server() else { return };
    let mut a = PostgresStore::connect(&server.url()).unwrap();
    let options = PostgresOptions { lock_timeout: Duration::from_millis(200) };
    let mut b = PostgresStore::connect_with(&server.url(), options).unwrap();
    second_connection_sees_commits_and_waits_for_writers(&mut a, &mut b);
}

// ---- SQLite files -----------------------------------------------------------

#[test]
fn sqlite_commits_survive_reopening_and_the_file_is_stamped_and_private() {
    let dir = TempDir::new("reopen");
    let path = dir.path().join("records.sqlite");
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.path(), path.as_path());
    let mut tx = store.begin().unwrap();
    tx.put(b"durable", b"yes").unwrap();
    tx.commit().unwrap();
    for file in ["records.sqlite", "records.sqlite-wal", "records.sqlite-shm"] {
        let mode = std::fs::metadata(dir.path().join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file} is readable by its owner only");
    }
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let app: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).unwrap();
    let version: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    let journal: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
    assert_eq!((app, version, journal.as_str()), (0x4346_4B32, 1, "wal"));
    assert_eq!((SQLITE_APPLICATION_ID, SQLITE_FORMAT_VERSION), (0x4346_4B32, 1));
    drop(conn);

    let mut store = SqliteStore::open(&path).unwrap();
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get(b"durable").unwrap(), Some(b"yes".to_vec()));
}

#[test]
fn sqlite_open_refuses_symlinks_directories_fifos_and_devices_as_unavailable() {
    let dir = TempDir::new("refuse");
    let real = dir.path().join("real.sqlite");
    drop(SqliteStore::open(&real).unwrap());
    let link = dir.path().join("link.sqlite");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let fifo = dir.path().join("fifo.sqlite");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo failed");

    for path in [link.as_path(), dir.path(), fifo.as_path(), Path::new("/dev/null")] {
        assert_eq!(SqliteStore::open(path).err(), Some(StoreError::Unavailable), "{}", path.display());
    }
    let missing_dir = dir.path().join("no-such-dir").join("records.sqlite");
    assert_eq!(SqliteStore::open(&missing_dir).err(), Some(StoreError::Unavailable));
    assert!(SqliteStore::open(&real).is_ok(), "the regular file behind the link still opens");
}

#[test]
fn sqlite_open_refuses_foreign_databases_and_other_files_as_corrupt() {
    let dir = TempDir::new("foreign");
    let foreign = dir.path().join("foreign.sqlite");
    let conn = rusqlite::Connection::open(&foreign).unwrap();
    conn.pragma_update(None, "application_id", 0x1234_5678).unwrap();
    conn.execute_batch("CREATE TABLE other (x)").unwrap();
    drop(conn);
    assert_eq!(
        SqliteStore::open(&foreign).err(),
        Some(StoreError::Corrupt),
        "another application's database"
    );

    let newer = dir.path().join("newer.sqlite");
    drop(SqliteStore::open(&newer).unwrap());
    let conn = rusqlite::Connection::open(&newer).unwrap();
    conn.pragma_update(None, "user_version", SQLITE_FORMAT_VERSION + 1).unwrap();
    drop(conn);
    assert_eq!(SqliteStore::open(&newer).err(), Some(StoreError::Corrupt), "a newer coffer format");

    let text = dir.path().join("text.sqlite");
    std::fs::write(&text, vec![b'x'; 4096]).unwrap();
    assert_eq!(SqliteStore::open(&text).err(), Some(StoreError::Corrupt), "a file that is no database");
    assert_eq!(std::fs::read(&text).unwrap(), vec![b'x'; 4096], "and it is left untouched");
}

#[test]
fn sqlite_open_of_a_store_that_cannot_be_written_reports_read_only() {
    const NAME: &str = "sqlite_open_of_a_store_that_cannot_be_written_reports_read_only";
    // Root ignores file modes: as root, the store sits on a tmpfs that is
    // then remounted read-only; otherwise the file is made mode 0400.
    if support::effective_uid_is_root() {
        let fs = match support::Tmpfs::mount("1m") {
            Ok(fs) => fs,
            Err(e) if !support::in_ci() => return support::skipped(NAME, &e),
            Err(e) => panic!("{e}"),
        };
        let path = fs.path().join("records.sqlite");
        drop(SqliteStore::open(&path).unwrap());
        let remount =
            std::process::Command::new("mount").args(["-o", "remount,ro"]).arg(fs.path()).status().unwrap();
        assert!(remount.success(), "remount read-only failed");
        assert_eq!(
            SqliteStore::open(&path).err(),
            Some(StoreError::ReadOnly),
            "a store on a read-only file system"
        );
    } else {
        let dir = TempDir::new("ro");
        let path = dir.path().join("records.sqlite");
        drop(SqliteStore::open(&path).unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(SqliteStore::open(&path).err(), Some(StoreError::ReadOnly), "a store file of mode 0400");
    }
}

// ---- PostgreSQL connections -------------------------------------------------

#[test]
fn postgres_connect_to_a_closed_port_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://coffer@127.0.0.1:{port}/coffer?connect_timeout=5");
    assert_eq!(PostgresStore::connect(&url).err(), Some(StoreError::Unavailable));
}

#[test]
fn postgres_connection_killed_mid_transaction_is_unavailable_and_writes_nothing() {
    let Some(server) = postgres_server() else { return };
    let mut store = PostgresStore::connect(&server.url()).unwrap();
    let mut admin = postgres::Client::connect(&server.url(), postgres::NoTls).unwrap();
    let mut tx = store.begin().unwrap();
    tx.put(b"half", b"written").unwrap();
    let killed = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'coffer' AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap();
    assert_eq!(killed.len(), 1, "one other backend to terminate");
    let error = tx.put(b"half/2", b"written").and_then(|()| tx.commit());
    assert_eq!(error, Err(StoreError::Unavailable));
    assert_eq!(store.begin().err(), Some(StoreError::Unavailable), "the store does not reconnect");

    let mut fresh = PostgresStore::connect(&server.url()).unwrap();
    let mut tx = fresh.begin().unwrap();
    assert_eq!(tx.scan(b"", None, 10).unwrap(), Vec::new(), "nothing of the killed transaction was written");
}

#[test]
fn sqlite_group_passes_the_conformance_suite() {
    let dir = TempDir::new("suite-group");
    suite::conformance(&mut SqliteGroup::open(&dir.path().join("records.sqlite")).unwrap().handle());
}

// ---- 16 threads, each with its own connection ------------------------------

/// Runs [`WORKERS`] threads, each opening its own store with `open` and
/// incrementing the counter [`INCREMENTS`] times; returns the values read.
fn sixteen_threads_increment(open: impl Fn() -> Box<dyn RecordStore + Send> + Sync) -> Vec<u64> {
    let start = Barrier::new(WORKERS as usize);
    let mut seen: Vec<u64> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..WORKERS)
            .map(|_| {
                scope.spawn(|| {
                    let mut store = open();
                    start.wait();
                    (0..INCREMENTS).map(|_| support::increment(store.as_mut()).unwrap()).collect::<Vec<u64>>()
                })
            })
            .collect();
        threads.into_iter().flat_map(|t| t.join().unwrap()).collect()
    });
    seen.sort_unstable();
    seen
}

#[test]
fn sixteen_threads_with_their_own_sqlite_connections_count_to_exactly_800() {
    let dir = TempDir::new("threads");
    let path = dir.path().join("records.sqlite");
    let seen = sixteen_threads_increment(|| Box::new(SqliteStore::open(&path).unwrap()));
    assert_eq!(
        seen,
        (0..WORKERS * INCREMENTS).collect::<Vec<_>>(),
        "every transaction read a distinct value"
    );
    assert_eq!(support::read_counter(&mut SqliteStore::open(&path).unwrap()), 800);
}

#[test]
fn sixteen_threads_with_their_own_postgres_connections_count_to_exactly_800() {
    let Some(server) = postgres_server() else { return };
    let url = server.url();
    let seen = sixteen_threads_increment(|| Box::new(PostgresStore::connect(&url).unwrap()));
    assert_eq!(
        seen,
        (0..WORKERS * INCREMENTS).collect::<Vec<_>>(),
        "every transaction read a distinct value"
    );
    assert_eq!(support::read_counter(&mut PostgresStore::connect(&url).unwrap()), 800);
}

// ---- 16 processes -----------------------------------------------------------

#[test]
fn sixteen_processes_on_one_sqlite_file_count_to_exactly_800() {
    const NAME: &str = "sixteen_processes_on_one_sqlite_file_count_to_exactly_800";
    if let Some((_, path)) = support::role() {
        return support::counter_child(&mut SqliteStore::open(Path::new(&path)).unwrap());
    }
    let dir = TempDir::new("processes");
    let path = dir.path().join("records.sqlite");
    support::run_counter_children(NAME, "counter", path.to_str().unwrap());
    assert_eq!(support::read_counter(&mut SqliteStore::open(&path).unwrap()), 800);
}

#[test]
fn sixteen_processes_on_one_postgres_database_count_to_exactly_800() {
    const NAME: &str = "sixteen_processes_on_one_postgres_database_count_to_exactly_800";
    if let Some((_, url)) = support::role() {
        return support::counter_child(&mut PostgresStore::connect(&url).unwrap());
    }
    let Some(server) = postgres_server() else { return };
    support::run_counter_children(NAME, "counter", &server.url());
    assert_eq!(support::read_counter(&mut PostgresStore::connect(&server.url()).unwrap()), 800);
}

// ---- SIGKILLed writers ------------------------------------------------------

/// SIGKILLs of writers at random moments, counting the 8 at the end.
const KILLS: usize = 56;

#[test]
fn every_acked_sqlite_commit_survives_sigkill_of_its_writer() {
    const NAME: &str = "every_acked_sqlite_commit_survives_sigkill_of_its_writer";
    if let Some((_, path)) = support::role() {
        return support::writer_child(&mut SqliteStore::open(Path::new(&path)).unwrap());
    }
    let dir = TempDir::new("kill");
    let path = dir.path().join("records.sqlite");
    let acked = support::kill_writers_at_random(NAME, "writer", path.to_str().unwrap(), KILLS);
    eprintln!("{} writers killed, {} acked commits", KILLS + 8, acked.len());
    assert!(acked.len() >= 100, "only {} commits were acked: the writers barely ran", acked.len());
    support::assert_all_acked_present(&mut SqliteStore::open(&path).unwrap(), &acked);
}

#[test]
fn every_acked_postgres_commit_survives_sigkill_of_its_writer() {
    const NAME: &str = "every_acked_postgres_commit_survives_sigkill_of_its_writer";
    if let Some((_, url)) = support::role() {
        return support::writer_child(&mut PostgresStore::connect(&url).unwrap());
    }
    let Some(server) = postgres_server() else { return };
    let acked = support::kill_writers_at_random(NAME, "writer", &server.url(), KILLS);
    eprintln!("{} writers killed, {} acked commits", KILLS + 8, acked.len());
    assert!(acked.len() >= 100, "only {} commits were acked: the writers barely ran", acked.len());
    support::assert_all_acked_present(&mut PostgresStore::connect(&server.url()).unwrap(), &acked);
}

// ---- a full disk ------------------------------------------------------------

/// A 2 MiB tmpfs for the test `name` (root only); `None` after a SKIPPED
/// line outside CI, a panic in CI.
fn small_tmpfs(name: &str) -> Option<support::Tmpfs> {
    if !support::effective_uid_is_root() {
        assert!(!support::in_ci(), "{name} needs root (to mount a tmpfs) and CI=true: run CI as root");
        support::skipped(
            name,
            "needs root to mount a 2 MiB tmpfs; run the tests as root to check a full disk",
        );
        return None;
    }
    match support::Tmpfs::mount("2m") {
        Ok(fs) => Some(fs),
        Err(e) if !support::in_ci() => {
            support::skipped(name, &e);
            None
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_commit_on_a_full_disk_fails_with_no_space_and_keeps_every_earlier_commit() {
    const NAME: &str = "a_commit_on_a_full_disk_fails_with_no_space_and_keeps_every_earlier_commit";
    let Some(fs) = small_tmpfs(NAME) else { return };
    let path = fs.path().join("records.sqlite");
    let mut store = SqliteStore::open(&path).unwrap();
    let value = |n: u32| format!("{n:08}").repeat(1024).into_bytes(); // 8 KiB, distinct per record
    let mut committed = 0u32;
    let error = loop {
        assert!(committed < 10_000, "2 MiB never filled up");
        let mut tx = store.begin().unwrap();
        tx.put(format!("r{committed}").as_bytes(), &value(committed)).unwrap();
        match tx.commit() {
            Ok(()) => committed += 1,
            Err(e) => break e,
        }
    };
    eprintln!("the commit of record {committed} failed: {error:?}: {error}");
    assert_eq!(error, StoreError::NoSpace);
    assert!(error.to_string().contains("no space left on device"), "{error}");
    assert!(committed > 10, "the disk was full after only {committed} commits");

    // The failed transaction left nothing behind, and the same connection
    // still reads.
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get(format!("r{committed}").as_bytes()).unwrap(), None);
    drop(tx);
    drop(store);

    let mut store = SqliteStore::open(&path).unwrap();
    let mut tx = store.begin().unwrap();
    for n in 0..committed {
        assert_eq!(
            tx.get(format!("r{n}").as_bytes()).unwrap(),
            Some(value(n)),
            "record {n} was committed before the disk filled"
        );
    }
    assert_eq!(tx.get(format!("r{committed}").as_bytes()).unwrap(), None, "the failed commit wrote nothing");
    assert_eq!(tx.scan(b"r", None, 100_000).unwrap().len(), committed as usize);
}

// ---- group commit ------------------------------------------------------------

#[test]
fn sixteen_threads_sharing_a_sqlite_group_count_to_exactly_800_with_fewer_commits_and_drops_undone() {
    let dir = TempDir::new("group");
    let path = dir.path().join("records.sqlite");
    let group = SqliteGroup::open(&path).unwrap();
    let seen = sixteen_threads_increment(|| {
        let mut store = group.handle();
        // A dropped transaction between the commits: its write must vanish
        // even when it shared a batch with committed ones.
        let mut tx = store.begin().unwrap();
        tx.put(b"dropped", b"never").unwrap();
        drop(tx);
        Box::new(store)
    });
    assert_eq!(
        seen,
        (0..WORKERS * INCREMENTS).collect::<Vec<_>>(),
        "every transaction read a distinct value"
    );
    let (commits, acknowledged) = group.commit_counts().unwrap();
    assert_eq!(acknowledged, WORKERS * INCREMENTS);
    assert!(commits < acknowledged, "no two commits were grouped: {commits} COMMITs for {acknowledged}");
    eprintln!("group commit: {acknowledged} transactions in {commits} COMMITs");
    drop(group);
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(support::read_counter(&mut store), 800);
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get(b"dropped").unwrap(), None);
}

#[test]
fn a_group_batch_that_cannot_commit_on_a_full_disk_acknowledges_none_of_its_transactions() {
    const NAME: &str =
        "a_group_batch_that_cannot_commit_on_a_full_disk_acknowledges_none_of_its_transactions";
    let Some(fs) = small_tmpfs(NAME) else { return };
    let path = fs.path().join("records.sqlite");
    let group = SqliteGroup::open(&path).unwrap();
    let value = |t: u64, n: u32| format!("{t:02}{n:06}").repeat(512).into_bytes(); // 4 KiB
    /// Per thread: the records acknowledged, and those whose commit failed.
    type Outcome = (Vec<u32>, Vec<(u32, StoreError)>);
    let results: Vec<Outcome> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let mut store = group.handle();
                scope.spawn(move || {
                    let mut acked = Vec::new();
                    let mut failed = Vec::new();
                    for n in 0..1_000u32 {
                        let mut tx = store.begin().unwrap();
                        tx.put(format!("t{t}-{n}").as_bytes(), &value(t, n)).unwrap();
                        match tx.commit() {
                            Ok(()) => acked.push(n),
                            Err(e) => {
                                failed.push((n, e));
                                if failed.len() >= 3 {
                                    break;
                                }
                            }
                        }
                    }
                    (acked, failed)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    drop(group);
    let mut store = SqliteStore::open(&path).unwrap();
    let mut tx = store.begin().unwrap();
    let mut acked_total = 0;
    for (t, (acked, failed)) in results.iter().enumerate() {
        assert!(!failed.is_empty(), "thread {t} never hit the full disk");
        for (n, e) in failed {
            assert_eq!(*e, StoreError::NoSpace, "thread {t} record {n}");
            assert_eq!(
                tx.get(format!("t{t}-{n}").as_bytes()).unwrap(),
                None,
                "an unacknowledged record was stored"
            );
        }
        for n in acked {
            assert_eq!(
                tx.get(format!("t{t}-{n}").as_bytes()).unwrap(),
                Some(value(t as u64, *n)),
                "acknowledged record lost"
            );
        }
        acked_total += acked.len();
    }
    assert!(acked_total > 10, "the disk was full after only {acked_total} commits");
}
