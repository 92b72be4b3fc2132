//! [`SqliteGroup`]: one SQLite connection shared by the threads of a
//! process, with group commit.
//!
//! With a [`SqliteStore`] per thread, every transaction is committed on its
//! own, so a process commits at most as often as its disk fsyncs. A group
//! lets the threads take turns inside **one** open SQLite transaction:
//!
//! 1. `begin` waits for its turn (one transaction of the group at a time),
//!    opens the shared `BEGIN IMMEDIATE` transaction if none is open, and
//!    sets a savepoint.
//! 2. A transaction that is dropped rolls back to its savepoint: nothing of
//!    it stays. One that commits releases its savepoint: its writes join
//!    the batch, visible to the transactions after it.
//! 3. When a transaction ends and no other thread is waiting for a turn
//!    (or the batch holds [`SqliteGroup::MAX_BATCH`] commits), the batch is
//!    committed with one `COMMIT` (one fsync). Every `commit` of the batch
//!    returns only then, with that `COMMIT`'s result: nothing is
//!    acknowledged before it is durable, and if the `COMMIT` fails, every
//!    transaction of the batch gets the error and none of them is stored.
//!
//! Transactions stay serializable: they run one after another and each sees
//! every earlier commit (of the batch or before it). A transaction that
//! reads and then commits (even without writing) is answered with its
//! batch's outcome, so what it read is durable when `commit` returns `Ok`;
//! one that is dropped instead may have read commits of its batch that a
//! failed `COMMIT` then undoes. Other processes see a batch only once it is
//! committed, and wait for the write lock as they would for any SQLite
//! writer.

use std::boxed::Box;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::vec::Vec;

use crate::record::{Row, Transaction};
use crate::sqlite::{SqliteOptions, SqliteStore};
use crate::{RecordStore, StoreError};

/// One SQLite connection with group commit, shared by threads through
/// [`SqliteGroup::handle`]. See the module docs.
///
/// ```
/// use coffer_store::{RecordStore, SqliteGroup};
///
/// let dir = std::env::temp_dir().join(format!("coffer-group-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).map_err(|_| coffer_store::StoreError::Io)?;
/// let group = SqliteGroup::open(&dir.join("records.sqlite"))?;
/// let workers: Vec<_> = (0..4u8)
///     .map(|i| {
///         let mut store = group.handle();
///         std::thread::spawn(move || -> Result<(), coffer_store::StoreError> {
///             let mut tx = store.begin()?;
///             tx.put(&[i], b"written")?;
///             tx.commit() // returns once the batch holding it is durable
///         })
///     })
///     .collect();
/// for w in workers {
///     w.join().map_err(|_| coffer_store::StoreError::Io)??;
/// }
/// let mut reader = group.handle();
/// let mut tx = reader.begin()?;
/// assert_eq!(tx.scan(&[], None, 10)?.len(), 4);
/// # drop(tx);
/// # drop(group);
/// # let _ = std::fs::remove_dir_all(&dir);
/// # Ok::<(), coffer_store::StoreError>(())
/// ```
#[derive(Clone)]
pub struct SqliteGroup {
    shared: Arc<Shared>,
}

impl core::fmt::Debug for SqliteGroup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteGroup").finish_non_exhaustive()
    }
}

/// A thread's way into a [`SqliteGroup`]: a [`RecordStore`] that is `Send`.
#[derive(Clone)]
pub struct SqliteGroupHandle {
    shared: Arc<Shared>,
}

impl core::fmt::Debug for SqliteGroupHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteGroupHandle").finish_non_exhaustive()
    }
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when the turn is free.
    turn: Condvar,
    /// Signalled when a batch is finished.
    done: Condvar,
}

struct State {
    store: SqliteStore,
    /// Whether a transaction of the group has the turn.
    busy: bool,
    /// Threads waiting in `begin` for the turn.
    waiting: usize,
    /// Whether the shared SQLite transaction is open.
    open: bool,
    /// Number of the open (or next) batch.
    batch: u64,
    /// Commits released into the open batch, waiting for its `COMMIT`.
    pending: usize,
    /// Outcomes of finished batches not yet collected by all of their
    /// transactions: batch → (result, transactions still to collect it).
    outcomes: BTreeMap<u64, (Result<(), StoreError>, usize)>,
    /// `COMMIT`s run so far, and the transactions they acknowledged.
    commits: u64,
    acknowledged: u64,
}

fn lock(shared: &Shared) -> Result<MutexGuard<'_, State>, StoreError> {
    // A panic while holding the lock leaves the connection in an unknown
    // state: refuse rather than go on.
    shared.state.lock().map_err(|_| StoreError::Io)
}

impl SqliteGroup {
    /// Most commits one batch gathers before it is committed even though
    /// other threads are waiting (bounds the latency of a batch).
    pub const MAX_BATCH: usize = 64;

