//! A record planted past `MAX_VALUE_LEN` in a SQLite store (a damaged or
//! forged file: coffer never writes one) is refused with
//! `StoreError::TooLarge` by `get` and `scan`, and is never copied out of
//! SQLite: the process's peak resident set grows by the record's size once
//! (SQLite reads a WITHOUT ROWID row whole while it compares keys past
//! it), not twice (measured through /proc, issue 16 part 6). The one test
//! of this binary, so no other test's memory counts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use coffer_store::{MAX_VALUE_LEN, RecordStore, SqliteStore, StoreError};

/// The peak resident set size (VmHWM) in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn a_planted_record_past_the_value_limit_is_refused_and_never_copied() {
    let dir = std::env::temp_dir().join(format!("coffer-store-oversized-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("planted.db");
    std::fs::write(&path, b"").unwrap();
    let mut store = SqliteStore::open(&path).unwrap();
    let mut tx = store.begin().unwrap();
    tx.put(b"ok", b"a record of normal size").unwrap();
    tx.commit().unwrap();
    drop(store);

    // Beside coffer, a plain connection plants a 96 MiB value (three times
    // the limit) under a key that sorts after "ok".
    let planted = 3 * MAX_VALUE_LEN;
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute(
        "INSERT INTO coffer_records (k, v) VALUES (?1, zeroblob(?2))",
        rusqlite::params![b"planted".as_slice(), planted as i64],
    )
    .unwrap();
    drop(raw);

    let mut store = SqliteStore::open(&path).unwrap();
    // Reset the peak to the current resident set (Linux: "5" to clear_refs).
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = peak_rss();
    let mut tx = store.begin().unwrap();
    // (matches!, not unwrap_err: a failure must not print 96 MiB.)
    let got = tx.get(b"planted").map(|v| v.map(|v| v.len()));
    assert!(matches!(got, Err(StoreError::TooLarge)), "get: {got:?}");
    drop(tx);
    let mut tx = store.begin().unwrap();
    let got = tx.scan(b"", None, 10).map(|rows| rows.len());
    assert!(matches!(got, Err(StoreError::TooLarge)), "scan: {got:?}");
    drop(tx);
    let grown = peak_rss().saturating_sub(before);
    println!("planted {planted} bytes; peak resident set grew by {grown} bytes while refusing it");
    let bound = planted as u64 + 8 * 1024 * 1024;
    assert!(grown < bound, "the planted record was copied: the peak grew by {grown} bytes");

    // The records of normal size stay readable.
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get(b"ok").unwrap().as_deref(), Some(&b"a record of normal size"[..]));
    drop(tx);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
