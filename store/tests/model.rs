//! The record stores against a model (issue 16 part 1): random
//! transactions of puts, deletes, gets and scans run on a store and on a
//! plain in-memory map; every read agrees with the model (committed state
//! plus the transaction's own writes) after every step, a transaction
//! dropped at any point (a crash before commit) leaves exactly the
//! committed state, and reopening the SQLite file (a process that crashed
//! after its commits) finds exactly the committed state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use coffer_store::{MemoryStore, RecordStore, SqliteOptions, SqliteStore, Synchronous};
use proptest::prelude::*;

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Clone, Debug)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Get(Vec<u8>),
    Scan(Vec<u8>, Option<Vec<u8>>, usize),
}

#[derive(Clone, Debug)]
enum End {
    Commit,
    /// Dropped without commit: a crash before the commit.
    Crash,
    /// Commit, then the process "crashes" and the file is opened again.
    CommitAndReopen,
}

/// Keys from a small alphabet (so operations meet), with 0x00 and 0xff to
/// reach the edges of prefix ranges.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![0x00u8, 0x01, 0x7f, 0xff]), 1..4)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (key(), prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(k, v)| Op::Put(k, v)),
        1 => key().prop_map(Op::Delete),
        2 => key().prop_map(Op::Get),
        2 => (prop::collection::vec(prop::sample::select(vec![0x00u8, 0x7f, 0xff]), 0..3), prop::option::of(key()), 0usize..6)
            .prop_map(|(p, a, l)| Op::Scan(p, a, l)),
    ]
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![3 => Just(End::Commit), 2 => Just(End::Crash), 1 => Just(End::CommitAndReopen)]
}

fn transactions() -> impl Strategy<Value = Vec<(Vec<Op>, End)>> {
    prop::collection::vec((prop::collection::vec(op(), 0..12), end()), 1..8)
}

/// What `scan` must return from `view`.
fn model_scan(view: &Map, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    view.iter()
        .filter(|(k, _)| k.starts_with(prefix) && after.is_none_or(|a| k.as_slice() > a))
        .take(limit)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Everything a store holds, read in one transaction.
fn contents(store: &mut dyn RecordStore) -> Map {
    let mut tx = store.begin().unwrap();
    let mut all = Map::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let rows = tx.scan(b"", after.as_deref(), 3).unwrap();
        if let (Some(a), Some((first, _))) = (&after, rows.first()) {
            assert!(first > a, "a scan after {a:?} returned {first:?}: no progress");
        }
        let Some((last, _)) = rows.last() else { break };
        after = Some(last.clone());
        all.extend(rows);
    }
    all
}

/// Runs `txs` on `store` (reopened by `reopen` when asked) against the model.
fn check(mut store: Box<dyn RecordStore>, reopen: &dyn Fn() -> Box<dyn RecordStore>, txs: &[(Vec<Op>, End)]) {
    let mut committed = Map::new();
    for (ops, end) in txs {
        let mut view = committed.clone();
        {
            let mut tx = store.begin().unwrap();
            for op in ops {
                match op {
                    Op::Put(k, v) => {
                        tx.put(k, v).unwrap();
                        view.insert(k.clone(), v.clone());
                    }
                    Op::Delete(k) => {
                        tx.delete(k).unwrap();
                        view.remove(k);
                    }
                    Op::Get(k) => {
                        assert_eq!(tx.get(k).unwrap(), view.get(k).cloned(), "get {k:?} after {op:?}")
                    }
                    Op::Scan(p, a, l) => {
                        assert_eq!(
                            tx.scan(p, a.as_deref(), *l).unwrap(),
                            model_scan(&view, p, a.as_deref(), *l),
                            "{op:?}"
                        )
                    }
                }
            }
            match end {
                End::Commit | End::CommitAndReopen => {
                    tx.commit().unwrap();
                    committed = view;
                }
                End::Crash => drop(tx),
            }
        }
        if matches!(end, End::CommitAndReopen) {
            drop(store);
            store = reopen();
        }
        assert_eq!(contents(store.as_mut()), committed, "after {end:?}");
    }
}

fn scratch() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!("coffer-store-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.db", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, b"").unwrap();
    path
}

fn open_sqlite(path: &std::path::Path) -> Box<dyn RecordStore> {
    // synchronous=NORMAL: the model checks visibility and atomicity, not
    // power-loss durability (conformance.rs kills writers for that).
    let options = SqliteOptions { synchronous: Synchronous::Normal, ..SqliteOptions::default() };
    Box::new(SqliteStore::open_with(path, options).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_agrees_with_the_model_after_every_step_crash_and_reopen(txs in transactions()) {
        let path = scratch();
        check(open_sqlite(&path), &|| open_sqlite(&path), &txs);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(path.with_extension("db-wal"));
        let _ = std::fs::remove_file(path.with_extension("db-shm"));
    }

    #[test]
    fn memory_agrees_with_the_model_after_every_step_and_crash(txs in transactions()) {
        // A memory store does not outlive its process: "reopen" keeps it.
        let txs: Vec<_> = txs.into_iter().map(|(ops, end)| match end {
            End::CommitAndReopen => (ops, End::Commit),
            other => (ops, other),
        }).collect();
        check(Box::new(MemoryStore::new()), &|| unreachable!(), &txs);
    }
}