    /// Opens (or creates) the store at `path` as [`SqliteStore::open`] does.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens the store at `path` with `options`.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        let store = SqliteStore::open_with(path, options)?;
        let state = State {
            store,
            busy: false,
            waiting: 0,
            open: false,
            batch: 0,
            pending: 0,
            outcomes: BTreeMap::new(),
            commits: 0,
            acknowledged: 0,
        };
        Ok(SqliteGroup {
            shared: Arc::new(Shared { state: Mutex::new(state), turn: Condvar::new(), done: Condvar::new() }),
        })
    }

    /// How many `COMMIT`s the group ran, and how many transactions they
    /// committed together (so `commits <= transactions`; the difference is
    /// what group commit saved).
    ///
    /// # Errors
    /// [`StoreError::Io`] if a thread panicked while holding the group.
    pub fn commit_counts(&self) -> Result<(u64, u64), StoreError> {
        let st = lock(&self.shared)?;
        Ok((st.commits, st.acknowledged))
    }

    /// A handle for one thread (or one `Hsm`).
    pub fn handle(&self) -> SqliteGroupHandle {
        SqliteGroupHandle { shared: Arc::clone(&self.shared) }
    }
}

impl RecordStore for SqliteGroupHandle {
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError> {
        let shared = &*self.shared;
        let mut st = lock(shared)?;
        st.waiting = st.waiting.saturating_add(1);
        while st.busy {
            st = shared.turn.wait(st).map_err(|_| StoreError::Io)?;
        }
        st.waiting = st.waiting.saturating_sub(1);
        st.busy = true;
        let started = (|| {
            if !st.open {
                st.store.conn().execute_batch("BEGIN IMMEDIATE").map_err(crate::sqlite::map_error)?;
                st.open = true;
                st.batch = st.batch.wrapping_add(1);
            }
            st.store.conn().execute_batch("SAVEPOINT coffer_op").map_err(crate::sqlite::map_error)
        })();
        match started {
            Ok(()) => {
                drop(st);
                Ok(Box::new(GroupTransaction { shared, failed: None, finished: false }))
            }
            Err(e) => {
                // Give the turn back, committing the batch if it is due.
                let _ = end_turn(shared, st, false);
                Err(e)
            }
        }
    }
}

/// Ends the turn of a transaction: if `joined` its savepoint was released
/// into the batch. Commits the batch when no one is waiting (or it is
/// full), and for a joined transaction waits for its batch's outcome.
fn end_turn(shared: &Shared, mut st: MutexGuard<'_, State>, joined: bool) -> Result<(), StoreError> {
    let my_batch = st.batch;
    if joined {
        st.pending = st.pending.saturating_add(1);
    }
    st.busy = false;
    if st.open && (st.waiting == 0 || st.pending >= SqliteGroup::MAX_BATCH) {
        let result = if st.pending > 0 {
            st.store.conn().execute_batch("COMMIT").map_err(crate::sqlite::map_error)
        } else {
            st.store.conn().execute_batch("ROLLBACK").map_err(crate::sqlite::map_error)
        };
        if !st.store.conn().is_autocommit() {
            // A failed COMMIT may leave the transaction open: end it.
            let _ = st.store.conn().execute_batch("ROLLBACK");
        }
        st.open = false;
        let pending = st.pending;
        st.pending = 0;
        if pending > 0 {
            st.commits = st.commits.saturating_add(1);
            st.acknowledged = st.acknowledged.saturating_add(u64::try_from(pending).unwrap_or(u64::MAX));
            let batch = st.batch;
            st.outcomes.insert(batch, (result, pending));
        }
        shared.done.notify_all();
    }
    shared.turn.notify_one();
    if !joined {
        return Ok(());
    }
    loop {
        if let Some((result, left)) = st.outcomes.get_mut(&my_batch) {
            let result = *result;
            *left = left.saturating_sub(1);
            if *left == 0 {
                st.outcomes.remove(&my_batch);
            }
            return result;
        }
        st = shared.done.wait(st).map_err(|_| StoreError::Io)?;
    }
}

/// One transaction's turn in the shared SQLite transaction.
struct GroupTransaction<'a> {
    shared: &'a Shared,
    failed: Option<StoreError>,
    finished: bool,
}

impl GroupTransaction<'_> {
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut dyn Transaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let st = lock(self.shared)?;
        let mut inner = st.store.statement_scope();
        let result = f(&mut inner);
        if let Err(e) = &result
            && *e != StoreError::TooLarge
        {
            self.failed.get_or_insert(*e);
        }
        result
    }

    /// Undoes this transaction's writes and gives the turn back.
    fn abandon(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        if let Ok(st) = lock(self.shared) {
            let conn = st.store.conn();
            let _ = conn.execute_batch("ROLLBACK TO coffer_op; RELEASE coffer_op");
            let _ = end_turn(self.shared, st, false);
        }
    }
}

impl Transaction for GroupTransaction<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|t| t.get(key))
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.with(|t| t.put(key, value))
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.with(|t| t.delete(key))
    }

    fn scan(&mut self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Row>, StoreError> {
        self.with(|t| t.scan(prefix, after, limit))
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        if let Some(e) = self.failed {
            self.abandon();
            return Err(e);
        }
        self.finished = true;
        let st = lock(self.shared)?;
        if let Err(e) = st.store.conn().execute_batch("RELEASE coffer_op").map_err(crate::sqlite::map_error) {
            let _ = st.store.conn().execute_batch("ROLLBACK TO coffer_op; RELEASE coffer_op");
            let _ = end_turn(self.shared, st, false);
            return Err(e);
        }
        end_turn(self.shared, st, true)
    }
}

impl Drop for GroupTransaction<'_> {
    fn drop(&mut self) {
        self.abandon();
    }
}
